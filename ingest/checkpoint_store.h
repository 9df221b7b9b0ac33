#pragma once
// What has been published survives a restart: one small JSON file per
// (source, area) key in a state directory, written atomically (temp file,
// fsync, rename, fsync of the directory) so a crash leaves the old or the new
// checkpoint, never a torn one. A checkpoint only advances after the broker
// acknowledged the messages it covers.
//
// Threading: one CheckpointStore may be shared by the per-source worker
// threads; each key must be owned by one thread.
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_set>

#include "core/result.h"
#include "core/time.h"

namespace safestream::ingest {

// A bounded set of recently published ids, oldest evicted first, so a
// re-poll that overlaps the previous one skips what it already sent.
class RecentIds {
 public:
  explicit RecentIds(std::size_t capacity = 20000) : capacity_(capacity) {}
  bool contains(const std::string& id) const { return set_.count(id) != 0; }
  void add(const std::string& id);
  std::size_t size() const { return order_.size(); }
  const std::deque<std::string>& inOrder() const { return order_; }
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::unordered_set<std::string> set_;
};

struct Checkpoint {
  // Newest occurred_at published for this key (polls ask from here, minus a
  // lookback for late records, so the gap while down is not missed).
  std::optional<core::Timestamp> highWater;
  RecentIds recent;
  // File imports: where the next import of the same file resumes.
  std::uint64_t fileOffset = 0;
  std::uint64_t fileRows = 0;
  std::string fileFingerprint;
  std::optional<core::Timestamp> updatedAt;
};

class CheckpointStore {
 public:
  // Creates `directory` if needed; throws core::ConfigError if it cannot.
  explicit CheckpointStore(std::string directory, std::size_t recentCapacity = 20000);

  // A missing file is an empty checkpoint; a corrupt one is an error (the
  // operator decides: delete it to start over), never silently ignored.
  core::Result<Checkpoint> load(const std::string& key) const;
  core::Status save(const std::string& key, const Checkpoint& checkpoint) const;
  std::string pathFor(const std::string& key) const;
  const std::string& directory() const { return dir_; }

 private:
  std::string dir_;
  std::size_t recentCapacity_;
};

}  // namespace safestream::ingest

#include "ingest/checkpoint_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace safestream::ingest {

void RecentIds::add(const std::string& id) {
  if (capacity_ == 0 || !set_.insert(id).second) return;
  order_.push_back(id);
  while (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

CheckpointStore::CheckpointStore(std::string directory, std::size_t recentCapacity)
    : dir_(std::move(directory)), recentCapacity_(recentCapacity) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) throw core::ConfigError("state directory " + dir_ + ": " + ec.message());
}

std::string CheckpointStore::pathFor(const std::string& key) const {
  // Keys hold ':' and '/' (source names, area names): keep file names portable.
  std::string name;
  for (char c : key) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    name += ok ? c : '_';
  }
  return dir_ + "/" + name + ".json";
}

core::Result<Checkpoint> CheckpointStore::load(const std::string& key) const {
  Checkpoint cp;
  cp.recent = RecentIds(recentCapacity_);
  const std::string path = pathFor(key);
  std::ifstream in(path);
  if (!in) return cp;
  std::ostringstream s;
  s << in.rdbuf();
  auto j = nlohmann::json::parse(s.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return core::makeError("corrupt_checkpoint", "checkpoint " + path + " is not valid JSON; delete it to start over");
  }
  try {
    if (j.contains("high_water_ms") && !j["high_water_ms"].is_null()) {
      cp.highWater = core::fromEpochMillis(j["high_water_ms"].get<long long>());
    }
    if (j.contains("recent_ids")) {
      for (const auto& id : j["recent_ids"]) cp.recent.add(id.get<std::string>());
    }
    cp.fileOffset = j.value("file_offset", std::uint64_t{0});
    cp.fileRows = j.value("file_rows", std::uint64_t{0});
    cp.fileFingerprint = j.value("file_fingerprint", std::string());
    if (j.contains("updated_at_ms")) cp.updatedAt = core::fromEpochMillis(j["updated_at_ms"].get<long long>());
  } catch (const nlohmann::json::exception& e) {
    return core::makeError("corrupt_checkpoint", "checkpoint " + path + ": " + e.what() + "; delete it to start over");
  }
  return cp;
}

core::Status CheckpointStore::save(const std::string& key, const Checkpoint& cp) const {
  nlohmann::json j;
  j["key"] = key;
  j["high_water_ms"] = cp.highWater ? nlohmann::json(core::toEpochMillis(*cp.highWater)) : nlohmann::json();
  j["recent_ids"] = nlohmann::json::array();
  for (const auto& id : cp.recent.inOrder()) j["recent_ids"].push_back(id);
  j["file_offset"] = cp.fileOffset;
  j["file_rows"] = cp.fileRows;
  j["file_fingerprint"] = cp.fileFingerprint;
  j["updated_at_ms"] = core::toEpochMillis(core::nowUtc());
  const std::string text = j.dump();
  const std::string path = pathFor(key);
  const std::string tmp = path + ".tmp";
  auto fail = [&](const std::string& what) {
    return core::makeError("checkpoint_write", "checkpoint " + path + ": " + what + ": " + std::strerror(errno), "", true);
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("open");
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      return fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return fail("fsync");
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename");
  // The rename itself must reach the disk, or a crash could bring back the old file.
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return core::okStatus();
}

}  // namespace safestream::ingest

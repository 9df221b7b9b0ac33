#include "processor/s3_archive_sink.h"

#include <zlib.h>

#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "core/log.h"
#include "core/time.h"

namespace safestream::processor {

std::string gzipCompress(const std::string& data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(data.size())) + 32);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(z.total_out);
  return out;
}

std::string gzipDecompress(const std::string& data) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) throw std::runtime_error("inflateInit2 failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("inflate failed");
    }
    out.append(buf, sizeof buf - z.avail_out);
  }
  inflateEnd(&z);
  return out;
}

S3ArchiveSink::S3ArchiveSink(core::S3Settings settings, std::string prefix)
    : client_(std::move(settings)), prefix_(std::move(prefix)) {}

core::Status S3ArchiveSink::writeRange(const SinkBatch& batch, const SinkBatch::Range& range) {
  const std::string stem = range.partition.topic + "-" + std::to_string(range.partition.partition) + "-" +
                           std::to_string(range.firstOffset) + "-" + std::to_string(range.lastOffset);
  // dt/hour -> NDJSON lines, in offset order.
  std::map<std::string, std::string> objects;
  for (const auto& p : batch.reports) {
    if (!(p.source == range.partition)) continue;
    // Arrival time on reports.raw, not event time: a backfill of old
    // events then makes one object per partition and batch instead of one
    // per hour of history, and the record timestamp is the same on replay.
    const core::Timestamp arrived = p.timestampMs > 0 ? core::fromEpochMillis(p.timestampMs) : p.report.occurredAt;
    const std::string t = core::formatTimestamp(arrived);  // 2014-03-15T05:52:00Z
    const std::string key = prefix_ + "/dt=" + t.substr(0, 10) + "/hour=" + t.substr(11, 2) + "/" + stem + ".ndjson.gz";
    auto& body = objects[key];
    appendPublicJson(body, p);
    body += '\n';
  }
  if (objects.empty()) return core::okStatus();  // every message of the range went to the DLQ

  const std::string marker =
      prefix_ + "/_inflight/" + range.partition.topic + "-" + std::to_string(range.partition.partition) + ".json";
  // Read after every (re)assignment: another instance may have owned the
  // partition meanwhile and left an uncommitted attempt behind. Forgotten
  // first, so a failure below leaves nothing cached.
  std::string previousText;
  if (auto cached = cachedMarker(range.partition)) {
    previousText = std::move(*cached);
  } else {
    auto previous = client_.get(marker);
    if (!previous.ok() && previous.error().code != "s3_http_404") return previous.error();
    if (previous.ok()) previousText = *previous;
  }
  if (!previousText.empty()) {
    auto m = nlohmann::json::parse(previousText, nullptr, false);
    if (m.is_object() && m.contains("first") && m.contains("last") && m.contains("keys")) {
      const auto first = m["first"].get<std::int64_t>();
      const auto last = m["last"].get<std::int64_t>();
      const bool overlaps = first <= range.lastOffset && last >= range.firstOffset;
      const bool same = first == range.firstOffset && last == range.lastOffset;
      if (overlaps && !same) {
        // An uncommitted earlier attempt over some of these offsets: its
        // objects would duplicate them.
        for (const auto& k : m["keys"]) {
          if (auto s = client_.remove(k.get<std::string>()); !s.ok() && s.error().code != "s3_http_404") return s;
        }
        core::log::info("s3_replaced_uncommitted_objects",
                        {{"partition", range.partition.partition}, {"first", first}, {"last", last}});
      }
    }
  }
  nlohmann::json m{{"first", range.firstOffset}, {"last", range.lastOffset}, {"keys", nlohmann::json::array()}};
  for (const auto& [key, body] : objects) m["keys"].push_back(key);
  const std::string markerText = m.dump();
  if (auto s = client_.put(marker, markerText, "application/json"); !s.ok()) return s;
  for (const auto& [key, body] : objects) {
    if (auto s = client_.put(key, gzipCompress(body), "application/x-ndjson"); !s.ok()) return s;
  }
  rememberMarker(range.partition, markerText);
  return core::okStatus();
}

std::optional<std::string> S3ArchiveSink::cachedMarker(const core::TopicPartition& tp) {
  std::lock_guard<std::mutex> lock(markersMu_);
  auto it = markers_.find(tp);
  if (it == markers_.end()) return std::nullopt;
  std::string text = std::move(it->second);
  markers_.erase(it);
  return text;
}

void S3ArchiveSink::rememberMarker(const core::TopicPartition& tp, std::string text) {
  std::lock_guard<std::mutex> lock(markersMu_);
  markers_[tp] = std::move(text);
}

void S3ArchiveSink::partitionsRevoked() {
  std::lock_guard<std::mutex> lock(markersMu_);
  markers_.clear();
}

core::Status S3ArchiveSink::write(const SinkBatch& batch) {
  // Partitions are independent objects: write them in parallel (S3Client is
  // thread-safe, one curl handle per call).
  std::vector<std::future<core::Status>> parts;
  for (const auto& range : batch.ranges) {
    parts.push_back(std::async(std::launch::async, [this, &batch, &range] { return writeRange(batch, range); }));
  }
  core::Status result = core::okStatus();
  for (auto& f : parts) {
    core::Status s = f.get();
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

core::Status S3ArchiveSink::flush(std::chrono::milliseconds) {
  // Objects are written synchronously per batch: nothing is buffered. The
  // next owner of a partition may be another instance.
  partitionsRevoked();
  return core::okStatus();
}

}  // namespace safestream::processor

#include "processor/s3_archive_sink.h"

#include <zlib.h>

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "core/log.h"

namespace safestream::processor {

// ---------------------------------------------------------------- gzip ---

struct GzipStream::State {
  z_stream z{};
  bool done = false;
};

GzipStream::GzipStream(int level) : z_(std::make_unique<State>()) {
  if (deflateInit2(&z_->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
}

GzipStream::~GzipStream() { deflateEnd(&z_->z); }

void GzipStream::deflateSome(int flush) {
  auto& z = z_->z;
  char buf[65536];
  int rc = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) throw std::runtime_error("deflate failed");
    out_.append(buf, sizeof buf - z.avail_out);
  } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
}

std::size_t GzipStream::size() const { return std::max<std::size_t>(out_.size(), z_->z.total_in / 4); }

void GzipStream::append(std::string_view data) {
  if (z_->done) throw std::logic_error("GzipStream: append after finish");
  auto& z = z_->z;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  deflateSome(Z_NO_FLUSH);
}

std::string GzipStream::finish() {
  if (!z_->done) {
    z_->z.next_in = nullptr;
    z_->z.avail_in = 0;
    deflateSome(Z_FINISH);
    z_->done = true;
  }
  return std::move(out_);
}

std::string gzipCompress(const std::string& data, int level) {
  GzipStream gz(level);
  gz.append(data);
  return gz.finish();
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

// ---------------------------------------------------------------- sink ---

namespace {
// "dt=YYYY-MM-DD/hour=HH" of the arrival time on reports.raw (the record
// timestamp; the event time when a record has none). Arrival time, not
// event time: a backfill of old events then makes one object per segment
// instead of one per hour of history, and the record timestamp is the same
// on replay.
std::string hourOf(const ProcessedReport& p) {
  const core::Timestamp arrived = p.timestampMs > 0 ? core::fromEpochMillis(p.timestampMs) : p.report.occurredAt;
  const std::string t = core::formatTimestamp(arrived);  // 2014-03-15T05:52:00Z
  return "dt=" + t.substr(0, 10) + "/hour=" + t.substr(11, 2);
}
}  // namespace

struct S3ArchiveSink::Partition {
  core::TopicPartition tp;
  bool loaded = false;
  std::int64_t archivedBefore = 0;         // offsets below are in S3 already: skipped
  std::optional<std::int64_t> redoLast;    // the marker's segment, formed again up to exactly here
  std::int64_t covered = 0;                // next offset not in any segment (closed or open)
  std::int64_t next = 0;                   // next offset expected (lower ones were taken: a retry)
  // The open segment.
  struct Object {
    GzipStream gz;
    std::size_t reports = 0;
  };
  bool open = false;
  std::int64_t first = 0, last = -1;
  std::map<std::string, std::unique_ptr<Object>> objects;  // by hour
  std::string latestHour;
  core::Timestamp openedAt{};
  // A closed segment whose marker and objects are not all written yet.
  bool closing = false;
  std::int64_t closingFirst = 0, closingLast = 0;
  std::string marker;
  std::vector<std::pair<std::string, std::string>> bodies;  // key, gzip
  std::vector<std::size_t> bodyReports;

  std::size_t bytes() const {
    std::size_t n = 0;
    for (const auto& [h, o] : objects) n += o->gz.size();
    return n;
  }
};

S3ArchiveSink::S3ArchiveSink(core::S3Settings settings, S3ArchiveOptions options, const core::Clock& clock,
                             ProcessorMetrics* metrics)
    : client_(std::move(settings)), options_(std::move(options)), clock_(clock), metrics_(metrics) {
  if (options_.run.empty() || options_.run.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                              "0123456789_-") != std::string::npos) {
    throw core::ConfigError("S3 archive: the run id '" + options_.run + "' must be letters, digits, '_' or '-'");
  }
  if (options_.rotateBytes == 0 || options_.rotateInterval.count() <= 0) {
    throw core::ConfigError("S3 archive: rotation size and interval must be positive");
  }
}

S3ArchiveSink::~S3ArchiveSink() = default;

std::string S3ArchiveSink::markerKey(const core::TopicPartition& tp) const {
  return options_.prefix + "/_archive/" + options_.run + "/" + tp.topic + "-" + std::to_string(tp.partition) + ".json";
}

S3ArchiveSink::Partition& S3ArchiveSink::partition(const core::TopicPartition& tp) {
  auto& p = partitions_[tp];
  if (!p) {
    p = std::make_unique<Partition>();
    p->tp = tp;
  }
  return *p;
}

core::Status S3ArchiveSink::load(Partition& p, std::int64_t firstSeen) {
  // What is in S3 already for this partition (another instance may have
  // owned it meanwhile, or this process crashed).
  auto text = client_.get(markerKey(p.tp));
  if (!text.ok() && text.error().code != "s3_http_404") return text.error();
  p.archivedBefore = firstSeen;
  if (text.ok()) {
    auto m = nlohmann::json::parse(*text, nullptr, false);
    if (!m.is_object() || !m.contains("first") || !m.contains("last")) {
      return core::makeError("s3_marker", "unreadable archive marker " + markerKey(p.tp), "", true);
    }
    const auto first = m["first"].get<std::int64_t>();
    const auto last = m["last"].get<std::int64_t>();
    if (firstSeen <= first) {
      // Everything before `first` was closed before this segment was
      // started; the segment itself is formed again, exactly.
      p.archivedBefore = first;
      p.redoLast = last;
    } else {
      // The commit passed `first`: the segment's close completed.
      p.archivedBefore = std::max(firstSeen, last + 1);
    }
    core::log::info("s3_archive_resumed", {{"partition", p.tp.partition},
                                           {"replay_from", firstSeen},
                                           {"marker_first", first},
                                           {"marker_last", last},
                                           {"redo", p.redoLast.has_value()}});
  }
  p.covered = p.archivedBefore;
  p.next = firstSeen;
  p.loaded = true;
  return core::okStatus();
}

core::Status S3ArchiveSink::close(Partition& p) {
  // Finish the open segment into bodies, then write marker and objects.
  p.closing = true;
  p.closingFirst = p.first;
  p.closingLast = p.last;
  const std::string stem = options_.run + "." + p.tp.topic + "-" + std::to_string(p.tp.partition) + "-" +
                           std::to_string(p.first) + "-" + std::to_string(p.last);
  nlohmann::json m{{"first", p.first}, {"last", p.last}, {"keys", nlohmann::json::array()}};
  p.bodies.clear();
  p.bodyReports.clear();
  for (auto& [hour, o] : p.objects) {
    std::string key = options_.prefix + "/" + hour + "/" + stem + ".ndjson.gz";
    m["keys"].push_back(key);
    p.bodies.emplace_back(std::move(key), o->gz.finish());
    p.bodyReports.push_back(o->reports);
  }
  p.marker = m.dump();
  p.objects.clear();
  p.open = false;
  p.covered = p.last + 1;
  return upload(p);
}

core::Status S3ArchiveSink::upload(Partition& p) {
  if (!p.closing) return core::okStatus();
  if (!p.bodies.empty()) {
    // The marker first: a crash after it makes the replay form this segment again.
    if (auto s = client_.put(markerKey(p.tp), p.marker, "application/json"); !s.ok()) return s;
    for (std::size_t i = 0; i < p.bodies.size(); ++i) {
      if (auto s = client_.put(p.bodies[i].first, p.bodies[i].second, "application/x-ndjson"); !s.ok()) return s;
    }
    if (metrics_) {
      for (std::size_t i = 0; i < p.bodies.size(); ++i) {
        metrics_->archiveObjects.Increment();
        metrics_->archiveObjectBytes.Observe(static_cast<double>(p.bodies[i].second.size()));
        metrics_->archiveObjectReports.Observe(static_cast<double>(p.bodyReports[i]));
      }
    }
  }
  p.closing = false;
  p.bodies.clear();
  p.bodyReports.clear();
  p.archivedBefore = std::max(p.archivedBefore, p.closingLast + 1);
  return core::okStatus();
}

core::Status S3ArchiveSink::write(const SinkBatch& batch) {
  const auto now = clock_.now();
  // Ranges first: a partition seen for the first time loads its marker.
  for (const auto& range : batch.ranges) {
    Partition& p = partition(range.partition);
    if (!p.loaded) {
      if (auto s = load(p, range.firstOffset); !s.ok()) return s;
    }
    if (auto s = upload(p); !s.ok()) return s;  // a close cut short by a failure
  }
  // Records, in offset order per partition.
  Partition* p = nullptr;
  for (const auto& r : batch.reports) {
    if (!p || !(p->tp == r.source)) p = &partition(r.source);
    if (r.offset < p->next || r.offset < p->archivedBefore) continue;  // taken already (a retry) or in S3
    if (p->redoLast && r.offset > *p->redoLast) {
      if (p->open) {
        p->last = *p->redoLast;
        if (auto s = close(*p); !s.ok()) return s;
      } else {
        p->covered = std::max(p->covered, *p->redoLast + 1);
      }
      p->redoLast.reset();
    }
    const std::string hour = hourOf(r);
    if (p->open && !p->redoLast &&
        (hour > p->latestHour || p->bytes() >= options_.rotateBytes ||
         now >= p->openedAt + options_.rotateInterval)) {
      p->last = r.offset - 1;
      if (auto s = close(*p); !s.ok()) return s;
    }
    if (!p->open) {
      p->open = true;
      p->first = p->covered;
      p->last = r.offset;
      p->openedAt = now;
      p->latestHour = hour;
    }
    auto& o = p->objects[hour];
    if (!o) o = std::make_unique<Partition::Object>();
    std::string line;
    appendPublicJson(line, r);
    line += '\n';
    o->gz.append(line);
    ++o->reports;
    p->latestHour = std::max(p->latestHour, hour);
    p->last = r.offset;
    p->next = r.offset + 1;
  }
  // The segment covers every offset of the ranges (invalid ones too).
  for (const auto& range : batch.ranges) {
    Partition& q = partition(range.partition);
    q.next = std::max(q.next, range.lastOffset + 1);
    if (q.redoLast && range.lastOffset >= *q.redoLast) {
      if (q.open) {
        q.last = *q.redoLast;
        if (auto s = close(q); !s.ok()) return s;
      } else {
        q.covered = std::max(q.covered, *q.redoLast + 1);
        q.archivedBefore = std::max(q.archivedBefore, *q.redoLast + 1);
      }
      q.redoLast.reset();
    } else if (q.open) {
      q.last = std::max(q.last, range.lastOffset);
    }
  }
  return closeAll(/*dueOnly=*/true, now);
}

core::Status S3ArchiveSink::closeAll(bool dueOnly, core::Timestamp now) {
  std::vector<Partition*> due;
  for (auto& [tp, p] : partitions_) {
    if (p->closing) {
      due.push_back(p.get());
      continue;
    }
    // A segment formed again after a replay closes at its recorded end
    // only, never earlier (its objects may exist under that name).
    if (!p->open || p->redoLast) continue;
    if (dueOnly && p->bytes() < options_.rotateBytes && now < p->openedAt + options_.rotateInterval) continue;
    due.push_back(p.get());
  }
  if (due.empty()) return core::okStatus();
  // Partitions are independent objects: closed in parallel (S3Client is
  // thread-safe, one curl handle per call).
  auto closeOne = [this](Partition* p) { return p->closing ? upload(*p) : close(*p); };
  std::vector<std::future<core::Status>> others;
  for (std::size_t i = 1; i < due.size(); ++i) others.push_back(std::async(std::launch::async, closeOne, due[i]));
  core::Status result = closeOne(due[0]);
  for (auto& f : others) {
    core::Status s = f.get();
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

core::Status S3ArchiveSink::tick(core::Timestamp now) { return closeAll(/*dueOnly=*/true, now); }

core::Status S3ArchiveSink::flush(std::chrono::milliseconds) {
  // Every open segment is closed, except one formed again after a replay
  // that has not reached its recorded end: it stays pending (the commit
  // holds before it) and is read again.
  return closeAll(/*dueOnly=*/false, clock_.now());
}

core::OffsetMap S3ArchiveSink::pending() const {
  core::OffsetMap out;
  for (const auto& [tp, p] : partitions_) {
    if (p->closing) out[tp] = p->closingFirst;
    else if (p->open) out[tp] = p->first;
    else if (p->redoLast) out[tp] = p->covered;  // the replayed segment, not begun yet
  }
  return out;
}

void S3ArchiveSink::partitionsRevoked() { partitions_.clear(); }

}  // namespace safestream::processor

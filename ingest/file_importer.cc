#include "ingest/file_importer.h"

#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <fstream>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/fingerprint.h"
#include "core/log.h"
#include "ingest/csv_reader.h"

namespace safestream::ingest {

std::string fileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return core::fnv1a64Hex(head);
}

FileImporter::FileImporter(Publisher& publisher, CheckpointStore& checkpoints, IngestMetrics* metrics,
                           std::function<bool()> stopRequested)
    : publisher_(publisher), checkpoints_(checkpoints), metrics_(metrics), stopRequested_(std::move(stopRequested)) {}

core::Result<ImportStats> FileImporter::run(const ImportOptions& opt) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  const std::string& source = opt.mapping.source;
  std::error_code ec;
  const auto size = std::filesystem::file_size(opt.file, ec);
  if (ec) return core::makeError("unreadable_file", opt.file + ": " + ec.message());
  std::ifstream in(opt.file, std::ios::binary);
  if (!in) return core::makeError("unreadable_file", opt.file + ": cannot open");
  // A larger read buffer: the reader pulls one char at a time from it.
  std::vector<char> buffer(1 << 20);
  in.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));

  CsvReader reader(in);
  std::vector<std::string> header;
  if (!reader.next(header) || header.empty()) return core::makeError("bad_file", opt.file + ": empty file, no header row");
  std::unordered_map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < header.size(); ++i) column[header[i]] = i;
  for (const std::string* name : {&opt.mapping.id, &opt.mapping.time, &opt.mapping.type, &opt.mapping.code,
                                  &opt.mapping.description, &opt.mapping.lat, &opt.mapping.lon,
                                  &opt.mapping.address, &opt.mapping.arrest, &opt.mapping.url, &opt.mapping.updated,
                                  &opt.mapping.timeOfDay, &opt.mapping.district}) {
    if (!name->empty() && !column.count(*name)) {
      return core::makeError("bad_file", opt.file + ": the header has no column '" + *name + "' named by the mapping");
    }
  }
  const std::uint64_t headerEnd = reader.bytesRead();

  const std::string key = "import." + source + "." + std::filesystem::path(opt.file).filename().string();
  auto loaded = checkpoints_.load(key);
  if (!loaded) return loaded.error();
  Checkpoint cp = std::move(*loaded);
  const std::string fingerprint = fileFingerprint(opt.file);
  ImportStats stats;
  std::uint64_t offset = headerEnd;
  std::uint64_t rowsDone = 0;
  if (cp.fileFingerprint == fingerprint && cp.fileOffset >= headerEnd && cp.fileOffset <= size) {
    offset = cp.fileOffset;
    rowsDone = cp.fileRows;
    stats.alreadyImported = cp.fileRows;
    if (offset > headerEnd) {
      in.clear();
      in.seekg(static_cast<std::streamoff>(offset));
      reader = CsvReader(in);
      core::log::info("import_resume", {{"file", opt.file}, {"source", source}, {"offset", offset}, {"rows_done", rowsDone}});
    }
  } else {
    cp.fileFingerprint = fingerprint;
    cp.fileOffset = headerEnd;
    cp.fileRows = 0;
  }

  std::vector<core::Report> batch;
  std::vector<Rejection> rejections;
  std::vector<std::string> fields;
  auto lastProgress = Clock::now();
  // The reader counts bytes from where it started reading: 0, or the resume offset.
  const std::uint64_t base = offset > headerEnd ? offset : 0;

  // One batch is in flight while the next is parsed. The checkpoint of a
  // batch is written only after its messages are acknowledged, and a batch is
  // launched only after the previous one finished, so the checkpoint never
  // passes an unacknowledged row.
  struct InFlight {
    std::future<PublishOutcome> done;
    std::shared_ptr<std::vector<core::Report>> reports;  // owned here while the publisher works on it
    std::vector<Rejection> rejections;
    std::uint64_t offset = 0;
    std::uint64_t rows = 0;
  };
  std::optional<InFlight> inflight;

  auto finish = [&]() -> core::Status {
    if (!inflight) return core::okStatus();
    PublishOutcome out = inflight->done.get();
    std::vector<Rejection> rejected = std::move(inflight->rejections);
    for (auto& r : out.rejections) rejected.push_back(std::move(r));
    const std::uint64_t doneOffset = inflight->offset;
    const std::uint64_t doneRows = inflight->rows;
    inflight.reset();
    stats.published += out.published;
    stats.rejected += rejected.size();
    reportRejections(source, rejected, metrics_);
    if (!out.allDelivered()) {
      return core::makeError("delivery_failed", std::to_string(out.failed) + " messages not acknowledged: " + out.firstError,
                             "", true);
    }
    cp.fileOffset = doneOffset;
    cp.fileRows = doneRows;
    if (metrics_) metrics_->lastSuccessNow(source);
    return checkpoints_.save(key, cp);
  };

  auto launch = [&] {
    InFlight f;
    f.reports = std::make_shared<std::vector<core::Report>>(std::move(batch));
    f.rejections = std::move(rejections);
    f.offset = base + reader.bytesRead();
    f.rows = rowsDone;
    batch.clear();
    rejections.clear();
    auto reports = f.reports;
    f.done = std::async(std::launch::async, [this, &source, reports] { return publisher_.publish(source, *reports); });
    inflight = std::move(f);
  };

  auto commit = [&]() -> core::Status {
    if (auto s = finish(); !s) return s;
    launch();
    return core::okStatus();
  };

  auto progress = [&](bool final) {
    const double secs = std::chrono::duration<double>(Clock::now() - started).count();
    const std::uint64_t at = base + reader.bytesRead();
    core::log::info(final ? "import_done" : "import_progress",
                    {{"file", opt.file},
                     {"source", source},
                     {"percent", size ? static_cast<double>(at) * 100.0 / static_cast<double>(size) : 100.0},
                     {"rows", stats.rows},
                     {"published", stats.published},
                     {"rejected", stats.rejected},
                     {"already_imported", stats.alreadyImported},
                     {"rows_per_second", secs > 0 ? static_cast<double>(stats.rows) / secs : 0.0}});
  };

  while (reader.next(fields)) {
    ++stats.rows;
    ++rowsDone;
    if (fields.size() == 1 && fields[0].empty()) {  // blank line
      --stats.rows;
      --rowsDone;
      continue;
    }
    const std::string where = opt.file + ":" + std::to_string(reader.line());
    if (reader.malformed()) {
      rejections.push_back({"malformed_csv", where + ": " + reader.error(), ""});
    } else if (fields.size() != header.size()) {
      rejections.push_back({"wrong_column_count", where + ": " + std::to_string(fields.size()) + " columns, the header has " +
                                                      std::to_string(header.size()), fields.empty() ? "" : fields[0]});
    } else {
      FieldGetter get = [&](const std::string& name) -> std::optional<std::string_view> {
        auto it = column.find(name);
        if (it == column.end()) return std::nullopt;
        return std::string_view(fields[it->second]);
      };
      auto r = mapRecord(opt.mapping, get);
      if (!r) {
        auto idIt = column.find(opt.mapping.id);
        rejections.push_back({r.error().code, where + ": " + r.error().message,
                              idIt == column.end() ? "" : fields[idIt->second]});
      } else {
        nlohmann::json raw = nlohmann::json::object();
        for (std::size_t i = 0; i < header.size(); ++i) raw[header[i]] = fields[i];
        r->rawJson = raw.dump();
        batch.push_back(std::move(*r));
      }
    }
    if (metrics_) metrics_->fetched(source, 1);
    if (batch.size() + rejections.size() >= opt.batchRows) {
      if (auto s = commit(); !s) return s.error();
      if (Clock::now() - lastProgress >= opt.progressEvery) {
        progress(false);
        lastProgress = Clock::now();
      }
      if (stopRequested_ && stopRequested_()) {
        stats.stopped = true;
        break;
      }
    }
  }
  if (auto s = commit(); !s) return s.error();
  if (auto s = finish(); !s) return s.error();
  stats.bytes = reader.bytesRead();
  stats.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  progress(true);
  return stats;
}

}  // namespace safestream::ingest

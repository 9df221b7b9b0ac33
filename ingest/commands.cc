#include "ingest/commands.h"

#include <prometheus/registry.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "core/admin_server.h"
#include "core/kafka.h"
#include "core/log.h"
#include "core/metrics.h"
#include "ingest/area_context_store.h"
#include "ingest/checkpoint_store.h"
#include "ingest/file_importer.h"
#include "ingest/http_client.h"
#include "ingest/ingest_metrics.h"
#include "ingest/publisher.h"
#include "ingest/replayer.h"
#include "ingest/scheduler.h"
#include "ingest/sources_config.h"

namespace safestream::ingest {
namespace {

core::KafkaSettings kafkaSettings(const IngestConfig& c) {
  core::KafkaSettings s;
  s.bootstrap = c.kafkaBootstrap;
  return s;
}

std::unique_ptr<core::KafkaProducer> makeProducer(const IngestConfig& c) {
  if (auto s = core::checkKafka(kafkaSettings(c), std::chrono::seconds(10)); !s) {
    throw core::ConfigError("kafka " + c.kafkaBootstrap + ": " + s.error().message);
  }
  core::ProducerOptions o;
  o.idempotent = true;  // enable.idempotence=true implies acks=all
  o.compression = c.compression;
  o.lingerMs = 20;
  o.clientId = "safestream-ingest";
  return std::make_unique<core::KafkaProducer>(kafkaSettings(c), o);
}

void flushProducer(core::KafkaProducer& p) {
  if (!p.flush(std::chrono::seconds(30))) {
    core::log::warn("producer_flush_timeout", {{"queued", p.queueLength()}});
  }
}

std::string base36(unsigned long long v) {
  std::string s;
  do {
    s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36]);
    v /= 36;
  } while (v);
  return s;
}

}  // namespace

int runDaemon(const IngestConfig& c, core::ShutdownSignal& shutdown) {
  SourcesConfig sources = loadSourcesConfig(c.configFile);
  bool needsPg = false;
  for (const auto& s : sources.sources) needsPg |= s.kind == SourceKind::rapidapiZipGrades;
  if (needsPg && c.pgUrl.empty()) throw core::ConfigError(c.configFile + ": ZIP-grade sources need --pg-url / SAFESTREAM_PG_URL");

  auto producer = makeProducer(c);
  auto registry = std::make_shared<prometheus::Registry>();
  core::addBuildInfo(*registry, "ingest");
  IngestMetrics metrics(*registry);
  Publisher publisher(*producer, c.topic, &metrics);
  CheckpointStore checkpoints(c.stateDir);
  std::unique_ptr<AreaContextStore> areaContext;
  if (needsPg) areaContext = std::make_unique<PostgresAreaContextStore>(c.pgUrl);
  CurlHttpClient http;
  core::SystemClock clock;
  Scheduler scheduler(std::move(sources), Scheduler::Deps{http, publisher, checkpoints, areaContext.get(), metrics, clock},
                      [&](std::chrono::milliseconds d) { return shutdown.waitFor(d); });
  core::AdminServer admin(c.metricsHost, c.metricsPort, registry, [&publisher] {
    core::Readiness r;
    if (auto e = publisher.lastDeliveryError(); !e.empty()) {
      r.ready = false;
      r.problems.push_back("kafka: the last publish was not acknowledged: " + e);
    }
    return r;
  });
  core::log::info("ingest_started", {{"config", c.configFile},
                                     {"sources", scheduler.sourceCount()},
                                     {"state_dir", c.stateDir},
                                     {"metrics", admin.url()}});
  // Worker threads start after everything they use exists; joined before any is destroyed.
  std::thread workers([&] {
    try {
      scheduler.run();
    } catch (const std::exception& e) {
      // Never let a worker exception vanish (or terminate the process): stop cleanly.
      core::log::error("scheduler_failed", {{"error", e.what()}});
      shutdown.request();
    }
  });
  while (!shutdown.waitFor(std::chrono::seconds(1))) {
    metrics.queueDepth(producer->queueLength());
  }
  workers.join();
  flushProducer(*producer);
  core::log::info("ingest_stopped", {{"polls", scheduler.pollsDone()}});
  return 0;
}

int runImport(const IngestConfig& c, core::ShutdownSignal& shutdown) {
  ImportOptions opt;
  opt.file = c.importFile;
  opt.mapping = c.format == "chicago" ? chicagoMapping() : loadColumnMapping(c.mappingFile);
  if (!c.sourceOverride.empty()) {
    if (!isValidSourceName(c.sourceOverride)) {
      throw core::ConfigError("--source '" + c.sourceOverride + "' must match ^[a-z][a-z0-9_.:-]{0,63}$");
    }
    opt.mapping.source = c.sourceOverride;
  }
  opt.batchRows = static_cast<std::size_t>(c.batchRows);
  auto producer = makeProducer(c);
  prometheus::Registry registry;
  IngestMetrics metrics(registry);
  Publisher publisher(*producer, c.topic, &metrics);
  CheckpointStore checkpoints(c.stateDir);
  FileImporter importer(publisher, checkpoints, &metrics, [&] { return shutdown.requested(); });
  auto r = importer.run(opt);
  flushProducer(*producer);
  if (!r) {
    if (r.error().code == "unreadable_file" || r.error().code == "bad_file" || r.error().code == "corrupt_checkpoint") {
      throw core::ConfigError(r.error().message);
    }
    throw std::runtime_error("import of " + c.importFile + " failed: " + r.error().message +
                             " (re-run to resume from the last acknowledged batch)");
  }
  // One summary line on stdout for scripts; progress went to stderr.
  std::printf("{\"file\":\"%s\",\"source\":\"%s\",\"rows\":%llu,\"published\":%llu,\"rejected\":%llu,"
              "\"already_imported\":%llu,\"seconds\":%.3f,\"rows_per_second\":%.0f,\"stopped\":%s}\n",
              c.importFile.c_str(), opt.mapping.source.c_str(), static_cast<unsigned long long>(r->rows),
              static_cast<unsigned long long>(r->published), static_cast<unsigned long long>(r->rejected),
              static_cast<unsigned long long>(r->alreadyImported), r->seconds,
              r->seconds > 0 ? static_cast<double>(r->rows) / r->seconds : 0.0, r->stopped ? "true" : "false");
  std::fflush(stdout);
  return 0;
}

int runReplayCommand(const IngestConfig& c, core::ShutdownSignal& shutdown) {
  auto producer = makeProducer(c);
  prometheus::Registry registry;
  IngestMetrics metrics(registry);
  Publisher publisher(*producer, c.topic, &metrics);
  StopWaiter wait = [&](std::chrono::milliseconds d) { return shutdown.waitFor(d); };
  ReplayOptions o;
  o.spotcrimeFile = c.spotcrimeFile;
  o.spotcrimeZone = c.spotcrimeZone;
  o.chicagoFile = c.chicagoFile;
  for (const auto& f : c.csvFiles) {
    const auto eq = f.find('=');
    o.csvFiles.push_back({f.substr(0, eq), f.substr(eq + 1)});
  }
  o.speedup = c.speedup;
  o.historySpeedup = c.historySpeedup;
  o.liveWindow = std::chrono::minutes(static_cast<long long>(c.liveHours * 60));
  if (c.historyHours > 0) o.historyWindow = std::chrono::minutes(static_cast<long long>(c.historyHours * 60));
  o.part = c.part == "history" ? ReplayPart::history : c.part == "live" ? ReplayPart::live : ReplayPart::all;
  if (!c.endAt.empty()) {
    auto t = core::parseTimestamp(c.endAt);
    if (!t) throw core::ConfigError("replay: --end-at: " + t.error().message);
    o.endAt = *t;
  }
  ReplayStats total;
  do {
    o.runTag = base36(static_cast<unsigned long long>(core::toEpochMillis(core::nowUtc())));
    auto items = loadReplay(o);
    const double span = items.empty() ? 0
                        : items.back().publishAt
                            ? std::chrono::duration<double>(*items.back().publishAt - core::nowUtc()).count()
                            : static_cast<double>(items.back().offset.count()) / 1000.0;
    core::log::info("replay_started", {{"records", items.size()},
                                       {"speedup", c.speedup},
                                       {"seconds", span},
                                       {"run", o.runTag},
                                       {"timeline", o.endAt ? "shifted" : "compressed"},
                                       {"part", c.part}});
    auto s = runReplay(std::move(items), publisher, wait, &metrics);
    total.published += s.published;
    total.rejected += s.rejected;
    total.failed += s.failed;
    total.stopped = s.stopped;
    core::log::info("replay_done", {{"published", s.published}, {"history", s.history}, {"rejected", s.rejected},
                                    {"failed", s.failed}, {"run", o.runTag}});
  } while (c.loop && !total.stopped && !shutdown.requested());
  flushProducer(*producer);
  return total.failed ? 3 : 0;
}

}  // namespace safestream::ingest

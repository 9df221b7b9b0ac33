#include "ingest/scheduler.h"

#include <algorithm>
#include <cstdio>
#include <thread>

#include "core/log.h"
#include "ingest/local_time.h"
#include "ingest/rate_limiter.h"
#include "ingest/retrying_fetcher.h"
#include "ingest/source_parsers.h"

namespace safestream::ingest {
namespace {

using std::chrono::milliseconds;

struct Target {
  std::string key;    // checkpoint key
  std::string label;  // area or ZIP, for logs
  const Area* area = nullptr;
  std::string zip;
};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

// "7/1/2023": the Crime Data API's M/D/YYYY without leading zeros.
std::string usDate(core::Timestamp t, const std::string& zone) {
  const std::string ymd = formatLocal(t, zone, "%Y %m %d");
  int y = 0, m = 0, d = 0;
  std::sscanf(ymd.c_str(), "%d %d %d", &y, &m, &d);
  return std::to_string(m) + "/" + std::to_string(d) + "/" + std::to_string(y);
}

}  // namespace

struct Scheduler::SourceState {
  const SourceConfig& cfg;
  std::vector<Target> targets;
  RateLimiter limiter;
  RetryingFetcher fetcher;
  std::vector<std::chrono::steady_clock::time_point> nextDue;
  bool quotaWarned = false;
  // Recently published ids of the whole source (areas and tiles overlap, so
  // one record may come back from several of them): one checkpoint per source.
  std::optional<RecentIds> seen;
  SourceState(const SourceConfig& c, HttpClient& http, const core::Clock& clock, Sleeper sleep)
      : cfg(c), limiter(c.perSecond, c.perDay, clock), fetcher(http, c.retry, std::move(sleep)) {}
};

Scheduler::Scheduler(SourcesConfig config, Deps deps, StopWaiter waitForStop)
    : config_(std::move(config)), deps_(deps), waitForStop_(std::move(waitForStop)) {
  Sleeper sleep = [this](milliseconds d) { return !waitForStop_(d); };
  for (const auto& cfg : config_.sources) {
    auto s = std::make_unique<SourceState>(cfg, deps_.http, deps_.clock, sleep);
    if (cfg.kind == SourceKind::rapidapiZipGrades) {
      for (const auto& z : cfg.zips) s->targets.push_back({cfg.name + "." + z, z, nullptr, z});
    } else if (cfg.kind == SourceKind::socrata) {
      s->targets.push_back({cfg.name + "." + cfg.dataset, cfg.dataset, nullptr, {}});
    } else {
      for (const auto& a : cfg.areas) s->targets.push_back({cfg.name + "." + a.name, a.name, &a, {}});
    }
    // Restore today's quota usage so a restart cannot overspend the plan.
    if (cfg.perDay > 0) {
      if (auto q = deps_.checkpoints.load("quota." + cfg.name); q && q->highWater) {
        s->limiter.restore(core::toEpochMillis(*q->highWater) / (24LL * 3600 * 1000), static_cast<std::int64_t>(q->fileRows));
      }
    }
    s->nextDue.assign(s->targets.size(), std::chrono::steady_clock::now());
    sources_.push_back(std::move(s));
  }
}

Scheduler::~Scheduler() = default;

std::size_t Scheduler::sourceCount() const { return sources_.size(); }
std::size_t Scheduler::targetCount(std::size_t s) const { return sources_.at(s)->targets.size(); }
std::string Scheduler::targetKey(std::size_t s, std::size_t t) const { return sources_.at(s)->targets.at(t).key; }

PollReport Scheduler::pollOnce(std::size_t si, std::size_t ti) {
  SourceState& s = *sources_.at(si);
  const SourceConfig& cfg = s.cfg;
  const Target& target = s.targets.at(ti);
  const std::string& source = cfg.reportSource;
  PollReport rep;
  auto fail = [&](const std::string& code, const std::string& message) {
    rep.ok = false;
    rep.error = code + ": " + message;
    deps_.metrics.pollError(source, code);
    core::log::warn("poll_failed", {{"source", source}, {"target", target.label}, {"code", code}, {"error", message}});
    ++polls_;
    return rep;
  };

  auto loaded = deps_.checkpoints.load(target.key);
  if (!loaded) return fail(loaded.error().code, loaded.error().message);
  Checkpoint cp = std::move(*loaded);
  const std::string seenKey = cfg.name + ".seen";
  if (!s.seen) {
    auto seen = deps_.checkpoints.load(seenKey);
    if (!seen) return fail(seen.error().code, seen.error().message);
    s.seen = std::move(seen->recent);
  }
  RecentIds& recent = *s.seen;
  const auto highWaterBefore = cp.highWater;

  // Rate limit and quota.
  for (;;) {
    auto d = s.limiter.tryAcquire();
    if (d.allowed) break;
    if (d.quotaExhausted) {
      rep.notBefore = d.wait;
      if (!s.quotaWarned) core::log::warn("quota_exhausted", {{"source", source}, {"retry_in_ms", static_cast<long long>(d.wait.count())}});
      s.quotaWarned = true;
      deps_.metrics.quotaRemaining(source, 0);
      return fail("quota_exhausted", "daily quota of " + std::to_string(cfg.perDay) + " requests used up");
    }
    if (waitForStop_(d.wait)) return fail("shutdown", "stopped while waiting for the rate limit");
  }
  s.quotaWarned = false;
  if (cfg.perDay > 0) {
    Checkpoint q;
    q.highWater = core::fromEpochMillis(s.limiter.dayIndex() * 24LL * 3600 * 1000);
    q.fileRows = static_cast<std::uint64_t>(s.limiter.usedToday());
    (void)deps_.checkpoints.save("quota." + cfg.name, q);  // best effort: a lost write only risks a few requests
    deps_.metrics.quotaRemaining(source, static_cast<double>(s.limiter.remainingToday()));
  } else {
    deps_.metrics.quotaRemaining(source, -1);
  }

  // Build the request.
  HttpRequest req;
  req.timeout = cfg.timeout;
  req.what = cfg.name + "/" + target.label;
  const core::Timestamp now = deps_.clock.now();
  const core::Timestamp since =
      cp.highWater ? *cp.highWater - cfg.lookback : (cfg.since ? *cfg.since : now - cfg.lookback);
  switch (cfg.kind) {
    case SourceKind::spotcrime:
      req.url = cfg.baseUrl + cfg.path + "?lat=" + num(target.area->lat) + "&lon=" + num(target.area->lon) +
                "&radius=" + num(target.area->radius) + "&key=" + urlEncode(cfg.key);
      break;
    case SourceKind::rapidapiIncidents:
      req.url = cfg.baseUrl + cfg.path + "?startdate=" + urlEncode(usDate(since, target.area->timeZone)) +
                "&enddate=" + urlEncode(usDate(now, target.area->timeZone)) + "&lat=" + num(target.area->lat) +
                "&long=" + num(target.area->lon);
      break;
    case SourceKind::rapidapiZipGrades:
      req.url = cfg.baseUrl + cfg.path + "?zip=" + urlEncode(target.zip);
      break;
    case SourceKind::socrata: {
      const std::string from = formatLocal(since, cfg.mapping.timeZone, "%Y-%m-%dT%H:%M:%S");
      req.url = cfg.baseUrl + cfg.path + "/resource/" + urlEncode(cfg.dataset) + ".json?$where=" +
                urlEncode(cfg.mapping.updated + " >= '" + from + "'") + "&$order=" +
                urlEncode(cfg.mapping.updated + " ASC") + "&$limit=" + std::to_string(cfg.pageLimit);
      if (!cfg.key.empty()) req.headers.emplace_back("X-App-Token", cfg.key);
      break;
    }
  }
  if (cfg.kind == SourceKind::rapidapiIncidents || cfg.kind == SourceKind::rapidapiZipGrades) {
    req.headers.emplace_back("X-RapidAPI-Key", cfg.key);
    req.headers.emplace_back("X-RapidAPI-Host", cfg.rapidApiHost);
  }

  auto fetched = s.fetcher.get(req, [&](const std::string& status, double secs) {
    deps_.metrics.request(source, status);
    deps_.metrics.requestSeconds(source).Observe(secs);
  });
  rep.notBefore = fetched.notBefore;
  if (!fetched.response) return fail(fetched.response.error().code, fetched.response.error().message);
  const std::string& body = fetched.response->body;

  if (cfg.kind == SourceKind::rapidapiZipGrades) {
    auto g = parseZipGrades(body, target.zip);
    if (!g) return fail(g.error().code, g.error().message);
    if (!deps_.areaContext) return fail("no_store", "ZIP grades need --pg-url");
    if (auto st = deps_.areaContext->upsertGrades(source, *g); !st) return fail(st.error().code, st.error().message);
    deps_.metrics.gradesStored(source, 1);
    deps_.metrics.lastSuccessNow(source);
    rep.ok = true;
    rep.fetched = 1;
    ++polls_;
    return rep;
  }

  core::Result<ParsedBatch> parsed =
      cfg.kind == SourceKind::spotcrime ? parseSpotCrime(body, target.area->timeZone, source)
                                        : parseJsonRecords(body, cfg.mapping, cfg.recordsKey);
  if (!parsed) return fail(parsed.error().code, parsed.error().message);
  rep.fetched = parsed->reports.size() + parsed->rejections.size();
  deps_.metrics.fetched(source, static_cast<double>(rep.fetched));

  std::vector<core::Report> fresh;
  for (auto& r : parsed->reports) {
    if (recent.contains(r.sourceId)) {
      ++rep.skipped;
    } else {
      fresh.push_back(std::move(r));
    }
  }
  std::vector<Rejection> newRejections;
  for (auto& r : parsed->rejections) {
    // A bad record is reported once, not at every poll that sees it again.
    const std::string& k = r.dedupeKey.empty() ? r.sourceId : r.dedupeKey;
    if (!k.empty() && recent.contains("!" + k)) {
      ++rep.skipped;
    } else {
      newRejections.push_back(std::move(r));
    }
  }
  if (rep.skipped) deps_.metrics.skippedSeen(source, static_cast<double>(rep.skipped));

  auto out = deps_.publisher.publish(source, fresh);
  for (auto& r : out.rejections) newRejections.push_back(std::move(r));
  reportRejections(source, newRejections, &deps_.metrics);
  rep.rejected = newRejections.size();
  rep.published = out.published;

  // Only acknowledged messages enter the checkpoint.
  for (std::size_t i : out.publishedIndexes) {
    recent.add(fresh[i].sourceId);
    if (out.allDelivered() && (!cp.highWater || fresh[i].reportedAt > *cp.highWater)) cp.highWater = fresh[i].reportedAt;
  }
  for (const auto& r : newRejections) {
    const std::string& k = r.dedupeKey.empty() ? r.sourceId : r.dedupeKey;
    if (!k.empty()) recent.add("!" + k);
  }
  // Seen ids first: after a crash between the two writes, the area's older
  // high-water mark only makes the next poll ask a little further back.
  // Unchanged state is not rewritten (the seen file can hold 20,000 ids).
  if (!out.publishedIndexes.empty() || !newRejections.empty()) {
    Checkpoint seenCp;
    seenCp.recent = recent;
    if (auto st = deps_.checkpoints.save(seenKey, seenCp); !st) return fail(st.error().code, st.error().message);
  }
  if (cp.highWater != highWaterBefore || !cp.updatedAt) {
    if (auto st = deps_.checkpoints.save(target.key, cp); !st) return fail(st.error().code, st.error().message);
  }
  if (!out.allDelivered()) return fail("delivery_failed", std::to_string(out.failed) + " messages not acknowledged: " + out.firstError);

  deps_.metrics.lastSuccessNow(source);
  rep.ok = true;
  ++polls_;
  core::log::info("poll_done", {{"source", source},
                                {"target", target.label},
                                {"fetched", rep.fetched},
                                {"published", rep.published},
                                {"skipped_seen", rep.skipped},
                                {"rejected", rep.rejected}});
  // A full Socrata page means more is waiting: poll again at once.
  if (cfg.kind == SourceKind::socrata && rep.fetched >= static_cast<std::size_t>(cfg.pageLimit) && rep.published > 0) {
    rep.notBefore = milliseconds(0);
  }
  return rep;
}

void Scheduler::run() {
  std::vector<std::thread> threads;
  for (std::size_t si = 0; si < sources_.size(); ++si) {
    threads.emplace_back([this, si] {
      SourceState& s = *sources_[si];
      for (;;) {
        const auto now = std::chrono::steady_clock::now();
        std::size_t next = 0;
        for (std::size_t t = 1; t < s.targets.size(); ++t) {
          if (s.nextDue[t] < s.nextDue[next]) next = t;
        }
        if (s.targets.empty()) return;
        if (s.nextDue[next] > now) {
          const auto wait = std::chrono::duration_cast<milliseconds>(s.nextDue[next] - now);
          if (waitForStop_(std::min(wait, milliseconds(1000)))) return;
          continue;
        }
        PollReport r;
        try {
          r = pollOnce(si, next);
        } catch (const std::exception& e) {
          // A worker never lets an exception vanish: log, count, keep polling.
          deps_.metrics.pollError(s.cfg.reportSource, "exception");
          core::log::error("poll_exception", {{"source", s.cfg.reportSource}, {"error", e.what()}});
        }
        auto due = std::chrono::steady_clock::now() + s.cfg.pollInterval;
        if (r.notBefore) due = std::chrono::steady_clock::now() + *r.notBefore;
        s.nextDue[next] = due;
        if (waitForStop_(milliseconds(0))) return;
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace safestream::ingest

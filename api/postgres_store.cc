#include "api/postgres_store.h"

#include <pqxx/pqxx>

#include <array>
#include <sstream>

#include "api/s2_cells.h"
#include "core/fingerprint.h"
#include "core/log.h"

namespace safestream::api {

struct PgPool::Impl {
  std::string url;
  std::mutex mu;
  std::vector<std::unique_ptr<pqxx::connection>> idle;

  std::unique_ptr<pqxx::connection> acquire() {
    {
      std::lock_guard lock(mu);
      if (!idle.empty()) {
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    return std::make_unique<pqxx::connection>(url);
  }
  void release(std::unique_ptr<pqxx::connection> c) {
    std::lock_guard lock(mu);
    if (idle.size() < 32 && c->is_open()) idle.push_back(std::move(c));
  }

  // Runs fn(connection) and maps failures to errors: connection problems
  // are retriable (503), anything else is logged and also a 503.
  template <typename T, typename F>
  core::Result<T> run(F&& fn) {
    std::unique_ptr<pqxx::connection> c;
    try {
      c = acquire();
      T out = fn(*c);
      release(std::move(c));
      return out;
    } catch (const pqxx::broken_connection& e) {
      return core::makeError("postgres_unreachable", std::string("PostgreSQL: ") + e.what(), "", true);
    } catch (const std::exception& e) {
      core::log::warn("postgres_query_failed", {{"message", std::string(e.what())}});
      if (c && c->is_open()) release(std::move(c));
      return core::makeError("postgres_error", std::string("PostgreSQL: ") + e.what(), "", true);
    }
  }
};

PgPool::PgPool(std::string url, int statementTimeoutMs) : impl_(std::make_unique<Impl>()) {
  const char sep = url.find('?') == std::string::npos ? '?' : '&';
  // Parallel workers cost more to start (~15 ms) than these small indexed
  // look-ups take, so the API's sessions do without them.
  impl_->url = url + sep + "connect_timeout=5&options=-c%20statement_timeout%3D" + std::to_string(statementTimeoutMs) +
               "%20-c%20max_parallel_workers_per_gather%3D0";
}

PgPool::~PgPool() = default;

core::Status PgPool::ping() {
  auto r = impl_->run<int>([](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT 1")[0].as<int>();
  });
  if (!r) return r.error();
  return core::okStatus();
}

namespace {

constexpr const char* kReportColumns =
    "id::text, source, category, severity, description, "
    "(extract(epoch from occurred_at) * 1000)::bigint, (extract(epoch from reported_at) * 1000)::bigint, "
    "lat, lon, address, neighbourhood, time_zone";

PublicReport rowToReport(const pqxx::row& row) {
  PublicReport r;
  r.id = row[0].as<std::string>();
  r.source = row[1].as<std::string>();
  r.category = row[2].as<std::string>();
  r.severity = row[3].as<int>();
  r.description = row[4].as<std::string>();
  r.occurredAt = core::fromEpochMillis(row[5].as<long long>());
  r.reportedAt = core::fromEpochMillis(row[6].as<long long>());
  if (!row[7].is_null()) r.lat = row[7].as<double>();
  if (!row[8].is_null()) r.lon = row[8].as<double>();
  if (!row[9].is_null()) r.address = row[9].as<std::string>();
  if (!row[10].is_null()) r.neighbourhood = row[10].as<std::string>();
  if (!row[11].is_null()) r.timeZone = row[11].as<std::string>();
  return r;
}

std::string num(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

PostgresReportStore::PostgresReportStore(PgPool& pool) : pool_(pool) {}

core::Result<std::optional<PublicReport>> PostgresReportStore::get(const std::string& id) {
  return pool_.impl().run<std::optional<PublicReport>>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);  // one statement: no BEGIN/COMMIT round trips
    auto rows = tx.exec_params(std::string("SELECT ") + kReportColumns +
                                   " FROM reports WHERE id = $1::uuid ORDER BY processed_at DESC LIMIT 1",
                               id);
    if (rows.empty()) return std::optional<PublicReport>();
    return std::optional<PublicReport>(rowToReport(rows[0]));
  });
}

namespace {

// Runs `sql` with its parameters as an unnamed statement, so each request
// gets a plan for its own values. Named prepared statements were tried: after
// five runs PostgreSQL switched to a generic plan that guessed one row per
// partition for the bbox and read 56,780 rows through the (lat, lon) index
// (250 ms) where the plan for the actual values took 7 ms.
pqxx::result execParams(pqxx::transaction_base& tx, const std::string& sql, const std::vector<std::string>& params) {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}

// Newest-first searches without a time bound (every map pan and zoom) would
// plan and probe every monthly partition. The newest rows are in the newest
// months, so the search first looks back this far from its upper end (the
// cursor, `until` or now) and widens only when that window holds fewer than
// limit + 1 matches. The answer is the same: when a window holds limit + 1
// rows, every row outside it is older than all of them.
constexpr std::array<std::chrono::hours, 3> kSearchWindows{std::chrono::hours(24 * 7), std::chrono::hours(24 * 40),
                                                           std::chrono::hours(24 * 400)};

// A search without an upper end (no cursor, no until) still gets one, so
// that the partitions made for the coming months (and the default one) are
// pruned at plan time: the processor refuses reports more than 24 h in the
// future (core::DecodeOptions::maxFuture), so none lies beyond this.
constexpr std::chrono::hours kFutureHorizon{48};

// Cells of the covering for the area-first search: each is one index range
// scan (over every monthly partition), so few; the covering is a superset
// of the area, rows are then tested exactly.
constexpr int kCoverCells = 8;

}  // namespace

core::Result<ReportPage> PostgresReportStore::query(const ReportQuery& q) {
  return pool_.impl().run<ReportPage>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    // The upper end of the search and the lower bounds it tries, newest first.
    const core::Timestamp top = q.cursor ? q.cursor->occurredAt : q.until ? *q.until : core::nowUtc();
    std::vector<std::optional<core::Timestamp>> lowers;
    for (auto w : kSearchWindows) {
      const core::Timestamp lower = top - w;
      if (q.since && *q.since >= lower) break;  // the asked window is smaller: search it whole
      lowers.emplace_back(lower);
    }
    lowers.emplace_back(std::nullopt);
    std::optional<core::Timestamp> horizon;
    if (!q.cursor && !q.until) horizon = top + kFutureHorizon;
    pqxx::result rows;
    for (std::size_t i = 0; i < lowers.size(); ++i) {
      const SqlStatement sql = reportSearchSql(q, lowers[i], horizon);
      rows = execParams(tx, sql.text, sql.params);
      if (static_cast<int>(rows.size()) > q.limit || !lowers[i]) break;
      if (q.bbox || q.near) {
        // A place with fewer than limit + 1 reports in the first window has
        // few in all (at that rate about 100 a week): wider windows, time
        // first, would read the whole city's entries to find them; area
        // first reads just the place's. Measured on 1,000,000 rows: an empty
        // bbox over the lake took 1.2 s time first.
        const auto ranges = q.bbox ? coverBox(*q.bbox, kCoverCells) : coverCircle(*q.near, kCoverCells);
        std::vector<std::pair<std::int64_t, std::int64_t>> cells;
        cells.reserve(ranges.size());
        for (const auto& r : ranges) cells.emplace_back(r.min, r.max);
        const SqlStatement area = reportAreaSearchSql(q, cells, horizon);
        rows = execParams(tx, area.text, area.params);
        break;
      }
    }
    ReportPage page;
    for (const auto& row : rows) {
      if (static_cast<int>(page.reports.size()) == q.limit) break;
      auto r = rowToReport(row);
      if (q.near) r.distanceM = row[12].as<double>();
      page.reports.push_back(std::move(r));
    }
    if (static_cast<int>(rows.size()) > q.limit) {
      const auto& last = page.reports.back();
      page.nextCursor = encodeCursor(ReportCursor{last.occurredAt, last.id});
    }
    return page;
  });
}

PostgresDuplicateStore::PostgresDuplicateStore(PgPool& pool) : pool_(pool) {}

core::Result<DuplicateLinks> PostgresDuplicateStore::links(const std::string& reportId, int limit) {
  // The report's own link and root first, then limit + 1 of its duplicates
  // (the extra one says there are more) from the partial index on
  // duplicate_of, in one round trip. A root that is no longer stored still
  // gives its id.
  static const std::string kSql =
      "WITH me AS (SELECT duplicate_of FROM reports WHERE id = $1::uuid ORDER BY processed_at DESC LIMIT 1), "
      "root AS (SELECT r.id, r.source, r.occurred_at FROM reports r JOIN me ON r.id = me.duplicate_of "
      "ORDER BY r.processed_at DESC LIMIT 1), "
      "dups AS (SELECT id, source, occurred_at FROM reports WHERE duplicate_of = $1::uuid "
      "ORDER BY occurred_at, id LIMIT $2::int) "
      "SELECT 0, me.duplicate_of::text, root.source, (extract(epoch from root.occurred_at) * 1000)::bigint "
      "FROM me LEFT JOIN root ON true WHERE me.duplicate_of IS NOT NULL "
      "UNION ALL SELECT 1, id::text, source, (extract(epoch from occurred_at) * 1000)::bigint FROM dups";
  return pool_.impl().run<DuplicateLinks>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    auto rows = tx.exec_params(kSql, reportId, limit + 1);
    DuplicateLinks out;
    for (const auto& row : rows) {
      DuplicateRef ref;
      ref.id = row[1].as<std::string>();
      if (!row[2].is_null()) ref.source = row[2].as<std::string>();
      if (!row[3].is_null()) ref.occurredAt = core::fromEpochMillis(row[3].as<long long>());
      if (row[0].as<int>() == 0) {
        out.duplicateOf = std::move(ref);
      } else if (static_cast<int>(out.duplicates.size()) == limit) {
        out.more = true;
      } else {
        out.duplicates.push_back(std::move(ref));
      }
    }
    return out;
  });
}

PostgresStatsStore::PostgresStatsStore(PgPool& pool) : pool_(pool) {}

namespace {
constexpr std::chrono::seconds kCompactEvery{60};
}  // namespace

core::Result<std::vector<StatsRow>> PostgresStatsStore::stats(const StatsRequest& request) {
  const SqlStatement sql = statsSql(request);
  bool compact = false;
  if (usesDayCounts(request)) {
    const long long now = core::toEpochMillis(core::nowUtc());
    long long last = lastCompactMs_.load();
    compact = now - last >= std::chrono::milliseconds(kCompactEvery).count() && lastCompactMs_.compare_exchange_strong(last, now);
  }
  return pool_.impl().run<std::vector<StatsRow>>([&](pqxx::connection& c) {
    pqxx::nontransaction tx(c);
    if (compact) {
      try {
        tx.exec("SELECT report_day_counts_compact()");
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        // The answer does not depend on it: the counts are sums either way.
        core::log::warn("day_counts_compact_failed", {{"message", std::string(e.what())}});
      }
    }
    auto rows = execParams(tx, sql.text, sql.params);
    std::vector<StatsRow> out;
    out.reserve(rows.size());
    for (const auto& row : rows) {
      StatsRow r;
      switch (request.kind) {
        case StatsKind::heatmap:
        case StatsKind::trends:
        case StatsKind::categories:
          r.key = row[0].as<std::string>();
          r.count = row[1].as<long long>();
          break;
        case StatsKind::change:
          r.key = row[0].as<std::string>();
          r.count = row[1].as<long long>();
          r.previous = row[2].as<long long>();
          break;
        case StatsKind::neighbourhoods:
          r.key2 = row[0].as<std::string>();
          r.key = row[1].as<std::string>();
          r.count = row[2].as<long long>();
          r.previous = row[3].as<long long>();
          break;
        case StatsKind::hours:
          r.weekday = row[0].as<int>();
          r.hour = row[1].as<int>();
          r.count = row[2].as<long long>();
          break;
      }
      out.push_back(std::move(r));
    }
    if (request.kind == StatsKind::heatmap) withCellCentres(out);
    return out;
  });
}

PostgresSubscriptionStore::PostgresSubscriptionStore(PgPool& pool) : pool_(pool) {}

namespace {

std::string textArray(pqxx::transaction_base& tx, const std::vector<std::string>& items) {
  std::string out = "ARRAY[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + tx.quote(items[i]);
  return out + "]::text[]";
}

std::string orNull(pqxx::transaction_base& tx, bool present, const std::string& value) {
  return present ? tx.quote(value) : "NULL";
}

// Column values of a subscription, in the order of kSubscriptionColumns.
std::vector<std::string> subscriptionValues(pqxx::transaction_base& tx, const core::Subscription& s) {
  const bool circle = s.areaType == core::AreaType::circle;
  const bool hood = s.areaType == core::AreaType::neighbourhood;
  const bool poly = s.areaType == core::AreaType::polygon;
  return {tx.quote(s.tokenHash),
          tx.quote(std::string(core::areaTypeName(s.areaType))),
          circle ? num(s.center.lat) : "NULL",
          circle ? num(s.center.lon) : "NULL",
          circle ? num(s.radiusM) : "NULL",
          orNull(tx, hood, s.neighbourhood),
          poly ? tx.quote(core::polygonToJson(s.polygon)) + "::jsonb" : "NULL",
          textArray(tx, s.categories),
          std::to_string(s.minSeverity),
          tx.quote(s.timeZone),
          s.quietHours ? std::to_string(s.quietHours->startMinute) : "NULL",
          s.quietHours ? std::to_string(s.quietHours->endMinute) : "NULL",
          s.maxPerHour ? std::to_string(*s.maxPerHour) : "NULL",
          orNull(tx, hood && !s.city.empty(), s.city),
          s.paused ? "true" : "false"};
}

const std::vector<std::string> kSubscriptionColumns = {
    "token_hash", "area_type", "center_lat", "center_lon", "radius_m", "neighbourhood", "polygon",
    "categories", "min_severity", "time_zone", "quiet_start", "quiet_end", "max_per_hour", "city", "paused"};

}  // namespace

core::Status PostgresSubscriptionStore::create(const core::Subscription& s) {
  auto r = pool_.impl().run<bool>([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto values = subscriptionValues(tx, s);
    std::string cols = "id", vals = tx.quote(s.id) + "::uuid";
    for (std::size_t i = 0; i < values.size(); ++i) {
      cols += ", " + kSubscriptionColumns[i];
      vals += ", " + values[i];
    }
    tx.exec0("INSERT INTO subscriptions (" + cols + ") VALUES (" + vals + ")");
    tx.commit();
    return true;
  });
  if (!r) return r.error();
  return core::okStatus();
}

core::Result<std::optional<core::Subscription>> PostgresSubscriptionStore::get(const std::string& id) {
  return pool_.impl().run<std::optional<core::Subscription>>([&](pqxx::connection& c) -> std::optional<core::Subscription> {
    pqxx::nontransaction tx(c);
    auto rows = tx.exec_params(
        "SELECT id::text, token_hash, area_type, center_lat, center_lon, radius_m, neighbourhood, polygon::text, "
        "array_to_json(categories)::text, min_severity, time_zone, quiet_start, quiet_end, max_per_hour, city, paused "
        "FROM subscriptions WHERE id = $1::uuid",
        id);
    if (rows.empty()) return std::nullopt;
    const auto& row = rows[0];
    core::Subscription s;
    s.id = row[0].as<std::string>();
    s.tokenHash = row[1].as<std::string>();
    s.areaType = core::parseAreaType(row[2].as<std::string>()).value_or(core::AreaType::circle);
    if (!row[3].is_null()) s.center = core::GeoPoint{row[3].as<double>(), row[4].as<double>()};
    if (!row[5].is_null()) s.radiusM = row[5].as<double>();
    if (!row[6].is_null()) s.neighbourhood = row[6].as<std::string>();
    if (!row[7].is_null()) {
      auto poly = core::parsePolygonJson(row[7].as<std::string>());
      if (poly) s.polygon = std::move(*poly);
    }
    // array_to_json gives ["a","b"]; category names are plain taxonomy words.
    std::string cats = row[8].as<std::string>();
    std::size_t pos = 0;
    while ((pos = cats.find('"', pos)) != std::string::npos) {
      auto end = cats.find('"', pos + 1);
      if (end == std::string::npos) break;
      s.categories.push_back(cats.substr(pos + 1, end - pos - 1));
      pos = end + 1;
    }
    s.minSeverity = row[9].as<int>();
    s.timeZone = row[10].as<std::string>();
    if (!row[11].is_null() && !row[12].is_null()) s.quietHours = core::QuietHours{row[11].as<int>(), row[12].as<int>()};
    if (!row[13].is_null()) s.maxPerHour = row[13].as<int>();
    if (!row[14].is_null()) s.city = row[14].as<std::string>();
    s.paused = row[15].as<bool>();
    return s;
  });
}

core::Result<bool> PostgresSubscriptionStore::update(const core::Subscription& s) {
  return pool_.impl().run<bool>([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto values = subscriptionValues(tx, s);
    std::string set = "updated_at = now()";
    for (std::size_t i = 1; i < values.size(); ++i) set += ", " + kSubscriptionColumns[i] + " = " + values[i];
    auto r = tx.exec("UPDATE subscriptions SET " + set + " WHERE id = " + tx.quote(s.id) + "::uuid");
    tx.commit();
    return r.affected_rows() > 0;
  });
}

core::Result<bool> PostgresSubscriptionStore::remove(const std::string& id) {
  return pool_.impl().run<bool>([&](pqxx::connection& c) {
    pqxx::work tx(c);
    auto r = tx.exec_params("DELETE FROM subscriptions WHERE id = $1::uuid", id);
    tx.commit();
    return r.affected_rows() > 0;
  });
}

}  // namespace safestream::api

#include "processor/postgres_sink.h"

#include <libpq-fe.h>
#include <poll.h>

#include <charconv>
#include <cstdio>
#include <future>
#include <string_view>
#include <unordered_map>

#include "core/log.h"
#include "core/report_codec.h"

namespace safestream::processor {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kColumns =
    "id, source, source_id, raw_type, raw_code, category, severity, description, occurred_at, reported_at, "
    "ingested_at, processed_at, time_zone, lat, lon, address, url, arrest, cell_l10, cell_l13, cell_l16, "
    "neighbourhood, local_hour, local_weekday, duplicate_of, contact, raw, city";

// Columns a later version overwrites (all but the key).
constexpr const char* kUpdate =
    "source = EXCLUDED.source, source_id = EXCLUDED.source_id, raw_type = EXCLUDED.raw_type, "
    "raw_code = EXCLUDED.raw_code, category = EXCLUDED.category, severity = EXCLUDED.severity, "
    "description = EXCLUDED.description, reported_at = EXCLUDED.reported_at, ingested_at = EXCLUDED.ingested_at, "
    "processed_at = EXCLUDED.processed_at, time_zone = EXCLUDED.time_zone, lat = EXCLUDED.lat, lon = EXCLUDED.lon, "
    "address = EXCLUDED.address, url = EXCLUDED.url, arrest = EXCLUDED.arrest, cell_l10 = EXCLUDED.cell_l10, "
    "cell_l13 = EXCLUDED.cell_l13, cell_l16 = EXCLUDED.cell_l16, neighbourhood = EXCLUDED.neighbourhood, "
    "local_hour = EXCLUDED.local_hour, local_weekday = EXCLUDED.local_weekday, duplicate_of = EXCLUDED.duplicate_of, "
    "contact = EXCLUDED.contact, raw = EXCLUDED.raw, city = EXCLUDED.city";

// COPY text format: backslash escapes; NUL cannot be stored in text, so it
// is dropped rather than failing the whole batch.
void appendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\0': break;
      default: out += c;
    }
  }
}

void nullField(std::string& out) { out += "\\N\t"; }
void field(std::string& out, std::string_view v) {
  appendEscaped(out, v);
  out += '\t';
}
void optField(std::string& out, const std::optional<std::string>& v) {
  if (v) field(out, *v);
  else nullField(out);
}
void number(std::string& out, long long v) {
  char buf[24];
  out.append(buf, static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, v).ptr - buf));
  out += '\t';
}
void cell(std::string& out, std::uint64_t id) {
  // S2 ids use all 64 bits; bigint keeps them as two's complement.
  if (id == 0) nullField(out);
  else number(out, static_cast<long long>(id));
}
// Ten significant digits, as printf's %.10g.
void coordinate(std::string& out, double d) {
  char buf[32];
  out.append(buf, static_cast<std::size_t>(
                      std::to_chars(buf, buf + sizeof buf, d, std::chars_format::general, 10).ptr - buf));
  out += '\t';
}
void timestamp(std::string& out, core::Timestamp t) { field(out, core::formatTimestamp(t)); }

// jsonb rejects \u0000 escapes; the raw record is informational, so they are
// replaced rather than losing the report.
std::string jsonbSafe(std::string s) {
  for (std::size_t p = s.find("\\u0000"); p != std::string::npos; p = s.find("\\u0000", p)) {
    // Only a real escape, not an escaped backslash followed by "u0000".
    std::size_t slashes = 0;
    for (std::size_t k = p; k > 0 && s[k - 1] == '\\'; --k) ++slashes;
    if (slashes % 2 == 0) s.replace(p, 6, "\\ufffd");
    p += 6;
  }
  return s;
}

}  // namespace

std::string copyLine(const core::Report& r) {
  static const core::Enrichment kNone{};
  const core::Enrichment& e = r.enrichment ? *r.enrichment : kNone;
  std::string out;
  out.reserve(512);
  field(out, r.id.value);
  field(out, r.source);
  field(out, r.sourceId);
  field(out, r.rawType);
  optField(out, r.rawCode);
  field(out, e.category.empty() ? std::string_view("other") : std::string_view(e.category));
  number(out, e.severity < 1 ? 1 : e.severity);
  field(out, r.description);
  timestamp(out, r.occurredAt);
  timestamp(out, r.reportedAt);
  if (r.ingestedAt) timestamp(out, *r.ingestedAt);
  else nullField(out);
  timestamp(out, e.processedAt.value_or(core::nowUtc()));
  optField(out, r.timeZone);
  if (r.location) {
    coordinate(out, r.location->lat);
    coordinate(out, r.location->lon);
  } else {
    nullField(out);
    nullField(out);
  }
  optField(out, r.address);
  optField(out, r.url);
  if (r.arrest) field(out, *r.arrest ? "t" : "f");
  else nullField(out);
  cell(out, e.cellL10);
  cell(out, e.cellL13);
  cell(out, e.cellL16);
  optField(out, e.neighbourhood);
  if (e.localHour >= 0) number(out, e.localHour);
  else nullField(out);
  if (e.localWeekday > 0) number(out, e.localWeekday);
  else nullField(out);
  if (e.duplicateOf) field(out, e.duplicateOf->value);
  else nullField(out);
  optField(out, r.contact);
  if (r.rawJson) field(out, jsonbSafe(*r.rawJson));
  else nullField(out);
  optField(out, e.city);
  out.back() = '\n';
  return out;
}

// A libpq connection driven with deadlines.
struct PostgresSink::Session {
  std::string url;
  PGconn* conn = nullptr;
  bool stageReady = false;

  ~Session() { reset(); }
  void reset() {
    if (conn) PQfinish(conn);
    conn = nullptr;
    stageReady = false;
  }

  core::Error fail(const std::string& what, bool retriable = true) {
    std::string msg = conn ? PQerrorMessage(conn) : "";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    reset();
    return core::makeError("postgres", "postgres: " + what + (msg.empty() ? "" : ": " + msg), "", retriable);
  }

  core::Status connect() {
    if (conn && PQstatus(conn) == CONNECTION_OK) return core::okStatus();
    reset();
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {url.c_str(), "5", "safestream-processor", nullptr};
    conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) return fail("connect");
    if (PQsetnonblocking(conn, 1) != 0) return fail("set non-blocking");
    return core::okStatus();
  }

  // Waits until the socket is readable/writable or the deadline passes.
  bool waitSocket(bool forWrite, Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{PQsocket(conn), static_cast<short>(forWrite ? POLLOUT | POLLIN : POLLIN), 0};
    return ::poll(&p, 1, static_cast<int>(left)) > 0;
  }

  bool flushOut(Clock::time_point deadline) {
    while (true) {
      const int r = PQflush(conn);
      if (r == 0) return true;
      if (r < 0) return false;
      if (!waitSocket(true, deadline)) return false;
      if (!PQconsumeInput(conn)) return false;
    }
  }

  // Next result or nullptr when the command is complete; `timedOut` set on deadline.
  PGresult* nextResult(Clock::time_point deadline, bool& timedOut) {
    while (PQisBusy(conn)) {
      if (!waitSocket(false, deadline)) {
        timedOut = true;
        return nullptr;
      }
      if (!PQconsumeInput(conn)) return nullptr;
    }
    return PQgetResult(conn);
  }

  // Runs `sql` (may hold several statements); ok only if every result is.
  // `sqlState` receives the SQLSTATE of the first failing statement.
  core::Status exec(const std::string& sql, Clock::time_point deadline, std::string* firstValue = nullptr,
                    std::string* sqlState = nullptr) {
    if (!PQsendQuery(conn, sql.c_str())) return fail("send");
    if (!flushOut(deadline)) return fail("send timed out");
    std::string error;
    bool timedOut = false;
    while (PGresult* res = nextResult(deadline, timedOut)) {
      const auto st = PQresultStatus(res);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && error.empty()) {
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        error = std::string(state ? state : "?????") + " " + PQresultErrorMessage(res);
        if (sqlState) *sqlState = state ? state : "";
      } else if (st == PGRES_TUPLES_OK && firstValue && PQntuples(res) > 0) {
        *firstValue = PQgetvalue(res, 0, 0);
      }
      PQclear(res);
    }
    if (timedOut) return fail("no answer within the deadline");
    if (!error.empty()) {
      while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
      // Roll back whatever the transaction did; keep the connection.
      (void)exec("ROLLBACK", deadline);
      return core::makeError("postgres", "postgres: " + error, "", true);
    }
    if (PQstatus(conn) != CONNECTION_OK) return fail("connection lost");
    return core::okStatus();
  }

  core::Status copyIn(const std::string& sql, const std::string& data, Clock::time_point deadline) {
    if (!PQsendQuery(conn, sql.c_str())) return fail("send COPY");
    if (!flushOut(deadline)) return fail("send timed out");
    bool timedOut = false;
    PGresult* res = nextResult(deadline, timedOut);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
      std::string err = res ? PQresultErrorMessage(res) : "";
      if (res) PQclear(res);
      return fail(timedOut ? "COPY start timed out" : "COPY refused " + err);
    }
    PQclear(res);
    constexpr std::size_t kChunk = 256 * 1024;
    for (std::size_t off = 0; off < data.size();) {
      const int n = static_cast<int>(std::min(kChunk, data.size() - off));
      const int r = PQputCopyData(conn, data.data() + off, n);
      if (r < 0) return fail("COPY data");
      if (r == 0) {  // would block
        if (!waitSocket(true, deadline)) return fail("COPY timed out");
        continue;
      }
      off += static_cast<std::size_t>(n);
    }
    while (true) {
      const int r = PQputCopyEnd(conn, nullptr);
      if (r < 0) return fail("COPY end");
      if (r == 1) break;
      if (!waitSocket(true, deadline)) return fail("COPY timed out");
    }
    if (!flushOut(deadline)) return fail("COPY timed out");
    std::string error;
    while (PGresult* r = nextResult(deadline, timedOut)) {
      if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) error = PQresultErrorMessage(r);
      PQclear(r);
    }
    if (timedOut) return fail("COPY timed out");
    if (!error.empty()) {
      (void)exec("ROLLBACK", deadline);
      return core::makeError("postgres", "postgres: COPY failed: " + error, "", true);
    }
    return core::okStatus();
  }
};

PostgresSink::PostgresSink(PostgresSinkSettings settings) : settings_(std::move(settings)) {
  const int n = std::max(1, settings_.connections);
  for (int i = 0; i < n; ++i) {
    sessions_.push_back(std::make_unique<Session>());
    sessions_.back()->url = settings_.url;
  }
}

PostgresSink::~PostgresSink() = default;

core::Status PostgresSink::ensurePartitions(const std::set<std::string>& months,
                                            std::chrono::steady_clock::time_point deadline) {
  auto& db = *sessions_.front();
  for (const auto& m : months) {
    if (knownMonths_.count(m)) continue;
    if (auto s = db.connect(); !s.ok()) return s;
    std::string hasFunction;
    if (auto s = db.exec("SELECT to_regproc('reports_ensure_month_partitions') IS NOT NULL", deadline, &hasFunction);
        !s.ok()) {
      return s;
    }
    if (hasFunction == "t") {
      const std::string day = m + "-01";
      if (auto s = db.exec("BEGIN; SELECT pg_advisory_xact_lock(7263541); SELECT reports_ensure_month_partitions('" +
                               day + "'::date, '" + day + "'::date); COMMIT",
                           deadline);
          !s.ok()) {
        return s;
      }
    }
    knownMonths_.insert(m);
  }
  return core::okStatus();
}

core::Status PostgresSink::writeShard(Session& db, const std::string& data,
                                      std::chrono::steady_clock::time_point deadline) {
  std::string sqlState;
  core::Status s = writeShardOnce(db, data, deadline, /*plainInsertIfAllNew=*/true, &sqlState);
  if (!s.ok() && sqlState == "23505") {
    // A row the check in writeShardOnce did not see: written meanwhile by another
    // session, or into `reports` without report_ids. The upsert handles it.
    core::log::info("postgres_plain_insert_conflict", {{"error", s.error().message}});
    s = writeShardOnce(db, data, deadline, /*plainInsertIfAllNew=*/false, nullptr);
  }
  return s;
}

core::Status PostgresSink::writeShardOnce(Session& db, const std::string& data,
                                          std::chrono::steady_clock::time_point deadline, bool plainInsertIfAllNew,
                                          std::string* sqlState) {
  if (auto s = db.connect(); !s.ok()) return s;
  if (!db.stageReady) {
    if (auto s = db.exec("CREATE TEMP TABLE IF NOT EXISTS reports_stage (LIKE reports INCLUDING DEFAULTS) "
                         "ON COMMIT DELETE ROWS",
                         deadline);
        !s.ok()) {
      return s;
    }
    db.stageReady = true;
  }
  if (auto s = db.exec("BEGIN", deadline); !s.ok()) return s;
  if (auto s = db.copyIn(std::string("COPY reports_stage (") + kColumns + ") FROM STDIN", data, deadline); !s.ok()) {
    return s;
  }
  if (plainInsertIfAllNew) {
    // The common case: every id is new. Then report_ids and reports take
    // plain INSERTs, about a sixth cheaper than INSERT ... ON CONFLICT
    // (speculative insertion). The check probes report_ids' primary key once
    // per staged row (a nested loop: the stage has no statistics, and a hash
    // join would read all of report_ids) and stops at the first id found.
    std::string anyKnown;
    if (auto s = db.exec("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off; "
                         "SELECT EXISTS (SELECT 1 FROM reports_stage s JOIN report_ids i ON i.id = s.id)",
                         deadline, &anyKnown);
        !s.ok()) {
      return s;
    }
    if (anyKnown == "f") {
      return db.exec("INSERT INTO report_ids (id, occurred_at) SELECT id, occurred_at FROM reports_stage;"
                     "INSERT INTO reports (" + std::string(kColumns) + ") SELECT " + kColumns + " FROM reports_stage;"
                     "COMMIT",
                     deadline, nullptr, sqlState);
    }
  }
  // Some ids are known: upsert. report_ids first. A report whose occurred_at
  // changed lives under its old key in another partition: the ON CONFLICT
  // update copies the old occurred_at into moved_from (0600), which
  // RETURNING hands back (a fresh id returns NULL; an unchanged one is not
  // updated, so not returned). Moves are rare and come back as a short list
  // of exact keys, deleted below (a join with `reports` would probe every
  // partition). No join with the stage, so no statistics are needed for it.
  std::string moved;
  if (auto s = db.exec("WITH up AS (INSERT INTO report_ids AS i (id, occurred_at) "
                       "SELECT id, occurred_at FROM reports_stage "
                       "ON CONFLICT (id) DO UPDATE SET occurred_at = EXCLUDED.occurred_at, moved_from = i.occurred_at "
                       "WHERE i.occurred_at <> EXCLUDED.occurred_at "
                       "RETURNING i.id, i.moved_from) "
                       "SELECT string_agg(format('(%L::uuid,%L::timestamptz)', id, moved_from), ',') "
                       "FROM up WHERE moved_from IS NOT NULL",
                       deadline, &moved);
      !s.ok()) {
    return s;
  }
  std::string sql;
  if (!moved.empty()) sql += "DELETE FROM reports WHERE (id, occurred_at) IN (VALUES " + moved + ");";
  sql += "INSERT INTO reports (" + std::string(kColumns) + ") SELECT " + kColumns + " FROM reports_stage "
         "ON CONFLICT (id, occurred_at) DO UPDATE SET " + kUpdate + ";"
         "COMMIT";
  return db.exec(sql, deadline);
}

core::Status PostgresSink::write(const SinkBatch& batch) {
  BatchPtr one(std::shared_ptr<const SinkBatch>(), &batch);  // non-owning: lives for this call
  return writeAll(std::span<const BatchPtr>(&one, 1));
}

core::Status PostgresSink::writeAll(std::span<const BatchPtr> batches) {
  const auto deadline = Clock::now() + settings_.timeout;
  // The lane's batches in one go. A later version of the same id wins
  // (same key, same partition, so offset order is version order).
  std::size_t total = 0;
  for (const auto& b : batches) total += b->reports.size();
  std::unordered_map<std::string_view, const core::Report*> latest;
  latest.reserve(total);
  for (const auto& b : batches) {
    for (const auto& p : b->reports) latest[p.report.id.value] = &p.report;
  }
  if (latest.empty()) return core::okStatus();
  std::set<std::string> months;
  for (const auto& [id, r] : latest) {
    const auto day = std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(r->occurredAt)};
    char m[16];
    std::snprintf(m, sizeof m, "%04d-%02u", static_cast<int>(day.year()), static_cast<unsigned>(day.month()));
    months.insert(m);
  }
  if (auto s = ensurePartitions(months, deadline); !s.ok()) return s;

  // Shards by id over the connections, each its own transaction, written in
  // parallel. All versions of an id go to one shard. A failed shard fails
  // the batch; its retry rewrites every shard, which the upsert makes
  // harmless.
  const std::size_t n = sessions_.size();
  std::vector<std::vector<const core::Report*>> shards(n);
  for (const auto& [id, r] : latest) shards[n == 1 ? 0 : std::hash<std::string_view>{}(id) % n].push_back(r);
  // Each shard formats its own COPY text on its own thread.
  auto writeOne = [this, &shards, deadline](std::size_t i) {
    std::string data;
    data.reserve(shards[i].size() * 600);
    for (const auto* r : shards[i]) data += copyLine(*r);
    return writeShard(*sessions_[i], data, deadline);
  };
  std::vector<std::future<core::Status>> others;
  for (std::size_t i = 1; i < n; ++i) {
    if (shards[i].empty()) continue;
    others.push_back(std::async(std::launch::async, writeOne, i));
  }
  core::Status result = shards[0].empty() ? core::okStatus() : writeOne(0);
  for (auto& f : others) {
    core::Status s = f.get();
    if (!s.ok() && result.ok()) result = s;
  }
  return result;
}

core::Status PostgresSink::flush(std::chrono::milliseconds) {
  // Every write is its own committed transaction: nothing is buffered.
  for (auto& s : sessions_) s->reset();
  return core::okStatus();
}

}  // namespace safestream::processor

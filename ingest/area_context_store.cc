#include "ingest/area_context_store.h"

#include <mutex>
#include <pqxx/pqxx>

#include "core/log.h"

namespace safestream::ingest {

struct PostgresAreaContextStore::Impl {
  std::string url;
  std::mutex mu;
  std::unique_ptr<pqxx::connection> conn;
};

PostgresAreaContextStore::PostgresAreaContextStore(std::string pgUrl) : impl_(std::make_unique<Impl>()) {
  impl_->url = std::move(pgUrl);
}

PostgresAreaContextStore::~PostgresAreaContextStore() = default;

core::Status PostgresAreaContextStore::upsertGrades(const std::string& source, const ZipGrades& g) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  try {
    if (!impl_->conn || !impl_->conn->is_open()) {
      impl_->conn = std::make_unique<pqxx::connection>(impl_->url);
    }
    auto get = [&](const char* k) -> std::optional<std::string> {
      auto it = g.overall.find(k);
      if (it == g.overall.end() || it->second.empty()) return std::nullopt;
      return it->second;
    };
    pqxx::work tx(*impl_->conn);
    tx.exec("SET LOCAL statement_timeout = '10s'");
    tx.exec_params(
        "INSERT INTO area_crime_grades (source, zip, overall_grade, violent_grade, property_grade, other_grade,"
        " overall, breakdown, raw, fetched_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9::jsonb, now())"
        " ON CONFLICT (source, zip) DO UPDATE SET overall_grade = EXCLUDED.overall_grade,"
        " violent_grade = EXCLUDED.violent_grade, property_grade = EXCLUDED.property_grade,"
        " other_grade = EXCLUDED.other_grade, overall = EXCLUDED.overall, breakdown = EXCLUDED.breakdown,"
        " raw = EXCLUDED.raw, fetched_at = EXCLUDED.fetched_at",
        source, g.zip, get("Overall Crime Grade"), get("Violent Crime Grade"), get("Property Crime Grade"),
        get("Other Crime Grade"), [&] {
          std::string o = "{";
          for (const auto& [k, v] : g.overall) {
            if (o.size() > 1) o += ",";
            // Keys and values are plain strings from the parsed JSON: re-encode safely.
            auto esc = [](const std::string& s) {
              std::string e = "\"";
              for (char c : s) {
                if (c == '"' || c == '\\') e += '\\';
                if (static_cast<unsigned char>(c) < 0x20) {
                  char buf[8];
                  std::snprintf(buf, sizeof buf, "\\u%04x", c);
                  e += buf;
                  continue;
                }
                e += c;
              }
              return e + "\"";
            };
            o += esc(k) + ":" + esc(v);
          }
          return o + "}";
        }(),
        g.breakdownJson, g.rawJson);
    tx.commit();
    return core::okStatus();
  } catch (const std::exception& e) {
    impl_->conn.reset();
    return core::makeError("postgres", std::string("area_crime_grades upsert: ") + e.what(), "", true);
  }
}

}  // namespace safestream::ingest

#include "core/migrations.h"

#include <openssl/sha.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "core/log.h"
#include "core/result.h"

namespace safestream::core {
namespace {

constexpr long long kMigrationLockKey = 0x5afe57;  // arbitrary, fixed

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ConfigError("cannot read migration " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string sha256Hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  std::ostringstream out;
  for (unsigned char c : d) out << std::hex << (c >> 4) << (c & 0xF);
  return out.str();
}

std::string withConnectTimeout(const std::string& url) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
}

}  // namespace

Status pingPostgres(const std::string& pgUrl) {
  try {
    // A new session each time: connect_timeout bounds the whole start-up
    // exchange, so a stopped (SIGSTOP) server fails within it too.
    pqxx::connection c(withConnectTimeout(pgUrl));
    pqxx::nontransaction tx(c);
    tx.exec("SELECT 1");
    return okStatus();
  } catch (const std::exception& e) {
    return makeError("postgres_unreachable", "PostgreSQL at " + log::redactUrl(pgUrl) + " is unreachable: " + e.what(),
                     "", true);
  }
}

void checkPostgres(const std::string& pgUrl) {
  if (auto s = pingPostgres(pgUrl); !s) throw ConfigError(s.error().message);
}

MigrationReport applyMigrations(const std::string& pgUrl, const std::string& directory) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(directory)) throw ConfigError("migration directory " + directory + " does not exist");
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(directory)) {
    if (e.is_regular_file() && e.path().extension() == ".sql") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());

  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(withConnectTimeout(pgUrl));
  } catch (const std::exception& e) {
    throw ConfigError("PostgreSQL at " + log::redactUrl(pgUrl) + " is unreachable: " + std::string(e.what()));
  }
  MigrationReport report;
  {
    pqxx::nontransaction tx(*conn);
    tx.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
    tx.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  }
  try {
    for (const auto& f : files) {
      const std::string name = f.filename().string();
      const std::string sql = readFile(f);
      const std::string sum = sha256Hex(sql);
      pqxx::work tx(*conn);
      pqxx::result r = tx.exec_params("SELECT checksum FROM schema_migrations WHERE name = $1", name);
      if (!r.empty()) {
        if (r[0][0].as<std::string>() != sum) {
          throw ConfigError("migration " + name + " was changed after it was applied; add a new file instead");
        }
        report.skipped.push_back(name);
        continue;
      }
      try {
        tx.exec(sql);
      } catch (const std::exception& e) {
        throw ConfigError("migration " + f.string() + " failed: " + std::string(e.what()));
      }
      tx.exec_params("INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", name, sum);
      tx.commit();
      report.applied.push_back(name);
      log::info("migration_applied", {{"name", name}});
    }
  } catch (...) {
    pqxx::nontransaction unlock(*conn);
    unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
    throw;
  }
  pqxx::nontransaction unlock(*conn);
  unlock.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
  return report;
}

}  // namespace safestream::core

#pragma once
// SQL migration runner: applies schemas/sql/NNNN_name.sql files in order,
// each in its own transaction, recording them in schema_migrations. A
// PostgreSQL advisory lock keeps concurrent runners (several daemons
// starting at once) from racing. Idempotent: applied files are skipped.
#include <string>
#include <vector>

#include "core/result.h"

namespace safestream::core {

struct MigrationReport {
  std::vector<std::string> applied;  // file names applied by this call
  std::vector<std::string> skipped;  // already present
};

// Throws ConfigError naming the file on any failure (bad SQL, unreachable
// database, a migration whose checksum changed after it was applied).
MigrationReport applyMigrations(const std::string& pgUrl, const std::string& directory);

// Ok when PostgreSQL answers "SELECT 1" on a new session (5 s connect
// timeout); else a retriable error naming the server (readiness probes).
Status pingPostgres(const std::string& pgUrl);
// Throws ConfigError unless pingPostgres succeeds (start-up).
void checkPostgres(const std::string& pgUrl);

}  // namespace safestream::core

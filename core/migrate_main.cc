// safestream-migrate: applies the SQL migrations in schemas/sql/ to PostgreSQL.
#include <iostream>

#include "core/cli.h"
#include "core/log.h"
#include "core/migrations.h"

int main(int argc, char** argv) {
  using namespace safestream::core;
  log::init("migrate");
  return runMain("safestream-migrate", [&] {
    std::string pgUrl;
    std::string dir = SAFESTREAM_DEFAULT_SQL_DIR;
    CLI::App app{"Applies SafeStream's SQL migrations (ordered files, recorded in schema_migrations)",
                 "safestream-migrate"};
    addOption(app, "--pg-url", pgUrl, "SAFESTREAM_PG_URL", "PostgreSQL connection URL")->required();
    addOption(app, "--dir", dir, "SAFESTREAM_SQL_DIR", "Directory of NNNN_name.sql files");
    parseCommandLine(app, argc, argv);
    MigrationReport r = applyMigrations(pgUrl, dir);
    std::cout << "applied " << r.applied.size() << ", already present " << r.skipped.size() << "\n";
    return 0;
  });
}

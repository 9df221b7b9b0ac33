#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>

#include "core/migrations.h"
#include "core/report_id.h"
#include "core/result.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

TEST(Postgres, MigrationsApplyOnceAndAreRecorded) {
  const std::string url = testing::requireStackEnv("SAFESTREAM_PG_URL");
  // The stack applied them already; a second run applies nothing.
  auto again = core::applyMigrations(url, testing::sourcePath("schemas/sql"));
  EXPECT_TRUE(again.applied.empty());
  EXPECT_FALSE(again.skipped.empty());
  pqxx::connection c(url);
  pqxx::work tx(c);
  auto n = tx.exec1("SELECT count(*) FROM schema_migrations")[0].as<int>();
  EXPECT_EQ(static_cast<size_t>(n), again.skipped.size());
}

TEST(Postgres, MigrationRunnerAppliesNewFilesInOrderInAFreshSchema) {
  const std::string url = testing::requireStackEnv("SAFESTREAM_PG_URL");
  const std::string schema = "mig_test_" + core::randomUuid().substr(0, 8);
  {
    pqxx::connection c(url);
    pqxx::work tx(c);
    tx.exec("CREATE SCHEMA " + schema);
    tx.commit();
  }
  auto dir = std::filesystem::temp_directory_path() / schema;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "0002_b.sql") << "INSERT INTO t VALUES (2);";
  std::ofstream(dir / "0001_a.sql") << "CREATE TABLE t (v int);";
  const std::string scoped = url + (url.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
  auto first = core::applyMigrations(scoped, dir.string());
  EXPECT_EQ(first.applied, (std::vector<std::string>{"0001_a.sql", "0002_b.sql"}));
  auto second = core::applyMigrations(scoped, dir.string());
  EXPECT_TRUE(second.applied.empty());
  // A changed, already-applied file is refused with its name.
  std::ofstream(dir / "0002_b.sql") << "INSERT INTO t VALUES (3);";
  try {
    core::applyMigrations(scoped, dir.string());
    ADD_FAILURE() << "a changed migration was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("0002_b.sql"), std::string::npos) << e.what();
  }
  // Bad SQL names the file.
  std::ofstream(dir / "0003_bad.sql") << "CREATE TABLE oops (;";
  std::filesystem::remove(dir / "0002_b.sql");
  try {
    core::applyMigrations(scoped, dir.string());
    ADD_FAILURE() << "bad SQL was accepted";
  } catch (const core::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("0003_bad.sql"), std::string::npos) << e.what();
  }
  pqxx::connection c(url);
  pqxx::work tx(c);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM " + schema + ".t")[0].as<int>(), 1);
  tx.exec("DROP SCHEMA " + schema + " CASCADE");
  tx.commit();
  std::filesystem::remove_all(dir);
}

TEST(Postgres, UnreachableServerIsAClearConfigError) {
  try {
    core::checkPostgres("postgresql://nobody:secretpw@127.0.0.1:1/none");
    ADD_FAILURE() << "no error for an unreachable server";
  } catch (const core::ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("unreachable"), std::string::npos) << m;
    EXPECT_EQ(m.find("secretpw"), std::string::npos) << "password leaked: " << m;
  }
}

}  // namespace
}  // namespace safestream

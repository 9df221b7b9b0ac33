#include "core/report_id.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <thread>
#include <vector>

namespace safestream::core {
namespace {

TEST(ReportId, DeterministicPerSourceAndId) {
  EXPECT_EQ(reportIdFor("chicago", "9512345"), reportIdFor("chicago", "9512345"));
  EXPECT_NE(reportIdFor("chicago", "9512345"), reportIdFor("spotcrime", "9512345"));
  // The separator keeps ("ab","c") and ("a","bc") apart.
  EXPECT_NE(reportIdFor("ab", "c"), reportIdFor("a", "bc"));
}

TEST(ReportId, KeepsItsPinnedValue) {
  // Ids in PostgreSQL and S3 depend on it; the value is Python's
  // uuid.uuid5(namespace, "chicago\x1f9512345") with SafeStream's namespace.
  EXPECT_EQ(reportIdFor("chicago", "9512345").value, "07853618-73e3-5260-9605-7007469aff40");
  EXPECT_EQ(reportIdFor("chicago", "9512345").value, "07853618-73e3-5260-9605-7007469aff40");  // context reused
}

TEST(ReportId, IsAVersion5Uuid) {
  const std::string id = reportIdFor("spotcrime", "87654321").value;
  EXPECT_TRUE(isUuid(id)) << id;
  EXPECT_EQ(id[14], '5');
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b');
}

TEST(ReportId, RandomUuidsAreVersion4AndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = randomUuid();
    ASSERT_TRUE(isUuid(u));
    ASSERT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(ReportId, RandomUuidsDifferAcrossThreadsAndForks) {
  std::vector<std::string> a(300), b(300);  // more than one 4 KiB draw each
  std::thread t1([&] { for (auto& u : a) u = randomUuid(); });
  std::thread t2([&] { for (auto& u : b) u = randomUuid(); });
  t1.join();
  t2.join();
  std::set<std::string> seen(a.begin(), a.end());
  seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 600u);

  (void)randomUuid();  // this thread's pool is filled before the fork
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    const std::string u = randomUuid();
    ssize_t w = ::write(fds[1], u.data(), u.size());
    ::_exit(w == static_cast<ssize_t>(u.size()) ? 0 : 1);
  }
  const std::string mine = randomUuid();
  char buf[36];
  ASSERT_EQ(::read(fds[0], buf, sizeof buf), 36);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(fds[0]);
  ::close(fds[1]);
  EXPECT_NE(std::string(buf, 36), mine) << "the child repeated the parent's random bytes";
}

TEST(ReportId, IsUuidRejectsOtherText) {
  EXPECT_FALSE(isUuid("6F1C2A8E-5B7D-5C1E-9A3F-0D2B4C6E8F10"));  // upper case
  EXPECT_FALSE(isUuid("6f1c2a8e5b7d5c1e9a3f0d2b4c6e8f10"));
  EXPECT_FALSE(isUuid(""));
}

}  // namespace
}  // namespace safestream::core

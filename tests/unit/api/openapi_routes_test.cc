// schemas/openapi.yaml and the router must agree: every route the service
// serves is documented with its method. (The other direction, every
// documented operation is served, is checked against the running daemon in
// tests/integration/api.)
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "api/api_service.h"
#include "tests/support/stack_env.h"
#include "tests/unit/api/fakes.h"

namespace safestream::api {
namespace {

std::set<std::pair<std::string, std::string>> specOperations() {
  std::ifstream in(safestream::testing::sourcePath("schemas/openapi.yaml"));
  EXPECT_TRUE(in.good());
  std::set<std::pair<std::string, std::string>> ops;
  std::string line, path;
  bool inPaths = false;
  while (std::getline(in, line)) {
    if (line == "paths:") {
      inPaths = true;
      continue;
    }
    if (!inPaths) continue;
    if (!line.empty() && line[0] != ' ') break;  // next top-level key
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
    } else if (line.size() > 4 && line.rfind("    ", 0) == 0 && line[4] != ' ') {
      auto method = line.substr(4, line.find(':') - 4);
      if (method == "get" || method == "post" || method == "patch" || method == "delete" || method == "put") {
        for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        ops.emplace(method, path);
      }
    }
  }
  return ops;
}

TEST(OpenApi, EveryRouteIsDocumented) {
  auto ops = specOperations();
  ASSERT_GT(ops.size(), 10u);
  testing::FakePublisher publisher;
  testing::FakeReportStore reports;
  testing::FakeSubscriptionStore subscriptions;
  testing::FakeAlertHistory alerts;
  ServiceDeps d;
  d.publisher = &publisher;
  d.reports = &reports;
  d.subscriptions = &subscriptions;
  d.alerts = &alerts;
  ApiService service(d);
  for (const auto& r : service.router().routes()) {
    EXPECT_TRUE(ops.count({r.method, r.pattern})) << r.method << " " << r.pattern << " is served but not in openapi.yaml";
  }
  for (const auto& op : {std::pair<std::string, std::string>{"GET", "/healthz"}, {"GET", "/readyz"}, {"GET", "/metrics"},
                         {"GET", "/openapi.yaml"}}) {
    EXPECT_TRUE(ops.count(op)) << op.second;
  }
}

}  // namespace
}  // namespace safestream::api

// The web app's static files through the real server: headers, gzip, 304,
// HEAD, and path traversal sent as raw bytes (so no client normalises the
// path first). safestream-api runs against the local stack with a
// --web-root of the test's own.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/api/api_client.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::httpRequest;
using namespace std::chrono_literals;

class WebTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::requireStackEnv("SAFESTREAM_PG_URL");
    base_ = new fs::path(fs::temp_directory_path() / ("safestream-web-it-" + std::to_string(::getpid())));
    fs::remove_all(*base_);
    fs::create_directories(*base_ / "web" / "assets");
    write(*base_ / "secret.txt", "TOP-SECRET");
    write(*base_ / "web" / "index.html", index());
    write(*base_ / "web" / "assets" / "app-3f9a1c2e.js", script());
    api_ = new testing::ApiDaemon({"--web-root", (*base_ / "web").string(), "--web-tile-url",
                                   "https://{s}.tile.example.org/{z}/{x}/{y}.png", "--web-tile-attribution", "© Example"});
  }
  static void TearDownTestSuite() {
    delete api_;
    api_ = nullptr;
    fs::remove_all(*base_);
    delete base_;
  }
  static void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }
  static std::string index() {
    return "<!doctype html><title>SafeStream</title><script type=module src=/assets/app-3f9a1c2e.js></script>" +
           std::string(600, '\n');
  }
  static std::string script() { return "export const app = 'safestream';\n" + std::string(4000, ';'); }

  static std::string raw(const std::string& target) {
    return testing::rawExchange(api_->port(), {"GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"}, 0ms,
                                5s);
  }

  static fs::path* base_;
  static testing::ApiDaemon* api_;
};
fs::path* WebTest::base_ = nullptr;
testing::ApiDaemon* WebTest::api_ = nullptr;

TEST_F(WebTest, IndexAtRootWithSecurityHeaders) {
  auto r = httpRequest(api_->port(), "GET", "/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, index());
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  const auto csp = r.header("content-security-policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
  EXPECT_NE(csp.find("img-src 'self' data: https://*.tile.example.org"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_FALSE(r.header("etag").empty());
}

TEST_F(WebTest, GzipEtagAnd304) {
  auto gz = httpRequest(api_->port(), "GET", "/assets/app-3f9a1c2e.js", "", {{"accept-encoding", "gzip"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(gz.header("cache-control"), "public, max-age=31536000, immutable");
  EXPECT_LT(gz.body.size(), script().size() / 4);
  EXPECT_EQ(static_cast<unsigned char>(gz.body[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz.body[1]), 0x8b);
  auto plain = httpRequest(api_->port(), "GET", "/assets/app-3f9a1c2e.js");
  EXPECT_EQ(plain.body, script());
  EXPECT_NE(plain.header("etag"), gz.header("etag"));
  auto again = httpRequest(api_->port(), "GET", "/assets/app-3f9a1c2e.js", "",
                           {{"accept-encoding", "gzip"}, {"if-none-match", gz.header("etag")}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), gz.header("etag"));
  // HEAD over a raw socket (the test's HTTP client would wait for the body Content-Length announces).
  auto head = testing::rawExchange(api_->port(), {"HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"}, 0ms, 5s);
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(index().size())), std::string::npos) << head;
  EXPECT_EQ(head.find("SafeStream"), std::string::npos) << "HEAD carried a body: " << head;
}

TEST_F(WebTest, TraversalNeverLeavesTheRoot) {
  for (const char* target : {"/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e/%2e%2e/secret.txt",
                             "/assets/..%5c..%5csecret.txt", "/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "//secret.txt",
                             "/index.html%00.js", "/.%2e/secret.txt"}) {
    auto out = raw(target);
    EXPECT_NE(out.find("HTTP/1.1 4"), std::string::npos) << target << ": " << out.substr(0, 200);
    EXPECT_EQ(out.find("TOP-SECRET"), std::string::npos) << target;
    EXPECT_EQ(out.find("root:"), std::string::npos) << target;
  }
}

TEST_F(WebTest, ApiPathsStayTheApisAndWebConfigAnswers) {
  auto miss = httpRequest(api_->port(), "GET", "/v1/nothing-here", "", {{"accept", "text/html"}});
  EXPECT_EQ(miss.status, 404);
  EXPECT_NE(miss.body.find("no route for"), std::string::npos) << miss.body;
  auto spa = httpRequest(api_->port(), "GET", "/dashboard", "", {{"accept", "text/html"}});
  EXPECT_EQ(spa.status, 200);
  EXPECT_EQ(spa.body, index());
  auto file = httpRequest(api_->port(), "GET", "/missing-file.js");
  EXPECT_EQ(file.status, 404);
  EXPECT_EQ(json::parse(file.body)["error"]["code"], "not_found");
  auto cfg = httpRequest(api_->port(), "GET", "/v1/web-config");
  ASSERT_EQ(cfg.status, 200);
  auto doc = json::parse(cfg.body);
  EXPECT_EQ(doc["tile_url"], "https://{s}.tile.example.org/{z}/{x}/{y}.png");
  EXPECT_EQ(doc["tile_attribution"], "© Example");
}

// Started without a built app: the API works and / says what is missing.
TEST(WebNotBuilt, ApiStartsAndRootSaysTheAppIsNotBuilt) {
  testing::requireStackEnv("SAFESTREAM_PG_URL");
  const auto empty = fs::temp_directory_path() / ("safestream-web-none-" + std::to_string(::getpid()));
  fs::remove_all(empty);
  testing::ApiDaemon api({"--web-root", empty.string()});
  auto r = httpRequest(api.port(), "GET", "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "web_app_not_built");
  auto cfg = httpRequest(api.port(), "GET", "/v1/web-config");
  EXPECT_EQ(cfg.status, 200);
  EXPECT_TRUE(json::parse(cfg.body)["tile_url"].is_null());
  EXPECT_EQ(httpRequest(api.port(), "GET", "/v1/reports?limit=1").status, 200);
}

}  // namespace
}  // namespace safestream

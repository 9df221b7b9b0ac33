// WebApp on a real temporary folder, and its place in ApiService: which
// paths reach it, what it answers, and that nothing outside the root is read.
#include "api/web_app.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "api/api_service.h"
#include "api/compression.h"
#include "api/static_files.h"
#include "core/result.h"
#include "tests/unit/api/fakes.h"
#include "tests/support/gunzip.h"

namespace safestream::api {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using safestream::testing::gunzip;

std::string header(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

class WebAppTest : public ::testing::Test {
 protected:
  WebAppTest() {
    base_ = fs::temp_directory_path() / ("safestream-webapp-test-" + std::to_string(::getpid()) + "-" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(base_);
    root_ = base_ / "web";
    fs::create_directories(root_ / "assets");
    write(base_ / "secret.txt", "outside the root");
  }
  ~WebAppTest() override { fs::remove_all(base_); }

  static void write(const fs::path& p, const std::string& s) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << s;
  }

  HttpResponse get(WebApp& app, std::string path, std::map<std::string, std::string> headers = {}) {
    HttpRequest req;
    req.method = "GET";
    req.path = std::move(path);
    req.headers = std::move(headers);
    return app.serve(req);
  }

  fs::path base_, root_;
  const std::string index_ = "<!doctype html><html><head><script src=\"/assets/app-3f9a1c2e.js\"></script></head>" +
                             std::string(400, ' ') + "<body>SafeStream</body></html>";
};

TEST_F(WebAppTest, NotBuiltIsA404NamingIt) {
  fs::remove_all(root_);
  WebApp app({root_.string(), "", ""});
  EXPECT_FALSE(app.built());
  auto r = get(app, "/");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_EQ(json::parse(r.body)["error"]["code"], "web_app_not_built");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  // Built later: picked up without a restart.
  fs::create_directories(root_);
  write(root_ / "index.html", index_);
  EXPECT_TRUE(app.built());
  EXPECT_EQ(get(app, "/").status, 200);
}

TEST_F(WebAppTest, ServesIndexWithHeaders) {
  write(root_ / "index.html", index_);
  WebApp app({root_.string(), "", ""});
  auto r = get(app, "/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, index_);
  EXPECT_EQ(r.contentType, "text/html; charset=utf-8");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_EQ(header(r, "ETag"), entityTag(index_, false));
  EXPECT_EQ(header(r, "Vary"), "Accept-Encoding");
  EXPECT_EQ(header(r, "Content-Encoding"), "");
  EXPECT_EQ(header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(header(r, "Referrer-Policy"), "no-referrer");
  const auto csp = header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(get(app, "/index.html").body, index_);
}

TEST_F(WebAppTest, HashedAssetsAreImmutableAndGzipped) {
  const std::string js = "console.log('safestream');\n" + std::string(2000, '/');
  write(root_ / "assets" / "app-3f9a1c2e.js", js);
  WebApp app({root_.string(), "", ""});
  auto plain = get(app, "/assets/app-3f9a1c2e.js");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.contentType, "text/javascript; charset=utf-8");
  EXPECT_EQ(header(plain, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(plain.body, js);
  auto gz = get(app, "/assets/app-3f9a1c2e.js", {{"accept-encoding", "gzip, deflate, br"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
  EXPECT_LT(gz.body.size(), js.size() / 4);
  EXPECT_EQ(gunzip(gz.body), js);
  EXPECT_NE(header(gz, "ETag"), header(plain, "ETag"));
}

TEST_F(WebAppTest, PrecompressedSiblingIsPreferredWhenFresh) {
  const std::string css = "body{color:#123}" + std::string(1000, ' ');
  write(root_ / "app.css", css);
  const std::string marker = gzipCompress(css + "/*precompressed*/");
  write(root_ / "app.css.gz", marker);
  WebApp app({root_.string(), "", ""});
  auto r = get(app, "/app.css", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(header(r, "Content-Encoding"), "gzip");
  EXPECT_EQ(r.body, marker);
  // A sibling older than the file is stale: compress the file itself.
  fs::last_write_time(root_ / "app.css.gz", fs::last_write_time(root_ / "app.css") - std::chrono::hours(1));
  auto fresh = get(app, "/app.css", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(gunzip(fresh.body), css);
}

TEST_F(WebAppTest, SmallAndBinaryFilesAreNotCompressed) {
  write(root_ / "tiny.js", "x=1");
  write(root_ / "logo.png", std::string(5000, 'P'));
  WebApp app({root_.string(), "", ""});
  auto tiny = get(app, "/tiny.js", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(tiny.body, "x=1");
  EXPECT_EQ(header(tiny, "Content-Encoding"), "");
  EXPECT_EQ(header(tiny, "Vary"), "");
  auto png = get(app, "/logo.png", {{"accept-encoding", "gzip"}});
  EXPECT_EQ(png.contentType, "image/png");
  EXPECT_EQ(header(png, "Content-Encoding"), "");
}

TEST_F(WebAppTest, IfNoneMatchAnswers304AndAChangeIsSeen) {
  write(root_ / "index.html", index_);
  WebApp app({root_.string(), "", ""});
  auto first = get(app, "/");
  const auto tag = header(first, "ETag");
  auto again = get(app, "/", {{"if-none-match", tag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_TRUE(again.contentType.empty());
  EXPECT_EQ(header(again, "ETag"), tag);
  EXPECT_EQ(get(app, "/", {{"if-none-match", "\"other\""}}).status, 200);
  // The gzip representation has its own tag; the identity one does not match it.
  auto gz = get(app, "/", {{"accept-encoding", "gzip"}, {"if-none-match", tag}});
  EXPECT_EQ(gz.status, 200);
  EXPECT_EQ(get(app, "/", {{"accept-encoding", "gzip"}, {"if-none-match", header(gz, "ETag")}}).status, 304);
  // A rebuilt index.html (other size) is served at once with a new tag.
  write(root_ / "index.html", index_ + "<!-- v2 -->");
  auto changed = get(app, "/", {{"if-none-match", tag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(header(changed, "ETag"), tag);
}

TEST_F(WebAppTest, NothingOutsideTheRootIsReachable) {
  write(root_ / "index.html", index_);
  fs::create_symlink(base_ / "secret.txt", root_ / "link.txt");
  fs::create_directory_symlink(base_, root_ / "up");
  write(root_ / ".env", "SECRET=1");
  WebApp app({root_.string(), "", ""});
  for (const char* p : {"/../secret.txt", "/assets/../../secret.txt", "/link.txt", "/up/secret.txt", "/.env",
                        "//secret.txt", "/..\\secret.txt", "/assets", "/assets/"}) {
    auto r = get(app, p, {{"accept", "*/*"}});
    EXPECT_EQ(r.status, 404) << p;
    EXPECT_EQ(r.body.find("outside the root"), std::string::npos) << p;
    EXPECT_EQ(r.body.find("SECRET"), std::string::npos) << p;
  }
}

TEST_F(WebAppTest, AppRoutesFallBackToIndexOnlyForBrowsers) {
  write(root_ / "index.html", index_);
  WebApp app({root_.string(), "", ""});
  auto page = get(app, "/dashboard", {{"accept", "text/html,*/*"}});
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, index_);
  EXPECT_EQ(header(page, "Cache-Control"), "no-cache");
  auto missing = get(app, "/assets/missing-3f9a1c2e.js", {{"accept", "text/html,*/*"}});
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["error"]["code"], "not_found");
  EXPECT_EQ(get(app, "/dashboard", {{"accept", "application/json"}}).status, 404);
}

TEST_F(WebAppTest, TileUrlGoesIntoConfigAndCsp) {
  write(root_ / "index.html", index_);
  WebApp app({root_.string(), "https://{s}.tile.example.org/{z}/{x}/{y}.png", "© Example"});
  auto cfg = json::parse(app.configJson());
  EXPECT_EQ(cfg["tile_url"], "https://{s}.tile.example.org/{z}/{x}/{y}.png");
  EXPECT_EQ(cfg["tile_attribution"], "© Example");
  EXPECT_NE(header(get(app, "/"), "Content-Security-Policy").find("img-src 'self' data: https://*.tile.example.org"),
            std::string::npos);
  EXPECT_THROW(WebApp({root_.string(), "javascript:alert(1)", ""}), core::ConfigError);
}

TEST_F(WebAppTest, ServiceRoutesApiFirstAndStaticFilesForTheRest) {
  write(root_ / "index.html", index_);
  WebApp app({root_.string(), "", ""});
  testing::FakePublisher publisher;
  testing::FakeReportStore reports;
  testing::FakeSubscriptionStore subscriptions;
  testing::FakeAlertHistory alerts;
  ServiceDeps d;
  d.publisher = &publisher;
  d.reports = &reports;
  d.subscriptions = &subscriptions;
  d.alerts = &alerts;
  d.web = &app;
  ApiService service(d);
  auto call = [&](std::string method, std::string path, std::map<std::string, std::string> headers = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.headers = std::move(headers);
    HttpResponse out;
    service.handle(req, [&](HttpResponse r) { out = std::move(r); });
    return out;
  };
  EXPECT_EQ(call("GET", "/").body, index_);
  EXPECT_EQ(call("HEAD", "/").status, 200);
  auto apiMiss = call("GET", "/v1/nothing", {{"accept", "text/html"}});
  EXPECT_EQ(apiMiss.status, 404);
  EXPECT_NE(apiMiss.body.find("no route for /v1/nothing"), std::string::npos) << apiMiss.body;
  EXPECT_EQ(call("POST", "/").status, 404);
  EXPECT_EQ(call("GET", "/open311/v2/nothing").body.front(), '[');  // Open311's own error format
  auto cfg = call("GET", "/v1/web-config");
  EXPECT_EQ(cfg.status, 200);
  EXPECT_TRUE(json::parse(cfg.body)["tile_url"].is_null());
  // Without a web app: plain API 404s, and web-config still answers.
  d.web = nullptr;
  ApiService bare(d);
  HttpRequest req;
  req.method = "GET";
  req.path = "/";
  HttpResponse out;
  bare.handle(req, [&](HttpResponse r) { out = std::move(r); });
  EXPECT_EQ(out.status, 404);
  req.path = "/v1/web-config";
  bare.handle(req, [&](HttpResponse r) { out = std::move(r); });
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(json::parse(out.body)["tile_attribution"], nullptr);
}

}  // namespace
}  // namespace safestream::api

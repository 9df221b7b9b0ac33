#include "api/static_files.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace safestream::api {
namespace {

TEST(StaticPath, MapsPathsInsideTheRoot) {
  EXPECT_EQ(staticRelativePath("/"), "index.html");
  EXPECT_EQ(staticRelativePath("/index.html"), "index.html");
  EXPECT_EQ(staticRelativePath("/assets/app-3f9a1c2e.js"), "assets/app-3f9a1c2e.js");
  EXPECT_EQ(staticRelativePath("/docs/"), "docs/index.html");
  EXPECT_EQ(staticRelativePath("/a b/ü.png"), "a b/ü.png");
}

TEST(StaticPath, RefusesEverythingThatCouldLeaveTheRoot) {
  // The server percent-decodes before this, so "%2e%2e%2f" arrives as "../".
  for (const char* p : {"", "index.html", "/..", "/../etc/passwd", "/assets/../../etc/passwd", "/assets/..",
                        "/./index.html", "/assets//app.js", "//etc/passwd", "/..\\..\\windows", "/a\\b",
                        "/.git/config", "/.env", "/assets/.hidden", "/c:/x", "/a\x01" "b", "/nul\x7f"}) {
    EXPECT_FALSE(staticRelativePath(p)) << p;
  }
  EXPECT_FALSE(staticRelativePath(std::string_view("/index.html\0.png", 16)));
  std::string deep;
  for (int i = 0; i < 17; ++i) deep += "/d";
  EXPECT_FALSE(staticRelativePath(deep));
  EXPECT_TRUE(staticRelativePath(deep.substr(2)));
}

TEST(StaticMime, ByExtension) {
  EXPECT_EQ(mimeTypeFor("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(mimeTypeFor("assets/app.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(mimeTypeFor("a.css"), "text/css; charset=utf-8");
  EXPECT_EQ(mimeTypeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(mimeTypeFor("f.woff2"), "font/woff2");
  EXPECT_EQ(mimeTypeFor("m.webmanifest"), "application/manifest+json");
  EXPECT_EQ(mimeTypeFor("README"), "application/octet-stream");
  EXPECT_EQ(mimeTypeFor(".bashrc"), "application/octet-stream");
  EXPECT_EQ(mimeTypeFor("a.exe"), "application/octet-stream");
  EXPECT_TRUE(isCompressible("text/javascript; charset=utf-8"));
  EXPECT_TRUE(isCompressible("image/svg+xml"));
  EXPECT_FALSE(isCompressible("image/png"));
  EXPECT_FALSE(isCompressible("font/woff2"));
}

TEST(StaticCache, HashedAssetsAreImmutableEverythingElseRevalidates) {
  for (const char* p : {"assets/index-B3x9Kq_a.js", "assets/app.3f9a1c2e.css", "chunk-7XHK2JQF.js", "a-0123456789abcdef.woff2"}) {
    EXPECT_TRUE(isHashedAsset(p)) << p;
    EXPECT_EQ(cacheControlFor(p), "public, max-age=31536000, immutable") << p;
  }
  for (const char* p : {"index.html", "app.js", "leaflet-1.9.4.js", "apple-touch-icon180.png", "my-component-button.js",
                        "assets/abcdefgh.js", "assets/index-ABCDEFGH.js", "favicon-32x32.png"}) {
    EXPECT_FALSE(isHashedAsset(p)) << p;
    EXPECT_EQ(cacheControlFor(p), "no-cache") << p;
  }
}

TEST(StaticEtag, TagsDifferByContentAndEncoding) {
  const auto a = entityTag("hello", false), gz = entityTag("hello", true), b = entityTag("hellp", false);
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_NE(a, gz);
  EXPECT_NE(a, b);
  EXPECT_EQ(a, entityTag("hello", false));
  EXPECT_TRUE(etagMatches(a, a));
  EXPECT_TRUE(etagMatches("W/" + a, a));
  EXPECT_TRUE(etagMatches("\"x\", " + a, a));
  EXPECT_TRUE(etagMatches(" * ", a));
  EXPECT_FALSE(etagMatches(b, a));
  EXPECT_FALSE(etagMatches(gz, a));
  EXPECT_FALSE(etagMatches("", a));
  EXPECT_FALSE(etagMatches(a.substr(1, a.size() - 2), a));  // unquoted is another tag
}

TEST(StaticGzip, AcceptEncoding) {
  EXPECT_TRUE(acceptsGzip("gzip"));
  EXPECT_TRUE(acceptsGzip("gzip, deflate, br"));
  EXPECT_TRUE(acceptsGzip("br;q=1.0, GZIP;q=0.5"));
  EXPECT_TRUE(acceptsGzip("*"));
  EXPECT_TRUE(acceptsGzip("x-gzip"));
  EXPECT_FALSE(acceptsGzip(""));
  EXPECT_FALSE(acceptsGzip("identity"));
  EXPECT_FALSE(acceptsGzip("br, deflate"));
  EXPECT_FALSE(acceptsGzip("gzip;q=0"));
  EXPECT_FALSE(acceptsGzip("gzip; q=0.000, br"));
  EXPECT_FALSE(acceptsGzip("gzipped"));
}

TEST(StaticCsp, StrictAndNamesTheTileOrigin) {
  const auto csp = contentSecurityPolicy("");
  EXPECT_NE(csp.find("default-src 'self'"), std::string::npos);
  EXPECT_NE(csp.find("script-src 'self';"), std::string::npos);
  EXPECT_NE(csp.find("img-src 'self' data:;"), std::string::npos);
  EXPECT_NE(csp.find("object-src 'none'"), std::string::npos);
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("http"), std::string::npos) << csp;
  const auto withTiles = contentSecurityPolicy("https://*.tile.example.org");
  EXPECT_NE(withTiles.find("img-src 'self' data: https://*.tile.example.org;"), std::string::npos) << withTiles;
  EXPECT_NE(withTiles.find("connect-src 'self' https://*.tile.example.org;"), std::string::npos) << withTiles;
}

TEST(StaticCsp, TileOriginFromTheTemplate) {
  EXPECT_EQ(*tileSourceOrigin("https://{s}.tile.example.org/{z}/{x}/{y}.png"), "https://*.tile.example.org");
  EXPECT_EQ(*tileSourceOrigin("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png"), "http://127.0.0.1:8080");
  EXPECT_EQ(*tileSourceOrigin("https://tiles.example.org?x={x}"), "https://tiles.example.org");
  for (const char* bad : {"", "ftp://x.org/{z}", "javascript:alert(1)", "https:///x", "https://a.{s}.org/x",
                          "https://{s}x.org/", "https://user:pw@tiles.org/{z}", "https://a..org/", "https://a b.org/",
                          "https://x.org;script-src *"}) {
    auto r = tileSourceOrigin(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code, "invalid_config");
    }
  }
}

TEST(StaticConfig, WebConfigJson) {
  auto off = nlohmann::json::parse(webConfigJson("", ""));
  EXPECT_TRUE(off["tile_url"].is_null());
  EXPECT_TRUE(off["tile_attribution"].is_null());
  auto on = nlohmann::json::parse(webConfigJson("https://t/{z}", "© \"Someone\""));
  EXPECT_EQ(on["tile_url"], "https://t/{z}");
  EXPECT_EQ(on["tile_attribution"], "© \"Someone\"");
}

TEST(StaticSpa, OnlyBrowserNavigationsOutsideTheApi) {
  const char* html = "text/html,application/xhtml+xml,*/*;q=0.8";
  EXPECT_TRUE(isAppRoute("/dashboard", html));
  EXPECT_TRUE(isAppRoute("/alerts/abc", html));
  EXPECT_FALSE(isAppRoute("/dashboard", "application/json"));
  EXPECT_FALSE(isAppRoute("/dashboard", ""));
  EXPECT_FALSE(isAppRoute("/v1/nothing", html));
  EXPECT_FALSE(isAppRoute("/v1", html));
  EXPECT_FALSE(isAppRoute("/open311/v2/x", html));
  EXPECT_FALSE(isAppRoute("/assets/missing.js", html));
  EXPECT_FALSE(isAppRoute("/favicon.ico", html));
}

}  // namespace
}  // namespace safestream::api

#include "api/router.h"

#include <gtest/gtest.h>

#include "api/http_types.h"
#include "api/report_query.h"
#include "core/geo.h"

namespace safestream::api {
namespace {

TEST(Router, MatchesTemplatesAndSuffixes) {
  std::map<std::string, std::string> p;
  EXPECT_TRUE(matchPattern("/v1/reports/{id}", "/v1/reports/abc", p));
  EXPECT_EQ(p["id"], "abc");
  EXPECT_FALSE(matchPattern("/v1/reports/{id}", "/v1/reports/", p));
  EXPECT_FALSE(matchPattern("/v1/reports/{id}", "/v1/reports/a/b", p));
  EXPECT_TRUE(matchPattern("/open311/v2/requests/{id}.json", "/open311/v2/requests/xyz.json", p));
  EXPECT_EQ(p["id"], "xyz");
  EXPECT_FALSE(matchPattern("/open311/v2/requests/{id}.json", "/open311/v2/requests/.json", p));
  EXPECT_FALSE(matchPattern("/open311/v2/requests/{id}.json", "/open311/v2/requests/xyz.xml", p));
}

TEST(Router, UnknownIs404WrongMethodIs405WithAllow) {
  Router r;
  r.add("GET", "/a/{x}", [](HttpRequest&, Responder) {});
  r.add("DELETE", "/a/{x}", [](HttpRequest&, Responder) {});
  HttpRequest req;
  req.method = "POST";
  req.path = "/a/1";
  auto m = r.match(req);
  ASSERT_EQ(m.route, nullptr);
  EXPECT_EQ(m.error.status, 405);
  ASSERT_EQ(m.error.headers.size(), 1u);
  EXPECT_EQ(m.error.headers[0].second, "GET, DELETE");
  req.path = "/b";
  EXPECT_EQ(r.match(req).error.status, 404);
  req.method = "HEAD";
  req.path = "/a/2";
  auto head = r.match(req);
  ASSERT_NE(head.route, nullptr);
  EXPECT_EQ(req.pathParams["x"], "2");
}

TEST(HttpTypes, QueryDecodingAndJsonEscaping) {
  std::map<std::string, std::string> q;
  std::string bad;
  ASSERT_TRUE(parseQuery("a=1&b=x%20y+z&c", q, bad));
  EXPECT_EQ(q["b"], "x y z");
  EXPECT_EQ(q["c"], "");
  EXPECT_FALSE(parseQuery("a=%4", q, bad));
  EXPECT_FALSE(parseQuery("a=%zz", q, bad));
  EXPECT_EQ(jsonString("a\"<b>\n"), R"("a\"\u003cb\u003e\n")");
  EXPECT_EQ(jsonString(std::string("\x01", 1)), R"("\u0001")");
}

TEST(ReportQuery, CursorRoundTripAndNearBox) {
  ReportCursor c{core::parseTimestamp("2026-11-22T10:00:00.123Z").value(), "0f8fad5b-d9cb-469f-a165-70867728950e"};
  auto back = decodeCursor(encodeCursor(c));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->occurredAt, c.occurredAt);
  EXPECT_EQ(back->id, c.id);
  EXPECT_FALSE(decodeCursor("123_notauuid"));
  EXPECT_FALSE(decodeCursor("x_0f8fad5b-d9cb-469f-a165-70867728950e"));
  NearQuery n{41.88, -87.63, 1000};
  auto box = boxAround(n);
  // Every point of the circle's edge lies inside the box.
  EXPECT_LT(core::distanceMetres({n.lat, n.lon}, {box.maxLat, n.lon}), 1010.0);
  EXPECT_GE(core::distanceMetres({n.lat, n.lon}, {box.maxLat, n.lon}), 1000.0);
  EXPECT_GE(core::distanceMetres({n.lat, n.lon}, {box.minLat, n.lon}), 1000.0);
  EXPECT_GE(core::distanceMetres({n.lat, n.lon}, {n.lat, box.maxLon}), 1000.0);
  EXPECT_GE(core::distanceMetres({n.lat, n.lon}, {n.lat, box.minLon}), 1000.0);
}

}  // namespace
}  // namespace safestream::api

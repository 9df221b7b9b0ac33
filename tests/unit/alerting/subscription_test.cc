#include "core/subscription.h"

#include <gtest/gtest.h>

#include <string>

namespace safestream {
namespace {

using core::parseSubscriptionRequest;

std::string errorField(std::string_view json) {
  auto r = parseSubscriptionRequest(json);
  if (r.ok()) return "<ok>";
  EXPECT_EQ(r.error().code, "invalid_field");
  EXPECT_NE(r.error().message.find(r.error().field), std::string::npos) << r.error().message;
  return r.error().field;
}

TEST(SubscriptionRequest, ParsesACircleWithEveryFilter) {
  auto r = parseSubscriptionRequest(R"({"area": {"type": "circle", "lat": 41.88, "lon": -87.63, "radius_m": 500},
      "categories": ["theft", "robbery", "theft"], "min_severity": 2, "time_zone": "America/Chicago",
      "quiet_hours": {"start": "22:00", "end": "07:30"}, "max_per_hour": 5})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->areaType, core::AreaType::circle);
  EXPECT_DOUBLE_EQ(r->center.lat, 41.88);
  EXPECT_DOUBLE_EQ(r->center.lon, -87.63);
  EXPECT_DOUBLE_EQ(r->radiusM, 500);
  EXPECT_EQ(r->categories, (std::vector<std::string>{"theft", "robbery"}));
  EXPECT_EQ(r->minSeverity, 2);
  EXPECT_EQ(r->timeZone, "America/Chicago");
  ASSERT_TRUE(r->quietHours.has_value());
  EXPECT_EQ(r->quietHours->startMinute, 22 * 60);
  EXPECT_EQ(r->quietHours->endMinute, 7 * 60 + 30);
  EXPECT_EQ(r->maxPerHour, 5);
}

TEST(SubscriptionRequest, DefaultsAndOtherAreas) {
  auto n = parseSubscriptionRequest(R"({"area": {"type": "neighbourhood", "name": " Loop "}})");
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->neighbourhood, "LOOP");
  EXPECT_TRUE(n->categories.empty());
  EXPECT_EQ(n->minSeverity, 1);
  EXPECT_EQ(n->timeZone, "UTC");
  EXPECT_FALSE(n->quietHours.has_value());
  EXPECT_FALSE(n->maxPerHour.has_value());

  auto p = parseSubscriptionRequest(R"({"area": {"type": "polygon", "coordinates": [
      [[-87.70, 41.90], [-87.60, 41.90], [-87.60, 41.95], [-87.70, 41.95], [-87.70, 41.90]],
      [[-87.66, 41.91], [-87.64, 41.91], [-87.64, 41.92], [-87.66, 41.91]]]},
      "quiet_hours": "23:00-06:00"})");
  ASSERT_TRUE(p.ok()) << p.error().message;
  ASSERT_EQ(p->polygon.size(), 2u);
  EXPECT_EQ(p->polygon[0].size(), 5u);
  EXPECT_DOUBLE_EQ(p->polygon[0][1].lon, -87.60);
  EXPECT_DOUBLE_EQ(p->polygon[0][1].lat, 41.90);
  EXPECT_EQ(p->quietHours, (core::QuietHours{23 * 60, 6 * 60}));
}

TEST(SubscriptionRequest, ErrorsNameTheField) {
  EXPECT_EQ(errorField("not json"), "body");
  // A NUL byte is not JSON (nlohmann would stop reading at it and accept
  // the object before it).
  EXPECT_EQ(errorField(std::string(R"({"area": {"type": "neighbourhood", "name": "LOOP"}})") + '\0' + "{"), "body");
  EXPECT_FALSE(core::parsePolygonJson(std::string("[[[0,0],[1,0],[1,1],[0,0]]]") + '\0' + "x").ok());
  EXPECT_EQ(errorField("[]"), "body");
  EXPECT_EQ(errorField("{}"), "area");
  EXPECT_EQ(errorField(R"({"area": {"type": "square"}})"), "area.type");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 41.8, "lon": -87.6, "radius_m": 49}})"), "area.radius_m");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 41.8, "lon": -87.6, "radius_m": 20001}})"),
            "area.radius_m");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 41.8, "lon": -87.6, "radius_m": 20000}})"), "<ok>");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 41.8, "lon": -87.6, "radius_m": 50}})"), "<ok>");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 91, "lon": -87.6, "radius_m": 500}})"), "area.lat");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 41, "lon": -181, "radius_m": 500}})"), "area.lon");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": "41", "lon": -87, "radius_m": 500}})"), "area.lat");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lon": -87, "radius_m": 500}})"), "area.lat");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 89.5, "lon": 0, "radius_m": 500}})"), "area.lat");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 0, "lon": 179.99, "radius_m": 5000}})"), "area.lon");
  EXPECT_EQ(errorField(R"({"area": {"type": "circle", "lat": 1, "lon": 1, "radius_m": 500, "radius": 3}})"),
            "area.radius");
  EXPECT_EQ(errorField(R"({"area": {"type": "neighbourhood"}})"), "area.name");
  EXPECT_EQ(errorField(R"({"area": {"type": "neighbourhood", "name": "  "}})"), "area.name");

  const std::string circle = R"("area": {"type": "circle", "lat": 41.8, "lon": -87.6, "radius_m": 500})";
  EXPECT_EQ(errorField("{" + circle + R"(, "categories": ["theft", "jaywalking"]})"), "categories[1]");
  EXPECT_EQ(errorField("{" + circle + R"(, "categories": "theft"})"), "categories");
  EXPECT_EQ(errorField("{" + circle + R"(, "min_severity": 0})"), "min_severity");
  EXPECT_EQ(errorField("{" + circle + R"(, "min_severity": 6})"), "min_severity");
  EXPECT_EQ(errorField("{" + circle + R"(, "min_severity": 2.5})"), "min_severity");
  EXPECT_EQ(errorField("{" + circle + R"(, "time_zone": "Mars/Olympus"})"), "time_zone");
  EXPECT_EQ(errorField("{" + circle + R"(, "quiet_hours": {"start": "24:00", "end": "07:00"}})"), "quiet_hours.start");
  EXPECT_EQ(errorField("{" + circle + R"(, "quiet_hours": {"start": "22:00", "end": "7:00"}})"), "quiet_hours.end");
  EXPECT_EQ(errorField("{" + circle + R"(, "quiet_hours": "22:00-22:00"})"), "quiet_hours");
  EXPECT_EQ(errorField("{" + circle + R"(, "quiet_hours": 5})"), "quiet_hours");
  EXPECT_EQ(errorField("{" + circle + R"(, "max_per_hour": 0})"), "max_per_hour");
  EXPECT_EQ(errorField("{" + circle + R"(, "max_per_hour": 10001})"), "max_per_hour");
  EXPECT_EQ(errorField("{" + circle + R"(, "min_severty": 3})"), "min_severty");
}

TEST(SubscriptionRequest, PolygonRulesFailClearly) {
  auto poly = [](const std::string& coords) {
    return errorField(R"({"area": {"type": "polygon", "coordinates": )" + coords + "}}");
  };
  EXPECT_EQ(poly("[]"), "area.coordinates");
  EXPECT_EQ(poly("[[[0, 0], [1, 0], [0, 0]]]"), "area.coordinates[0]");  // too few points
  EXPECT_EQ(poly("[[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1]]]"), "area.coordinates[0]");  // not closed
  EXPECT_EQ(poly("[[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0.1], [0, 0]]]"), "<ok>");
  EXPECT_EQ(poly("[[[0, 0], [0.1, 0.1], [0.1, 0], [0, 0.1], [0, 0]]]"), "area.coordinates[0]");  // bow tie
  EXPECT_EQ(poly("[[[0, 0], [\"x\", 0], [0.1, 0.1], [0, 0]]]"), "area.coordinates[0][1]");
  EXPECT_EQ(poly("[[[0, 95], [0.1, 95], [0.1, 95.1], [0, 95]]]"), "area.coordinates[0][0]");  // latitude range
  // The antimeridian and the poles are not supported: clear errors.
  auto anti = parseSubscriptionRequest(
      R"({"area": {"type": "polygon", "coordinates": [[[179.9, 0], [-179.9, 0], [-179.9, 0.1], [179.9, 0.1], [179.9, 0]]]}})");
  ASSERT_FALSE(anti.ok());
  EXPECT_NE(anti.error().message.find("antimeridian"), std::string::npos) << anti.error().message;
  auto pole = parseSubscriptionRequest(
      R"({"area": {"type": "polygon", "coordinates": [[[0, 89.9], [0.1, 89.9], [0.1, 90], [0, 89.9]]]}})");
  ASSERT_FALSE(pole.ok());
  EXPECT_NE(pole.error().message.find("poles"), std::string::npos) << pole.error().message;
  // Too large: a whole country is not a neighbourhood.
  EXPECT_EQ(poly("[[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]"), "area.coordinates");
}

TEST(SubscriptionRequest, JsonRoundTrip) {
  auto a = parseSubscriptionRequest(R"({"area": {"type": "polygon", "coordinates": [
      [[-87.70, 41.90], [-87.60, 41.90], [-87.60, 41.95], [-87.70, 41.90]]]},
      "categories": ["arson"], "min_severity": 3, "time_zone": "America/Chicago",
      "quiet_hours": "23:00-06:15", "max_per_hour": 2, "paused": true})");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->paused);
  auto b = parseSubscriptionRequest(core::subscriptionToJson(*a));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(*a, *b);
  auto c = parseSubscriptionRequest(R"({"area": {"type": "circle", "lat": 41.9, "lon": -87.6, "radius_m": 500}})");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->paused) << "a new subscription is not paused";
  auto d = parseSubscriptionRequest(R"({"area": {"type": "circle", "lat": 41.9, "lon": -87.6, "radius_m": 500}, "paused": 1})");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().field, "paused");
  auto rings = core::parsePolygonJson(core::polygonToJson(a->polygon));
  ASSERT_TRUE(rings.ok());
  EXPECT_EQ(*rings, a->polygon);
}

TEST(QuietHours, ContainsHandlesMidnight) {
  core::QuietHours night{22 * 60, 7 * 60};
  EXPECT_TRUE(night.contains(23 * 60));
  EXPECT_TRUE(night.contains(0));
  EXPECT_TRUE(night.contains(22 * 60));
  EXPECT_FALSE(night.contains(7 * 60));
  EXPECT_FALSE(night.contains(12 * 60));
  core::QuietHours lunch{12 * 60, 13 * 60};
  EXPECT_TRUE(lunch.contains(12 * 60 + 30));
  EXPECT_FALSE(lunch.contains(13 * 60));
  EXPECT_FALSE(lunch.contains(11 * 60 + 59));
}

TEST(Tokens, HashIsSha256HexAndCompares) {
  // SHA-256("abc") from FIPS 180-2.
  EXPECT_EQ(core::hashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto t1 = core::generateToken();
  auto t2 = core::generateToken();
  EXPECT_EQ(t1.size(), 43u);
  EXPECT_NE(t1, t2);
  EXPECT_TRUE(core::tokenMatches(t1, core::hashToken(t1)));
  EXPECT_FALSE(core::tokenMatches(t2, core::hashToken(t1)));
  EXPECT_FALSE(core::tokenMatches(t1, ""));
}

TEST(Distance, KnownValues) {
  // One degree of latitude is ~111.195 km on the mean sphere.
  EXPECT_NEAR(core::distanceMetres({0, 0}, {1, 0}), 111195, 1);
  EXPECT_NEAR(core::distanceMetres({41.88, -87.63}, {41.88, -87.63}), 0, 1e-9);
}

}  // namespace
}  // namespace safestream

#include "api/api_service.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/utf8.h"
#include "tests/unit/api/fakes.h"

namespace safestream::api {
namespace {

using nlohmann::json;

const char* kGoodReport =
    R"({"category":"assault","description":"two people fighting","lat":41.879,"lon":-87.63,"occurred_at":"2026-11-22T10:00:00Z"})";

class ServiceTest : public ::testing::Test {
 protected:
  ServiceTest() : service_(deps()) {}

  ServiceDeps deps() {
    ServiceDeps d;
    d.publisher = &publisher_;
    d.reports = &reports_;
    d.subscriptions = &subscriptions_;
    d.duplicates = &duplicates_;
    d.rateLimiter = &limiter_;
    d.idempotency = &idempotency_;
    d.alerts = &alerts_;
    d.clock = &clock_;
    return d;
  }

  HttpResponse call(std::string method, std::string path, std::string body = {},
                    std::map<std::string, std::string> headers = {}, std::string query = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.query = std::move(query);
    req.body = std::move(body);
    req.clientIp = "10.0.0.1";
    req.headers = std::move(headers);
    if (!req.headers.count("content-type")) req.headers["content-type"] = "application/json";
    HttpResponse out;
    int calls = 0;
    service_.handle(req, [&](HttpResponse r) {
      out = std::move(r);
      ++calls;
    });
    EXPECT_EQ(calls, 1) << "responder must be called exactly once";
    return out;
  }

  // Every 4xx/5xx: a JSON body {"error":{"code","message","field"}}.
  static void expectJsonError(const HttpResponse& r, int status, const std::string& code, const std::string& context) {
    EXPECT_EQ(r.status, status) << context << ": " << r.body;
    EXPECT_EQ(r.contentType, "application/json") << context;
    auto doc = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << context << ": not JSON: " << r.body;
    ASSERT_TRUE(doc.contains("error")) << context << ": " << r.body;
    EXPECT_EQ(doc["error"]["code"], code) << context << ": " << r.body;
    EXPECT_TRUE(doc["error"]["message"].is_string()) << context;
    EXPECT_TRUE(doc["error"].contains("field")) << context;
  }

  std::pair<std::string, std::string> createSubscription() {
    auto r = call("POST", "/v1/subscriptions",
                  R"({"area":{"type":"circle","lat":41.8781,"lon":-87.6298,"radius_m":1500},"categories":["assault","robbery"],"min_severity":2})");
    EXPECT_EQ(r.status, 201) << r.body;
    auto doc = json::parse(r.body);
    return {doc["id"], doc["token"]};
  }

  testing::FakePublisher publisher_;
  testing::FakeReportStore reports_;
  testing::FakeSubscriptionStore subscriptions_;
  testing::FakeDuplicateStore duplicates_;
  testing::FakeRateLimiter limiter_;
  testing::FakeIdempotencyStore idempotency_;
  testing::FakeAlertHistory alerts_;
  testing::FixedClock clock_;
  ApiService service_;
};

TEST_F(ServiceTest, GoodReportIsPublishedThenAccepted) {
  auto r = call("POST", "/v1/reports", kGoodReport);
  ASSERT_EQ(r.status, 202) << r.body;
  auto doc = json::parse(r.body);
  ASSERT_EQ(publisher_.published.size(), 1u);
  const auto& rep = publisher_.published[0];
  EXPECT_EQ(doc["id"], rep.id.value);
  EXPECT_EQ(rep.source, "citizen");
  EXPECT_TRUE(core::isUuid(rep.sourceId));
  EXPECT_EQ(rep.id, core::reportIdFor("citizen", rep.sourceId));
  EXPECT_EQ(rep.category, "assault");
  EXPECT_EQ(rep.rawType, "assault");
  ASSERT_TRUE(rep.location);
  EXPECT_DOUBLE_EQ(rep.location->lat, 41.879);
  bool hasLocation = false;
  for (const auto& [k, v] : r.headers) hasLocation |= (k == "Location" && v == "/v1/reports/" + rep.id.value);
  EXPECT_TRUE(hasLocation);
  // What goes on Kafka is a valid report.v1 message.
  auto decoded = core::decodeReport(core::encodeReport(rep), {.now = clock_.t});
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
}

TEST_F(ServiceTest, ContactIsKeptPrivateButPublished) {
  auto body = json::parse(kGoodReport);
  body["contact"] = "555-0100";
  body["address"] = "100 W Randolph St";
  auto r = call("POST", "/v1/reports", body.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.body.find("555-0100"), std::string::npos);
  ASSERT_EQ(publisher_.published.size(), 1u);
  EXPECT_EQ(publisher_.published[0].contact, "555-0100");
  EXPECT_EQ(publisher_.published[0].address, "100 W Randolph St");
}

struct BadCase {
  std::string name;
  std::string method;
  std::string path;
  std::string body;
  int status;
  std::string code;
  std::map<std::string, std::string> headers = {};
};

std::string withField(const std::string& key, json value) {
  auto doc = json::parse(kGoodReport);
  doc[key] = std::move(value);
  return doc.dump();
}
std::string without(const std::string& key) {
  auto doc = json::parse(kGoodReport);
  doc.erase(key);
  return doc.dump();
}

TEST_F(ServiceTest, BadRequestsTable) {
  const std::vector<BadCase> cases = {
      {"malformed json", "POST", "/v1/reports", R"({"category": "assault",)", 400, "malformed_json"},
      {"not an object", "POST", "/v1/reports", "[1,2,3]", 400, "malformed_json"},
      {"empty body", "POST", "/v1/reports", "", 400, "malformed_json"},
      {"lat 91", "POST", "/v1/reports", withField("lat", 91), 400, "invalid_field"},
      {"lon -181", "POST", "/v1/reports", withField("lon", -181), 400, "invalid_field"},
      {"lat as string", "POST", "/v1/reports", withField("lat", "41.8"), 400, "invalid_field"},
      {"category as number", "POST", "/v1/reports", withField("category", 3), 400, "invalid_field"},
      {"unknown category", "POST", "/v1/reports", withField("category", "alien-abduction"), 400, "invalid_field"},
      {"sql in category", "POST", "/v1/reports", withField("category", "assault'; DROP TABLE reports;--"), 400, "invalid_field"},
      {"script in category", "POST", "/v1/reports", withField("category", "<script>alert(1)</script>"), 400, "invalid_field"},
      {"missing description", "POST", "/v1/reports", without("description"), 400, "invalid_field"},
      {"blank description", "POST", "/v1/reports", withField("description", "   "), 400, "invalid_field"},
      {"huge description", "POST", "/v1/reports", withField("description", std::string(5000, 'x')), 400, "invalid_field"},
      {"control chars", "POST", "/v1/reports", withField("address", std::string("a\x01b")), 400, "invalid_field"},
      {"bad time", "POST", "/v1/reports", withField("occurred_at", "yesterday"), 400, "invalid_field"},
      {"future time", "POST", "/v1/reports", withField("occurred_at", "2027-01-01T00:00:00Z"), 400, "invalid_field"},
      {"time without offset", "POST", "/v1/reports", withField("occurred_at", "2026-11-22T10:00:00"), 400, "invalid_field"},
      {"lat 0,0", "POST", "/v1/reports", [] {
         auto d = json::parse(kGoodReport);
         d["lat"] = 0;
         d["lon"] = 0;
         return d.dump();
       }(), 400, "invalid_field"},
      {"nested object", "POST", "/v1/reports", withField("description", json{{"a", 1}}), 400, "invalid_field"},
      {"NaN-like text", "POST", "/v1/reports", R"({"category":"assault","description":"x","lat":NaN,"lon":1,"occurred_at":"2026-11-22T10:00:00Z"})", 400, "malformed_json"},
      {"unknown field", "POST", "/v1/reports", withField("severity", 5), 400, "unknown_field"},
      {"null lat", "POST", "/v1/reports", withField("lat", nullptr), 400, "invalid_field"},
      {"wrong content type", "POST", "/v1/reports", kGoodReport, 415, "unsupported_media_type", {{"content-type", "text/plain"}}},
      {"bad idempotency key", "POST", "/v1/reports", kGoodReport, 400, "invalid_header", {{"content-type", "application/json"}, {"idempotency-key", std::string(300, 'k')}}},
      {"unknown route", "GET", "/v1/nothing", "", 404, "not_found"},
      {"wrong method", "PUT", "/v1/reports", kGoodReport, 405, "method_not_allowed"},
      {"report id not uuid", "GET", "/v1/reports/' OR 1=1 --", "", 404, "not_found"},
      {"unknown report", "GET", "/v1/reports/" + core::randomUuid(), "", 404, "not_found"},
      {"subscription bad area", "POST", "/v1/subscriptions", R"({"area":{"type":"circle","lat":91,"lon":0,"radius_m":100}})", 400, "invalid_field"},
      {"subscription unknown field", "POST", "/v1/subscriptions", R"({"area":{"type":"circle","lat":41,"lon":-87,"radius_m":100},"colour":"red"})", 400, "invalid_field"},
      {"subscription malformed", "POST", "/v1/subscriptions", "{", 400, "invalid_field"},
      {"subscription missing token", "GET", "/v1/subscriptions/" + core::randomUuid(), "", 401, "unauthorized"},
      {"subscription unknown", "GET", "/v1/subscriptions/" + core::randomUuid(), "", 404, "not_found", {{"authorization", "Bearer abc"}}},
  };
  for (const auto& c : cases) {
    auto r = call(c.method, c.path, c.body, c.headers);
    expectJsonError(r, c.status, c.code, c.name);
    EXPECT_EQ(r.body.find("<script>"), std::string::npos) << c.name << ": reflected markup";
  }
  EXPECT_TRUE(publisher_.published.empty()) << "a bad request was published";
  // Still serving.
  EXPECT_EQ(call("POST", "/v1/reports", kGoodReport).status, 202);
}

TEST_F(ServiceTest, QueryParameterErrors) {
  for (const std::string q : {"bbox=1,2,3", "near=91,0", "near=41,-87&radius=0", "radius=5", "limit=0", "limit=501",
                              "limit=abc", "since=yesterday", "cursor=garbage", "category=nope", "colour=red",
                              "bbox=1,1,0,0", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "near=%zz"}) {
    auto r = call("GET", "/v1/reports", "", {}, q);
    EXPECT_EQ(r.status, 400) << q << ": " << r.body;
    EXPECT_NE(r.body.find("\"error\""), std::string::npos) << q;
  }
  EXPECT_FALSE(reports_.lastQuery) << "a bad query reached the store";
}

// Error messages quote the path or parameter the client sent; whatever bytes
// it held, the body is valid UTF-8 JSON (nlohmann's parser is strict about
// UTF-8) and names the problem. The server hands handlers the decoded path,
// so "/v1/reports/%00%ff" arrives as the raw bytes below.
TEST_F(ServiceTest, ErrorBodiesAreValidJsonWhateverTheRequestHeld) {
  const std::string nulFf("\0\xFF", 2);
  struct Case {
    std::string method, path, query, body;
  };
  const std::vector<Case> cases = {
      {"GET", "/v1/reports/" + nulFf, "", ""},
      {"GET", "/v1/reports/\xC0\xAF\xED\xA0\x80", "", ""},
      {"GET", "/v1/subscriptions/" + nulFf + "/alerts", "", ""},
      {"GET", "/no/such/" + nulFf, "", ""},
      {"GET", "/open311/v2/services/\xE2\x82.json", "", ""},
      {"GET", "/v1/reports", "category=%FF%FE", ""},
      {"GET", "/v1/reports", "since=%00%ff", ""},
      {"GET", "/v1/reports", "cursor=%C0%AF", ""},
      {"GET", "/v1/reports", "%ff=1", ""},
      {"GET", "/v1/reports", "near=%ED%A0%80,1", ""},
      {"POST", "/v1/reports", "", withField("category", "assault") + nulFf},
      {"POST", "/v1/reports", "", std::string("{\"category\":\"\xFF\"}")},
      {"PATCH", "/v1/subscriptions/" + nulFf, "", "{}"},
      {"POST", "/v1/reports", "", std::string(100000, '[') + std::string(100000, ']')},
      {"POST", "/v1/subscriptions", "", std::string(100000, '[') + std::string(100000, ']')},
  };
  for (const auto& c : cases) {
    const auto context = c.method + " " + ::testing::PrintToString(c.path) + " ?" + ::testing::PrintToString(c.query);
    auto r = call(c.method, c.path, c.body, {}, c.query);
    EXPECT_GE(r.status, 400) << context;
    EXPECT_LT(r.status, 500) << context << ": " << r.body;
    EXPECT_TRUE(core::isValidUtf8(r.body)) << context << ": " << ::testing::PrintToString(r.body);
    const auto doc = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << context << ": not JSON: " << ::testing::PrintToString(r.body);
    if (c.path.rfind("/open311/", 0) == 0) {
      ASSERT_TRUE(doc.is_array() && !doc.empty()) << context << ": " << r.body;  // GeoReport v2 error list
      EXPECT_TRUE(doc[0]["description"].is_string()) << context;
    } else {
      ASSERT_TRUE(doc.contains("error")) << context << ": " << r.body;
      EXPECT_TRUE(doc["error"]["code"].is_string()) << context;
      EXPECT_TRUE(doc["error"]["message"].is_string()) << context;
    }
  }
}

TEST_F(ServiceTest, ListReportsJsonAndGeoJson) {
  PublicReport p;
  p.id = core::randomUuid();
  p.source = "citizen";
  p.category = "theft";
  p.description = "bike";
  p.occurredAt = clock_.t;
  p.reportedAt = clock_.t;
  p.lat = 41.88;
  p.lon = -87.63;
  reports_.rows.push_back(p);
  auto r = call("GET", "/v1/reports", "", {}, "near=41.88,-87.63&radius=500&limit=10&category=theft");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(reports_.lastQuery);
  ASSERT_TRUE(reports_.lastQuery->near);
  EXPECT_EQ(reports_.lastQuery->near->radiusM, 500);
  EXPECT_EQ(reports_.lastQuery->limit, 10);
  auto doc = json::parse(r.body);
  EXPECT_EQ(doc["reports"][0]["id"], p.id);
  EXPECT_FALSE(doc["reports"][0].contains("contact"));

  auto g = call("GET", "/v1/reports", "", {{"accept", "application/geo+json"}}, "");
  ASSERT_EQ(g.status, 200);
  EXPECT_EQ(g.contentType, "application/geo+json");
  auto gd = json::parse(g.body);
  EXPECT_EQ(gd["type"], "FeatureCollection");
  EXPECT_EQ(gd["features"][0]["geometry"]["coordinates"][0], -87.63);
  EXPECT_EQ(gd["features"][0]["geometry"]["coordinates"][1], 41.88);

  auto one = call("GET", "/v1/reports/" + p.id, "", {{"accept", "application/geo+json"}});
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(json::parse(one.body)["type"], "Feature");
}

TEST_F(ServiceTest, IdempotencyKeyReturnsTheSameResult) {
  std::map<std::string, std::string> h = {{"content-type", "application/json"}, {"idempotency-key", "retry-123"}};
  auto first = call("POST", "/v1/reports", kGoodReport, h);
  auto second = call("POST", "/v1/reports", kGoodReport, h);
  ASSERT_EQ(first.status, 202);
  ASSERT_EQ(second.status, 202);
  EXPECT_EQ(json::parse(first.body)["id"], json::parse(second.body)["id"]);
  EXPECT_EQ(publisher_.published.size(), 1u) << "a retry published twice";
  auto other = call("POST", "/v1/reports", withField("description", "different"), h);
  EXPECT_EQ(other.status, 422) << other.body;
}

TEST_F(ServiceTest, PublishFailureIs503AndFreesTheKey) {
  publisher_.fail = true;
  std::map<std::string, std::string> h = {{"content-type", "application/json"}, {"idempotency-key", "k-fail"}};
  auto r = call("POST", "/v1/reports", kGoodReport, h);
  expectJsonError(r, 503, "unavailable", "publish failure");
  publisher_.fail = false;
  EXPECT_EQ(call("POST", "/v1/reports", kGoodReport, h).status, 202) << "the retry after a failure must go through";
}

// The Redis batcher answers the rate check later, on its own thread: the
// request must wait for it (nothing published before), keep its body, and
// be answered exactly once afterwards, whatever the verdict.
TEST_F(ServiceTest, RateCheckAnsweredLaterHoldsTheRequestUntilThen) {
  limiter_.deferred = true;
  limiter_.capacity = 1;
  std::vector<HttpResponse> answers;
  auto post = [&] {
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/reports";
    req.body = kGoodReport;
    req.clientIp = "10.0.0.9";
    req.headers["content-type"] = "application/json";
    service_.handle(std::move(req), [&](HttpResponse r) { answers.push_back(std::move(r)); });
  };
  post();
  post();
  EXPECT_TRUE(answers.empty()) << "answered before the rate check came back";
  EXPECT_TRUE(publisher_.published.empty());
  ASSERT_EQ(limiter_.pending.size(), 2u);
  for (auto& run : limiter_.pending) run();
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].status, 202) << answers[0].body;
  expectJsonError(answers[1], 429, "rate_limited", "second request over the limit");
  ASSERT_EQ(publisher_.published.size(), 1u);
  EXPECT_EQ(publisher_.published[0].description, "two people fighting") << "the body survived the wait";
}

// Without an Idempotency-Key nothing after the verdict blocks, so the
// report is queued from the verdict's thread instead of hopping back to the
// request's (continueOn); with a key (blocking Redis calls) it hops back.
TEST_F(ServiceTest, ReportIsQueuedFromTheVerdictThreadUnlessItHasAnIdempotencyKey) {
  limiter_.deferred = true;
  limiter_.capacity = 3;
  int hops = 0;
  std::vector<std::function<void()>> hopped;
  std::vector<HttpResponse> answers;
  auto post = [&](std::string body, std::string key) {
    HttpRequest req;
    req.method = "POST";
    req.path = "/v1/reports";
    req.body = std::move(body);
    req.clientIp = "10.0.0.8";
    req.headers["content-type"] = "application/json";
    if (!key.empty()) req.headers["idempotency-key"] = key;
    req.continueOn = [&](std::function<void()> task) {
      ++hops;
      hopped.push_back(std::move(task));
    };
    service_.handle(std::move(req), [&](HttpResponse r) { answers.push_back(std::move(r)); });
  };
  post(kGoodReport, "");
  post("{\"category\":", "");  // invalid: still takes its token, then 400
  post(kGoodReport, "with-key");
  post("{\"category\":", "");  // over the limit: 429 whatever the body
  EXPECT_TRUE(publisher_.published.empty()) << "queued before the rate check came back";
  ASSERT_EQ(limiter_.pending.size(), 4u);
  for (auto& run : limiter_.pending) run();
  EXPECT_EQ(hops, 1) << "only the request with an Idempotency-Key goes back to its thread";
  ASSERT_EQ(answers.size(), 3u);
  EXPECT_EQ(answers[0].status, 202) << answers[0].body;
  EXPECT_EQ(answers[1].status, 400) << answers[1].body;
  expectJsonError(answers[2], 429, "rate_limited", "fourth request over the limit");
  for (auto& task : hopped) task();
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[3].status, 202) << answers[3].body;
  EXPECT_EQ(publisher_.published.size(), 2u);
}

TEST_F(ServiceTest, WrongContentTypeIs415BeforeAndAfterTheRateCheck) {
  auto r = call("POST", "/v1/reports", kGoodReport, {{"content-type", "text/plain"}});
  expectJsonError(r, 415, "unsupported_media_type", "text/plain body");
  limiter_.deferred = true;
  std::vector<HttpResponse> answers;
  HttpRequest req;
  req.method = "POST";
  req.path = "/v1/reports";
  req.body = kGoodReport;
  req.headers["content-type"] = "text/plain";
  service_.handle(std::move(req), [&](HttpResponse x) { answers.push_back(std::move(x)); });
  for (auto& run : limiter_.pending) run();
  ASSERT_EQ(answers.size(), 1u);
  expectJsonError(answers[0], 415, "unsupported_media_type", "text/plain body, deferred verdict");
}

TEST_F(ServiceTest, RateLimitAnswers429WithRetryAfterAndFailsOpen) {
  limiter_.capacity = 2;
  EXPECT_EQ(call("POST", "/v1/reports", kGoodReport).status, 202);
  EXPECT_EQ(call("POST", "/v1/reports", kGoodReport).status, 202);
  auto r = call("POST", "/v1/reports", kGoodReport);
  expectJsonError(r, 429, "rate_limited", "third request");
  bool retryAfter = false;
  for (const auto& [k, v] : r.headers) retryAfter |= (k == "Retry-After" && v == "7");
  EXPECT_TRUE(retryAfter);
  limiter_.down = true;
  EXPECT_EQ(call("POST", "/v1/reports", kGoodReport).status, 202);
}

TEST_F(ServiceTest, ReportDetailLinksItsDuplicatesBothWays) {
  auto stored = [&](const std::string& source) {
    PublicReport p;
    p.id = core::randomUuid();
    p.source = source;
    p.category = "theft";
    p.occurredAt = p.reportedAt = clock_.t;
    p.lat = 41.88;
    p.lon = -87.63;
    reports_.rows.push_back(p);
    return p.id;
  };
  const std::string root = stored("citizen"), dup = stored("spotcrime"), alone = stored("citizen");
  duplicates_.rootOf[dup] = root;

  auto rootDoc = json::parse(call("GET", "/v1/reports/" + root).body);
  ASSERT_TRUE(rootDoc.contains("duplicate_of")) << rootDoc.dump();
  EXPECT_TRUE(rootDoc["duplicate_of"].is_null());
  ASSERT_EQ(rootDoc["duplicates"].size(), 1u) << rootDoc.dump();
  EXPECT_EQ(rootDoc["duplicates"][0]["id"], dup);
  EXPECT_EQ(rootDoc["duplicates"][0]["source"], "spotcrime");
  EXPECT_EQ(rootDoc["duplicates"][0]["url"], "/v1/reports/" + dup);
  EXPECT_EQ(rootDoc["duplicates_more"], false);
  EXPECT_EQ(rootDoc["id"], root) << "the report's own fields stay";

  auto dupDoc = json::parse(call("GET", "/v1/reports/" + dup).body);
  EXPECT_EQ(dupDoc["duplicate_of"]["id"], root) << dupDoc.dump();
  EXPECT_TRUE(dupDoc["duplicate_of"]["occurred_at"].is_null()) << "unknown time is null, not invented";
  EXPECT_TRUE(dupDoc["duplicates"].empty());

  auto aloneDoc = json::parse(call("GET", "/v1/reports/" + alone).body);
  EXPECT_TRUE(aloneDoc["duplicate_of"].is_null());
  EXPECT_TRUE(aloneDoc["duplicates"].empty());

  // GeoJSON: the links are properties of the Feature.
  auto geo = call("GET", "/v1/reports/" + root, "", {{"accept", "application/geo+json"}});
  auto geoDoc = json::parse(geo.body);
  EXPECT_EQ(geoDoc["type"], "Feature");
  EXPECT_EQ(geoDoc["properties"]["duplicates"][0]["id"], dup) << geo.body;

  // Bounded: a flood at one spot lists kMaxDuplicateLinks and says there are more.
  for (int i = 0; i < kMaxDuplicateLinks + 5; ++i) duplicates_.rootOf[core::randomUuid()] = alone;
  auto flood = json::parse(call("GET", "/v1/reports/" + alone).body);
  EXPECT_EQ(duplicates_.lastLimit, kMaxDuplicateLinks);
  EXPECT_EQ(flood["duplicates"].size(), static_cast<std::size_t>(kMaxDuplicateLinks));
  EXPECT_EQ(flood["duplicates_more"], true);

  // The links are an extra: without them the report is still served.
  duplicates_.fail = true;
  auto degraded = call("GET", "/v1/reports/" + root);
  ASSERT_EQ(degraded.status, 200) << degraded.body;
  auto degradedDoc = json::parse(degraded.body);
  EXPECT_EQ(degradedDoc["id"], root);
  EXPECT_FALSE(degradedDoc.contains("duplicates"));
}

TEST_F(ServiceTest, PauseIsStoredShownAndResumable) {
  auto [id, token] = createSubscription();
  auto auth = std::map<std::string, std::string>{{"authorization", "Bearer " + token}};
  EXPECT_EQ(json::parse(call("GET", "/v1/subscriptions/" + id, "", auth).body)["paused"], false);
  auto paused = call("PATCH", "/v1/subscriptions/" + id, R"({"paused":true})", auth);
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(json::parse(paused.body)["paused"], true);
  EXPECT_TRUE(subscriptions_.rows[id].paused);
  EXPECT_EQ(subscriptions_.rows[id].radiusM, 1500) << "pausing keeps the rest";
  EXPECT_EQ(json::parse(call("GET", "/v1/subscriptions/" + id, "", auth).body)["paused"], true);
  // Another change keeps the pause; only "paused" ends it.
  ASSERT_EQ(call("PATCH", "/v1/subscriptions/" + id, R"({"min_severity":3})", auth).status, 200);
  EXPECT_TRUE(subscriptions_.rows[id].paused);
  expectJsonError(call("PATCH", "/v1/subscriptions/" + id, R"({"paused":"yes"})", auth), 400, "invalid_field",
                  "paused must be a boolean");
  EXPECT_TRUE(subscriptions_.rows[id].paused);
  ASSERT_EQ(call("PATCH", "/v1/subscriptions/" + id, R"({"paused":false})", auth).status, 200);
  EXPECT_FALSE(subscriptions_.rows[id].paused);
}

TEST_F(ServiceTest, SubscriptionLifecycleWithHashedToken) {
  auto [id, token] = createSubscription();
  ASSERT_TRUE(core::isUuid(id));
  ASSERT_GE(token.size(), 32u);
  ASSERT_EQ(subscriptions_.rows.count(id), 1u);
  EXPECT_NE(subscriptions_.rows[id].tokenHash, token);
  EXPECT_EQ(subscriptions_.rows[id].tokenHash, core::hashToken(token));

  auto auth = std::map<std::string, std::string>{{"authorization", "Bearer " + token}};
  auto got = call("GET", "/v1/subscriptions/" + id, "", auth);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body.find(token), std::string::npos) << "token shown again";
  EXPECT_EQ(got.body.find("token_hash"), std::string::npos);

  auto [otherId, otherToken] = createSubscription();
  expectJsonError(call("GET", "/v1/subscriptions/" + id, "", {{"authorization", "Bearer " + otherToken}}), 403,
                  "forbidden", "foreign token");

  auto patched = call("PATCH", "/v1/subscriptions/" + id, R"({"min_severity":4,"categories":["theft"]})", auth);
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(subscriptions_.rows[id].minSeverity, 4);
  EXPECT_EQ(subscriptions_.rows[id].categories, std::vector<std::string>{"theft"});
  EXPECT_EQ(subscriptions_.rows[id].radiusM, 1500);
  expectJsonError(call("PATCH", "/v1/subscriptions/" + id, R"({"min_severity":9})", auth), 400, "invalid_field", "bad patch");
  EXPECT_EQ(subscriptions_.rows[id].minSeverity, 4);
  // A patch nested 100,000 deep: merge_patch() and dump() recurse per level
  // and overflowed the worker's stack (the daemon died); refused before parsing.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "1" + std::string(100000, '}');
  expectJsonError(call("PATCH", "/v1/subscriptions/" + id, deep, auth), 400, "malformed_json", "deep patch");
  expectJsonError(call("PATCH", "/v1/subscriptions/" + id, std::string("{}") + '\0' + "x", auth), 400, "malformed_json",
                  "NUL in a patch");

  auto del = call("DELETE", "/v1/subscriptions/" + id, "", auth);
  EXPECT_EQ(del.status, 204);
  expectJsonError(call("GET", "/v1/subscriptions/" + id, "", auth), 404, "not_found", "after delete");
}

TEST_F(ServiceTest, AlertHistoryIsResumable) {
  auto [id, token] = createSubscription();
  for (int i = 1; i <= 5; ++i) {
    std::string cursor = "1700000000000-" + std::to_string(i);
    alerts_.entries["safestream:alerts:" + id].push_back({cursor, R"({"alert_id":"a)" + std::to_string(i) + R"(","cursor":")" + cursor + "\"}"});
  }
  auto auth = std::map<std::string, std::string>{{"authorization", "Bearer " + token}};
  auto page1 = call("GET", "/v1/subscriptions/" + id + "/alerts", "", auth, "limit=2");
  ASSERT_EQ(page1.status, 200) << page1.body;
  auto d1 = json::parse(page1.body);
  ASSERT_EQ(d1["alerts"].size(), 2u);
  auto page2 = call("GET", "/v1/subscriptions/" + id + "/alerts", "", auth, "limit=10&after=" + d1["next_cursor"].get<std::string>());
  auto d2 = json::parse(page2.body);
  ASSERT_EQ(d2["alerts"].size(), 3u);
  EXPECT_EQ(d2["alerts"][0]["alert_id"], "a3");
  expectJsonError(call("GET", "/v1/subscriptions/" + id + "/alerts", "", auth, "after=abc"), 400, "invalid_parameter", "bad cursor");
  expectJsonError(call("GET", "/v1/subscriptions/" + id + "/alerts", "", {}), 401, "unauthorized", "no token");
}

TEST_F(ServiceTest, Open311ServicesAndRequests) {
  auto services = call("GET", "/open311/v2/services.json");
  ASSERT_EQ(services.status, 200);
  auto list = json::parse(services.body);
  ASSERT_TRUE(list.is_array());
  ASSERT_FALSE(list.empty());
  EXPECT_TRUE(list[0].contains("service_code"));
  EXPECT_EQ(list[0]["metadata"], false);

  auto post = call("POST", "/open311/v2/requests.json",
                   "service_code=theft&lat=41.88&long=-87.63&description=stolen+bike&email=a%40b.c&api_key=x",
                   {{"content-type", "application/x-www-form-urlencoded"}});
  ASSERT_EQ(post.status, 201) << post.body;
  auto posted = json::parse(post.body);
  ASSERT_TRUE(posted.is_array());
  ASSERT_EQ(publisher_.published.size(), 1u);
  EXPECT_EQ(posted[0]["service_request_id"], publisher_.published[0].id.value);
  EXPECT_EQ(publisher_.published[0].contact, "a@b.c");
  EXPECT_EQ(publisher_.published[0].description, "stolen bike");

  for (auto [body, why] : std::vector<std::pair<std::string, std::string>>{
           {"service_code=nope&lat=41&long=-87&description=x", "unknown service"},
           {"service_code=theft&lat=91&long=-87&description=x", "lat 91"},
           {"service_code=theft&description=x", "no location"}}) {
    auto r = call("POST", "/open311/v2/requests.json", body, {{"content-type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(r.status, 400) << why;
    auto doc = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(doc.is_array()) << why << ": " << r.body;
    EXPECT_EQ(doc[0]["code"], 400) << why;
    EXPECT_TRUE(doc[0]["description"].is_string()) << why;
  }
  auto missing = call("GET", "/open311/v2/requests/" + core::randomUuid() + ".json");
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body).is_array());
  auto unrouted = call("GET", "/open311/v2/nothing.json");
  EXPECT_EQ(unrouted.status, 404);
  EXPECT_TRUE(json::parse(unrouted.body).is_array());
}

TEST_F(ServiceTest, HandlerExceptionBecomes500WithoutDetails) {
  ServiceDeps d = deps();
  d.extraRoutes.push_back({"GET", "/boom", [](HttpRequest&, Responder) { throw std::runtime_error("secret detail"); }});
  ApiService s(d);
  HttpRequest req;
  req.method = "GET";
  req.path = "/boom";
  HttpResponse out;
  s.handle(req, [&](HttpResponse r) { out = std::move(r); });
  EXPECT_EQ(out.status, 500);
  EXPECT_EQ(out.body.find("secret"), std::string::npos);
}

}  // namespace
}  // namespace safestream::api

// safestream-api against the real stack (Kafka devbroker, PostgreSQL,
// Redis), through real HTTP and WebSocket clients. Every test scopes itself
// by unique ids, client addresses, sources and subscriptions.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <pqxx/pqxx>
#include <zlib.h>
#include <cstring>
#include <fstream>
#include <sstream>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "core/kafka.h"
#include "core/redis_client.h"
#include "core/report_codec.h"
#include "core/report_id.h"
#include "core/subscription.h"
#include "tests/integration/api/api_client.h"
#include "tests/support/stack_env.h"
#include "tests/support/wait.h"
#include "tests/support/gunzip.h"

namespace safestream {
namespace {

using nlohmann::json;
using testing::httpRequest;
using namespace std::chrono_literals;

std::string uniqueIp() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> d(1, 254);
  return "10." + std::to_string(d(rng)) + "." + std::to_string(d(rng)) + "." + std::to_string(d(rng));
}

// A point of its own per call, so near= queries see only this test's rows.
std::pair<double, double> uniquePoint() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> lat(20, 60), lon(-120, -70);
  return {lat(rng), lon(rng)};
}

std::string nowRfc3339(std::chrono::minutes ago = 0min) {
  return core::formatTimestamp(core::nowUtc() - ago);
}

std::string reportBody(double lat, double lon, const std::string& description, const std::string& category = "assault") {
  return json{{"category", category}, {"description", description}, {"lat", lat}, {"lon", lon},
              {"occurred_at", nowRfc3339(10min)}}
      .dump();
}

class ApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
    testing::requireStackEnv("SAFESTREAM_PG_URL");
    testing::requireStackEnv("SAFESTREAM_REDIS_URL");
    api_ = new testing::ApiDaemon({"--trust-proxy", "--rate-limit-per-minute", "60", "--rate-limit-burst", "5",
                                   "--request-timeout-ms", "1500", "--ws-max-queue", "8", "--ws-ping-seconds", "2",
                                   "--max-body-bytes", "65536"});
  }
  static void TearDownTestSuite() {
    delete api_;
    api_ = nullptr;
  }

  // Each test a client address of its own, so the shared rate limit never interferes.
  std::map<std::string, std::string> jsonHeaders(std::map<std::string, std::string> extra = {}) {
    extra["content-type"] = "application/json";
    extra["x-forwarded-for"] = ip_;
    return extra;
  }

  testing::HttpResult post(const std::string& target, const std::string& body, std::map<std::string, std::string> h = {}) {
    return httpRequest(api_->port(), "POST", target, body, jsonHeaders(std::move(h)));
  }
  testing::HttpResult get(const std::string& target, std::map<std::string, std::string> h = {}) {
    h["x-forwarded-for"] = ip_;
    return httpRequest(api_->port(), "GET", target, "", h);
  }

  std::pair<std::string, std::string> createSubscription(double lat, double lon) {
    auto r = post("/v1/subscriptions", json{{"area", {{"type", "circle"}, {"lat", lat}, {"lon", lon}, {"radius_m", 1500}}},
                                            {"categories", {"assault", "robbery"}},
                                            {"min_severity", 1}}
                                           .dump());
    EXPECT_EQ(r.status, 201) << r.body;
    auto d = json::parse(r.body);
    return {d.at("id"), d.at("token")};
  }

  // What the processor does for an alert: XADD to the stream, then PUBLISH with the cursor.
  std::string publishAlert(core::RedisClient& redis, const std::string& subscriptionId, const std::string& reportId,
                           const std::string& padding = {}) {
    json alert{{"alert_id", core::randomUuid()}, {"type", "report"}, {"subscription_id", subscriptionId},
               {"created_at", nowRfc3339()}, {"report_id", reportId}, {"category", "assault"}, {"severity", 3}};
    if (!padding.empty()) alert["description"] = padding;
    auto id = redis.command({"XADD", "safestream:alerts:" + subscriptionId, "*", "alert", alert.dump()});
    EXPECT_TRUE(id.ok());
    alert["cursor"] = id->str;
    EXPECT_TRUE(redis.command({"PUBLISH", "safestream:alerts:live:" + subscriptionId, alert.dump()}).ok());
    return id->str;
  }

  static testing::ApiDaemon* api_;
  std::string ip_ = uniqueIp();
};

testing::ApiDaemon* ApiTest::api_ = nullptr;

TEST_F(ApiTest, PostedReportIsOnReportsRawBeforeThe202) {
  auto [lat, lon] = uniquePoint();
  const std::string marker = "api-test " + core::randomUuid();
  auto body = json::parse(reportBody(lat, lon, marker));
  body["contact"] = "555-0100 private";
  auto r = post("/v1/reports", body.dump());
  ASSERT_EQ(r.status, 202) << r.body;
  const std::string id = json::parse(r.body).at("id");
  EXPECT_EQ(r.header("location"), "/v1/reports/" + id);
  EXPECT_EQ(r.body.find("555-0100"), std::string::npos);

  core::KafkaConsumer consumer({testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP"), {}},
                               core::ConsumerOptions{.groupId = "api-test-" + core::randomUuid(), .topics = {"reports.raw"}});
  std::optional<core::Report> found;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        for (auto& m : consumer.poll(500, 200ms)) {
          if (m.key != id) continue;
          auto rep = core::decodeReport(m.value);
          EXPECT_TRUE(rep.ok()) << m.value;
          if (rep.ok()) found = *rep;
        }
        return found.has_value();
      },
      30s, 1ms))
      << "report " << id << " not found on reports.raw";
  EXPECT_EQ(found->source, "citizen");
  EXPECT_EQ(found->description, marker);
  EXPECT_EQ(found->category, "assault");
  EXPECT_EQ(found->contact, "555-0100 private") << "the processor needs the contact to store it privately";
  EXPECT_EQ(found->id, core::reportIdFor("citizen", found->sourceId));
}

TEST_F(ApiTest, IdempotencyKeyRetryReturnsTheSameId) {
  auto [lat, lon] = uniquePoint();
  const std::string body = reportBody(lat, lon, "idempotent " + core::randomUuid());
  const std::string key = "key-" + core::randomUuid();
  auto first = post("/v1/reports", body, {{"idempotency-key", key}});
  auto second = post("/v1/reports", body, {{"idempotency-key", key}});
  ASSERT_EQ(first.status, 202) << first.body;
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(json::parse(first.body)["id"], json::parse(second.body)["id"]);
  EXPECT_EQ(second.header("idempotent-replayed"), "true");
  auto other = post("/v1/reports", reportBody(lat, lon, "another body"), {{"idempotency-key", key}});
  EXPECT_EQ(other.status, 422) << other.body;
}

TEST_F(ApiTest, RateLimitIsSharedAcrossInstancesThroughRedis) {
  // Two instances of their own at one token a minute: at 60 a minute a token
  // came back within the second the five POSTs take on a loaded machine, and
  // the sixth was accepted (seen in CI).
  const std::vector<std::string> slow = {"--trust-proxy", "--rate-limit-per-minute", "1", "--rate-limit-burst", "5"};
  testing::ApiDaemon first(slow);
  testing::ApiDaemon second(slow);
  auto [lat, lon] = uniquePoint();
  const std::string body = reportBody(lat, lon, "rate " + core::randomUuid());
  int accepted = 0;
  for (int i = 0; i < 5; ++i) {
    int port = i % 2 == 0 ? first.port() : second.port();
    auto r = httpRequest(port, "POST", "/v1/reports", body, jsonHeaders());
    accepted += r.status == 202;
  }
  EXPECT_EQ(accepted, 5);
  auto limited = httpRequest(second.port(), "POST", "/v1/reports", body, jsonHeaders());
  ASSERT_EQ(limited.status, 429) << limited.body;
  EXPECT_GE(std::stoi(limited.header("retry-after")), 1);
  EXPECT_EQ(json::parse(limited.body)["error"]["code"], "rate_limited");
  // Another client is not affected.
  ip_ = uniqueIp();
  EXPECT_EQ(httpRequest(api_->port(), "POST", "/v1/reports", body, jsonHeaders()).status, 202);
}

struct WireCase {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;
  int status;
};

TEST_F(ApiTest, BadRequestsGetJsonErrorsAndTheServerKeepsServing) {
  auto [lat, lon] = uniquePoint();
  auto [subId, token] = createSubscription(lat, lon);
  auto [otherId, otherToken] = createSubscription(lat, lon);
  auto good = json::parse(reportBody(lat, lon, "fine"));
  auto with = [&](const std::string& k, json v) {
    auto d = good;
    d[k] = std::move(v);
    return d.dump();
  };
  const std::vector<WireCase> cases = {
      {"malformed json", "POST", "/v1/reports", "{\"category\":", {}, 400},
      {"wrong type", "POST", "/v1/reports", with("lat", "north"), {}, 400},
      {"lat 91", "POST", "/v1/reports", with("lat", 91), {}, 400},
      {"sql in a string", "POST", "/v1/reports", with("category", "x'); DROP TABLE reports; --"), {}, 400},
      {"script in a string", "POST", "/v1/reports", with("category", "<script>alert(1)</script>"), {}, 400},
      {"unknown field", "POST", "/v1/reports", with("is_admin", true), {}, 400},
      {"huge body", "POST", "/v1/reports", std::string(200 * 1024, ' '), {}, 413},
      {"sql in a path", "GET", "/v1/reports/1%27%20OR%20%271%27=%271", "", {}, 404},
      {"sql in a query", "GET", "/v1/reports?category=theft%27%20OR%201=1--", "", {}, 400},
      {"missing token", "GET", "/v1/subscriptions/" + subId, "", {}, 401},
      {"foreign token", "GET", "/v1/subscriptions/" + subId, "", {{"authorization", "Bearer " + otherToken}}, 403},
      {"malformed token", "GET", "/v1/subscriptions/" + subId, "", {{"authorization", "Bearer ' OR 1=1"}}, 403},
      {"alerts without token", "GET", "/v1/subscriptions/" + subId + "/alerts", "", {}, 401},
      {"unknown route", "GET", "/v1/admin", "", {}, 404},
      {"wrong method", "DELETE", "/v1/reports", "", {}, 405},
  };
  for (const auto& c : cases) {
    ip_ = uniqueIp();  // invalid requests count against the rate limit too
    auto h = jsonHeaders(c.headers);
    auto r = httpRequest(api_->port(), c.method, c.target, c.body, h);
    EXPECT_EQ(r.status, c.status) << c.name << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json") << c.name;
    auto d = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(d.is_discarded()) << c.name << ": " << r.body;
    EXPECT_TRUE(d["error"]["code"].is_string()) << c.name << ": " << r.body;
    EXPECT_EQ(r.body.find("<script>"), std::string::npos) << c.name;
    EXPECT_EQ(r.body.find("what()"), std::string::npos) << c.name;
  }

  // Slowloris: headers promise a body that trickles in; the server answers
  // 408 after --request-timeout-ms (1.5 s) instead of holding the connection.
  const std::string head = "POST /v1/reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Forwarded-For: " +
                           ip_ + "\r\nContent-Length: 500\r\n\r\n";
  std::vector<std::string> pieces = {head};
  for (int i = 0; i < 8; ++i) pieces.push_back("{");
  auto slow = testing::rawExchange(api_->port(), pieces, 400ms, 8s);
  EXPECT_NE(slow.find("HTTP/1.1 408"), std::string::npos) << slow;
  EXPECT_NE(slow.find("\"request_timeout\""), std::string::npos) << slow;

  // Slow headers too.
  auto slowHeaders = testing::rawExchange(api_->port(), {"GET /v1/rep", "orts HT", "TP/1.1\r\n", "Host: x\r\n"}, 700ms, 8s);
  EXPECT_NE(slowHeaders.find("HTTP/1.1 408"), std::string::npos) << slowHeaders;

  // Not HTTP at all.
  auto garbage = testing::rawExchange(api_->port(), {"\x16\x03\x01 hello there\r\n\r\n"}, 0ms, 3s);
  EXPECT_NE(garbage.find("HTTP/1.1 400"), std::string::npos) << garbage;
  EXPECT_NE(garbage.find("\"error\""), std::string::npos) << garbage;

  // Refusals before routing are counted too.
  auto metricsText = get("/metrics").body;
  EXPECT_GE(testing::metricValue(metricsText, "safestream_api_requests_total{method=\"-\",route=\"transport\",status=\"408\"}"), 2)
      << metricsText.substr(0, 2000);
  EXPECT_GE(testing::metricValue(metricsText, "safestream_api_requests_total{method=\"-\",route=\"transport\",status=\"413\"}"), 1);

  // Still serving, and nothing crashed.
  ip_ = uniqueIp();
  EXPECT_TRUE(api_->process().running()) << api_->logTail();
  EXPECT_EQ(get("/healthz").status, 200);
  EXPECT_EQ(post("/v1/reports", good.dump()).status, 202);
}

class PgRows {
 public:
  PgRows() : conn_(testing::requireStackEnv("SAFESTREAM_PG_URL")) {}
  // A row as the processor would write it, with a private contact.
  std::string insert(const std::string& source, double lat, double lon, const std::string& occurredAt,
                     const std::string& category = "theft") {
    const std::string sourceId = core::randomUuid();
    const std::string id = core::reportIdFor(source, sourceId).value;
    pqxx::work tx(conn_);
    tx.exec_params(
        "INSERT INTO reports (id, source, source_id, raw_type, category, severity, description, occurred_at, "
        "reported_at, lat, lon, contact, raw) VALUES ($1, $2, $3, 'THEFT', $4, 2, 'seen by test', $5::timestamptz, "
        "$5::timestamptz, $6, $7, 'secret-contact@example.com', '{\"secret\":1}')",
        id, source, sourceId, category, occurredAt, lat, lon);
    tx.commit();
    return id;
  }
  void cleanup(const std::string& source) {
    pqxx::work tx(conn_);
    tx.exec_params("DELETE FROM reports WHERE source = $1", source);
    tx.commit();
  }
  pqxx::connection& conn() { return conn_; }

 private:
  pqxx::connection conn_;
};

TEST_F(ApiTest, ReportsFromPostgresWithKeysetPagesGeoJsonAndNoPrivateFields) {
  PgRows pg;
  const std::string source = "apitest-" + core::randomUuid().substr(0, 8);
  auto [lat, lon] = uniquePoint();
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    // 100 m apart going north, one hour apart.
    ids.push_back(pg.insert(source, lat + i * 0.0009, lon, nowRfc3339(std::chrono::minutes(60 * (i + 1)))));
  }
  pg.insert(source, lat + 0.1, lon, nowRfc3339(30min));  // 11 km away: outside every near= below

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    std::string target = "/v1/reports?near=" + std::to_string(lat) + "," + std::to_string(lon) +
                         "&radius=1000&limit=2&source=" + source + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto r = get(target);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body.find("secret"), std::string::npos) << "private field leaked: " << r.body;
    auto d = json::parse(r.body);
    for (const auto& rep : d["reports"]) {
      seen.push_back(rep["id"]);
      EXPECT_LE(rep["distance_m"].get<double>(), 1000.0);
    }
    if (d["next_cursor"].is_null()) break;
    cursor = d["next_cursor"];
  }
  EXPECT_EQ(seen, ids) << "newest first, each once, the far one excluded";

  auto narrow = get("/v1/reports?near=" + std::to_string(lat) + "," + std::to_string(lon) + "&radius=150&source=" + source);
  ASSERT_EQ(narrow.status, 200);
  EXPECT_EQ(json::parse(narrow.body)["reports"].size(), 2u) << "exact distance, not just the bounding box";

  char bbox[200];
  std::snprintf(bbox, sizeof bbox, "%.6f,%.6f,%.6f,%.6f", lon - 0.01, lat - 0.0001, lon + 0.01, lat + 0.0019);
  auto geo = get(std::string("/v1/reports?bbox=") + bbox + "&source=" + source, {{"accept", "application/geo+json"}});
  ASSERT_EQ(geo.status, 200) << geo.body;
  EXPECT_EQ(geo.header("content-type"), "application/geo+json");
  auto g = json::parse(geo.body);
  EXPECT_EQ(g["type"], "FeatureCollection");
  ASSERT_EQ(g["features"].size(), 3u);
  EXPECT_NEAR(g["features"][0]["geometry"]["coordinates"][0].get<double>(), lon, 1e-6);
  EXPECT_NEAR(g["features"][0]["geometry"]["coordinates"][1].get<double>(), lat, 1e-6);

  auto one = get("/v1/reports/" + ids[2]);
  ASSERT_EQ(one.status, 200) << one.body;
  EXPECT_EQ(json::parse(one.body)["id"], ids[2]);
  EXPECT_EQ(one.body.find("secret"), std::string::npos);
  auto open311 = get("/open311/v2/requests/" + ids[2] + ".json");
  ASSERT_EQ(open311.status, 200);
  EXPECT_EQ(json::parse(open311.body)[0]["service_request_id"], ids[2]);
  EXPECT_EQ(open311.body.find("secret"), std::string::npos);
  auto list = get("/open311/v2/requests.json?service_request_id=" + ids[0] + "," + ids[4] + ",not-an-id");
  ASSERT_EQ(list.status, 200) << list.body;
  auto requests = json::parse(list.body);
  ASSERT_EQ(requests.size(), 2u) << list.body;
  EXPECT_EQ(requests[0]["service_request_id"], ids[0]);
  EXPECT_EQ(requests[1]["service_request_id"], ids[4]);
  EXPECT_EQ(requests[0]["service_code"], "theft");
  EXPECT_NEAR(requests[0]["lat"].get<double>(), lat, 1e-6);
  EXPECT_NEAR(requests[0]["long"].get<double>(), lon, 1e-6);
  pg.cleanup(source);
}

using safestream::testing::gunzip;

// duplicate_of as the processor sets it, on rows the test inserted; the API
// reads both directions from PostgreSQL.
TEST_F(ApiTest, ReportDetailLinksDuplicatesBothWaysFromPostgres) {
  PgRows pg;
  const std::string source = "apitest-" + core::randomUuid().substr(0, 8);
  auto [lat, lon] = uniquePoint();
  const std::string root = pg.insert(source, lat, lon, nowRfc3339(40min));
  const std::string later = pg.insert(source, lat + 0.0002, lon, nowRfc3339(20min));
  const std::string earlier = pg.insert(source, lat, lon + 0.0002, nowRfc3339(30min));
  const std::string alone = pg.insert(source, lat + 0.01, lon, nowRfc3339(40min));
  {
    pqxx::work tx(pg.conn());
    tx.exec_params("UPDATE reports SET duplicate_of = $1::uuid WHERE id = ANY($2::uuid[])", root,
                   "{" + later + "," + earlier + "}");
    tx.commit();
  }
  auto r = get("/v1/reports/" + root);
  ASSERT_EQ(r.status, 200) << r.body;
  auto d = json::parse(r.body);
  EXPECT_EQ(d["id"], root);
  EXPECT_TRUE(d["duplicate_of"].is_null()) << r.body;
  ASSERT_EQ(d["duplicates"].size(), 2u) << r.body;
  EXPECT_EQ(d["duplicates"][0]["id"], earlier) << "oldest first";
  EXPECT_EQ(d["duplicates"][1]["id"], later);
  EXPECT_EQ(d["duplicates"][0]["source"], source);
  EXPECT_EQ(d["duplicates"][1]["occurred_at"], json::parse(get("/v1/reports/" + later).body)["occurred_at"]);
  EXPECT_EQ(d["duplicates_more"], false);
  EXPECT_EQ(r.body.find("secret"), std::string::npos) << "private field leaked: " << r.body;

  auto dup = json::parse(get("/v1/reports/" + later).body);
  EXPECT_EQ(dup["duplicate_of"]["id"], root) << dup.dump();
  EXPECT_EQ(dup["duplicate_of"]["source"], source);
  EXPECT_EQ(dup["duplicate_of"]["url"], "/v1/reports/" + root);
  EXPECT_EQ(dup["duplicate_of"]["occurred_at"], d["occurred_at"]);
  EXPECT_TRUE(dup["duplicates"].empty());

  auto one = json::parse(get("/v1/reports/" + alone).body);
  EXPECT_TRUE(one["duplicate_of"].is_null());
  EXPECT_TRUE(one["duplicates"].empty());

  // A root with more duplicates than are listed.
  {
    pqxx::work tx(pg.conn());
    for (int i = 0; i < 22; ++i) {
      tx.exec_params(
          "INSERT INTO reports (id, source, source_id, raw_type, category, occurred_at, reported_at, lat, lon, "
          "duplicate_of) VALUES ($1::uuid, $2, $3, 'THEFT', 'theft', now() - interval '10 minutes', now(), $4, $5, "
          "$6::uuid)",
          core::randomUuid(), source, core::randomUuid(), lat, lon, alone);
    }
    tx.commit();
  }
  auto flood = json::parse(get("/v1/reports/" + alone).body);
  EXPECT_EQ(flood["duplicates"].size(), 20u);
  EXPECT_EQ(flood["duplicates_more"], true);
  pg.cleanup(source);
}

TEST_F(ApiTest, JsonAnswersAreGzippedWhenAcceptedAndWorthIt) {
  PgRows pg;
  const std::string source = "apitest-" + core::randomUuid().substr(0, 8);
  auto [lat, lon] = uniquePoint();
  for (int i = 0; i < 30; ++i) pg.insert(source, lat + i * 0.0001, lon, nowRfc3339(std::chrono::minutes(5 + i)));
  const std::string page = "/v1/reports?near=" + std::to_string(lat) + "," + std::to_string(lon) + "&radius=2000&source=" + source;
  auto plain = get(page);
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.header("content-encoding"), "");
  EXPECT_EQ(plain.header("vary"), "Accept-Encoding") << "caches must keep the two forms apart";
  ASSERT_GT(plain.body.size(), 5000u);
  auto gz = get(page, {{"accept-encoding", "gzip, deflate, br"}});
  ASSERT_EQ(gz.status, 200);
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_EQ(gz.header("vary"), "Accept-Encoding");
  EXPECT_EQ(gz.header("content-type"), "application/json");
  EXPECT_LT(gz.body.size() * 3, plain.body.size()) << gz.body.size() << " of " << plain.body.size();
  EXPECT_EQ(gunzip(gz.body), plain.body);
  std::cout << "[ measure  ] a page of 30 reports: " << plain.body.size() << " bytes, " << gz.body.size()
            << " gzipped\n";
  // GeoJSON too; q=0 refuses; a small answer is not worth it.
  auto geo = get(page, {{"accept-encoding", "gzip"}, {"accept", "application/geo+json"}});
  EXPECT_EQ(geo.header("content-encoding"), "gzip");
  EXPECT_EQ(json::parse(gunzip(geo.body))["type"], "FeatureCollection");
  EXPECT_EQ(get(page, {{"accept-encoding", "gzip;q=0"}}).header("content-encoding"), "");
  auto small = get("/v1/web-config", {{"accept-encoding", "gzip"}});
  ASSERT_EQ(small.status, 200);
  EXPECT_EQ(small.header("content-encoding"), "");
  EXPECT_TRUE(json::accept(small.body));
  pg.cleanup(source);
}

TEST_F(ApiTest, SubscriptionCrudStoresOnlyTheTokenHash) {
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  PgRows pg;
  {
    pqxx::read_transaction tx(pg.conn());
    auto row = tx.exec_params1("SELECT token_hash, radius_m, categories::text FROM subscriptions WHERE id = $1", id);
    EXPECT_EQ(row[0].as<std::string>(), core::hashToken(token));
    EXPECT_NE(row[0].as<std::string>(), token);
    EXPECT_EQ(row[1].as<double>(), 1500);
  }
  std::map<std::string, std::string> auth = {{"authorization", "Bearer " + token}};
  auto got = get("/v1/subscriptions/" + id, auth);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(got.body.find(token), std::string::npos);
  auto patched = httpRequest(api_->port(), "PATCH", "/v1/subscriptions/" + id,
                             R"({"min_severity":3,"area":{"type":"neighbourhood","name":"LOOP"}})", jsonHeaders(auth));
  ASSERT_EQ(patched.status, 200) << patched.body;
  {
    pqxx::read_transaction tx(pg.conn());
    auto row = tx.exec_params1("SELECT area_type, neighbourhood, min_severity, radius_m IS NULL FROM subscriptions WHERE id = $1", id);
    EXPECT_EQ(row[0].as<std::string>(), "neighbourhood");
    EXPECT_EQ(row[1].as<std::string>(), "LOOP");
    EXPECT_EQ(row[2].as<int>(), 3);
    EXPECT_TRUE(row[3].as<bool>());
  }
  auto del = httpRequest(api_->port(), "DELETE", "/v1/subscriptions/" + id, "", jsonHeaders(auth));
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(get("/v1/subscriptions/" + id, auth).status, 404);
}

TEST_F(ApiTest, AlertHistoryPagesTheRedisStream) {
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  std::vector<std::string> cursors;
  for (int i = 0; i < 5; ++i) cursors.push_back(publishAlert(redis, id, core::randomUuid()));
  std::map<std::string, std::string> auth = {{"authorization", "Bearer " + token}};
  auto p1 = get("/v1/subscriptions/" + id + "/alerts?limit=3", auth);
  ASSERT_EQ(p1.status, 200) << p1.body;
  auto d1 = json::parse(p1.body);
  ASSERT_EQ(d1["alerts"].size(), 3u);
  EXPECT_EQ(d1["alerts"][0]["cursor"], cursors[0]);
  EXPECT_EQ(d1["next_cursor"], cursors[2]);
  auto p2 = get("/v1/subscriptions/" + id + "/alerts?after=" + cursors[2], auth);
  auto d2 = json::parse(p2.body);
  ASSERT_EQ(d2["alerts"].size(), 2u);
  EXPECT_EQ(d2["alerts"][0]["cursor"], cursors[3]);
  EXPECT_EQ(d2["alerts"][1]["cursor"], cursors[4]);
  redis.command({"DEL", "safestream:alerts:" + id}).value();
}

TEST_F(ApiTest, WebSocketPushesLiveAlertsAndResumesWithoutAGap) {
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});

  // A refused upgrade is an HTTP JSON error.
  std::map<std::string, std::string> upgrade = {{"connection", "Upgrade"}, {"upgrade", "websocket"},
                                                {"sec-websocket-version", "13"},
                                                {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  auto denied = httpRequest(api_->port(), "GET", "/v1/subscriptions/" + id + "/live?token=wrong", "", upgrade);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(json::parse(denied.body, nullptr, false)["error"]["code"], "forbidden") << denied.body;
  auto noToken = httpRequest(api_->port(), "GET", "/v1/subscriptions/" + id + "/live", "", upgrade);
  EXPECT_EQ(noToken.status, 401) << noToken.body;

  testing::WsClient ws;
  ASSERT_EQ(ws.connect(api_->port(), "/v1/subscriptions/" + id + "/live", {{"authorization", "Bearer " + token}}), 101);
  // The server registers the session right after the handshake; publish
  // until the first frame arrives (an alert published before registration
  // is in the stream, not live, and a fresh connection starts at the end).
  std::optional<std::string> first;
  std::string firstCursor;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        firstCursor = publishAlert(redis, id, "first");
        first = ws.read(300ms);
        return first.has_value() || ws.closed();
      },
      10s, 1ms));
  ASSERT_TRUE(first) << "no live frame";
  auto f = json::parse(*first);
  EXPECT_EQ(f["subscription_id"], id);
  ASSERT_TRUE(f["cursor"].is_string());
  std::string last = f["cursor"];
  // Drain any further "first" frames the retry loop produced.
  while (auto more = ws.read(300ms)) last = json::parse(*more)["cursor"];
  ws.close();

  // Published while the client is away.
  std::vector<std::string> missed;
  for (int i = 0; i < 3; ++i) missed.push_back(publishAlert(redis, id, "missed-" + std::to_string(i)));

  testing::WsClient again;
  ASSERT_EQ(again.connect(api_->port(), "/v1/subscriptions/" + id + "/live?token=" + token,
                          {{"last-event-id", last}}),
            101);
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i) {
    auto frame = again.read(5s);
    ASSERT_TRUE(frame) << "resume frame " << i << " missing";
    got.push_back(json::parse(*frame)["cursor"]);
  }
  EXPECT_EQ(got, missed) << "resume must replay exactly what was missed, in order";
  // And live continues on the resumed connection, without duplicates.
  const std::string live = publishAlert(redis, id, "after-resume");
  auto next = again.read(5s);
  ASSERT_TRUE(next);
  EXPECT_EQ(json::parse(*next)["cursor"], live);
  EXPECT_FALSE(again.read(500ms)) << "duplicate frame";
  redis.command({"DEL", "safestream:alerts:" + id}).value();
}

TEST_F(ApiTest, WebSocketClientThatDoesNotReadIsClosed) {
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  auto metrics = [&] { return testing::httpGet("http://127.0.0.1:" + std::to_string(api_->port()) + "/metrics").second; };
  const double before = testing::metricValue(metrics(), "safestream_api_websocket_slow_disconnects_total");

  testing::WsClient ws;
  ws.setSmallReceiveBuffer();
  ASSERT_EQ(ws.connect(api_->port(), "/v1/subscriptions/" + id + "/live?token=" + token), 101);
  ASSERT_TRUE(testing::waitUntil([&] { return ws.read(200ms).has_value() || (publishAlert(redis, id, "warm-up"), false); }, 10s, 1ms));
  // The client stops reading; 64 KB alerts fill the socket buffers and then the queue (8).
  const std::string padding(64 * 1024, 'x');
  int published = 0;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        for (int i = 0; i < 20; ++i, ++published) publishAlert(redis, id, "flood", padding);
        return testing::metricValue(metrics(), "safestream_api_websocket_slow_disconnects_total") > before;
      },
      30s, 10ms))
      << "no slow-client disconnect after " << published << " alerts";
  // The client, reading again, sees the connection end (close frame 1008 or dropped).
  int frames = 0;
  ASSERT_TRUE(testing::waitUntil([&] {
    if (ws.read(1s)) ++frames;
    return ws.closed();
  }, 30s, 1ms));
  EXPECT_LT(frames, published);
  if (ws.closeCode() != 0) {
    EXPECT_EQ(ws.closeCode(), 1008);
  }
  EXPECT_EQ(get("/healthz").status, 200);
  redis.command({"DEL", "safestream:alerts:" + id}).value();  // megabytes of padding
}

// --ws-ping-seconds 2: a live client that answers pings (Beast does while
// reading) stays connected through silence; a peer that never answers is
// pinged and then dropped.
TEST_F(ApiTest, WebSocketKeepAlivePingsAndDropsSilentPeers) {
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  testing::WsClient alive;
  ASSERT_EQ(alive.connect(api_->port(), "/v1/subscriptions/" + id + "/live?token=" + token), 101);

  const std::string upgrade = "GET /v1/subscriptions/" + id + "/live?token=" + token +
                              " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                              "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  // rawExchange reads until the server closes: the silent peer's whole life.
  // Meanwhile the answering client keeps reading (that is when it answers pings).
  std::string silent;
  std::chrono::steady_clock::duration lived{};
  std::atomic<bool> done{false};
  std::thread peer([&] {
    silent = testing::rawExchange(api_->port(), {upgrade}, 0ms, 20s);
    lived = std::chrono::steady_clock::now() - start;
    done = true;
  });
  while (!done) EXPECT_FALSE(alive.read(200ms)) << "no alerts were published";
  peer.join();
  ASSERT_NE(silent.find("HTTP/1.1 101"), std::string::npos) << silent;
  const auto body = silent.substr(silent.find("\r\n\r\n") + 4);
  ASSERT_FALSE(body.empty());
  EXPECT_EQ(static_cast<unsigned char>(body[0]), 0x89) << "the first frame to a silent peer is a ping";
  EXPECT_LT(lived, 15s) << "a peer that never answers pings must be dropped";
  EXPECT_GE(lived, 3s) << "dropped before the ping timeout";

  // The answering client survived the same silence.
  EXPECT_FALSE(alive.closed()) << "a client answering pings was dropped";
  core::RedisClient redis({testing::requireStackEnv("SAFESTREAM_REDIS_URL")});
  const std::string cursor = publishAlert(redis, id, "still-there");
  auto frame = alive.read(5s);
  ASSERT_TRUE(frame);
  EXPECT_EQ(json::parse(*frame)["cursor"], cursor);
}

TEST_F(ApiTest, Open311ClientsWorkUnchanged) {
  auto services = get("/open311/v2/services.json");
  ASSERT_EQ(services.status, 200);
  auto list = json::parse(services.body);
  ASSERT_TRUE(list.is_array());
  ASSERT_GT(list.size(), 3u);
  for (const auto& s : list) {
    EXPECT_TRUE(s["service_code"].is_string());
    EXPECT_TRUE(s["service_name"].is_string());
    EXPECT_TRUE(s["metadata"].is_boolean());
    EXPECT_TRUE(s["type"].is_string());
  }
  auto [lat, lon] = uniquePoint();
  char form[300];
  std::snprintf(form, sizeof form,
                "api_key=anything&service_code=theft&lat=%.6f&long=%.6f&address_string=1+Main+St&description=bike+stolen&email=a%%40b.example",
                lat, lon);
  auto r = httpRequest(api_->port(), "POST", "/open311/v2/requests.json", form,
                       {{"content-type", "application/x-www-form-urlencoded"}, {"x-forwarded-for", ip_}});
  ASSERT_EQ(r.status, 201) << r.body;
  auto created = json::parse(r.body);
  ASSERT_TRUE(created.is_array());
  EXPECT_TRUE(core::isUuid(created[0]["service_request_id"].get<std::string>()));
  auto bad = httpRequest(api_->port(), "POST", "/open311/v2/requests.json", "service_code=nope&lat=1&long=1",
                         {{"content-type", "application/x-www-form-urlencoded"}, {"x-forwarded-for", ip_}});
  EXPECT_EQ(bad.status, 400);
  auto e = json::parse(bad.body);
  ASSERT_TRUE(e.is_array());
  EXPECT_EQ(e[0]["code"], 400);
  EXPECT_TRUE(e[0]["description"].is_string());
}

TEST_F(ApiTest, OperatorEndpointsAndSpec) {
  EXPECT_EQ(get("/healthz").status, 200);
  auto ready = get("/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  auto admin = testing::httpGet("http://127.0.0.1:" + std::to_string(api_->metricsPort()) + "/healthz");
  EXPECT_EQ(admin.first, 200);
  get("/v1/reports?limit=1");
  auto m = get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("safestream_api_requests_total{method=\"GET\",route=\"/v1/reports\",status=\"200\"}"),
            std::string::npos);
  EXPECT_NE(m.body.find("safestream_api_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("safestream_api_websockets_open"), std::string::npos);
  EXPECT_NE(m.body.find("safestream_api_alerts_pushed_total"), std::string::npos);
  auto spec = get("/openapi.yaml");
  ASSERT_EQ(spec.status, 200);
  std::ifstream in(testing::sourcePath("schemas/openapi.yaml"));
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(spec.body, file.str());
}

// Every operation in schemas/openapi.yaml is served (not 404 "no route" or
// 405); the unit test checks the other direction.
TEST_F(ApiTest, EveryDocumentedOperationIsServed) {
  std::ifstream in(testing::sourcePath("schemas/openapi.yaml"));
  std::string line, path;
  bool inPaths = false;
  int checked = 0;
  while (std::getline(in, line)) {
    if (line == "paths:") inPaths = true;
    if (!inPaths) continue;
    if (line.rfind("  /", 0) == 0 && line.back() == ':') {
      path = line.substr(2, line.size() - 3);
      continue;
    }
    if (line.size() < 5 || line.rfind("    ", 0) != 0 || line[4] == ' ') continue;
    std::string method = line.substr(4, line.find(':') - 4);
    if (method != "get" && method != "post" && method != "patch" && method != "delete") continue;
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string target = path;
    for (const char* p : {"{id}", "{code}"}) {
      if (auto at = target.find(p); at != std::string::npos) target.replace(at, std::strlen(p), core::randomUuid());
    }
    ip_ = uniqueIp();
    auto r = httpRequest(api_->port(), method, target, "", jsonHeaders());
    EXPECT_NE(r.status, 0) << method << " " << target;
    EXPECT_NE(r.status, 405) << method << " " << target << ": " << r.body;
    EXPECT_EQ(r.body.find("no route for"), std::string::npos) << method << " " << target << ": " << r.body;
    ++checked;
  }
  EXPECT_GT(checked, 15);
}

// The whole path: POST -> reports.raw -> safestream-processor -> PostgreSQL
// and Redis -> the API's WebSocket; then a reconnect with the last cursor
// gets what was published while away.
// The shared reports.raw may hold a large backlog (imports, other tests);
// a fresh group would start at its beginning. This commits the current end
// of every partition for `groupId`: it joins the group, learns the
// partitions, and sends small valid marker reports (far out at sea) until
// each partition has reported its end offset.
void startGroupAtEnd(const std::string& groupId) {
  const core::KafkaSettings kafka{testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP"), {}};
  core::KafkaConsumer consumer(kafka, core::ConsumerOptions{.groupId = groupId, .topics = {"reports.raw"},
                                                            .autoOffsetReset = "latest"});
  ASSERT_TRUE(testing::waitUntil([&] {
    consumer.poll(10, 100ms);
    return !consumer.assignment().empty();
  }, 30s, 1ms));
  const std::size_t partitions = consumer.assignment().size();
  core::KafkaProducer producer(kafka, {});
  core::OffsetMap ends;
  for (int i = 0; i < 500 && ends.size() < partitions; ++i) {
    core::Report marker;
    marker.source = "citizen";
    marker.sourceId = core::randomUuid();
    marker.id = core::reportIdFor("citizen", marker.sourceId);
    marker.rawType = "other";
    marker.category = "other";
    marker.description = "api e2e offset marker";
    marker.occurredAt = marker.reportedAt = core::nowUtc();
    marker.location = core::GeoPoint{-45.0, 170.0};
    auto res = producer.sendAndWait({{"reports.raw", marker.id.value, core::encodeReport(marker), {}}}, 10s);
    ASSERT_TRUE(res.at(0).ok) << res.at(0).error;
    auto& end = ends[{"reports.raw", res[0].partition}];
    end = std::max(end, res[0].offset + 1);
  }
  ASSERT_EQ(ends.size(), partitions);
  ASSERT_TRUE(consumer.commit(ends).ok());
  consumer.close();
}

TEST_F(ApiTest, EndToEndSubmitReachesPostgresAndTheLiveWebSocket) {
  const std::string group = "api-e2e-" + core::randomUuid();
  startGroupAtEnd(group);
  testing::DaemonProcess processor(testing::binaryPath("processor/safestream-processor"),
                                   {"--group-id", group, "--metrics-port",
                                    std::to_string(testing::freePort()), "--log-level", "info"});
  processor.start();
  auto [lat, lon] = uniquePoint();
  auto [id, token] = createSubscription(lat, lon);
  testing::WsClient ws;
  ASSERT_EQ(ws.connect(api_->port(), "/v1/subscriptions/" + id + "/live", {{"authorization", "Bearer " + token}}), 101);

  // Distinct category and place each time: the processor folds near-duplicates
  // into one alert (at most once per root report).
  auto submit = [&](const std::string& what, const std::string& category = "assault", double north = 0.001) {
    ip_ = uniqueIp();
    auto r = post("/v1/reports", reportBody(lat + north, lon, what, category));
    EXPECT_EQ(r.status, 202) << r.body;
    return json::parse(r.body).value("id", std::string());
  };
  auto inPostgres = [&](const std::string& reportId) {
    return testing::waitUntil([&] { return get("/v1/reports/" + reportId).status == 200; }, 60s, 100ms);
  };
  const std::string first = submit("e2e first " + core::randomUuid());
  // Keep reading the WebSocket while polling PostgreSQL: a client answers
  // the server's pings only while it reads (the suite pings every 2 s).
  bool stored = false;
  std::string cursor;
  testing::waitUntil(
      [&] {
        if (auto frame = ws.read(200ms)) {
          auto d = json::parse(*frame);
          if (d.value("report_id", "") == first) cursor = d.value("cursor", "");
        }
        if (!stored) stored = get("/v1/reports/" + first).status == 200;
        return stored && !cursor.empty();
      },
      90s, 1ms);
  ASSERT_TRUE(stored) << "report " << first << " never reached PostgreSQL through the processor\n" << processor.logTail();
  ASSERT_FALSE(cursor.empty()) << "no alert for report " << first << " on the subscription's WebSocket (closed: "
                               << ws.closed() << ")\n" << processor.logTail();
  ASSERT_FALSE(cursor.empty());
  ws.close();

  const std::string second = submit("e2e second " + core::randomUuid(), "robbery", -0.005);
  ASSERT_TRUE(inPostgres(second));
  testing::WsClient again;
  ASSERT_EQ(again.connect(api_->port(), "/v1/subscriptions/" + id + "/live?after=" + cursor + "&token=" + token), 101);
  bool resumed = false;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        auto frame = again.read(500ms);
        if (frame) resumed = json::parse(*frame).value("report_id", "") == second;
        return resumed;
      },
      30s, 1ms))
      << "the alert published while disconnected was not replayed";

  // The city's live feed (no token): a report posted in Chicago arrives as
  // a "report" event with its public fields.
  testing::WsClient feed;
  ASSERT_EQ(feed.connect(api_->port(), "/v1/live?city=chicago"), 101);
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_real_distribution<double> jitter(-0.01, 0.01);
  ip_ = uniqueIp();
  const std::string marker = "e2e live feed " + core::randomUuid();
  auto posted = post("/v1/reports", reportBody(41.8781 + jitter(rng), -87.6298 + jitter(rng), marker, "burglary"));
  ASSERT_EQ(posted.status, 202) << posted.body;
  const std::string inChicago = json::parse(posted.body).value("id", std::string());
  json event;
  ASSERT_TRUE(testing::waitUntil(
      [&] {
        auto frame = feed.read(500ms);
        if (!frame) return false;
        auto d = json::parse(*frame);
        if (d.value("type", "") != "report" || d["report"].value("id", "") != inChicago) return false;
        event = d;
        return true;
      },
      60s, 1ms))
      << "the Chicago report never reached /v1/live?city=chicago\n" << processor.logTail();
  EXPECT_EQ(event["channel"], "city:chicago");
  EXPECT_EQ(event["report"]["category"], "burglary");
  EXPECT_EQ(event["report"]["description"], marker);
  EXPECT_FALSE(event.value("cursor", "").empty()) << "resumable like every feed";
  EXPECT_EQ(processor.stop(std::chrono::seconds(30)), 0) << processor.logTail();
}

// PATCH {"paused": true} -> PostgreSQL -> NOTIFY -> the processor's index:
// a report inside the area alerts a second, unpaused subscription at the
// same place (so it was matched) but not the paused one; after the resume
// the next report alerts and the skipped one never does.
// Its reports go through an API and a topic of its own: a processor of
// another test (under ctest -j2) reading reports.raw would match them
// against its own view of the subscriptions.
TEST_F(ApiTest, PausedSubscriptionGetsNoAlertUntilResumedThroughTheProcessor) {
  const std::string tag = core::randomUuid();
  const std::string topic = "api.pause." + tag + ".raw";
  testing::ApiDaemon own({"--trust-proxy", "--topic", topic});
  const int metricsPort = testing::freePort();
  testing::DaemonProcess processor(testing::binaryPath("processor/safestream-processor"),
                                   {"--group-id", "api-pause-" + tag, "--raw-topic", topic, "--metrics-port",
                                    std::to_string(metricsPort), "--log-level", "info"});
  processor.start();
  // How many subscription changes the processor has applied to its index.
  auto changesApplied = [&] {
    auto m = httpRequest(metricsPort, "GET", "/metrics");
    return m.status == 200 ? testing::metricValue(m.body, "safestream_alert_subscription_changes_total") : -1.0;
  };
  ASSERT_TRUE(testing::waitUntil([&] { return changesApplied() >= 0; }, 30s, 100ms)) << processor.logTail();
  auto [lat, lon] = uniquePoint();
  double before = changesApplied();
  auto [paused, token] = createSubscription(lat, lon);
  auto [witness, witnessToken] = createSubscription(lat, lon);
  ASSERT_TRUE(testing::waitUntil([&] { return changesApplied() >= before + 2; }, 30s, 50ms)) << processor.logTail();

  const auto auth = std::map<std::string, std::string>{{"authorization", "Bearer " + token}};
  auto patch = [&](bool value) {
    before = changesApplied();
    auto r = httpRequest(api_->port(), "PATCH", "/v1/subscriptions/" + paused, json{{"paused", value}}.dump(),
                         jsonHeaders(auth));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body).value("paused", !value), value);
    // Applied by the processor before the next report is posted.
    EXPECT_TRUE(testing::waitUntil([&] { return changesApplied() >= before + 1; }, 30s, 50ms)) << processor.logTail();
  };
  std::string lastAnswer;  // of the alert history, for failure messages
  auto alertedReports = [&](const std::string& id, const std::string& tok) {
    std::set<std::string> out;
    auto r = get("/v1/subscriptions/" + id + "/alerts", {{"authorization", "Bearer " + tok}});
    lastAnswer = std::to_string(r.status) + " " + r.body.substr(0, 500);
    if (r.status != 200) return out;
    const json doc = json::parse(r.body);  // kept: a range-for over a temporary's member dangles
    for (const auto& a : doc["alerts"]) out.insert(a.value("report_id", ""));
    return out;
  };
  auto submit = [&](const std::string& category, double north) {
    ip_ = uniqueIp();
    auto r = httpRequest(own.port(), "POST", "/v1/reports",
                         reportBody(lat + north, lon, "pause test " + core::randomUuid(), category), jsonHeaders());
    EXPECT_EQ(r.status, 202) << r.body;
    return json::parse(r.body).value("id", std::string());
  };

  patch(true);
  auto shown = get("/v1/subscriptions/" + paused, auth);
  EXPECT_EQ(json::parse(shown.body)["paused"], true) << shown.body;
  const std::string skipped = submit("assault", 0.001);
  ASSERT_TRUE(testing::waitUntil([&] { return alertedReports(witness, witnessToken).count(skipped) == 1; }, 90s, 100ms))
      << "report " << skipped << " never alerted the unpaused subscription; its history: " << lastAnswer << "\n"
      << processor.logTail();
  EXPECT_TRUE(alertedReports(paused, token).empty()) << "a paused subscription got an alert";

  patch(false);
  EXPECT_EQ(json::parse(get("/v1/subscriptions/" + paused, auth).body)["paused"], false);
  const std::string next = submit("robbery", -0.004);  // another category and place: not a near-duplicate
  ASSERT_TRUE(testing::waitUntil([&] { return alertedReports(paused, token).count(next) == 1; }, 90s, 100ms))
      << "no alert after resuming; the history: " << lastAnswer << "\n" << processor.logTail();
  EXPECT_EQ(alertedReports(paused, token), std::set<std::string>{next})
      << "what was skipped while paused (" << skipped << ") is not replayed\n" << processor.logTail();
  EXPECT_EQ(processor.stop(std::chrono::seconds(30)), 0) << processor.logTail();
}

TEST_F(ApiTest, StopsCleanlyOnSigterm) {
  testing::ApiDaemon own;
  EXPECT_EQ(own.process().stop(std::chrono::seconds(15)), 0) << own.logTail();
}

}  // namespace
}  // namespace safestream

// Hostile HTTP against a real safestream-api on the local stack: invalid
// UTF-8 and NUL bytes in every part of a request, pathological JSON, huge
// and numerous parts, broken framing, HTTP/1.0 and pipelining, abusive
// WebSocket upgrades and frames, tokens of the wrong length, cross-site
// origins. For every case: the answer is the expected status (never 5xx),
// every error body is valid UTF-8 JSON naming the problem, and afterwards
// the daemon still runs and serves. The well-formed bad requests (wrong
// types, unknown fields, slowloris) are in api_test.cc's table; this one
// widens it to what an attacker or a broken client sends on the wire.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/report_id.h"
#include "core/time.h"
#include "core/utf8.h"
#include "tests/integration/api/api_client.h"
#include "tests/support/stack_env.h"

namespace safestream {
namespace {

using nlohmann::json;
using testing::httpRequest;
using namespace std::chrono_literals;

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// Splits what came back on the socket into responses (the server always
// sends Content-Length; a 101 has no body).
std::vector<RawResponse> parseResponses(const std::string& raw) {
  std::vector<RawResponse> out;
  std::size_t pos = 0;
  while (pos < raw.size()) {
    const auto start = raw.find("HTTP/1.", pos);
    if (start == std::string::npos) break;
    const auto headEnd = raw.find("\r\n\r\n", start);
    if (headEnd == std::string::npos) break;
    RawResponse r;
    r.status = std::atoi(raw.c_str() + start + 9);
    std::size_t line = raw.find("\r\n", start) + 2;
    while (line < headEnd) {
      const auto eol = raw.find("\r\n", line);
      const auto colon = raw.find(':', line);
      if (colon != std::string::npos && colon < eol) {
        std::string name = raw.substr(line, colon - line);
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = raw.substr(colon + 1, eol - colon - 1);
        value.erase(0, value.find_first_not_of(' '));
        r.headers[name] = value;
      }
      line = eol + 2;
    }
    std::size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
    if (r.status == 101) length = 0;
    r.body = raw.substr(headEnd + 4, length);
    pos = headEnd + 4 + length;
    out.push_back(std::move(r));
    if (out.back().status == 101) break;  // frames follow, not HTTP
  }
  return out;
}

std::string nowText(std::chrono::minutes ago = 0min) { return core::formatTimestamp(core::nowUtc() - ago); }

std::string uniqueIp() {
  static std::mt19937 rng{std::random_device{}()};
  std::uniform_int_distribution<int> d(1, 254);
  return "10." + std::to_string(d(rng)) + "." + std::to_string(d(rng)) + "." + std::to_string(d(rng));
}

// A valid WebSocket key (base64 of 16 bytes).
const char* kWsKey = "dGhlIHNhbXBsZSBub25jZQ==";

class HostileHttpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::requireStackEnv("SAFESTREAM_KAFKA_BOOTSTRAP");
    testing::requireStackEnv("SAFESTREAM_PG_URL");
    testing::requireStackEnv("SAFESTREAM_REDIS_URL");
    // A body limit large enough that the deep-nesting cases reach the JSON
    // parsers instead of the 413; a short request deadline for the cases
    // that leave a request unfinished.
    api_ = new testing::ApiDaemon({"--trust-proxy", "--max-body-bytes", "1048576", "--request-timeout-ms", "2000",
                                   "--rate-limit-per-minute", "100000", "--rate-limit-burst", "100000",
                                   "--ws-allowed-origins", "https://app.example.org"});
  }
  static void TearDownTestSuite() {
    delete api_;
    api_ = nullptr;
  }

  std::string hostHeader() const { return "127.0.0.1:" + std::to_string(api_->port()); }

  std::vector<RawResponse> exchange(const std::string& bytes, std::chrono::milliseconds timeout = 6s) {
    return parseResponses(testing::rawExchange(api_->port(), {bytes}, 0ms, timeout));
  }

  std::pair<std::string, std::string> createSubscription() {
    auto r = httpRequest(api_->port(), "POST", "/v1/subscriptions",
                         R"({"area":{"type":"circle","lat":41.8781,"lon":-87.6298,"radius_m":1500}})",
                         {{"content-type", "application/json"}, {"x-forwarded-for", uniqueIp()}});
    EXPECT_EQ(r.status, 201) << r.body;
    auto d = json::parse(r.body);
    return {d.at("id"), d.at("token")};
  }

  // After every case: the daemon runs and answers a plain request.
  void expectStillServing(const std::string& after) {
    ASSERT_TRUE(api_->process().running()) << "after " << after << ": " << api_->logTail();
    EXPECT_EQ(httpRequest(api_->port(), "GET", "/healthz").status, 200) << "after " << after;
  }

  static testing::ApiDaemon* api_;
};

testing::ApiDaemon* HostileHttpTest::api_ = nullptr;

// An error body: valid UTF-8, strict JSON, {"error":{"code":..,"message":..}}.
void expectJsonError(const RawResponse& r, const std::string& context) {
  EXPECT_TRUE(core::isValidUtf8(r.body)) << context << ": " << ::testing::PrintToString(r.body);
  const auto d = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(d.is_discarded()) << context << ": not JSON: " << ::testing::PrintToString(r.body);
  ASSERT_TRUE(d.contains("error") && d["error"].is_object()) << context << ": " << r.body;
  EXPECT_TRUE(d["error"]["code"].is_string()) << context << ": " << r.body;
  EXPECT_TRUE(d["error"]["message"].is_string()) << context << ": " << r.body;
  EXPECT_EQ(r.headers.count("content-type") ? r.headers.at("content-type") : "", "application/json") << context;
}

// Under /open311/ errors keep GeoReport v2's shape: [{"code":..,"description":..}].
void expectOpen311Error(const RawResponse& r, const std::string& context) {
  EXPECT_TRUE(core::isValidUtf8(r.body)) << context << ": " << ::testing::PrintToString(r.body);
  const auto d = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(d.is_discarded()) << context << ": not JSON: " << ::testing::PrintToString(r.body);
  ASSERT_TRUE(d.is_array() && d.size() == 1) << context << ": " << r.body;
  EXPECT_EQ(d[0]["code"], r.status) << context;
  EXPECT_TRUE(d[0]["description"].is_string()) << context;
}

struct WireCase {
  std::string name;
  std::string request;       // the bytes sent, as-is
  std::set<int> statuses;    // acceptable statuses of the (first) response
  std::size_t responses = 1; // how many responses must come back
};

TEST_F(HostileHttpTest, HostileRequestsGetJsonErrorsNever5xxAndTheServerKeepsServing) {
  auto [subId, token] = createSubscription();
  const std::string host = "Host: " + hostHeader() + "\r\n";
  const std::string close = "Connection: close\r\n";
  const auto get = [&](const std::string& target, const std::string& headers = {}) {
    return "GET " + target + " HTTP/1.1\r\n" + host + headers + close + "\r\n";
  };
  const auto post = [&](const std::string& target, const std::string& body, const std::string& headers = {},
                        const std::string& type = "application/json") {
    return "POST " + target + " HTTP/1.1\r\n" + host + "Content-Type: " + type + "\r\nX-Forwarded-For: " + uniqueIp() +
           "\r\n" + headers + "Content-Length: " + std::to_string(body.size()) + "\r\n" + close + "\r\n" + body;
  };
  const auto report = [&](const std::string& field, const std::string& valueJson) {
    json base{{"category", "theft"}, {"description", "hostile test"}, {"lat", 41.88}, {"lon", -87.63},
              {"occurred_at", nowText(5min)}};
    std::string text = base.dump();
    if (field.empty()) return text;
    text.pop_back();  // raw JSON text appended, so invalid bytes and odd numbers reach the server as typed
    return text + ",\"" + field + "\":" + valueJson + "}";
  };
  const auto subscription = [](const std::string& areaJson) {
    return "{\"area\":" + areaJson + ",\"categories\":[\"theft\"]}";
  };
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  const std::string nul(1, '\0');
  const std::string deepArray = std::string(100000, '[') + std::string(100000, ']');
  std::string deepObject;
  for (int i = 0; i < 100000; ++i) deepObject += "{\"a\":";
  deepObject += "1" + std::string(100000, '}');
  std::string manyHeaders;
  for (int i = 0; i < 5000; ++i) manyHeaders += "X-H" + std::to_string(i) + ": v\r\n";
  std::string manyParams;
  for (int i = 0; i < 500; ++i) manyParams += (i ? "&" : "") + std::string("category=theft");

  const std::vector<WireCase> cases = {
      // --- invalid UTF-8 and NUL, in every part of a request
      {"path %00%ff (the issue's case)", get("/v1/reports/%00%ff"), {404}},
      {"path overlong and surrogate escapes", get("/v1/reports/%C0%AF%ED%A0%80"), {404}},
      {"path raw invalid bytes", get("/v1/reports/\xFF\xFE\xFD"), {400, 404}},
      {"subscription path %00%ff", get("/v1/subscriptions/%00%ff", auth), {400, 401, 403, 404}},
      {"alerts path raw bytes", get("/v1/subscriptions/\xC3\x28/alerts", auth), {400, 401, 403, 404}},
      {"Open311 path %ff", get("/open311/v2/requests/%ff.json"), {400, 404}},
      {"unknown route with raw bytes", get("/\xF0\x28\x8C\x28"), {400, 404}},
      {"path traversal, encoded", get("/%2e%2e/%2e%2e/%2e%2e/etc/passwd"), {400, 404}},
      {"path traversal, encoded slashes", get("/..%2f..%2f..%2fetc%2fpasswd"), {400, 404}},
      {"query value %ff%fe", get("/v1/reports?category=%FF%FE"), {400}},
      {"query value %00", get("/v1/reports?source=%00"), {400}},
      {"query value raw invalid bytes", get("/v1/reports?source=\xFF"), {400}},
      {"query key %ff", get("/v1/reports?%FF=1"), {400}},
      {"cursor of invalid bytes", get("/v1/reports?cursor=%C3%28%00"), {400}},
      {"alerts cursor of invalid bytes", get("/v1/subscriptions/" + subId + "/alerts?after=%FF", auth), {400}},
      {"header value invalid UTF-8", post("/v1/reports", report("", ""), "Idempotency-Key: \xFF\xFE\r\n"), {202, 400}},
      {"X-Forwarded-For invalid UTF-8", get("/v1/reports?limit=1", "X-Forwarded-For: \xFF\xFE\r\n"), {200}},
      {"header value with NUL", get("/v1/reports?limit=1", "X-Test: a" + nul + "b\r\n"), {400}},
      {"header name with invalid bytes", get("/v1/reports?limit=1", "X-\xFF: 1\r\n"), {400}},
      {"NUL in the request line", "GET /v1/reports" + nul + " HTTP/1.1\r\n" + host + close + "\r\n", {400}},
      {"JSON string of invalid UTF-8", post("/v1/reports", report("address", "\"\xFF\xFE\"")), {400}},
      {"JSON string with \\u0000", post("/v1/reports", report("address", "\"a\\u0000b\"")), {400}},
      {"JSON lone surrogate escape", post("/v1/reports", report("address", "\"\\ud800\"")), {400}},
      {"JSON raw NUL in a string", post("/v1/reports", report("address", "\"a" + nul + "b\"")), {400}},
      {"subscription neighbourhood of invalid UTF-8",
       post("/v1/subscriptions", subscription("{\"type\":\"neighbourhood\",\"name\":\"\xC0\xAF\"}")), {400}},
      {"Open311 form value %ff",
       post("/open311/v2/requests.json", "service_code=theft&lat=41.88&long=-87.63&description=%FF%FE", "",
            "application/x-www-form-urlencoded"),
       {400}},
      {"Open311 form value %00",
       post("/open311/v2/requests.json", "service_code=theft&lat=41.88&long=-87.63&description=a%00b", "",
            "application/x-www-form-urlencoded"),
       {400}},
      // --- pathological JSON
      {"report nested 100,000 deep", post("/v1/reports", deepArray), {400}},
      {"report field nested 100,000 deep", post("/v1/reports", report("address", deepObject)), {400}},
      {"subscription nested 100,000 deep", post("/v1/subscriptions", deepObject), {400}},
      {"polygon nested 100,000 deep",
       post("/v1/subscriptions", subscription("{\"type\":\"polygon\",\"coordinates\":" + deepArray + "}")), {400}},
      {"subscription patch nested 100,000 deep",
       "PATCH /v1/subscriptions/" + subId + " HTTP/1.1\r\n" + host + auth + "Content-Type: application/merge-patch+json\r\n" +
           "Content-Length: " + std::to_string(deepObject.size()) + "\r\n" + close + "\r\n" + deepObject,
       {400, 415}},
      {"duplicate keys (report)", post("/v1/reports", report("category", "\"assault\"")), {202, 400}},
      {"duplicate keys (subscription area)",
       post("/v1/subscriptions", "{\"area\":{\"type\":\"circle\",\"lat\":41.88,\"lon\":-87.63,\"radius_m\":500},"
                                 "\"area\":{\"type\":\"circle\",\"lat\":1e999,\"lon\":0,\"radius_m\":500}}"),
       {201, 400}},
      {"lat 1e999", post("/v1/reports", report("lat", "1e999")), {400}},
      {"lat NaN", post("/v1/reports", report("lat", "NaN")), {400}},
      {"lon -Infinity", post("/v1/reports", report("lon", "-Infinity")), {400}},
      {"lat 1e-999 (underflow)", post("/v1/reports", report("lat", "1e-999")), {202, 400}},
      {"radius 1e999", post("/v1/subscriptions", subscription("{\"type\":\"circle\",\"lat\":41.8,\"lon\":-87.6,\"radius_m\":1e999}")),
       {400}},
      {"min_severity 1e30 as an integer", post("/v1/subscriptions", "{\"area\":{\"type\":\"circle\",\"lat\":41.8,\"lon\":-87.6,"
                                                                   "\"radius_m\":500},\"min_severity\":1000000000000000000000000000000}"),
       {400}},
      {"polygon of NaN", post("/v1/subscriptions", subscription("{\"type\":\"polygon\",\"coordinates\":[[[NaN,1],[2,2],[3,1],[NaN,1]]]}")),
       {400}},
      {"quiet hours of raw bytes", post("/v1/subscriptions", "{\"area\":{\"type\":\"circle\",\"lat\":41.8,\"lon\":-87.6,\"radius_m\":500},"
                                                            "\"quiet_hours\":\"2\xFF:00-07:00\"}"),
       {400}},
      // --- huge and numerous parts
      {"query string of 200 KB", get("/v1/reports?category=" + std::string(200 * 1024, 'a')), {400, 414, 431}},
      {"5,000 headers", get("/v1/reports?limit=1", manyHeaders), {400, 431}},
      {"one header of 100 KB", get("/v1/reports?limit=1", "X-Big: " + std::string(100 * 1024, 'b') + "\r\n"), {400, 431}},
      {"500 repeated query parameters", get("/v1/reports?" + manyParams), {200, 400}},
      {"body larger than the limit", post("/v1/reports", std::string(2 * 1024 * 1024, ' ')), {413}},
      // --- framing
      {"chunk size not hex",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n" + close +
           "\r\nzz\r\n{}\r\n0\r\n\r\n",
       {400}},
      {"chunk size overflowing 64 bits",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n" + close +
           "\r\nfffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",
       {400, 413}},
      {"chunk shorter than announced",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n" + close +
           "\r\n10\r\n{}\r\n0\r\n\r\n",
       {400, 408}},
      {"chunked and Content-Length together",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 4\r\n"
       "Transfer-Encoding: chunked\r\n" + close + "\r\n2\r\n{}\r\n0\r\n\r\n",
       {400}},
      {"two different Content-Lengths",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n" +
           close + "\r\n{}",
       {400}},
      {"negative Content-Length",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nContent-Length: -1\r\n" + close + "\r\n{}",
       {400}},
      {"unknown transfer coding",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nTransfer-Encoding: gzip\r\n" + close + "\r\n{}",
       {400, 411, 501}},
      {"request line without version", "GET /v1/reports\r\n\r\n", {400}},
      {"absolute-form target", "GET http://evil.example/v1/reports/x HTTP/1.1\r\n" + host + close + "\r\n", {400, 404}},
      {"asterisk target", "OPTIONS * HTTP/1.1\r\n" + host + close + "\r\n", {400, 404, 405}},
      {"unknown method", "BREW /v1/reports HTTP/1.1\r\n" + host + close + "\r\n", {400, 405}},
      // --- HTTP/1.0 and pipelining
      {"HTTP/1.0 without Host", "GET /healthz HTTP/1.0\r\n\r\n", {200}},
      {"HTTP/1.0 report POST",
       "POST /v1/reports HTTP/1.0\r\nContent-Type: application/json\r\nX-Forwarded-For: " + uniqueIp() +
           "\r\nContent-Length: " + std::to_string(report("", "").size()) + "\r\n\r\n" + report("", ""),
       {202}},
      {"HTTP/1.0 error", "GET /v1/reports/%00%ff HTTP/1.0\r\n\r\n", {404}},
      {"three pipelined requests, an error in the middle",
       "GET /healthz HTTP/1.1\r\n" + host + "\r\nGET /v1/reports?limit=0 HTTP/1.1\r\n" + host +
           "\r\nGET /healthz HTTP/1.1\r\n" + host + close + "\r\n",
       {200}, 3},
      {"pipelined POST then GET",
       "POST /v1/reports HTTP/1.1\r\n" + host + "Content-Type: application/json\r\nX-Forwarded-For: " + uniqueIp() +
           "\r\nContent-Length: " + std::to_string(report("", "").size()) + "\r\n\r\n" + report("", "") +
           get("/v1/reports?limit=1"),
       {202}, 2},
      // --- tokens of the wrong length
      {"empty bearer token", get("/v1/subscriptions/" + subId, "Authorization: Bearer \r\n"), {401, 403}},
      {"one-character token", get("/v1/subscriptions/" + subId, "Authorization: Bearer x\r\n"), {403}},
      {"token one character short", get("/v1/subscriptions/" + subId, "Authorization: Bearer " + token.substr(1) + "\r\n"), {403}},
      {"token one character long", get("/v1/subscriptions/" + subId, "Authorization: Bearer " + token + "x\r\n"), {403}},
      {"token of 8 KB", get("/v1/subscriptions/" + subId, "Authorization: Bearer " + std::string(8000, 'A') + "\r\n"),
       {403, 431}},
      {"token of invalid UTF-8", get("/v1/subscriptions/" + subId, "Authorization: Bearer \xFF\xFE\xFD\r\n"), {403}},
      {"alerts with a short token", get("/v1/subscriptions/" + subId + "/alerts", "Authorization: Bearer abc\r\n"), {403}},
      {"subscription id of the wrong length", get("/v1/subscriptions/" + subId + "0", auth), {400, 403, 404}},
  };

  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto responses = exchange(c.request);
    ASSERT_GE(responses.size(), c.responses) << c.name << ": got " << responses.size() << " responses";
    const auto& first = responses.front();
    EXPECT_TRUE(c.statuses.count(first.status)) << c.name << ": status " << first.status << ": "
                                                << ::testing::PrintToString(first.body.substr(0, 300));
    const bool open311 = c.request.find(" /open311/") != std::string::npos;
    for (const auto& r : responses) {
      EXPECT_LT(r.status, 500) << c.name << ": " << r.body.substr(0, 300);
      EXPECT_EQ(r.body.find("root:"), std::string::npos) << c.name << ": a system file was served";
      if (r.status >= 400 && open311) expectOpen311Error(r, c.name);
      else if (r.status >= 400) expectJsonError(r, c.name);
    }
    expectStillServing(c.name);
  }
}

// Pipelined requests are answered in order, each on its own.
TEST_F(HostileHttpTest, PipelinedRequestsAreAnsweredInOrder) {
  const std::string host = "Host: " + hostHeader() + "\r\n";
  const auto responses = exchange("GET /healthz HTTP/1.1\r\n" + host + "\r\nGET /v1/reports/%00%ff HTTP/1.1\r\n" + host +
                                  "\r\nGET /v1/nope HTTP/1.1\r\n" + host + "\r\nGET /healthz HTTP/1.1\r\n" + host +
                                  "Connection: close\r\n\r\n");
  ASSERT_EQ(responses.size(), 4u);
  EXPECT_EQ(responses[0].status, 200);
  EXPECT_EQ(responses[1].status, 404);
  EXPECT_EQ(responses[2].status, 404);
  EXPECT_EQ(responses[3].status, 200);
  expectJsonError(responses[1], "second");
  expectJsonError(responses[2], "third");
  EXPECT_NE(responses[1].body.find("\xEF\xBF\xBD"), std::string::npos) << "the invalid byte is shown as U+FFFD: "
                                                                         << responses[1].body;
}

// An HTTP/1.0 request gets its answer and the connection closes (no keep-alive).
TEST_F(HostileHttpTest, Http10ConnectionClosesAfterTheAnswer) {
  const auto start = std::chrono::steady_clock::now();
  const auto raw = testing::rawExchange(api_->port(), {"GET /healthz HTTP/1.0\r\n\r\n"}, 0ms, 20s);
  const auto took = std::chrono::steady_clock::now() - start;
  const auto responses = parseResponses(raw);
  ASSERT_EQ(responses.size(), 1u) << raw;
  EXPECT_EQ(responses[0].status, 200);
  // rawExchange returns early only when the server closes the connection.
  EXPECT_LT(took, 15s) << "the server kept an HTTP/1.0 connection open";
}

TEST_F(HostileHttpTest, WebSocketUpgradeAbuseIsRefusedWithJson) {
  auto [subId, token] = createSubscription();
  const std::string target = "/v1/subscriptions/" + subId + "/live?token=" + token;
  const auto upgrade = [&](const std::string& path, const std::string& key, const std::string& version,
                           const std::string& extra = {}) {
    std::string r = "GET " + path + " HTTP/1.1\r\nHost: " + hostHeader() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    if (!key.empty()) r += "Sec-WebSocket-Key: " + key + "\r\n";
    if (!version.empty()) r += "Sec-WebSocket-Version: " + version + "\r\n";
    return r + extra + "\r\n";
  };
  struct Case {
    std::string name, request;
    int status;
  };
  const std::vector<Case> cases = {
      {"no key", upgrade(target, "", "13"), 400},
      {"key too short", upgrade(target, "c2hvcnQ=", "13"), 400},
      {"key not base64", upgrade(target, "!!!!!!!!!!!!!!!!!!!!!!==", "13"), 400},
      {"key of invalid UTF-8", upgrade(target, "\xFF\xFE\xFD\xFC\xFB\xFA\xF9\xF8\xF7\xF6\xF5\xF4\xF3\xF2\xF1\xF0\xEF\xEE\xED\xEC\xEB\xEA==", "13"), 400},
      {"key of 8 KB", upgrade(target, std::string(8000, 'A'), "13"), 400},
      {"version 8", upgrade(target, kWsKey, "8"), 426},
      {"no version", upgrade(target, kWsKey, ""), 426},
      {"origin of another site", upgrade(target, kWsKey, "13", "Origin: https://evil.example\r\n"), 403},
      {"origin null", upgrade(target, kWsKey, "13", "Origin: null\r\n"), 403},
      {"origin of invalid UTF-8", upgrade(target, kWsKey, "13", "Origin: https://\xFF\xFE.example\r\n"), 403},
      {"origin differing only in port", upgrade(target, kWsKey, "13", "Origin: http://127.0.0.1:1\r\n"), 403},
      {"short token", upgrade("/v1/subscriptions/" + subId + "/live?token=abc", kWsKey, "13"), 403},
      {"token one character long", upgrade(target + "A", kWsKey, "13"), 403},
      {"no token", upgrade("/v1/subscriptions/" + subId + "/live", kWsKey, "13"), 401},
      {"token of %00%ff", upgrade("/v1/subscriptions/" + subId + "/live?token=%00%ff", kWsKey, "13"), 400},
      {"unknown subscription", upgrade("/v1/subscriptions/" + core::randomUuid() + "/live?token=" + token, kWsKey, "13"), 404},
      {"path of invalid bytes", upgrade("/v1/subscriptions/%ff%fe/live?token=" + token, kWsKey, "13"), 404},
      {"cursor of invalid bytes", upgrade(target + "&after=%FF", kWsKey, "13"), 400},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto responses = exchange(c.request, 4s);
    ASSERT_FALSE(responses.empty()) << c.name << ": no answer";
    EXPECT_EQ(responses[0].status, c.status) << c.name << ": " << responses[0].body;
    if (responses[0].status >= 400) expectJsonError(responses[0], c.name);
    if (c.status == 426) {
      EXPECT_EQ(responses[0].headers.count("sec-websocket-version") ? responses[0].headers.at("sec-websocket-version") : "",
                "13")
          << c.name;
    }
    expectStillServing(c.name);
  }

  // What is allowed: the API's own origin, a listed one, and no Origin.
  for (const std::string& origin : {"http://" + hostHeader(), std::string("https://app.example.org"), std::string()}) {
    const auto extra = origin.empty() ? std::string() : "Origin: " + origin + "\r\n";
    const auto responses = exchange(upgrade(target, kWsKey, "13", extra), 1500ms);
    ASSERT_FALSE(responses.empty()) << origin;
    EXPECT_EQ(responses[0].status, 101) << "origin '" << origin << "': " << responses[0].body;
  }
  expectStillServing("allowed upgrades");
}

// A frame beyond the 4 KB a client may send, or one claiming 2^63 bytes,
// ends that connection (close 1009 or a dropped socket), never the server.
TEST_F(HostileHttpTest, OversizedWebSocketFramesCloseOnlyThatConnection) {
  auto [subId, token] = createSubscription();
  const std::string handshake = "GET /v1/subscriptions/" + subId + "/live?token=" + token + " HTTP/1.1\r\nHost: " +
                                hostHeader() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " +
                                kWsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
  const auto maskedFrameHeader = [](std::uint64_t length) {
    std::string h;
    h.push_back(static_cast<char>(0x81));  // FIN, text
    if (length < 126) {
      h.push_back(static_cast<char>(0x80 | length));
    } else if (length <= 0xFFFF) {
      h.push_back(static_cast<char>(0x80 | 126));
      h.push_back(static_cast<char>(length >> 8));
      h.push_back(static_cast<char>(length & 0xFF));
    } else {
      h.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i) h.push_back(static_cast<char>((length >> (8 * i)) & 0xFF));
    }
    h += std::string("\x01\x02\x03\x04", 4);  // mask key
    return h;
  };
  struct Case {
    std::string name, frame;
  };
  const std::vector<Case> cases = {
      {"64 KB text frame", maskedFrameHeader(65536) + std::string(65536, 'x')},
      {"frame claiming 2^63 bytes", maskedFrameHeader(0x7FFFFFFFFFFFFFFFULL) + std::string(1024, 'x')},
      {"frame claiming 2^64-1 bytes (invalid)", maskedFrameHeader(0xFFFFFFFFFFFFFFFFULL) + std::string(16, 'x')},
      {"unmasked frame", std::string("\x81\x05hello", 7)},
      {"reserved opcode", std::string("\x83\x80\x01\x02\x03\x04", 6)},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto start = std::chrono::steady_clock::now();
    const auto raw = testing::rawExchange(api_->port(), {handshake, c.frame}, 300ms, 20s);
    const auto took = std::chrono::steady_clock::now() - start;
    const auto responses = parseResponses(raw);
    ASSERT_FALSE(responses.empty()) << c.name;
    EXPECT_EQ(responses[0].status, 101) << c.name;
    // The server closed the connection (rawExchange returned before its deadline).
    EXPECT_LT(took, 15s) << c.name << ": the connection stayed open";
    expectStillServing(c.name);
  }
}

}  // namespace
}  // namespace safestream

#include "api/ws_handshake.h"

#include <gtest/gtest.h>

namespace safestream::api {
namespace {

HttpRequest upgrade(std::map<std::string, std::string> headers) {
  HttpRequest r;
  r.method = "GET";
  r.path = "/v1/subscriptions/x/live";
  r.headers = {{"host", "127.0.0.1:58080"}, {"sec-websocket-version", "13"},
               {"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}};
  for (auto& [k, v] : headers) {
    if (v.empty()) r.headers.erase(k);
    else r.headers[k] = v;
  }
  return r;
}

int statusOf(const std::optional<HttpResponse>& r) { return r ? r->status : 0; }

TEST(WsHandshake, KeysMustBeBase64OfSixteenBytes) {
  EXPECT_TRUE(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ=="));  // RFC 6455's example
  EXPECT_TRUE(isWebSocketKey("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_FALSE(isWebSocketKey(""));
  EXPECT_FALSE(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ="));     // 23 characters
  EXPECT_FALSE(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQ==="));   // 25
  EXPECT_FALSE(isWebSocketKey("dGhlIHNhbXBsZSBub25jZR=="));    // non-zero padding bits
  EXPECT_FALSE(isWebSocketKey("dGhlIHNhbXBsZSBub25j!Q=="));
  EXPECT_FALSE(isWebSocketKey(std::string("dGhlIHNhbXBsZSBub25j\0Q==", 24)));
  EXPECT_FALSE(isWebSocketKey("dGhlIHNhbXBsZSBub25jZQAA"));
}

TEST(WsHandshake, VersionKeyAndOriginAreChecked) {
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({}), {})), 0);
  auto v8 = checkWebSocketUpgrade(upgrade({{"sec-websocket-version", "8"}}), {});
  ASSERT_EQ(statusOf(v8), 426);
  ASSERT_EQ(v8->headers.size(), 1u);
  EXPECT_EQ(v8->headers[0].second, "13");
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"sec-websocket-version", ""}}), {})), 426);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"sec-websocket-key", "short"}}), {})), 400);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"sec-websocket-key", ""}}), {})), 400);
  // Origins: the API's own (either scheme, any case) and listed ones pass.
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "http://127.0.0.1:58080"}}), {})), 0);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "HTTPS://127.0.0.1:58080"}}), {})), 0);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "https://evil.example"}}), {})), 403);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "http://127.0.0.1:58081"}}), {})), 403);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "null"}}), {})), 403);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "https://app.example.org"}}), {"https://app.example.org"})), 0);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "https://evil.example"}}), {"*"})), 0);
  EXPECT_EQ(statusOf(checkWebSocketUpgrade(upgrade({{"origin", "https://app.example.org.evil"}}), {"https://app.example.org"})),
            403);
  // The refusal quotes the origin: still valid JSON when it held invalid bytes.
  auto bad = checkWebSocketUpgrade(upgrade({{"origin", "https://\xFF.example"}}), {});
  ASSERT_EQ(statusOf(bad), 403);
  EXPECT_EQ(bad->body.find('\xFF'), std::string::npos) << bad->body;
}

}  // namespace
}  // namespace safestream::api

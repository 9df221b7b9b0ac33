#pragma once
// Transport-neutral HTTP request/response used by every route handler, so the
// handlers are pure functions unit-tested without sockets. The Beast adapter
// (http_server.cc) converts to and from these.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace safestream::api {

// Header names are stored lower-case; look them up with header().
struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string path;     // percent-decoded path without the query
  std::string query;    // raw query string (without '?')
  std::map<std::string, std::string> headers;
  std::string body;
  std::string clientIp;  // peer address (X-Forwarded-For is applied by the server when trusted)
  std::map<std::string, std::string> pathParams;  // filled by the router
  // Runs a continuation on the thread that owns the connection (set by the
  // transport; empty: run it in place). A handler resumed by another thread
  // (the Redis batcher) hands its remaining work back here, so that thread
  // only routes replies and the work spreads over the I/O threads.
  std::function<void(std::function<void()>)> continueOn;

  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string contentType = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (Location, Retry-After, ...)
};

// Handlers complete through a callback because some (POST /v1/reports) wait
// for an asynchronous acknowledgement. It must be called exactly once, from
// any thread.
using Responder = std::function<void(HttpResponse)>;

// {"error":{"code","message","field"}} with the given status.
HttpResponse errorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view field = {});

// Splits "a=1&b=x%20y" into decoded pairs; repeated keys keep the last value.
// Returns false (and sets `bad`) on malformed percent-encoding, and on a key
// or value that decodes to invalid UTF-8 or holds a NUL byte.
bool parseQuery(std::string_view query, std::map<std::string, std::string>& out, std::string& bad);
// Percent-decoding ('+' becomes a space when `plusIsSpace`); false on a bad escape.
bool percentDecode(std::string_view in, std::string& out, bool plusIsSpace);

// JSON string literal with escaping (quotes included); invalid UTF-8 is
// replaced by U+FFFD, so the result is always valid JSON.
std::string jsonString(std::string_view s);

}  // namespace safestream::api

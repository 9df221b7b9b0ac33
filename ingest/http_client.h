#pragma once
// HTTP GET behind a small interface so the scheduler runs on a fake in unit
// tests; CurlHttpClient (libcurl) is the one adapter. Every request has a
// timeout; transport failures come back as data, never as exceptions.
#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace safestream::ingest {

struct HttpRequest {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};
  // Label for logs and metrics, without secrets (the URL may carry a key).
  std::string what;
};

struct HttpResponse {
  int status = 0;
  std::string body;
  // From a Retry-After header (seconds or HTTP date), when present.
  std::optional<std::chrono::seconds> retryAfter;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Error codes: "timeout", "connect", "too_large", "transport" (all retriable).
  // Thread-safe.
  virtual core::Result<HttpResponse> get(const HttpRequest& request) = 0;
};

class CurlHttpClient final : public HttpClient {
 public:
  explicit CurlHttpClient(std::size_t maxBodyBytes = 64 << 20);
  ~CurlHttpClient() override;
  core::Result<HttpResponse> get(const HttpRequest& request) override;

 private:
  std::size_t maxBodyBytes_;
};

// Percent-encodes a query value (RFC 3986 unreserved characters stay).
std::string urlEncode(std::string_view value);

}  // namespace safestream::ingest

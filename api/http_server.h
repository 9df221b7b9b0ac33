#pragma once
// The API's one network front: a Boost.Beast server that serves plain HTTP
// (handed to the transport-free handler, i.e. ApiService) and upgrades
// GET /v1/subscriptions/{id}/live to WebSocket on the same port.
//
// Why Beast and not cpprestsdk's http_listener for the REST side too: the
// listener cannot upgrade a connection to WebSocket, has no per-request read
// deadline (a slow body would hold a connection for its 120 s default) and
// answers an oversized body only after reading it. Beast gives all three,
// and Boost is already here through cpprestsdk. cpprestsdk still serves the
// operator port (core::AdminServer).
//
// Threading: `ioThreads` threads, each running an io_context of its own;
// every connection stays on one of them (round-robin at accept), so its
// handlers never run concurrently. Handlers run on a pool of `workerThreads`
// because they block on PostgreSQL/Redis; responses are posted back to the
// connection's thread. The AlertHub's shards are these io_contexts.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/alert_hub.h"
#include "api/http_types.h"
#include "api/ports.h"

namespace safestream::api {

class ApiMetrics;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 58080;
  int extraPort = 0;  // 0: none; else a second port serving the same (e.g. --ws-port)
  int ioThreads = 2;
  int workerThreads = 16;
  std::size_t maxBodyBytes = 64 * 1024;
  std::size_t maxHeaderBytes = 16 * 1024;
  // Whole request (headers and body) must arrive within this, or 408: bounds slowloris.
  std::chrono::milliseconds requestTimeout{10000};
  // Keep-alive connections idle longer than this are closed.
  std::chrono::milliseconds idleTimeout{30000};
  bool trustProxy = false;  // take the client address from X-Forwarded-For (its last hop)
  std::chrono::milliseconds wsPingInterval{15000};
  std::size_t wsMaxQueue = 256;  // frames waiting for a slow client before it is disconnected
  std::chrono::milliseconds wsCloseTimeout{2000};
  bool reusePort = false;  // SO_REUSEPORT: several processes share --port
  std::vector<std::string> wsAllowedOrigins;  // besides the API's own (see checkWebSocketUpgrade)
  // Requests for which this returns true run on the I/O thread instead of
  // the worker pool: for handlers that wait at most a Redis round trip, the
  // two thread hops cost more than the wait (measured in bench/api).
  std::function<bool(const HttpRequest&)> runInline;
};

struct LiveHooks {
  // Runs on a worker thread: nullopt when `token` may read subscription `id`,
  // else the HTTP error to answer the upgrade with.
  std::function<std::optional<HttpResponse>(const std::string& id, const std::string& token)> authorize;
  AlertHub* hub = nullptr;
  AlertHistory* history = nullptr;
};

class HttpServer {
 public:
  using Handler = std::function<void(HttpRequest, Responder)>;
  // Binds and starts serving; throws core::ConfigError if a port cannot be bound.
  HttpServer(ServerOptions options, Handler handler, LiveHooks live, ApiMetrics* metrics);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, closes connections and joins the threads (idempotent).
  void stop();
  int port() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace safestream::api

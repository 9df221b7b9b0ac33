#include "core/admin_server.h"

#include <cpprest/http_listener.h>
#include <prometheus/registry.h>

#include "core/log.h"
#include "core/metrics.h"
#include "core/result.h"

namespace safestream::core {

using web::http::methods;
using web::http::status_codes;

struct AdminServer::Impl {
  std::string url;
  web::http::experimental::listener::http_listener listener;
  std::shared_ptr<prometheus::Registry> registry;
  std::function<Readiness()> readiness;

  Impl(std::string u, std::shared_ptr<prometheus::Registry> r, std::function<Readiness()> ready)
      : url(std::move(u)), listener(utility::conversions::to_string_t(url)), registry(std::move(r)),
        readiness(std::move(ready)) {}

  void handle(const web::http::http_request& req) {
    const auto path = req.relative_uri().path();
    if (req.method() != methods::GET) {
      req.reply(status_codes::MethodNotAllowed, R"({"error":{"code":"method_not_allowed","message":"use GET"}})",
                "application/json");
      return;
    }
    if (path == "/metrics") {
      req.reply(status_codes::OK, serializeMetrics(*registry), "text/plain; version=0.0.4");
    } else if (path == "/healthz") {
      req.reply(status_codes::OK, R"({"status":"ok"})", "application/json");
    } else if (path == "/readyz") {
      Readiness r = readiness ? readiness() : Readiness{};
      web::json::value body;
      body[U("status")] = web::json::value::string(r.ready ? "ready" : "not_ready");
      std::vector<web::json::value> problems;
      for (const auto& p : r.problems) problems.push_back(web::json::value::string(p));
      body[U("problems")] = web::json::value::array(problems);
      req.reply(r.ready ? status_codes::OK : status_codes::ServiceUnavailable, body);
    } else {
      req.reply(status_codes::NotFound, R"({"error":{"code":"not_found","message":"no such endpoint"}})",
                "application/json");
    }
  }
};

AdminServer::AdminServer(const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry,
                         std::function<Readiness()> readiness)
    : impl_(std::make_unique<Impl>("http://" + host + ":" + std::to_string(port), std::move(registry),
                                   std::move(readiness))) {
  impl_->listener.support([impl = impl_.get()](const web::http::http_request& req) { impl->handle(req); });
  try {
    impl_->listener.open().wait();
  } catch (const std::exception& e) {
    throw ConfigError("cannot listen for metrics on " + impl_->url + ": " + e.what());
  }
  log::info("admin_server_listening", {{"url", impl_->url}});
}

AdminServer::~AdminServer() {
  try {
    impl_->listener.close().wait();
  } catch (const std::exception& e) {
    log::warn("admin_server_close_failed", {{"message", std::string(e.what())}});
  }
}

std::string AdminServer::url() const { return impl_->url; }

}  // namespace safestream::core

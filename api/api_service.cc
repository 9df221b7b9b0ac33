#include "api/api_service.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <regex>

#include "api/api_metrics.h"
#include "api/citizen_report.h"
#include "api/compression.h"
#include "api/geo_simplify.h"
#include "api/static_files.h"
#include "api/web_app.h"
#include "core/fingerprint.h"
#include "core/json_depth.h"
#include "core/live_feed.h"
#include "core/log.h"
#include "core/report_id.h"
#include "core/subscription.h"

namespace safestream::api {

namespace {

using json = nlohmann::json;

HttpResponse jsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse fromError(const core::Error& e) {
  if (e.retriable) {
    auto r = errorResponse(503, "unavailable", "a backing service is unavailable; retry shortly");
    r.headers.emplace_back("Retry-After", "1");
    return r;
  }
  return errorResponse(400, e.code.empty() ? "invalid_request" : e.code, e.message, e.field);
}

HttpResponse storeError(const core::Error& e, std::string_view what) {
  core::log::warn("store_error", {{"what", what}, {"code", e.code}, {"message", e.message}});
  auto r = errorResponse(503, "unavailable", std::string(what) + " is unavailable; retry shortly");
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

bool wantsGeoJson(const HttpRequest& req) {
  return req.header("accept").find("application/geo+json") != std::string::npos;
}

bool isJsonContentType(const HttpRequest& req) {
  std::string ct = req.header("content-type");
  for (auto& c : ct) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ct.rfind("application/json", 0) == 0;
}

std::string serviceName(std::string_view code) {
  std::string out(code);
  for (auto& c : out) c = c == '-' ? ' ' : c;
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::string open311RequestJson(const PublicReport& r) {
  char lat[32] = "null", lon[32] = "null";
  if (r.lat) std::snprintf(lat, sizeof lat, "%.10g", *r.lat);
  if (r.lon) std::snprintf(lon, sizeof lon, "%.10g", *r.lon);
  return "{\"service_request_id\":" + jsonString(r.id) + ",\"status\":\"open\",\"status_notes\":null" +
         ",\"service_name\":" + jsonString(serviceName(r.category)) + ",\"service_code\":" + jsonString(r.category) +
         ",\"description\":" + jsonString(r.description) + ",\"agency_responsible\":null,\"service_notice\":null" +
         ",\"requested_datetime\":" + jsonString(core::formatTimestamp(r.occurredAt)) +
         ",\"updated_datetime\":" + jsonString(core::formatTimestamp(r.reportedAt)) +
         ",\"expected_datetime\":null,\"address\":" + (r.address ? jsonString(*r.address) : "null") +
         ",\"address_id\":null,\"zipcode\":null,\"lat\":" + lat + ",\"long\":" + lon + ",\"media_url\":null}";
}

bool validIdempotencyKey(const std::string& key) {
  if (key.empty() || key.size() > 255) return false;
  for (unsigned char c : key) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Redis stream ids: "ms-seq" (or "0" / "" for the beginning).
bool validStreamId(const std::string& id) {
  static const std::regex re(R"(^(0|\d{1,20}-\d{1,20})$)");
  return id.empty() || std::regex_match(id, re);
}

std::string bearerToken(const HttpRequest& req) {
  std::string auth = req.header("authorization");
  if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
    return auth.substr(7);
  }
  return {};
}

}  // namespace

std::string bodyFingerprint(std::string_view body) { return core::fnv1a64Hex(body); }

std::string duplicateLinksMembers(const DuplicateLinks& links) {
  auto ref = [](const DuplicateRef& d) {
    return "{\"id\":" + jsonString(d.id) + ",\"source\":" + (d.source.empty() ? "null" : jsonString(d.source)) +
           ",\"occurred_at\":" + (d.occurredAt ? jsonString(core::formatTimestamp(*d.occurredAt)) : "null") +
           ",\"url\":" + jsonString("/v1/reports/" + d.id) + "}";
  };
  std::string out = "\"duplicate_of\":" + (links.duplicateOf ? ref(*links.duplicateOf) : "null") + ",\"duplicates\":[";
  for (std::size_t i = 0; i < links.duplicates.size(); ++i) out += (i ? "," : "") + ref(links.duplicates[i]);
  return out + "],\"duplicates_more\":" + (links.more ? "true" : "false");
}

HttpResponse open311Error(int status, std::string_view description) {
  HttpResponse r;
  r.status = status;
  r.body = "[{\"code\":" + std::to_string(status) + ",\"description\":" + jsonString(description) + "}]";
  return r;
}

HttpResponse toOpen311Error(HttpResponse r) {
  if (r.status < 400) return r;
  std::string description = r.body;
  try {
    auto doc = json::parse(r.body);
    if (doc.contains("error")) description = doc["error"].value("message", std::string("error"));
  } catch (const json::exception&) {
  }
  auto out = open311Error(r.status, description);
  out.headers = std::move(r.headers);
  return out;
}

ApiService::ApiService(ServiceDeps deps)
    : deps_(std::move(deps)),
      simplifiedBoundaries_(deps_.clock ? *deps_.clock : systemClock_, std::chrono::hours(24 * 365), 128) {
  if (!deps_.clock) deps_.clock = &systemClock_;
  if (deps_.statsCacheTtl.count() > 0) statsBodies_ = std::make_unique<BodyCache>(*deps_.clock, deps_.statsCacheTtl);
  if (deps_.reportsCacheTtl.count() > 0) reportBodies_ = std::make_unique<BodyCache>(*deps_.clock, deps_.reportsCacheTtl);
  auto bind = [this](void (ApiService::*fn)(HttpRequest&, Responder)) {
    return [this, fn](HttpRequest& req, Responder respond) { (this->*fn)(req, std::move(respond)); };
  };
  router_.add("POST", "/v1/reports", bind(&ApiService::postReport));
  router_.add("GET", "/v1/reports", bind(&ApiService::listReports));
  router_.add("GET", "/v1/reports/{id}", bind(&ApiService::getReport));
  router_.add("POST", "/v1/subscriptions", bind(&ApiService::createSubscription));
  router_.add("GET", "/v1/subscriptions/{id}", bind(&ApiService::getSubscription));
  router_.add("PATCH", "/v1/subscriptions/{id}", bind(&ApiService::patchSubscription));
  router_.add("DELETE", "/v1/subscriptions/{id}", bind(&ApiService::deleteSubscription));
  router_.add("GET", "/v1/subscriptions/{id}/alerts", bind(&ApiService::listAlerts));
  // The transport upgrades WebSocket requests before routing; a plain GET lands here.
  auto upgradeRequired = [](HttpRequest&, Responder respond) {
    auto r = errorResponse(426, "upgrade_required", "this endpoint is a WebSocket; send Upgrade: websocket");
    r.headers.emplace_back("Upgrade", "websocket");
    respond(std::move(r));
  };
  router_.add("GET", "/v1/subscriptions/{id}/live", upgradeRequired);
  router_.add("GET", "/v1/live", upgradeRequired);
  router_.add("GET", "/v1/web-config", bind(&ApiService::webConfig));
  router_.add("GET", "/v1/cities", bind(&ApiService::listCities));
  router_.add("GET", "/v1/cities/{id}/boundaries", bind(&ApiService::cityBoundaries));
  if (!deps_.statsCities && deps_.cities && !deps_.cities->cities().empty()) {
    auto* cities = deps_.cities;
    deps_.statsCities = [cities](const std::string& id) -> std::optional<StatsCity> {
      for (const auto& c : cities->cities()) {
        if (c.id == id) return StatsCity{c.bbox, c.neighbourhoods};
      }
      return std::nullopt;
    };
  }
  for (auto [path, kind] : {std::pair{"/v1/stats/heatmap", StatsKind::heatmap}, {"/v1/stats/trends", StatsKind::trends},
                            {"/v1/stats/neighbourhoods", StatsKind::neighbourhoods},
                            {"/v1/stats/categories", StatsKind::categories}, {"/v1/stats/hours", StatsKind::hours},
                            {"/v1/stats/change", StatsKind::change}}) {
    router_.add("GET", path, [this, kind](HttpRequest& req, Responder respond) { stats(kind, req, std::move(respond)); });
  }
  router_.add("GET", "/open311/v2/services.json", bind(&ApiService::open311Services));
  router_.add("GET", "/open311/v2/services/{code}.json", bind(&ApiService::open311Service));
  router_.add("POST", "/open311/v2/requests.json", bind(&ApiService::open311Post));
  router_.add("GET", "/open311/v2/requests.json", bind(&ApiService::open311List));
  router_.add("GET", "/open311/v2/requests/{id}.json", bind(&ApiService::open311Get));
  for (auto& r : deps_.extraRoutes) router_.add(r.method, r.pattern, r.handler);
}

void ApiService::handle(HttpRequest req, Responder respond) {
  const bool open311 = req.path.rfind("/open311/", 0) == 0;
  auto match = router_.match(req);
  // What no route claims may be one of the web app's files.
  const bool web = !match.route && match.error.status == 404 && deps_.web && !open311 &&
                   req.path.rfind("/v1/", 0) != 0 &&
                   (req.method == "GET" || req.method == "HEAD");
  if (deps_.metrics) {
    // Label by route pattern, never by raw path (ids would explode the series).
    auto* metrics = deps_.metrics;
    const std::string route = match.route ? match.route->pattern : web ? "static" : "unmatched";
    const std::string method = req.method;
    const auto start = std::chrono::steady_clock::now();
    respond = [metrics, route, method, start, inner = std::move(respond)](HttpResponse r) {
      metrics->request(route, method, r.status,
                       std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      inner(std::move(r));
    };
  }
  if (web) {
    try {
      respond(deps_.web->serve(req));
    } catch (const std::exception& e) {
      core::log::error("static_file_exception", {{"path", req.path}, {"message", std::string(e.what())}});
      respond(errorResponse(500, "internal", "internal error"));
    }
    return;
  }
  if (!match.route) {
    respond(open311 ? toOpen311Error(std::move(match.error)) : std::move(match.error));
    return;
  }
  // JSON answers travel gzipped when the client allows it and they are
  // large enough (gzipJsonResponse; a page of 30 reports: 11.5 KB, 1.7 KB gzipped).
  respond = [acceptEncoding = req.header("accept-encoding"), inner = std::move(respond)](HttpResponse r) {
    gzipJsonResponse(acceptEncoding, r);
    inner(std::move(r));
  };
  // The responder is shared with the catch block; a flag keeps it single-use.
  auto once = std::make_shared<std::atomic<bool>>(false);
  auto shared = std::make_shared<Responder>(std::move(respond));
  Responder guarded = [once, shared](HttpResponse r) {
    if (!once->exchange(true)) (*shared)(std::move(r));
  };
  try {
    match.route->handler(req, guarded);
  } catch (const std::exception& e) {
    core::log::error("handler_exception", {{"path", req.path}, {"message", std::string(e.what())}});
    auto r = errorResponse(500, "internal", "internal error");
    guarded(open311 ? toOpen311Error(std::move(r)) : std::move(r));
  }
}

namespace {
// The answer to a refused (or failed-open) rate check, or nullopt to go on.
std::optional<HttpResponse> rateRefusal(const core::Result<RateDecision>& d, ApiMetrics* metrics,
                                        const std::function<HttpResponse(HttpResponse)>& renderError) {
  if (!d) {
    // Fail open: a Redis outage must not stop citizens reporting; counted and logged.
    if (metrics) metrics->degraded.Increment();
    core::log::warn("rate_limiter_unavailable", {{"message", d.error().message}});
    return std::nullopt;
  }
  if (d->allowed) return std::nullopt;
  if (metrics) metrics->rateLimited.Increment();
  auto r = errorResponse(429, "rate_limited", "too many requests from this client; retry after " +
                                                  std::to_string(d->retryAfterSeconds) + " s");
  r.headers.emplace_back("Retry-After", std::to_string(d->retryAfterSeconds));
  return renderError(std::move(r));
}
}  // namespace

bool ApiService::checkRate(HttpRequest& req, const std::function<HttpResponse(HttpResponse)>& renderError,
                           Responder& respond) {
  if (!deps_.rateLimiter) return true;
  auto refused = rateRefusal(deps_.rateLimiter->take(req.clientIp), deps_.metrics, renderError);
  if (!refused) return true;
  respond(std::move(*refused));
  return false;
}

void ApiService::afterRateCheck(HttpRequest& req, std::function<HttpResponse(HttpResponse)> renderError,
                                Responder respond, std::function<void(HttpRequest&, Responder)> next,
                                bool nextMayRunOnVerdictThread) {
  if (!deps_.rateLimiter) return next(req, std::move(respond));
  auto held = std::make_shared<HttpRequest>(std::move(req));
  const std::string client = held->clientIp;
  deps_.rateLimiter->takeAsync(client, [this, held, nextMayRunOnVerdictThread, renderError = std::move(renderError),
                                        respond = std::move(respond), next = std::move(next)](core::Result<RateDecision> d) mutable {
    if (auto refused = rateRefusal(d, deps_.metrics, renderError)) return respond(std::move(*refused));
    auto resume = [held, renderError, respond, next = std::move(next)]() mutable {
      // Out of handle()'s try block now (another thread, later): same rule,
      // a throwing handler becomes a 500 without details.
      try {
        next(*held, respond);
      } catch (const std::exception& e) {
        core::log::error("handler_exception", {{"path", held->path}, {"message", std::string(e.what())}});
        respond(renderError(errorResponse(500, "internal", "internal error")));
      }
    };
    if (held->continueOn && !nextMayRunOnVerdictThread) held->continueOn(std::move(resume));
    else resume();
  });
}

void ApiService::submit(HttpRequest& req, const core::Report& report,
                        std::function<HttpResponse(const std::string&)> render,
                        std::function<HttpResponse(HttpResponse)> renderError, Responder respond) {
  std::string key = req.header("idempotency-key");
  const bool useKey = !key.empty() && deps_.idempotency;
  if (!key.empty() && !validIdempotencyKey(key)) {
    respond(renderError(errorResponse(400, "invalid_header", "Idempotency-Key must be 1..255 visible ASCII characters",
                                      "Idempotency-Key")));
    return;
  }
  std::string storeKey;
  const std::string fingerprint = useKey ? bodyFingerprint(req.body) : std::string();
  if (useKey) {
    // Scoped by route and client so two clients cannot collide or read each other's results.
    storeKey = req.path + "|" + req.clientIp + "|" + key;
    auto existing = deps_.idempotency->reserve(storeKey, fingerprint);
    if (!existing) {
      respond(renderError(storeError(existing.error(), "the idempotency store")));
      return;
    }
    if (*existing) {
      const auto& s = **existing;
      if (s.fingerprint != fingerprint) {
        respond(renderError(errorResponse(422, "idempotency_key_reused",
                                          "this Idempotency-Key was used with a different body", "Idempotency-Key")));
      } else if (s.pending) {
        auto r = errorResponse(409, "request_in_progress", "a request with this Idempotency-Key is still in progress",
                               "Idempotency-Key");
        r.headers.emplace_back("Retry-After", "1");
        respond(renderError(std::move(r)));
      } else {
        HttpResponse r;
        r.status = s.status;
        r.body = s.body;
        if (!s.location.empty()) r.headers.emplace_back("Location", s.location);
        r.headers.emplace_back("Idempotent-Replayed", "true");
        respond(std::move(r));
      }
      return;
    }
  }
  const std::string id = report.id.value;
  auto* metrics = deps_.metrics;
  auto* idem = useKey ? deps_.idempotency : nullptr;
  deps_.publisher->publish(report, [=, respond = std::move(respond), render = std::move(render),
                                    renderError = std::move(renderError)](core::Status s) {
    if (!s) {
      if (metrics) metrics->publishFailures.Increment();
      core::log::warn("publish_failed", {{"report_id", id}, {"message", s.error().message}});
      if (idem) (void)idem->release(storeKey);
      auto r = errorResponse(503, "unavailable", "the report could not be queued; retry shortly");
      r.headers.emplace_back("Retry-After", "1");
      respond(renderError(std::move(r)));
      return;
    }
    if (metrics) metrics->reportsPublished.Increment();
    HttpResponse r = render(id);
    if (idem) {
      StoredResponse stored{fingerprint, false, r.status, r.body, "/v1/reports/" + id};
      if (auto c = idem->complete(storeKey, stored); !c) {
        core::log::warn("idempotency_store_failed", {{"message", c.error().message}});
      }
    }
    respond(std::move(r));
  });
}

void ApiService::postReport(HttpRequest& req, Responder respond) {
  if (!req.header("idempotency-key").empty()) {
    // The key costs blocking Redis round trips: they run on the request's
    // own thread again, never on the rate limiter's.
    afterRateCheck(req, [](HttpResponse r) { return r; }, std::move(respond),
                   [this](HttpRequest& r, Responder next) { acceptReport(r, std::move(next)); });
    return;
  }
  // Validated before the verdict, then queued on Kafka from whichever thread
  // brings the verdict (the Redis batcher's): that saves the hop back to the
  // I/O thread, one thread wake-up per POST that on a busy machine waits for
  // a core. Nothing here blocks (the Kafka send is asynchronous). The answers
  // are the same as before: a refused request is a 429 whatever its body,
  // and an invalid one still takes its token.
  auto checked = std::make_shared<core::Result<core::Report>>(validateReport(req));
  afterRateCheck(
      req, [](HttpResponse r) { return r; }, std::move(respond),
      [this, checked](HttpRequest& r, Responder next) {
        if (!*checked) return next(checkedError(checked->error()));
        submitReport(r, **checked, std::move(next));
      },
      /*nextMayRunOnVerdictThread=*/true);
}

core::Result<core::Report> ApiService::validateReport(const HttpRequest& req) const {
  if (!isJsonContentType(req)) {
    return core::makeError("unsupported_media_type", "Content-Type must be application/json", "Content-Type");
  }
  return parseCitizenReport(req.body, core::randomUuid(), deps_.clock->now());
}

void ApiService::acceptReport(HttpRequest& req, Responder respond) {
  auto report = validateReport(req);
  if (!report) return respond(checkedError(report.error()));
  submitReport(req, *report, std::move(respond));
}

HttpResponse ApiService::checkedError(const core::Error& e) {
  if (e.code == "unsupported_media_type") return errorResponse(415, e.code, e.message, e.field);
  return fromError(e);
}

void ApiService::submitReport(HttpRequest& req, const core::Report& report, Responder respond) {
  auto plain = [](HttpResponse r) { return r; };
  submit(req, report,
         [](const std::string& id) {
           HttpResponse r;
           r.status = 202;
           r.body = "{\"id\":" + jsonString(id) + ",\"status\":\"accepted\",\"url\":" + jsonString("/v1/reports/" + id) + "}";
           r.headers.emplace_back("Location", "/v1/reports/" + id);
           return r;
         },
         plain, std::move(respond));
}

void ApiService::getReport(HttpRequest& req, Responder respond) {
  const auto& id = req.pathParams["id"];
  if (!core::isUuid(id)) {
    respond(errorResponse(404, "not_found", "no report with id " + id.substr(0, 64), "id"));
    return;
  }
  auto r = deps_.reports->get(id);
  if (!r) return respond(storeError(r.error(), "the report store"));
  if (!*r) return respond(errorResponse(404, "not_found", "no report with id " + id, "id"));
  // The links are an extra: when they cannot be read the report is still
  // served, without them (a warning and safestream_api_degraded_total).
  std::string links;
  if (deps_.duplicates) {
    auto l = deps_.duplicates->links(id, kMaxDuplicateLinks);
    if (l) {
      links = duplicateLinksMembers(*l);
    } else {
      if (deps_.metrics) deps_.metrics->degraded.Increment();
      core::log::warn("duplicate_links_unavailable", {{"report_id", id}, {"message", l.error().message}});
    }
  }
  // Both renderings end with the closing brace(s) of the object the links join.
  if (wantsGeoJson(req)) {
    std::string body = reportToGeoJson(**r);
    if (!links.empty()) body.insert(body.size() - 2, "," + links);  // into "properties"
    auto out = jsonResponse(200, std::move(body));
    out.contentType = "application/geo+json";
    return respond(std::move(out));
  }
  std::string body = reportToJson(**r);
  if (!links.empty()) body.insert(body.size() - 1, "," + links);
  respond(jsonResponse(200, std::move(body)));
}

core::Result<HttpResponse> ApiService::cachedAnswer(BodyCache* cache, const std::string& key, const HttpRequest& req,
                                                    const std::function<core::Result<std::string>()>& render) {
  if (!cache) {  // compressed, if at all, on the way out (gzipJsonResponse)
    auto body = render();
    if (!body) return body.error();
    return jsonResponse(200, std::move(*body));
  }
  auto kept = cache->get(key, [&]() -> core::Result<std::shared_ptr<const CachedJson>> {
    auto body = render();
    if (!body) return body.error();
    return cacheJson(std::move(*body));
  });
  if (!kept) return kept.error();
  return cachedJsonResponse(**kept, req.header("accept-encoding"));
}

void ApiService::listReports(HttpRequest& req, Responder respond) {
  std::map<std::string, std::string> params;
  std::string bad;
  if (!parseQuery(req.query, params, bad)) {
    return respond(errorResponse(400, "invalid_parameter", "malformed query string near '" + bad.substr(0, 40) + "'"));
  }
  auto q = parseReportQuery(params);
  if (!q) return respond(fromError(q.error()));
  // As in the statistics: a city the cities file does not know is a typo, not an empty answer.
  if (q->city && deps_.statsCities && !deps_.statsCities(*q->city)) {
    return respond(errorResponse(400, "invalid_parameter",
                                 "unknown city '" + q->city->substr(0, 64) + "' (GET /v1/cities lists them)", "city"));
  }
  const bool geo = wantsGeoJson(req);
  auto render = [&]() -> core::Result<std::string> {
    auto page = deps_.reports->query(*q);
    if (!page) return page.error();
    return geo ? pageToGeoJson(*page) : pageToJson(*page);
  };
  // The rendered body is what is reused, as for the statistics.
  auto out = cachedAnswer(reportBodies_.get(), (geo ? "geo\n" : "json\n") + reportsCacheKey(*q), req, render);
  if (!out) return respond(storeError(out.error(), "the report store"));
  if (geo) out->contentType = "application/geo+json";
  respond(std::move(*out));
}

void ApiService::createSubscription(HttpRequest& req, Responder respond) {
  auto plain = [](HttpResponse r) { return r; };
  if (!checkRate(req, plain, respond)) return;
  if (!isJsonContentType(req)) {
    return respond(errorResponse(415, "unsupported_media_type", "Content-Type must be application/json", "Content-Type"));
  }
  auto sub = core::parseSubscriptionRequest(req.body);
  if (!sub) return respond(fromError(sub.error()));
  sub->id = core::randomUuid();
  const std::string token = core::generateToken();
  sub->tokenHash = core::hashToken(token);
  if (auto s = deps_.subscriptions->create(*sub); !s) return respond(storeError(s.error(), "the subscription store"));
  // The token is shown once, here; only its hash is stored.
  json body = json::parse(core::subscriptionToJson(*sub));
  body["id"] = sub->id;
  body["token"] = token;
  body["live_url"] = "/v1/subscriptions/" + sub->id + "/live";
  body["alerts_url"] = "/v1/subscriptions/" + sub->id + "/alerts";
  auto r = jsonResponse(201, body.dump());
  r.headers.emplace_back("Location", "/v1/subscriptions/" + sub->id);
  respond(std::move(r));
}

core::Result<core::Subscription> ApiService::authorize(const std::string& id, const std::string& token,
                                                       HttpResponse& error) {
  if (token.empty()) {
    error = errorResponse(401, "unauthorized", "Authorization: Bearer <token> is required", "Authorization");
    error.headers.emplace_back("WWW-Authenticate", "Bearer");
    return core::makeError("unauthorized", "no token");
  }
  if (!core::isUuid(id)) {
    error = errorResponse(404, "not_found", "no subscription with id " + id.substr(0, 64), "id");
    return core::makeError("not_found", "bad id");
  }
  auto sub = deps_.subscriptions->get(id);
  if (!sub) {
    error = storeError(sub.error(), "the subscription store");
    return sub.error();
  }
  if (!*sub) {
    error = errorResponse(404, "not_found", "no subscription with id " + id, "id");
    return core::makeError("not_found", "unknown id");
  }
  if (!core::tokenMatches(token, (*sub)->tokenHash)) {
    error = errorResponse(403, "forbidden", "the token does not belong to this subscription", "Authorization");
    return core::makeError("forbidden", "wrong token");
  }
  return std::move(**sub);
}

core::Result<core::Subscription> ApiService::authorizeRequest(HttpRequest& req, HttpResponse& error) {
  return authorize(req.pathParams["id"], bearerToken(req), error);
}

void ApiService::getSubscription(HttpRequest& req, Responder respond) {
  HttpResponse error;
  auto sub = authorizeRequest(req, error);
  if (!sub) return respond(std::move(error));
  respond(jsonResponse(200, core::subscriptionToJson(*sub)));
}

void ApiService::patchSubscription(HttpRequest& req, Responder respond) {
  HttpResponse error;
  auto sub = authorizeRequest(req, error);
  if (!sub) return respond(std::move(error));
  if (!isJsonContentType(req) && req.header("content-type").rfind("application/merge-patch+json", 0) != 0) {
    return respond(errorResponse(415, "unsupported_media_type",
                                 "Content-Type must be application/json or application/merge-patch+json", "Content-Type"));
  }
  // nlohmann ends the input at a NUL byte ("{...}\0garbage" would parse).
  // Deep nesting would recurse in merge_patch() and dump() (a worker's stack
  // overflowed at 100,000 levels): refused before parsing.
  json patch = req.body.find('\0') != std::string::npos || core::jsonTooDeep(req.body)
                   ? json(json::value_t::discarded)
                   : json::parse(req.body, nullptr, false);
  if (patch.is_discarded() || !patch.is_object()) {
    return respond(errorResponse(400, "malformed_json",
                                 "body must be a JSON object (a merge patch) nested at most " +
                                     std::to_string(core::kMaxJsonDepth) + " levels"));
  }
  if (patch.contains("id") || patch.contains("token")) {
    return respond(errorResponse(400, "invalid_field", "id and token cannot be changed", patch.contains("id") ? "id" : "token"));
  }
  // RFC 7396 merge patch over the current public view, then the full
  // validation again, so a patch cannot produce what a create would refuse.
  json current = json::parse(core::subscriptionToJson(*sub));
  current.erase("id");
  if (patch.contains("area") && patch["area"].is_object()) current.erase("area");  // an area is replaced whole
  current.merge_patch(patch);
  auto updated = core::parseSubscriptionRequest(current.dump());
  if (!updated) return respond(fromError(updated.error()));
  updated->id = sub->id;
  updated->tokenHash = sub->tokenHash;
  auto ok = deps_.subscriptions->update(*updated);
  if (!ok) return respond(storeError(ok.error(), "the subscription store"));
  if (!*ok) return respond(errorResponse(404, "not_found", "no subscription with id " + sub->id, "id"));
  respond(jsonResponse(200, core::subscriptionToJson(*updated)));
}

void ApiService::deleteSubscription(HttpRequest& req, Responder respond) {
  HttpResponse error;
  auto sub = authorizeRequest(req, error);
  if (!sub) return respond(std::move(error));
  auto ok = deps_.subscriptions->remove(sub->id);
  if (!ok) return respond(storeError(ok.error(), "the subscription store"));
  HttpResponse r;
  r.status = 204;
  r.contentType.clear();
  respond(std::move(r));
}

void ApiService::listAlerts(HttpRequest& req, Responder respond) {
  HttpResponse error;
  auto sub = authorizeRequest(req, error);
  if (!sub) return respond(std::move(error));
  std::map<std::string, std::string> params;
  std::string bad;
  if (!parseQuery(req.query, params, bad)) {
    return respond(errorResponse(400, "invalid_parameter", "malformed query string"));
  }
  for (const auto& [k, _] : params) {
    if (k != "after" && k != "limit") {
      return respond(errorResponse(400, "unknown_parameter", "unknown query parameter '" + k.substr(0, 40) + "'", k.substr(0, 40)));
    }
  }
  std::string after = params.count("after") ? params["after"] : "";
  if (after.empty()) after = req.header("last-event-id");
  if (!validStreamId(after)) {
    return respond(errorResponse(400, "invalid_parameter", "after must be a cursor this API returned (e.g. 1700000000000-0)", "after"));
  }
  int limit = 100;
  if (params.count("limit")) {
    const auto& l = params["limit"];
    if (l.empty() || l.size() > 4 || l.find_first_not_of("0123456789") != std::string::npos || std::stoi(l) < 1 ||
        std::stoi(l) > 1000) {
      return respond(errorResponse(400, "invalid_parameter", "limit must be an integer from 1 to 1000", "limit"));
    }
    limit = std::stoi(l);
  }
  auto entries = deps_.alerts->after(core::live::subscriptionStream(sub->id), after, limit);
  if (!entries) return respond(storeError(entries.error(), "the alert history"));
  std::string body = "{\"alerts\":[";
  bool first = true;
  for (const auto& e : *entries) {
    if (!json::accept(e.json)) {
      core::log::warn("alert_not_json", {{"subscription_id", sub->id}, {"cursor", e.cursor}});
      continue;
    }
    body += (first ? "" : ",") + e.json;
    first = false;
  }
  const std::string next = entries->empty() ? after : entries->back().cursor;
  body += "],\"next_cursor\":" + (next.empty() ? std::string("null") : jsonString(next)) + "}";
  respond(jsonResponse(200, std::move(body)));
}

void ApiService::webConfig(HttpRequest&, Responder respond) {
  auto r = jsonResponse(200, deps_.web ? deps_.web->configJson() : webConfigJson("", ""));
  r.headers.emplace_back("Cache-Control", "no-cache");
  respond(std::move(r));
}

void ApiService::stats(StatsKind kind, HttpRequest& req, Responder respond) {
  auto q = parseStatsRequest(kind, req.query, deps_.clock->now(), deps_.statsCities);
  if (!q) return respond(fromError(q.error()));
  if (!deps_.stats) return respond(storeError(core::Error{"no_store", "no statistics store", "", true}, "the statistics store"));
  auto render = [&]() -> core::Result<std::string> {
    auto rows = deps_.stats->stats(*q);
    if (!rows) return rows.error();
    return statsJson(*q, *rows);
  };
  auto r = cachedAnswer(statsBodies_.get(), statsCacheKey(*q), req, render);
  if (!r) return respond(storeError(r.error(), "the statistics store"));
  // Public numbers that move slowly: browsers and proxies may reuse them briefly.
  r->headers.emplace_back("Cache-Control", "public, max-age=30");
  respond(std::move(*r));
}

std::string citiesJson(const std::vector<CityView>& cities) {
  std::string out = "{\"cities\":[";
  for (std::size_t i = 0; i < cities.size(); ++i) {
    const auto& c = cities[i];
    char bbox[160];
    std::snprintf(bbox, sizeof bbox, "[%.10g,%.10g,%.10g,%.10g]", c.bbox.minLon, c.bbox.minLat, c.bbox.maxLon, c.bbox.maxLat);
    out += std::string(i ? "," : "") + "{\"id\":" + jsonString(c.id) + ",\"name\":" + jsonString(c.name) +
           ",\"zone\":" + jsonString(c.zone) + ",\"bbox\":" + bbox + ",\"neighbourhoods\":[";
    for (std::size_t j = 0; j < c.neighbourhoods.size(); ++j) out += (j ? "," : "") + jsonString(c.neighbourhoods[j]);
    out += "]}";
  }
  return out + "]}";
}

void ApiService::listCities(HttpRequest&, Responder respond) {
  static const std::vector<CityView> kNone;
  auto r = jsonResponse(200, citiesJson(deps_.cities ? deps_.cities->cities() : kNone));
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  respond(std::move(r));
}

void ApiService::cityBoundaries(HttpRequest& req, Responder respond) {
  const auto& id = req.pathParams["id"];
  std::map<std::string, std::string> params;
  std::string bad;
  if (!parseQuery(req.query, params, bad)) return respond(errorResponse(400, "invalid_parameter", "malformed query string"));
  int simplify = 0;
  if (params.count("simplify")) {
    const auto& v = params["simplify"];
    for (int t : kSimplifyTolerancesM) {
      if (v == std::to_string(t)) simplify = t;
    }
    if (simplify == 0) {
      std::string allowed;
      for (int t : kSimplifyTolerancesM) allowed += (allowed.empty() ? "" : ", ") + std::to_string(t);
      return respond(errorResponse(400, "invalid_parameter",
                                   "simplify must be one of these tolerances in metres: " + allowed, "simplify"));
    }
  }
  const CityBoundaries* b = deps_.cities ? deps_.cities->boundaries(id) : nullptr;
  if (!b) {
    bool known = false;
    if (deps_.cities) {
      for (const auto& c : deps_.cities->cities()) known = known || c.id == id;
    }
    return respond(errorResponse(404, "not_found",
                                 known ? "city " + id + " has no neighbourhood boundaries"
                                       : "no city " + id.substr(0, 64) + " (GET /v1/cities lists them)",
                                 "id"));
  }
  // Simplified once per (city, tolerance), then served like the original.
  std::shared_ptr<const CityBoundaries> simplified;
  if (simplify > 0) {
    auto s = simplifiedBoundaries_.get(id + "|" + std::to_string(simplify),
                                       [&]() -> core::Result<std::shared_ptr<const CityBoundaries>> {
                                         auto text = simplifyFeatureCollection(b->geojson, simplify);
                                         if (!text) return text.error();
                                         auto out = std::make_shared<CityBoundaries>();
                                         out->etag = b->etag.substr(0, b->etag.size() - 1) + "-s" +
                                                     std::to_string(simplify) + "\"";
                                         out->gzip = gzipCompress(*text);
                                         out->geojson = std::move(*text);
                                         return std::shared_ptr<const CityBoundaries>(std::move(out));
                                       });
    if (!s) {
      core::log::error("boundaries_not_simplified", {{"city", id}, {"message", s.error().message}});
      return respond(errorResponse(500, "internal", "internal error"));
    }
    simplified = std::move(*s);
    b = simplified.get();
  }
  // About 2 MB of GeoJSON per city: served from memory, gzipped once, revalidated by ETag.
  const bool gzip = !b->gzip.empty() && acceptsGzip(req.header("accept-encoding"));
  const std::string etag = b->etag.substr(0, b->etag.size() - 1) + (gzip ? "-gz\"" : "\"");
  HttpResponse r;
  r.headers.emplace_back("ETag", etag);
  r.headers.emplace_back("Cache-Control", "public, max-age=3600");
  r.headers.emplace_back("Vary", "Accept-Encoding");
  if (etagMatches(req.header("if-none-match"), etag)) {
    r.status = 304;
    r.contentType.clear();
    return respond(std::move(r));
  }
  r.contentType = "application/geo+json";
  if (gzip) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = b->gzip;
  } else {
    r.body = b->geojson;
  }
  respond(std::move(r));
}

// ---- Open311 GeoReport v2 ----------------------------------------------------

void ApiService::open311Services(HttpRequest&, Responder respond) {
  std::string body = "[";
  bool first = true;
  for (const auto& c : citizenCategories()) {
    body += std::string(first ? "" : ",") + "{\"service_code\":" + jsonString(c) + ",\"service_name\":" +
            jsonString(serviceName(c)) + ",\"description\":" + jsonString("Report " + serviceName(c) + " to SafeStream") +
            ",\"metadata\":false,\"type\":\"realtime\",\"keywords\":" + jsonString(c) + ",\"group\":\"public safety\"}";
    first = false;
  }
  respond(jsonResponse(200, body + "]"));
}

void ApiService::open311Service(HttpRequest& req, Responder respond) {
  const auto& code = req.pathParams["code"];
  if (!isCitizenCategory(code)) return respond(open311Error(404, "service_code " + code.substr(0, 40) + " not found"));
  respond(jsonResponse(200, "{\"service_code\":" + jsonString(code) + ",\"attributes\":[]}"));
}

void ApiService::open311Post(HttpRequest& req, Responder respond) {
  afterRateCheck(req, [](HttpResponse r) { return toOpen311Error(std::move(r)); }, std::move(respond),
                 [this](HttpRequest& r, Responder next) { acceptOpen311(r, std::move(next)); });
}

void ApiService::acceptOpen311(HttpRequest& req, Responder respond) {
  auto toSpec = [](HttpResponse r) { return toOpen311Error(std::move(r)); };
  std::string ct = req.header("content-type");
  if (ct.rfind("application/x-www-form-urlencoded", 0) != 0) {
    return respond(open311Error(400, "Content-Type must be application/x-www-form-urlencoded"));
  }
  std::map<std::string, std::string> form;
  std::string bad;
  if (!parseQuery(req.body, form, bad)) return respond(open311Error(400, "malformed form body"));
  auto report = parseOpen311Request(form, core::randomUuid(), deps_.clock->now());
  if (!report) return respond(open311Error(400, report.error().message));
  submit(req, *report,
         [](const std::string& id) {
           HttpResponse r;
           r.status = 201;
           r.body = "[{\"service_request_id\":" + jsonString(id) +
                    ",\"service_notice\":\"Thank you. Your report is being processed.\",\"account_id\":null}]";
           r.headers.emplace_back("Location", "/open311/v2/requests/" + id + ".json");
           return r;
         },
         toSpec, std::move(respond));
}

void ApiService::open311List(HttpRequest& req, Responder respond) {
  std::map<std::string, std::string> params;
  std::string bad;
  if (!parseQuery(req.query, params, bad)) return respond(open311Error(400, "malformed query string"));
  ReportQuery q;
  q.limit = 200;
  if (params.count("service_request_id")) {
    // A comma list of ids: answered by id look-ups, as the spec says other filters are then ignored.
    std::string all = "[";
    std::string ids = params["service_request_id"];
    std::size_t pos = 0, n = 0;
    while (pos <= ids.size() && n < 100) {
      auto c = ids.find(',', pos);
      std::string id = ids.substr(pos, c == std::string::npos ? std::string::npos : c - pos);
      pos = c == std::string::npos ? ids.size() + 1 : c + 1;
      if (!core::isUuid(id)) continue;
      auto r = deps_.reports->get(id);
      if (!r) return respond(toOpen311Error(storeError(r.error(), "the report store")));
      if (*r) {
        all += (n ? "," : "") + open311RequestJson(**r);
        ++n;
      }
    }
    return respond(jsonResponse(200, all + "]"));
  }
  if (params.count("service_code")) {
    for (const auto& c : {params["service_code"]}) {
      if (!isCitizenCategory(c)) return respond(open311Error(400, "service_code " + c.substr(0, 40) + " not found"));
      q.categories.push_back(c);
    }
  }
  for (const auto& [key, field] : {std::pair<const char*, int>{"start_date", 0}, {"end_date", 1}}) {
    if (!params.count(key)) continue;
    auto t = core::parseTimestamp(params[key]);
    if (!t) return respond(open311Error(400, std::string(key) + " must be a W3C date-time with an offset"));
    (field == 0 ? q.since : q.until) = *t;
  }
  if (params.count("status") && params["status"] != "open" && params["status"] != "closed" &&
      params["status"] != "open,closed") {
    return respond(open311Error(400, "status must be open or closed"));
  }
  if (params.count("status") && params["status"] == "closed") return respond(jsonResponse(200, "[]"));
  // The spec's default window: the last 90 days.
  if (!q.since && !q.until) q.since = deps_.clock->now() - std::chrono::hours(24 * 90);
  auto page = deps_.reports->query(q);
  if (!page) return respond(toOpen311Error(storeError(page.error(), "the report store")));
  std::string body = "[";
  for (std::size_t i = 0; i < page->reports.size(); ++i) body += (i ? "," : "") + open311RequestJson(page->reports[i]);
  respond(jsonResponse(200, body + "]"));
}

void ApiService::open311Get(HttpRequest& req, Responder respond) {
  const auto& id = req.pathParams["id"];
  if (!core::isUuid(id)) return respond(open311Error(404, "service request " + id.substr(0, 64) + " not found"));
  auto r = deps_.reports->get(id);
  if (!r) return respond(toOpen311Error(storeError(r.error(), "the report store")));
  if (!*r) return respond(open311Error(404, "service request " + id + " not found"));
  respond(jsonResponse(200, "[" + open311RequestJson(**r) + "]"));
}

}  // namespace safestream::api

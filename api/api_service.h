#pragma once
// The REST and Open311 route handlers. Transport-free: the Beast server
// (http_server.cc) turns bytes into HttpRequest and calls handle(); unit
// tests call handle() directly with fakes behind the ports.
//
// Threading: handle() is called from the server's worker pool, concurrently.
// The responder may run on a Kafka delivery thread (POST /v1/reports).
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "api/answer_cache.h"
#include "api/compression.h"
#include "api/http_types.h"
#include "api/ports.h"
#include "api/router.h"
#include "core/time.h"

namespace safestream::api {

class ApiMetrics;
class WebApp;

struct ServiceDeps {
  ReportPublisher* publisher = nullptr;
  ReportStore* reports = nullptr;
  SubscriptionStore* subscriptions = nullptr;
  // null: GET /v1/reports/{id} without duplicate_of / duplicates.
  DuplicateStore* duplicates = nullptr;
  StatsStore* stats = nullptr;              // null: /v1/stats/* answer 503
  // Rendered /v1/stats/* bodies are reused this long for the same question
  // (one query per concurrent miss); 0: every request queries.
  std::chrono::milliseconds statsCacheTtl{0};
  // Rendered GET /v1/reports search bodies (bbox=, near=, ...) are reused
  // this long for the same search (one query per concurrent miss); 0: every
  // request queries. Single reports by id are never reused.
  std::chrono::milliseconds reportsCacheTtl{0};
  StatsCityLookup statsCities;              // empty: from `cities` (any slug when that is null too)
  CityDirectory* cities = nullptr;          // null: /v1/cities lists none
  RateLimiter* rateLimiter = nullptr;       // null: no rate limit
  IdempotencyStore* idempotency = nullptr;  // null: Idempotency-Key ignored
  AlertHistory* alerts = nullptr;
  const core::Clock* clock = nullptr;
  ApiMetrics* metrics = nullptr;            // may be null in tests
  // The web app's static files: GET/HEAD of a path no route matches. Null:
  // such paths answer 404 and /v1/web-config says no tiles.
  WebApp* web = nullptr;
  // Extra routes served by the transport owner (/metrics, /healthz, /readyz, /openapi.yaml).
  std::vector<Route> extraRoutes;
};

class ApiService {
 public:
  explicit ApiService(ServiceDeps deps);

  // Routes, runs the handler and calls `respond` exactly once. Never throws:
  // an exception in a handler becomes a 500 JSON error without details.
  void handle(HttpRequest req, Responder respond);

  const Router& router() const { return router_; }

  // Checks a bearer token against a subscription: the subscription or an
  // error response (401 missing, 403 wrong token, 404 unknown id). Used by
  // the WebSocket upgrade too.
  core::Result<core::Subscription> authorize(const std::string& subscriptionId, const std::string& token,
                                             HttpResponse& error);

 private:
  void postReport(HttpRequest& req, Responder respond);
  void getReport(HttpRequest& req, Responder respond);
  void listReports(HttpRequest& req, Responder respond);
  void createSubscription(HttpRequest& req, Responder respond);
  void getSubscription(HttpRequest& req, Responder respond);
  void patchSubscription(HttpRequest& req, Responder respond);
  void deleteSubscription(HttpRequest& req, Responder respond);
  void listAlerts(HttpRequest& req, Responder respond);
  void webConfig(HttpRequest& req, Responder respond);
  void stats(StatsKind kind, HttpRequest& req, Responder respond);
  void listCities(HttpRequest& req, Responder respond);
  void cityBoundaries(HttpRequest& req, Responder respond);
  void open311Services(HttpRequest& req, Responder respond);
  void open311Service(HttpRequest& req, Responder respond);
  void open311Post(HttpRequest& req, Responder respond);
  void open311List(HttpRequest& req, Responder respond);
  void open311Get(HttpRequest& req, Responder respond);

  // Rate limit + publish + idempotency shared by the JSON and Open311 posts.
  // `render` builds the success response from the report id.
  void submit(HttpRequest& req, const core::Report& report, std::function<HttpResponse(const std::string&)> render,
              std::function<HttpResponse(HttpResponse)> renderError, Responder respond);
  bool checkRate(HttpRequest& req, const std::function<HttpResponse(HttpResponse)>& renderError, Responder& respond);
  // checkRate without blocking the calling thread: `next` runs once the
  // token is taken or the limiter failed open, on the request's thread
  // (HttpRequest::continueOn) or, when `nextMayRunOnVerdictThread` (for a
  // `next` that never blocks), on the thread that brought the verdict.
  void afterRateCheck(HttpRequest& req, std::function<HttpResponse(HttpResponse)> renderError, Responder respond,
                      std::function<void(HttpRequest&, Responder)> next, bool nextMayRunOnVerdictThread = false);
  void acceptReport(HttpRequest& req, Responder respond);
  // The citizen report of a POST /v1/reports body, or why not (415 or 400).
  core::Result<core::Report> validateReport(const HttpRequest& req) const;
  static HttpResponse checkedError(const core::Error& e);
  void submitReport(HttpRequest& req, const core::Report& report, Responder respond);
  void acceptOpen311(HttpRequest& req, Responder respond);
  core::Result<core::Subscription> authorizeRequest(HttpRequest& req, HttpResponse& error);

  ServiceDeps deps_;
  core::SystemClock systemClock_;
  // Rendering a heatmap of ~600 cells cost more than serving it, so the
  // caches keep the finished JSON, and its gzip (api/compression.h).
  using BodyCache = AnswerCache<std::shared_ptr<const CachedJson>>;
  std::unique_ptr<BodyCache> statsBodies_;
  std::unique_ptr<BodyCache> reportBodies_;  // GET /v1/reports searches
  // The 200 answer of `render` for `key`, through `cache` when there is one.
  static core::Result<HttpResponse> cachedAnswer(BodyCache* cache, const std::string& key, const HttpRequest& req,
                                                 const std::function<core::Result<std::string>()>& render);
  // Simplified boundaries by (city, tolerance): computed once (~0.2 s for
  // Austin), kept for the process's life (7 tolerances x the cities).
  AnswerCache<std::shared_ptr<const CityBoundaries>> simplifiedBoundaries_;
  Router router_;
};

// Open311's error format: [{"code": <status>, "description": "..."}].
HttpResponse open311Error(int status, std::string_view description);
// Converts our {"error":{...}} response into the Open311 array (same status).
HttpResponse toOpen311Error(HttpResponse r);

// GET /v1/cities body: {"cities":[{"id","name","zone","bbox":[w,s,e,n],"neighbourhoods":[...]}]}.
std::string citiesJson(const std::vector<CityView>& cities);

// GET /v1/cities/{id}/boundaries?simplify=<metres>: one of these tolerances.
// A fixed few, so every answer is computed once (~0.2 s for Austin's 2.4 MB)
// and stays cached: free values would let a client make the server simplify
// again on every request.
inline constexpr std::array<int, 7> kSimplifyTolerancesM{1, 2, 5, 10, 20, 50, 100};

// GET /v1/reports/{id} lists at most this many duplicates of a root (then
// "duplicates_more": true); a flood at one spot can link thousands.
inline constexpr int kMaxDuplicateLinks = 20;

// The members GET /v1/reports/{id} adds for `links`, without braces:
// "duplicate_of":{"id","source","occurred_at","url"}|null,"duplicates":[...],"duplicates_more":bool.
std::string duplicateLinksMembers(const DuplicateLinks& links);

// FNV-1a 64 of the body, hex: the Idempotency-Key fingerprint.
std::string bodyFingerprint(std::string_view body);

}  // namespace safestream::api

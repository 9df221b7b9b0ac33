#pragma once
// Method + path-template routing ("/v1/reports/{id}"). Unknown paths answer
// 404, known paths with another method 405 (with Allow), both as JSON errors.
#include <functional>
#include <string>
#include <vector>

#include "api/http_types.h"

namespace safestream::api {

using Handler = std::function<void(HttpRequest&, Responder)>;

struct Route {
  std::string method;    // "GET", "POST", "PATCH", "DELETE"
  std::string pattern;   // "/v1/reports/{id}"; a segment "{x}" matches one non-empty segment
  Handler handler;
};

struct RouteMatch {
  const Route* route = nullptr;   // null: not routed (see error)
  HttpResponse error;             // 404 or 405 when route is null
};

class Router {
 public:
  void add(std::string method, std::string pattern, Handler handler);
  // Matches req.path/method; fills req.pathParams on success. HEAD is served
  // as GET by the transport, so it is matched as GET here.
  RouteMatch match(HttpRequest& req) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// True when `path` fits `pattern`; path parameters go to `params`.
bool matchPattern(const std::string& pattern, const std::string& path, std::map<std::string, std::string>& params);

}  // namespace safestream::api

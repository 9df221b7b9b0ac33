#include "api/router.h"

#include <algorithm>

namespace safestream::api {

namespace {
std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t pos = 0;
  if (!s.empty() && s.front() == '/') pos = 1;
  while (pos <= s.size()) {
    auto slash = s.find('/', pos);
    if (slash == std::string_view::npos) slash = s.size();
    out.push_back(s.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}
}  // namespace

bool matchPattern(const std::string& pattern, const std::string& path, std::map<std::string, std::string>& params) {
  if (path.empty() || path.front() != '/') return false;
  auto ps = split(pattern), xs = split(path);
  if (ps.size() != xs.size()) return false;
  std::map<std::string, std::string> found;
  for (std::size_t i = 0; i < ps.size(); ++i) {
    const auto p = ps[i];
    const auto close = p.find('}');
    if (!p.empty() && p.front() == '{' && close != std::string_view::npos) {
      // "{id}" or "{id}.json": a parameter, optionally followed by a fixed suffix.
      const auto suffix = p.substr(close + 1);
      const auto x = xs[i];
      if (x.size() <= suffix.size() || x.substr(x.size() - suffix.size()) != suffix) return false;
      found[std::string(p.substr(1, close - 1))] = std::string(x.substr(0, x.size() - suffix.size()));
    } else if (p != xs[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

void Router::add(std::string method, std::string pattern, Handler handler) {
  routes_.push_back(Route{std::move(method), std::move(pattern), std::move(handler)});
}

RouteMatch Router::match(HttpRequest& req) const {
  const std::string method = req.method == "HEAD" ? "GET" : req.method;
  std::vector<std::string> allowed;
  for (const auto& r : routes_) {
    std::map<std::string, std::string> params;
    if (!matchPattern(r.pattern, req.path, params)) continue;
    if (r.method == method) {
      req.pathParams = std::move(params);
      return RouteMatch{&r, {}};
    }
    if (std::find(allowed.begin(), allowed.end(), r.method) == allowed.end()) allowed.push_back(r.method);
  }
  if (allowed.empty()) {
    return RouteMatch{nullptr, errorResponse(404, "not_found", "no route for " + req.path)};
  }
  std::string allow;
  for (const auto& m : allowed) allow += (allow.empty() ? "" : ", ") + m;
  auto r = errorResponse(405, "method_not_allowed", req.method + " is not allowed on " + req.path + "; use " + allow);
  r.headers.emplace_back("Allow", allow);
  return RouteMatch{nullptr, std::move(r)};
}

}  // namespace safestream::api

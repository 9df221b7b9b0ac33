#pragma once
// Serves the web app (web/, built into --web-root) at "/" on the API port:
// GET/HEAD of a path no API route matched. The rules (path -> file, media
// type, cache policy, ETag, CSP) are in static_files.h; this class adds the
// file system and a cache.
//
// Each file is read, hashed and (if text-like) gzipped once and kept in
// memory; every request re-checks the file's size and mtime (one stat) so a
// rebuilt app is picked up without a restart. A precompressed sibling
// ("app.js.gz", no older than the file) is used instead of compressing.
// Files whose real path (symlinks resolved) is outside the root are never
// served.
//
// Threading: serve() is called from the worker pool concurrently; the cache
// is guarded by a mutex held only to look up or insert an entry.
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "api/http_types.h"

namespace safestream::api {

struct WebAppOptions {
  std::string root;             // folder holding index.html; may not exist (app not built)
  std::string tileUrl;          // "" : no tile layer (the boundaries are the map)
  std::string tileAttribution;  // shown under the map when tileUrl is set
};

class WebApp {
 public:
  // Throws core::ConfigError when tileUrl is not a usable http(s) template.
  explicit WebApp(WebAppOptions options);

  // The response for GET/HEAD `req` (a path no route matched): the file, a
  // 304, or a 404 JSON error (web_app_not_built when there is no index.html).
  HttpResponse serve(const HttpRequest& req);

  // GET /v1/web-config body.
  const std::string& configJson() const { return configJson_; }
  // True when the root holds an index.html now.
  bool built() const;
  const std::string& root() const { return options_.root; }

  struct Entry;

 private:
  std::shared_ptr<const Entry> load(const std::string& relPath);
  void secure(HttpResponse& r) const;

  WebAppOptions options_;
  std::string csp_;
  std::string configJson_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Entry>> cache_;
};

}  // namespace safestream::api

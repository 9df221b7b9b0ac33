#include "api/web_app.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/compression.h"
#include "api/static_files.h"
#include "core/log.h"
#include "core/result.h"

namespace safestream::api {

namespace fs = std::filesystem;

namespace {
// The app's bundles are a few hundred KB; anything this large is not part of it.
constexpr std::uintmax_t kMaxFileBytes = 32u * 1024 * 1024;
// Below this, gzip's header costs more than it saves.
constexpr std::size_t kMinGzipBytes = 256;

struct FileStamp {
  bool exists = false;
  std::uintmax_t size = 0;
  fs::file_time_type mtime{};
  bool operator==(const FileStamp&) const = default;
};

FileStamp stampOf(const fs::path& p) {
  std::error_code ec;
  auto st = fs::status(p, ec);
  if (ec || !fs::is_regular_file(st)) return {};
  FileStamp s;
  s.size = fs::file_size(p, ec);
  if (ec) return {};
  s.mtime = fs::last_write_time(p, ec);
  if (ec) return {};
  s.exists = true;
  return s;
}

std::optional<std::string> readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  if (!in.good() && !in.eof()) return std::nullopt;
  return std::move(s).str();
}

bool inside(const fs::path& root, const fs::path& p) {
  auto r = root.native(), x = p.native();
  if (!r.empty() && r.back() != '/') r += '/';
  return x.rfind(r, 0) == 0;
}
}  // namespace

struct WebApp::Entry {
  FileStamp stamp;
  FileStamp gzStamp;  // the precompressed sibling used, if any
  std::string mime;
  std::string body;
  std::string gzip;  // empty: served uncompressed
  std::string tag;
  std::string gzipTag;
};

WebApp::WebApp(WebAppOptions options) : options_(std::move(options)) {
  std::string origin;
  if (!options_.tileUrl.empty()) {
    auto o = tileSourceOrigin(options_.tileUrl);
    if (!o) throw core::ConfigError(o.error().message);
    origin = *o;
  }
  csp_ = contentSecurityPolicy(origin);
  configJson_ = webConfigJson(options_.tileUrl, options_.tileAttribution);
}

bool WebApp::built() const { return stampOf(fs::path(options_.root) / "index.html").exists; }

std::shared_ptr<const WebApp::Entry> WebApp::load(const std::string& relPath) {
  const fs::path path = fs::path(options_.root) / relPath;
  const fs::path gzPath = fs::path(path.native() + ".gz");
  const FileStamp stamp = stampOf(path);
  if (!stamp.exists) return nullptr;
  FileStamp gzStamp = stampOf(gzPath);
  if (gzStamp.exists && gzStamp.mtime < stamp.mtime) gzStamp = {};  // stale: compress ourselves
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(relPath);
    if (it != cache_.end() && it->second->stamp == stamp && it->second->gzStamp == gzStamp) return it->second;
  }
  // Symlinks are resolved so a link cannot lead out of the root.
  std::error_code ec;
  const fs::path realRoot = fs::canonical(options_.root, ec);
  if (ec) return nullptr;
  const fs::path real = fs::canonical(path, ec);
  if (ec || !inside(realRoot, real)) {
    core::log::warn("web_file_outside_root", {{"path", relPath}});
    return nullptr;
  }
  if (stamp.size > kMaxFileBytes) {
    core::log::warn("web_file_too_large", {{"path", relPath}, {"bytes", static_cast<long long>(stamp.size)}});
    return nullptr;
  }
  auto body = readFile(real);
  if (!body) return nullptr;
  auto e = std::make_shared<Entry>();
  e->stamp = stamp;
  e->mime = std::string(mimeTypeFor(relPath));
  e->body = std::move(*body);
  e->tag = entityTag(e->body, false);
  if (gzStamp.exists) {
    if (auto gz = readFile(gzPath)) {
      e->gzip = std::move(*gz);
      e->gzStamp = gzStamp;
    }
  } else if (isCompressible(e->mime) && e->body.size() >= kMinGzipBytes) {
    auto gz = gzipCompress(e->body);
    if (gz.size() < e->body.size()) e->gzip = std::move(gz);
  }
  if (!e->gzip.empty()) e->gzipTag = entityTag(e->body, true);
  std::shared_ptr<const Entry> out = std::move(e);
  std::lock_guard lock(mu_);
  cache_[relPath] = out;
  return out;
}

void WebApp::secure(HttpResponse& r) const {
  r.headers.emplace_back("Content-Security-Policy", csp_);
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  r.headers.emplace_back("Permissions-Policy", "geolocation=(self), camera=(), microphone=()");
}

HttpResponse WebApp::serve(const HttpRequest& req) {
  auto rel = staticRelativePath(req.path);
  std::shared_ptr<const Entry> entry;
  if (rel) entry = load(*rel);
  if (!entry && isAppRoute(req.path, req.header("accept"))) {
    rel = "index.html";
    entry = load(*rel);
  }
  if (!entry) {
    HttpResponse r = built() ? errorResponse(404, "not_found", "no route or file for " + req.path.substr(0, 200))
                             : errorResponse(404, "web_app_not_built",
                                             "the web app is not built on this server (no index.html in its web "
                                             "root); the API under /v1/ works without it");
    secure(r);
    return r;
  }
  const bool gzip = !entry->gzip.empty() && acceptsGzip(req.header("accept-encoding"));
  const std::string& tag = gzip ? entry->gzipTag : entry->tag;
  HttpResponse r;
  r.headers.emplace_back("ETag", tag);
  r.headers.emplace_back("Cache-Control", cacheControlFor(*rel));
  if (!entry->gzip.empty()) r.headers.emplace_back("Vary", "Accept-Encoding");
  secure(r);
  if (etagMatches(req.header("if-none-match"), tag)) {
    r.status = 304;
    r.contentType.clear();
    return r;
  }
  r.contentType = entry->mime;
  if (gzip) {
    r.headers.emplace_back("Content-Encoding", "gzip");
    r.body = entry->gzip;
  } else {
    r.body = entry->body;
  }
  return r;
}

}  // namespace safestream::api

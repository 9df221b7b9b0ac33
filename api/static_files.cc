#include "api/static_files.h"

#include <array>
#include <cctype>
#include <cstdlib>
#include <utility>

#include "api/http_types.h"
#include "core/fingerprint.h"

namespace safestream::api {

namespace {

constexpr std::size_t kMaxSegments = 16;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view extensionOf(std::string_view path) {
  auto slash = path.find_last_of('/');
  auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return {};
  return name.substr(dot + 1);
}

}  // namespace

std::optional<std::string> staticRelativePath(std::string_view urlPath) {
  if (urlPath.empty() || urlPath.front() != '/') return std::nullopt;
  std::string out;
  std::size_t segments = 0;
  std::size_t pos = 1;
  while (pos < urlPath.size()) {
    auto slash = urlPath.find('/', pos);
    const bool last = slash == std::string_view::npos;
    auto seg = urlPath.substr(pos, last ? std::string_view::npos : slash - pos);
    // Empty, ".", ".." and hidden names; '\\' would be a separator on other
    // systems and ':' a drive or stream name: none is ever part of the app.
    if (seg.empty() || seg.front() == '.') return std::nullopt;
    for (unsigned char c : seg) {
      if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') return std::nullopt;
    }
    if (++segments > kMaxSegments) return std::nullopt;
    if (!out.empty()) out += '/';
    out.append(seg);
    if (last) return out;
    pos = slash + 1;
  }
  // "/" or a path ending in "/": the folder's index.
  return out.empty() ? std::string("index.html") : out + "/index.html";
}

std::string_view mimeTypeFor(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 24> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"htm", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"map", "application/json"},
      {"geojson", "application/geo+json"},
      {"webmanifest", "application/manifest+json"},
      {"txt", "text/plain; charset=utf-8"},
      {"xml", "application/xml"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"avif", "image/avif"},
      {"ico", "image/x-icon"},
      {"woff", "font/woff"},
      {"woff2", "font/woff2"},
      {"ttf", "font/ttf"},
      {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},
  }};
  const std::string ext = lower(extensionOf(path));
  for (const auto& [e, type] : kTypes) {
    if (e == ext) return type;
  }
  return "application/octet-stream";
}

bool isCompressible(std::string_view mimeType) {
  return mimeType.rfind("text/", 0) == 0 || mimeType.rfind("application/json", 0) == 0 ||
         mimeType.rfind("application/geo+json", 0) == 0 || mimeType.rfind("application/manifest+json", 0) == 0 ||
         mimeType.rfind("application/xml", 0) == 0 || mimeType.rfind("application/wasm", 0) == 0 ||
         mimeType.rfind("image/svg+xml", 0) == 0 || mimeType.rfind("image/x-icon", 0) == 0 ||
         mimeType.rfind("font/ttf", 0) == 0;
}

bool isHashedAsset(std::string_view relPath) {
  auto slash = relPath.find_last_of('/');
  auto name = slash == std::string_view::npos ? relPath : relPath.substr(slash + 1);
  auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  auto stem = name.substr(0, dot);
  auto sep = stem.find_last_of("-.");
  if (sep == std::string_view::npos || sep == 0) return false;
  auto hash = stem.substr(sep + 1);
  if (hash.size() < 8 || hash.size() > 64) return false;
  bool digit = false;
  for (unsigned char c : hash) {
    if (std::isdigit(c)) digit = true;
    else if (!std::isalpha(c) && c != '_') return false;
  }
  return digit;
}

std::string cacheControlFor(std::string_view relPath) {
  if (isHashedAsset(relPath)) return "public, max-age=31536000, immutable";
  return "no-cache";
}

std::string entityTag(std::string_view bytes, bool gzip) {
  return "\"" + core::fnv1a64Hex(bytes) + (gzip ? "-gz" : "") + "\"";
}

bool etagMatches(std::string_view ifNoneMatch, std::string_view etag) {
  auto opaque = [](std::string_view t) {
    t = trim(t);
    if (t.rfind("W/", 0) == 0) t.remove_prefix(2);
    return t;
  };
  const auto want = opaque(etag);
  std::size_t pos = 0;
  while (pos <= ifNoneMatch.size()) {
    auto comma = ifNoneMatch.find(',', pos);
    auto item = trim(ifNoneMatch.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    if (item == "*") return true;
    if (!item.empty() && opaque(item) == want) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

bool acceptsGzip(std::string_view acceptEncoding) {
  std::size_t pos = 0;
  while (pos <= acceptEncoding.size()) {
    auto comma = acceptEncoding.find(',', pos);
    auto item = trim(acceptEncoding.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    auto semi = item.find(';');
    const std::string coding = lower(trim(item.substr(0, semi)));
    if (coding == "gzip" || coding == "x-gzip" || coding == "*") {
      double q = 1;
      while (semi != std::string_view::npos) {
        auto next = item.find(';', semi + 1);
        const std::string param = lower(trim(item.substr(semi + 1, next == std::string_view::npos ? next : next - semi - 1)));
        if (param.rfind("q=", 0) == 0) q = std::strtod(param.c_str() + 2, nullptr);
        semi = next;
      }
      if (q > 0) return true;
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

core::Result<std::string> tileSourceOrigin(std::string_view tileUrl) {
  auto bad = [&](const std::string& why) {
    return core::makeError("invalid_config", "--web-tile-url '" + std::string(tileUrl.substr(0, 200)) + "': " + why,
                           "web-tile-url");
  };
  std::string_view scheme;
  if (tileUrl.rfind("https://", 0) == 0) scheme = "https";
  else if (tileUrl.rfind("http://", 0) == 0) scheme = "http";
  else return bad("must start with https:// or http://");
  auto rest = tileUrl.substr(scheme.size() + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  if (authority.empty()) return bad("has no host");
  if (authority.find('@') != std::string_view::npos) return bad("must not carry credentials");
  std::string host;
  std::size_t pos = 0;
  bool first = true;
  while (pos <= authority.size()) {
    auto dot = authority.find('.', pos);
    auto label = authority.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos);
    if (label.empty()) return bad("has an empty host label");
    if (label.find('{') != std::string_view::npos || label.find('}') != std::string_view::npos) {
      if (!first || label.front() != '{' || label.back() != '}' || label.find('}') != label.size() - 1) {
        return bad("a {placeholder} may only be the whole first host label (like {s}.tile.example.org)");
      }
      host += '*';
    } else {
      for (unsigned char c : label) {
        if (!std::isalnum(c) && c != '-' && c != ':' && c != '[' && c != ']') return bad("has an invalid host");
      }
      host.append(label);
    }
    if (dot == std::string_view::npos) break;
    host += '.';
    pos = dot + 1;
    first = false;
  }
  return std::string(scheme) + "://" + host;
}

std::string contentSecurityPolicy(std::string_view tileOrigin) {
  const std::string extra = tileOrigin.empty() ? std::string() : " " + std::string(tileOrigin);
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:" + extra +
         "; connect-src 'self'" + extra +
         "; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";
}

std::string webConfigJson(std::string_view tileUrl, std::string_view tileAttribution) {
  return std::string("{\"tile_url\":") + (tileUrl.empty() ? "null" : jsonString(tileUrl)) +
         ",\"tile_attribution\":" + (tileAttribution.empty() ? "null" : jsonString(tileAttribution)) + "}";
}

bool isAppRoute(std::string_view urlPath, std::string_view accept) {
  if (urlPath.empty() || urlPath.front() != '/') return false;
  for (std::string_view prefix : {"/v1/", "/open311/"}) {
    if (urlPath.rfind(prefix, 0) == 0) return false;
  }
  if (urlPath == "/v1" || urlPath == "/open311") return false;
  if (!extensionOf(urlPath).empty()) return false;
  return accept.find("text/html") != std::string_view::npos;
}

}  // namespace safestream::api

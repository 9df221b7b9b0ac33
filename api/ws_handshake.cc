#include "api/ws_handshake.h"

#include <algorithm>
#include <cctype>

namespace safestream::api {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}
}  // namespace

bool isWebSocketKey(std::string_view key) {
  if (key.size() != 24 || key.substr(22) != "==") return false;
  const auto isB64 = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'; };
  if (!std::all_of(key.begin(), key.begin() + 22, isB64)) return false;
  // The last character before the padding carries 2 bits of data and 4 zero bits.
  return std::string_view("AQgw").find(key[21]) != std::string_view::npos;
}

std::optional<HttpResponse> checkWebSocketUpgrade(const HttpRequest& request,
                                                  const std::vector<std::string>& allowedOrigins) {
  if (trimmed(request.header("sec-websocket-version")) != "13") {
    auto r = errorResponse(426, "upgrade_required", "Sec-WebSocket-Version must be 13", "sec-websocket-version");
    r.headers.emplace_back("Sec-WebSocket-Version", "13");
    return r;
  }
  if (!isWebSocketKey(trimmed(request.header("sec-websocket-key")))) {
    return errorResponse(400, "bad_request", "Sec-WebSocket-Key must be the base64 of 16 bytes", "sec-websocket-key");
  }
  const std::string origin = lower(trimmed(request.header("origin")));
  if (origin.empty()) return std::nullopt;
  const std::string host = lower(trimmed(request.header("host")));
  if (!host.empty() && (origin == "http://" + host || origin == "https://" + host)) return std::nullopt;
  for (const auto& allowed : allowedOrigins) {
    if (allowed == "*" || lower(allowed) == origin) return std::nullopt;
  }
  return errorResponse(403, "origin_not_allowed",
                       "WebSocket connections from origin " + request.header("origin") +
                           " are not allowed (see --ws-allowed-origins)",
                       "origin");
}

}  // namespace safestream::api

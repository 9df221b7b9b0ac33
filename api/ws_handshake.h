#pragma once
// Checks of a WebSocket upgrade request made before the handshake is handed
// to Beast, so every refusal is the API's JSON error (Beast's own refusals
// are plain text) and cross-site pages cannot open a live channel.
// Pure: no sockets, unit-tested in tests/unit/api/ws_handshake_test.cc.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"

namespace safestream::api {

// RFC 6455 §4.2.1: Sec-WebSocket-Version must be 13 (else 426 naming it in
// Sec-WebSocket-Version), Sec-WebSocket-Key the base64 of 16 bytes (else
// 400). Then the Origin: a request without one (a native client) passes; a
// browser's must be this API's own origin (scheme://Host) or listed in
// `allowedOrigins` ("*" allows any). nullopt when the upgrade may proceed.
std::optional<HttpResponse> checkWebSocketUpgrade(const HttpRequest& request,
                                                  const std::vector<std::string>& allowedOrigins);

// True for 22 base64 characters followed by "==" (16 bytes encoded).
bool isWebSocketKey(std::string_view key);

}  // namespace safestream::api

#pragma once
// gzip (RFC 1952) of a whole buffer with zlib, for responses compressed once
// and cached (the web app's files, city boundaries).
#include <string>
#include <string_view>

namespace safestream::api {

// Level 9: these bodies are compressed once and served many times, so the
// slowest level costs nothing per request. Throws std::runtime_error only if
// zlib cannot allocate.
std::string gzipCompress(std::string_view data, int level = 9);

}  // namespace safestream::api

#include "api/http_types.h"

#include <cctype>
#include <cstdio>

#include "core/utf8.h"

namespace safestream::api {

std::string HttpRequest::header(std::string_view name) const {
  std::string key(name);
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string() : it->second;
}

std::string jsonString(std::string_view text) {
  // Error messages quote what the client sent (a path, a parameter); JSON
  // must be valid UTF-8, so invalid bytes become U+FFFD rather than echoes.
  std::string repaired;
  std::string_view s = text;
  if (!core::isValidUtf8(text)) {
    repaired = core::toValidUtf8(text);
    s = repaired;
  }
  std::string out;
  out.reserve(s.size() + 2);
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      // '<' and '>' escaped so a reflected value can never form markup.
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return out;
}

HttpResponse errorResponse(int status, std::string_view code, std::string_view message, std::string_view field) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":{\"code\":" + jsonString(code) + ",\"message\":" + jsonString(message) +
           ",\"field\":" + (field.empty() ? std::string("null") : jsonString(field)) + "}}";
  return r;
}

bool percentDecode(std::string_view in, std::string& out, bool plusIsSpace) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plusIsSpace) {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parseQuery(std::string_view query, std::map<std::string, std::string>& out, std::string& bad) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    auto amp = query.find('&', pos);
    if (amp == std::string_view::npos) amp = query.size();
    auto part = query.substr(pos, amp - pos);
    if (!part.empty()) {
      auto eq = part.find('=');
      std::string key, value;
      // Decoded text must be UTF-8 without NUL: it is compared, stored
      // (PostgreSQL text refuses both) and quoted back in error messages.
      const auto clean = [](const std::string& t) {
        return t.find('\0') == std::string::npos && core::isValidUtf8(t);
      };
      if (!percentDecode(part.substr(0, eq), key, true) ||
          !percentDecode(eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1), value, true) ||
          !clean(key) || !clean(value)) {
        bad = std::string(part);
        return false;
      }
      out[key] = value;
    }
    pos = amp + 1;
  }
  return true;
}

}  // namespace safestream::api

#include "core/utf8.h"

namespace safestream::core {

namespace {
// How many bytes of a sequence starting at s[i] are a well-formed prefix
// (at least 1), and whether they form a complete sequence.
struct Prefix {
  std::size_t length;
  bool complete;
};

Prefix wellFormedPrefix(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = byte(0);
  if (c < 0x80) return {1, true};
  std::size_t need;            // continuation bytes
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;       // no overlong 3-byte forms
    else if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;       // no overlong 4-byte forms
    else if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};  // 0x80..0xC1 and 0xF5..0xFF never start a sequence
  }
  std::size_t k = 1;
  for (; k <= need && i + k < s.size(); ++k) {
    const unsigned char b = byte(k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return {k, false};
  }
  return {k, k == need + 1};
}
}  // namespace

std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  if (i >= s.size()) return 0;
  const auto p = wellFormedPrefix(s, i);
  return p.complete ? p.length : 0;
}

bool isValidUtf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto n = utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string toValidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const auto p = wellFormedPrefix(s, i);
    if (p.complete) out.append(s.substr(i, p.length));
    else out += "\xEF\xBF\xBD";  // U+FFFD
    i += p.length;
  }
  return out;
}

}  // namespace safestream::core

#pragma once
// UTF-8 validity for text that came from outside (request paths, query
// values, headers, source feeds) and is about to be written into JSON: a
// JSON text must be valid UTF-8 (RFC 8259 §8.1), so invalid bytes are
// replaced, never echoed.
#include <cstddef>
#include <string>
#include <string_view>

namespace safestream::core {

// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0
// when the bytes there are not one: stray continuation bytes, overlong
// forms, UTF-16 surrogates (U+D800..DFFF), code points above U+10FFFF and
// truncated sequences are all rejected (Unicode 15, table 3-7).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i);

bool isValidUtf8(std::string_view s);

// `s` with each maximal ill-formed subpart replaced by U+FFFD (the
// "substitution of maximal subparts" practice of Unicode §3.9, as browsers
// and ICU do); valid text is returned unchanged.
std::string toValidUtf8(std::string_view s);

}  // namespace safestream::core

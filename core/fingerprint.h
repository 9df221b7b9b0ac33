#pragma once
// A fast, stable, non-cryptographic fingerprint (64-bit FNV-1a as 16 hex
// digits) for telling "same bytes as before" apart from "changed": an
// Idempotency-Key's body, the head of an import file. Not for secrets.
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace safestream::core {

inline std::string fnv1a64Hex(std::string_view bytes) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace safestream::core

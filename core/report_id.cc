#include "core/report_id.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <stdexcept>
#include <string>

namespace safestream::core {
namespace {

// Fixed namespace UUID for SafeStream report ids (never change it: ids in
// PostgreSQL and S3 depend on it).
constexpr std::array<unsigned char, 16> kNamespace = {0x5a, 0xfe, 0x57, 0x2e, 0xa1, 0x0b, 0x4c, 0x6e,
                                                      0x9d, 0x2f, 0x1c, 0x3b, 0x8e, 0x44, 0x71, 0x05};

std::string formatUuid(const unsigned char* b) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0xF]);
  }
  return out;
}

}  // namespace

ReportId reportIdFor(std::string_view source, std::string_view sourceId) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const char sep = '\x1f';
  bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr) &&
            EVP_DigestUpdate(ctx, kNamespace.data(), kNamespace.size()) &&
            EVP_DigestUpdate(ctx, source.data(), source.size()) &&
            EVP_DigestUpdate(ctx, &sep, 1) &&
            EVP_DigestUpdate(ctx, sourceId.data(), sourceId.size()) &&
            EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("SHA-1 digest failed");
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return ReportId{formatUuid(digest)};
}

std::string randomUuid() {
  unsigned char b[16];
  if (RAND_bytes(b, sizeof b) != 1) throw std::runtime_error("RAND_bytes failed");
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
  return formatUuid(b);
}

bool isUuid(std::string_view t) {
  if (t.size() != 36) return false;
  for (size_t i = 0; i < t.size(); ++i) {
    const char c = t[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

}  // namespace safestream::core

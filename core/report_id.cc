#include "core/report_id.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <unistd.h>

#include <array>
#include <cstring>
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

// Why the digest and the random bytes are kept per thread: OpenSSL 3 looks
// the algorithm up in its provider tables on every EVP_sha1()/RAND_bytes()
// call (locks, hash lookups, parameter parsing), which cost more than the
// SHA-1 of 60 bytes itself. A citizen POST makes both calls; measured with
// perf under bench/api/run.sh they were 5 % of the API's CPU per request.
struct DigestContext {
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);  // fetched once per thread, freed with it
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~DigestContext() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(md);
  }
};

// Random bytes drawn from RAND_bytes 4 KiB at a time, handed out once each.
// A forked child must not repeat its parent's bytes: the buffer belongs to
// the process that filled it and is refilled when getpid() changes.
struct RandomPool {
  unsigned char bytes[4096];
  std::size_t used = sizeof bytes;
  pid_t owner = -1;
  void take(unsigned char* out, std::size_t n) {
    if (owner != ::getpid() || used + n > sizeof bytes) {
      if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
      used = 0;
      owner = ::getpid();
    }
    std::memcpy(out, bytes + used, n);
    std::memset(bytes + used, 0, n);  // a byte handed out does not stay in memory
    used += n;
  }
};

}  // namespace

ReportId reportIdFor(std::string_view source, std::string_view sourceId) {
  thread_local DigestContext d;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const char sep = '\x1f';
  bool ok = d.md && d.ctx && EVP_DigestInit_ex2(d.ctx, d.md, nullptr) &&
            EVP_DigestUpdate(d.ctx, kNamespace.data(), kNamespace.size()) &&
            EVP_DigestUpdate(d.ctx, source.data(), source.size()) &&
            EVP_DigestUpdate(d.ctx, &sep, 1) &&
            EVP_DigestUpdate(d.ctx, sourceId.data(), sourceId.size()) &&
            EVP_DigestFinal_ex(d.ctx, digest, &len);
  if (!ok) throw std::runtime_error("SHA-1 digest failed");
  digest[6] = static_cast<unsigned char>((digest[6] & 0x0F) | 0x50);  // version 5
  digest[8] = static_cast<unsigned char>((digest[8] & 0x3F) | 0x80);  // RFC 4122 variant
  return ReportId{formatUuid(digest)};
}

std::string randomUuid() {
  thread_local RandomPool pool;
  unsigned char b[16];
  pool.take(b, sizeof b);
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

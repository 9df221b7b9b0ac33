#include "core/s3_client.h"

#include <curl/curl.h>
#include <openssl/sha.h>

#include <cstring>
#include <memory>

namespace safestream::core {
namespace {

std::string sha256Hex(const std::string& data) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : d) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  }
  return out;
}

// RFC 3986 encoding as SigV4 wants it; '/' kept when `keepSlash`.
std::string uriEncode(const std::string& s, bool keepSlash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

size_t appendBody(char* ptr, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(ptr, size * n);
  return size * n;
}

std::string xmlValue(const std::string& xml, const std::string& tag, size_t from = 0, size_t* end = nullptr) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  auto a = xml.find(open, from);
  if (a == std::string::npos) return {};
  a += open.size();
  auto b = xml.find(close, a);
  if (b == std::string::npos) return {};
  if (end) *end = b + close.size();
  return xml.substr(a, b - a);
}

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

}  // namespace

S3Client::S3Client(S3Settings settings) : settings_(std::move(settings)) {
  static CurlGlobal init;
  if (settings_.endpoint.empty()) throw ConfigError("S3 endpoint is not set (SAFESTREAM_S3_ENDPOINT)");
  if (settings_.bucket.empty()) throw ConfigError("S3 bucket is not set (SAFESTREAM_S3_BUCKET)");
  if (settings_.accessKey.empty() || settings_.secretKey.empty()) {
    throw ConfigError("S3 credentials are not set (SAFESTREAM_S3_ACCESS_KEY / SAFESTREAM_S3_SECRET_KEY)");
  }
  while (!settings_.endpoint.empty() && settings_.endpoint.back() == '/') settings_.endpoint.pop_back();
}

S3Client::~S3Client() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

// Handles are kept between calls (each its own thread's while in use) so
// their connections stay open: a new TCP connection per request cost the
// emulator more CPU than the objects themselves.
void* S3Client::acquireHandle() {
  {
    std::lock_guard<std::mutex> lock(idleMu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(h));  // options go, the connection cache stays
      return h;
    }
  }
  return curl_easy_init();
}

void S3Client::releaseHandle(void* h, bool reusable) {
  if (reusable) {
    std::lock_guard<std::mutex> lock(idleMu_);
    if (idle_.size() < kMaxIdleHandles) {
      idle_.push_back(h);
      return;
    }
  }
  curl_easy_cleanup(static_cast<CURL*>(h));
}

Result<S3Client::Response> S3Client::request(const std::string& method, const std::string& key,
                                             const std::string& query, const std::string* body,
                                             const std::string& contentType) {
  CURL* c = static_cast<CURL*>(acquireHandle());
  if (!c) return makeError("s3_client", "curl_easy_init failed", "", true);
  bool reusable = false;
  struct Release {
    S3Client* self;
    CURL* c;
    bool* reusable;
    ~Release() { self->releaseHandle(c, *reusable); }
  } release{this, c, &reusable};
  std::string url = settings_.endpoint + "/" + uriEncode(settings_.bucket, false);
  if (!key.empty()) url += "/" + uriEncode(key, true);
  if (!query.empty()) url += "?" + query;
  const std::string sigv4 = "aws:amz:" + settings_.region + ":s3";
  const std::string userpwd = settings_.accessKey + ":" + settings_.secretKey;
  Response resp;
  curl_slist* headers = nullptr;
  const std::string payloadHash = "x-amz-content-sha256: " + sha256Hex(body ? *body : std::string());
  headers = curl_slist_append(headers, payloadHash.c_str());
  if (!contentType.empty()) headers = curl_slist_append(headers, ("Content-Type: " + contentType).c_str());
  headers = curl_slist_append(headers, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headerGuard(headers, curl_slist_free_all);

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(settings_.timeout.count(), 3000)));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp.body);
  if (method == "PUT") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
  } else if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) {
    return makeError("s3_unreachable", method + " " + settings_.endpoint + " failed: " + curl_easy_strerror(rc), "",
                     true);
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
  reusable = true;
  return resp;
}

namespace {
Error httpError(const std::string& what, long status, const std::string& body) {
  std::string code = xmlValue(body, "Code");
  return makeError("s3_http_" + std::to_string(status),
                   what + " answered HTTP " + std::to_string(status) + (code.empty() ? "" : " " + code), "",
                   status >= 500 || status == 429);
}
}  // namespace

Status S3Client::put(const std::string& key, const std::string& body, const std::string& contentType) {
  auto r = request("PUT", key, "", &body, contentType);
  if (!r) return r.error();
  if (r->status / 100 != 2) return httpError("PUT " + key, r->status, r->body);
  return okStatus();
}

Result<std::string> S3Client::get(const std::string& key) {
  auto r = request("GET", key, "", nullptr, "");
  if (!r) return r.error();
  if (r->status / 100 != 2) return httpError("GET " + key, r->status, r->body);
  return std::move(r->body);
}

Status S3Client::remove(const std::string& key) {
  auto r = request("DELETE", key, "", nullptr, "");
  if (!r) return r.error();
  if (r->status / 100 != 2) return httpError("DELETE " + key, r->status, r->body);
  return okStatus();
}

Result<std::vector<std::string>> S3Client::list(const std::string& prefix) {
  std::vector<std::string> keys;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    // Query parameters in sorted order, as SigV4's canonical query wants.
    std::string q;
    if (!token.empty()) q += "continuation-token=" + uriEncode(token, false) + "&";
    q += "list-type=2&prefix=" + uriEncode(prefix, false);
    auto r = request("GET", "", q, nullptr, "");
    if (!r) return r.error();
    if (r->status / 100 != 2) return httpError("LIST " + prefix, r->status, r->body);
    size_t pos = 0, end = 0;
    for (;;) {
      std::string contents = xmlValue(r->body, "Contents", pos, &end);
      if (contents.empty()) break;
      keys.push_back(xmlValue(contents, "Key"));
      pos = end;
    }
    if (xmlValue(r->body, "IsTruncated") != "true") break;
    token = xmlValue(r->body, "NextContinuationToken");
    if (token.empty()) break;
  }
  return keys;
}

Status S3Client::checkBucket() {
  auto r = request("HEAD", "", "", nullptr, "");
  if (!r) return r.error();
  if (r->status / 100 != 2) return httpError("HEAD bucket " + settings_.bucket, r->status, r->body);
  return okStatus();
}

}  // namespace safestream::core

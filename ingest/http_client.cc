#include "ingest/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>

namespace safestream::ingest {
namespace {

struct Transfer {
  std::string body;
  std::size_t max = 0;
  bool tooLarge = false;
  std::optional<std::string> retryAfter;
};

std::size_t onBody(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::size_t bytes = size * n;
  if (t->body.size() + bytes > t->max) {
    t->tooLarge = true;
    return 0;  // aborts the transfer
  }
  t->body.append(data, bytes);
  return bytes;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  constexpr std::string_view kName = "retry-after:";
  if (line.size() > kName.size()) {
    std::string head = line.substr(0, kName.size());
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (head == kName) {
      std::string v = line.substr(kName.size());
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.pop_back();
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      t->retryAfter = v;
    }
  }
  return size * n;
}

std::optional<std::chrono::seconds> parseRetryAfter(const std::string& v) {
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    return std::chrono::seconds(std::stoll(v.substr(0, 9)));
  }
  const time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  const long long delta = static_cast<long long>(when) - static_cast<long long>(std::time(nullptr));
  return std::chrono::seconds(std::max(0LL, delta));
}

std::once_flag curlInit;

}  // namespace

std::string urlEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

CurlHttpClient::CurlHttpClient(std::size_t maxBodyBytes) : maxBodyBytes_(maxBodyBytes) {
  std::call_once(curlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlHttpClient::~CurlHttpClient() = default;

core::Result<HttpResponse> CurlHttpClient::get(const HttpRequest& req) {
  CURL* curl = curl_easy_init();
  if (!curl) return core::makeError("transport", "curl_easy_init failed", "", true);
  Transfer t;
  t.max = maxBodyBytes_;
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, (k + ": " + v).c_str());
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // worker threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(req.timeout.count(), 10000)));
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // gzip/deflate as the server likes
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "safestream-ingest/0.1");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  const std::string what = req.what.empty() ? "request" : req.what;
  if (t.tooLarge) {
    return core::makeError("too_large", what + ": body over " + std::to_string(maxBodyBytes_) + " bytes", "", true);
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return core::makeError("timeout", what + ": no complete answer within " + std::to_string(req.timeout.count()) + " ms", "", true);
  }
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    return core::makeError("connect", what + ": " + curl_easy_strerror(rc), "", true);
  }
  if (rc != CURLE_OK) {
    // e.g. the server closed mid-body: the status line may have been fine.
    return core::makeError("transport", what + ": " + curl_easy_strerror(rc), "", true);
  }
  HttpResponse r;
  r.status = static_cast<int>(status);
  r.body = std::move(t.body);
  if (t.retryAfter) r.retryAfter = parseRetryAfter(*t.retryAfter);
  return r;
}

}  // namespace safestream::ingest

#pragma once
// A small S3 client on libcurl with its built-in AWS Signature V4
// (CURLOPT_AWS_SIGV4). Path-style URLs so it works with AWS, MinIO and the
// local emulator alike. Each call is synchronous with a timeout; thread-safe
// (one curl handle per call at a time, taken from a pool of idle handles
// whose connections are kept alive).
#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"

namespace safestream::core {

struct S3Settings {
  std::string endpoint;   // "http://127.0.0.1:54568" or "https://s3.eu-west-1.amazonaws.com"
  std::string bucket;
  std::string region = "us-east-1";
  std::string accessKey;  // from the environment, never logged
  std::string secretKey;
  std::chrono::milliseconds timeout{10000};
};

class S3Client {
 public:
  explicit S3Client(S3Settings settings);  // throws ConfigError on missing settings
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;
  Status put(const std::string& key, const std::string& body, const std::string& contentType);
  Result<std::string> get(const std::string& key);
  Result<std::vector<std::string>> list(const std::string& prefix);  // all keys, follows pagination
  Status remove(const std::string& key);
  Status checkBucket();  // HEAD bucket: readiness probe
  const S3Settings& settings() const { return settings_; }

 private:
  struct Response {
    long status = 0;
    std::string body;
  };
  Result<Response> request(const std::string& method, const std::string& key, const std::string& query,
                           const std::string* body, const std::string& contentType);
  void* acquireHandle();  // a CURL*, kept out of this header
  void releaseHandle(void* handle, bool reusable);
  static constexpr std::size_t kMaxIdleHandles = 32;
  S3Settings settings_;
  std::mutex idleMu_;
  std::vector<void*> idle_;
};

}  // namespace safestream::core

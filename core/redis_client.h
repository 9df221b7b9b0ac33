#pragma once
// A blocking Redis connection on hiredis with connect and command timeouts.
// Not thread-safe: one connection per thread (or guard it). Reconnects on the
// next command after an I/O error.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace safestream::core {

struct RedisReply {
  enum class Type { nil, string, integer, array, status, error } type = Type::nil;
  std::string str;           // string, status and error replies
  long long integer = 0;
  std::vector<RedisReply> elements;
};

struct RedisSettings {
  std::string url;  // redis://[:password@]host:port[/db]
  std::chrono::milliseconds timeout{2000};
};

class RedisClient {
 public:
  explicit RedisClient(RedisSettings settings);  // parses the URL; throws ConfigError if malformed
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Binary-safe command; a Redis error reply is returned as an Error with
  // code "redis_error" (not retriable), an I/O failure as retriable.
  Result<RedisReply> command(const std::vector<std::string>& argv);
  // Pipelines several commands in one round trip.
  Result<std::vector<RedisReply>> pipeline(const std::vector<std::vector<std::string>>& commands);
  Status ping();

 private:
  Status ensureConnected();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace safestream::core

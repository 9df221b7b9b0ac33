#include "core/redis_client.h"

#include <hiredis/hiredis.h>

#include <regex>

namespace safestream::core {

struct RedisClient::Impl {
  RedisSettings settings;
  std::string host;
  int port = 6379;
  int db = 0;
  std::string password;
  redisContext* ctx = nullptr;

  void drop() {
    if (ctx) redisFree(ctx);
    ctx = nullptr;
  }
};

namespace {

RedisReply convert(const redisReply* r) {
  RedisReply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = RedisReply::Type::string; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = RedisReply::Type::status; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.type = RedisReply::Type::error; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = RedisReply::Type::integer; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default: out.type = RedisReply::Type::nil; break;
  }
  return out;
}

timeval toTimeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

RedisClient::RedisClient(RedisSettings settings) : impl_(std::make_unique<Impl>()) {
  static const std::regex re(R"(^redis://(?::([^@]*)@)?([^:/]+)(?::(\d+))?(?:/(\d+))?/?$)");
  std::smatch m;
  if (!std::regex_match(settings.url, m, re)) {
    throw ConfigError("Redis URL must look like redis://[:password@]host:port[/db]");
  }
  impl_->password = m[1];
  impl_->host = m[2];
  if (m[3].matched) impl_->port = std::stoi(m[3]);
  if (m[4].matched) impl_->db = std::stoi(m[4]);
  impl_->settings = std::move(settings);
}

RedisClient::~RedisClient() { impl_->drop(); }

Status RedisClient::ensureConnected() {
  if (impl_->ctx) return okStatus();
  timeval tv = toTimeval(impl_->settings.timeout);
  redisContext* c = redisConnectWithTimeout(impl_->host.c_str(), impl_->port, tv);
  const std::string where = impl_->host + ":" + std::to_string(impl_->port);
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return makeError("redis_unreachable", "Redis at " + where + ": " + why, "", true);
  }
  redisSetTimeout(c, tv);
  impl_->ctx = c;
  auto init = [&](std::vector<std::string> argv) -> Status {
    auto r = command(argv);
    if (!r) return r.error();
    return okStatus();
  };
  if (!impl_->password.empty()) {
    if (auto s = init({"AUTH", impl_->password}); !s) { impl_->drop(); return s; }
  }
  if (impl_->db != 0) {
    if (auto s = init({"SELECT", std::to_string(impl_->db)}); !s) { impl_->drop(); return s; }
  }
  return okStatus();
}

Result<std::vector<RedisReply>> RedisClient::pipeline(const std::vector<std::vector<std::string>>& commands) {
  if (auto s = ensureConnected(); !s) return s.error();
  for (const auto& argv : commands) {
    std::vector<const char*> args;
    std::vector<size_t> lens;
    for (const auto& a : argv) {
      args.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(impl_->ctx, static_cast<int>(args.size()), args.data(), lens.data()) != REDIS_OK) {
      std::string why = impl_->ctx->errstr;
      impl_->drop();
      return makeError("redis_io", "Redis command failed: " + why, "", true);
    }
  }
  std::vector<RedisReply> out;
  out.reserve(commands.size());
  for (size_t i = 0; i < commands.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(impl_->ctx, &raw) != REDIS_OK || !raw) {
      std::string why = impl_->ctx->errstr;
      impl_->drop();
      return makeError("redis_io", "Redis reply failed: " + why, "", true);
    }
    std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(static_cast<redisReply*>(raw), freeReplyObject);
    out.push_back(convert(reply.get()));
  }
  return out;
}

Result<RedisReply> RedisClient::command(const std::vector<std::string>& argv) {
  auto r = pipeline({argv});
  if (!r) return r.error();
  RedisReply reply = std::move(r->front());
  if (reply.type == RedisReply::Type::error) return makeError("redis_error", reply.str);
  return reply;
}

Status RedisClient::ping() {
  auto r = command({"PING"});
  if (!r) return r.error();
  return okStatus();
}

}  // namespace safestream::core

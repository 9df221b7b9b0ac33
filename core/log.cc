#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace safestream::core::log {
namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = std::make_shared<spdlog::logger>("safestream", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    // The payload (%v) is already a JSON fragment; spdlog supplies time and level.
    l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::info);
    return l;
  }();
  return instance;
}

std::string& componentName() {
  static std::string name = "safestream";
  return name;
}

spdlog::level::level_enum toSpd(Level l) {
  switch (l) {
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

void init(std::string_view component, std::string_view level) {
  componentName() = std::string(component);
  logger()->set_level(spdlog::level::from_str(std::string(level)));
}

void write(Level level, std::string_view event, Fields fields) {
  auto& l = logger();
  if (!l->should_log(toSpd(level))) return;
  nlohmann::json j;
  j["component"] = componentName();
  j["event"] = event;
  for (const auto& f : fields) {
    std::visit([&](const auto& v) { j[std::string(f.key)] = v; }, f.value);
  }
  std::string body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // Strip the outer braces: the pattern supplies them around ts/level.
  l->log(toSpd(level), "{}", std::string_view(body).substr(1, body.size() - 2));
}

std::string redactUrl(std::string_view url) {
  auto scheme = url.find("://");
  auto at = url.find('@', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (scheme == std::string_view::npos || at == std::string_view::npos) return std::string(url);
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "***" + std::string(url.substr(at));
}

}  // namespace safestream::core::log

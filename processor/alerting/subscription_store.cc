#include "processor/alerting/subscription_store.h"

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "core/log.h"
#include "core/report_id.h"

namespace safestream::processor::alerting {
namespace {

constexpr const char* kChannel = "safestream_subscriptions";
constexpr const char* kSelect =
    "SELECT id::text, area_type, center_lat, center_lon, radius_m, neighbourhood, polygon::text, "
    "array_to_json(categories)::text, min_severity, time_zone, quiet_start, quiet_end, max_per_hour, city, paused "
    "FROM subscriptions";

std::string withConnectTimeout(const std::string& url) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=5";
}

// Operators (and tests) find the LISTEN session in pg_stat_activity by it.
std::string withApplicationName(const std::string& url) {
  if (url.find("application_name") != std::string::npos) return url;
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "application_name=safestream-alert-listener";
}

// A row as the index needs it (no token hash: the processor never needs it).
std::optional<core::Subscription> fromRow(const pqxx::row& row) {
  core::Subscription s;
  s.id = row[0].as<std::string>();
  auto type = core::parseAreaType(row[1].as<std::string>());
  if (!type) {
    core::log::warn("subscription_row_invalid", {{"subscription_id", s.id}, {"reason", "unknown area_type"}});
    return std::nullopt;
  }
  s.areaType = *type;
  if (!row[2].is_null()) s.center.lat = row[2].as<double>();
  if (!row[3].is_null()) s.center.lon = row[3].as<double>();
  if (!row[4].is_null()) s.radiusM = row[4].as<double>();
  if (!row[5].is_null()) s.neighbourhood = row[5].as<std::string>();
  if (!row[6].is_null()) {
    auto polygon = core::parsePolygonJson(row[6].as<std::string>(), "polygon");
    if (!polygon) {
      core::log::warn("subscription_row_invalid", {{"subscription_id", s.id}, {"reason", polygon.error().message}});
      return std::nullopt;
    }
    s.polygon = std::move(*polygon);
  }
  if (!row[7].is_null()) {
    auto cats = nlohmann::json::parse(row[7].as<std::string>(), nullptr, false);
    if (cats.is_array()) {
      for (const auto& c : cats) {
        if (c.is_string()) s.categories.push_back(c.get<std::string>());
      }
    }
  }
  s.minSeverity = row[8].as<int>();
  s.timeZone = row[9].as<std::string>();
  if (!row[10].is_null() && !row[11].is_null()) s.quietHours = core::QuietHours{row[10].as<int>(), row[11].as<int>()};
  if (!row[12].is_null()) s.maxPerHour = row[12].as<int>();
  if (!row[13].is_null()) s.city = row[13].as<std::string>();
  s.paused = row[14].as<bool>();
  return s;
}

std::vector<core::Subscription> loadAll(pqxx::connection_base& conn) {
  pqxx::read_transaction tx(conn);
  tx.exec0("SET LOCAL statement_timeout = '60s'");
  std::vector<core::Subscription> out;
  for (const auto& row : tx.exec(kSelect)) {
    if (auto s = fromRow(row)) out.push_back(std::move(*s));
  }
  return out;
}

std::optional<core::Subscription> loadOne(pqxx::connection_base& conn, const std::string& id) {
  pqxx::read_transaction tx(conn);
  tx.exec0("SET LOCAL statement_timeout = '10s'");
  auto rows = tx.exec_params(std::string(kSelect) + " WHERE id = $1::uuid", id);
  if (rows.empty()) return std::nullopt;
  return fromRow(rows[0]);
}

class Receiver final : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::vector<std::string>& sink)
      : pqxx::notification_receiver(c, kChannel), sink_(sink) {}
  void operator()(const std::string& payload, int) override { sink_.push_back(payload); }

 private:
  std::vector<std::string>& sink_;
};

}  // namespace

std::vector<core::Subscription> loadAllSubscriptions(const std::string& pgUrl) {
  pqxx::connection conn(withConnectTimeout(pgUrl));
  return loadAll(conn);
}

SubscriptionListener::SubscriptionListener(std::string pgUrl, SubscriptionRegistry& registry, AlertMetrics& metrics,
                                           std::chrono::milliseconds pollInterval)
    : pgUrl_(withApplicationName(withConnectTimeout(pgUrl))), registry_(registry), metrics_(metrics), pollInterval_(pollInterval) {}

SubscriptionListener::~SubscriptionListener() { stop(); }

void SubscriptionListener::start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void SubscriptionListener::stop() {
  stop_ = true;
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool SubscriptionListener::waitUntilLoaded(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return loaded_; });
}

void SubscriptionListener::run() {
  bool first = true;
  while (!stop_) {
    try {
      pqxx::connection conn(pgUrl_);
      std::vector<std::string> payloads;
      // LISTEN before the full load: a change made during the load is then
      // also heard afterwards (applied twice, which is harmless).
      Receiver receiver(conn, payloads);
      auto all = loadAll(conn);
      const auto count = all.size();
      const auto rejected = registry_.replaceAll(std::move(all));
      ++reloads_;
      connected_ = true;
      core::log::info("subscriptions_loaded", {{"count", count}, {"rejected", rejected}});
      {
        std::lock_guard lock(mu_);
        loaded_ = true;
      }
      cv_.notify_all();
      first = false;
      const long micros = static_cast<long>(std::chrono::duration_cast<std::chrono::microseconds>(pollInterval_).count());
      while (!stop_) {
        conn.await_notification(micros / 1000000, micros % 1000000);
        if (payloads.empty()) continue;
        std::vector<std::string> batch;
        batch.swap(payloads);
        for (const auto& payload : batch) {
          auto j = nlohmann::json::parse(payload, nullptr, false);
          if (!j.is_object() || !j.contains("id") || !j["id"].is_string()) {
            core::log::warn("subscription_notification_invalid", {{"payload", payload}});
            continue;
          }
          const std::string id = j["id"].get<std::string>();
          const std::string op = j.value("op", "");
          if (!core::isUuid(id)) {
            core::log::warn("subscription_notification_invalid", {{"payload", payload}});
            continue;
          }
          if (op == "DELETE") {
            registry_.erase(id);
          } else if (auto s = loadOne(conn, id)) {
            (void)registry_.upsert(std::move(*s));  // a rejected row is logged and counted inside
          } else {
            registry_.erase(id);  // gone again (or unreadable) by the time we looked
          }
          metrics_.subscriptionChanges.Increment();
          core::log::debug("subscription_changed", {{"subscription_id", id}, {"op", op}});
        }
      }
    } catch (const std::exception& e) {
      connected_ = false;
      metrics_.listenerReconnects.Increment();
      core::log::warn("subscription_listener_error",
                      {{"error", std::string(e.what())}, {"first_load", first}, {"retry_in_ms", 1000}});
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_.load(); });
    }
  }
  connected_ = false;
}

}  // namespace safestream::processor::alerting

#include "processor/alerting/redis_surge_counter.h"

#include <map>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "core/log.h"
#include "core/report_codec.h"

namespace safestream::processor::alerting {
namespace {

constexpr int kSeenTtlSeconds = 3 * 24 * 3600;
constexpr int kStateTtlSeconds = 30 * 24 * 3600;
constexpr std::size_t kMaxCachedCells = 100000;

// Compare-and-set of one key's state with the ids it counted and the surges
// it raised (see the header).
// KEYS: state, outbox, then the per-day sets of counted ids.
// ARGV: [1] 1 if a state was read (0: none), [2] the state read, [3] the new
//       state, [4] state ttl, [5] seen ttl, [6] n ids, then n pairs
//       (index into KEYS, id), then pairs (outbox field, value).
// Returns 1 committed, 0 changed since read (nothing written).
constexpr const char* kCommitScript = R"LUA(
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
local n = tonumber(ARGV[6])
for i = 0, n - 1 do
  if redis.call('SISMEMBER', KEYS[tonumber(ARGV[7 + 2 * i])], ARGV[8 + 2 * i]) == 1 then return 0 end
end
for i = 0, n - 1 do redis.call('SADD', KEYS[tonumber(ARGV[7 + 2 * i])], ARGV[8 + 2 * i]) end
for k = 3, #KEYS do redis.call('EXPIRE', KEYS[k], ARGV[5]) end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
for j = 7 + 2 * n, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 1]) end
return 1
)LUA";

core::Error failure(const std::string& what, bool retriable = true) {
  return core::makeError("surge_redis", "surge counting: " + what, "", retriable);
}

std::string dayOf(core::Timestamp t) {
  return core::formatTimestamp(core::Timestamp(std::chrono::floor<std::chrono::days>(t))).substr(0, 10);
}

}  // namespace

std::string encodePendingSurge(const PendingSurge& p) {
  const auto& e = p.event;
  nlohmann::json j{{"v", 1},
                   {"cell", std::to_string(e.cellL13)},
                   {"category", e.category},
                   {"count", e.count},
                   {"mean", e.baselineMean},
                   {"stddev", e.baselineStddev},
                   {"z", e.zScore},
                   {"start", core::toEpochMillis(e.windowStart)},
                   {"end", core::toEpochMillis(e.windowEnd)},
                   {"channels", p.channels}};
  return j.dump();
}

std::optional<PendingSurge> decodePendingSurge(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("v", 0) != 1) return std::nullopt;
  try {
    PendingSurge p;
    p.event.cellL13 = std::stoull(j.at("cell").get<std::string>());
    p.event.category = j.at("category").get<std::string>();
    p.event.count = j.at("count").get<long long>();
    p.event.baselineMean = j.at("mean").get<double>();
    p.event.baselineStddev = j.at("stddev").get<double>();
    p.event.zScore = j.at("z").get<double>();
    p.event.windowStart = core::fromEpochMillis(j.at("start").get<long long>());
    p.event.windowEnd = core::fromEpochMillis(j.at("end").get<long long>());
    p.channels = j.at("channels").get<std::vector<std::string>>();
    return p;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

RedisSurgeCounter::RedisSurgeCounter(core::RedisClient& redis, std::string keyPrefix, SurgeConfig config)
    : redis_(redis), prefix_(std::move(keyPrefix)), config_(config) {}

std::string RedisSurgeCounter::stateKey(std::uint64_t cellL13, const std::string& category) const {
  return prefix_ + core::cellToken(cellL13) + ":" + category;
}

core::Status RedisSurgeCounter::loadCellSince(const std::vector<const SurgeInput*>& firstOfCell) {
  if (firstOfCell.empty()) return core::okStatus();
  if (cellSince_.size() + firstOfCell.size() > kMaxCachedCells) cellSince_.clear();
  std::vector<std::vector<std::string>> cmds;
  for (const auto* in : firstOfCell) {
    cmds.push_back({"SET", prefix_ + "since:" + core::cellToken(in->cellL13),
                    std::to_string(core::toEpochMillis(in->occurredAt)), "NX", "GET", "EX",
                    std::to_string(kStateTtlSeconds)});
  }
  auto replies = redis_.pipeline(cmds);
  if (!replies) return failure(replies.error().message);
  for (std::size_t i = 0; i < firstOfCell.size(); ++i) {
    long long since = core::toEpochMillis(firstOfCell[i]->occurredAt);  // nil: we were first, our own value
    const auto& reply = (*replies)[i];
    if (reply.type == core::RedisReply::Type::error) return failure(reply.str);
    if (reply.type == core::RedisReply::Type::string) {
      try {
        since = std::stoll(reply.str);
      } catch (const std::exception&) {
        core::log::warn("surge_since_invalid", {{"cell", core::cellToken(firstOfCell[i]->cellL13)}});
      }
    }
    cellSince_[firstOfCell[i]->cellL13] = core::fromEpochMillis(since);
  }
  return core::okStatus();
}

core::Result<SurgeCountResult> RedisSurgeCounter::count(const std::vector<SurgeInput>& inputs) {
  SurgeCountResult out;
  const std::string outboxKey = prefix_ + "outbox";
  // A report twice in one batch counts once (its first copy).
  std::vector<const SurgeInput*> pending;
  {
    std::unordered_set<std::string_view> ids;
    std::unordered_set<std::uint64_t> cells;
    std::vector<const SurgeInput*> newCells;
    for (const auto& in : inputs) {
      if (!ids.insert(in.reportId).second) continue;
      pending.push_back(&in);
      if (!cellSince_.count(in.cellL13) && cells.insert(in.cellL13).second) newCells.push_back(&in);
    }
    if (auto s = loadCellSince(newCells); !s) return s.error();
  }
  bool outboxRead = false;
  for (int attempt = 0; attempt < kMaxAttempts && !pending.empty(); ++attempt) {
    // The keys in first-seen order, each with its reports in batch order.
    std::vector<std::string> keys;
    std::unordered_map<std::string, std::vector<const SurgeInput*>> byKey;
    std::map<std::string, std::vector<const SurgeInput*>> byDay;
    for (const auto* in : pending) {
      auto key = stateKey(in->cellL13, in->category);
      auto [it, fresh] = byKey.try_emplace(key);
      if (fresh) keys.push_back(key);
      it->second.push_back(in);
      byDay[prefix_ + "seen:" + dayOf(in->occurredAt)].push_back(in);
    }
    // ---- read: the outbox (once), every key's state, which ids are counted
    std::vector<std::vector<std::string>> reads;
    if (!outboxRead) reads.push_back({"HGETALL", outboxKey});
    for (const auto& k : keys) reads.push_back({"GET", k});
    for (const auto& [day, ins] : byDay) {
      auto& c = reads.emplace_back(std::vector<std::string>{"SMISMEMBER", day});
      for (const auto* in : ins) c.push_back(in->reportId);
    }
    auto replies = redis_.pipeline(reads);
    if (!replies) return failure(replies.error().message);
    for (const auto& r : *replies) {
      if (r.type == core::RedisReply::Type::error) return failure(r.str);
    }
    std::size_t at = 0;
    if (!outboxRead) {
      const auto& box = (*replies)[at++];
      for (std::size_t i = 0; i + 1 < box.elements.size(); i += 2) {
        if (auto p = decodePendingSurge(box.elements[i + 1].str)) {
          out.toSend.push_back(std::move(*p));
        } else {
          core::log::warn("surge_outbox_invalid", {{"field", box.elements[i].str}});
          (void)redis_.command({"HDEL", outboxKey, box.elements[i].str});
        }
      }
      out.fromOutbox = out.toSend.size();
      outboxRead = true;
    }
    std::unordered_map<std::string, const core::RedisReply*> stateOf;
    for (const auto& k : keys) stateOf[k] = &(*replies)[at++];
    std::unordered_set<const SurgeInput*> counted;
    for (const auto& [day, ins] : byDay) {
      const auto& r = (*replies)[at++];
      if (r.type != core::RedisReply::Type::array || r.elements.size() != ins.size()) {
        return failure("SMISMEMBER " + day + ": unexpected reply " + r.str);
      }
      for (std::size_t j = 0; j < ins.size(); ++j) {
        if (r.elements[j].integer != 0) counted.insert(ins[j]);
      }
    }

    // ---- compute each key from its state in Redis, then commit it
    struct Commit {
      std::string key;
      long long counted = 0;
      long long late = 0;
      std::vector<PendingSurge> surges;
    };
    std::vector<Commit> commits;
    std::vector<std::vector<std::string>> cmds;
    for (const auto& key : keys) {
      const core::RedisReply& read = *stateOf[key];
      const bool present = read.type == core::RedisReply::Type::string;
      SurgeState state;
      if (present) {
        if (auto decoded = decodeSurgeState(read.str)) {
          state = std::move(*decoded);
        } else {
          core::log::warn("surge_state_invalid", {{"key", key}});  // starts afresh, replacing it
        }
      }
      Commit c;
      c.key = key;
      std::vector<std::string> dayKeys;
      std::vector<std::string> idArgs;
      for (const auto* in : byKey[key]) {
        if (counted.count(in)) continue;
        std::optional<core::Timestamp> since;
        if (auto it = cellSince_.find(in->cellL13); it != cellSince_.end()) since = it->second;
        auto obs = observeSurge(state, in->cellL13, in->category, in->occurredAt, config_, since);
        ++c.counted;
        if (obs.lateness != Lateness::onTime) ++c.late;
        if (obs.surge) c.surges.push_back({*obs.surge, in->channels});
        const std::string day = prefix_ + "seen:" + dayOf(in->occurredAt);
        std::size_t k = 0;
        while (k < dayKeys.size() && dayKeys[k] != day) ++k;
        if (k == dayKeys.size()) dayKeys.push_back(day);
        idArgs.push_back(std::to_string(k + 3));  // KEYS index (Lua, 1-based, after state and outbox)
        idArgs.push_back(in->reportId);
      }
      if (c.counted == 0) continue;  // all counted already: nothing to change
      std::vector<std::string> cmd{"EVALSHA", "", std::to_string(2 + dayKeys.size()), key, outboxKey};
      cmd.insert(cmd.end(), dayKeys.begin(), dayKeys.end());
      cmd.insert(cmd.end(), {present ? "1" : "0", present ? read.str : std::string(), encodeSurgeState(state),
                             std::to_string(kStateTtlSeconds), std::to_string(kSeenTtlSeconds),
                             std::to_string(c.counted)});
      cmd.insert(cmd.end(), idArgs.begin(), idArgs.end());
      for (const auto& s : c.surges) {
        cmd.push_back(s.event.key());
        cmd.push_back(encodePendingSurge(s));
      }
      cmds.push_back(std::move(cmd));
      commits.push_back(std::move(c));
    }
    std::unordered_set<std::string> retry;
    if (!cmds.empty()) {
      if (sha_.empty()) {
        auto loaded = redis_.command({"SCRIPT", "LOAD", kCommitScript});
        if (!loaded) return failure(loaded.error().message);
        sha_ = loaded->str;
      }
      for (auto& c : cmds) c[1] = sha_;
      auto results = redis_.pipeline(cmds);
      if (!results) return failure(results.error().message);
      for (std::size_t i = 0; i < commits.size(); ++i) {
        const auto& r = (*results)[i];
        if (r.type == core::RedisReply::Type::error && r.str.rfind("NOSCRIPT", 0) == 0) {
          sha_.clear();  // Redis restarted: the script is loaded again and the key redone (nothing ran)
          retry.insert(commits[i].key);
          continue;
        }
        if (r.type != core::RedisReply::Type::integer) return failure("commit of " + commits[i].key + ": " + r.str);
        if (r.integer == 1) {
          out.counted += commits[i].counted;
          out.late += commits[i].late;
          for (auto& s : commits[i].surges) out.toSend.push_back(std::move(s));
        } else {
          ++out.conflicts;
          retry.insert(commits[i].key);
        }
      }
    }
    std::vector<const SurgeInput*> again;
    for (const auto* in : pending) {
      if (retry.count(stateKey(in->cellL13, in->category))) again.push_back(in);
    }
    pending = std::move(again);
  }
  if (!pending.empty()) {
    return failure(std::to_string(pending.size()) + " reports' keys changed by other instances " +
                   std::to_string(kMaxAttempts) + " times in a row");
  }
  return out;
}

core::Status RedisSurgeCounter::sent(const SurgeEvent& surge) {
  auto r = redis_.command({"HDEL", prefix_ + "outbox", surge.key()});
  if (!r) return failure(r.error().message);
  return core::okStatus();
}

}  // namespace safestream::processor::alerting

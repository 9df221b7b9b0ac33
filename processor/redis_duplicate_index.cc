#include "processor/redis_duplicate_index.h"

#include <cstdio>

#include "core/geo.h"
#include "core/report_codec.h"
#include "core/time.h"
#include "processor/neighbourhood_index.h"

namespace safestream::processor {
namespace {

// One near-duplicate decision, atomic (see the header and DedupeWindow::check,
// whose rules this follows line by line).
// KEYS[1] the report's record.
// ARGV: [1] id, [2] category, [3] lat, [4] lon (round-trip decimal), [5] event
//       time ms, [6] radius m, [7] window ms, [8] ttl s, [9] earth radius m,
//       [10] bucket key prefix, [11..] level-13 cell tokens within the radius
//       (the report's own first).
// A record: "lat lon ms root cell category" (root empty for a root); a
// bucket entry: id -> "lat lon ms".
// Returns the root's id, or "" for a root.
constexpr const char* kCheckScript = R"LUA(
local R = tonumber(ARGV[9])
local k = math.pi / 180
-- core::distanceMetres (haversine, in S2LatLng::GetDistance's order)
local function dist(lat1, lon1, lat2, lon2)
  local a, b = k * lat1, k * lat2
  local dlat = math.sin(0.5 * (b - a))
  local dlng = math.sin(0.5 * (k * lon2 - k * lon1))
  local x = dlat * dlat + dlng * dlng * math.cos(a) * math.cos(b)
  return 2 * math.asin(math.sqrt(math.min(1.0, x))) * R
end
-- a < b byte by byte, as std::string (Lua's < follows the server's locale)
local function before(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
local id, cat = ARGV[1], ARGV[2]
local lat, lon, ms = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local radius, window, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]
local function bucket(category, cell, slot) return ARGV[10] .. category .. ':' .. cell .. ':' .. string.format('%d', slot) end
local slot = math.floor(ms / window)
local rec = redis.call('GET', KEYS[1])
if rec then
  local rlat, rlon, rms, rdup, rcell, rcat = string.match(rec, '^(%S+) (%S+) (%S+) (%S*) (%S+) (.*)$')
  if rcat == cat and dist(tonumber(rlat), tonumber(rlon), lat, lon) <= radius then
    -- the same report again: the same answer; a root's bucket follows its time
    if rdup == '' then
      local old, new = bucket(cat, rcell, math.floor(tonumber(rms) / window)), bucket(cat, rcell, slot)
      if old ~= new then redis.call('HDEL', old, id) end
      redis.call('HSET', new, id, rlat .. ' ' .. rlon .. ' ' .. ARGV[5])
      redis.call('EXPIRE', new, ttl)
    end
    redis.call('SET', KEYS[1], rlat .. ' ' .. rlon .. ' ' .. ARGV[5] .. ' ' .. rdup .. ' ' .. rcell .. ' ' .. rcat, 'EX', ttl)
    return rdup
  end
  -- moved or recategorised: forgotten, decided afresh
  if rdup == '' then redis.call('HDEL', bucket(rcat, rcell, math.floor(tonumber(rms) / window)), id) end
end
local best, bms = '', 0
for c = 11, #ARGV do
  for s = slot - 1, slot + 1 do
    local h = redis.call('HGETALL', bucket(cat, ARGV[c], s))
    for i = 1, #h, 2 do
      local plat, plon, pms = string.match(h[i + 1], '^(%S+) (%S+) (%S+)$')
      pms = tonumber(pms)
      -- (itself: a root whose record expired before its bucket, decided afresh)
      if h[i] ~= id and math.abs(pms - ms) <= window and dist(tonumber(plat), tonumber(plon), lat, lon) <= radius then
        if best == '' or pms < bms or (pms == bms and before(h[i], best)) then best, bms = h[i], pms end
      end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5] .. ' ' .. best .. ' ' .. ARGV[11] .. ' ' .. cat, 'EX', ttl)
if best == '' then
  local home = bucket(cat, ARGV[11], slot)
  redis.call('HSET', home, id, ARGV[3] .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
  redis.call('EXPIRE', home, ttl)
end
return best
)LUA";

std::string exact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

core::Error failure(const std::string& what) {
  return core::makeError("dedupe_redis", "near-duplicate index: " + what, "", /*retriable=*/true);
}

}  // namespace

RedisDuplicateIndex::RedisDuplicateIndex(RedisDuplicateIndexOptions options, std::unique_ptr<core::RedisClient> redis)
    : options_(std::move(options)), redis_(std::move(redis)) {
  if (options_.rules.window.count() <= 0) options_.rules.window = std::chrono::milliseconds(1);
}

core::Status RedisDuplicateIndex::loadScript() {
  auto r = redis_->command({"SCRIPT", "LOAD", kCheckScript});
  if (!r) return failure(r.error().message);
  if (r->type != core::RedisReply::Type::string) return failure("SCRIPT LOAD: unexpected reply " + r->str);
  sha_ = r->str;
  return core::okStatus();
}

core::Result<std::vector<std::optional<core::ReportId>>> RedisDuplicateIndex::checkAll(
    std::span<const DuplicateQuery> queries) {
  std::vector<std::optional<core::ReportId>> out;
  if (queries.empty()) return out;
  const std::string record = options_.keyPrefix + "r:";
  const std::string bucketPrefix = options_.keyPrefix + "b:";
  const std::string radius = exact(options_.rules.radiusMetres);
  const std::string window = std::to_string(options_.rules.window.count());
  const std::string ttl = std::to_string(options_.ttl.count());
  const std::string earth = exact(core::kEarthRadiusMetres);
  std::vector<std::vector<std::string>> cmds;
  cmds.reserve(queries.size());
  for (const auto& q : queries) {
    std::vector<std::string> c{"EVALSHA", "", "1", record + q.id.value, q.id.value, q.category,
                               exact(q.location.lat), exact(q.location.lon),
                               std::to_string(core::toEpochMillis(q.occurredAt)), radius, window, ttl, earth,
                               bucketPrefix};
    for (auto cell : cellsNear(q.location, kCellLevelMid, options_.rules.radiusMetres)) {
      c.push_back(core::cellToken(cell));
    }
    cmds.push_back(std::move(c));
  }
  // Twice at most: after a Redis restart the script is gone (NOSCRIPT, and
  // then no query of the pipeline ran); loaded again, the batch is redone.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (sha_.empty()) {
      if (auto s = loadScript(); !s) return s.error();
    }
    for (auto& c : cmds) c[1] = sha_;
    auto replies = redis_->pipeline(cmds);
    if (!replies) return failure(replies.error().message);
    bool noScript = false;
    out.clear();
    for (const auto& r : *replies) {
      if (r.type == core::RedisReply::Type::error) {
        if (r.str.rfind("NOSCRIPT", 0) == 0) {
          noScript = true;
          break;
        }
        return failure(r.str);
      }
      if (r.type != core::RedisReply::Type::string) return failure("unexpected reply to the check script");
      if (r.str.empty()) out.emplace_back(std::nullopt);
      else out.emplace_back(core::ReportId{r.str});
    }
    if (!noScript) return out;
    sha_.clear();
  }
  return failure("the check script could not be loaded");
}

}  // namespace safestream::processor

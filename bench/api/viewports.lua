-- wrk script: GET /v1/reports?bbox= over N different map viewports in turn
-- (BENCH_VIEWPORTS, default 50): many visitors looking at many places, so
-- the answer cache misses once per viewport per TTL. Each viewport is what
-- the web client sends (web/src/js/basemap.js bboxParam): 4 x 4 steps of a
-- 1/128-degree grid (about 2.6 x 3.5 km, like the downtown bbox row), laid
-- out 10 across over Chicago's downtown, west and north sides.
local n = tonumber(os.getenv("BENCH_VIEWPORTS") or "50")
local paths = {}
local side = 4 / 128
for i = 0, n - 1 do
  local col, row = i % 10, math.floor(i / 10)
  local w = -87.75 + col * side
  local s = 41.84375 + row * side
  paths[#paths + 1] = string.format("/v1/reports?bbox=%.6f,%.6f,%.6f,%.6f&limit=100", w, s, w + side, s + side)
end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

#!/usr/bin/env bash
# Streams the real samples of data/ (Chicago 2014, SpotCrime Austin 2015,
# Los Angeles 2020, Philadelphia 2025, New York 2010, each read with its
# column mapping of ingest/config/) through the running system, so a user
# sees reports and every kind of alert flowing: report, digest and surge.
#
# Each sample is shifted in time, unchanged, so that its last record occurs
# when the demo ends (safestream-ingest replay --end-at): event times keep
# their real spacing, which is what the surge detector's hourly baseline
# needs. Two parts:
#   history  the week before the last two days of each sample, published
#            first at 20000x (about 25 s): the baseline's past. No demo
#            subscription exists yet, so it alerts nobody.
#   live     the last two days, published at SAFESTREAM_DEMO_SPEEDUP after the
#            demo subscriptions are created; a real burst in it (Philadelphia
#            and Chicago have some) exceeds its cell's baseline: a surge.
#   SAFESTREAM_DEMO_SPEEDUP        live part, times faster than real time
#                                  (default 480: two days in 6 minutes)
#   SAFESTREAM_DEMO_LIVE_HOURS     default 48
#   SAFESTREAM_DEMO_HISTORY_HOURS  how far back each sample is replayed (default 216)
#   SAFESTREAM_DEMO_HISTORY_SPEEDUP default 20000
# Usage: demo.sh [start|stop|status]
# Log: $SAFESTREAM_RUN_DIR/logs/demo.log; pid: $SAFESTREAM_RUN_DIR/pids/demo.pid
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
env_file="${SAFESTREAM_ENV_FILE:-$here/.env}"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
if [[ -f $env_file ]]; then set -a; source "$env_file"; set +a; fi
run="${SAFESTREAM_RUN_DIR:-$root/.run}"
pidf="$run/pids/demo.pid"
speedup="${SAFESTREAM_DEMO_SPEEDUP:-480}"
live_hours="${SAFESTREAM_DEMO_LIVE_HOURS:-48}"
history_hours="${SAFESTREAM_DEMO_HISTORY_HOURS:-216}"
history_speedup="${SAFESTREAM_DEMO_HISTORY_SPEEDUP:-20000}"
log="$run/logs/demo.log"
subs="$run/demo-subscriptions.tsv"
ingest="$build/ingest/safestream-ingest"
samples=(
  --chicago-file "$root/data/chicago_crimes_2014_sample.csv"
  --spotcrime-file "$root/data/spotcrime_austin_2015_sample.json"
  --csv "$root/data/la_crimes_sample.csv=$root/ingest/config/los_angeles_mapping.json"
  --csv "$root/data/philadelphia_crimes_sample.csv=$root/ingest/config/philadelphia_mapping.json"
  --csv "$root/data/nyc_crimes_sample.csv=$root/ingest/config/new_york_mapping.json"
)

# The demo subscriptions, created through the API; their ids and tokens go
# to $subs (mode 600) so up.sh can show how to read the alerts.
#   report  chicago-loop, austin-downtown, los-angeles-downtown: every report nearby
#   digest  new-york-manhattan (max 5 an hour) and the two city-wide ones
#           (max 10 an hour): the rest of each hour comes as one digest
#           when the hour ends
#   surge   chicago-city and philadelphia-city, 20 km circles: a surge in
#           any of their cells reaches them (surges are not throttled)
subscribe() {
  [[ -s $subs ]] && return 0
  local api="${SAFESTREAM_API_URL:-}"
  [[ -n $api ]] || { echo "demo: SAFESTREAM_API_URL is not set; no demo subscriptions" >&2; return 0; }
  (umask 077; : > "$subs")
  local name body out id token
  while IFS='|' read -r name body; do
    out=$(curl -sf -m 10 -H 'Content-Type: application/json' -d "$body" "$api/v1/subscriptions") || {
      echo "demo: could not create the $name subscription" >&2; continue; }
    id=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$out")
    token=$(sed -E 's/.*"token":"([^"]+)".*/\1/' <<<"$out")
    printf '%s\t%s\t%s\n' "$name" "$id" "$token" >> "$subs"
  done <<'SUBS'
chicago-loop|{"area":{"type":"circle","lat":41.8781,"lon":-87.6298,"radius_m":3000},"min_severity":1}
austin-downtown|{"area":{"type":"circle","lat":30.2672,"lon":-97.7431,"radius_m":5000},"min_severity":1}
los-angeles-downtown|{"area":{"type":"circle","lat":34.0522,"lon":-118.2437,"radius_m":8000},"min_severity":1}
new-york-manhattan|{"area":{"type":"circle","lat":40.7831,"lon":-73.9712,"radius_m":8000},"min_severity":1,"max_per_hour":5}
chicago-city|{"area":{"type":"circle","lat":41.8500,"lon":-87.6900,"radius_m":20000},"min_severity":1,"max_per_hour":10}
philadelphia-city|{"area":{"type":"circle","lat":40.0000,"lon":-75.1400,"radius_m":20000},"min_severity":1,"max_per_hour":10}
SUBS
}

# Waits (up to $1 s) until the processor has taken in what was published:
# its lanes are empty and it consumed nothing new for a second.
wait_processed() {
  local url="${SAFESTREAM_PROCESSOR_METRICS_URL:-}" deadline=$((SECONDS + $1)) last="" now queued
  [[ -n $url ]] || return 0
  while ((SECONDS < deadline)); do
    now=$(curl -sf -m 5 "$url" | awk '/^safestream_processor_consumed_total/ { s += $2 } END { print s + 0 }') || now=""
    queued=$(curl -sf -m 5 "$url" | awk '/^safestream_processor_lane_queued_messages/ { s += $2 } END { print s + 0 }') || queued=1
    [[ -n $now && $now == "$last" && $queued == 0 ]] && return 0
    last=$now
    sleep 1
  done
  echo "demo: the processor is still busy with the history; subscribing anyway" >&2
}

running() { [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

case "${1:-start}" in
  start)
    [[ -f $env_file ]] || { echo "demo: $env_file is missing; run deploy/local/stack.sh up" >&2; exit 1; }
    if running; then echo "demo: already streaming (pid $(cat "$pidf"))"; exit 0; fi
    mkdir -p "$run/logs" "$run/pids"
    read -r history_s live_s < <(awk -v h="$history_hours" -v l="$live_hours" -v hs="$history_speedup" -v s="$speedup" \
      'BEGIN { d = h - l; if (d < 0) d = 0; printf "%d %d\n", d * 3600 / hs + 1, l * 3600 / s + 1 }')
    # The samples end when the live part does; the margin covers waiting for
    # the processor and subscribing (a late start only publishes the first
    # live records at once: event times never change).
    end_at=$(date -u -d "@$(($(date +%s) + history_s + 30 + live_s))" +%Y-%m-%dT%H:%M:%SZ)
    common=(replay "${samples[@]}" --end-at "$end_at" --live-hours "$live_hours" --history-hours "$history_hours"
            --history-speedup "$history_speedup" --speedup "$speedup")
    echo "demo: backfilling the history of 5 cities (${history_hours} h before each sample's end, about ${history_s} s)"
    "$ingest" "${common[@]}" --part history >>"$log" 2>&1 || { echo "demo: the history replay failed; see $log" >&2; exit 1; }
    wait_processed 60
    subscribe
    nohup "$ingest" "${common[@]}" --part live >>"$log" 2>&1 &
    echo $! > "$pidf"
    echo "demo: streaming the last ${live_hours} h of each sample at ${speedup}x, about $((live_s / 60)) min (until $end_at); log $log"
    ;;
  stop)
    if running; then
      pid=$(cat "$pidf")
      kill -TERM "$pid"
      for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pidf"
    ;;
  status) if running; then echo "demo streaming"; else echo "demo stopped"; fi ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac

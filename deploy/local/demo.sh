#!/usr/bin/env bash
# Streams the two real samples (SpotCrime Austin 2015, Chicago 2014) through
# the running system, re-timed towards now, so a user sees reports and alerts
# flowing. Runs `safestream-ingest replay` in the background and returns.
#   SAFESTREAM_DEMO_SPEEDUP  times faster than real time (default 3000: the
#                            ~20 days of samples flow in about 10 minutes)
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
speedup="${SAFESTREAM_DEMO_SPEEDUP:-3000}"

subs="$run/demo-subscriptions.tsv"

# Two demo subscriptions through the API (so alerts fire as the samples
# flow): downtown Chicago and downtown Austin. Their ids and tokens go to
# $subs (mode 600) so up.sh can show how to read the alerts.
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
SUBS
}

running() { [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

case "${1:-start}" in
  start)
    [[ -f $env_file ]] || { echo "demo: $env_file is missing; run deploy/local/stack.sh up" >&2; exit 1; }
    if running; then echo "demo: already streaming (pid $(cat "$pidf"))"; exit 0; fi
    mkdir -p "$run/logs" "$run/pids"
    subscribe
    nohup "$build/ingest/safestream-ingest" replay \
      --spotcrime-file "$root/data/spotcrime_austin_2015_sample.json" \
      --chicago-file "$root/data/chicago_crimes_2014_sample.csv" \
      --speedup "$speedup" >>"$run/logs/demo.log" 2>&1 &
    echo $! > "$pidf"
    minutes=$(awk -v s="$speedup" 'BEGIN { printf "%.0f", 20 * 86400 / s / 60 }')
    echo "demo: streaming 8,539 real reports (SpotCrime Austin + Chicago) at ${speedup}x, about ${minutes} min; log $run/logs/demo.log"
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

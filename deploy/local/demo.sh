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

running() { [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

case "${1:-start}" in
  start)
    [[ -f $env_file ]] || { echo "demo: $env_file is missing; run deploy/local/stack.sh up" >&2; exit 1; }
    if running; then echo "demo: already streaming (pid $(cat "$pidf"))"; exit 0; fi
    mkdir -p "$run/logs" "$run/pids"
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

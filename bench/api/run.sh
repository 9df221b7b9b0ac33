#!/usr/bin/env bash
# API benchmark: wrk on POST /v1/reports and on GET /v1/reports?near=, beside
# nginx serving a static 202 on the same machine in the same run (the ratio
# is what travels between machines), then WebSocket alert latency at a fixed
# rate. Prints a table. Needs the local stack (deploy/local/stack.sh up) and a
# build; the end-to-end row also needs safestream-processor with the alert sink.
#
# Usage: bench/api/run.sh [seconds per wrk run (10)] [connections (64)]
# Env: SAFESTREAM_BUILD_DIR, SAFESTREAM_ENV_FILE, BENCH_E2E=1 to start the processor for the e2e row.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
secs="${1:-10}"
conns="${2:-64}"
command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "bench: nginx is not installed (apt-get install nginx-light)" >&2; exit 1; }

work=$(mktemp -d /tmp/safestream-bench-api.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_http() { for _ in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "bench: $1 did not answer" >&2; exit 1; }

# --- nginx: the same 202 JSON body, static -------------------------------------
nginx_port=$(free_port)
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 2;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx;
  server {
    listen 127.0.0.1:$nginx_port;
    location / {
      default_type application/json;
      return 202 '{"id":"00000000-0000-5000-8000-000000000000","status":"accepted","url":"/v1/reports/00000000-0000-5000-8000-000000000000"}';
    }
  }
}
NGINX
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)

# --- safestream-api ---------------------------------------------------------------
api_port=$(free_port); metrics_port=$(free_port)
# The rate limiter stays on (its Redis round trip is part of every POST) with
# a limit wrk cannot reach from one address.
"$build/api/safestream-api" --port "$api_port" --metrics-port "$metrics_port" --log-level warn \
  --rate-limit-per-minute 1e9 --rate-limit-burst 1e9 --io-threads 2 --worker-threads 16 >"$work/api.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/"
wait_http "http://127.0.0.1:$api_port/healthz"

sed "s/OCCURRED_AT/$(date -u -d '-5 min' +%Y-%m-%dT%H:%M:%SZ)/" "$here/post_report.lua" > "$work/post.lua"
rps() { wrk -t2 -c"$conns" -d"${secs}s" --latency "$@" 2>&1 | tee -a "$work/wrk.txt" | awk '/Requests\/sec/ {print $2}'; }
p99() { awk '/ 99%/ {print $2}' "$work/wrk.txt" | tail -1; }
non2xx() { awk '/Non-2xx/ {print $4}' "$work/wrk.txt" | tail -1; }

printf '\n## safestream-api vs nginx static 202 (%s s, %s connections, %s cores)\n\n' "$secs" "$conns" "$(nproc)"
printf '| run | requests/s | p99 | non-2xx | ratio to nginx |\n|---|---:|---:|---:|---:|\n'
: > "$work/wrk.txt"; nginx_rps=$(rps -s "$work/post.lua" "http://127.0.0.1:$nginx_port/v1/reports"); nginx_p99=$(p99)
printf '| nginx static 202 (POST) | %s | %s | - | 1.00 |\n' "$nginx_rps" "$nginx_p99"
: > "$work/wrk.txt"; post_rps=$(rps -s "$work/post.lua" "http://127.0.0.1:$api_port/v1/reports"); post_p99=$(p99); post_bad=$(non2xx)
printf '| safestream-api POST /v1/reports (Kafka acks=all) | %s | %s | %s | %.2f |\n' "$post_rps" "$post_p99" "${post_bad:-0}" \
  "$(echo "$post_rps / $nginx_rps" | bc -l)"
near="/v1/reports?near=41.88,-87.63&radius=1000&limit=20"
: > "$work/wrk.txt"; get_rps=$(rps "http://127.0.0.1:$api_port$near"); get_p99=$(p99); get_bad=$(non2xx)
printf '| safestream-api GET %s | %s | %s | %s | %.2f |\n' "$near" "$get_rps" "$get_p99" "${get_bad:-0}" \
  "$(echo "$get_rps / $nginx_rps" | bc -l)"
rows=$(psql "$SAFESTREAM_PG_URL" -tAc "SELECT count(*) FROM reports" 2>/dev/null || echo "?")
printf '\n(reports table: %s rows; goal: POST >= 15000 requests/s)\n' "$rows"

printf '\n## Alert latency to a WebSocket client\n\n'
printf '| mode   |   rate/s |     sent | received |  p50 ms  |  p99 ms  |  max ms  |\n|---|---:|---:|---:|---:|---:|---:|\n'
"$build/tests/integration/api/api-live-latency" --api-port "$api_port" --redis-url "$SAFESTREAM_REDIS_URL" \
  --mode alert --rate 1000 --seconds "$secs" || echo "| alert  | (failed; see $work/api.log) |"
if [[ ${BENCH_E2E:-0} == 1 ]]; then
  # A topic of its own, so the processor does not first work through the
  # backlog of reports.raw (including the wrk runs above).
  topic="reports.raw.bench-$$"
  proc_metrics=$(free_port); e2e_port=$(free_port); e2e_metrics=$(free_port)
  "$build/api/safestream-api" --port "$e2e_port" --metrics-port "$e2e_metrics" --log-level warn --topic "$topic" \
    --rate-limit-per-minute 1e9 --rate-limit-burst 1e9 >"$work/api-e2e.log" 2>&1 &
  pids+=($!)
  "$build/processor/safestream-processor" --metrics-port "$proc_metrics" --log-level warn --raw-topic "$topic" \
    --group-id "bench-$$" ${BENCH_PROCESSOR_ARGS:-} >"$work/processor.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$e2e_port/healthz"
  wait_http "http://127.0.0.1:$proc_metrics/healthz"
  "$build/tests/integration/api/api-live-latency" --api-port "$e2e_port" --redis-url "$SAFESTREAM_REDIS_URL" \
    --mode e2e --rate 1000 --seconds "$secs" || { echo "| e2e    | (no alerts arrived; processor log below) |"; tail -5 "$work/processor.log"; }
else
  echo "| e2e    | (skipped: set BENCH_E2E=1 to start safestream-processor; goal p99 < 50 ms) |"
fi

#!/usr/bin/env bash
# The web app's page weight (compressed bytes of the first load) and time to
# the first map with its data, in Debian's chromium against safestream-api
# serving <build>/web, with the reports already in the stack's PostgreSQL
# (run the demo first for a realistic map). Prints a table.
#   bench/web/run.sh [runs]        (default 5 per viewport)
# Needs: deploy/local/stack.sh up, a build, deploy/local/install-deps.sh
# (chromium, web/node_modules).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
runs="${1:-5}"
port=$(free_port); metrics=$(free_port)
log=$(mktemp)
"$build/api/safestream-api" --port "$port" --metrics-port "$metrics" --web-root "$build/web" --log-level warn >"$log" 2>&1 &
api=$!
trap 'kill $api 2>/dev/null; wait $api 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$port/" || { echo "bench/web: the API does not serve the web app:" >&2; cat "$log" >&2; exit 1; }
rows=$(psql "$SAFESTREAM_PG_URL" -Atc "SELECT count(*) FROM reports WHERE duplicate_of IS NULL AND occurred_at > now() - interval '7 days'")
echo "reports of the last 7 days in PostgreSQL: $rows; load: $(cut -d' ' -f1-3 /proc/loadavg)"
SAFESTREAM_BUILD_DIR="$build" node "$root/bench/web/measure.mjs" "http://127.0.0.1:$port" "$runs"

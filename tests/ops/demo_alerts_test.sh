#!/usr/bin/env bash
# The demo (deploy/local/demo.sh, what up.sh runs) streams at least three
# cities and makes every kind of alert fire, end to end through the real
# servers: report, digest and surge.
#   1. a processor and an API of this test (own topic, consumer group, S3
#      prefix and surge-state prefix, so nothing else's history mixes in;
#      the cities' live feeds off, so its reports reach only its own
#      subscriptions, which it deletes at the end);
#   2. demo.sh start with its own run folder and env file, compressed: 48 h of
#      history before the last 24 h of each sample (at 20000x), then those
#      24 h at 2000x (about 45 s);
#   3. once the live part is published and processed, through the API's
#      alert history of the demo subscriptions: report alerts, and a surge
#      (Philadelphia's sample has a real burst, 2025-01-21 ~09:45 local, of
#      "All Other Offenses" along N 9th St, 14.5 h before its end). Digests:
#      a throttled subscription held alerts back; each held-back hour is
#      either sent as a digest already (the hour ended during the test) or
#      queued to be sent when it ends (safestream:alerts:digests:due);
#      sending it is tests/integration/alerting's job (an injected clock);
#   4. PostgreSQL holds the demo's reports in at least three cities.
# Needs the stack (deploy/local/stack.sh up) and the built binaries.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
load_stack_env
require_env SAFESTREAM_PG_URL SAFESTREAM_KAFKA_BOOTSTRAP SAFESTREAM_REDIS_URL SAFESTREAM_S3_ENDPOINT \
  SAFESTREAM_S3_BUCKET SAFESTREAM_S3_REGION SAFESTREAM_S3_ACCESS_KEY SAFESTREAM_S3_SECRET_KEY
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
die() { echo "FAIL: $*" >&2; exit 1; }
for b in ingest/safestream-ingest processor/safestream-processor api/safestream-api; do
  [[ -x $build/$b ]] || die "$build/$b is not built"
done

tag=$(unique_tag)
topic="ops.demo.$tag.raw"
surge_prefix="safestream:surge:opsdemo-$tag:"
dedupe_prefix="safestream:dedupe:opsdemo-$tag:"  # near-duplicates of earlier runs' copies of the demo stay apart
s3_prefix="ops-demo-$tag"
work=$(mktemp -d)
run="$work/run"
mkdir -p "$run"
processor_pid="" api_pid=""
pg() { psql "$SAFESTREAM_PG_URL" -X -v ON_ERROR_STOP=1 -qtA "$@"; }
redis=(redis-cli -u "$SAFESTREAM_REDIS_URL" --no-auth-warning)
redis() { "${redis[@]}" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop_pid() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
run_tags() { grep -o '"run":"[a-z0-9]*"' "$run/logs/demo.log" 2>/dev/null | cut -d'"' -f4 | sort -u; }
cleanup() {
  SAFESTREAM_ENV_FILE="$work/env" SAFESTREAM_BUILD_DIR="$build" "$root/deploy/local/demo.sh" stop >/dev/null 2>&1
  stop_pid "$processor_pid"; stop_pid "$api_pid"
  local t ids
  for t in $(run_tags); do
    pg -c "DELETE FROM report_ids WHERE id IN (SELECT id FROM reports WHERE source_id LIKE '%~$t');
           DELETE FROM reports WHERE source_id LIKE '%~$t'" >/dev/null 2>&1
  done
  if [[ -s $run/demo-subscriptions.tsv ]]; then
    ids=$(cut -f2 "$run/demo-subscriptions.tsv" | sed "s/.*/'&'/" | paste -sd,)
    pg -c "DELETE FROM subscriptions WHERE id IN ($ids)" >/dev/null 2>&1
    for t in $(cut -f2 "$run/demo-subscriptions.tsv"); do
      redis --scan --pattern "safestream:*$t*" | xargs -r "${redis[@]}" DEL >/dev/null 2>&1
      redis ZRANGE safestream:alerts:digests:due 0 -1 | grep "^$t|" | xargs -r "${redis[@]}" ZREM safestream:alerts:digests:due >/dev/null 2>&1
    done
  fi
  redis --scan --pattern "$surge_prefix*" | xargs -r "${redis[@]}" DEL >/dev/null 2>&1
  redis --scan --pattern "$dedupe_prefix*" | xargs -r "${redis[@]}" DEL >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${OPS_KEEP:-} ]] && trap - EXIT  # OPS_KEEP=1: keep rows, keys and $work to debug

# --- 1. a processor and an API of this test ---------------------------------------
metrics_port=$(free_port)
"$build/processor/safestream-processor" --raw-topic "$topic" --group-id "ops-demo-$tag" \
  --enriched-topic "ops.demo.$tag.enriched" --dlq-topic "ops.demo.$tag.dlq" --alerts-topic "ops.demo.$tag.alerts" \
  --s3-prefix "$s3_prefix" --surge-key-prefix "$surge_prefix" --dedupe-key-prefix "$dedupe_prefix" --live-feed-recent-seconds 0 --metrics-port "$metrics_port" \
  >"$work/processor.log" 2>&1 &
processor_pid=$!
api_port=$(free_port) api_metrics_port=$(free_port)
"$build/api/safestream-api" --port "$api_port" --metrics-port "$api_metrics_port" --topic "$topic" \
  --rate-limit-per-minute 0 >"$work/api.log" 2>&1 &
api_pid=$!
wait_healthy() {  # wait_healthy NAME PORT PID
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$2/healthz" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$work/$1.log" >&2
  die "$1 did not start"
}
wait_healthy processor "$metrics_port" "$processor_pid"
wait_healthy api "$api_metrics_port" "$api_pid"

# The demo's environment: the stack's servers, these daemons, its own run folder and topic.
{
  grep -E '^SAFESTREAM_(KAFKA_BOOTSTRAP|PG_URL|REDIS_URL|S3_[A-Z_]+)=' <(env)
  echo "SAFESTREAM_API_URL=http://127.0.0.1:$api_port"
  echo "SAFESTREAM_PROCESSOR_METRICS_URL=http://127.0.0.1:$metrics_port/metrics"
  echo "SAFESTREAM_RUN_DIR=$run"
  echo "SAFESTREAM_INGEST_TOPIC=$topic"
} > "$work/env"

# --- 2. the demo, compressed ----------------------------------------------------------
SAFESTREAM_ENV_FILE="$work/env" SAFESTREAM_BUILD_DIR="$build" SAFESTREAM_DEMO_SPEEDUP="${OPS_DEMO_SPEEDUP:-2000}" \
  SAFESTREAM_DEMO_LIVE_HOURS=24 SAFESTREAM_DEMO_HISTORY_HOURS="${OPS_DEMO_HISTORY_HOURS:-72}" \
  "$root/deploy/local/demo.sh" start >"$work/demo.out" 2>&1 || { cat "$work/demo.out" >&2; die "demo.sh start failed"; }
check "demo.sh created its six subscriptions" test "$(wc -l < "$run/demo-subscriptions.tsv")" = 6
demo_pid=$(cat "$run/pids/demo.pid")
deadline=$((SECONDS + 150))
while kill -0 "$demo_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 1; done
kill -0 "$demo_pid" 2>/dev/null && die "the live replay did not finish within 150 s (log: $(tail -2 "$run/logs/demo.log"))"
grep -q '"event":"replay_done"' "$run/logs/demo.log" || die "no replay_done in the demo log: $(tail -3 "$run/logs/demo.log")"
# Processed: the lanes are empty and nothing new was consumed for a second.
last="" deadline=$((SECONDS + 60))
while ((SECONDS < deadline)); do
  m=$(curl -sf "http://127.0.0.1:$metrics_port/metrics")
  now=$(awk '/^safestream_processor_consumed_total/ { s += $2 } END { print s + 0 }' <<<"$m")
  queued=$(awk '/^safestream_processor_lane_queued_messages/ { s += $2 } END { print s + 0 }' <<<"$m")
  [[ $now == "$last" && $queued == 0 ]] && break
  last=$now
  sleep 1
done

# --- 3. alerts of every kind, read as a subscriber reads them ------------------------
declare -A types
reports=0 surges=0 digests=0 queued=0 held=0
while IFS=$'\t' read -r name id token; do
  counts=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/v1/subscriptions/$id/alerts?limit=1000" |
    python3 -c 'import json,sys,collections; c=collections.Counter(a["type"] for a in json.load(sys.stdin)["alerts"]); print(c["report"], c["surge"], c["digest"])') \
    || { fail "alert history of $name unreadable"; continue; }
  read -r r s d <<<"$counts"
  types[$name]="report=$r surge=$s digest=$d"
  reports=$((reports + r)) surges=$((surges + s)) digests=$((digests + d))
  for k in $(redis --scan --pattern "safestream:heldback:$id:*"); do held=$((held + $(redis GET "$k"))); done
  queued=$((queued + $(redis ZRANGE safestream:alerts:digests:due 0 -1 | grep -c "^$id|")))
done < "$run/demo-subscriptions.tsv"
for n in "${!types[@]}"; do echo "alerts of $n: ${types[$n]}"; done
echo "alerts: $reports report, $surges surge, $digests digest sent, $queued digest hours queued, $held held back"
check "report alerts fired ($reports)" test "$reports" -ge 1
check "a surge alert fired ($surges; processor log: $(grep -c surge_detected "$work/processor.log") surge_detected)" test "$surges" -ge 1
check "a throttled subscription held alerts back for a digest ($held)" test "$held" -ge 1
check "each held-back hour has its digest, sent or queued for the hour's end ($digests sent, $queued queued)" \
  test $((digests + queued)) -ge 1
check "the philadelphia-city subscription received the surge (${types[philadelphia-city]:-none})" \
  grep -q 'surge=[1-9]' <<<"${types[philadelphia-city]:-}"

# --- 4. at least three cities in PostgreSQL -------------------------------------------
tags=$(run_tags | sed "s/.*/'%~&'/" | paste -sd,)
cities=$(pg -c "SELECT string_agg(city || ':' || n, ' ' ORDER BY city) FROM
  (SELECT city, count(*) AS n FROM reports WHERE source_id LIKE ANY (ARRAY[$tags]) AND city IS NOT NULL GROUP BY city) c")
echo "reports per city: $cities"
check "the demo's reports are in at least three cities ($cities)" test "$(wc -w <<<"$cities")" -ge 3
finish

#!/usr/bin/env bash
# Hot-spot benchmark: the processor with all sinks on, working through a
# normal stream with BENCH_HOTSPOT reports (default 100,000) at one spot and
# one half hour in its middle (a protest, a stadium, a bot army), against
# the same volume spread over the city, measured in the same run. Prints a
# table with the rate over the flood's part of the stream in both runs and
# their ratio (goal >= 0.8: a flood costs what spread load costs).
#
#   deploy/local/stack.sh up && bench/processor/hotspot.sh
#
# Settings: BENCH_HOTSPOT (flood size), BENCH_NORMAL (spread reports before
# and after it, default 50,000 each side), BENCH_PROCESSOR_ARGS,
# BENCH_S3_ROTATE_INTERVAL (seconds, default 1: the window ends with the
# last commit, which waits for the archive's object to close),
# SAFESTREAM_BUILD_DIR, SAFESTREAM_ENV_FILE. Like run.sh it starts its own
# devbroker (32 partitions, so both runs' messages fit) next to the stack's
# PostgreSQL, S3 and Redis (database 13, flushed afterwards).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
hot="${BENCH_HOTSPOT:-100000}"
normal="${BENCH_NORMAL:-50000}"
total=$((hot + 2 * normal))
bench="$build/processor/safestream-processor-bench"
proc="$build/processor/safestream-processor"
for b in "$bench" "$proc" "$build/deploy/devbroker/safestream-devbroker"; do
  [[ -x $b ]] || { echo "bench: $b is not built" >&2; exit 1; }
done
work="$(mktemp -d)"
tag="hot-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')-"
bench_redis="$(echo "$SAFESTREAM_REDIS_URL" | sed -E 's#^(redis://[^/]+).*#\1#')/13"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$SAFESTREAM_PG_URL" -qAtc "DELETE FROM reports WHERE source_id LIKE '${tag}%'; DELETE FROM report_ids r WHERE NOT EXISTS (SELECT 1 FROM reports x WHERE x.id = r.id)" >/dev/null 2>&1 || true
  redis-cli -u "$bench_redis" FLUSHDB >/dev/null 2>&1 || true
  for r in spread flood; do [[ -f $work/$r.log ]] && cp "$work/$r.log" "$build/bench-hotspot-$r.log"; done
  rm -rf "$work"
}
trap cleanup EXIT

topics=bench.spread.raw,bench.flood.raw,bench.enriched,bench.dlq,bench.alerts
"$build/deploy/devbroker/safestream-devbroker" --partitions 32 --topics "$topics" \
  --bootstrap-file "$work/bootstrap" >"$work/devbroker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
kafka=$(cat "$work/bootstrap")
echo "bench: $total reports per run ($hot at one spot in the middle of the flood run), devbroker $kafka" >&2

# run NAME HOTSPOT_COUNT: produce the stream, let a fresh processor drain it;
# prints "whole_seconds window_seconds window_cpu_seconds duplicates_linked peak_rss_kb"
run() {
  local name=$1 hot_count=$2 port ppid out
  "$bench" produce --bootstrap "$kafka" --topic "bench.$name.raw" --count "$total" --tag "${tag}$name-" \
    --hotspot-count "$hot_count" --hotspot-at "$normal" >/dev/null
  port=$(free_port)
  SAFESTREAM_REDIS_URL=$bench_redis SAFESTREAM_PROCESSOR_METRICS_PORT=$port "$proc" --kafka-bootstrap "$kafka" \
    --raw-topic "bench.$name.raw" --enriched-topic bench.enriched --dlq-topic bench.dlq --alerts-topic bench.alerts \
    --group-id "bench-$tag$name" --s3-prefix "bench/${tag}$name" --dedupe-key-prefix "safestream:dedupe:$tag$name:" \
    --s3-rotate-interval "${BENCH_S3_ROTATE_INTERVAL:-1}" --log-level warn ${BENCH_PROCESSOR_ARGS:-} \
    >"$work/$name.log" 2>&1 &
  ppid=$!
  pids+=($ppid)
  out=$(python3 "$root/bench/processor/window.py" "http://127.0.0.1:$port/metrics" "$ppid" "$total" "$normal" \
        "$((normal + hot))" 1800) || { tail -5 "$work/$name.log" >&2; exit 1; }
  local dups rss
  dups=$(curl -s "http://127.0.0.1:$port/metrics" | awk '$1=="safestream_processor_duplicates_linked_total" {print $2}')
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$ppid/status")
  kill -TERM "$ppid"; wait "$ppid" 2>/dev/null || true
  echo "$out" | tr '\t' ' ' | tr '\n' ' '
  echo "${dups:-0} $rss"
}

read -r s_whole s_win s_cpu s_dups s_rss < <(run spread 0)
read -r f_whole f_win f_cpu f_dups f_rss < <(run flood "$hot")
rate() { python3 -c "print(round($1 / $2))"; }
s_rate=$(rate "$hot" "$s_win") f_rate=$(rate "$hot" "$f_win")
printf '\n| measure | spread over the city | %s at one spot and half hour |\n|---|---|---|\n' "$hot"
printf '| reports in the run (the window: reports %s..%s of the stream) | %s | %s |\n' "$normal" "$((normal + hot))" "$total" "$total"
printf '| processor rate over the window, all sinks | %s reports/s | **%s reports/s** |\n' "$s_rate" "$f_rate"
printf '| processor CPU ms per 1,000 reports in the window | %s | %s |\n' \
  "$(python3 -c "print(round($s_cpu * 1e6 / $hot, 1))")" "$(python3 -c "print(round($f_cpu * 1e6 / $hot, 1))")"
printf '| whole run | %s reports/s | %s reports/s |\n' "$(rate "$total" "$s_whole")" "$(rate "$total" "$f_whole")"
printf '| near-duplicates linked | %s | %s |\n' "$s_dups" "$f_dups"
printf '| processor peak RSS | %s MiB | %s MiB |\n' "$((s_rss / 1024))" "$((f_rss / 1024))"
printf '| ratio flood / spread over the window | | **%s** (goal >= 0.8) |\n' "$(python3 -c "print(f'{$f_rate / $s_rate:.2f}')")"

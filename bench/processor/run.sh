#!/usr/bin/env bash
# Benchmark of safestream-processor against the local stack (PostgreSQL, S3)
# with all sinks on, and the raw limits underneath measured in the same run.
# Prints a table. Not a test: numbers depend on the machine.
#
#   deploy/local/stack.sh up && bench/processor/run.sh
#
# Kafka: the devbroker keeps only ~5 MB per partition, so this script starts
# its own devbroker with 16 partitions for the bench topics (the messages
# then fit), next to the stack's PostgreSQL and s3rver.
# Settings: BENCH_COUNT (default 100000 reports), BENCH_LATENCY_COUNT and
# BENCH_LATENCY_RATE (steady-rate run for produce->commit latency),
# BENCH_PROCESSOR_ARGS (extra processor flags, e.g. "--pg-connections 1"),
# BENCH_S3_ROTATE_INTERVAL (seconds, default 1),
# SAFESTREAM_BUILD_DIR, SAFESTREAM_ENV_FILE.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
count="${BENCH_COUNT:-100000}"
lat_count="${BENCH_LATENCY_COUNT:-30000}"
lat_rate="${BENCH_LATENCY_RATE:-5000}"
bench="$build/processor/safestream-processor-bench"
proc="$build/processor/safestream-processor"
for b in "$bench" "$proc" "$build/deploy/devbroker/safestream-devbroker"; do
  [[ -x $b ]] || { echo "bench: $b is not built" >&2; exit 1; }
done
work="$(mktemp -d)"
tag="bench-$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')-"
port=$(free_port)
# The processor's alert state (surge counters, one key per report counted)
# goes to a Redis database of its own, emptied afterwards, so runs do not
# grow the stack's Redis (whose rewrites would then load later runs).
bench_redis="$(echo "$SAFESTREAM_REDIS_URL" | sed -E 's#^(redis://[^/]+).*#\1#')/13"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql "$SAFESTREAM_PG_URL" -qAtc "DELETE FROM reports WHERE source_id LIKE '${tag}%'; DELETE FROM report_ids r WHERE NOT EXISTS (SELECT 1 FROM reports x WHERE x.id = r.id)" >/dev/null 2>&1 || true
  redis-cli -u "$bench_redis" FLUSHDB >/dev/null 2>&1 || true
  [[ -f $work/processor.log ]] && cp "$work/processor.log" "$build/bench-processor.log"
  rm -rf "$work"
}
trap cleanup EXIT

"$build/deploy/devbroker/safestream-devbroker" --partitions 16 --topics bench.raw,bench.enriched,bench.dlq,bench.alerts \
  --bootstrap-file "$work/bootstrap" >"$work/devbroker.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bootstrap ]] && break; sleep 0.1; done
kafka=$(cat "$work/bootstrap")
echo "bench: $count reports, devbroker $kafka (16 partitions), PostgreSQL and S3 of $env_file" >&2

json() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }
vacuum() {
  psql "$SAFESTREAM_PG_URL" -qAt -c "VACUUM ANALYZE reports" -c "VACUUM ANALYZE report_ids" >/dev/null
}
# The bare batched upsert of the same rows; prints "rows/s postgres-CPU-ms-per-1000-rows".
pg_raw() {
  local out
  vacuum
  out=$("$bench" pg-upsert --pg-url "$SAFESTREAM_PG_URL" --count "$count" --tag "$1" \
    --taxonomy "$root/schemas/taxonomy.v1.csv" \
    --cities "$root/deploy/cities.json")
  echo "$(echo "$out" | json per_second) $(echo "$out" | json backend_cpu_ms_per_1000)"
}

# 1. produce the workload
produce=$("$bench" produce --bootstrap "$kafka" --topic bench.raw --count "$count" --tag "$tag")
# 2. raw limit: a bare librdkafka consumer over the same messages
consume=$("$bench" consume --bootstrap "$kafka" --topic bench.raw --count "$count")
# 3. raw limit: the same number of rows upserted with a bare batched
#    statement (COPY + INSERT ... ON CONFLICT); again after the processor,
#    and the faster of the two counts (the harder reference).
read -r raw_pg1 raw_pg_cpu1 < <(pg_raw "$tag")
vacuum

# 4. the processor, all sinks on, draining the backlog. The archive closes
#    its objects every BENCH_S3_ROTATE_INTERVAL seconds (default 1): the
#    commit waits for the S3 lane, so with the production default (minutes)
#    the run would end only at the first rotation.
SAFESTREAM_REDIS_URL=$bench_redis SAFESTREAM_PROCESSOR_METRICS_PORT=$port "$proc" --kafka-bootstrap "$kafka" --raw-topic bench.raw \
  --enriched-topic bench.enriched --dlq-topic bench.dlq --alerts-topic bench.alerts --group-id "bench-$tag" --s3-prefix "bench/${tag%-}" \
  --s3-rotate-interval "${BENCH_S3_ROTATE_INTERVAL:-1}" \
  --log-level "${BENCH_PROCESSOR_LOG_LEVEL:-warn}" ${BENCH_PROCESSOR_ARGS:-} >"$work/processor.log" 2>&1 &
ppid=$!
pids+=($ppid)
metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1==n {print $2}'; }
rows() { psql "$SAFESTREAM_PG_URL" -qAtc "SELECT count(*) FROM reports WHERE source_id LIKE '${tag}%' AND source_id NOT LIKE '${tag}raw-%' AND source_id NOT LIKE '${tag}lat-%'"; }
# From the first report consumed until every report's batch is committed
# (the processor's own count, so the wait does not load PostgreSQL); the
# rows are counted once afterwards.
IFS=$'\t' read -r secs steady_n steady_secs cpu busy < <(python3 "$root/bench/processor/watch.py" \
  "http://127.0.0.1:$port/metrics" "$ppid" "$count" 600 || { tail -5 "$work/processor.log" >&2; printf '0\t0\t0\tx\tx\n'; })
[[ $cpu != x ]] || exit 1
whole_rate=$(python3 -c "print(round($count / $secs))")
proc_rate=$(python3 -c "print(round($steady_n / $steady_secs))")
stored=$(rows)
[[ $stored -eq $count ]] || { echo "bench: $stored rows in PostgreSQL, expected $count" >&2; exit 1; }

# 5. produce -> PostgreSQL commit latency at a steady rate (histogram delta)
curl -s "http://127.0.0.1:$port/metrics" > "$work/m0"
"$bench" produce --bootstrap "$kafka" --topic bench.raw --count "$lat_count" --tag "${tag}lat-" --rate "$lat_rate" >/dev/null
until [[ $(metric safestream_processor_ingest_to_commit_seconds_count | cut -d. -f1) -ge $((count + lat_count)) ]]; do sleep 0.1; done
curl -s "http://127.0.0.1:$port/metrics" > "$work/m1"
read -r p50 p99 < <(python3 - "$work/m0" "$work/m1" <<'PY'
import re, sys
def buckets(path):
    b = {}
    for line in open(path):
        m = re.match(r'safestream_processor_ingest_to_commit_seconds_bucket\{le="([^"]+)"\} (\S+)', line)
        if m: b[float('inf') if m.group(1) == '+Inf' else float(m.group(1))] = float(m.group(2))
    return b
a, b = buckets(sys.argv[1]), buckets(sys.argv[2])
les = sorted(b)
d = [(le, b[le] - a.get(le, 0)) for le in les]
total = d[-1][1]
def q(p):  # Prometheus histogram_quantile: linear inside the bucket
    rank, prev_le, prev_c = p * total, 0.0, 0.0
    for le, c in d:
        if c >= rank:
            if le == float('inf'): return prev_le
            return prev_le + (le - prev_le) * (rank - prev_c) / max(c - prev_c, 1e-9)
        prev_le, prev_c = le, c
print(f"{q(0.5)*1000:.1f} {q(0.99)*1000:.1f}")
PY
)
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$ppid/status)
# mean time per batch of each sink over the throughput run (from /metrics, before step 5)
sinks=$(python3 - "$work/m0" <<'PY'
import re, sys
s, c = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'safestream_processor_sink_batch_seconds_(sum|count)\{sink="([^"]+)"\} (\S+)', line)
    if m: (s if m.group(1) == 'sum' else c)[m.group(2)] = float(m.group(3))
print(", ".join(f"{k} {1000*s[k]/c[k]:.0f} ms" for k in sorted(c) if c[k]))
PY
)
batches=$(awk '$1=="safestream_processor_batches_total" {print $2}' "$work/m0")
# the archive's objects closed during the throughput run (by rotation; what
# is still open then is not counted): how many, mean reports and KB each
archive=$(awk '$1=="safestream_processor_archive_objects_total" {n=$2}
  $1=="safestream_processor_archive_object_reports_sum" {r=$2}
  $1=="safestream_processor_archive_object_bytes_sum" {b=$2}
  END {if (n > 0) printf "%d objects, mean %d reports and %d KB per object", n, r / n, b / n / 1024; else print "no object closed yet"}' "$work/m0")
# the alert lanes' work depends on the subscriptions the stack holds
subs=$(psql "$SAFESTREAM_PG_URL" -qAtc "SELECT count(*) FROM subscriptions" 2>/dev/null || echo "?")

kill -TERM $ppid; wait $ppid 2>/dev/null || true
read -r raw_pg2 raw_pg_cpu2 < <(pg_raw "${tag}again-")
raw_consume=$(echo "$consume" | json per_second)
raw_pg=$(python3 -c "print(max($raw_pg1, $raw_pg2))")
slowest=$(python3 -c "print(min($raw_consume, $raw_pg))")
ratio=$(python3 -c "print(f'{$proc_rate / $slowest:.2f}')")
printf '\n| measure | value |\n|---|---|\n'
printf '| reports | %s |\n' "$count"
printf '| produce rate (bench producer) | %s reports/s |\n' "$(echo "$produce" | json per_second)"
printf '| processor sustained, all sinks (PostgreSQL, S3, reports.enriched): steady state, the last %s reports | **%s reports/s** |\n' "$steady_n" "$proc_rate"
printf '| processor over the whole run, from the first report consumed (incl. start-up) | %s reports/s |\n' "$whole_rate"
printf '| produce -> PostgreSQL commit p50 at %s reports/s | %s ms |\n' "$lat_rate" "$p50"
printf '| produce -> PostgreSQL commit p99 at %s reports/s | %s ms |\n' "$lat_rate" "$p99"
printf '| batches in the throughput run / mean sink time per batch | %s / %s |\n' "$batches" "$sinks"
printf '| CPU ms per 1,000 reports in the throughput run, by process / machine busy | %s / %s%% |\n' "$cpu" "$(python3 -c "print(round($busy * 100))")"
printf '| processor peak RSS | %s MiB |\n' "$((rss_kb / 1024))"
printf '| S3 archive after the throughput run | %s |\n' "$archive"
printf '| subscriptions in PostgreSQL (each matching report is alerted to them) | %s |\n' "$subs"
printf '| processor warnings and errors logged (log: %s) | %s |\n' "$build/bench-processor.log" \
  "$(grep -c '"level":"\(warn\|warning\|error\)"' "$work/processor.log" || true)"
printf '| raw limit: bare librdkafka consumer | %s msgs/s |\n' "$raw_consume"
printf '| raw limit: bare batched PostgreSQL upsert of the same rows (COPY + INSERT ON CONFLICT, 5000/batch, one connection), before / after the processor | %s / %s rows/s |\n' "$raw_pg1" "$raw_pg2"
printf '| PostgreSQL backend CPU ms per 1,000 rows: bare upsert (before / after) vs the processor connections | %s / %s vs %s |\n' "$raw_pg_cpu1" "$raw_pg_cpu2" "$(echo "$cpu" | sed -E 's/.*postgres ([0-9.]+).*/\1/')"
printf '| ratio processor (steady state) / slowest raw limit | **%s** (goal >= 0.8); whole run %s |\n' "$ratio" \
  "$(python3 -c "print(f'{$whole_rate / $slowest:.2f}')")"

#!/usr/bin/env bash
# WebSocket fan-out benchmark: N clients on the live feeds of one machine,
# alerts published on Redis as the processor publishes them, delivery
# latency from publish to frame received. Prints a table.
#
# For each client count: 1 % of the clients watch a neighbourhood channel,
# the rest the city channel (GET /v1/live?city=…). Each round publishes one
# alert to all (both channels) and, after --gap, one to the 1 % only. The
# load generator (api-ws-fanout, epoll, no Beast) runs as several processes
# bound to their own source addresses 127.0.0.x, so ephemeral ports last.
# Memory per connection is the API's RSS growth from idle to all connected,
# divided by the connections (user space only; the kernel's socket buffers
# are not in it). API CPU per frame is the API processes' user + system time
# from the first publish to 2 s after the last, divided by the frames the
# clients received (keep-alive pings of that window included): it says what
# a delivery costs, whatever else the machine was running.
#
# One process may hold at most `ulimit -Hn` descriptors (20,000 on the
# shared development machine, and root there cannot raise it): above
# BENCH_WS_PER_API connections the API runs as several processes, which is
# also how to use more cores of a host (in production behind a load balancer
# or sharing a port with --reuse-port).
#
# Usage: bench/api/ws_fanout.sh [client counts ("1000 10000 50000")]
# Env: BENCH_WS_ROUNDS (10), BENCH_WS_GAP_MS (1000), BENCH_WS_PER_API (15000),
#      BENCH_WS_PER_CLIENT (12500), BENCH_WS_IO_THREADS (2), SAFESTREAM_BUILD_DIR, SAFESTREAM_ENV_FILE.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../lib.sh"
counts="${1:-1000 10000 50000}"
rounds="${BENCH_WS_ROUNDS:-10}"
gap="${BENCH_WS_GAP_MS:-1000}"
per_api="${BENCH_WS_PER_API:-15000}"
per_client="${BENCH_WS_PER_CLIENT:-12500}"
io_threads="${BENCH_WS_IO_THREADS:-2}"
load="$build/tests/integration/api/api-ws-fanout"
[[ -x $load ]] || { echo "bench: $load is not built" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)"  # the soft limit up to the hard one, for the API and the clients
limit=$(ulimit -n)

work=$(mktemp -d /tmp/safestream-bench-ws.XXXXXX)
api_pids=(); client_pids=()
stop_all() {
  for p in "${client_pids[@]}" "${api_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${client_pids[@]}" "${api_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  api_pids=(); client_pids=()
}
cleanup() { stop_all; rm -rf "$work"; }
trap cleanup EXIT
rss_kb() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$p/status"))); done; echo "$t"; }
wait_http() { for _ in $(seq 150); do curl -sf -o /dev/null "$1" && return 0; sleep 0.2; done; echo "bench: $1 did not answer" >&2; exit 1; }

feed="bench-$$"
all_target="/v1/live?city=$feed"
one_target="/v1/live?city=$feed&neighbourhood=one"

printf '\n## WebSocket fan-out (%s rounds; %s cores; descriptor limit %s per process)\n\n' "$rounds" "$(nproc)" "$limit"
printf '| clients | API processes | client processes | set-up conn/s | API KiB per conn | to all: got/expected | p50 ms | p95 ms | p99 ms | to 1 %%: got/expected | p50 ms | p95 ms | p99 ms | API CPU us per frame |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $counts; do
  napi=$(( (n + per_api - 1) / per_api ))
  ncli=$(( (n + per_client - 1) / per_client )); (( ncli < 2 )) && ncli=2
  # Each API process on a port of its own, the clients spread over them
  # evenly (client i on port i mod n). With one port shared by --reuse-port
  # this machine's kernel (6.18) gave the first process far more than its
  # share: it reached its 20,000 descriptors while the other three held
  # 1,925, 2,457 and 7,313, and 50,000 never connected.
  ports=()
  for ((i = 0; i < napi; i++)); do
    port=$(free_port); ports+=("$port")
    "$build/api/safestream-api" --port "$port" --metrics-port "$(free_port)" --log-level warn \
      --io-threads "$io_threads" --rate-limit-per-minute 0 >"$work/api-$n-$i.log" 2>&1 &
    api_pids+=($!)
    wait_http "http://127.0.0.1:$port/healthz"
  done
  sleep 1
  rss0=$(rss_kb "${api_pids[@]}")
  rm -f "$work"/ready-* "$work"/out-*
  for ((c = 0; c < ncli; c++)); do
    share=$(( n / ncli + (c < n % ncli ? 1 : 0) ))
    "$load" clients --ports "$(IFS=,; echo "${ports[*]}")" --connections "$share" --source-base $((10 + c * 2)) \
      --all-target "$all_target" --one-target "$one_target" --one-every 100 \
      --ready "$work/ready-$c" --out "$work/out-$c" --seconds 900 &
    client_pids+=($!)
  done
  for _ in $(seq 1200); do
    (( $(ls "$work"/ready-* 2>/dev/null | wc -l) == ncli )) && break
    sleep 0.1
  done
  if (( $(ls "$work"/ready-* 2>/dev/null | wc -l) != ncli )); then
    echo "| $n | $napi | $ncli | (not all clients connected within 120 s; see $work) |"
    stop_all; continue
  fi
  setup_ms=$(cat "$work"/ready-* | awk '{ if ($4 > m) m = $4 } END { print m }')
  sleep 2
  rss1=$(rss_kb "${api_pids[@]}")
  cpu0=$(cpu_ticks "${api_pids[@]}")
  "$load" publish --redis-url "$SAFESTREAM_REDIS_URL" --all-feed "city:$feed" --one-feed "neighbourhood:$feed:one" \
    --rounds "$rounds" --gap-ms "$gap"
  sleep 2
  cpu1=$(cpu_ticks "${api_pids[@]}")
  for p in "${client_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${client_pids[@]}"; do wait "$p" 2>/dev/null || true; done
  client_pids=()
  ones=$(( (n + 99) / 100 ))  # clients 0, 100, 200, … of each process: counted below from the samples' owners
  python3 - "$n" "$napi" "$ncli" "$setup_ms" "$rss0" "$rss1" "$rounds" "$work" "$((cpu1 - cpu0))" "$(getconf CLK_TCK)" <<'PY'
import glob, sys
n, napi, ncli, setup_ms, rss0, rss1, rounds, work, ticks, hz = sys.argv[1:]
n, napi, ncli, rounds = int(n), int(napi), int(ncli), int(rounds)
lat = {'a': [], 'o': []}
ones = 0
for f in sorted(glob.glob(work + '/out-*')):
    for line in open(f):
        if line.startswith('#'):
            continue
        k, us = line.split()
        lat[k].append(float(us) / 1000.0)
# every 100th client of each process (index 0, 100, …) watches the 1 % feed
import math
shares = [n // ncli + (1 if c < n % ncli else 0) for c in range(ncli)]
ones = sum(math.ceil(s / 100) for s in shares)
def pct(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] if v else float('nan')
row = [str(n), str(napi), str(ncli), '%.0f' % (n / (float(setup_ms) / 1000.0)),
       '%.1f' % ((int(rss1) - int(rss0)) / n)]
for k, expected in (('a', n * rounds), ('o', ones * rounds)):
    v = sorted(lat[k])
    row += ['%d/%d' % (len(v), expected)] + ['%.1f' % pct(v, p) for p in (0.50, 0.95, 0.99)]
frames = len(lat['a']) + len(lat['o'])
row.append('%.1f' % (int(ticks) * 1e6 / int(hz) / max(1, frames)))
print('| ' + ' | '.join(row) + ' |')
PY
  stop_all
  sleep 1
done
redis_cli_url="$SAFESTREAM_REDIS_URL"
python3 - "$redis_cli_url" "$feed" <<'PY' || true
import socket, sys, urllib.parse
u = urllib.parse.urlparse(sys.argv[1]); feed = sys.argv[2]
s = socket.create_connection((u.hostname, u.port or 6379))
def cmd(*a):
    s.sendall(('*%d\r\n' % len(a) + ''.join('$%d\r\n%s\r\n' % (len(x.encode()), x) for x in a)).encode()); s.recv(4096)
if u.password: cmd('AUTH', u.password)
if u.path and u.path.strip('/'): cmd('SELECT', u.path.strip('/'))
cmd('DEL', 'safestream:channel:city:' + feed, 'safestream:channel:neighbourhood:' + feed + ':one')
PY

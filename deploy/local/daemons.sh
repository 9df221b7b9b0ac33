#!/usr/bin/env bash
# Starts or stops SafeStream's daemons in the background against the local
# stack (deploy/local/.env). Logs: $SAFESTREAM_RUN_DIR/logs/<daemon>.log.
# Usage: daemons.sh start|stop|status
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
env_file="${SAFESTREAM_ENV_FILE:-$here/.env}"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
[[ -f $env_file ]] || { echo "daemons: $env_file is missing; run deploy/local/stack.sh up" >&2; exit 1; }
set -a; source "$env_file"; set +a
run="$SAFESTREAM_RUN_DIR"
off="${SAFESTREAM_PORT_OFFSET:-0}"
export SAFESTREAM_API_PORT=$((58080 + off))
export SAFESTREAM_INGEST_METRICS_PORT=$((59101 + off))
export SAFESTREAM_PROCESSOR_METRICS_PORT=$((59102 + off))
export SAFESTREAM_API_METRICS_PORT=$((59103 + off))
mkdir -p "$run/logs" "$run/pids"

daemons=(processor ingest api)

start_one() {
  local name=$1 port=$2
  local pidf="$run/pids/$name.pid"
  if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return 0; fi
  # The API holds a descriptor per connection: run it with the soft limit
  # raised to the hard one (see docs/operations.md, "Many connections").
  if [[ $name == api ]]; then
    (ulimit -n "$(ulimit -Hn)"; exec nohup "$build/$name/safestream-$name" >>"$run/logs/$name.log" 2>&1) &
  else
    nohup "$build/$name/safestream-$name" >>"$run/logs/$name.log" 2>&1 &
  fi
  echo $! > "$pidf"
  local deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do
    if ! kill -0 "$(cat "$pidf")" 2>/dev/null; then
      echo "daemons: safestream-$name exited; last log lines:" >&2; tail -5 "$run/logs/$name.log" >&2; exit 1
    fi
    ((SECONDS < deadline)) || { echo "daemons: safestream-$name did not become healthy" >&2; exit 1; }
    sleep 0.2
  done
}

stop_one() {
  local pidf="$run/pids/$1.pid"
  [[ -f $pidf ]] || return 0
  local pid; pid=$(cat "$pidf")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { echo "daemons: $1 ignored SIGTERM for 30s; killing" >&2; kill -KILL "$pid"; }
  fi
  rm -f "$pidf"
}

case "${1:-}" in
  start)
    start_one processor "$SAFESTREAM_PROCESSOR_METRICS_PORT"
    start_one ingest "$SAFESTREAM_INGEST_METRICS_PORT"
    start_one api "$SAFESTREAM_API_METRICS_PORT"
    grep -vE '^SAFESTREAM_(API_URL|[A-Z]+_METRICS_URL)=' "$env_file" > "$env_file.tmp"
    cat >> "$env_file.tmp" <<ENV
SAFESTREAM_API_URL=http://127.0.0.1:$SAFESTREAM_API_PORT
SAFESTREAM_INGEST_METRICS_URL=http://127.0.0.1:$SAFESTREAM_INGEST_METRICS_PORT/metrics
SAFESTREAM_PROCESSOR_METRICS_URL=http://127.0.0.1:$SAFESTREAM_PROCESSOR_METRICS_PORT/metrics
SAFESTREAM_API_METRICS_URL=http://127.0.0.1:$SAFESTREAM_API_METRICS_PORT/metrics
ENV
    mv "$env_file.tmp" "$env_file"
    ;;
  stop)
    for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do stop_one "${daemons[$i]}"; done
    grep -vE '^SAFESTREAM_(API_URL|[A-Z]+_METRICS_URL)=' "$env_file" > "$env_file.tmp" && mv "$env_file.tmp" "$env_file"
    ;;
  status)
    for d in "${daemons[@]}"; do
      pidf="$run/pids/$d.pid"
      if [[ -f $pidf ]] && kill -0 "$(cat "$pidf")" 2>/dev/null; then echo "$d up"; else echo "$d down"; fi
    done
    ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The local stack of real servers, all on loopback, data under one git-ignored
# folder (.run/ by default):
#   PostgreSQL 15  127.0.0.1:55432   (runs as the postgres user)
#   Redis 7        127.0.0.1:56379
#   s3rver (S3)    127.0.0.1:54568   bucket "safestream"
#   devbroker      librdkafka mock cluster; its port is chosen by librdkafka
#                  and written to .env as SAFESTREAM_KAFKA_BOOTSTRAP
#   Prometheus     127.0.0.1:59090   (when deploy/prometheus/prometheus.yml exists)
# Usage: stack.sh up|down|status|env
# Overrides: SAFESTREAM_RUN_DIR, SAFESTREAM_ENV_FILE, SAFESTREAM_BUILD_DIR, and
# SAFESTREAM_PORT_OFFSET (added to every port, to run several stacks at once).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run="${SAFESTREAM_RUN_DIR:-$root/.run}"
env_file="${SAFESTREAM_ENV_FILE:-$here/.env}"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
off="${SAFESTREAM_PORT_OFFSET:-0}"
pg_port=$((55432 + off))
redis_port=$((56379 + off))
s3_port=$((54568 + off))
prom_port=$((59090 + off))
pg_bin=/usr/lib/postgresql/15/bin
bucket=safestream
mkdir -p "$run/logs" "$run/pids" "$run/secrets"
chmod 700 "$run/secrets"

log() { echo "stack: $*" >&2; }
die() { echo "stack: error: $*" >&2; exit 1; }

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_for() {
  local name=$1 secs=$2; shift 2
  local deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$name did not answer within ${secs}s (logs: $run/logs/)"
    sleep 0.2
  done
}

pid_alive() { [[ -f "$run/pids/$1.pid" ]] && kill -0 "$(cat "$run/pids/$1.pid")" 2>/dev/null; }

# stop_pid NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
  local name=$1 f="$run/pids/$1.pid"
  [[ -f $f ]] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then log "$name did not stop on SIGTERM; killing"; kill -KILL "$pid" 2>/dev/null || true; fi
  fi
  rm -f "$f"
}

secret() {  # secret NAME: a random secret kept in $run/secrets, created once
  local f="$run/secrets/$1"
  [[ -s $f ]] || (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$f")
  cat "$f"
}

as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# PostgreSQL refuses to run as root; its data must be reachable by the
# postgres user. If the project folder is not (e.g. under /root), the data
# lives in /var/tmp and .run/pg links to it.
pg_dir() {
  if [[ -L "$run/pg" || -d "$run/pg" ]]; then echo "$run/pg"; return; fi
  if [[ $(id -u) -ne 0 ]] || runuser -u postgres -- test -x "$run" 2>/dev/null; then
    mkdir -p "$run/pg"
  else
    local alt="/var/tmp/safestream-$(echo -n "$run" | sha1sum | cut -c1-12)/pg"
    mkdir -p "$alt"; ln -sfn "$alt" "$run/pg"
  fi
  [[ $(id -u) -ne 0 ]] || chown -R postgres:postgres "$(readlink -f "$run/pg")"
  echo "$run/pg"
}

pg_up() {
  local dir; dir=$(pg_dir)
  local data="$dir/data" sock="$dir/sock" logf="$dir/postgres.log"
  as_postgres mkdir -p "$sock"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initialising PostgreSQL in $data"
    local pwfile="$dir/.pw"
    (umask 077; secret pg_superuser > "$pwfile")
    [[ $(id -u) -ne 0 ]] || chown postgres "$pwfile"
    as_postgres "$pg_bin/initdb" -D "$data" -U postgres --pwfile="$pwfile" --auth-local=trust \
      --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pwfile"
  fi
  if ! as_postgres "$pg_bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$pg_bin/pg_ctl" -D "$data" -l "$logf" -w -t 60 start \
      -o "-p $pg_port -k $sock -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB -c fsync=on" >/dev/null \
      || die "PostgreSQL did not start (log: $logf)"
  fi
  wait_for PostgreSQL 30 pg_isready -h 127.0.0.1 -p "$pg_port"
  local app_pw; app_pw=$(secret pg_app)
  local psql=(as_postgres psql -h "$sock" -p "$pg_port" -U postgres -v ON_ERROR_STOP=1 -qtA)
  "${psql[@]}" -d postgres -c "DO \$\$BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'safestream') THEN
        CREATE ROLE safestream LOGIN PASSWORD '$app_pw';
      ELSE ALTER ROLE safestream PASSWORD '$app_pw'; END IF;
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst') THEN
        CREATE ROLE analyst LOGIN PASSWORD '$(secret pg_analyst)';
      END IF; END\$\$;" >/dev/null
  if [[ -z $("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'safestream'") ]]; then
    "${psql[@]}" -d postgres -c "CREATE DATABASE safestream OWNER safestream" >/dev/null
  fi
  "$build/core/safestream-migrate" --pg-url "$(pg_url)" --dir "$root/schemas/sql" >/dev/null
}
pg_url() { echo "postgresql://safestream:$(secret pg_app)@127.0.0.1:$pg_port/safestream"; }
pg_down() {
  local dir="$run/pg"
  [[ -f "$dir/data/postmaster.pid" ]] || return 0
  as_postgres "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

redis_up() {
  mkdir -p "$run/redis"
  if ! pid_alive redis; then
    redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$run/redis" --daemonize yes \
      --pidfile "$run/pids/redis.pid" --logfile "$run/logs/redis.log" --appendonly yes \
      --save "" --protected-mode yes >/dev/null
  fi
  wait_for Redis 20 redis-cli -p "$redis_port" ping
}

s3_up() {
  [[ -f $here/node_modules/s3rver/bin/s3rver.js ]] || die "s3rver is not installed; run deploy/local/install-deps.sh"
  mkdir -p "$run/s3"
  if ! pid_alive s3rver; then
    # The stack's own key pair (s3rver.js replaces the emulator's public one).
    SAFESTREAM_S3_ACCESS_KEY=$(secret s3_access) SAFESTREAM_S3_SECRET_KEY=$(secret s3_secret) \
      nohup node "$here/s3rver.js" --directory "$run/s3" --address 127.0.0.1 --port "$s3_port" --silent \
      --configure-bucket "$bucket" >"$run/logs/s3rver.log" 2>&1 &
    echo $! > "$run/pids/s3rver.pid"
  fi
  wait_for s3rver 30 curl -sf -o /dev/null "http://127.0.0.1:$s3_port/"
}

broker_up() {
  local bin="$build/deploy/devbroker/safestream-devbroker"
  [[ -x $bin ]] || die "$bin is not built; run cmake --build first"
  local f="$run/devbroker.bootstrap"
  if ! pid_alive devbroker; then
    rm -f "$f"
    nohup "$bin" --partitions "${SAFESTREAM_DEVBROKER_PARTITIONS:-4}" --bootstrap-file "$f" \
      >"$run/logs/devbroker.log" 2>&1 &
    echo $! > "$run/pids/devbroker.pid"
  fi
  wait_for devbroker 20 test -s "$f"
  wait_for devbroker 20 kcat -b "$(cat "$f")" -L -m 2
}

prom_up() {
  local cfg="$root/deploy/prometheus/prometheus.yml"
  [[ -f $cfg ]] || return 0
  mkdir -p "$run/prometheus"
  # The config names the daemons' default ports; shift them with the offset.
  perl -pe "s/127\.0\.0\.1:(59\d{3})\b/'127.0.0.1:' . (\$1 + $off)/ge" "$cfg" > "$run/prometheus/prometheus.yml"
  rm -rf "$run/prometheus/rules"
  [[ -d "$root/deploy/prometheus/rules" ]] && cp -r "$root/deploy/prometheus/rules" "$run/prometheus/"
  if pid_alive prometheus; then
    kill -HUP "$(cat "$run/pids/prometheus.pid")"  # reload a changed config or rules
  else
    nohup prometheus --config.file="$run/prometheus/prometheus.yml" --storage.tsdb.path="$run/prometheus/data" \
      --web.listen-address="127.0.0.1:$prom_port" >"$run/logs/prometheus.log" 2>&1 &
    echo $! > "$run/pids/prometheus.pid"
  fi
  wait_for Prometheus 30 curl -sf -o /dev/null "http://127.0.0.1:$prom_port/-/ready"
}

write_env() {
  local tmp="$env_file.tmp"
  (umask 077; cat > "$tmp" <<ENV
# Written by deploy/local/stack.sh; read by tests and tools. Local secrets only.
SAFESTREAM_KAFKA_BOOTSTRAP=$(cat "$run/devbroker.bootstrap")
SAFESTREAM_PG_URL=$(pg_url)
SAFESTREAM_ANALYST_PG_URL=postgresql://analyst:$(secret pg_analyst)@127.0.0.1:$pg_port/safestream
SAFESTREAM_REDIS_URL=redis://127.0.0.1:$redis_port
SAFESTREAM_S3_ENDPOINT=http://127.0.0.1:$s3_port
SAFESTREAM_S3_BUCKET=$bucket
SAFESTREAM_S3_REGION=us-east-1
SAFESTREAM_S3_ACCESS_KEY=$(secret s3_access)
SAFESTREAM_S3_SECRET_KEY=$(secret s3_secret)
SAFESTREAM_RUN_DIR=$run
SAFESTREAM_PORT_OFFSET=$off
ENV
  if [[ -f "$root/deploy/prometheus/prometheus.yml" ]]; then echo "SAFESTREAM_PROMETHEUS_URL=http://127.0.0.1:$prom_port" >> "$tmp"; fi
  # Lines the daemons added (up.sh) survive a stack restart.
  if [[ -f $env_file ]]; then grep -E '^SAFESTREAM_(API_URL|[A-Z]+_METRICS_URL)=' "$env_file" >> "$tmp" || true; fi)
  mv "$tmp" "$env_file"
}

cmd_up() {
  pg_up; log "PostgreSQL ready on 127.0.0.1:$pg_port"
  redis_up; log "Redis ready on 127.0.0.1:$redis_port"
  s3_up; log "s3rver ready on 127.0.0.1:$s3_port (bucket $bucket)"
  broker_up; log "devbroker ready at $(cat "$run/devbroker.bootstrap")"
  write_env
  prom_up; [[ -f "$root/deploy/prometheus/prometheus.yml" ]] && log "Prometheus ready on 127.0.0.1:$prom_port"
  log "environment written to $env_file"
}

cmd_down() {
  stop_pid prometheus
  stop_pid devbroker
  stop_pid s3rver
  if pid_alive redis; then redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; fi
  stop_pid redis
  pg_down
  rm -f "$run/devbroker.bootstrap"
  log "stack stopped"
}

cmd_status() {
  local rc=0
  check() { if "${@:2}" >/dev/null 2>&1; then printf '%-11s up\n' "$1"; else printf '%-11s down\n' "$1"; rc=1; fi; }
  check postgresql pg_isready -h 127.0.0.1 -p "$pg_port"
  check redis redis-cli -p "$redis_port" ping
  check s3rver curl -sf -o /dev/null "http://127.0.0.1:$s3_port/"
  check devbroker bash -c "test -s '$run/devbroker.bootstrap' && kcat -b \$(cat '$run/devbroker.bootstrap') -L -m 2"
  [[ -f "$root/deploy/prometheus/prometheus.yml" ]] && check prometheus curl -sf -o /dev/null "http://127.0.0.1:$prom_port/-/ready"
  return $rc
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cat "$env_file" ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac

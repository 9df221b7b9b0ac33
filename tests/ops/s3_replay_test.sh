#!/usr/bin/env bash
# Replay from the S3 archive into an empty PostgreSQL reproduces the same rows
# (docs/operations.md, "Replay and backfill"):
#   1. ingest imports 300 rows of the Chicago sample (a unique source name)
#      into a topic of this test; processor A (own group, own S3 prefix)
#      archives them to S3 and upserts them into the stack's database;
#   2. an empty database: a fresh schema with every migration applied
#      (the application role cannot CREATE DATABASE; the processor's SQL is
#      unqualified, so search_path points it at the schema);
#   3. the archive objects are downloaded, unzipped and produced, keyed by
#      id, into a second topic; processor B writes them into the empty schema;
#   4. both tables must hold the same rows, column by column, except
#      processed_at (when it was processed) and the private columns, which the
#      archive never holds (contact, raw).
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
for b in ingest/safestream-ingest processor/safestream-processor core/safestream-migrate; do
  [[ -x $build/$b ]] || die "$build/$b is not built"
done

tag=$(unique_tag)
src="opsreplay_$tag"
schema="replay_$tag"
prefix="ops-replay-$tag"
topic_a="ops.replay.$tag.archive"
topic_b="ops.replay.$tag.replay"
rows=300
work=$(mktemp -d)
pid_a="" pid_b=""
pg() { psql "$SAFESTREAM_PG_URL" -X -v ON_ERROR_STOP=1 -qtA "$@"; }
sep=$([[ $SAFESTREAM_PG_URL == *\?* ]] && echo '&' || echo '?')
replay_url="${SAFESTREAM_PG_URL}${sep}options=-csearch_path%3D${schema}"
s3() {  # s3 METHOD PATH [curl args]: a SigV4-signed request to the stack's S3
  local method=$1 path=$2; shift 2
  # Requests without a body: its SHA-256 is that of the empty string.
  curl -s --fail-with-body -X "$method" --user "$SAFESTREAM_S3_ACCESS_KEY:$SAFESTREAM_S3_SECRET_KEY" \
    -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
    --aws-sigv4 "aws:amz:$SAFESTREAM_S3_REGION:s3" "$SAFESTREAM_S3_ENDPOINT/$SAFESTREAM_S3_BUCKET$path" "$@"
}
s3_keys() {  # s3_keys PREFIX: object keys under PREFIX, one a line
  s3 GET "?list-type=2&prefix=$1" | python3 -c \
    'import re,sys,html; print("\n".join(html.unescape(k) for k in re.findall(r"<Key>([^<]+)</Key>", sys.stdin.read())))'
}
stop_processor() {
  local pid=$1
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_processor "$pid_a"; stop_processor "$pid_b"
  pg -c "DELETE FROM report_ids WHERE id IN (SELECT id FROM reports WHERE source = '$src');
         DELETE FROM reports WHERE source = '$src'; DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1
  for k in $(s3_keys "$prefix/" 2>/dev/null); do s3 DELETE "/$k" -o /dev/null 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
[[ -n ${OPS_KEEP:-} ]] && trap - EXIT  # OPS_KEEP=1: keep rows, schema, objects and $work to debug

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_processor() {  # start_processor NAME TOPIC PG_URL S3_PREFIX -> sets started_pid
  local name=$1 topic=$2 url=$3 s3prefix=$4 port; port=$(free_port)
  # Alerts off: this test is about the archive and PostgreSQL, and replayed
  # reports must not reach other tests' subscriptions.
  SAFESTREAM_PG_URL="$url" SAFESTREAM_ALERTS_ENABLED=false "$build/processor/safestream-processor" \
    --raw-topic "$topic" --group-id "ops-replay-$name-$tag" \
    --enriched-topic "ops.replay.$tag.enriched" --dlq-topic "ops.replay.$tag.dlq" \
    --s3-prefix "$s3prefix" --s3-rotate-interval 1 --metrics-port "$port" >"$work/processor-$name.log" 2>&1 &
  started_pid=$!
  for _ in $(seq 300); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
    kill -0 "$started_pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -5 "$work/processor-$name.log" >&2
  die "processor $name did not start"
}
# wait_count SECONDS EXPECTED SQL: polls until the query answers EXPECTED.
wait_count() {
  local secs=$1 want=$2 sql=$3 got="" deadline=$((SECONDS + $1))
  while ((SECONDS < deadline)); do
    got=$(pg -c "$sql" 2>/dev/null)
    [[ $got == "$want" ]] && return 0
    sleep 0.5
  done
  echo "waited ${secs}s for $want, last answer: ${got:-none}" >&2
  return 1
}

# --- 1. the original run: import -> processor A -> PostgreSQL + S3 archive ----
head -n $((rows + 1)) "$root/data/chicago_crimes_2014_sample.csv" > "$work/sample.csv"
"$build/ingest/safestream-ingest" import --file "$work/sample.csv" --format chicago --source "$src" \
  --topic "$topic_a" --state-dir "$work/ingest-state" >"$work/import.json" 2>"$work/import.log" \
  || { tail -5 "$work/import.log" >&2; die "ingest import failed"; }
published=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["published"])' <"$work/import.json")
check "ingest published rows of the sample (got $published)" test "$published" -gt 0

start_processor a "$topic_a" "$SAFESTREAM_PG_URL" "$prefix/archive"; pid_a=$started_pid
wait_count 180 "$published" "SELECT count(*) FROM reports WHERE source = '$src'" \
  || die "processor A did not write $published rows for $src (log: $(tail -3 "$work/processor-a.log"))"
# Every archived line is there once the objects cover all of them.
archived_lines() {
  local n=0 k
  for k in $(s3_keys "$prefix/archive/"); do
    [[ $k == *.ndjson.gz ]] || continue
    s3 GET "/$k" -o "$work/obj.gz" || return 1
    n=$((n + $(gunzip -c "$work/obj.gz" | grep -c .)))
  done
  echo "$n"
}
deadline=$((SECONDS + 120))
until [[ $(archived_lines) == "$published" ]] || ((SECONDS > deadline)); do sleep 0.5; done
check "the archive holds one line per report ($(archived_lines) of $published)" test "$(archived_lines)" = "$published"
stop_processor "$pid_a"; pid_a=""

# --- 2. an empty database -------------------------------------------------------
pg -c "CREATE SCHEMA $schema" >/dev/null || die "cannot create schema $schema"
"$build/core/safestream-migrate" --pg-url "$replay_url" --dir "$root/schemas/sql" >"$work/migrate.log" 2>&1 \
  || { cat "$work/migrate.log" >&2; die "migrations into $schema failed"; }
check "the replay schema starts empty" test "$(pg -c "SELECT count(*) FROM $schema.reports")" = 0

# --- 3. replay: archive -> topic B -> processor B -> empty schema -------------
# Each archive object names its source partition and offsets
# (<topic>-<partition>-<first>-<last>.ndjson.gz): produce every line back into
# the same partition number, in offset order, keyed by id.
mkdir -p "$work/objects"
for k in $(s3_keys "$prefix/archive/"); do
  [[ $k == *.ndjson.gz ]] || continue
  s3 GET "/$k" -o "$work/objects/$(basename "$k")" || die "cannot download $k"
done
python3 - "$work/objects" "$work" <<'PY' || die "cannot split the archive by partition"
import gzip, json, os, re, sys
objects, out = sys.argv[1], sys.argv[2]
parts = {}
for name in os.listdir(objects):
    m = re.search(r"-(\d+)-(\d+)-(\d+)\.ndjson\.gz$", name)
    if not m:
        sys.exit(f"unexpected archive object name {name}")
    parts.setdefault(int(m.group(1)), []).append((int(m.group(2)), name))
for p, objs in parts.items():
    with open(os.path.join(out, f"partition-{p}.tsv"), "w") as f:
        for _, name in sorted(objs):
            for line in gzip.open(os.path.join(objects, name), "rt"):
                if line.strip():
                    f.write(json.loads(line)["id"] + "\t" + line.strip() + "\n")
PY
for f in "$work"/partition-*.tsv; do
  p=${f##*partition-}; p=${p%.tsv}
  kcat -P -b "$SAFESTREAM_KAFKA_BOOTSTRAP" -t "$topic_b" -p "$p" -K $'\t' < "$f" || die "kcat could not produce $f"
done
start_processor b "$topic_b" "$replay_url" "$prefix/replay"; pid_b=$started_pid
wait_count 180 "$published" "SELECT count(*) FROM $schema.reports WHERE source = '$src'" \
  || fail "processor B did not write $published rows into $schema (log: $(tail -3 "$work/processor-b.log"))"
stop_processor "$pid_b"; pid_b=""

# --- 4. the same rows -------------------------------------------------------------
# duplicate_of is compared as pairs: which of two near-duplicates links to the
# other depends on the order the processor saw them, and Kafka orders records
# only within a partition, so a replay may link a pair the other way round.
cols="id, source, source_id, raw_type, raw_code, category, severity, description, occurred_at, reported_at,
      ingested_at, time_zone, lat, lon, address, url, arrest, cell_l10, cell_l13, cell_l16, neighbourhood,
      local_hour, local_weekday"
differ() {  # differ A B: rows of A (schema) missing from B
  pg -c "SELECT count(*) FROM (SELECT $cols FROM $1.reports WHERE source = '$src'
         EXCEPT SELECT $cols FROM $2.reports WHERE source = '$src') d"
}
only_orig=$(differ public "$schema"); only_replay=$(differ "$schema" public)
check "every original row is reproduced by the replay ($only_orig differ)" test "$only_orig" = 0
check "the replay adds no other row ($only_replay differ)" test "$only_replay" = 0
if [[ $only_orig != 0 ]]; then
  pg -c "SELECT 'original', $cols FROM public.reports WHERE source = '$src'
         EXCEPT SELECT 'original', $cols FROM $schema.reports WHERE source = '$src' LIMIT 2" >&2
fi
pairs() {
  pg -c "SELECT string_agg(p, ',' ORDER BY p) FROM (SELECT least(id, duplicate_of)::text || '~' || greatest(id, duplicate_of)::text AS p
         FROM $1.reports WHERE source = '$src' AND duplicate_of IS NOT NULL) x"
}
pairs_orig=$(pairs public); pairs_replay=$(pairs "$schema")
check "the replay links the same near-duplicate pairs ($(tr ',' '\n' <<<"$pairs_orig" | grep -c .) pairs)" \
  test "$pairs_orig" = "$pairs_replay"
parts=$(pg -c "SELECT count(*) FROM pg_inherits WHERE inhparent = '$schema.reports'::regclass
               AND inhrelid::regclass::text LIKE '%reports_2014_%'")
check "the replay filled monthly partitions of the schema (2014 partitions: $parts)" test "${parts:-0}" -ge 1
finish

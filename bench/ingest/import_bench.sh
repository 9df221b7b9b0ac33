#!/usr/bin/env bash
# Import throughput and memory of `safestream-ingest import` against the local
# stack's Kafka: builds CSVs of 1x, 10x and 40x the Chicago sample (unique IDs
# per copy), imports each into a scratch topic and prints a table. Memory
# should stay flat as the file grows (the import streams).
# Usage: bench/ingest/import_bench.sh   (stack up; SAFESTREAM_ENV_FILE / _BUILD_DIR honoured)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
sample="$root/data/chicago_crimes_2014_sample.csv"
topic="bench.ingest.$(date +%s)"

make_csv() {  # make_csv COPIES OUT: the sample repeated with IDs made unique per copy
  head -1 "$sample" > "$2"
  for ((i = 0; i < $1; i++)); do tail -n +2 "$sample" | sed "s/^\([0-9]*\),/\1$i,/"; done >> "$2"
}

printf '%-7s %9s %9s %9s %11s %9s %11s\n' copies rows MB seconds rows/s MB/s maxRSS_MB
for copies in 1 10 40; do
  csv="$work/chicago_x$copies.csv"
  make_csv "$copies" "$csv"
  mb=$(awk -v b="$(stat -c %s "$csv")" 'BEGIN { printf "%.1f", b / 1048576 }')
  out=$(/usr/bin/time -f 'RSS %M' "$build/ingest/safestream-ingest" import --file "$csv" --topic "$topic" \
          --state-dir "$work/state" --source "bench.x$copies" 2>"$work/err" | tail -1)
  rss=$(awk '/^RSS/ { printf "%.1f", $2 / 1024 }' "$work/err")
  rows=$(sed -E 's/.*"rows":([0-9]+).*/\1/' <<<"$out")
  secs=$(sed -E 's/.*"seconds":([0-9.]+).*/\1/' <<<"$out")
  printf '%-7s %9s %9s %9s %11.0f %9.1f %11s\n' "$copies" "$rows" "$mb" "$secs" \
    "$(awk -v r="$rows" -v s="$secs" 'BEGIN { print r / s }')" "$(awk -v m="$mb" -v s="$secs" 'BEGIN { print m / s }')" "$rss"
done

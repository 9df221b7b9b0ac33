#!/usr/bin/env bash
# Matching benchmark of the alerting cell index: 1k, 100k and 1M
# subscriptions, one thread, reports/s for three workloads and the memory
# per subscription (RSS growth / subscriptions). Prints a table.
#   bench/alerting/run.sh [reports per workload, default 2000000]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
reports="${1:-2000000}"
cmake --build "$build" --target alerting_match_bench >/dev/null
bin="$build/bench/alerting/alerting_match_bench"
printf '%-13s %10s %12s %14s %14s %14s %12s %12s\n' subscriptions build_s bytes/sub \
  "none rep/s" "us rep/s" "city rep/s" "us match/r" "city match/r"
for n in 1000 100000 1000000; do
  line="$("$bin" "$n" "$reports")"
  get() { sed -n "s/.*\b$1=\([^ ]*\).*/\1/p" <<<"$line"; }
  printf '%-13s %10.2f %12s %14s %14s %14s %12.3f %12.3f\n' "$(get subscriptions)" "$(get build_s)" \
    "$(get bytes_per_sub)" "$(get none_per_s)" "$(get us_per_s)" "$(get city_per_s)" \
    "$(get us_matches_per_report)" "$(get city_matches_per_report)"
done
echo "(one thread on $(nproc) cores shared with other work; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"

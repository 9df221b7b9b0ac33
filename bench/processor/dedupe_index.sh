#!/usr/bin/env bash
# The shared near-duplicate index alone (processor/redis_duplicate_index.h)
# against the stack's Redis: BENCH_COUNT synthetic Chicago reports (those of
# bench/processor/run.sh, nearly all roots) decided in batches of
# BENCH_BATCH, beside the same key operations sent as plain pipelined
# commands (GET and SET of the record, HGETALL of each bucket the script
# reads, HSET and EXPIRE of the root's bucket): the raw speed of the server
# underneath the script. Redis main-thread CPU per report from INFO cpu.
# Prints a table. Not a test: numbers depend on the machine.
#
#   deploy/local/stack.sh up && bench/processor/dedupe_index.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
bench="$build/processor/safestream-processor-bench"
[[ -x $bench ]] || { echo "bench: $bench is not built" >&2; exit 1; }
# A database of its own, as run.sh's; the bench deletes its keys afterwards.
redis="$(echo "$SAFESTREAM_REDIS_URL" | sed -E 's#^(redis://[^/]+).*#\1#')/13"
out=$("$bench" dedupe-index --redis-url "$redis" --count "${BENCH_COUNT:-100000}" --batch "${BENCH_BATCH:-1000}")
get() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$1'])" "$out"; }
printf '\n| measure | index script (EVALSHA per report) | plain commands, same keys | ratio script / plain |\n|---|---|---|---|\n'
printf '| Redis main-thread CPU per report | %s µs | %s µs | **%s** |\n' "$(get index_redis_us_per_report)" \
  "$(get plain_redis_us_per_report)" \
  "$(python3 -c "print(f'{$(get index_redis_us_per_report) / $(get plain_redis_us_per_report):.2f}')")"
printf '| reports per second, one connection | %s | %s | %s |\n' "$(get index_per_second)" "$(get plain_per_second)" \
  "$(python3 -c "print(f'{$(get index_per_second) / $(get plain_per_second):.2f}')")"
printf '| reports / near-duplicates linked | %s / %s | | |\n' "$(get reports)" "$(get duplicates)"

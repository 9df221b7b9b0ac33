#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, only the parser sources
# they need; bench/fuzz/CMakeLists.txt) and runs each for a while, then
# prints a table: target, executions, executions per second, corpus size,
# crashes.
#
#   bench/fuzz/run.sh [seconds per target, default 60] [target ...]
#   (SAFESTREAM_FUZZ_JOBS targets at a time, default 1; each with
#   SAFESTREAM_FUZZ_WORKERS fuzzing processes, default the cores left per
#   target, which share the target's corpus directory)
#
# Seeds come from data/ and the repository's config files (seeds.py); the
# inputs of past findings in bench/fuzz/regressions/<target>/ run first.
# The corpus each run grows is kept in $SAFESTREAM_FUZZ_BUILD_DIR/corpus
# (default build-fuzz/), so later runs start from it. Needs clang and
# libclang-rt (deploy/local/install-deps.sh). Exits non-zero on any crash,
# leak, timeout or sanitizer report; the input is kept in
# $SAFESTREAM_FUZZ_BUILD_DIR/artifacts/<target>/ and the log beside it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
shift || true
build="${SAFESTREAM_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${SAFESTREAM_BUILD_JOBS:-2}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

build_start=$(date +%s)
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$jobs" >"$build/build.log" 2>&1 || { tail -40 "$build/build.log" >&2; exit 1; }
build_s=$(( $(date +%s) - build_start ))

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(sed -n '/^set(SAFESTREAM_FUZZ_TARGETS/,/)/p' "$here/CMakeLists.txt" | tr ' ()' '\n\n\n' |
                          grep -vE '^(set|SAFESTREAM_FUZZ_TARGETS|)$')
fi

rm -rf "$build/seeds"
python3 "$here/seeds.py" "$root" "$build/seeds"

# SAFESTREAM_FUZZ_JOBS targets at a time (default 1), each fuzzed by
# SAFESTREAM_FUZZ_WORKERS processes (default: the cores / the targets at a
# time) through libFuzzer's -jobs/-workers: each process writes what it finds
# into the target's corpus directory and reads the others' finds every
# 60 s (-reload; every second, the default, gave 1.54x one process's executions
# instead of 1.83x on a corpus of 6,600 inputs). A target's executions are
# all its processes'. Each target writes its row to rows/<target>, in the
# targets' order.
par="${SAFESTREAM_FUZZ_JOBS:-1}"
workers="${SAFESTREAM_FUZZ_WORKERS:-$(( $(nproc) / par ))}"
((workers >= 1)) || workers=1
rm -rf "$build/rows"
mkdir -p "$build/rows"
fuzz_one() {
  local t="$1" bin="$build/fuzz_$1" corpus="$build/corpus/$1" artifacts="$build/artifacts/$1"
  mkdir -p "$corpus" "$artifacts" "$build/seeds/$t"
  local dirs=("$corpus" "$build/seeds/$t")
  [[ -d $here/regressions/$t ]] && dirs+=("$here/regressions/$t")
  # One log per process: run.log, or (with several) fuzz-<n>.log, which
  # libFuzzer writes into the directory it runs in.
  rm -f "$artifacts"/run.log "$artifacts"/fuzz-*.log
  local rc=0 multi=()
  ((workers > 1)) && multi=(-jobs="$workers" -workers="$workers" -reload=60)
  # -timeout: one input taking over 10 s is a finding (a hang); rss limit
  # likewise for memory. -max_len 64 KB lets JSON grow deep enough.
  (cd "$artifacts" && "$bin" "${multi[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
     -rss_limit_mb=2048 -max_len=65536 -artifact_prefix="$artifacts/" "${dirs[@]}" >"$artifacts/run.log" 2>&1) || rc=$?
  local logs=("$artifacts/run.log")
  ((workers > 1)) && logs=("$artifacts"/fuzz-*.log)
  local execs crashes
  execs=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^stat::number_of_executed_units: *//p' | awk '{n += $1} END {print n + 0}')
  crashes=$(find "$artifacts" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  if ((rc != 0 && crashes == 0)); then crashes=1; fi  # a sanitizer report without an artifact still counts
  ((crashes == 0)) || echo "fuzz_$t: $(cat "${logs[@]}" | grep -m1 -E 'ERROR|violated|deadly|timeout|leak')  (logs: ${logs[*]})" >&2
  printf '| %-15s | %12s | %8s | %6s | %7s |\n' "$t" "$execs" "$(( execs / seconds ))" \
    "$(find "$corpus" -type f | wc -l)" "$crashes" >"$build/rows/$t"
  echo "$crashes" >"$build/rows/$t.crashes"
}
for t in "${targets[@]}"; do
  [[ -x $build/fuzz_$t ]] || { echo "no fuzz target '$t' (built: $(cd "$build" && ls fuzz_* | tr '\n' ' '))" >&2; exit 2; }
done
for t in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= par)); do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=0
rows=()
for t in "${targets[@]}"; do
  row="$(cat "$build/rows/$t")"
  rows+=("$row")
  [[ $(cat "$build/rows/$t.crashes") == 0 ]] || failed=1
done

echo
echo "fuzzing: ${seconds} s per target, $par at a time, $workers processes each, build ${build_s} s (clang $(clang++ -dumpversion), ASan+UBSan)"
echo "| target          |   executions |   exec/s | corpus | crashes |"
echo "|-----------------|--------------|----------|--------|---------|"
printf '%s\n' "${rows[@]}"
exit "$failed"

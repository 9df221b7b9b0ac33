#!/usr/bin/env bash
# promtool over deploy/prometheus/rules: `check` lints every rule file,
# `test` runs the rule unit tests (tests/ops/rules/*_test.yml, input series
# and the alerts they must and must not fire).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
command -v promtool >/dev/null || { echo "FAIL: promtool is not installed (Debian package prometheus)" >&2; exit 1; }
shopt -s nullglob
rules=("$root"/deploy/prometheus/rules/*.yml)
((${#rules[@]})) || { echo "FAIL: no rule files in deploy/prometheus/rules" >&2; exit 1; }
case "${1:-}" in
  check) promtool check rules "${rules[@]}" ;;
  test)
    tests=("$here"/rules/*_test.yml)
    ((${#tests[@]})) || { echo "FAIL: no rule tests in tests/ops/rules" >&2; exit 1; }
    # Every rule file must have a test file that loads it.
    for r in "${rules[@]}"; do
      grep -qs "$(basename "$r")" "${tests[@]}" || { echo "FAIL: no test loads $(basename "$r")" >&2; exit 1; }
    done
    # Every alert must be tested: its name appears in some test's expectations.
    for a in $(grep -ho '^ *- *alert: *[A-Za-z0-9_]*' "${rules[@]}" | sed 's/.*alert: *//'); do
      grep -qs "alertname: *$a\b" "${tests[@]}" || { echo "FAIL: alert $a has no promtool test" >&2; exit 1; }
    done
    promtool test rules "${tests[@]}"
    ;;
  *) echo "usage: $0 check|test" >&2; exit 2 ;;
esac

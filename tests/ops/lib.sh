# Shared helpers of the shell tests in tests/ops/ (sourced, not run).
# Every check records a failure and the test exits non-zero at the end, so one
# run reports every broken expectation, not just the first.

ops_failures=0
ops_checks=0

fail() { echo "FAIL: $*" >&2; ops_failures=$((ops_failures + 1)); }
pass() { ops_checks=$((ops_checks + 1)); [[ -z ${OPS_VERBOSE:-} ]] || echo "ok: $*"; }
check() {  # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
  local what=$1; shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
finish() {
  if ((ops_failures > 0)); then
    echo "$ops_failures of $((ops_checks + ops_failures)) checks failed" >&2
    exit 1
  fi
  if ((ops_checks == 0)); then echo "FAIL: no check ran" >&2; exit 1; fi
  echo "all $ops_checks checks passed"
}

# load_stack_env: exports the stack's variables (process environment first,
# then SAFESTREAM_ENV_FILE, then deploy/local/.env), like tests/support/stack_env.
load_stack_env() {
  local root; root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
  local f="${SAFESTREAM_ENV_FILE:-$root/deploy/local/.env}"
  [[ -f $f ]] || return 0
  local line name
  while IFS= read -r line; do
    [[ $line =~ ^(SAFESTREAM_[A-Z0-9_]+)=(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    [[ -n ${!name:-} ]] || export "$name=${BASH_REMATCH[2]}"
  done < "$f"
}

# require_env NAME...: a missing server is a failure, never a skip.
require_env() {
  local n
  for n in "$@"; do
    if [[ -z ${!n:-} ]]; then
      echo "FAIL: $n is not set (start the stack: deploy/local/stack.sh up)" >&2
      exit 1
    fi
  done
}

# A random lowercase tag, to scope what a test writes.
unique_tag() { head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

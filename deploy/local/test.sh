#!/usr/bin/env bash
# One command: install, build (warnings as errors), start the local stack, run
# every test (unit and integration), stop the stack; non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
"$here/install-deps.sh"
"$here/build.sh" -DSAFESTREAM_WERROR=ON
trap '"$here/stack.sh" down' EXIT
"$here/stack.sh" up
cd "$build"
ctest --output-on-failure --timeout 900 -j "${SAFESTREAM_TEST_JOBS:-1}" "$@"

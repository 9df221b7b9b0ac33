#!/usr/bin/env bash
# Configures and builds SafeStream (Ninja, ccache when present). Extra
# arguments go to cmake's configure step, e.g. -DSAFESTREAM_SANITIZE=ON.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
jobs="${SAFESTREAM_BUILD_JOBS:-$(nproc)}"
# Let clones at different paths share ccache entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" "$@" >/dev/null
cmake --build "$build" -j "$jobs"

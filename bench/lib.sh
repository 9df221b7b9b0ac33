# Sourced by the bench scripts that run against the local stack: the source
# and build folders, the stack's environment, small helpers.
# Honours SAFESTREAM_BUILD_DIR and SAFESTREAM_ENV_FILE.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
env_file="${SAFESTREAM_ENV_FILE:-$root/deploy/local/.env}"
[[ -f $env_file ]] || { echo "bench: $env_file missing; run deploy/local/stack.sh up" >&2; exit 1; }
set -a; source "$env_file"; set +a

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# cpu_ticks PID...: user + system CPU of the processes (all threads), in clock ticks.
cpu_ticks() { local t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }

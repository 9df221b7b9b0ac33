#!/usr/bin/env bash
# Stops every daemon and the local stack; data stays in .run/ for next time.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/demo.sh" stop || true
if [[ -f "${SAFESTREAM_ENV_FILE:-$here/.env}" ]]; then "$here/daemons.sh" stop || true; fi
"$here/stack.sh" down

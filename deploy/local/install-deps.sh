#!/usr/bin/env bash
# Installs every Debian and npm package SafeStream needs. Idempotent and quiet
# when everything is already there. Run as root on Debian 12.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

debs=(
  # build
  build-essential cmake ninja-build ccache pkg-config git
  # libraries
  librdkafka-dev libpqxx-dev libhiredis-dev prometheus-cpp-dev libcpprest-dev libboost-dev
  libboost-system-dev libs2-dev libabsl-dev libcurl4-openssl-dev libssl-dev zlib1g-dev
  nlohmann-json3-dev libsimdjson-dev libspdlog-dev libcli11-dev libgtest-dev libgmock-dev libjemalloc-dev
  # servers and tools of the local stack
  postgresql-15 postgresql-client-15 redis-server redis-tools prometheus kcat curl tzdata
  util-linux procps iproute2 wrk nginx-light
  # tests/ops (deployment-file and dashboard checks)
  python3-yaml
  # tests/browser and bench/web: the web app in a real browser (puppeteer-core
  # drives this one; it never downloads a browser of its own)
  chromium
  # bench/fuzz: libFuzzer targets with ASan+UBSan (Debian 12's clang is 14)
  clang libclang-rt-14-dev libfuzzer-14-dev
)

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The Debian postgresql package may start a cluster of its own on 5432; we do
# not use it (the stack runs its own on a project port), so leave it be.

if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing nodejs and npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# npm packages, pinned by each folder's package-lock.json; reinstalled only
# when that lock changes: the local stack's tools (s3rver) and the web app's
# libraries and browser-test drivers (web/).
npm_ci() {
  local dir=$1 what=$2
  local stamp="$dir/node_modules/.lock-sha256"
  local want; want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "install-deps: npm ci ($what)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
  fi
}
npm_ci "$here" "s3rver"
npm_ci "$root/web" "web app: leaflet, chart.js, puppeteer-core, axe-core"

#!/usr/bin/env bash
# Live test of the Grafana dashboards (Grafana itself cannot run here): with
# the three daemons running and data flowing, every Prometheus query of every
# panel must return data from the live Prometheus, and every SQL query must
# return rows when run as the analyst role. A panel that would be empty fails.
#
# Data it makes flow, all real except the SpotCrime HTTP endpoint (no
# internet here), which is a local file server returning the real sample:
#   - ingest daemon polling that endpoint (ingest rate, last success, one
#     broken record rejected);
#   - `safestream-ingest replay` of the Chicago sample re-timed towards now
#     (processor throughput, sinks, reports in PostgreSQL, alerts);
#   - an alert subscription around Chicago, citizen API requests (good and
#     bad), and one malformed message on reports.raw (DLQ).
# Needs the stack (deploy/local/stack.sh up, which starts Prometheus) and the
# daemons NOT running yet: it starts them with its own ingest sources and
# stops them at the end.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/lib.sh"
load_stack_env
require_env SAFESTREAM_PROMETHEUS_URL SAFESTREAM_PG_URL SAFESTREAM_ANALYST_PG_URL SAFESTREAM_KAFKA_BOOTSTRAP SAFESTREAM_RUN_DIR
build="${SAFESTREAM_BUILD_DIR:-$root/build}"
deadline="${SAFESTREAM_DASHBOARD_DEADLINE:-240}"
daemons="$root/deploy/local/daemons.sh"

die() { echo "FAIL: $*" >&2; exit 1; }
curl -sf -o /dev/null "$SAFESTREAM_PROMETHEUS_URL/-/ready" || die "Prometheus at $SAFESTREAM_PROMETHEUS_URL is not ready"
for b in ingest/safestream-ingest processor/safestream-processor api/safestream-api; do
  [[ -x $build/$b ]] || die "$build/$b is not built"
done
if "$daemons" status | grep -q ' up$'; then
  die "daemons are already running ($("$daemons" status | tr '\n' ' ')); stop them (deploy/local/daemons.sh stop): this test starts them with its own ingest sources"
fi

tag=$(unique_tag)
work=$(mktemp -d)
fake_pid="" replay_pid="" traffic_pid=""
sub_id="" sub_token=""
cleanup() {
  for p in $traffic_pid $replay_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [[ -n $sub_id ]] && curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $sub_token" \
    "$SAFESTREAM_API_URL/v1/subscriptions/$sub_id"
  "$daemons" stop >/dev/null 2>&1
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# --- a SpotCrime endpoint serving the real sample plus one broken record ----
mkdir -p "$work/www" "$work/state"
python3 - "$root/data/spotcrime_austin_2015_sample.json" "$work/www/crimes.json" "$tag" <<'PY'
import datetime, json, sys, zoneinfo
d = json.load(open(sys.argv[1]))
# Re-timed to the last hours (local time of the area, the feed's format), so
# the poll's look-back window takes them.
now = datetime.datetime.now(zoneinfo.ZoneInfo("America/Chicago"))
for i, c in enumerate(d["crimes"]):
    c["date"] = (now - datetime.timedelta(minutes=2 * i + 5)).strftime("%m/%d/%y %I:%M %p")
d["crimes"].append({"cdid": "broken-" + sys.argv[3], "lon": -97.7, "lat": 30.3, "address": "1 TEST ST",
                    "link": "http://example.invalid", "date": "not a date", "type": "Theft"})
json.dump(d, open(sys.argv[2], "w"))
PY
fake_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/www" "$fake_port" >"$work/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$fake_port/crimes.json" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$fake_port/crimes.json" || die "the fake SpotCrime endpoint did not start"
cat > "$work/ingest.json" <<JSON
{"sources": [{"name": "austin-ops-test", "type": "spotcrime", "base_url": "http://127.0.0.1:$fake_port",
  "key_env": "SAFESTREAM_OPS_TEST_SPOTCRIME_KEY", "poll_interval_s": 10,
  "retry": {"max_attempts": 1},
  "areas": [{"name": "austin", "lat": 30.27, "lon": -97.74, "radius": 10, "time_zone": "America/Chicago"}]}]}
JSON

# --- the daemons ----------------------------------------------------------------
# A daemon stopped a moment ago (a previous run) leaves its ports in TIME_WAIT,
# and the metrics listener binds without SO_REUSEADDR: wait until they bind.
off=${SAFESTREAM_PORT_OFFSET:-0}
python3 - $((58080 + off)) $((59101 + off)) $((59102 + off)) $((59103 + off)) <<'PY' || die "the daemons' ports stay busy"
import socket, sys, time
deadline = time.monotonic() + 120
for port in map(int, sys.argv[1:]):
    while True:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
            break
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"127.0.0.1:{port} is still in use")
            time.sleep(1)
        finally:
            s.close()
PY
export SAFESTREAM_INGEST_CONFIG="$work/ingest.json" SAFESTREAM_INGEST_STATE_DIR="$work/state" \
       SAFESTREAM_OPS_TEST_SPOTCRIME_KEY="ops-test"
"$daemons" start || die "the daemons did not start (logs: $SAFESTREAM_RUN_DIR/logs/)"
load_stack_env  # SAFESTREAM_API_URL, written by daemons.sh
SAFESTREAM_API_URL=$(grep '^SAFESTREAM_API_URL=' "${SAFESTREAM_ENV_FILE:-$root/deploy/local/.env}" | cut -d= -f2-)
require_env SAFESTREAM_API_URL

# --- data -----------------------------------------------------------------------
# A subscription covering central Chicago, so the replayed reports alert.
resp=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"area": {"type": "circle", "lat": 41.8781, "lon": -87.6298, "radius_m": 20000}, "min_severity": 1}' \
  "$SAFESTREAM_API_URL/v1/subscriptions")
code=${resp##*$'\n'}; body=${resp%$'\n'*}
# Failures while feeding data are reported, and the panels are still checked
# so one run shows everything that is wrong.
if [[ $code == 201 ]]; then
  sub_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' <<<"$body")
  sub_token=$(python3 -c 'import json,sys; print(json.load(sys.stdin).get("token", ""))' <<<"$body")
else
  fail "POST /v1/subscriptions answered $code: $body (the alert panels need a subscription)"
fi

# Citizen API traffic: a search, a bad request (4xx panel), a good report.
curl -s -o /dev/null "$SAFESTREAM_API_URL/v1/reports?limit=5"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"category": 1}' \
  "$SAFESTREAM_API_URL/v1/reports")
check "a bad citizen report is answered 4xx (got $code)" test "${code:0:1}" = 4
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d "{\"category\": \"theft\", \"description\": \"ops dashboard test $tag\", \"lat\": 41.88, \"lon\": -87.63, \"occurred_at\": \"$now\"}" \
  "$SAFESTREAM_API_URL/v1/reports")
check "a valid citizen report is answered 202 (got $code)" test "$code" = 202

# One malformed message: the processor must dead-letter it with a reason.
printf 'ops-dashboard-test-%s:{"not": "a report"\n' "$tag" | \
  kcat -P -b "$SAFESTREAM_KAFKA_BOOTSTRAP" -t reports.raw -K : || fail "kcat could not produce to reports.raw"

# The Chicago sample, re-timed towards now (the last record occurs now), once
# quickly so PostgreSQL has a full sample, then in a loop while the panels are
# checked, so rates stay above zero as on a live system.
"$build/ingest/safestream-ingest" replay --chicago-file "$root/data/chicago_crimes_2014_sample.csv" \
  --speedup 2000000 >"$work/replay.log" 2>&1 || { tail -5 "$work/replay.log" >&2; fail "ingest replay failed"; }
"$build/ingest/safestream-ingest" replay --chicago-file "$root/data/chicago_crimes_2014_sample.csv" \
  --speedup 20000 --loop >>"$work/replay.log" 2>&1 &
replay_pid=$!
# Citizens reading reports, one request a second.
( while true; do curl -s -o /dev/null "$SAFESTREAM_API_URL/v1/reports?limit=5"; sleep 1; done ) &
traffic_pid=$!

# --- every panel has data ---------------------------------------------------------
check "every panel query has data" python3 "$here/dashboards_live_check.py" "$root/grafana/dashboards" "$deadline"

# The live Prometheus loaded every rule file of deploy/prometheus/rules and
# evaluates every rule without error against the daemons' real series.
rules_state=$(curl -sf "$SAFESTREAM_PROMETHEUS_URL/api/v1/rules" | python3 -c '
import glob, json, sys, yaml
want = {r.get("alert") or r.get("record") for f in glob.glob(sys.argv[1] + "/*.yml")
        for g in yaml.safe_load(open(f))["groups"] for r in g["rules"]}
rules = [r for g in json.load(sys.stdin)["data"]["groups"] for r in g["rules"]]
bad = [r["name"] + ": " + str(r.get("lastError")) for r in rules if r.get("health") not in ("ok", "unknown")]
missing = sorted(want - {r["name"] for r in rules})
print("; ".join(bad + [f"{m}: not loaded" for m in missing]) or "ok")' "$root/deploy/prometheus/rules")
check "Prometheus evaluates every SafeStream rule without error ($rules_state)" test "$rules_state" = ok

# Each daemon's live /metrics (families filled by the traffic above) passes
# promtool's exposition lint (names, units, HELP/TYPE), as a scrape linted
# in CI would check it.
lint_metrics() {  # lint_metrics NAME URL
  local text out
  text=$(curl -sf "$2") || { echo "$1: $2 did not answer" >&2; return 1; }
  [[ $text == *"# TYPE safestream_"* ]] || { echo "$1: no safestream_ family in /metrics" >&2; return 1; }
  out=$(promtool check metrics <<<"$text" 2>&1) || { echo "$1: $out" >&2; return 1; }
}
for d in INGEST PROCESSOR API; do
  var="SAFESTREAM_${d}_METRICS_URL"
  url=$(grep "^$var=" "${SAFESTREAM_ENV_FILE:-$root/deploy/local/.env}" | cut -d= -f2-)
  check "promtool check metrics passes on the live ${d,,} /metrics ($url)" lint_metrics "${d,,}" "$url"
done
finish

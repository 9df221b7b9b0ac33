#!/usr/bin/env bash
# One command: install, build, start the local stack and every daemon in the
# background, stream the demo data, print where everything is, and return.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
"$here/install-deps.sh"
echo "up: building (first build takes a few minutes on 2 cores)"
"$here/build.sh" >/dev/null
"$here/stack.sh" up
"$here/daemons.sh" start
[[ -x "$here/demo.sh" ]] && "$here/demo.sh"
set -a; source "${SAFESTREAM_ENV_FILE:-$here/.env}"; set +a
subs="$SAFESTREAM_RUN_DIR/demo-subscriptions.tsv"
# The web app's address; with the demo's subscriptions in it (kept in the
# browser on first open), so "My alerts" shows their alerts at once.
web_url="$SAFESTREAM_API_URL/"
if [[ -s $subs ]]; then
  web_url+="#/map?"
  while IFS=$'\t' read -r name id token; do web_url+="add=$id:$token&name=$name&"; done < "$subs"
  web_url="${web_url%&}"
fi
cat <<INFO

SafeStream is running.
  web app          $web_url
                   (open it in a browser: map and list, report, get alerts, my alerts, dashboard)
  API              $SAFESTREAM_API_URL            (try: curl $SAFESTREAM_API_URL/healthz)
  metrics          $SAFESTREAM_INGEST_METRICS_URL  (ingest)
                   $SAFESTREAM_PROCESSOR_METRICS_URL  (processor)
                   $SAFESTREAM_API_METRICS_URL  (api)
  Prometheus       ${SAFESTREAM_PROMETHEUS_URL:-not configured}
  Kafka            $SAFESTREAM_KAFKA_BOOTSTRAP      (kcat -b $SAFESTREAM_KAFKA_BOOTSTRAP -L)
  S3               $SAFESTREAM_S3_ENDPOINT bucket $SAFESTREAM_S3_BUCKET
  analyst SQL      psql "\$(grep ^SAFESTREAM_ANALYST_PG_URL= $here/.env | cut -d= -f2-)"
  logs             tail -F $SAFESTREAM_RUN_DIR/logs/*.log
  environment      $here/.env
  stop everything  deploy/local/down.sh
INFO
if [[ -s $subs ]]; then
  echo
  echo "Demo subscriptions (alerts fire as the samples stream; the web app's link above adds them to \"My alerts\"):"
  echo "  report alerts: every one; digest: new-york-manhattan (5 an hour), chicago-city and philadelphia-city"
  echo "  (10 an hour) get the rest of each hour as one digest when the hour ends ($(date -u -d "@$(( ($(date +%s) / 3600 + 1) * 3600 ))" +%H:%M) UTC);"
  echo "  surge: chicago-city and philadelphia-city (Philadelphia's sample has a real burst, in the demo's last third)."
  while IFS=$'\t' read -r name id token; do
    echo "  $name: history  curl -H 'Authorization: Bearer $token' $SAFESTREAM_API_URL/v1/subscriptions/$id/alerts"
    echo "  $(printf '%*s' ${#name} '')  live     ws://${SAFESTREAM_API_URL#http://}/v1/subscriptions/$id/live?token=$token"
  done < "$subs"
fi

#!/usr/bin/env python3
"""Asks the live Prometheus and PostgreSQL every query of every Grafana panel.

Usage: dashboards_live_check.py DASHBOARD_DIR DEADLINE_SECONDS
Environment: SAFESTREAM_PROMETHEUS_URL, SAFESTREAM_ANALYST_PG_URL.

A Prometheus target passes when an instant query returns at least one sample
that is a number (NaN, e.g. a quantile of a histogram without observations,
counts as empty). A SQL target passes when it returns at least one row when
run as the analyst role, with Grafana's time macros filled in for the
dashboard's default range. Queries are retried until they pass or the
deadline passes (data is still flowing when this starts); then every target
that never passed is reported and the exit code is 1.
"""
import glob
import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request


def promql(expr):
    # What Grafana sends for these variables with a 5 s scrape interval.
    return expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")


def sql_for_range(q, time_from):
    m = re.match(r"now-(\d+)([smhdwy])$", time_from)
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks", "y": "years"}
    start = f"now() - interval '{m.group(1)} {units[m.group(2)]}'" if m else "'-infinity'::timestamptz"
    q = re.sub(r"\$__timeFilter\(([^)]+)\)", lambda mm: f"{mm.group(1)} BETWEEN {start} AND now()", q)
    q = re.sub(r"\$__timeFrom\(\)", start, q)
    q = re.sub(r"\$__timeTo\(\)", "now()", q)
    if "$__" in q:
        raise ValueError(f"unsupported Grafana macro in: {q}")
    return q


def prom_has_data(base, expr):
    url = base.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
    except Exception as e:  # noqa: BLE001 - report any transport error as "no data yet"
        return False, f"query failed: {e}"
    if body.get("status") != "success":
        return False, f"error: {body.get('error')}"
    data = body["data"]
    if data["resultType"] == "vector":
        values = [float(s["value"][1]) for s in data["result"]]
    elif data["resultType"] == "scalar":
        values = [float(data["result"][1])]
    else:
        values = []
    numbers = [v for v in values if not math.isnan(v)]
    return bool(numbers), f"{len(values)} series, {len(numbers)} with a number"


def sql_has_rows(url, q):
    out = subprocess.run(["psql", url, "-X", "-v", "ON_ERROR_STOP=1", "-qtA", "-c", q],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        return False, "error: " + out.stderr.strip()
    rows = [line for line in out.stdout.splitlines() if line.strip()]
    return bool(rows), f"{len(rows)} rows"


def main():
    dash_dir, deadline_s = sys.argv[1], float(sys.argv[2])
    prom = os.environ["SAFESTREAM_PROMETHEUS_URL"]
    pg = os.environ["SAFESTREAM_ANALYST_PG_URL"]
    pending = []  # (label, kind, query)
    for f in sorted(glob.glob(os.path.join(dash_dir, "*.json"))):
        d = json.load(open(f, encoding="utf-8"))
        time_from = d.get("time", {}).get("from", "now-6h")
        for p in d.get("panels", []):
            for t in p.get("targets", []):
                label = f"{os.path.basename(f)} / {p['title']} [{t.get('refId')}]"
                uid = (t.get("datasource") or p.get("datasource") or {}).get("uid", "")
                if "expr" in t:
                    pending.append((label, "prometheus", promql(t["expr"])))
                elif "rawSql" in t:
                    pending.append((label, "postgres", sql_for_range(t["rawSql"], time_from)))
                else:
                    pending.append((label, "unknown:" + uid, ""))
    if not pending:
        print("FAIL: no panel queries found", file=sys.stderr)
        return 1
    total = len(pending)
    last = {}
    deadline = time.monotonic() + deadline_s
    while pending:
        still = []
        for label, kind, q in pending:
            if kind == "prometheus":
                ok, why = prom_has_data(prom, q)
            elif kind == "postgres":
                ok, why = sql_has_rows(pg, q)
            else:
                ok, why = False, "target has neither expr nor rawSql"
            if ok:
                print(f"ok: {label} ({why})")
            else:
                still.append((label, kind, q))
                last[label] = why
        pending = still
        if not pending or time.monotonic() > deadline:
            break
        time.sleep(3)  # poll interval while waiting for scrapes (deadline above bounds the wait)
    for label, kind, q in pending:
        print(f"FAIL: empty panel: {label}: {last[label]}\n      query: {q}", file=sys.stderr)
    print(f"{total - len(pending)} of {total} panel queries have data")
    return 1 if pending else 0


if __name__ == "__main__":
    sys.exit(main())

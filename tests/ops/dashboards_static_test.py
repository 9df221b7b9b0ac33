#!/usr/bin/env python3
"""Static checks of the Grafana dashboards and the Prometheus rules (no servers).

- every dashboard parses, has a unique uid, and every panel uses a data source
  provisioned in grafana/provisioning/datasources/ and has queries;
- every PromQL expression of a panel parses (promtool check rules on a
  generated file) and every SQL query reads only the analyst views;
- every safestream_* metric a panel or an alert rule uses is exported by the
  code (a Name("safestream_...") or a metric-name string in ingest/,
  processor/, api/ or core/): a rule or panel on a metric nobody exports is a bug.

The live counterpart is dashboards_live_test.sh (every panel has data).
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

from checks import check, finish

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def grafana_to_promql(expr):
    """Grafana's interval variables as the live test and Grafana would fill them in."""
    return expr.replace("$__rate_interval", "1m").replace("$__interval", "15s").replace("$__range", "1h")


def exported_metrics():
    names = set()
    for folder in ("ingest", "processor", "api", "core"):
        for path in glob.glob(os.path.join(ROOT, folder, "**", "*.cc"), recursive=True) + \
                glob.glob(os.path.join(ROOT, folder, "**", "*.h"), recursive=True):
            text = open(path, encoding="utf-8", errors="replace").read()
            names |= set(re.findall(r'"(safestream_[a-z0-9_]+)"', text))
    return names


def metric_names(expr):
    """safestream_* names an expression reads (histogram suffixes removed)."""
    out = set()
    for n in re.findall(r"\b(safestream_[a-z0-9_]+)", expr):
        out.add(re.sub(r"_(bucket|count|sum)$", "", n))
    return out


def panels_of(dashboard):
    for p in dashboard.get("panels", []):
        yield p
        for q in p.get("panels", []):  # rows
            yield q


def main():
    exported = exported_metrics()
    check(len(exported) > 0, "no safestream_* metric found in the code")
    ds = yaml.safe_load(open(os.path.join(ROOT, "grafana/provisioning/datasources/safestream.yml")))
    uids = {d["uid"]: d["type"] for d in ds["datasources"]}
    provider = yaml.safe_load(open(os.path.join(ROOT, "grafana/provisioning/dashboards/safestream.yml")))
    check(provider["providers"][0]["options"]["path"] == "/etc/grafana/dashboards",
          "dashboard provider path is not where docker-compose mounts grafana/dashboards")

    files = sorted(glob.glob(os.path.join(ROOT, "grafana/dashboards/*.json")))
    check({os.path.basename(f) for f in files} >= {"pipeline.json", "alerts.json", "api.json", "analyst.json"},
          "the four dashboards (pipeline, alerts, api, analyst) are not all there")
    seen_uids = set()
    promql = []
    for f in files:
        name = os.path.basename(f)
        try:
            d = json.load(open(f, encoding="utf-8"))
        except ValueError as e:
            check(False, f"{name}: not JSON: {e}")
            continue
        check(d.get("uid") and d["uid"] not in seen_uids, f"{name}: missing or duplicate uid")
        seen_uids.add(d.get("uid"))
        ids = set()
        for p in panels_of(d):
            if p.get("type") == "row":
                continue
            title = f"{name} / {p.get('title')}"
            check(p.get("id") not in ids, f"{title}: duplicate panel id")
            ids.add(p.get("id"))
            targets = p.get("targets") or []
            check(len(targets) > 0, f"{title}: no queries")
            for t in targets:
                uid = (t.get("datasource") or p.get("datasource") or {}).get("uid")
                check(uid in uids, f"{title}: data source {uid!r} is not provisioned")
                if uids.get(uid) == "prometheus":
                    check(bool(t.get("expr")), f"{title}: Prometheus target without expr")
                    promql.append((title, grafana_to_promql(t.get("expr", ""))))
                    for m in metric_names(t.get("expr", "")):
                        check(m in exported, f"{title}: metric {m} is not exported by any daemon")
                elif uids.get(uid) == "postgres":
                    q = t.get("rawSql", "")
                    check(bool(q), f"{title}: PostgreSQL target without rawSql")
                    rels = re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][a-z0-9_.]*)", q, re.I)
                    check(len(rels) > 0 and all(r.startswith("analyst.") for r in rels),
                          f"{title}: SQL must read only analyst.* views (reads {rels})")

    # PromQL syntax: promtool parses every expression as a recording rule.
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as tmp:
        yaml.safe_dump({"groups": [{"name": "dashboards", "rules": [
            {"record": f"dashboard:panel_{i}", "expr": e} for i, (_, e) in enumerate(promql)]}]}, tmp)
    out = subprocess.run(["promtool", "check", "rules", tmp.name], capture_output=True, text=True)
    os.unlink(tmp.name)
    check(out.returncode == 0, "dashboard PromQL does not parse: " + out.stdout + out.stderr)

    # Alert and recording rules: only metrics the daemons export.
    for f in sorted(glob.glob(os.path.join(ROOT, "deploy/prometheus/rules/*.yml"))):
        for g in yaml.safe_load(open(f))["groups"]:
            for r in g["rules"]:
                for m in metric_names(r["expr"]):
                    check(m in exported, f"{os.path.basename(f)} {r.get('alert') or r.get('record')}: "
                                         f"metric {m} is not exported by any daemon")

    finish(f" ({len(promql)} PromQL expressions)")


if __name__ == "__main__":
    main()

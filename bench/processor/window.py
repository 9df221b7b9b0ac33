#!/usr/bin/env python3
"""Times a window of the processor's run for bench/processor/hotspot.sh.

Polls the processor's commit count (safestream_processor_ingest_to_commit_
seconds_count) every 50 ms and notes when it first reaches FROM and TO: the
rate over that window is the rate while the processor worked through those
messages (they were produced in that order, and the backlog drains about
in order across partitions).

usage: window.py METRICS_URL PROCESSOR_PID COUNT FROM TO TIMEOUT_SECONDS
prints: seconds of the whole run (first report consumed -> COUNT committed),
seconds from FROM to TO committed, and the processor's CPU seconds over the
window, tab-separated.
"""
import os
import sys
import time
import urllib.request

url, ppid = sys.argv[1], sys.argv[2]
count, lo, hi, timeout = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
HZ = os.sysconf("SC_CLK_TCK")


def metrics():
    out = {}
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            for line in r.read().decode().splitlines():
                parts = line.split()
                if len(parts) == 2 and not line.startswith("#"):
                    out[parts[0]] = float(parts[1])
    except OSError:
        pass
    return out


def cpu():
    f = open(f"/proc/{ppid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / HZ


deadline = time.time() + timeout
while metrics().get("safestream_processor_consumed_total", 0) < 1:
    if not os.path.exists(f"/proc/{ppid}") or time.time() > deadline:
        sys.exit("bench: the processor died or consumed nothing")
    time.sleep(0.01)
t0 = time.time()
marks = {}
while True:
    done = metrics().get("safestream_processor_ingest_to_commit_seconds_count", 0)
    now = time.time()
    for name, target in (("lo", lo), ("hi", hi), ("end", count)):
        if name not in marks and done >= target:
            marks[name] = (now, cpu())
    if "end" in marks:
        break
    if not os.path.exists(f"/proc/{ppid}") or now > deadline:
        sys.exit(f"bench: the processor did not finish ({done:.0f} of {count} committed)")
    time.sleep(0.05)
print(f"{marks['end'][0] - t0:.3f}\t{marks['hi'][0] - marks['lo'][0]:.3f}\t{marks['hi'][1] - marks['lo'][1]:.3f}")

#!/usr/bin/env python3
"""Times the processor's throughput run for bench/processor/run.sh.

One process polls the processor's /metrics, seldom until the end is near (a
shell loop of curl, awk and cut forked ~60 processes a second, a tenth of
this machine's CPU taken from the run it measures). Start: the first report
consumed. End: the commit count reaching COUNT. Also samples the CPU of the
stack's processes and of the whole machine at both ends.

usage: watch.py METRICS_URL PROCESSOR_PID COUNT TIMEOUT_SECONDS
prints one tab-separated line: seconds of the whole run; reports and
seconds of its steady state (see below); CPU ms per 1,000 reports by process
over the whole run ("processor 20.1, postgres 30.2, ..."); the machine's
busy share.
"""
import os
import sys
import time
import urllib.request

url, ppid, count, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
HZ = os.sysconf("SC_CLK_TCK")


def metric(name):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            for line in r.read().decode().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == name:
                    return float(parts[1])
    except OSError:
        pass
    return 0.0


def cpu_ticks():
    """utime+stime of the processor, PostgreSQL (the backends serving
    connections, and its background processes: autovacuum, WAL writer,
    checkpointer...), s3rver, the devbrokers and Redis."""
    groups = {"processor": 0, "postgres": 0, "postgres-background": 0, "s3rver": 0, "kafka": 0, "redis": 0}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = open(f"/proc/{pid}/comm").read().strip()
            cmd = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode(errors="replace")
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks = int(f[11]) + int(f[12])
        if pid == ppid:
            groups["processor"] += ticks
        elif comm in ("postgres", "postmaster"):
            # A backend's title is "postgres: user database host(port) ...".
            backend = "(" in cmd and ")" in cmd
            groups["postgres" if backend else "postgres-background"] += ticks
        elif comm == "node" and "s3rver" in cmd:
            groups["s3rver"] += ticks
        elif "safestream-devbroker" in cmd:
            groups["kafka"] += ticks
        elif comm.startswith("redis-server"):
            groups["redis"] += ticks
    return groups


def machine():
    """(busy, total) jiffies of all CPUs."""
    v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def alive():
    return os.path.exists(f"/proc/{ppid}")


deadline = time.time() + timeout
while metric("safestream_processor_consumed_total") < 1:
    if not alive() or time.time() > deadline:
        sys.exit("bench: the processor died or consumed nothing")
    time.sleep(0.01)
t0, cpu0, m0 = time.time(), cpu_ticks(), machine()


def wait_for(target, adaptive):
    """Polls until the commit count reaches `target`; returns (count, time)
    of the first poll that saw it, at most 20 ms late. Each scrape costs the
    processor ~1 ms of CPU: when `adaptive`, polled every 20 ms only near the
    target (halfway to the time the rate so far predicts, at most 0.5 s)."""
    while (done := metric("safestream_processor_ingest_to_commit_seconds_count")) < target:
        if not alive() or time.time() > deadline:
            sys.exit("bench: the processor did not finish")
        elapsed = time.time() - t0
        left = (target - done) * elapsed / done if adaptive and done > 0 else 0.0
        time.sleep(min(0.5, max(0.02, left / 2)))
    return done, time.time()


# Steady state: from the first commit at or past a fifth of the reports (the
# start-up - connections, first touches of memory, empty caches - is behind)
# to the last one.
warm, tw = wait_for(count / 5, adaptive=False)  # the start-up is short: every 20 ms
_, t1 = wait_for(count, adaptive=True)
cpu1, m1 = cpu_ticks(), machine()
per1000 = ", ".join(f"{k} {1000 * 1000 * (cpu1[k] - cpu0[k]) / HZ / count:.1f}" for k in cpu1)
busy = (m1[0] - m0[0]) / max(1, m1[1] - m0[1])
print(f"{t1 - t0:.3f}\t{count - warm:.0f}\t{t1 - tw:.3f}\t{per1000}\t{busy:.2f}")

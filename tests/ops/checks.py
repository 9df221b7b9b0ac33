"""Shared tally for the ops test scripts: record each check, print each
failure as it happens, and finish with one summary line and the exit code."""
import sys

failures = []
checks = 0


def check(ok, what):
    global checks
    checks += 1
    if not ok:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


def finish(detail=""):
    if failures:
        print(f"{len(failures)} of {checks} checks failed", file=sys.stderr)
        sys.exit(1)
    print(f"all {checks} checks passed{detail}")

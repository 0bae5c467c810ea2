#!/usr/bin/env python3
"""Times two commands against each other, interleaved so that both meet the
router in the same state, with an untimed setup command before every run
(here: removing the forward, so that every timed run opens a new one).
Every timed run must exit 0: a fast failure is not a result.

usage: compare.py RUNS_A RUNS_B SETUP -- CMD_A... -- CMD_B...
Prints one JSON object: {"a": {median,min,max,runs}, "b": {...}} in ms.
"""
import json
import shlex
import statistics
import subprocess
import sys
import time


def timed(cmd):
    start = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = (time.monotonic() - start) * 1000
    if r.returncode != 0:
        sys.stderr.write("compare: %s exited %d: %s\n" % (
            shlex.join(cmd), r.returncode, r.stderr.decode(errors="replace")))
        sys.exit(1)
    return elapsed


def summary(times):
    return {"median": statistics.median(times), "min": min(times),
            "max": max(times), "runs": len(times)}


def main():
    runs_a, runs_b, setup = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rest = sys.argv[4:]
    sep = [i for i, a in enumerate(rest) if a == "--"]
    cmd_a, cmd_b = rest[sep[0] + 1:sep[1]], rest[sep[1] + 1:]
    ta, tb = [], []
    for i in range(max(runs_a, runs_b)):
        for cmd, times, runs in ((cmd_a, ta, runs_a), (cmd_b, tb, runs_b)):
            if i >= runs:
                continue
            subprocess.run(shlex.split(setup), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            times.append(timed(cmd))
    print(json.dumps({"a": summary(ta), "b": summary(tb)}))


if __name__ == "__main__":
    main()

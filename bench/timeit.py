#!/usr/bin/env python3
"""Times a command N times (wall clock, monotonic) and prints JSON with the
median, min and max in milliseconds.  Every run must exit 0, or the whole
measurement fails: a fast failure is not a result.

usage: timeit.py RUNS COMMAND [ARG...]
"""
import json
import statistics
import subprocess
import sys
import time


def main():
    runs = int(sys.argv[1])
    cmd = sys.argv[2:]
    times = []
    for _ in range(runs):
        start = time.monotonic()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        elapsed = (time.monotonic() - start) * 1000
        if r.returncode != 0:
            sys.stderr.write("timeit: %s exited %d: %s\n" % (
                " ".join(cmd), r.returncode, r.stderr.decode(errors="replace")))
            sys.exit(1)
        times.append(elapsed)
    print(json.dumps({"median": statistics.median(times), "min": min(times),
                      "max": max(times), "runs": runs}))


if __name__ == "__main__":
    main()

"""Copies standard input to standard output, each line prefixed with the
wall-clock time it was read at ("1795000000.123 "), so that a daemon's log
says when each line was written.  Used by test_scale.sh and bench/scale.sh
behind a FIFO, so that $! stays the daemon's PID."""
import sys
import time

while True:
    line = sys.stdin.readline()
    if not line:
        break
    sys.stdout.write("%.3f %s" % (time.time(), line))
    sys.stdout.flush()

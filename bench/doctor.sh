#!/bin/bash
# How long "portkeeper doctor" takes on the simulated home network.  The
# target (issue 4) is at most 1 s for "portkeeper doctor 80" when everything
# answers; the slower cases are shown for comparison.  Each run is timed
# inside the pi's namespace (entering it is not counted), wall clock from
# exec to exit, and its verdict checked: a run with the wrong verdict is a
# failure, not a result.  The doctor's own "elapsed_ms" (from its first
# check to its last cleanup, without process start-up) is shown too.
#
# Prints a Markdown table, also written next to the binary as
# benchmarks-doctor.md.  Needs root; cleans up after itself.
#
# usage: bench/doctor.sh [PORTKEEPER_BINARY] [RUNS]     (RUNS default 11)
# PK_BENCH_PREFIX, if set, is put before the network's name, so that two runs
# on one machine keep apart.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PK=$(readlink -f "${1:-$TOP/build/portkeeper}")
RUNS=${2:-11}
HOMENET=$TOP/tests/net/homenet.sh
OUT=$(dirname "$PK")/benchmarks-doctor.md
PYTHON=/usr/bin/python3
export PK_NET=${PK_BENCH_PREFIX:-}benchdoc

[ "$(id -u)" = 0 ] || { echo "bench/doctor.sh needs root (network namespaces)" >&2; exit 1; }
[ -x "$PK" ] || { echo "bench/doctor.sh: no binary $PK (run make)" >&2; exit 1; }
WORK=$(mktemp -d)
trap '"$HOMENET" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

in_ns() { local h=$1; shift; ip netns exec "$PK_NET-$h" "$@"; }

"$HOMENET" up >/dev/null 2>&1 || { echo "bench/doctor.sh: cannot bring the network up" >&2; exit 1; }
eval "$("$HOMENET" info)"
URL=http://$PK_INET:8770

# The probe server on the inet host, a web server on the pi, the forward.
in_ns inet "$PK" probe-server --listen 0.0.0.0:8770 --rate 100000 >/dev/null 2>&1 &
echo ok > "$WORK/index.html"
in_ns pi "$PYTHON" -m http.server 8080 --bind "$PK_PI" --directory "$WORK" >/dev/null 2>&1 &
for _ in $(seq 100); do
	in_ns inet curl -s --max-time 1 "http://127.0.0.1:8770/" >/dev/null 2>&1 &&
	    in_ns pi curl -s --max-time 1 "http://$PK_PI:8080/" >/dev/null 2>&1 && break
	sleep 0.05
done
in_ns pi "$PK" open 80:8080 >/dev/null || { echo "bench/doctor.sh: open 80:8080 failed" >&2; exit 1; }

# measure LABEL VERDICT ARGS...: RUNS runs of "portkeeper doctor ARGS --json"
# in the pi's namespace; appends a table row.  An untimed run first, so that
# every timed run meets the same warm router.
rows=()
fail=0
measure() {
	local label=$1 want=$2 res
	shift 2
	echo "bench/doctor.sh: $label" >&2
	if ! res=$(in_ns pi "$PYTHON" - "$RUNS" "$want" "$PK" doctor "$@" --json <<'EOF'
import json, statistics, subprocess, sys, time
runs, want, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
subprocess.run(cmd, capture_output=True)
wall, own = [], []
for _ in range(runs):
    t = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall.append((time.monotonic() - t) * 1000)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        sys.exit("no JSON: " + r.stderr.strip())
    if j["verdict"] != want:
        sys.exit("verdict %s, expected %s: %s" % (j["verdict"], want, j["summary"]))
    own.append(j.get("elapsed_ms", 0))
print("%.0f %.0f %.0f %.0f" % (statistics.median(wall), min(wall), max(wall),
                               statistics.median(own)))
EOF
	); then
		echo "bench/doctor.sh: $label: failed" >&2
		rows+=("| $label | \`$want\` | failed | | | |")
		fail=1
		return
	fi
	# shellcheck disable=SC2086 # four numbers
	set -- $res
	rows+=("| $label | \`$want\` | $1 | $2 | $3 | $4 |")
	[ "$label" != "$TARGET" ] || TARGET_MEDIAN=$1
}

TARGET="doctor 80, with a probe server (everything answers)"
TARGET_MEDIAN=
measure "$TARGET" ok 80 --probe "$URL"
measure "doctor 80, no probe server" ok 80
measure "doctor (audit, no configuration)" ok
"$HOMENET" set hairpin off
measure "doctor 80, hairpin off (no NAT loopback)" hairpin_unsupported 80 --probe "$URL"
"$HOMENET" set hairpin on
"$HOMENET" block 80
measure "doctor 80, port blocked (the probe's 2 s connect)" external_blocked 80 --probe "$URL"
"$HOMENET" unblock 80

{
	echo "portkeeper doctor on the simulated home network (miniupnpd $(/usr/sbin/miniupnpd --version 2>&1 | awk 'NR==1{print $2}'), UPnP-IGD and NAT-PMP, $(nproc) CPUs), $RUNS runs each, ms."
	echo "Wall clock from exec to exit inside the pi's namespace; \"own\" is the doctor's elapsed_ms (without process start-up)."
	echo "Every run also makes and removes a probe mapping (lease 60 s) for the hairpin check."
	echo
	echo "| scenario | verdict | median | min | max | own (median) |"
	echo "|---|---|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
	echo
	if [ -n "$TARGET_MEDIAN" ] && [ "$TARGET_MEDIAN" -le 1000 ]; then
		echo "Target (doctor 80 within 1 s when everything answers): met, median $TARGET_MEDIAN ms."
	else
		echo "Target (doctor 80 within 1 s when everything answers): MISSED (median ${TARGET_MEDIAN:-?} ms)."
	fi
} | tee "$OUT"
exit $fail

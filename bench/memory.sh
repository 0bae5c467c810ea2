#!/bin/bash
# portkeeperd's memory (issue 17): resident (VmRSS, and its peak VmHWM, from
# /proc/PID/status) beside proportional (Pss: every page shared with other
# processes counted as its share) and private memory (Private_Clean +
# Private_Dirty: the pages only the daemon has, what it alone costs the
# machine) from /proc/PID/smaps_rollup.  VmRSS counts the shared libraries
# in full although every process on the Pi maps the same libc.
#
#   idle:  10 active forwards, [web] on, no request for SETTLE_S seconds
#          after the web process (portkeeperd-web, which serves the
#          sockets) ended for being idle: PORTKEEPERD_WEB_IDLE_MS is
#          WEB_IDLE_MS here, 60 s by default;
#   load:  wrk holding 64 keep-alive connections (2 threads) on
#          GET /api/status with the password for SECONDS seconds, sampled
#          every 100 ms, the daemon and its web process each; VmHWM after
#          it is the peak.
#
# Targets: idle private memory at most 1 MB; VmHWM under the 64 connections
# at most 6 MB, of the process that holds them (portkeeperd-web) and of the
# daemon.  On a simulated home network of its own (tests/net/homenet.sh,
# PK_NET pkbmem, without the hairpin helper), with a bcrypt (cost 10)
# htpasswd file, lease 7200 and verify_interval 3600, so that the daemon
# does no router work during the measurement.
#
# Prints a Markdown table, also written to BUILD_DIR/benchmarks-memory.md.
# A missed target is reported, not a failure: the script exits 0 whenever
# it could measure.
#
# usage: bench/memory.sh BUILD_DIR [SECONDS]     (default 10; needs root)
# PK_BENCH_PREFIX, if set, is put before the network's name, so that two runs
# on one machine keep apart.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(readlink -f "${1:?usage: bench/memory.sh BUILD_DIR [SECONDS]}")
DURATION=${2:-10}
PKD=$BUILD/portkeeperd
OUT=$BUILD/benchmarks-memory.md
HOMENET=$TOP/tests/net/homenet.sh
export PK_NET=${PK_BENCH_PREFIX:-}pkbmem

FORWARDS=10
FIRST_PORT=8000
PK_PORT=8088
CONNS=64
SETTLE_S=3
WEB_IDLE_MS=2000
PRIVATE_MAX_KB=1024
HWM_MAX_KB=6144
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

say() { echo "bench/memory: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { say "SECONDS must be a positive number"; exit 2; }
[ -x "$PKD" ] || die "$PKD not found (make)"
for c in wrk htpasswd curl; do
	command -v "$c" > /dev/null || die "$c not found (make deps)"
done

WORK=$(mktemp -d /tmp/pk-benchmem.XXXXXX)
chmod 755 "$WORK"
PKD_PID=
SAMPLER=
WSAMPLER=

# shellcheck source=lib.sh
. "$TOP/bench/lib.sh"

cleanup() {
	local rc=$?
	stop_bg "$SAMPLER"
	stop_bg "$WSAMPLER"
	stop_pid "$PKD_PID"
	"$HOMENET" down > /dev/null 2>&1
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_pi() { ip netns exec "$PK_NET-pi" "$@"; }

# mem PID: "VmRSS VmHWM Pss Private Private_Dirty Threads", in kB but the
# thread count.
mem() {
	awk 'FNR == 1 { f++ }
	     f == 1 && $1 == "VmRSS:" { r = $2 }
	     f == 1 && $1 == "VmHWM:" { h = $2 }
	     f == 1 && $1 == "Threads:" { t = $2 }
	     f == 2 && $1 == "Pss:" { p = $2 }
	     f == 2 && $1 ~ /^Private_(Clean|Dirty):$/ { v += $2 }
	     f == 2 && $1 == "Private_Dirty:" { d = $2 }
	     END { if (f == 2) print r, h, p, v, d, t; else exit 1 }' \
	    "/proc/$1/status" "/proc/$1/smaps_rollup" 2>/dev/null
}

say "bringing up the simulated home network ($PK_NET)"
"$HOMENET" up --no-hairpin > "$WORK/up.log" 2>&1 ||
    { sed 's/^/  /' "$WORK/up.log" >&2; die "cannot bring up the network"; }
in_pi ip link set lo up
htpasswd -nbB -C 10 admin secret > "$WORK/htpasswd" 2>/dev/null ||
    die "htpasswd -nbB -C 10 failed"
AUTH="Basic $(printf 'admin:secret' | base64)"
mkdir -p "$WORK/state"
{
	cat <<CONF
[portkeeper]
state_dir = $WORK/state
socket = $WORK/api.sock
lease = 7200
verify_interval = 3600
remove_on_exit = no

[web]
listen = 127.0.0.1:$PK_PORT
htpasswd = $WORK/htpasswd
CONF
	for i in $(seq "$FORWARDS"); do
		printf '\n[forward f%d]\nexternal = %d\n' "$i" $((FIRST_PORT + i - 1))
	done
} > "$WORK/pk.conf"

# A program just built has its pages dirty in the page cache until they
# are written back, and smaps counts them as the process's private dirty
# memory: written back first, they count as what they are, clean.
sync
# ip netns exec execs the daemon, so $! is the daemon itself.
PORTKEEPERD_WEB_IDLE_MS=$WEB_IDLE_MS ip netns exec "$PK_NET-pi" "$PKD" -f \
    -c "$WORK/pk.conf" > "$WORK/pkd.log" 2>&1 &
PKD_PID=$!
web_pid() { pgrep -P "$PKD_PID" -x portkeeperd-web; }
for i in $(seq 300); do
	kill -0 "$PKD_PID" 2>/dev/null || { sed 's/^/  /' "$WORK/pkd.log" >&2; die "portkeeperd exited"; }
	in_pi curl -s --max-time 2 -u admin:secret "http://127.0.0.1:$PK_PORT/api/status" \
	    > "$WORK/status.json" 2>/dev/null &&
	    "$PYTHON" -c 'import json, sys
f = json.load(open(sys.argv[1]))["forwards"]
sys.exit(0 if len(f) == int(sys.argv[2]) and all(x["state"] == "active" for x in f) else 1)' \
	    "$WORK/status.json" "$FORWARDS" 2>/dev/null && break
	[ "$i" -lt 300 ] || die "the $FORWARDS forwards did not become active within 60 s"
	sleep 0.2
done
[ "$(cat "/proc/$PKD_PID/comm" 2>/dev/null)" = portkeeperd ] || die "PID $PKD_PID is not portkeeperd"
say "$FORWARDS forwards active; waiting for the web process to end"
for i in $(seq 100); do
	web_pid > /dev/null || break
	[ "$i" -lt 100 ] || die "portkeeperd-web did not end within 20 s of idleness"
	sleep 0.2
done
say "idle for $SETTLE_S s"
sleep "$SETTLE_S"
read -r I_RSS I_HWM I_PSS I_PRIV I_DIRTY I_THR <<< "$(mem "$PKD_PID")"
# by_mapping PID: its memory by mapping (file, or [heap], [stack],
# anonymous), largest private first: the idle daemon's in
# BUILD_DIR/benchmarks-memory-smaps.txt, the web process's at the end of
# the load in BUILD_DIR/benchmarks-memory-web-smaps.txt.
by_mapping() {
	"$PYTHON" -c '
import collections, sys
by = collections.defaultdict(lambda: [0, 0, 0, 0])
name = None
for line in open(sys.argv[1]):
    f = line.split()
    if "-" in f[0] and not f[0].endswith(":"):
        name = f[5] if len(f) > 5 else "[anonymous]"
        continue
    k = {"Rss:": 0, "Private_Clean:": 1, "Private_Dirty:": 2, "Pss:": 3}.get(f[0])
    if k is not None:
        by[name][k] += int(f[1])
print("%-48s %6s %6s %6s %6s" % ("mapping (kB)", "Rss", "Pss", "clean", "dirty"))
for n, v in sorted(by.items(), key=lambda kv: -(kv[1][1] + kv[1][2])):
    print("%-48s %6d %6d %6d %6d" % (n[-48:], v[0], v[3], v[1], v[2]))
' "/proc/$1/smaps"
}
by_mapping "$PKD_PID" > "$BUILD/benchmarks-memory-smaps.txt"

# Under load: the largest of each quantity over the samples.
say "$CONNS connections for $DURATION s"
# The first connection starts the web process: wrk's own first ones wait
# in the listening socket's queue meanwhile.
in_pi curl -s --max-time 5 -o /dev/null -u admin:secret "http://127.0.0.1:$PK_PORT/api/health"
WEB_PID=$(web_pid) || die "no portkeeperd-web after a request"
( while :; do mem "$PKD_PID" 2>/dev/null || exit 0; sleep 0.1; done ) > "$WORK/samples" &
SAMPLER=$!
( while :; do mem "$WEB_PID" 2>/dev/null || exit 0; sleep 0.1; done ) > "$WORK/wsamples" &
WSAMPLER=$!
in_pi wrk -t2 -c"$CONNS" -d"${DURATION}s" -H "Authorization: $AUTH" \
    "http://127.0.0.1:$PK_PORT/api/status" > "$WORK/wrk.txt" 2>&1 ||
    { sed 's/^/  /' "$WORK/wrk.txt" >&2; die "wrk failed"; }
# The web process at the end of the load, by mapping.
by_mapping "$WEB_PID" > "$BUILD/benchmarks-memory-web-smaps.txt"
stop_bg "$SAMPLER"
stop_bg "$WSAMPLER"
SAMPLER=
largest() {
	awk 'NF == 6 { for (i = 1; i <= 6; i++) if ($i > m[i]) m[i] = $i }
	    END { print m[1], m[2], m[3], m[4], m[5], m[6] }' "$1"
}
read -r L_RSS L_HWM L_PSS L_PRIV L_DIRTY L_THR <<< "$(largest "$WORK/samples")"
read -r W_RSS W_HWM W_PSS W_PRIV W_DIRTY W_THR <<< "$(largest "$WORK/wsamples")"
L_HWM=$(status_kb "$PKD_PID" VmHWM)
W_HWM=$(status_kb "$WEB_PID" VmHWM)
REQS=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
NON2XX=$(awk '/Non-2xx/ { print $NF }' "$WORK/wrk.txt")

verdict() { if [ "$1" -le "$2" ]; then echo "met"; else echo "missed by $(($1 - $2)) kB"; fi; }
{
	echo "portkeeperd's memory, kB: idle with $FORWARDS active forwards once its web process (portkeeperd-web) ended for being idle (PORTKEEPERD_WEB_IDLE_MS=$WEB_IDLE_MS), and under $CONNS keep-alive connections (wrk, GET /api/status with the password, $DURATION s, ${REQS:-?} requests${NON2XX:+, $NON2XX not 2xx}; the largest of samples every 100 ms, VmHWM at the end)."
	echo "VmRSS/VmHWM from /proc/PID/status count shared libraries in full; Pss (proportional) and private (Private_Clean + Private_Dirty) from /proc/PID/smaps_rollup."
	echo "A library page no other process maps at the time counts as private (clean), so private memory depends on what else runs; its dirty part (the daemon's heap, stacks and data) does not."
	echo "Other portkeeperd processes at the time: $(pgrep -x portkeeperd | grep -vxc "$PKD_PID")."
	echo
	echo "| state | VmRSS | VmHWM | Pss | private | of it dirty | threads |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	echo "| idle, $FORWARDS forwards (portkeeperd; no web process) | $I_RSS | $I_HWM | $I_PSS | $I_PRIV | $I_DIRTY | $I_THR |"
	echo "| $CONNS connections: portkeeperd | $L_RSS | $L_HWM | $L_PSS | $L_PRIV | $L_DIRTY | $L_THR |"
	echo "| $CONNS connections: portkeeperd-web | $W_RSS | $W_HWM | $W_PSS | $W_PRIV | $W_DIRTY | $W_THR |"
	echo
	echo "Targets: idle private memory ≤ $PRIVATE_MAX_KB kB: $(verdict "$I_PRIV" "$PRIVATE_MAX_KB"); VmHWM under $CONNS connections ≤ $HWM_MAX_KB kB: portkeeperd-web $(verdict "$W_HWM" "$HWM_MAX_KB"), portkeeperd $(verdict "$L_HWM" "$HWM_MAX_KB")."
} | tee "$OUT"

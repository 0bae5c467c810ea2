#!/bin/bash
# How portkeeperd's cost grows with the number of forwards (issue 7): for
# 10, 100 and 1,000 forwards (external ports from 20000), each on a fresh
# simulated home network (PK_NET pkbscale, the router's miniupnpd without
# its debug log and without the hairpin helper: tests/fault/quiet_router.sh
# says why), two runs of the daemon:
#
#  1. the default schedule (lease 7200, verify_interval 60): the time
#     until every forward is active and one status --json; then 60 s,
#     which hold one check of every forward (a round of router work): the
#     daemon's CPU time (utime+stime of all its threads, /proc/PID/stat),
#     the router's (miniupnpd's), how long the round took, and VmRSS and
#     VmHWM at the end;
#  2. a refresh cycle (lease 120, verify_interval 3600): the daemon is
#     killed and started again with the same forwards, which it adopts and
#     makes again; once all are active, 40 s in which no router work is due
#     (idle), then the cycle: every forward falls due 54-66 s after its
#     last refresh; measured until the log shows every one refreshed (at
#     most 150 s): CPU of the daemon and of the router, the rounds, each
#     forward's refresh interval (from last_refresh in the status before
#     and after), and memory at the end.
#
# A round is when the daemon runs more than its one thread (a round's
# mapper thread, and the threads of its UPnP calls): /proc/PID/status is
# read every 100 ms, which costs the daemon nothing.  status --json is
# asked only outside the measured windows (it costs the daemon ~10 ms of
# CPU per call with 1,000 forwards).
#
# Prints Markdown tables, also written to BUILD_DIR/benchmarks-scale.md;
# the daemon's log goes to BUILD_DIR/benchmarks-scale.log.  Exits 1 when a
# measurement could not be made (forwards that never became active, say).
#
# usage: bench/scale.sh BUILD_DIR [COUNT...]     (default 10 100 1000; root)
# About 3.5 minutes per count.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(readlink -f "${1:?usage: bench/scale.sh BUILD_DIR [COUNT...]}")
shift
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(10 100 1000)
PKD=$BUILD/portkeeperd
PK=$BUILD/portkeeper
OUT=$BUILD/benchmarks-scale.md
LOG=$BUILD/benchmarks-scale.log
HOMENET=$TOP/tests/net/homenet.sh
export PK_NET=pkbscale
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

FIRST_PORT=20000
ACTIVE_MAX_S=120	# all forwards active within this, or it is a failure
DEFAULT_WINDOW_S=60
IDLE_S=40
CYCLE_MAX_S=150
RLEASE=120

[ "$(id -u)" = 0 ] || { echo "bench/scale.sh needs root (network namespaces)" >&2; exit 1; }
for c in "${COUNTS[@]}"; do
	[[ $c =~ ^[1-9][0-9]*$ ]] && [ "$c" -le 4096 ] ||
	    { echo "bench/scale.sh: a COUNT is a number from 1 to 4096" >&2; exit 2; }
done
for b in "$PKD" "$PK"; do
	[ -x "$b" ] || { echo "bench/scale.sh: $b not found (make)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/pk-bscale.XXXXXX)
chmod 755 "$WORK"
PKD_PID=
TS_PID=
SAMPLER_PID=
fail=0
: > "$LOG"

# shellcheck source=../tests/fault/quiet_router.sh
. "$TOP/tests/fault/quiet_router.sh"

# shellcheck source=lib.sh
. "$TOP/bench/lib.sh"

# kill_daemon SIGNAL: stops the daemon, and its log's reader after it.
kill_daemon() {
	[ -n "$PKD_PID" ] || return 0
	stop_pid "$PKD_PID" 150 "$1"
	PKD_PID=
	wait "$TS_PID" 2>/dev/null
	TS_PID=
	[ ! -f "$WORK/pkd.log" ] || cat "$WORK/pkd.log" >> "$LOG"
	rm -f "$WORK/pkd.log"
}
cleanup() {
	local rc=$?
	stop_bg "$SAMPLER_PID"
	kill_daemon TERM
	"$HOMENET" down > /dev/null 2>&1
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench/scale: $*" >&2; }

# write_conf N LEASE VERIFY_INTERVAL
write_conf() {
	local i
	{
		cat <<CONF
[portkeeper]
method = auto
lease = $2
state_dir = $WORK/state
socket = $WORK/api.sock
remove_on_exit = yes
verify_interval = $3
CONF
		for i in $(seq 0 $(($1 - 1))); do
			printf '\n[forward f%d]\nexternal = %d\n' "$i" $((FIRST_PORT + i))
		done
	} > "$WORK/pk.conf"
}

# start_daemon TITLE: with every log line stamped with the wall-clock time
# (through a FIFO, so that $! is the daemon).
start_daemon() {
	echo "=== $1" >> "$LOG"
	rm -f "$WORK/log.fifo"
	mkfifo "$WORK/log.fifo"
	"$PYTHON" "$TOP/tests/integration/stamp.py" < "$WORK/log.fifo" > "$WORK/pkd.log" &
	TS_PID=$!
	ip netns exec "$PK_NET-pi" "$PKD" -f -vv -c "$WORK/pk.conf" > "$WORK/log.fifo" 2>&1 &
	PKD_PID=$!
}

# status FILE: the status document into FILE.
status() { "$PK" status --socket "$WORK/api.sock" --json > "$1" 2>/dev/null; }
# all_active N: true when status shows N forwards, all active (in $WORK/s.json).
all_active() {
	status "$WORK/s.json" && "$PYTHON" -c '
import json, sys
f = json.load(open(sys.argv[1]))["forwards"]
sys.exit(0 if len(f) == int(sys.argv[2]) and all(x["state"] == "active" for x in f) else 1)' "$WORK/s.json" "$1"
}
# wait_active N: waits (every 250 ms) until all N are active; prints the ms.
wait_active() {
	local t0 end
	t0=$(now_us) end=$(( $(now_us) + ACTIVE_MAX_S * 1000000 ))
	while [ "$(now_us)" -lt "$end" ]; do
		if all_active "$1"; then
			echo $(( ($(now_us) - t0) / 1000 ))
			return 0
		fi
		sleep 0.25
	done
	return 1
}

# The thread sampler: "TIME THREADS" every 100 ms into FILE.
sampler_start() {
	local pid=$1 file=$2
	(
		trap - EXIT INT TERM
		while :; do
			t=$(now_us)
			n=$(status_kb "$pid" Threads) || exit 0
			[ -n "$n" ] || exit 0
			echo "$t $n"
			sleep 0.1
		done
	) > "$file" &
	SAMPLER_PID=$!
}
sampler_stop() { stop_bg "$SAMPLER_PID"; SAMPLER_PID=; }
# rounds FILE FROM_US TO_US: "count|longest s|busy s" of the rounds seen.
rounds() {
	"$PYTHON" - "$@" <<'EOF'
import sys
path, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs, start, last = [], None, None
for line in open(path):
    t, n = line.split()
    t, n = int(t), int(n)
    if t < lo or t > hi:
        continue
    if n > 1 and start is None:
        start = t
    elif n <= 1 and start is not None:
        runs.append((t - start) / 1e6)
        start = None
    last = t
if start is not None:
    runs.append((last - start) / 1e6)
print("%d|%.1f|%.1f" % (len(runs), max(runs) if runs else 0, sum(runs)))
EOF
}

rows_time=() rows_cost=()
fail_row() {
	rows_time+=("| $1 | **FAIL**: $2 | | | | |")
	rows_cost+=("| $1 | | | | | | | |")
	fail=1
}

measure() {
	local n=$1 ms_active st_ms st_bytes t0 t1 c0 c1 r0 r1
	local d_cpu d_router d_rounds d_rss d_hwm
	local a_ms i_cpu c_cpu c_router c_rounds c_rss c_hwm iv seen end
	say "$n forwards"
	rm -rf "$WORK/state"
	mkdir -p "$WORK/state"
	if ! "$HOMENET" up --no-hairpin > "$WORK/up.log" 2>&1 || ! quiet_router "$WORK"; then
		sed 's/^/  /' "$WORK/up.log" >&2
		fail_row "$n" "could not set up the network"
		return
	fi
	local mpid
	mpid=$(cat "$WORK/miniupnpd.pid")

	# 1. The default schedule.
	write_conf "$n" 7200 60
	start_daemon "$n forwards, lease 7200, verify_interval 60"
	if ! ms_active=$(wait_active "$n"); then
		fail_row "$n" "not all active within $ACTIVE_MAX_S s (lease 7200)"
		kill_daemon TERM
		return
	fi
	t0=$(now_us)
	status "$WORK/t.json"
	st_ms=$(( ($(now_us) - t0) / 1000 ))
	st_bytes=$(wc -c < "$WORK/t.json")
	sleep 2
	sampler_start "$PKD_PID" "$WORK/threads-d"
	c0=$(cpu_ms "$PKD_PID") r0=$(cpu_ms "$mpid") t0=$(now_us)
	sleep "$DEFAULT_WINDOW_S"
	c1=$(cpu_ms "$PKD_PID") r1=$(cpu_ms "$mpid") t1=$(now_us)
	sampler_stop
	d_cpu=$((c1 - c0)) d_router=$((r1 - r0))
	d_rounds=$(rounds "$WORK/threads-d" "$t0" "$t1")
	d_rss=$(status_kb "$PKD_PID" VmRSS) d_hwm=$(status_kb "$PKD_PID" VmHWM)
	say "  default: all active after $ms_active ms, $d_cpu ms CPU in ${DEFAULT_WINDOW_S} s (router $d_router ms), rounds ${d_rounds}"

	# 2. A refresh cycle: kill -9, start again with a short lease.
	kill_daemon KILL
	write_conf "$n" "$RLEASE" 3600
	start_daemon "$n forwards, lease $RLEASE, verify_interval 3600"
	if ! a_ms=$(wait_active "$n"); then
		fail_row "$n" "not all active within $ACTIVE_MAX_S s (lease $RLEASE)"
		kill_daemon TERM
		return
	fi
	cp "$WORK/s.json" "$WORK/s0.json"
	sampler_start "$PKD_PID" "$WORK/threads-r"
	sleep 2
	c0=$(cpu_ms "$PKD_PID")
	sleep "$IDLE_S"
	c1=$(cpu_ms "$PKD_PID")
	i_cpu=$((c1 - c0))
	# The cycle: until every forward's refresh is in the log.
	seen=$(grep -c "refreshed " "$WORK/pkd.log")
	c0=$(cpu_ms "$PKD_PID") r0=$(cpu_ms "$mpid") t0=$(now_us)
	end=$(( t0 + CYCLE_MAX_S * 1000000 ))
	while [ "$(now_us)" -lt "$end" ] &&
	    [ "$(( $(grep -c "refreshed " "$WORK/pkd.log") - seen ))" -lt "$n" ]; do
		sleep 0.5
	done
	c1=$(cpu_ms "$PKD_PID") r1=$(cpu_ms "$mpid") t1=$(now_us)
	sampler_stop
	c_cpu=$((c1 - c0)) c_router=$((r1 - r0))
	c_rounds=$(rounds "$WORK/threads-r" "$t0" "$t1")
	c_rss=$(status_kb "$PKD_PID" VmRSS) c_hwm=$(status_kb "$PKD_PID" VmHWM)
	status "$WORK/s1.json"
	iv=$("$PYTHON" - "$WORK/s0.json" "$WORK/s1.json" <<'EOF'
import json, statistics, sys
a = {f["name"]: f["last_refresh"] for f in json.load(open(sys.argv[1]))["forwards"]}
b = {f["name"]: f["last_refresh"] for f in json.load(open(sys.argv[2]))["forwards"]}
iv = sorted(b[k] - a[k] for k in a if b.get(k, 0) > a[k])
print("%d|%s|%s|%s" % (len(iv), iv[0] if iv else "—",
      ("%.0f" % statistics.median(iv)) if iv else "—", iv[-1] if iv else "—"))
EOF
)
	say "  refresh: active again $a_ms ms after a kill -9 and start; $i_cpu ms CPU idle in $IDLE_S s; cycle $c_cpu ms (router $c_router ms), rounds $c_rounds, intervals $iv"

	local nref imin imed imax rn rlong rbusy drn dlong
	IFS='|' read -r nref imin imed imax <<< "$iv"
	IFS='|' read -r rn rlong rbusy <<< "$c_rounds"
	IFS='|' read -r drn dlong _ <<< "$d_rounds"
	[ "$nref" = "$n" ] || fail=1
	rows_time+=("| $n | $(fmt_s "$ms_active") | $st_ms ms ($((st_bytes / 1024)) KiB) | $drn, $dlong s | $rn, longest $rlong s, busy $rbusy s | $imin / $imed / $imax s$([ "$nref" = "$n" ] || echo " (**only $nref of $n refreshed**)") |")
	rows_cost+=("| $n | $(pct "$d_cpu" "$DEFAULT_WINDOW_S") ($d_cpu ms) | $d_router ms | $i_cpu ms | $c_cpu ms ($(per "$c_cpu" "$n")) | $c_router ms ($(per "$c_router" "$n")) | $c_rss / $c_hwm kB | $d_rss / $d_hwm kB |")

	# How many of them SIGTERM removes within its 8 s.
	t0=$(now_us)
	kill_daemon TERM
	left=$(ip netns exec "$PK_NET-pi" "$PK" list --json 2>/dev/null | "$PYTHON" -c '
import json, sys
print(len([m for m in json.load(sys.stdin).get("mappings", []) if m["this_host"]]))' 2>/dev/null)
	say "  SIGTERM: stopped after $(( ($(now_us) - t0) / 1000 )) ms, ${left:-?} of $n forwards left on the router"
	stops+=("${left:-?} of $n")
	"$HOMENET" down > /dev/null 2>&1
}
fmt_s() { "$PYTHON" -c "print('%.1f s' % ($1 / 1000))"; }
pct() { "$PYTHON" -c "print('%.3f %%' % ($1 / 10 / $2))"; }
per() { "$PYTHON" -c "print('%.2f ms/forward' % ($1 / $2))"; }

stops=()
start=$(now_us)
for n in "${COUNTS[@]}"; do
	measure "$n"
done
load=$(cut -d' ' -f1-3 /proc/loadavg)

{
	echo "portkeeperd with N forwards on the simulated home network (miniupnpd $(/usr/sbin/miniupnpd --version 2>&1 | awk 'NR==1{print $2}') without its debug log, NAT-PMP and UPnP), $(nproc) CPUs, load average at the end $load."
	echo
	echo "Time. \"All active\": from the start (lease 7200) until status shows every forward active. \"Check round\": the rounds of router work in a ${DEFAULT_WINDOW_S} s window of the default schedule (verify_interval 60: one check of every forward), and the longest. \"Refresh cycle\" (lease $RLEASE, due 54-66 s after the last refresh): its rounds, the longest, and the time the router work took in all. Interval: min / median / max time between a forward's two refreshes (last_refresh)."
	echo
	echo "| forwards | all active | status --json | check round | refresh cycle: rounds | refresh interval |"
	echo "|---:|---:|---:|---|---|---|"
	printf '%s\n' "${rows_time[@]}"
	echo
	echo "Cost. CPU is utime+stime of every thread from /proc/PID/stat (10 ms ticks). \"Default\": the ${DEFAULT_WINDOW_S} s window with one check round, as % of one core, and the router's (miniupnpd's) CPU in it; \"idle\": ${IDLE_S} s with no router work due; \"refresh cycle\": from ${IDLE_S} s after all were active until every forward was refreshed once. Memory: VmRSS / VmHWM after the cycle, and after the default window."
	echo
	echo "| forwards | default: CPU | default: router CPU | idle ${IDLE_S} s | refresh cycle: CPU | refresh cycle: router CPU | memory after the cycle | memory, default |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows_cost[@]}"
	echo
	echo "Left on the router after SIGTERM (remove_on_exit = yes; the daemon gives the router 8 s): $(IFS=';'; echo "${stops[*]}" | sed 's/;/, /g') forwards."
} | tee "$OUT"
say "done in $(( ($(now_us) - start) / 1000000 )) s"
exit $fail

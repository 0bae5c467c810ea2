# Shared by the benchmarks: stopping what they started, and reading a
# process's clock and memory from /proc (daemon.sh, scale.sh, web.sh);
# reading compare.py's JSON (bench.sh, ipv6.sh).  Source it.

# stop_pid PID [TENTHS] [SIGNAL]: sends SIGNAL (TERM) to PID, waits at most
# TENTHS tenths of a second (50) for it to exit, then kills it, and reaps
# it.  portkeeperd takes up to 8 s on SIGTERM: it removes its forwards first.
stop_pid() {
	local pid=$1 tenths=${2:-50} sig=${3:-TERM} i
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for i in $(seq "$tenths"); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# stop_bg PID...: ends helpers run in the background (samplers, servers).
stop_bg() {
	local pid
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}

now_us() { echo "${EPOCHREALTIME/./}"; }

# status_kb PID FIELD: a field of /proc/PID/status in kB (VmRSS, VmHWM).
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# cpu_ms PID...: their CPU time so far (utime + stime), in ms.
BENCH_CLK_TCK=$(getconf CLK_TCK)
cpu_ms() {
	local pid t=0 f
	for pid in "$@"; do
		# The fields after the command name, which ends with ")".
		f=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		# shellcheck disable=SC2086
		set -- $f
		t=$((t + ${12} + ${13}))
	done
	echo $((t * 1000 / BENCH_CLK_TCK))
}

# field JSON KEY: a number of compare.py's summary, rounded to whole ms.
field() { python3 -c 'import json,sys; print("%.0f" % json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
# pick JSON KEY: one command's summary ("a" or "b") out of compare.py's answer.
pick() { python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])[sys.argv[2]]))' "$1" "$2"; }
# ratio JSON PEER_JSON: the first summary's median over the second's.
ratio() { python3 -c 'import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print("%.2f" % (a["median"]/b["median"]))' "$1" "$2"; }

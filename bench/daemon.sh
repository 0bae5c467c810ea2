#!/bin/bash
# portkeeperd's own targets on the simulated home network:
#
#  1. a router restart (every mapping flushed, a new UPnP HTTP port): time
#     from the moment "homenet.sh router-restart" returns until the inet host
#     fetches the pi's token through the forward again, for a router that
#     speaks both protocols, UPnP only and NAT-PMP only (the daemon hears a
#     PCP/NAT-PMP announcement in one case and an SSDP NOTIFY in the other);
#     each run restarts the router after 4 s of quiet, and again 2 s after
#     the forward came back (routers often restart their UPnP/NAT-PMP
#     service once more right after booting, when the WAN link comes up);
#  2. a WAN address change: time from the new address appearing on the
#     router's wan0 (seen by "ip monitor" in the router) until
#     "portkeeper status --json" shows it, and until the on_change hook has
#     run with PORTKEEPER_EVENT=external_ip_changed and the new address
#     (the hook's own "date +%s%N");
#  3. a router restart for a pinhole (issue 16): the same, over IPv6, on a
#     network whose IPv4 is behind carrier-grade NAT and whose router
#     answers PCP, until the inet host fetches the token from the pi's own
#     IPv6 address again;
#  4. the idle cost of 10 forwards: CPU time (utime+stime of every thread)
#     and resident memory (VmRSS, VmHWM) over 60 s once they are active.
#
# Prints Markdown tables, also written to BUILD_DIR/benchmarks-daemon.md;
# the daemon's log goes to BUILD_DIR/benchmarks-daemon.log.
# A measurement that cannot be made (a forward that does not come back
# within 10 s, say) is printed as a failure and the script exits 1.
#
# usage: bench/daemon.sh BUILD_DIR [RUNS]     (RUNS default 5; needs root)

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(readlink -f "${1:?usage: bench/daemon.sh BUILD_DIR [RUNS]}")
RUNS=${2:-5}
PKD=$BUILD/portkeeperd
PK=$BUILD/portkeeper
OUT=$BUILD/benchmarks-daemon.md
LOG=$BUILD/benchmarks-daemon.log	# the daemon's own log, for a failure
HOMENET=$TOP/tests/net/homenet.sh
export PK_NET=benchd

GIVE_UP_S=10		# a measurement that takes longer is a failure
SETTLE_S=2		# quiet time between runs
QUIET_S=4		# before a router restart
AGAIN_S=2		# between a restart and the next one
IDLE_S=60
IDLE_FORWARDS=10
PORT=8080
PI=192.168.77.10
# The distribution's interpreter: a shim first in PATH (pyenv) can take
# hundreds of ms to start, which would slow the polling down.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

[ "$(id -u)" = 0 ] || { echo "bench/daemon.sh needs root (network namespaces)" >&2; exit 1; }
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench/daemon.sh: RUNS must be a positive number" >&2; exit 2; }
for b in "$PKD" "$PK"; do
	[ -x "$b" ] || { echo "bench/daemon.sh: $b not found (make)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/pk-benchd.XXXXXX)
chmod 755 "$WORK"
PKD_PID=
HTTP_PID=
MON_PID=
fail=0

# shellcheck source=lib.sh
. "$TOP/bench/lib.sh"

stop_daemon() { stop_pid "$PKD_PID" 100; PKD_PID=; }
cleanup() {
	local rc=$?
	stop_daemon
	stop_bg "$HTTP_PID" "$MON_PID"
	"$HOMENET" down >/dev/null 2>&1
	[ ! -f "$WORK/pkd.log" ] || cp "$WORK/pkd.log" "$LOG"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { echo "bench/daemon: $*" >&2; }
in_ns() { local h=$1; shift; ip netns exec "$PK_NET-$h" "$@"; }

net_up() {
	# shellcheck disable=SC2086
	"$HOMENET" up $1 > "$WORK/up.log" 2>&1 || { sed 's/^/  /' "$WORK/up.log" >&2; return 1; }
	eval "$("$HOMENET" info)"
}

# An HTTP server on the pi serving a random token, so that a fetch proves it
# reached the pi through the forward and not something else; on the pi's
# IPv4 address, or on BIND (:: for both families).
http_start() {
	local i
	TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$WORK/www"
	echo "$TOKEN" > "$WORK/www/token"
	in_ns pi "$PYTHON" -m http.server "$PORT" --bind "${1:-$PI}" --directory "$WORK/www" \
	    > /dev/null 2>&1 &
	HTTP_PID=$!
	for i in $(seq 50); do
		in_ns pi curl -s --max-time 1 "http://$PI:$PORT/token" > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# write_conf EXTRA_GLOBAL_LINES FORWARD_SECTIONS
write_conf() {
	rm -rf "$WORK/state"
	mkdir -p "$WORK/state"
	cat > "$WORK/pk.conf" <<CONF
[portkeeper]
method = auto
state_dir = $WORK/state
socket = $WORK/api.sock
remove_on_exit = yes
$1

$2
CONF
}

# start_daemon TITLE
start_daemon() {
	echo "=== $1" >> "$WORK/pkd.log"
	# ip netns exec execs the daemon, so $! is the daemon itself.
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$WORK/pk.conf" >> "$WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}

status_is() {
	"$PK" status --socket "$WORK/api.sock" --json 2>/dev/null | "$PYTHON" -c '
import json, sys
j = json.load(sys.stdin)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" 2>/dev/null
}
# until_ok SECONDS CMD...: retries CMD every 100 ms for at most SECONDS.
until_ok() {
	local end=$(( $(now_us) + $1 * 1000000 )); shift
	while [ "$(now_us)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}
# The URL the inet host fetches the token from: through the IPv4 forward,
# or (restart_scenario6) the pinhole.
url() { echo "${URL:-http://$PK_WAN:$PORT/token}"; }
reaches() {
	[ "$(in_ns inet curl -s --max-time 1 "$(url)" 2>/dev/null)" = "$TOKEN" ]
}

# Runs in the inet namespace: fetches URL every 20 ms (each try at most
# 200 ms) until it returns TOKEN; prints the wall-clock time in us then, or
# fails after GIVE_UP seconds.
POLL='url=$1 token=$2 end=$(( ${EPOCHREALTIME/./} + $3 * 1000000 ))
while :; do
	got=$(curl -s --max-time 0.2 "$url" 2>/dev/null)
	t=${EPOCHREALTIME/./}
	[ "$got" = "$token" ] && { echo "$t"; exit 0; }
	[ "$t" -ge "$end" ] && exit 1
	sleep 0.02
done'

# Summaries: VALUES are ms, or "fail".  Prints "median|min|max|ok/total".
stats() {
	"$PYTHON" - "$@" <<'EOF'
import statistics, sys
v = sys.argv[1:]
ok = [float(x) for x in v if x != "fail"]
if not ok:
    print("—|—|—|0/%d" % len(v))
else:
    print("%.0f|%.0f|%.0f|%d/%d" % (statistics.median(ok), min(ok), max(ok), len(ok), len(v)))
EOF
}

rows=()
# row SCENARIO MEASURED TARGET_MS VALUES...
row() {
	local scen=$1 what=$2 target=$3 s med min max n verdict; shift 3
	s=$(stats "$@")
	IFS='|' read -r med min max n <<< "$s"
	if [ "${n%/*}" != "${n#*/}" ]; then
		verdict="**FAIL**: $(( ${n#*/} - ${n%/*} )) run(s) gave up after ${GIVE_UP_S} s"
		fail=1
	elif [ "${max%.*}" -le "$target" ]; then
		verdict="met"
	elif [ "${med%.*}" -le "$target" ]; then
		verdict="missed in $(printf '%s\n' "$@" | awk -v t="$target" '$1 > t' | wc -l) run(s), worst by $(( ${max%.*} - target )) ms"
	else
		verdict="missed: median over by $(( ${med%.*} - target )) ms"
	fi
	rows+=("| $scen | $what | $med | $min | $max | $n | ≤ $target | $verdict |")
}
failed_row() {
	rows+=("| $1 | $2 | — | — | — | 0/$RUNS | ≤ $3 | **FAIL**: $4 |")
	fail=1
}

# ---------------------------------------------------------------------------
# 1. Router restart.

# restart_once: restarts the router and appends the ms until the forward is
# reachable again (or "fail") to the array named $1.
restart_once() {
	local -n into=$1
	local t0 t1
	if ! "$HOMENET" router-restart > "$WORK/restart.log" 2>&1; then
		sed 's/^/  /' "$WORK/restart.log" >&2
		into+=(fail)
		return
	fi
	t0=$(now_us)
	if t1=$(in_ns inet bash -c "$POLL" poll "$(url)" "$TOKEN" "$GIVE_UP_S"); then
		into+=("$(( (t1 - t0) / 1000 ))")
	else
		into+=(fail)
	fi
}

# restart_runs LABEL UNTIL: RUNS runs, each a restart after QUIET_S of
# quiet, then another one AGAIN_S after the forward came back; their rows;
# then the daemon and the HTTP server stop.
restart_runs() {
	local label=$1 until=$2 i first=() again=()
	for i in $(seq "$RUNS"); do
		sleep "$QUIET_S"
		# A failed run is not waited out: the next restart, after a quiet
		# spell, starts from scratch anyway.
		restart_once first
		sleep "$AGAIN_S"
		restart_once again
		say "  run $i: ${first[-1]} ms, again ${AGAIN_S} s later: ${again[-1]} ms"
	done
	row "router restart, $label" "$until" 1000 "${first[@]}"
	row "router restart again ${AGAIN_S} s later, $label" "$until" 1000 "${again[@]}"
	stop_daemon
	stop_bg "$HTTP_PID"
	HTTP_PID=
}

# A forward across router restarts, the router speaking what knobs allow.
restart_scenario() {
	local label=$1 knobs=$2
	say "router restart, $label"
	if ! net_up "$knobs" || ! http_start; then
		failed_row "router restart, $label" "forward reachable from inet" 1000 "could not set up the network"
		return
	fi
	write_conf "" "[forward web]
external = $PORT
internal = $PORT"
	start_daemon "router restart, $label"
	if ! until_ok "$GIVE_UP_S" status_is '[f["state"] for f in j["forwards"]] == ["active"]' ||
	    ! until_ok "$GIVE_UP_S" reaches; then
		failed_row "router restart, $label" "forward reachable from inet" 1000 "the daemon never made the forward"
		stop_daemon
		return
	fi
	restart_runs "$label" "forward reachable from inet"
}

# The same for a pinhole: IPv4 behind carrier-grade NAT (its forward fails,
# as on such a line), IPv6 routed, the router answering PCP.
restart_scenario6() {
	local label="pinhole over IPv6 (PCP), IPv4 behind CGNAT"
	say "router restart, $label"
	if ! net_up "--ipv6 --cgnat" || ! http_start ::; then
		failed_row "router restart, $label" "pinhole reachable from inet" 1000 "could not set up the network"
		return
	fi
	URL="http://[$PK_PI6]:$PORT/token"
	write_conf "" "[forward web]
external = $PORT
family = both"
	start_daemon "router restart, $label"
	if ! until_ok "$GIVE_UP_S" status_is '[(f["ipv6"] or {}).get("state") for f in j["forwards"]] == ["active"]' ||
	    ! until_ok "$GIVE_UP_S" reaches; then
		failed_row "router restart, $label" "pinhole reachable from inet" 1000 "the daemon never made the pinhole"
		stop_daemon
		URL=
		return
	fi
	restart_runs "$label" "pinhole reachable from inet"
	URL=
}

# ---------------------------------------------------------------------------
# 2. WAN address change.

# In the background: polls the status every 20 ms until external_ip is $1;
# writes the wall-clock time (us) to $2.
status_poll() {
	local end=$(( $(now_us) + (GIVE_UP_S + 2) * 1000000 )) got t
	while :; do
		# No python here: its start-up would slow the polling down.
		got=$("$PK" status --socket "$WORK/api.sock" --json 2>/dev/null |
		    sed -n 's/^{"internal_ip":[^,]*,"external_ip":"\([0-9.]*\)".*/\1/p')
		t=$(now_us)
		[ "$got" = "$1" ] && { echo "$t" > "$2"; return 0; }
		[ "$t" -ge "$end" ] && return 1
		sleep 0.02
	done
}

# The wall-clock time (us) at which "ip -ts monitor address" in the router
# saw ADDR added, from its log.
added_at() {
	local ts
	ts=$(sed -n "s/^\[\([0-9T:.-]*\)\] [0-9]*: wan0 *inet $1\/.*/\1/p" "$2" | head -1)
	[ -n "$ts" ] || return 1
	date -d "$ts" +%s%6N
}

# hook_at SKIP ADDR: when (us) the hook ran for external_ip_changed to ADDR,
# from its log past the first SKIP lines.
hook_at() {
	tail -n +"$(($1 + 1))" "$WORK/hook.log" | awk -v a="$2" \
	    '$2 == "external_ip_changed" && $3 == a { print substr($1, 1, length($1) - 3); exit }'
}
hook_ran() { [ -n "$(hook_at "$1" "$2")" ]; }

wan_scenario() {
	local i cur new got seen t_addr t_status t_hook vs=() vh=() pollpid
	say "WAN address change"
	if ! net_up ""; then
		failed_row "WAN address change" "status shows the new address" 1000 "could not set up the network"
		failed_row "WAN address change" "on_change hook ran with it" 1000 "could not set up the network"
		return
	fi
	cat > "$WORK/hook" <<HOOK
#!/bin/sh
echo "\$(date +%s%N) \$PORTKEEPER_EVENT \$PORTKEEPER_EXTERNAL_IP" >> "$WORK/hook.log"
HOOK
	chmod 755 "$WORK/hook"
	: > "$WORK/hook.log"
	write_conf "on_change = $WORK/hook" "[forward web]
external = $PORT
internal = $PORT"
	start_daemon "WAN address change"
	if ! until_ok "$GIVE_UP_S" status_is "j['external_ip'] == '$PK_WAN' and [f['state'] for f in j['forwards']] == ['active']" ||
	    ! until_ok "$GIVE_UP_S" hook_ran 0 "$PK_WAN"; then
		failed_row "WAN address change" "status shows the new address" 1000 "the daemon never saw the first address"
		failed_row "WAN address change" "on_change hook ran with it" 1000 "the daemon never saw the first address"
		stop_daemon
		return
	fi
	for i in $(seq "$RUNS"); do
		sleep "$SETTLE_S"
		cur=$PK_WAN
		if [ "${cur##*.}" = 2 ]; then new=${cur%.*}.3; else new=${cur%.*}.2; fi
		rm -f "$WORK/status.t"
		seen=$(wc -l < "$WORK/hook.log")
		in_ns router ip -ts monitor address > "$WORK/mon.log" 2>&1 &
		MON_PID=$!
		status_poll "$new" "$WORK/status.t" &
		pollpid=$!
		sleep 0.2
		got=$("$HOMENET" wan-change "$new" 2> "$WORK/wan.log") || sed 's/^/  /' "$WORK/wan.log" >&2
		PK_WAN=$new
		wait "$pollpid"
		until_ok "$GIVE_UP_S" hook_ran "$seen" "$new"
		stop_bg "$MON_PID"
		MON_PID=
		t_addr=$(added_at "$new" "$WORK/mon.log")
		t_status=$(cat "$WORK/status.t" 2>/dev/null)
		t_hook=$(hook_at "$seen" "$new")
		if [ "$got" != "$new" ] || [ -z "$t_addr" ]; then
			say "  run $i: wan-change or its timestamp failed (got '$got')"
			vs+=(fail) vh+=(fail)
			continue
		fi
		if [ -n "$t_status" ]; then vs+=("$(( (t_status - t_addr) / 1000 ))"); else vs+=(fail); fi
		if [ -n "$t_hook" ]; then vh+=("$(( (t_hook - t_addr) / 1000 ))"); else vh+=(fail); fi
		say "  run $i: status ${vs[-1]} ms, hook ${vh[-1]} ms"
	done
	row "WAN address change" "status shows the new address" 1000 "${vs[@]}"
	row "WAN address change" "on_change hook ran with it" 1000 "${vh[@]}"
	stop_daemon
}

# ---------------------------------------------------------------------------
# 3. Idle cost.

idle_rows=()
IDLE_LOAD=
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

idle_scenario() {
	local i fwds="" tick a0 a1 t0 t1 cpu_ms pct rss hwm v
	say "idle cost, $IDLE_FORWARDS forwards, ${IDLE_S} s"
	tick=$(getconf CLK_TCK)
	for i in $(seq 0 $((IDLE_FORWARDS - 1))); do
		fwds+="[forward f$i]
external = $((8000 + i))

"
	done
	if ! net_up ""; then
		idle_rows+=("| idle cost | — | — | **FAIL**: could not set up the network |")
		fail=1
		return
	fi
	write_conf "" "$fwds"
	start_daemon "idle cost"
	if ! until_ok 30 status_is "[f['state'] for f in j['forwards']] == ['active'] * $IDLE_FORWARDS"; then
		idle_rows+=("| idle cost | — | — | **FAIL**: the $IDLE_FORWARDS forwards did not become active within 30 s |")
		fail=1
		stop_daemon
		return
	fi
	sleep "$SETTLE_S"
	a0=$(cpu_ticks "$PKD_PID") t0=$(now_us)
	sleep "$IDLE_S"
	a1=$(cpu_ticks "$PKD_PID") t1=$(now_us)
	# Other work on the machine shows in the kernel's share (softirqs), so
	# say how busy it was.
	IDLE_LOAD=$(cut -d' ' -f1 /proc/loadavg)
	rss=$(status_kb "$PKD_PID" VmRSS) hwm=$(status_kb "$PKD_PID" VmHWM)
	if [ -z "$a0" ] || [ -z "$a1" ] || [ -z "$rss" ] || [ -z "$hwm" ]; then
		idle_rows+=("| idle cost | — | — | **FAIL**: the daemon is gone |")
		fail=1
		return
	fi
	cpu_ms=$(( (a1 - a0) * 1000 / tick ))
	pct=$("$PYTHON" -c "print('%.3f' % ($cpu_ms * 100000 / ($t1 - $t0)))")
	v=met
	"$PYTHON" -c "import sys; sys.exit(0 if $pct < 0.1 else 1)" ||
	    v="missed: $("$PYTHON" -c "print('%.1f' % ($pct / 0.1))")x the target"
	idle_rows+=("| CPU, % of one core | $pct % ($cpu_ms ms in $(( (t1 - t0) / 1000 )) ms, $((a1 - a0)) ticks of $((1000 / tick)) ms) | < 0.1 % | $v |")
	v=met
	[ "$rss" -le 4096 ] || v="missed by $((rss - 4096)) kB"
	idle_rows+=("| VmRSS at the end | $rss kB | ≤ 4096 kB | $v |")
	v=met
	[ "$hwm" -le 4096 ] || v="missed by $((hwm - 4096)) kB"
	idle_rows+=("| VmHWM (peak RSS since start) | $hwm kB | ≤ 4096 kB | $v |")
	if ! status_is "[f['state'] for f in j['forwards']] == ['active'] * $IDLE_FORWARDS"; then
		idle_rows+=("| forwards still active at the end | no | all | **FAIL** |")
		fail=1
	fi
	stop_daemon
}

start=$(now_us)
restart_scenario "both protocols" ""
restart_scenario "UPnP only" "--no-natpmp"
restart_scenario "NAT-PMP only" "--no-upnp"
restart_scenario6
wan_scenario
idle_scenario
"$HOMENET" down > /dev/null 2>&1

{
	echo "portkeeperd on the simulated home network (miniupnpd $(/usr/sbin/miniupnpd --version 2>&1 | awk 'NR==1{print $2}')), $RUNS runs each, wall-clock ms."
	echo "Router restart: from \`homenet.sh router-restart\` returning until the inet host fetches the pi's token through the forward (curl every 20 ms, at most 200 ms each); for the pinhole, from the pi's own IPv6 address."
	echo "WAN change: from the new address appearing on the router's wan0 (\`ip -ts monitor\`) until \`portkeeper status --json\` shows it (polled every 20 ms), and until the on_change hook's \`date +%s%N\` for external_ip_changed with that address."
	echo
	echo "| scenario | until | median | min | max | runs ok | target ms | verdict |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Idle: $IDLE_FORWARDS active forwards (ports 8000-$((8000 + IDLE_FORWARDS - 1))), lease 7200 s, verify_interval 60 s (so the window holds one verification round), ${IDLE_S} s, no status queries meanwhile."
	echo "CPU is utime+stime from /proc/PID/stat; it includes the kernel's work on the veth path, where the simulated router's bridge and nftables run in the sender's context (load average at the end of the window: ${IDLE_LOAD:-?} on $(nproc) CPUs)."
	echo
	echo "| quantity | measured | target | verdict |"
	echo "|---|---|---|---|"
	printf '%s\n' "${idle_rows[@]}"
} | tee "$OUT"
say "done in $(( ($(now_us) - start) / 1000000 )) s"
exit $fail

#!/bin/bash
# make bench: how long opening an IPv6 pinhole (PCP, then UPnP IGD:2) and an
# IPv4 forward through PCP take on the simulated home network, against the
# same request sent by another client in the same run (issue 15):
#
#   - open 8080 -6 through PCP, and open 8080 --via pcp (IPv4), against
#     tests/net/pcp_client.py sending the same MAP: within 1.1x;
#   - open 8080 -6 through UPnP (the router's PCP port closed for IPv6),
#     against upnpc -6 -A with its own discovery, as a user runs it: at
#     most 0.1x.
#
# Timing happens inside the pi's namespace with compare.py: the two commands
# alternate, and before every run bench/ipv6_reset.sh removes what either
# made (untimed) and checks that the router holds nothing for the port, so
# every timed run creates a new pinhole or forward.  Prints a Markdown
# table, also written next to the binary as benchmarks-ipv6.md.  Needs root.
#
# usage: bench/ipv6.sh [PORTKEEPER_BINARY] [RUNS]     (RUNS default 11)

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PK=$(readlink -f "${1:-$TOP/build/portkeeper}")
RUNS=${2:-11}
SLOW_RUNS=5	# upnpc's discovery takes about 2 s a run
HOMENET=$TOP/tests/net/homenet.sh
COMPARE=$TOP/bench/compare.py
RESET=$TOP/bench/ipv6_reset.sh
PCP_CLIENT=$TOP/tests/net/pcp_client.py
OUT=$(dirname "$PK")/benchmarks-ipv6.md
export PK_NET=bench6
# shellcheck source=bench/lib.sh
. "$TOP/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "bench/ipv6.sh needs root (network namespaces)" >&2; exit 1; }
[ -x "$PK" ] || { echo "bench/ipv6.sh: no binary $PK (run make)" >&2; exit 1; }
WORK=$(mktemp -d)
# portkeeper keeps its nonces and UniqueIDs in a runtime directory of the
# benchmark's own, on tmpfs like a real one (/run/user/UID): on a disk,
# the two fsyncs of every open and close would add milliseconds.
RUNDIR=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
trap '"$HOMENET" down >/dev/null 2>&1; rm -rf "$WORK" "$RUNDIR"' EXIT
trap 'exit 130' INT TERM

# What ipv6_reset.sh needs.
export BENCH6_PK=$PK BENCH6_NONCE=0123456789abcdef01234567
export BENCH6_FAILED=$WORK/failed BENCH6_UPNP_URL=
export XDG_RUNTIME_DIR=$RUNDIR

rows=()
fail=0
summary=()

# row SCENARIO COMMAND RESULT [PEER_RESULT TARGET]: a table row; with a
# peer, the ratio and whether it is at most TARGET.
row() {
	local r="—" t="" v=""
	if [ $# -gt 3 ]; then
		r=$(ratio "$3" "$4")
		t="≤ $5x"
		if python3 -c 'import sys; sys.exit(float(sys.argv[1]) > float(sys.argv[2]))' "$r" "$5"; then
			v=met
		else
			v="**missed**"
		fi
		summary+=("$1: ${r}x, target ≤ $5x: $v")
		r=${r}x
	fi
	rows+=("| $1 | \`$2\` | $(field "$3" median) | $(field "$3" min) | $(field "$3" max) | $r | $t | $v |")
}

# scenario NAME RESET_KIND TARGET PEER_LABEL PEER_RUNS PEER_CMD... -- PK_ARGS...
scenario() {
	local name=$1 kind=$2 target=$3 peer_label=$4 peer_runs=$5 both
	shift 5
	local peer=() pk=()
	while [ "$1" != -- ]; do peer+=("$1"); shift; done
	shift
	pk=("$@")
	echo "bench/ipv6.sh: $name" >&2
	rm -f "$BENCH6_FAILED"
	if ! both=$(ip netns exec "$PK_NET-pi" python3 "$COMPARE" "$peer_runs" "$RUNS" \
	    "$RESET $kind" -- "${peer[@]}" -- "$PK" "${pk[@]}") ||
	    [ -s "$BENCH6_FAILED" ]; then
		cat "$BENCH6_FAILED" >&2 2>/dev/null
		echo "bench/ipv6.sh: $name: failed" >&2
		rows+=("| $name | \`portkeeper ${pk[*]}\` | failed | | | | ≤ ${target}x | |")
		summary+=("$name: failed")
		fail=1
		return
	fi
	row "$name" "$peer_label" "$(pick "$both" a)"
	row "$name" "portkeeper ${pk[*]}" "$(pick "$both" b)" "$(pick "$both" a)" "$target"
}

# up KNOBS...: a fresh network, and its addresses in the environment.
up() {
	"$HOMENET" up "$@" >/dev/null 2>&1 || { echo "bench/ipv6.sh: cannot bring up $*" >&2; exit 1; }
	eval "$("$HOMENET" info)"
}

up --ipv6
PCP6="--gw $PK_ROUTER6_LL%eth0 --src $PK_PI6 --port 8080 --lifetime 3600"
# shellcheck disable=SC2086 # PCP6 is a list of options
scenario "IPv6, PCP" pcp6 1.1 "pcp_client.py $PCP6" "$RUNS" \
    "$PCP_CLIENT" $PCP6 --nonce "$BENCH6_NONCE" -- open 8080 -6

"$HOMENET" set pcp off
eval "$("$HOMENET" info)"
BENCH6_UPNP_URL="http://[$PK_ROUTER6]:$PK_UPNP_PORT/rootDesc.xml"
scenario "IPv6, UPnP only (PCP off)" upnp6 0.1 "upnpc -6 -A \"\" 0 $PK_PI6 8080 TCP 3600" "$SLOW_RUNS" \
    upnpc -6 -A "" 0 "$PK_PI6" 8080 TCP 3600 -- open 8080 -6

# IPv4 on a network without IPv6, so that open without -4 asks for IPv4 only.
up
PCP4="--gw $PK_ROUTER_LAN --src $PK_PI --port 8080 --lifetime 3600"
# shellcheck disable=SC2086 # PCP4 is a list of options
scenario "IPv4, PCP" pcp4 1.1 "pcp_client.py $PCP4" "$RUNS" \
    "$PCP_CLIENT" $PCP4 --nonce "$BENCH6_NONCE" -- open 8080 --via pcp

{
	echo "Opening a new IPv6 pinhole or IPv4 forward on the simulated home network (miniupnpd $(/usr/sbin/miniupnpd --version 2>&1 | awk 'NR==1{print $2}'), $(nproc) CPUs), wall-clock ms, $RUNS runs ($SLOW_RUNS for upnpc)."
	echo "Runs of the two commands alternate; before each, what either made is removed and the router checked to hold nothing for the port (untimed)."
	echo "Ratio: portkeeper's median over the peer's median (below 1 is faster)."
	echo
	echo "| scenario | command | median | min | max | ratio to peer | target | verdict |"
	echo "|---|---|---:|---:|---:|---:|---:|---|"
	printf '%s\n' "${rows[@]}"
	echo
	printf -- '- %s\n' "${summary[@]}"
} | tee "$OUT"
exit $fail

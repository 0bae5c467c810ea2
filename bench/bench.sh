#!/bin/bash
# make bench: how long opening a port takes on the simulated home network,
# side by side with the tools a user would use today (natpmpc, upnpc -r), in
# one run.  Timing happens inside the pi's namespace, so entering it is not
# counted for anyone.  Prints a Markdown table (also written to
# build/benchmarks.md).
#
# usage: bench/bench.sh [PORTKEEPER_BINARY] [RUNS]     (RUNS default 21)
# PK_BENCH_PREFIX, if set, is put before the network's name, so that two runs
# on one machine keep apart.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PK=$(readlink -f "${1:-$TOP/build/portkeeper}")
RUNS=${2:-21}
SLOW_RUNS=5	# upnpc -r takes about 2 s a run
HOMENET=$TOP/tests/net/homenet.sh
COMPARE=$TOP/bench/compare.py
OUT=$TOP/build/benchmarks.md
export PK_NET=${PK_BENCH_PREFIX:-}bench
# shellcheck source=bench/lib.sh
. "$TOP/bench/lib.sh"

[ "$(id -u)" = 0 ] || { echo "make bench needs root (network namespaces)" >&2; exit 1; }
trap '"$HOMENET" down >/dev/null 2>&1' EXIT

rows=()
fail=0

# row SCENARIO TOOL RESULT PEER_RESULT
row() {
	local r
	if [ -z "$4" ]; then r="—"; else r="$(ratio "$3" "$4")x"; fi
	rows+=("| $1 | \`$2\` | $(field "$3" median) | $(field "$3" min) | $(field "$3" max) | $r |")
}

# scenario NAME KNOBS PEER_LABEL PEER_RUNS PEER_CMD...: the peer and
# portkeeper, interleaved, each run opening a forward that does not exist yet.
scenario() {
	local name=$1 knobs=$2 peer_label=$3 peer_runs=$4; shift 4
	local both
	# shellcheck disable=SC2086
	"$HOMENET" up $knobs > /dev/null 2>&1 || { echo "bench: cannot bring up $knobs" >&2; exit 1; }
	echo "bench: $name" >&2
	# shellcheck disable=SC2086 # PK_ARGS is words
	both=$(ip netns exec "$PK_NET-pi" python3 "$COMPARE" "$peer_runs" "$RUNS" \
	    "$PK close 8080 $PK_ARGS" -- "$@" -- "$PK" open 8080 $PK_ARGS) || { fail=1; return; }
	row "$name" "$peer_label" "$(pick "$both" a)" ""
	row "$name" "portkeeper open 8080${PK_ARGS:+ $PK_ARGS}" "$(pick "$both" b)" "$(pick "$both" a)"
}

GW=192.168.77.1
# miniupnpd speaks PCP beside NAT-PMP, and auto prefers PCP: the NAT-PMP
# row asks for NAT-PMP by name, so that it compares the same protocol.
PK_ARGS="--via natpmp"
scenario "NAT-PMP only" "--no-upnp" "natpmpc -g $GW -a 8080 8080 tcp 3600" "$RUNS" \
    natpmpc -g "$GW" -a 8080 8080 tcp 3600
PK_ARGS=
# Process start-up alone, the part of the NAT-PMP row that is not the
# protocol: neither command talks to the network.
echo "bench: start-up" >&2
if both=$(python3 "$COMPARE" "$RUNS" "$RUNS" true -- natpmpc -h -- "$PK" --version); then
	row "start-up (no network)" "natpmpc -h" "$(pick "$both" a)" ""
	row "start-up (no network)" "portkeeper --version" "$(pick "$both" b)" "$(pick "$both" a)"
else
	fail=1
fi
scenario "UPnP only" "--no-natpmp" "upnpc -r 8080 TCP" "$SLOW_RUNS" \
    upnpc -r 8080 TCP
scenario "both (auto)" "" "natpmpc -g $GW -a 8080 8080 tcp 3600" "$RUNS" \
    natpmpc -g "$GW" -a 8080 8080 tcp 3600

{
	echo "Opening a new forward on the simulated home network (miniupnpd $(/usr/sbin/miniupnpd --version 2>&1 | awk 'NR==1{print $2}')), wall-clock ms, $RUNS runs ($SLOW_RUNS for upnpc)."
	echo "The start-up rows time the programs alone, without the network."
	echo "Runs of the two commands alternate; before each, the forward is removed (untimed)."
	echo "Ratio: the row's median over the peer's median (below 1 is faster)."
	echo
	echo "| router speaks | command | median | min | max | ratio to peer |"
	echo "|---|---|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
} | tee "$OUT"
exit $fail

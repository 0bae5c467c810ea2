#!/bin/bash
# Slow clients (issue 13, item 1): connections that trickle a request a
# byte at a time must not hold the servers' connection slots.
#
# The probe server on the internet host: 8 addresses x 4 connections
# trickling a request body (one byte every 2 s) used to hold all 32 of its
# slots for as long as they liked, and real probes timed out.  Now every
# request must be whole 10 s after its connection opened, and there are
# 256 slots (4 per address), so a probe gets through throughout.
. "$(dirname "$0")/lib.sh"
require_netns
net_up --no-hairpin

PORT=8770
in_ns inet "$PORTKEEPER" probe-server --listen "0.0.0.0:$PORT" \
    > "$T_WORK/probe-server.log" 2>&1 &
check "the probe server answers" until_ok 5 eval \
    'in_ns pi curl -sf --max-time 1 "http://$PK_INET:$PORT/" > /dev/null'

# Eight more addresses on the internet host for the attacker.
srcs=()
for i in $(seq 101 108); do
	in_ns inet ip addr add "11.22.33.$i/24" dev eth0
	srcs+=("11.22.33.$i")
done
in_ns inet "$PY" "$TOP/tests/net/slowloris.py" --target "$PK_INET:$PORT" \
    --sources "$(IFS=,; echo "${srcs[*]}")" --per-source 4 --mode body \
    --path /probe --interval 2 --duration 25 > "$T_WORK/attack.json" 2>&1 &
ATTACK=$!
sleep 2

# A real probe from the pi, as portkeeper doctor sends it, three times
# while the attack runs: before, around and after its connections' 10 s.
probe_ok() {
	local code
	code=$(in_ns pi curl -s -o "$T_WORK/probe.out" -w '%{http_code}' \
	    --max-time 5 -H 'Content-Type: application/json' \
	    -d '{"port":80,"protocol":"tcp"}' "http://$PK_INET:$PORT/probe")
	[ "$code" = 200 ] && grep -q '"reachable"' "$T_WORK/probe.out"
}
n=0
for at in 3 10 16; do
	sleep $((at - ${last:-2}))
	last=$at
	if probe_ok; then n=$((n + 1)); else note "the probe at ${at} s failed"; fi
done
check "a probe gets through while 32 slow connections from 8 addresses are open ($n of 3)" \
    [ "$n" = 3 ]
wait "$ATTACK"
OUT=$(cat "$T_WORK/attack.json")
note "attack: $OUT"
check "the attacker opened its 32 connections" json_is 'j["opened"]' 32
check "... and the server dropped every one within 12 s, trickle or not" json_is \
    'j["closed_by_server"] == 32 and j["closed_after_max_s"] <= 12' True
exit $T_FAILED

#!/bin/bash
# Slow clients (issue 13, item 1): connections that trickle a request a
# byte at a time must not hold the servers' connection slots.
#
# The web API: 4 LAN addresses x 128 connections, each sending one header
# byte every 4 s, used to hold all 512 connections for as long as they
# liked, and /api/health timed out, from the Pi itself too.  Now a request
# must be whole 10 s after its connection opened, and an address may hold
# 100 connections, so /api/health answers within 1 s throughout.
#
# The probe server on the internet host: 8 addresses x 4 connections
# trickling a request body (one byte every 2 s) used to hold all 32 of its
# slots for as long as they liked, and real probes timed out.  Now the same
# deadline holds there, and there are 256 slots (4 per address), so a
# probe gets through throughout.
. "$(dirname "$0")/lib.sh"
require_netns
net_up --no-hairpin

# --- The web API ------------------------------------------------------
htpasswd -nbB -C 5 admin secret > "$T_WORK/htpasswd"
web_daemon_start
health() {
	in_ns "$1" curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
	    --max-time 3 "http://$PK_PI:8088/api/health" || echo "000 3"
}
check "the web API answers" until_ok 5 eval '[ "$(health laptop | cut -d" " -f1)" = 200 ]'
lan=()
for i in 31 32 33 34; do
	in_ns laptop ip addr add "192.168.77.$i/24" dev eth0
	lan+=("192.168.77.$i")
done
in_ns laptop "$PY" "$TOP/tests/net/slowloris.py" --target "$PK_PI:8088" \
    --sources "$(IFS=,; echo "${lan[*]}")" --per-source 128 --mode header \
    --interval 4 --duration 30 > "$T_WORK/web-attack.json" 2>&1 &
ATTACK=$!
sleep 2
: > "$T_WORK/health"
for i in $(seq 40); do
	health laptop >> "$T_WORK/health"
	health pi >> "$T_WORK/health"
	sleep 0.5
done
wait "$ATTACK"
OUT=$(cat "$T_WORK/web-attack.json")
note "attack on the web API: $OUT"
read -r n slow worst <<< "$(awk '{ n++; if ($1 != 200 || $2 > 1) s++; if ($2 > w) w = $2 }
    END { printf "%d %d %.3f", n, s, w }' "$T_WORK/health")"
note "/api/health from the laptop and the pi: $n requests, $slow not answered within 1 s, slowest ${worst} s"
check "/api/health answers every request within 1 s while 4 addresses try 512 slow connections" \
    [ "$slow" = 0 ]
check "... and every slow connection is dropped by 12 s" json_is \
    'j["held_to_the_end"] == 0 and (j["closed_after_max_s"] or 0) <= 12' True
kill "$PKD_PID"; wait "$PKD_PID" 2>/dev/null

# --- The probe server -------------------------------------------------

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

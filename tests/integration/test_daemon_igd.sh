#!/bin/bash
# portkeeperd remembers what it learned of the router from one check to the
# next (include/portmap_memo.h), against routers the zoo impersonates
# (tests/zoo/), whose log shows every request:
#  - it finds the IGD once, one M-SEARCH and one description GET, however
#    many checks follow, each of which still asks the router for the forward;
#  - a restart of the router on another HTTP port (a new LOCATION, the old
#    control URL refused) has it find the IGD again and make the forward
#    again, and from then on it keeps the new one;
#  - on a router that speaks only NAT-PMP, it stops asking for UPnP after
#    the check that found it silent, and still keeps the forward.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
PROFILE=$TOP/tests/zoo/profiles/miniupnpd-2.3.1.json
net_up --no-upnp --no-natpmp
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

# The same router with UPnP off: NAT-PMP only.
"$PY" - "$PROFILE" "$T_WORK/natpmp-only.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
p["description"] = None
p["services"] = {}
json.dump(p, open(sys.argv[2], "w"))
EOF

SOCK=$T_WORK/api.sock
mkdir -p "$T_WORK/state"
cat > "$T_WORK/pk.conf" <<CONF
[portkeeper]
method = auto
lease = 3600
state_dir = $T_WORK/state
socket = $SOCK
remove_on_exit = yes
verify_interval = 5

[forward web]
external = 8080
internal = 8080
CONF
# -vv: the debug lines say what each check asked.
start_daemon() {
	ip netns exec "$PK_NET-pi" "$PKD" -f -vv -c "$T_WORK/pk.conf" \
	    >> "$T_WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}
stop_daemon() {
	[ -n "${PKD_PID:-}" ] || return 0
	kill "$PKD_PID" 2>/dev/null
	wait "$PKD_PID" 2>/dev/null
	PKD_PID=
}
rounds() {
	curl -s --max-time 2 --unix-socket "$SOCK" http://localhost/metrics |
	    awk '$1 == "portkeeper_rounds_total" { print $2 }'
}
# rounds_past N: the daemon has done N rounds more than when R0 was taken.
rounds_past() { local r; r=$(rounds); [ -n "$r" ] && [ "$r" -ge $((R0 + $1)) ]; }
active() {
	pk status --socket "$SOCK" --json
	json_is '[f["state"] for f in j["forwards"]]' "['active']"
}
count() { grep -cE "$1" "$2"; }
# How many lines of the daemon's log match, past the first SKIP.
pkd_count() { tail -n +"$(($2 + 1))" "$T_WORK/pkd.log" | grep -cE "$1"; }

# --- 1. The IGD found once.
Z1=$T_WORK/zoo1.log
zoo_start "$Z1" "$PROFILE" || { nok "the zoo starts"; exit 1; }
start_daemon
check "the forward is made" until_ok 15 active
check "the internet reaches the pi through it" until_ok 10 reaches inet "$PK_WAN" 8080
# An M-SEARCH is several datagrams (a search target each, resent).
S0=$(count '^[0-9.]+ ssdp M-SEARCH' "$Z1")
R0=$(rounds)
check "three checks follow (verify_interval 5 s)" until_ok 30 rounds_past 3
n=$(count '^[0-9.]+ soap GetSpecificPortMappingEntry .*ext=8080' "$Z1")
check "each check asked the router for the forward ($n times)" [ "$n" -ge 3 ]
n=$(count '^[0-9.]+ ssdp M-SEARCH' "$Z1")
check "no M-SEARCH after the first ($S0, then $n)" [ "$n" = "$S0" ] && [ "$n" -ge 1 ]
n=$(count '^[0-9.]+ http GET ' "$Z1")
check "one description GET in all ($n)" [ "$n" = 1 ]

# --- 2. The router restarts on another port: a new LOCATION.
OLD_PORT=$(cat "$T_WORK/ready")
zoo_stop
Z2=$T_WORK/zoo2.log
zoo_start "$Z2" "$PROFILE" || { nok "the zoo starts again"; exit 1; }
NEW_PORT=$(cat "$T_WORK/ready")
note "the zoo's HTTP port was $OLD_PORT, is now $NEW_PORT"
check "the forward is made again after the restart" until_ok 20 reaches inet "$PK_WAN" 8080
control_url_port() {
	pk status --socket "$SOCK" --json
	json_is '(j["gateway"]["upnp"]["control_url"] or "").split("/")[2].split(":")[1]' "$1"
}
check "the status names the new control URL" until_ok 5 control_url_port "$NEW_PORT"
n=$(count '^[0-9.]+ http GET ' "$Z2")
check "the IGD was looked for again: a description GET ($n)" [ "$n" -ge 1 ]
S0=$(count '^[0-9.]+ ssdp M-SEARCH' "$Z2")
R0=$(rounds)
check "three checks more" until_ok 30 rounds_past 3
n=$(count '^[0-9.]+ http GET ' "$Z2")
check "still one description GET at the new router ($n)" [ "$n" = 1 ]
n=$(count '^[0-9.]+ ssdp M-SEARCH' "$Z2")
check "and no M-SEARCH more ($S0, then $n)" [ "$n" = "$S0" ]

# --- 3. NAT-PMP only: UPnP is not waited for once found silent.
zoo_stop
Z3=$T_WORK/zoo3.log
zoo_start "$Z3" "$T_WORK/natpmp-only.json" || { nok "the NAT-PMP zoo starts"; exit 1; }
check "the forward is made over NAT-PMP" until_ok 20 reaches inet "$PK_WAN" 8080
check "three checks (one finds UPnP silent)" until_ok 30 rounds_past 3
SKIP=$(wc -l < "$T_WORK/pkd.log")
R0=$(rounds)
check "three checks more" until_ok 30 rounds_past 3
# "discover: NAT-PMP 2, PCP 0, UPnP 0 after N ms": UPnP 0 is never asked.
n=$(pkd_count 'discover: NAT-PMP 2, PCP [0-9], UPnP 0 after' "$SKIP")
a=$(pkd_count 'discover: NAT-PMP' "$SKIP")
check "those checks asked NAT-PMP alone ($n of $a)" [ "$n" -ge 3 ] && [ "$n" = "$a" ]
n=$(count '^[0-9.]+ natpmp op=2 .*ext=8080 .*-> ok' "$Z3")
check "and asked it for the forward ($n times)" [ "$n" -ge 3 ]
check "the forward is still active" active
check "and reachable" reaches inet "$PK_WAN" 8080

stop_daemon
zoo_stop
if [ "$T_FAILED" != 0 ]; then
	note "daemon log (last 40 lines):"
	tail -40 "$T_WORK/pkd.log" | sed 's/^/#   /'
fi
exit "$T_FAILED"

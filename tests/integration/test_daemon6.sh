#!/bin/bash
# portkeeperd keeps pinholes (issue 16) on the home it is for: IPv4 behind
# carrier-grade NAT (the router's WAN in 100.64/10), IPv6 routed
# (homenet.sh up --ipv6 --cgnat), Debian's miniupnpd answering PCP and UPnP
# IGD:2.  One forward with family = both:
# - the pi's page is reachable from the internet host over IPv6, and the
#   hook got pinhole_added with PORTKEEPER_IPV6 and PORTKEEPER_FAMILY=6;
# - status shows the forward's family and its "ipv6" object, and the host's
#   IPv6 address; state.json records the pinhole's nonce;
# - after a router restart (every pinhole lost, a new PCP epoch) it is
#   reachable again within about a second;
# - after a LAN prefix change it is reachable at the new address, the hook
#   got ipv6_address_changed with both addresses, and status and
#   state.json keep the history;
# - a family = 6 forward gets its pinhole and no IPv4 forward;
# - kill -9 and a restart adopt the pinhole (same nonce, not mapped
#   again), and SIGTERM with remove_on_exit closes it with that nonce;
# - with PCP closed over IPv6 (only UPnP IGD:2 answers), the same through
#   UPnP, its UniqueID kept, refreshed with UpdatePinhole, and re-added
#   after a router restart.
# Every "open" is checked from the internet host.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}

CONF=$T_WORK/portkeeper.conf
HOOKLOG=$T_WORK/hook.log
SOCK=$T_WORK/api.sock
STATE=$T_WORK/state/state.json
mkdir -p "$T_WORK/state"
cat > "$T_WORK/hook" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT fwd=\$PORTKEEPER_FORWARD v6=\$PORTKEEPER_IPV6 family=\$PORTKEEPER_FAMILY old6=\$PORTKEEPER_OLD_IPV6" >> "$HOOKLOG"
HOOK
chmod +x "$T_WORK/hook"
write_conf() {
	cat > "$CONF" <<CONF
[portkeeper]
method = auto
lease = $1
state_dir = $T_WORK/state
socket = $SOCK
on_change = $T_WORK/hook
remove_on_exit = yes
verify_interval = 30
ipv6 = ${2:-on}
ipv6_address = ${3:-auto}

[forward web]
external = 8080
internal = 8080
family = both

[forward six]
external = 9443
internal = 9443
family = 6

[forward four]
external = 8081
internal = 8080
family = 4
CONF
}
start_daemon() {
	ip netns exec "$PK_NET-pi" "$PKD" -f -vv -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}
stop_daemon() {
	kill -TERM "$PKD_PID" 2>/dev/null
	wait "$PKD_PID" 2>/dev/null
}
status() { pk status --socket "$SOCK" --json; }
ph_is() {
	status
	json_is '[(f["ipv6"]["state"], f["ipv6"]["method"]) for f in j["forwards"] if f["name"] == "web"]' "$1"
}
# The pinhole's record in state.json: "kind nonce-or-uniqueid address".
ph_record() {
	"$PY" -c 'import json,sys
for p in json.load(open(sys.argv[1])).get("pinholes", []):
    print(p["kind"], p.get("nonce", p.get("unique_id")), p["address"], p["port"])' "$STATE" 2>/dev/null
}
v6_reaches() { reaches inet "[$PK_PI6]" 8080; }
restore_ms() {
	local start=$(date +%s%N)
	until_ok 10 v6_reaches || return 1
	RESTORE_MS=$(( ($(date +%s%N) - start) / 1000000 ))
}

net_up --ipv6 --cgnat --no-hairpin
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }
note "pi $PK_PI6, IPv4 WAN $PK_WAN (carrier-grade NAT)"
check "the router's IPv4 WAN is carrier-grade NAT (100.64/10)" \
    eval '[[ $PK_WAN == 100.* ]]'
check "before the daemon inet cannot reach the pi over IPv6" not v6_reaches

# --- PCP ---------------------------------------------------------------------
# ipv6_address = ::10: the pi's interface identifier in whatever the prefix
# is (the prefix change below moves it).
write_conf 3600 on ::10
check "portkeeperd -n accepts family = both and ipv6 = on" in_ns pi "$PKD" -n -c "$CONF"
start_daemon
check "portkeeperd opens the forward's pinhole through PCP" until_ok 10 ph_is \
    "[('active', 'pcp')]"
check "... and the internet host reaches the pi's page over IPv6" until_ok 3 v6_reaches
check "the hook got pinhole_added with PORTKEEPER_IPV6 and PORTKEEPER_FAMILY=6" \
    until_ok 3 grep -q "^pinhole_added fwd=web v6=$PK_PI6 family=6" "$HOOKLOG"
status
check "status: the forward's family, and its ipv6 object" json_is \
    '[(f["family"], f["ipv6"]["address"], f["ipv6"]["port"], f["ipv6"]["expires_in"] > 3000, f["ipv6"]["error"]) for f in j["forwards"] if f["name"] == "web"]' \
    "[('both', '$PK_PI6', 8080, True, None)]"
check "... every IPv4 field as before, the forward failed for want of a public address" json_is \
    '[(set(f.keys()) >= {"name","protocol","external_port","internal_port","method","state","expires_in","last_refresh","error"}, f["state"]) for f in j["forwards"] if f["name"] == "web"]' \
    "[(True, 'failed')]"
six_kept() {
	status
	json_is '[(f["family"], f["ipv6"]["state"], f["ipv6"]["port"], f["state"], f["method"], f["error"]) for f in j["forwards"] if f["name"] == "six"]' \
	    "[('6', 'active', 9443, 'pending', None, None)]"
}
check "the family = 6 forward has its pinhole and was never tried over IPv4" until_ok 5 six_kept

check "a family = 4 forward has no pinhole" json_is \
    '[(f["family"], f["ipv6"]) for f in j["forwards"] if f["name"] == "four"]' "[('4', None)]"
api_web() {
	OUT=$(in_ns pi curl -s --unix-socket "$SOCK" http://x/api/forwards/web)
	json_is '(j["family"], j["ipv6"]["state"], j["ipv6"]["method"])' "('both', 'active', 'pcp')"
}
check "GET /api/forwards/web has the family and the pinhole too" api_web
status
check "... and the host's IPv6 address and its kind" json_is \
    '(j["ipv6"]["enabled"], j["ipv6"]["address"], j["ipv6"]["kind"], type(j["ipv6"]["history"]).__name__)' \
    "(True, '$PK_PI6', 'static', 'list')"
status
check "the events carry pinhole_added" json_is \
    '"pinhole_added" in [e["event"] for e in j["events"]]' True
# CPU ticks (1/100 s) the daemon used in 3 s: it waits in poll.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PKD_PID/stat"; }
idle_daemon() {
	local t0=$(cpu_ticks) used
	sleep 3
	used=$(( $(cpu_ticks) - t0 ))
	note "the daemon used $used ticks of CPU in 3 s"
	[ "$used" -lt 30 ]
}
check "holding pinholes, the daemon idles (under 10 % of a CPU)" idle_daemon
rec=$(ph_record | grep " 8080$")
check "state.json records the pinhole with its PCP nonce" \
    eval '[[ $rec =~ ^pcp\ [0-9a-f]{24}\ $PK_PI6\ 8080$ ]]'
curl_metrics() { in_ns pi curl -s --unix-socket "$SOCK" http://x/metrics; }
check "/metrics has the pinhole with a family label" eval \
    'curl_metrics | grep -q "^portkeeper_forward_family_up{forward=\"web\",family=\"6\"} 1"'
check "... and the IPv4 forward that CGNAT keeps closed, with family 4" eval \
    'curl_metrics | grep -q "^portkeeper_forward_family_up{forward=\"web\",family=\"4\"} 0"'
check "... no family 6 series for a family = 4 forward" not eval \
    'curl_metrics | grep -q "forward=\"four\",family=\"6\""'

# A PCP ANNOUNCE (RFC 6887 section 14.1.3) as a router sends it over IPv6:
# from its link-local address to [ff02::1]:5350.
announce6() {
	in_ns router "$PY" -c 'import socket, struct
br0 = socket.if_nametoindex("br0")
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("fe80::1", 0, 0, br0))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, br0)
s.sendto(bytes([2, 0x80, 0, 0]) + struct.pack("!II", 0, 424242) + bytes(12), ("ff02::1", 5350, 0, br0))'
}
check "a PCP ANNOUNCE to [ff02::1]:5350 makes the daemon check its pinholes" eval \
    'announce6 && until_ok 3 grep -q "announced itself over IPv6 (PCP, epoch 424242)" "$T_WORK/pkd.log"'

# --- A router restart ----------------------------------------------------------
"$HOMENET" router-restart > /dev/null 2>&1
if restore_ms; then
	note "reachable over IPv6 again $RESTORE_MS ms after the router restarted"
	check "... and back within about a second" [ "$RESTORE_MS" -le 2500 ]
else
	nok "after a router restart the pinhole comes back"
fi
check "the hook got pinhole_lost and pinhole_restored" until_ok 3 eval \
    'grep -q "^pinhole_lost fwd=web" "$HOOKLOG" && grep -q "^pinhole_restored fwd=web v6=$PK_PI6 family=6" "$HOOKLOG"'

# --- A new LAN prefix ------------------------------------------------------------
old6=$PK_PI6
"$HOMENET" prefix-change > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "the pi's address moved from $old6 to $PK_PI6"
check "after a LAN prefix change the page is reachable at the new address" until_ok 15 v6_reaches
check "rtnetlink told the daemon of the new address" until_ok 3 \
    grep -q "this host's IPv6 address is now $PK_PI6; checking the pinholes" "$T_WORK/pkd.log"
check "the hook got ipv6_address_changed with PORTKEEPER_IPV6 and PORTKEEPER_OLD_IPV6" until_ok 3 \
    grep -q "^ipv6_address_changed fwd= v6=$PK_PI6 family=6 old6=$old6$" "$HOOKLOG"
status
check "status: the new address, and the history keeps both" json_is \
    '(j["ipv6"]["address"], [h["ip"] for h in j["ipv6"]["history"]])' "('$PK_PI6', ['$old6', '$PK_PI6'])"
history_kept() {
	[ "$("$PY" -c 'import json,sys; print([h["ip"] for h in json.load(open(sys.argv[1]))["ipv6_history"]])' "$STATE")" = "['$old6', '$PK_PI6']" ] &&
	    ph_record | grep -q " $PK_PI6 8080$"
}
check "state.json: the history, and the pinhole's record for the new address" until_ok 3 history_kept

# --- kill -9 and a restart: adopted, not mapped again ---------------------------
rec=$(ph_record)
kill -9 "$PKD_PID"; wait "$PKD_PID" 2>/dev/null
: > "$HOOKLOG"
start_daemon
# Opened for the new prefix through PCP, or through UPnP when PCP did not
# answer while the router restarted: either is auto's.
check "after kill -9 and a restart the pinhole is adopted from state.json" \
    until_ok 10 grep -q "pinhole of port 8080/tcp for $PK_PI6 via .* kept from the last run" "$T_WORK/pkd.log"
ph_active() {
	status
	json_is '[f["ipv6"]["state"] == "active" and f["ipv6"]["method"] in ("pcp", "upnp") for f in j["forwards"] if f["name"] == "web"]' "[True]"
}
check "... active in status" until_ok 5 ph_active
check "... with the same nonce (not mapped again)" eval '[ "$(ph_record)" = "$rec" ]'
check "... and no pinhole_added" not grep -q "^pinhole_added" "$HOOKLOG"
check "... still reachable" v6_reaches
stop_daemon
check "SIGTERM with remove_on_exit closes the pinhole with its recorded nonce (or UniqueID)" \
    until_ok 3 grep -q "^pinhole_removed fwd=web v6=$PK_PI6 family=6" "$HOOKLOG"
check "... the internet host no longer reaches the pi" not v6_reaches
check "... and state.json has no pinhole left" eval '[ -z "$(ph_record)" ]'

# --- UPnP IGD:2 only -----------------------------------------------------------
"$HOMENET" set pcp off > /dev/null 2>&1
write_conf 20 auto
: > "$HOOKLOG"
start_daemon
check "with PCP closed (and ipv6 = auto) the pinhole is opened through UPnP" until_ok 10 ph_is \
    "[('active', 'upnp')]"
check "... reachable from the internet host" until_ok 3 v6_reaches
check "... pinhole_added in the hook" until_ok 3 grep -q "^pinhole_added fwd=web v6=$PK_PI6 family=6" "$HOOKLOG"
rec=$(ph_record | grep " 8080$")
check "state.json records its UniqueID" eval '[[ $rec =~ ^upnp_pinhole\ [0-9]+\ $PK_PI6\ 8080$ ]]'
# Lease 20 s: refreshed between 10 and 12.5 s, with UpdatePinhole.
check "it is refreshed with UpdatePinhole, keeping its UniqueID" until_ok 16 \
    grep -q "refreshed the pinhole of web" "$T_WORK/pkd.log"
check "... same UniqueID" eval '[ "$(ph_record | grep " 8080$")" = "$rec" ]'
check "... still reachable after its first lease ran out" eval 'sleep 9; v6_reaches'
"$HOMENET" router-restart > /dev/null 2>&1
if restore_ms; then
	note "UPnP: reachable over IPv6 again $RESTORE_MS ms after the router restarted"
	ok "after a router restart the UPnP pinhole is added again"
else
	nok "after a router restart the UPnP pinhole is added again"
fi
stop_daemon
check "SIGTERM closes the UPnP pinhole" until_ok 3 grep -q "^pinhole_removed fwd=web" "$HOOKLOG"
check "... unreachable" not v6_reaches
"$HOMENET" set pcp on > /dev/null 2>&1

# --- What the configuration rules out ----------------------------------------------
ph_off() {
	status
	json_is "[(f['ipv6']['state'], '$1' in (f['ipv6']['error'] or '')) for f in j['forwards'] if f['name'] == 'web']" \
	    "[('off', True)]"
}
write_conf 3600
: > "$HOOKLOG"
start_daemon
check "PCP open again: the pinhole is opened through PCP" until_ok 10 ph_is "[('active', 'pcp')]"
sed -i 's/^ipv6 = on$/ipv6 = off/' "$CONF"
kill -HUP "$PKD_PID"
check "ipv6 = off on SIGHUP closes the pinholes" until_ok 5 grep -q "^pinhole_removed fwd=web" "$HOOKLOG"
check "... unreachable" not v6_reaches
check "... and the status says off, and why" until_ok 3 ph_off "ipv6 = off"
check "... and that pinholes are not enabled" json_is 'j["ipv6"]["enabled"]' False
sed -i 's/^ipv6 = off$/ipv6 = on/; s/^method = auto$/method = natpmp/' "$CONF"
kill -HUP "$PKD_PID"
check "method = natpmp: no pinhole, and the status says NAT-PMP has no IPv6" until_ok 3 \
    ph_off "NAT-PMP has no IPv6"
check "... still unreachable" not v6_reaches
stop_daemon

[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -80
exit $T_FAILED

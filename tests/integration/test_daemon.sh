#!/bin/bash
# portkeeperd on the simulated home network: forwards made and kept across a
# router restart (new UPnP port, every mapping lost), a WAN address change
# (hook run with the old and new address), protocols switched off and on,
# SIGHUP, kill -9 and restart, and SIGTERM removing its forwards.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
net_up
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

CONF=$T_WORK/portkeeper.conf
HOOKLOG=$T_WORK/hook.log
SOCK=$T_WORK/api.sock
mkdir -p "$T_WORK/state"
cat > "$T_WORK/hook" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT ext=\$PORTKEEPER_EXTERNAL_IP old=\$PORTKEEPER_OLD_EXTERNAL_IP int=\$PORTKEEPER_INTERNAL_IP fwd=\$PORTKEEPER_FORWARD" >> "$HOOKLOG"
HOOK
chmod +x "$T_WORK/hook"
write_conf() {
	cat > "$CONF" <<CONF
[portkeeper]
method = auto
lease = 120
state_dir = $T_WORK/state
socket = $SOCK
on_change = $T_WORK/hook
remove_on_exit = yes
verify_interval = 5
$*
CONF
}
write_conf "
[forward web]
external = 8080
internal = 8080

[forward alt]
external = 8081
internal = 8080
"

start_daemon() {
	# ip netns exec execs the daemon, so $! is the daemon itself.
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}
stop_daemon() {
	kill "$PKD_PID" 2>/dev/null
	wait "$PKD_PID" 2>/dev/null
}
status() { pk status --socket "$SOCK" --json; }
all_active() {
	status
	json_is 'sorted((f["name"], f["state"]) for f in j["forwards"])' "$1"
}
router_has() {
	pk list --json
	json_is 'sorted((m["external_port"], m["protocol"]) for m in j["mappings"] if m["this_host"])' "$1" && return 0
	note "the router has: $(json 'sorted((m["external_port"], m["protocol"]) for m in j["mappings"] if m["this_host"])') $ERR"
	return 1
}

start_daemon
check "portkeeperd makes both forwards" until_ok 5 all_active \
    "[('alt', 'active'), ('web', 'active')]"
check "the internet host reaches the pi through both" \
    eval 'reaches inet "$PK_WAN" 8080 && reaches inet "$PK_WAN" 8081'
status
check "status --json has the contract's fields" json_is \
    'j["internal_ip"], j["external_ip"], [h["ip"] for h in j["external_ip_history"]], set(j["forwards"][0].keys()) >= {"name","protocol","external_port","internal_port","method","state","expires_in","last_refresh","error"}, type(j["events"]).__name__, "gateway" in j' \
    "('$PK_PI', '$PK_WAN', ['$PK_WAN'], True, 'list', True)"
pk status --socket "$SOCK"
check "status prints a readable summary" eval '[[ $OUT == *"external  $PK_WAN"* && $OUT == *web*8080/tcp*active* ]]'

# The router restarts: every mapping lost, a new UPnP HTTP port.
"$HOMENET" router-restart > /dev/null 2>&1
start=$(date +%s%N)
if until_ok 10 reaches inet "$PK_WAN" 8080; then
	note "reachable again $(( ($(date +%s%N) - start) / 1000000 )) ms after the router restarted"
	ok "after a router restart the forward comes back"
else
	nok "after a router restart the forward comes back"
fi
check "... the alt forward too" until_ok 5 reaches inet "$PK_WAN" 8081
status
check "the events say the mapping was lost and restored" json_is \
    '"mapping_restored" in [e["event"] for e in j["events"]]' True

# The ISP hands out a new address.
old_wan=$PK_WAN
"$HOMENET" wan-change > /dev/null 2>&1
eval "$("$HOMENET" info)"
ext_is() { status; json_is 'j["external_ip"]' "$1"; }
check "status shows the new external address" until_ok 5 ext_is "$PK_WAN"
check "the hook ran with the new and the old address" until_ok 3 \
    grep -q "^external_ip_changed ext=$PK_WAN old=$old_wan int=$PK_PI" "$HOOKLOG"
status
check "the history keeps both addresses" json_is \
    '[h["ip"] for h in j["external_ip_history"]]' "['$old_wan', '$PK_WAN']"
check "the forward works at the new address" until_ok 5 reaches inet "$PK_WAN" 8080

# SIGHUP: alt goes, dns comes.
WEB_DNS="
[forward web]
external = 8080
internal = 8080

[forward dns]
external = 5353
protocol = udp
"
write_conf "$WEB_DNS"
kill -HUP "$PKD_PID"
check "after SIGHUP the forwards follow the file" until_ok 5 all_active \
    "[('dns', 'active'), ('web', 'active')]"
check "... and the router's table too (alt removed)" until_ok 5 router_has \
    "[(5353, 'udp'), (8080, 'tcp')]"
check "the removed forward no longer reaches the pi" not reaches inet "$PK_WAN" 8081

# A bad configuration on SIGHUP keeps the running one.
echo "bogus line" >> "$CONF"
kill -HUP "$PKD_PID"
sleep 0.5
check "a broken file on SIGHUP is reported and the daemon keeps going" \
    eval 'all_active "[('"'dns', 'active'), ('web', 'active'"')]" && grep -q "reload failed" "$T_WORK/pkd.log"'
write_conf "$WEB_DNS"

# UPnP switched off (the router restarts with NAT-PMP only).
"$HOMENET" set upnp off > /dev/null 2>&1
check "with UPnP switched off the forward comes back over NAT-PMP" \
    until_ok 10 reaches inet "$PK_WAN" 8080
status
check "... and status says natpmp" json_is \
    '[f["method"] for f in j["forwards"] if f["name"] == "web"]' "['natpmp']"

# Both off: failed with a reason; back on: restored.
"$HOMENET" set natpmp off > /dev/null 2>&1
failed_reason() {
	status
	json_is '[(f["state"], "UPnP" in (f["error"] or "") or "NAT-PMP" in (f["error"] or "")) for f in j["forwards"] if f["name"] == "web"]' "[('failed', True)]"
}
check "with both protocols off the forward is failed with a reason" until_ok 40 failed_reason
"$HOMENET" set natpmp on > /dev/null 2>&1
check "when the router speaks again the forward is restored" until_ok 40 \
    reaches inet "$PK_WAN" 8080
# UPnP back on too (another restart of the router), so list can see the table.
"$HOMENET" set upnp on > /dev/null 2>&1
check "... and again after UPnP comes back" until_ok 10 reaches inet "$PK_WAN" 8080

# kill -9 and restart: no duplicates, no leaks, a valid state file.
kill -9 "$PKD_PID"; wait "$PKD_PID" 2>/dev/null
check "the state file is valid JSON after kill -9" \
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_WORK/state/state.json"
start_daemon
check "after a restart the forwards are active again" until_ok 10 all_active \
    "[('dns', 'active'), ('web', 'active')]"
check "... with no duplicated or leaked mapping on the router" router_has \
    "[(5353, 'udp'), (8080, 'tcp')]"

# SIGTERM removes its forwards (remove_on_exit = yes).
kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
check "SIGTERM stops the daemon cleanly" [ "$rc" = 0 ]
check "... and removes its forwards from the router" router_has "[]"
check "... and from the state file" python3 -c \
    'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["mappings"] == [] else 1)' \
    "$T_WORK/state/state.json"
check "portkeeperd -n accepts the configuration" in_ns pi "$PKD" -n -c "$CONF"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -60
exit $T_FAILED

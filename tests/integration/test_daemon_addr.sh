#!/bin/bash
# The pi's LAN address changes under portkeeperd (a new DHCP lease): the
# change is noticed and recorded, the hook runs, and the forward is
# re-pointed at the new address once the router lets go of the old one.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
net_up
NEW_PI=192.168.77.11

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HOOKLOG=$T_WORK/hook.log
mkdir -p "$T_WORK/state" "$T_WORK/www"
cat > "$T_WORK/hook" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT int=\$PORTKEEPER_INTERNAL_IP" >> "$HOOKLOG"
HOOK
chmod +x "$T_WORK/hook"
# A short lease, so that the router lets go of the old address quickly.
cat > "$CONF" <<CONF
[portkeeper]
lease = 10
state_dir = $T_WORK/state
socket = $SOCK
on_change = $T_WORK/hook

[forward web]
external = 8080
CONF

# The web server listens on every address, so it follows the pi's.
T_TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$T_TOKEN" > "$T_WORK/www/token"
in_ns pi python3 -m http.server 8080 --directory "$T_WORK/www" > /dev/null 2>&1 &
T_HTTP_PID=$!

ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!
status() { pk status --socket "$SOCK" --json; }
web_is() { status; json_is '[(f["state"]) for f in j["forwards"]]' "['$1']"; }
check "the forward becomes active" until_ok 5 web_is active
check "the internet host reaches the pi" until_ok 5 reaches inet "$PK_WAN" 8080

# The DHCP server hands the pi another address.
# (As a DHCP client does it: the old one goes, the new one comes.)
in_ns pi ip addr del "$PK_PI/24" dev eth0
in_ns pi ip addr add "$NEW_PI/24" dev eth0
in_ns pi ip route replace default via "$PK_ROUTER_LAN" dev eth0
int_is() { status; json_is 'j["internal_ip"]' "$1"; }
check "status shows the new internal address" until_ok 5 int_is "$NEW_PI"
check "the hook ran with internal_ip_changed and the new address" until_ok 5 \
    grep -q "^internal_ip_changed int=$NEW_PI" "$HOOKLOG"
status
check "the event names the old and the new address" json_is \
    '[e["detail"] for e in j["events"] if e["event"] == "internal_ip_changed"][-1:] and ("'"$PK_PI"'" in [e["detail"] for e in j["events"] if e["event"] == "internal_ip_changed"][-1] and "'"$NEW_PI"'" in [e["detail"] for e in j["events"] if e["event"] == "internal_ip_changed"][-1])' True
old_points() {
	status
	json_is '[(f["state"], "old address" in (f["error"] or "") or f["error"] is None) for f in j["forwards"]]' "[('failed', True)]" ||
	    json_is '[f["state"] for f in j["forwards"]]' "['active']"
}
check "meanwhile the forward is active or failed saying the router holds the old address" old_points
check "once the old lease runs out, the forward points at the new address" \
    until_ok 60 reaches inet "$PK_WAN" 8080
pk list --json
check "the router forwards 8080 to the new address" json_is \
    '[(m["external_port"], m["internal_ip"]) for m in j["mappings"]]' "[(8080, '$NEW_PI')]"
kill "$PKD_PID"; wait "$PKD_PID"
check "the state file records the new internal address" python3 -c \
    'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["internal_ip"] == sys.argv[2] else 1)' \
    "$T_WORK/state/state.json" "$NEW_PI"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -40
exit $T_FAILED

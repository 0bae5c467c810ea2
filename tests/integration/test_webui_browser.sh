#!/bin/bash
# The web UI in a real browser (Debian's Chromium, driven by Playwright from
# tests/browser/webui.mjs) against portkeeperd on the simulated home
# network, with NAT loopback off at the router: log in, read the addresses
# and forwards, add a forward and see it become active, run the doctor and
# read its hairpin advice, remove the forward.  The browser runs inside the
# pi's namespace, so nothing leaves this machine.  Screenshots of every step
# go to $ARTIFACTS/webui (default build/artifacts/webui).
. "$(dirname "$0")/lib.sh"
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
browser_need
require_netns

ARTIFACTS=${ARTIFACTS:-build/artifacts}
case $ARTIFACTS in /*) ;; *) ARTIFACTS=$TOP/$ARTIFACTS ;; esac
SHOTS=$ARTIFACTS/webui
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png

net_up --no-hairpin
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HTPASSWD=$T_WORK/htpasswd
WEB=127.0.0.1:8088
WEB_USER=admin
WEB_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The external port the browser adds, forwarded to the pi's HTTP server.
ADD_EXT=8090
mkdir -p "$T_WORK/state"
htpasswd -nbB -C 5 "$WEB_USER" "$WEB_PASS" > "$HTPASSWD"
cat > "$CONF" <<CONF
[portkeeper]
method = auto
lease = 120
state_dir = $T_WORK/state
socket = $SOCK
remove_on_exit = yes
verify_interval = 5

[forward web]
external = 8080
internal = 8080

[web]
listen = $WEB
htpasswd = $HTPASSWD
CONF

PKD_PID=
stop_daemon() {
	[ -n "$PKD_PID" ] || return 0
	kill "$PKD_PID" 2> /dev/null
	wait "$PKD_PID" 2> /dev/null
	PKD_PID=
}
# The daemon goes before lib.sh's cleanup takes the network down.
trap 'rc=$?; stop_daemon; (exit $rc); cleanup' EXIT

# ip netns exec execs the daemon, so $! is the daemon itself.
ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!

health() { in_ns pi curl -sf --max-time 1 "http://$WEB/api/health" > /dev/null 2>&1; }
web_active() {
	pk status --socket "$SOCK" --json
	json_is '[f["state"] for f in j["forwards"] if f["name"] == "web"]' "['active']"
}
check "portkeeperd answers GET /api/health on $WEB" until_ok 10 health
check "portkeeperd makes the forward web from its configuration" until_ok 10 web_active

browser_run webui.mjs PK_WEB_URL="http://$WEB/" PK_WEB_USER="$WEB_USER" \
    PK_WEB_PASSWORD="$WEB_PASS" PK_WEB_PORT="$ADD_EXT:8080" PK_WEB_SHOTS="$SHOTS"

router_has() {
	pk list --json
	json_is 'sorted((m["external_port"], m["protocol"]) for m in j["mappings"] if m["this_host"])' "$1" && return 0
	note "the router has: $(json 'sorted((m["external_port"], m["protocol"]) for m in j["mappings"] if m["this_host"])') $ERR"
	return 1
}
check "after the browser removed it, the router forwards only the configured port" \
    until_ok 5 router_has "[(8080, 'tcp')]"
check "... and the daemon keeps no web forward in its state directory" \
    not grep -qs "browser$ADD_EXT" "$T_WORK/state/forwards.conf"
note "screenshots in $SHOTS"

stop_daemon
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -60
exit $T_FAILED

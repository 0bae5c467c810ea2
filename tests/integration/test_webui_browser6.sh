#!/bin/bash
# The IPv6 parts of the web UI in a real browser (Debian's Chromium, driven
# by Playwright from tests/browser/webui6.mjs), on the home issue 16 is
# for: IPv4 behind carrier-grade NAT, IPv6 routed, miniupnpd answering PCP.
# portkeeperd keeps the forward web (family both) and has moved its pinhole
# to a new LAN prefix; the page must show this host's IPv6 address and its
# history, the pinhole beside the IPv4 forward, a forward added for IPv6
# alone becoming active, and the doctor's ipv6_only verdict with its IPv6
# checks (the probe server on the internet host, reached over IPv6).
# Screenshots go to $ARTIFACTS/webui6 (default build/artifacts/webui6).
. "$(dirname "$0")/lib.sh"
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
browser_need
require_netns

ARTIFACTS=${ARTIFACTS:-build/artifacts}
case $ARTIFACTS in /*) ;; *) ARTIFACTS=$TOP/$ARTIFACTS ;; esac
SHOTS=$ARTIFACTS/webui6
mkdir -p "$SHOTS" && rm -f "$SHOTS"/*.png

net_up --ipv6 --cgnat --no-hairpin
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }
ADD_PORT=8091
# The port the browser opens for IPv6 alone has a server too, so that its
# pinhole's removal can be seen from the internet host.
in_ns pi python3 -m http.server "$ADD_PORT" --bind :: --directory "$T_WORK/www" \
    > /dev/null 2>&1 &
HTTP2_PID=$!
PROBE_PORT=8770
in_ns inet "$PORTKEEPER" probe-server --listen "[::]:$PROBE_PORT" \
    > "$T_WORK/probe.log" 2>&1 &
PROBE_PID=$!

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HTPASSWD=$T_WORK/htpasswd
WEB=127.0.0.1:8088
WEB_USER=admin
WEB_PASS=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
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
probe = http://[$PK_INET6]:$PROBE_PORT

[forward web]
external = 8080
internal = 8080
family = both

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
trap 'rc=$?; stop_daemon; kill $PROBE_PID $HTTP2_PID 2> /dev/null; (exit $rc); cleanup' EXIT

ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!

# pinhole_at ADDR: the daemon's pinhole of web is active at ADDR.
pinhole_at() {
	pk status --socket "$SOCK" --json
	json_is '[(f["ipv6"] or {}).get("state") for f in j["forwards"] if f["name"] == "web"], j["ipv6"]["address"]' \
	    "(['active'], '$1')"
}
check "portkeeperd opens web's pinhole at $PK_PI6" until_ok 15 pinhole_at "$PK_PI6"
check "... and the internet host reaches the pi over IPv6" until_ok 3 \
    reaches inet "[$PK_PI6]" 8080

# A new prefix from the provider: the pinhole follows the address.
OLD6=$PK_PI6
"$HOMENET" prefix-change > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "prefix change: $OLD6 -> $PK_PI6"
check "after a prefix change the pinhole is at the new address $PK_PI6" \
    until_ok 15 pinhole_at "$PK_PI6"

browser_run webui6.mjs PK_WEB_URL="http://$WEB/" PK_WEB_USER="$WEB_USER" \
    PK_WEB_PASSWORD="$WEB_PASS" PK_WEB_SHOTS="$SHOTS" PK_WEB6_ADDR="$PK_PI6" \
    PK_WEB6_OLD="$OLD6" PK_WEB6_PORT="$ADD_PORT"
check "the pi serves $ADD_PORT over IPv6 too (seen from the pi)" \
    reaches pi "[$PK_PI6]" "$ADD_PORT"
check "the pinhole the browser added and removed is closed at the router" \
    until_ok 5 not reaches inet "[$PK_PI6]" "$ADD_PORT"
note "screenshots in $SHOTS"

stop_daemon
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -60
exit $T_FAILED

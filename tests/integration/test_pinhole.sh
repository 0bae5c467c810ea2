#!/bin/bash
# UPnP IGD:2 pinholes made by portkeeper's library (lib/upnp_pinhole.c) on
# the simulated home network with IPv6, against Debian's miniupnpd:
# GetFirewallStatus, AddPinhole from the pi's stable address, inet reaching
# the pi's server over IPv6 only while the pinhole exists, UpdatePinhole,
# DeletePinhole, port 80 refused (pinhole_refused), the source address
# bound when a temporary address is preferred, and the same behind
# carrier-grade NAT with PCP closed.  The library is driven by
# tests/tools/pinhole_client.c, a test-only program built with the unit
# tests; the CLI's -6 has its own tests.
. "$(dirname "$0")/lib.sh"
require_netns
# Built with the unit tests (make unit), like the programs: with the
# sanitizers too when they are.
CLIENT=$(dirname "$PORTKEEPER")/tests/tools/pinhole_client
if [ ! -x "$CLIENT" ]; then
	nok "$CLIENT is built (make unit)"
	exit 1
fi

# ph ACTION ARGS...: the client on the pi, from its stable address to the
# router's link-local one; its line in OUT, its exit status in RC.
ph() {
	OUT=$(in_ns pi "$CLIENT" "$PK_ROUTER_LAN" "$PK_PI" "$PK_ROUTER6_LL%eth0" \
	    "$PK_PI6" "$@" 2>&1)
	RC=$?
	note "pinhole_client $*: $OUT"
}
uid_of() { sed -n 's/^ok uid=\([0-9]*\) .*/\1/p' <<< "$OUT"; }
# --- a public IPv4 address, IPv6 routed --------------------------------------
net_up --ipv6
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }

ph status
check "GetFirewallStatus: enabled, inbound pinholes allowed" \
    [ "$OUT" = "ok firewall_enabled=1 inbound_pinhole_allowed=1" ]
check "the control URL is on the router's link-local address" \
    eval 'ph add tcp 8080 600; grep -qF "url=http://[fe80::1]:$PK_UPNP_PORT/" <<< "$OUT"'
id=$(uid_of)
check "AddPinhole for 8080 from the pi's stable address gives a UniqueID" \
    [ "$RC" = 0 ] && [ -n "$id" ]
check "through the pinhole inet reaches the pi over IPv6" until_ok 1 reaches inet "[$PK_PI6]" 8080
ph update "$id" 3600
check "UpdatePinhole answers" [ "$OUT" = "ok done" ]
check "after the update inet still reaches the pi" reaches inet "[$PK_PI6]" 8080
# A short lease renewed outlives itself; one not renewed does not.
ph add tcp 8081 2
short=$(uid_of)
ph update "$id" 4
ph update "$id" 600
sleep 5
check "a pinhole not renewed expires at its lease (miniupnpd removes the rule)" \
    eval '[ -n "$short" ] && ! in_ns router nft list chain inet pk_router miniupnpd | grep -qF "dport 8081 "'
check "the renewed one outlived its 4 s lease: inet still reaches the pi" reaches inet "[$PK_PI6]" 8080
ph delete "$id"
check "DeletePinhole answers" [ "$OUT" = "ok done" ]
check "after DeletePinhole inet no longer reaches the pi" not reaches inet "[$PK_PI6]" 8080
ph delete "$id"
check "deleting it again: the router has none (miniupnpd 2.3.1 says 402)" [ "$OUT" = "ok none" ]
ph update "$id" 600
check "renewing a pinhole the router no longer has: none (add it again)" [ "$OUT" = "ok none" ]
ph add tcp 80 600
check "port 80: pinhole_refused (UPnP 606 below 1024)" \
    eval 'grep -q "^error pinhole_refused: .*use PCP or a port from 1024 up, or the router.s own settings" <<< "$OUT"'
ph add tcp 8080 0
check "lease 0 (permanent) is a usage error, not a request" grep -q '^error usage:' <<< "$OUT"

# With a temporary address beside the stable one, the request must still
# come from the stable address it opens (bound), or miniupnpd's secure mode
# refuses it with 606.
"$HOMENET" set tempaddr on
eval "$("$HOMENET" info)"
ph add tcp 8080 600
id=$(uid_of)
check "tempaddr on: AddPinhole from the stable address still passes miniupnpd's secure mode" \
    [ "$RC" = 0 ] && [ -n "$id" ]
check "tempaddr on: inet reaches the stable address" until_ok 1 reaches inet "[$PK_PI6]" 8080
ph delete "$id"
"$HOMENET" set tempaddr off

# --- IPv4 behind carrier-grade NAT, IPv6 routed, PCP closed -----------------
net_up --ipv6 --cgnat --no-pcp
http_start 8080 :: || { nok "HTTP server on the pi (CGNAT)"; exit 1; }
ph add tcp 8080 600
id=$(uid_of)
check "CGNAT: the firewall is found and AddPinhole works" [ "$RC" = 0 ] && [ -n "$id" ]
check "CGNAT: inet reaches the pi over IPv6 through it" until_ok 1 reaches inet "[$PK_PI6]" 8080
ph delete "$id"
check "CGNAT: after DeletePinhole inet no longer reaches the pi" not reaches inet "[$PK_PI6]" 8080

exit $T_FAILED

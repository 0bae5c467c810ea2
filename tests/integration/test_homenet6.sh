#!/bin/bash
# The simulated home network's IPv6 (homenet.sh up --ipv6): addresses and
# routes, the router's IPv6 firewall (nothing inbound without a pinhole, no
# masquerade), pinholes made by upnpc -6 and by tests/net/pcp_client.py,
# PCP over IPv6 closed with --no-pcp, the temporary address and prefix
# change knobs, and no IPv6 at all without --ipv6.  Checked with the real
# miniupnpd and upnpc, not with portkeeper.
. "$(dirname "$0")/lib.sh"
require_netns
PCP_CLIENT=$TOP/tests/net/pcp_client.py

# upnpc6 ARGS...: upnpc -6 on the pi, told the router's description URL
# (no 2 s discovery; behind CGNAT, discovery stops at "not connected?").
upnpc6() {
	in_ns pi upnpc -6 -u "http://[$PK_ROUTER6]:$PK_UPNP_PORT/rootDesc.xml" "$@" > "$T_WORK/upnpc" 2>&1
}
# pcp ARGS...: pcp_client.py on the pi, from its stable address to the
# router's link-local one; the answer (JSON) in OUT, its exit status in RC.
pcp() {
	OUT=$(in_ns pi "$PY" "$PCP_CLIENT" --gw "$PK_ROUTER6_LL%eth0" --src "$PK_PI6" --json "$@")
	RC=$?
}
has_addr() { in_ns "$1" ip -6 -o addr show dev eth0 | grep -qF " $2/64 "; }

# --- IPv6 with a public IPv4 address ----------------------------------------
net_up --ipv6
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }

check "info names the addressing" [ "$PK_PI6 $PK_LAPTOP6 $PK_INET6 $PK_ROUTER6 $PK_ROUTER6_LL $PK_LAN6_PREFIX $PK_WAN6" = \
    "2a0c:7700:77::10 2a0c:7700:77::20 2a0c:7700:33::1 2a0c:7700:77::1 fe80::1 2a0c:7700:77::/64 2a0c:7700:33::2" ]
check "the pi has its stable address" has_addr pi "$PK_PI6"
check "the laptop has its address" has_addr laptop "$PK_LAPTOP6"
check "the pi's default route is via the router's link-local address" \
    eval '[ "$(in_ns pi ip -6 route show default)" = "default via fe80::1 dev eth0 metric 1024 pref medium" ]'
check "inet routes the LAN prefix via the router's WAN address" \
    eval 'in_ns inet ip -6 route show "$PK_LAN6_PREFIX" | grep -qF "via $PK_WAN6 dev eth0"'
check "the hosts files know the IPv6 names" grep -qx "$PK_PI6 pi6" "/etc/netns/$PK_NET-inet/hosts"
check "no router advertisements are accepted" \
    eval '[ "$(in_ns pi cat /proc/sys/net/ipv6/conf/eth0/accept_ra)" = 0 ]'

check "inet cannot reach the pi before a pinhole" not reaches inet "[$PK_PI6]" 8080
# The pi fetches from a server on inet, which logs the client's address.
start_ready inet "$T_WORK/inet.ready" "$PY" -c '
import http.server, socket, sys
class S(http.server.ThreadingHTTPServer): address_family = socket.AF_INET6
s = S(("::", 8081), http.server.SimpleHTTPRequestHandler)
open(sys.argv[1], "w").write("ready")
s.serve_forever()' "$T_WORK/inet.ready" 2> "$T_WORK/inet.log"
check "the pi reaches inet over IPv6 (LAN to WAN)" \
    in_ns pi curl -s -o /dev/null --max-time 2 "http://[$PK_INET6]:8081/"
check "IPv6 is not masqueraded: inet sees the pi's own address" grep -qF "$PK_PI6 - -" "$T_WORK/inet.log"

# Discovery over IPv6 (SSDP to ff02::c) once; the other calls skip it.
in_ns pi upnpc -6 -S > "$T_WORK/upnpc" 2>&1
check "upnpc -6 finds the IGD at the router's LAN address and its IPv6 firewall" eval \
    'grep -qF "IGD : http://[$PK_ROUTER6]:$PK_UPNP_PORT/" "$T_WORK/upnpc" && grep -q "Inbound Pinhole Allowed: Yes" "$T_WORK/upnpc"'
upnpc6 -A "" 0 "$PK_PI6" 8080 TCP 600
id=$(sed -n 's/.*Pinhole ID = \([0-9]*\).*/\1/p' "$T_WORK/upnpc")
check "upnpc -6 -A makes a pinhole" [ -n "$id" ]
check "the pinhole is a rule in miniupnpd's forward chain" \
    eval 'in_ns router nft list chain inet pk_router miniupnpd | grep -qF "th dport 8080"'
check "through the upnpc pinhole inet reaches the pi" until_ok 1 reaches inet "[$PK_PI6]" 8080
upnpc6 -D "$id"
check "after DeletePinhole inet no longer reaches the pi" not reaches inet "[$PK_PI6]" 8080

nonce=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
pcp --port 8080 --lifetime 600 --nonce "$nonce"
check "a PCP MAP over IPv6 succeeds" [ "$RC" = 0 ]
check "its external address and port are the pi's own" json_is \
    '(j["result"], j["external_ip"], j["external_port"])' "(0, '$PK_PI6', 8080)"
check "through the PCP pinhole inet reaches the pi" until_ok 1 reaches inet "[$PK_PI6]" 8080
pcp --port 8080 --lifetime 0 --nonce "$nonce"
check "PCP deletes it (lifetime 0, same nonce)" [ "$RC" = 0 ]
check "after the delete inet no longer reaches the pi" not reaches inet "[$PK_PI6]" 8080

"$HOMENET" set tempaddr on
eval "$("$HOMENET" info)"
check "tempaddr on: the pi has a temporary address" \
    eval 'in_ns pi ip -6 -o addr show dev eth0 temporary | grep -qF "$PK_PI6_TEMP/64"'
check "tempaddr on: info names it, inside the LAN prefix" [ "${PK_PI6_TEMP#2a0c:7700:77:0:}" != "$PK_PI6_TEMP" ]
check "tempaddr on: the stable address stays, flagged mngtmpaddr" \
    eval 'in_ns pi ip -6 -o addr show dev eth0 | grep -F " $PK_PI6/64 " | grep -qF mngtmpaddr'

old=$PK_PI6
check "prefix-change prints the new prefix" eval '[ "$("$HOMENET" prefix-change)" = 2a0c:7700:78::/64 ]'
eval "$("$HOMENET" info)"
check "the pi keeps its interface identifier" [ "$PK_PI6" = 2a0c:7700:78::10 ]
check "the old address is gone" not has_addr pi "$old"
check "the pi has the new address" has_addr pi "$PK_PI6"
check "the temporary address moved too" [ "${PK_PI6_TEMP#2a0c:7700:78:0:}" != "$PK_PI6_TEMP" ]
check "the router has the new address" eval 'in_ns router ip -6 -o addr show dev br0 | grep -qF " $PK_ROUTER6/64 "'
pcp --port 8080 --lifetime 600
check "on the new prefix, inet reaches the pi through a PCP pinhole" \
    eval '[ "$RC" = 0 ] && until_ok 1 reaches inet "[$PK_PI6]" 8080'
"$HOMENET" set tempaddr off
check "tempaddr off: no temporary address" eval '[ -z "$(in_ns pi ip -6 addr show dev eth0 temporary)" ]'

# --- IPv4 behind carrier-grade NAT, IPv6 routed, PCP closed ------------------
net_up --ipv6 --cgnat --no-pcp
http_start 8080 :: || { nok "HTTP server on the pi (CGNAT)"; exit 1; }
check "CGNAT: the WAN address is in 100.64/10" [ "$PK_WAN" = 100.64.0.2 ]
pcp --port 8080 --lifetime 600
check "--no-pcp: PCP over IPv6 is refused (ICMP port unreachable)" json_is 'j["error"]' refused
upnpc6 -A "" 0 "$PK_PI6" 8080 TCP 600
check "--no-pcp: upnpc -6 still makes a pinhole" grep -q 'Pinhole ID = ' "$T_WORK/upnpc"
check "CGNAT: through the upnpc pinhole inet reaches the pi over IPv6" until_ok 1 reaches inet "[$PK_PI6]" 8080
"$HOMENET" set pcp on
pcp --port 9090 --lifetime 600
check "set pcp on: PCP over IPv6 answers" [ "$RC" = 0 ]

# --- no IPv6 without --ipv6 ---------------------------------------------------
net_up --no-hairpin
check "without --ipv6, IPv6 is disabled" \
    eval '[ "$(in_ns pi cat /proc/sys/net/ipv6/conf/all/disable_ipv6)" = 1 ]'
check "without --ipv6, the pi has no IPv6 address" eval '[ -z "$(in_ns pi ip -6 addr show dev eth0)" ]'
check "without --ipv6, info has no IPv6 lines" not eval '"$HOMENET" info | grep -q "^PK_PI6="'
check "without --ipv6, set pcp is refused" not eval '"$HOMENET" set pcp off 2>/dev/null'

exit $T_FAILED

#!/bin/bash
# open / close / list through NAT-PMP alone (the router's UPnP switched off).
. "$(dirname "$0")/lib.sh"
require_netns
net_up --no-upnp
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

check "not reachable from the internet before open" not reaches inet "$PK_WAN" 8080

pk open 8080 --via natpmp --json
check "open --via natpmp succeeds" [ "$RC" = 0 ]
check "open --json reports the contract's fields" json_is \
    '(j["ok"], j["method"], j["protocol"], j["external_ip"], j["external_port"], j["internal_ip"], j["internal_port"], j["lease"])' \
    "(True, 'natpmp', 'tcp', '$PK_WAN', 8080, '$PK_PI', 8080, 3600)"
check "after open the internet host reaches the pi" reaches inet "$PK_WAN" 8080

pk close 8080 --via natpmp --json
check "close --via natpmp succeeds" json_is 'j["ok"], j["removed"]' "(True, True)"
check "after close the internet host no longer reaches the pi" not reaches inet "$PK_WAN" 8080

pk open 80:8080 --lease 120 --via natpmp
check "open EXT:INT --via natpmp" \
    eval '[ "$RC" = 0 ] && [[ $OUT == *"via NAT-PMP, lease 120 s"* ]]'
check "external port 80 reaches the pi's port 8080" reaches inet "$PK_WAN" 80
pk close 80:8080 --via natpmp
check "close EXT:INT through NAT-PMP" eval '[ "$RC" = 0 ] && ! reaches inet "$PK_WAN" 80'

# miniupnpd's port 5351 speaks PCP beside NAT-PMP (RFC 6887 section 9), so
# auto, which asks both, is served by PCP when UPnP is off.
pk open 80:8080 --lease 120
check "open EXT:INT via auto picks PCP, on NAT-PMP's port, when UPnP is off" \
    eval '[ "$RC" = 0 ] && [[ $OUT == *"via PCP, lease 120 s"* ]]'
check "external port 80 reaches the pi's port 8080 (PCP)" reaches inet "$PK_WAN" 80
pk close 80:8080 --json
check "close EXT:INT under auto removes it with the nonce open kept" \
    json_is 'j["ok"], j["method"], j["removed"]' "(True, 'pcp', True)"
check "... and the internet host no longer reaches it" not reaches inet "$PK_WAN" 80

# A router that drops PCP's version 2 silently (RFC 6886 asks a NAT-PMP
# router to answer it, but hostile_router.py's misbehaving modes do not):
# auto falls back to NAT-PMP after a short grace, not PCP's timeout.
in_ns router nft -f - <<NFT
table inet pk_nopcp {
	chain in {
		type filter hook input priority -10;
		udp dport 5351 @th,64,8 2 drop
	}
}
NFT
start=$(date +%s%N)
pk open 8081 --lease 120 --json
ms=$(( ($(date +%s%N) - start) / 1000000 ))
check "a router that drops PCP: auto falls back to NAT-PMP" json_is \
    'j["ok"], j["method"]' "(True, 'natpmp')"
note "open took $ms ms"
check "... within a second, not PCP's timeout of 2.5 s" [ "$ms" -lt 1000 ]
pk close 8081 --json
check "... and close under auto removes it through NAT-PMP" json_is \
    'j["ok"], j["method"], j["removed"]' "(True, 'natpmp', True)"
in_ns router nft delete table inet pk_nopcp

pk open 5353/udp --via natpmp --json
check "open a UDP port" json_is 'j["protocol"], j["external_port"]' "('udp', 5353)"
pk close 5353/udp --via natpmp

pk list --json
check "list explains that NAT-PMP cannot list" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'unsupported')"
pk open 81 --lease 0 --via natpmp
check "a permanent lease over NAT-PMP is a usage error" [ "$RC" = 2 ]

pk ip --json
check "ip shows NAT-PMP found and UPnP not" json_is \
    'j["natpmp"]["found"], j["upnp"]["found"], j["external_ip"], j["gateway"]' \
    "(True, False, '$PK_WAN', '$PK_ROUTER_LAN')"
check "... and PCP found (auto asks it too), with the same address" json_is \
    'j["pcp"]["found"], j["pcp"]["external_ip"]' "(True, '$PK_WAN')"
pk ip --get
check "ip --get prints the bare external address (for ddclient's cmdv4)" \
    eval '[ "$RC" = 0 ] && [ "$OUT" = "$PK_WAN" ]'
exit $T_FAILED

#!/bin/bash
# open / close / ip through PCP (RFC 6887), which Debian's miniupnpd answers on
# the router's port 5351 beside NAT-PMP; the router's UPnP is off, so that
# nothing but PCP can have made the forward.
. "$(dirname "$0")/lib.sh"
require_netns
net_up --no-upnp
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

check "not reachable from the internet before open" not reaches inet "$PK_WAN" 8080

pk open 8080 --via pcp --json
check "open --via pcp succeeds" [ "$RC" = 0 ]
check "open --json reports method pcp and the contract's fields" json_is \
    '(j["ok"], j["method"], j["protocol"], j["external_ip"], j["external_port"], j["internal_ip"], j["internal_port"], j["lease"])' \
    "(True, 'pcp', 'tcp', '$PK_WAN', 8080, '$PK_PI', 8080, 3600)"
check "open --json gives the mapping's 96-bit nonce" json_is \
    'len(j["nonce"]) == 24 and int(j["nonce"], 16) >= 0' "True"
NONCE=$(json 'j["nonce"]')
check "after open the internet host reaches the pi" reaches inet "$PK_WAN" 8080

# Another runtime directory: portkeeper has no record of the nonce there.
mkdir -p "$T_WORK/other"
XDG_RUNTIME_DIR=$T_WORK/other pk close 8080 --via pcp --json
check "close without the nonce fails, saying why" json_is \
    '(j["ok"], j["error"]["code"], "nonce" in j["error"]["message"])' \
    "(False, 'refused', True)"
check "close without the nonce leaves the forward" reaches inet "$PK_WAN" 8080

pk close 8080 --via pcp --json
check "close --via pcp removes it with the nonce open kept" json_is \
    '(j["ok"], j["method"], j["removed"])' "(True, 'pcp', True)"
check "after close the internet host no longer reaches the pi" not reaches inet "$PK_WAN" 8080

pk close 8080 --via pcp --nonce "$NONCE" --json
check "closing again succeeds with nothing removed" json_is \
    '(j["ok"], j["removed"])' "(True, False)"
pk close 8080 --via pcp --nonce 1234 --json
check "a bad nonce is a usage error" eval '[ "$RC" = 2 ]'

pk open 80:8080 --via pcp --lease 120 --json
check "open EXT:INT over PCP" json_is '(j["method"], j["external_port"], j["internal_port"], j["lease"])' \
    "('pcp', 80, 8080, 120)"
check "external port 80 reaches the pi's port 8080" reaches inet "$PK_WAN" 80
pk close 80:8080 --via pcp --nonce "$(json 'j["nonce"]')"
check "close EXT:INT over PCP" eval '[ "$RC" = 0 ] && ! reaches inet "$PK_WAN" 80'
# "close EXT" of a forward opened as EXT:INT: the kept record names INT.
pk open 8095:8080 --via pcp --json
check "open 8095:8080 over PCP" json_is '(j["ok"], j["internal_port"])' "(True, 8080)"
check "... external port 8095 reaches the pi" reaches inet "$PK_WAN" 8095
pk close 8095 --via pcp --json
check "close 8095 (no internal port) finds the kept nonce and removes it" \
    json_is '(j["ok"], j["removed"])' "(True, True)"
check "... unreachable again" not reaches inet "$PK_WAN" 8095

pk open 5353/udp --via pcp --json
check "open a UDP port over PCP" json_is 'j["protocol"], j["external_port"], j["method"]' "('udp', 5353, 'pcp')"
pk close 5353/udp --via pcp --nonce "$(json 'j["nonce"]')"
check "close a UDP port over PCP" [ "$RC" = 0 ]

pk open 81 --lease 0 --via pcp
check "a permanent lease over PCP is a usage error" [ "$RC" = 2 ]
pk list --via pcp --json
check "list explains that PCP cannot list" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'unsupported')"

pk ip --via pcp --json
check "ip --via pcp reports the external address PCP gives" json_is \
    '(j["ok"], j["external_ip"], j["pcp"]["found"], j["pcp"]["external_ip"], type(j["pcp"]["epoch"]) is int)' \
    "(True, '$PK_WAN', True, '$PK_WAN', True)"

"$HOMENET" set natpmp off > /dev/null 2>&1
pk open 8080 --via pcp --json
check "with the router's NAT-PMP (and so PCP) off: no_gateway and a sentence" json_is \
    '(j["ok"], j["error"]["code"], "PCP" in j["error"]["message"])' "(False, 'no_gateway', True)"
"$HOMENET" set natpmp on > /dev/null 2>&1

# portkeeperd with method = pcp: its IPv4 forward goes over NAT-PMP, PCP's
# version 0, since state.json keeps no PCP nonce for IPv4 forwards.
mkdir -p "$T_WORK/pcpd"
printf '[portkeeper]\nmethod = pcp\nstate_dir = %s\nsocket = %s\nipv6 = off\n[forward web]\nexternal = 8080\n' \
    "$T_WORK/pcpd" "$T_WORK/pcpd/api.sock" > "$T_WORK/pcpd.conf"
ip netns exec "$PK_NET-pi" "$(dirname "$PORTKEEPER")/portkeeperd" -f -c "$T_WORK/pcpd.conf" \
    > "$T_WORK/pcpd.log" 2>&1 &
PCPD_PID=$!
pcpd_active() {
	pk status --socket "$T_WORK/pcpd/api.sock" --json
	json_is '[(f["state"], f["method"]) for f in j["forwards"]]' "[('active', 'natpmp')]"
}
check "portkeeperd with method = pcp makes its IPv4 forward over NAT-PMP" until_ok 10 pcpd_active
check "... which the internet host reaches" reaches inet "$PK_WAN" 8080
pcpd_state() {
	[ "$("$PY" -c 'import json,sys; print([m["method"] for m in json.load(open(sys.argv[1]))["mappings"]])' \
	    "$T_WORK/pcpd/state.json" 2> /dev/null)" = "['natpmp']" ]
}
check "... and state.json records it, as a NAT-PMP forward" until_ok 5 pcpd_state
kill "$PCPD_PID"; wait "$PCPD_PID" 2> /dev/null

"$HOMENET" down > /dev/null 2>&1
net_up --no-upnp --cgnat
pk open 8080 --via pcp --json
check "behind carrier-grade NAT open --via pcp fails with no_public_address" json_is \
    '(j["ok"], j["error"]["code"])' "(False, 'no_public_address')"
pk ip --via pcp --json
check "ip --via pcp shows the 100.64/10 address" json_is \
    '(j["pcp"]["found"], j["external_ip_class"])' "(True, 'carrier-grade NAT')"
exit $T_FAILED

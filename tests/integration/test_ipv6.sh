#!/bin/bash
# IPv6 pinholes from the command line (issue 15), on the home this is for:
# IPv4 behind carrier-grade NAT, IPv6 routed (homenet.sh up --ipv6 --cgnat),
# with Debian's miniupnpd answering PCP and UPnP IGD:2.
#
# - open -6 through PCP makes the pi's page reachable from the internet host
#   over IPv6 (port 8080, and 80, which UPnP refuses), close -6 makes it
#   unreachable again;
# - with PCP closed (only UPnP answers), open -6 works through UPnP, and
#   port 80 fails with pinhole_refused and a sentence;
# - with a temporary address present the stable one is opened, and
#   --address refuses the temporary one;
# - open without -4/-6 exits 0 with the IPv6 result and IPv4's
#   no_public_address;
# - ip --json's "ipv6" object; usage errors; no IPv6 at all is no_ipv6.
# Every "success" is checked from the internet host: a router may accept a
# pinhole that passes nothing.
. "$(dirname "$0")/lib.sh"
require_netns

net_up --ipv6 --cgnat --no-hairpin
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }
in_ns pi python3 -m http.server 80 --bind :: --directory "$T_WORK/www" \
    > /dev/null 2>&1 &
HTTP80_PID=$!
check "the pi serves port 80 too" until_ok 5 reaches pi "[$PK_PI6]" 80
note "pi $PK_PI6, router $PK_ROUTER6_LL, IPv4 WAN $PK_WAN (carrier-grade NAT)"

# --- PCP -------------------------------------------------------------------
check "before any pinhole inet cannot reach the pi over IPv6" \
    not reaches inet "[$PK_PI6]" 8080
pk open 8080 -6 --json
check "open 8080 -6 succeeds" [ "$RC" = 0 ]
check "... through PCP, for the pi's own address and port" json_is \
    '(j["ok"], j["family"], j["method"], j["protocol"], j["internal_ip"], j["internal_port"], j["external_ip"], j["external_port"])' \
    "(True, 6, 'pcp', 'tcp', '$PK_PI6', 8080, '$PK_PI6', 8080)"
check "... with the lease granted" json_is 'j["lease"] > 0' True
check "... and the internet host reaches the pi's page over IPv6" \
    until_ok 2 reaches inet "[$PK_PI6]" 8080
check "the IPv4 page stays out of reach (carrier-grade NAT)" \
    not reaches inet "$PK_WAN" 8080
pk close 8080 -6 --json
check "close 8080 -6 removes it" json_is '(j["ok"], j["removed"], j["method"])' \
    "(True, True, 'pcp')"
check "... and the internet host no longer reaches the pi" \
    not reaches inet "[$PK_PI6]" 8080
pk close 8080 -6 --json
check "closing it again succeeds and says nothing was removed" eval \
    '[ "$RC" = 0 ] && json_is "j[\"removed\"]" False'

# Opening again replaces the pinhole rather than renewing it: miniupnpd
# before 2.3.6 refuses the owner's delete of a renewed PCP pinhole.
pk open 8080 -6
pk open 8080 -6
pk close 8080 -6 --json
check "open -6 twice, then close -6 still removes the pinhole" json_is \
    'j["removed"]' True
check "... unreachable" not reaches inet "[$PK_PI6]" 8080

# A PCP pinhole renewed with its own nonce (by another client here, as a
# daemon's refresh would): miniupnpd 2.3.1 then refuses the owner's delete.
pk open 9090 -6
nonce=$("$PY" -c 'import json,sys; print([m["nonce"] for m in json.load(open(sys.argv[1]))["mappings"] if m["port"] == 9090][0])' \
    "$XDG_RUNTIME_DIR/portkeeper/mappings.json")
in_ns pi "$PY" "$TOP/tests/net/pcp_client.py" --gw "$PK_ROUTER6_LL%eth0" --src "$PK_PI6" \
    --port 9090 --lifetime 3600 --nonce "$nonce" > /dev/null
pk close 9090 -6 --json
check "a renewed PCP pinhole: close says the router refused and when it closes by itself" json_is \
    '(j["error"]["code"], "shortest" in j["error"]["message"], " at " in j["error"]["message"])' \
    "('refused', True, True)"

pk open 80 -6 --json
check "open 80 -6 works through PCP" json_is '(j["ok"], j["method"])' "(True, 'pcp')"
check "... and the internet host reaches port 80" until_ok 2 reaches inet "[$PK_PI6]" 80
pk close 80 -6
check "close 80 -6" [ "$RC" = 0 ]
check "... port 80 is closed again" not reaches inet "[$PK_PI6]" 80

pk open 80:8080 -6
check "open -6 80:8080 is a usage error that says to open 8080" eval \
    '[ "$RC" = 2 ] && [[ $ERR == *"open 8080"* ]]'
pk open 8080 -6 --via natpmp
check "open -6 --via natpmp is a usage error (NAT-PMP has no IPv6)" eval \
    '[ "$RC" = 2 ] && [[ $ERR == *"no IPv6"* ]]'

# --- Without an IPv4 flag: IPv4 fails for want of a public address --------
pk open 8080 --json
check "open 8080 (no -4/-6) exits 0 under carrier-grade NAT when IPv6 worked" [ "$RC" = 0 ]
check "... IPv4's own result is no_public_address, family 4" json_is \
    '(j["ok"], j["family"], j["error"]["code"])' "(False, 4, 'no_public_address')"
check "... and its ipv6 object is the pinhole" json_is \
    '(j["ipv6"]["ok"], j["ipv6"]["family"], j["ipv6"]["internal_ip"], j["ipv6"]["external_port"])' \
    "(True, 6, '$PK_PI6', 8080)"
check "... which the internet host reaches" until_ok 2 reaches inet "[$PK_PI6]" 8080
pk list -6 --json
check "list -6 shows the pinhole portkeeper opened (no protocol lists them)" json_is \
    '[(m["internal_ip"], m["internal_port"], m["method"], m["lease"] > 0) for m in j["mappings"] if m["internal_port"] == 8080]' \
    "[('$PK_PI6', 8080, 'pcp', True)]"
pk list --json
check "list (no -4/-6) has IPv4's table and the IPv6 pinholes" json_is \
    '("mappings" in j, [m["internal_port"] for m in j["ipv6"]["mappings"] if m["internal_port"] == 8080])' "(True, [8080])"
pk close 8080 --json
check "close 8080 (no -4/-6) closes the pinhole too" json_is \
    '(j["ipv6"]["ok"], j["ipv6"]["removed"])' "(True, True)"
check "... unreachable again" not reaches inet "[$PK_PI6]" 8080
pk list -6 --json
check "... and list -6 no longer shows it" json_is \
    '[m for m in j["mappings"] if m["internal_port"] == 8080]' "[]"

# --- ip ----------------------------------------------------------------------
pk ip --json
check "ip --json has the ipv6 object: address, kind, gateway" json_is \
    '(j["ipv6"]["address"], j["ipv6"]["kind"], j["ipv6"]["gateway"])' \
    "('$PK_PI6', 'static', 'fe80::1%eth0')"
check "... PCP found with its epoch, UPnP's firewall open to pinholes" json_is \
    '(j["ipv6"]["pcp"]["found"], type(j["ipv6"]["pcp"]["epoch"]).__name__, j["ipv6"]["upnp"]["found"], j["ipv6"]["upnp"]["firewall_enabled"], j["ipv6"]["upnp"]["inbound_pinhole_allowed"])' \
    "(True, 'int', True, True, True)"
pk ip -6 --get
check "ip -6 --get prints the bare address (for ddclient's cmdv6)" \
    eval '[ "$RC" = 0 ] && [ "$OUT" = "$PK_PI6" ]'

# --- A temporary address beside the stable one ------------------------------
"$HOMENET" set tempaddr on > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "temporary address $PK_PI6_TEMP"
pk open 8080 -6 --json
check "with a temporary address present, the stable one is opened" json_is \
    'j["internal_ip"]' "$PK_PI6"
pk close 8080 -6
pk open 8080 -6 --address "$PK_PI6_TEMP"
check "--address with the temporary address is refused with a sentence" eval \
    '[ "$RC" = 2 ] && [[ $ERR == *"$PK_PI6_TEMP"*temporary* ]]'
pk open 8080 -6 --address fd00::10
check "--address with an address that is not global is refused" eval \
    '[ "$RC" = 2 ] && [[ $ERR == *fd00::10* ]]'
# A second stable global address of the pi (a server's own address, say):
# --address opens it rather than the one chosen by default.
SECOND6=${PK_LAN6_PREFIX%%::*}::11
in_ns pi ip -6 addr add "$SECOND6/64" dev eth0 nodad
pk open 8080 -6 --address "$SECOND6" --json
check "--address with another stable global address of the host opens it" \
    json_is '(j["ok"], j["internal_ip"])' "(True, '$SECOND6')"
check "... and the internet host reaches that address" until_ok 2 \
    reaches inet "[$SECOND6]" 8080
pk close 8080 -6 --address "$SECOND6" --json
check "... and close -6 --address closes it" json_is '(j["removed"])' "True"
check "... unreachable at that address again" not reaches inet "[$SECOND6]" 8080
in_ns pi ip -6 addr del "$SECOND6/64" dev eth0
"$HOMENET" set tempaddr off > /dev/null 2>&1

# --- Only UPnP answers over IPv6 --------------------------------------------
"$HOMENET" set pcp off > /dev/null 2>&1
pk open 8080 -6 --json
check "PCP closed: open 8080 -6 works through UPnP" json_is \
    '(j["ok"], j["method"], j["internal_ip"])' "(True, 'upnp', '$PK_PI6')"
check "... and the internet host reaches the pi" until_ok 2 reaches inet "[$PK_PI6]" 8080
pk open 8080 -6 --json
check "opened again, the UPnP pinhole is renewed with UpdatePinhole" json_is \
    '(j["method"], "renewed" in j["note"])' "('upnp', True)"
pk close 8080 -6 --json
check "close 8080 -6 removes the UPnP pinhole (its UniqueID kept)" json_is \
    '(j["removed"], j["method"])' "(True, 'upnp')"
check "... unreachable again" not reaches inet "[$PK_PI6]" 8080
pk open 80 -6 --json
check "PCP closed: open 80 -6 fails with pinhole_refused" json_is \
    'j["error"]["code"]' pinhole_refused
check "... and the sentence says to use PCP or a port from 1024 up" json_is \
    '"1024" in j["error"]["message"] and "PCP" in j["error"]["message"]' True
check "... exit status 1" [ "$RC" = 1 ]
pk open 80 --json
check "PCP closed: open 80 (no -4/-6) fails with exit status 1" [ "$RC" = 1 ]
check "... IPv4's error and IPv6's in one object" json_is \
    '(j["error"]["code"], j["ipv6"]["ok"], j["ipv6"]["family"], j["ipv6"]["error"]["code"])' \
    "('no_public_address', False, 6, 'pinhole_refused')"
pk open 8080 -6 --via pcp --json
check "--via pcp with PCP closed fails with a clear code" eval \
    '[ "$RC" = 1 ] && json_is "j[\"ok\"]" False'
"$HOMENET" set pcp on > /dev/null 2>&1

kill "$HTTP80_PID" 2> /dev/null

# --- No IPv6 ------------------------------------------------------------------
net_up --no-hairpin
pk open 8080 -6 --json
check "without IPv6, open -6 fails with no_ipv6" json_is 'j["error"]["code"]' no_ipv6
check "... exit status 1" [ "$RC" = 1 ]
pk ip --json
check "without IPv6, ip --json says \"ipv6\": null" json_is 'j["ipv6"]' None
pk open 8080 --json
check "without IPv6, open (no flag) is IPv4 alone, as before" json_is \
    '(j["ok"], j["family"], "ipv6" in j)' "(True, 4, False)"
pk close 8080

exit $T_FAILED

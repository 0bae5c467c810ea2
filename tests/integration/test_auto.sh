#!/bin/bash
# Both protocols on: auto, the table, ip, and NAT loopback reachability.
. "$(dirname "$0")/lib.sh"
require_netns
net_up
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

pk open 8080 --json
check "open via auto succeeds" json_is 'j["ok"], j["external_ip"], j["internal_ip"]' \
    "(True, '$PK_WAN', '$PK_PI')"
note "auto chose $(json 'j["method"]')"
# PCP wins the race, and NAT-PMP's public address, asked at the same
# moment, names the external address: no PCP query costs the router a
# second MAP.
pk close 8080
pk open 8080 -v -v
check "auto over PCP takes the external address from NAT-PMP's answer" eval \
    '[[ $ERR == *"pcp: external address \"$PK_WAN\", as NAT-PMP said"* && $OUT == *"opened $PK_WAN:8080/tcp"*"via PCP"* ]]'
check "after open the internet host reaches the pi" reaches inet "$PK_WAN" 8080
pk list --json
check "list marks the forward as this host's" json_is \
    '[(m["external_port"], m["this_host"]) for m in j["mappings"]]' "[(8080, True)]"

pk_on laptop list --json
check "from the laptop the same forward is not this host's" json_is \
    '[(m["external_port"], m["internal_ip"], m["this_host"]) for m in j["mappings"]]' \
    "[(8080, '$PK_PI', False)]"

pk_on laptop close 8080 --json
check "the laptop cannot close the pi's forward" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'conflict')"
check "... and the forward still works" reaches inet "$PK_WAN" 8080

pk close 8080 --json
check "close via auto" json_is 'j["ok"], j["removed"]' "(True, True)"
check "after close the internet host no longer reaches the pi" not reaches inet "$PK_WAN" 8080

pk ip --json
check "ip --json has the contract's fields" json_is \
    'j["internal_ip"], j["gateway"], j["external_ip"], j["upnp"]["found"], j["upnp"]["connected"], j["natpmp"]["found"], type(j["natpmp"]["epoch"]).__name__, "control_url" in j["upnp"]' \
    "('$PK_PI', '$PK_ROUTER_LAN', '$PK_WAN', True, True, True, 'int', True)"
pk ip
check "ip prints a readable summary" eval '[[ $OUT == *"external  $PK_WAN (public)"* ]]'

# The router's address changes: a new open reports the new address and works.
"$HOMENET" wan-change > /dev/null 2>&1
eval "$("$HOMENET" info)"
pk open 8080 --json
check "after a WAN address change open reports the new address" json_is \
    'j["external_ip"]' "$PK_WAN"
check "... and the internet host reaches the pi there" reaches inet "$PK_WAN" 8080
pk close 8080

# The router reboots: the UPnP port changes and a new command still works.
"$HOMENET" router-restart > /dev/null 2>&1
pk open 8080 --via upnp --json
check "after a router restart (new UPnP port) open works" json_is 'j["ok"]' True
pk close 8080
exit $T_FAILED

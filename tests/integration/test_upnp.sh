#!/bin/bash
# open / close / list through UPnP-IGD alone (the router's NAT-PMP switched off).
. "$(dirname "$0")/lib.sh"
require_netns
net_up --no-natpmp
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

pk open 8080 --via upnp --json
# The lease is read back from the router, whose countdown may have ticked.
check "open --via upnp succeeds" json_is \
    '(j["ok"], j["method"], j["protocol"], j["external_ip"], j["external_port"], j["internal_ip"], j["internal_port"], 3595 <= j["lease"] <= 3600)' \
    "(True, 'upnp', 'tcp', '$PK_WAN', 8080, '$PK_PI', 8080, True)"
check "after open the internet host reaches the pi" reaches inet "$PK_WAN" 8080

pk list --json
check "list shows the forward, marked as this host's" json_is \
    '[(m["external_port"], m["internal_ip"], m["this_host"]) for m in j["mappings"]]' \
    "[(8080, '$PK_PI', True)]"
pk list
check "list prints a table" eval '[[ $OUT == *"8080/tcp"*"$PK_PI:8080"*this* ]]'

pk close 8080 --via upnp --json
check "close --via upnp removes it" json_is 'j["ok"], j["removed"]' "(True, True)"
check "after close the internet host no longer reaches the pi" not reaches inet "$PK_WAN" 8080
pk close 8080 --via upnp --json
check "closing again succeeds and says nothing was removed" json_is \
    'j["ok"], j["removed"]' "(True, False)"

pk open 8080 --lease 0 --json
check "a permanent lease through auto uses UPnP" json_is 'j["ok"], j["method"]' "(True, 'upnp')"
pk close 8080

pk open 8080 --via natpmp --json
check "--via natpmp fails with no_gateway when only UPnP answers" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'no_gateway')"
check "... with exit status 1" [ "$RC" = 1 ]

pk ip --json
check "ip shows the IGD's control URL at the gateway, connected" json_is \
    'j["upnp"]["found"], j["upnp"]["connected"], j["upnp"]["control_url"].startswith("http://'"$PK_ROUTER_LAN"':"), j["natpmp"]["found"]' \
    "(True, True, True, False)"
exit $T_FAILED

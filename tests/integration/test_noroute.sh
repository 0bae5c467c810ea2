#!/bin/bash
# Routers that cannot forward: carrier-grade NAT and no protocol at all.
. "$(dirname "$0")/lib.sh"
require_netns

net_up --cgnat
for via in auto upnp natpmp; do
	pk open 80 --via "$via" --json
	check "carrier-grade NAT: open --via $via gives no_public_address" json_is \
	    'j["ok"], j["error"]["code"]' "(False, 'no_public_address')"
done
pk open 80
check "the sentence says what the user can do" eval \
    '[ "$RC" = 1 ] && [[ $ERR == *"carrier-grade NAT"* && $ERR == *"IPv6"* ]]'
pk list --json
check "no forward was created" json_is 'j["mappings"]' "[]"

net_up --no-upnp --no-natpmp
start=$(date +%s%N)
pk open 80 --json
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
note "no_gateway after $elapsed ms"
check "both protocols off: open gives no_gateway" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'no_gateway')"
check "... within 3 s" [ "$elapsed" -lt 3000 ]
check "... with exit status 1" [ "$RC" = 1 ]
pk ip --json
check "ip still shows this host and its gateway" json_is \
    'j["ok"], j["internal_ip"], j["gateway"], j["upnp"]["found"], j["natpmp"]["found"]' \
    "(False, '$PK_PI', '$PK_ROUTER_LAN', False, False)"

# No default route at all.
in_ns pi ip route del default
pk open 80 --json
check "without a default route: no_route" json_is \
    'j["ok"], j["error"]["code"]' "(False, 'no_route')"
exit $T_FAILED

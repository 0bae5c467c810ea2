#!/bin/bash
# A port already forwarded to the laptop: every protocol reports the conflict
# and names the laptop, and nothing of the laptop's is touched.
. "$(dirname "$0")/lib.sh"
require_netns
net_up

pk_on laptop open 9000 --json
check "the laptop forwards 9000" json_is 'j["ok"]' True
pk_on laptop open 9001/udp --via upnp --json
check "the laptop forwards 9001/udp over UPnP" json_is 'j["ok"]' True

for via in auto upnp natpmp; do
	pk open 9000 --via "$via" --json
	check "open --via $via of the laptop's port is a conflict" json_is \
	    'j["ok"], j["error"]["code"]' "(False, 'conflict')"
	check "... whose message names the laptop" eval \
	    '[[ $(json "j[\"error\"][\"message\"]") == *"$PK_LAPTOP"* ]]'
	check "... with exit status 1" [ "$RC" = 1 ]
done
pk open 9001/udp
check "the human message names the laptop too" eval \
    '[ "$RC" = 1 ] && [[ $ERR == *"already forwarded to $PK_LAPTOP:9001"* ]]'

pk open 9000 --via natpmp
check "over NAT-PMP the CLI says how to take the port offered instead" eval \
    '[ "$RC" = 1 ] && [[ $ERR == *"NAT-PMP offered port "*"; pass --any-port to accept port "* ]]'

# portkeeperd has no --any-port: its reason names the offer, not the option
# (issue 13).
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
mkdir -p "$T_WORK/state"
cat > "$T_WORK/pkd.conf" <<CONF
[portkeeper]
method = natpmp
state_dir = $T_WORK/state
socket = $T_WORK/api.sock
remove_on_exit = yes
[forward taken]
external = 9000
CONF
ip netns exec "$PK_NET-pi" "$PKD" -f -c "$T_WORK/pkd.conf" > "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!
failed_on_offer() {
	pk status --socket "$T_WORK/api.sock" --json
	json_is '[("offered port" in f["error"], "--any-port" in f["error"]) for f in j["forwards"] if f["state"] == "failed"]' \
	    "[(True, False)]"
}
check "portkeeperd's reason names the port offered, and no option it lacks" \
    until_ok 10 failed_on_offer
kill "$PKD_PID"; wait "$PKD_PID" 2>/dev/null

pk open 9000 --via natpmp --any-port --json
check "--any-port accepts the port NAT-PMP offers instead" json_is \
    'j["ok"], j["external_port"] != 9000' "(True, True)"
other=$(json 'j["external_port"]')
pk close "$other:9000" --json

pk_on laptop list --json
check "the laptop's forwards are intact" json_is \
    'sorted((m["external_port"], m["protocol"], m["internal_ip"]) for m in j["mappings"] if m["internal_ip"] == "'"$PK_LAPTOP"'")' \
    "[(9000, 'tcp', '$PK_LAPTOP'), (9001, 'udp', '$PK_LAPTOP')]"
pk list --json
check "no forward to the pi is left behind" json_is \
    '[m for m in j["mappings"] if m["this_host"]]' "[]"
exit $T_FAILED

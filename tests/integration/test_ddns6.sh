#!/bin/bash
# IPv6 kept end to end (issue 16), on the home it is for: IPv4 behind
# carrier-grade NAT, IPv6 routed.  portkeeperd keeps a pinhole for the
# forward web (family both); the provider changes the LAN prefix; the
# pinhole must follow the pi's address, the hook must run with
# PORTKEEPER_IPV6 and PORTKEEPER_OLD_IPV6, and the shipped ddclient-update
# hook must give Debian's real ddclient the new address for the AAAA record
# at a dyndns2 provider on the internet host (tests/net/dyndns2.py), while
# the carrier-grade NAT address is never published as the A record.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
if ! command -v ddclient > /dev/null; then
	skip "dynamic DNS over IPv6 through ddclient" "ddclient is not installed (make deps)"
	exit 0
fi
net_up --ipv6 --cgnat --no-hairpin
http_start 8080 :: || { nok "HTTP server on the pi"; exit 1; }

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HOOKLOG=$T_WORK/hook.log
mkdir -p "$T_WORK/state"

# One update a second at most rather than ddclient's default of one per
# 30 s, so that the first address and the prefix change follow each other.
# Not through a pipe: ddns_start must run in this shell, so that DDNS_PID,
# which the exit trap kills, is set here (a piped ddns_start left it unset,
# the trap died on it under set -u, and the network stayed up).
ddns_start :: < <(echo "min-interval=1s")
record_is() { [ "$(record "$1")" = "$2" ]; }
cat > "$T_WORK/hook" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT family=\$PORTKEEPER_FAMILY ipv6=\$PORTKEEPER_IPV6 old=\$PORTKEEPER_OLD_IPV6 fwd=\$PORTKEEPER_FORWARD" >> "$HOOKLOG"
exec "$T_WORK/ddclient-update" "\$@" 2>> "$T_WORK/ddclient-update.log"
HOOK
chmod 755 "$T_WORK/hook"

cat > "$CONF" <<CONF
[portkeeper]
method = auto
lease = 600
state_dir = $T_WORK/state
socket = $SOCK
on_change = $T_WORK/hook
remove_on_exit = yes
verify_interval = 5

[forward web]
external = 8080
family = both
CONF

ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!
trap 'rc=$?; kill $PKD_PID ${DDNS_PID:-} 2> /dev/null; wait $PKD_PID 2> /dev/null; (exit $rc); cleanup' EXIT
pinhole_at() {
	pk status --socket "$SOCK" --json
	json_is '[(f["ipv6"] or {}).get("state") for f in j["forwards"] if f["name"] == "web"], j["ipv6"]["address"]' \
	    "(['active'], '$1')"
}
check "portkeeperd opens web's pinhole at $PK_PI6" until_ok 15 pinhole_at "$PK_PI6"
check "... and the internet host reaches the pi's page over IPv6" \
    until_ok 3 reaches inet "[$PK_PI6]" 8080
check "the hook got pinhole_added with PORTKEEPER_FAMILY=6 and the address" \
    until_ok 5 grep -q "^pinhole_added family=6 ipv6=$PK_PI6 .* fwd=web" "$HOOKLOG"
check "the provider holds the pi's address as the AAAA record" until_ok 15 \
    record_is AAAA "$PK_PI6"
check "... and no A record: the carrier-grade NAT address $PK_WAN is not public" \
    record_is A ""

# --- The provider moves the LAN to a new prefix --------------------------
OLD6=$PK_PI6
"$HOMENET" prefix-change > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "prefix change: $OLD6 -> $PK_PI6"
start=$(date +%s%N)
check "after the prefix change the pinhole is at the new address" \
    until_ok 15 pinhole_at "$PK_PI6"
check "... the internet host reaches the pi's page at $PK_PI6" \
    until_ok 3 reaches inet "[$PK_PI6]" 8080
note "reachable again $(( ($(date +%s%N) - start) / 1000000 )) ms after the prefix change"
check "the hook ran ipv6_address_changed with PORTKEEPER_IPV6 and PORTKEEPER_OLD_IPV6" \
    until_ok 5 grep -q "^ipv6_address_changed family=6 ipv6=$PK_PI6 old=$OLD6 " "$HOOKLOG"
check "ddclient gave the provider the new AAAA address" until_ok 20 \
    record_is AAAA "$PK_PI6"
pk status --socket "$SOCK" --json
check "the status keeps both addresses in the IPv6 history" json_is \
    '[h["ip"] for h in j["ipv6"]["history"]][-2:]' "['$OLD6', '$PK_PI6']"

kill "$PKD_PID" 2> /dev/null
wait "$PKD_PID" 2> /dev/null
check "remove_on_exit closes the pinhole: unreachable again" \
    until_ok 3 not reaches inet "[$PK_PI6]" 8080
if [ "$T_FAILED" != 0 ]; then
	tail -40 "$T_WORK/pkd.log" | sed 's/^/# pkd: /'
	sed 's/^/# hook: /' "$HOOKLOG"
	tail -20 "$T_WORK/ddclient-update.log" | sed 's/^/# ddclient-update: /'
fi
exit $T_FAILED

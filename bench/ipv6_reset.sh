#!/bin/bash
# The untimed setup before every timed run of bench/ipv6.sh, run in the
# pi's namespace: removes the forward or pinhole for port 8080 that either
# tool made, then checks in the router's nftables that none is left, so that
# the next timed run creates one rather than renewing one (miniupnpd answers
# a PCP MAP or an AddPinhole for an existing one by updating it).  A check
# that fails is written to $BENCH6_FAILED, which bench/ipv6.sh reads.
#
# usage: bench/ipv6_reset.sh pcp6|pcp4|upnp6
# environment: PK_NET, BENCH6_PK (portkeeper), BENCH6_NONCE (the nonce
# pcp_client.py always uses), BENCH6_UPNP_URL (the router's rootDesc.xml),
# BENCH6_FAILED, and XDG_RUNTIME_DIR (where portkeeper keeps its nonces).

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PCP_CLIENT=$TOP/tests/net/pcp_client.py
PI=192.168.77.10
PI6=2a0c:7700:77::10

# Each tool removes its own: portkeeper with what it kept, pcp_client.py by
# its fixed nonce (a delete with another nonce is NOT_AUTHORIZED), upnpc by
# the UniqueID, which asking for the same pinhole again answers (see
# tests/net/README.md).  Exit statuses are not checked: one of the two
# always has nothing to remove; the check below decides.
case ${1:-} in
pcp6)
	"$BENCH6_PK" close 8080 -6 --via pcp
	"$PCP_CLIENT" --gw fe80::1%eth0 --src "$PI6" --port 8080 \
	    --lifetime 0 --nonce "$BENCH6_NONCE"
	;;
pcp4)
	"$BENCH6_PK" close 8080 -4 --via pcp
	"$PCP_CLIENT" --gw 192.168.77.1 --src "$PI" --port 8080 \
	    --lifetime 0 --nonce "$BENCH6_NONCE"
	;;
upnp6)
	"$BENCH6_PK" close 8080 -6
	id=$(upnpc -6 -u "$BENCH6_UPNP_URL" -A "" 0 "$PI6" 8080 TCP 3600 |
	    sed -n 's/.*Pinhole ID = \([0-9]*\).*/\1/p')
	[ -z "$id" ] || upnpc -6 -u "$BENCH6_UPNP_URL" -D "$id"
	;;
*)
	echo "usage: bench/ipv6_reset.sh pcp6|pcp4|upnp6" >&2
	exit 2
	;;
esac >/dev/null 2>&1

# miniupnpd's DNAT rules and its filter rules (IPv4 forwards and IPv6
# pinholes alike) must hold nothing for port 8080 any more.
left=$(for chain in prerouting_miniupnpd miniupnpd; do
	ip netns exec "$PK_NET-router" nft list chain inet pk_router "$chain"
done | grep 'dport 8080')
if [ -n "$left" ]; then
	echo "$1: still on the router after the reset: $left" >> "$BENCH6_FAILED"
	exit 1
fi
exit 0

#!/bin/bash
# Which IPv6 address and router portkeeper would open (netinfo6_get,
# issue 15 "Which address"), against a real kernel: a network namespace of
# this test's own with a veth link whose addresses and default routes it
# sets one by one (static, SLAAC-like with lifetimes, EUI-64, a /128 as
# DHCPv6 clients add them, a kernel-made temporary address beside a
# mngtmpaddr one, a unique local one), read through
# tests/tools/netinfo6_show, built with the unit tests.  Needs root, no
# router.
. "$(dirname "$0")/lib.sh"

SHOW=$(dirname "$PORTKEEPER")/tests/tools/netinfo6_show
NS=$PK_NET-n6
if [ "$(id -u)" != 0 ] || ! ip netns add "$NS" 2>/dev/null; then
	skip "$(basename "$0" .sh)" "needs root for a network namespace"
	exit 0
fi
n6_cleanup() {
	local rc=$?
	ip netns del "$NS" 2>/dev/null
	(exit $rc)
	cleanup
}
trap n6_cleanup EXIT
if [ ! -x "$SHOW" ]; then
	nok "$SHOW is built (make unit)"
	exit 1
fi

ns() { ip netns exec "$NS" "$@"; }
# show [ADDRESS]: sets OUT (netinfo6_show's lines) and RC.
show() {
	OUT=$(ns "$SHOW" "$@" 2>&1)
	RC=$?
}
field() { sed -n "s/^$1=//p" <<< "$OUT"; }
is() { [ "$(field "$1")" = "$2" ] || { note "$OUT"; false; }; }
says() { [[ $(field message) == *"$1"* ]] || { note "$OUT"; false; }; }

ns ip link set lo up
show
check "no IPv6 default route: no_ipv6" is error no_ipv6
check "... and the sentence says so" says "this host has no IPv6 default route"

# p0 is the pi's LAN port; DAD off so that no address is tentative.
ns ip link add p0 address 02:11:22:33:44:55 type veth peer name p1
ns sysctl -qw net.ipv6.conf.p1.disable_ipv6=1 \
    net.ipv6.conf.p0.accept_dad=0 net.ipv6.conf.p0.use_tempaddr=2 \
    net.ipv6.conf.p0.accept_ra=0
ns ip link set p1 up
ns ip link set p0 up
ns ip -6 route add default via fe80::1 dev p0
show
check "a default route but no global address: no_ipv6" is error no_ipv6
check "... naming the interface" says "no global IPv6 address on p0"

ns ip -6 addr add fd00::10/64 dev p0
show
check "only a unique local address: its sentence" \
    says "only fd00::10, which is a unique local address (fc00::/7)"

# A prefix with lifetimes and mngtmpaddr: the kernel adds a temporary one.
ns ip -6 addr add 2a0c:7700:77::20/64 dev p0 mngtmpaddr valid_lft 7200 \
    preferred_lft 3600
temporary() {
	TEMP=$(ns ip -6 -o addr show dev p0 temporary | awk '{print $4}' |
	    cut -d/ -f1 | head -1)
	[ -n "$TEMP" ]
}
check "the kernel made a temporary address" until_ok 5 temporary
show
check "the stable address is chosen, not the temporary $TEMP" \
    is address 2a0c:7700:77::20
check "... as stable_privacy (lifetimes, no EUI-64)" is kind stable_privacy
check "... through fe80::1%p0" is gateway "fe80::1%p0"

ns ip -6 addr add 2a0c:7700:77::10/64 dev p0 nodad
show
check "a static address wins over a SLAAC-like one" is address 2a0c:7700:77::10
check "... and is static" is kind static

show "$TEMP"
check "--address a temporary one: usage" is error usage
check "... saying it is temporary" says "$TEMP is a temporary (privacy) address"
show fd00::10
check "--address a ULA: usage" is error usage
check "... saying why" \
    says "fd00::10 is a unique local address (fc00::/7), not reachable"
show 2a0c:7700:77::99
check "--address not on this host: usage" says "is not an address of this host"
show 2a0c:7700:77::20
check "--address another stable global address is accepted" \
    is address 2a0c:7700:77::20

# The kinds, from least to most preferred.
ns ip -6 addr flush dev p0 scope global
ns ip -6 addr add 2a0c:7700:77:0:11:22ff:fe33:4455/64 dev p0 \
    valid_lft 7200 preferred_lft 3600
show
check "an identifier from p0's MAC address is eui64" is kind eui64
ns ip -6 addr add 2a0c:7700:77::abcd/64 dev p0 valid_lft 7200 \
    preferred_lft 3600
show
check "stable_privacy is preferred to eui64" is address 2a0c:7700:77::abcd
ns ip -6 addr add 2a0c:7700:77::1234/128 dev p0 valid_lft 7200 \
    preferred_lft 3600
show
check "a /128 with lifetimes is dhcpv6, preferred to SLAAC" is kind dhcpv6

ns ip -6 addr flush dev p0 scope global
ns ip -6 addr add 2a0c:7700:77::10/64 dev p0 valid_lft 7200 preferred_lft 0
show
check "only a deprecated address: no_ipv6" is error no_ipv6
check "... saying it is deprecated" says "2a0c:7700:77::10 is deprecated"

# A second router with a lower metric on another link wins.
ns ip link add q0 type veth peer name q1
ns sysctl -qw net.ipv6.conf.q0.accept_dad=0 net.ipv6.conf.q1.disable_ipv6=1
ns ip link set q1 up
ns ip link set q0 up
ns ip -6 route add default via fe80::2 dev q0 metric 100
ns ip -6 addr add 2a0c:7700:99::10/64 dev q0
show
check "the default route with the lowest metric is used" is gateway "fe80::2%q0"
check "... with the address on its link" is address 2a0c:7700:99::10
show 2a0c:7700:77::10
check "--address on another link than the route's: usage" \
    says "is on p0, not on q0 where the IPv6 default route goes"

exit $T_FAILED

#!/bin/bash
# homenet.sh - a simulated home network for portkeeper's integration tests.
#
# Four network namespaces, all named "${PK_NET}-<host>" (five with
# --double-nat, which puts an "isp" NAT between the router and inet):
#
#   inet   11.22.33.1/24 (eth0)           "a host on the internet"
#     |    [isp  up0 11.22.33.2/24, down0 11.22.34.1/24, masquerades]
#   router wan0 11.22.33.2/24 (11.22.34.2/24 behind isp), br0 192.168.77.1/24
#          runs Debian's miniupnpd (UPnP-IGD + NAT-PMP) and nftables NAT
#     |  br0 (bridge ports lan-pi, lan-laptop)
#   pi     192.168.77.10/24 (eth0)        where portkeeper runs
#   laptop 192.168.77.20/24 (eth0)        another LAN host
#
# With --ipv6 every host also gets IPv6: the LAN is 2a0c:7700:77::/64 on
# br0 (router ::1 and fe80::1, pi ::10, laptop ::20, default via fe80::1),
# the WAN link 2a0c:7700:33::/64 (inet ::1, router ::2), and inet routes
# the LAN prefix via the router.  The router's IPv6 firewall lets in only
# what miniupnpd's pinholes (UPnP IGDv2, PCP) allow.
#
# Every veth pair is created directly inside the namespaces, so the host
# namespace never sees an interface, address or route of the test ranges.
# Run "homenet.sh help" or see README.md for the subcommands.

set -eu
shopt -s inherit_errexit

PK_NET=${PK_NET:-pk}
# The name ends up in namespace names and a directory name, so keep it tame.
if [[ ! $PK_NET =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
	echo "homenet: PK_NET must match [A-Za-z0-9_-]{1,32}, got '$PK_NET'" >&2
	exit 2
fi
export PK_NET

HERE=$(dirname "$(readlink -f "$0")")
RUN=/tmp/portkeeper-net-$PK_NET
HOSTS="router inet pi laptop"
# Every host a network can have; "down" looks for all of them.
ALL_HOSTS="$HOSTS isp"
R=$PK_NET-router

LAN_PREFIX=192.168.77
ROUTER_LAN=$LAN_PREFIX.1
PI_ADDR=$LAN_PREFIX.10
LAPTOP_ADDR=$LAN_PREFIX.20
# 11.22.33.0/24 is real, routable address space; it is used because
# miniupnpd 2.3.1 refuses to forward when its WAN address is reserved
# (TEST-NETs, 100.64/10, RFC 1918...).  It only ever exists inside the
# namespaces below.
WAN_INET_DEFAULT=11.22.33.1/24
WAN_ROUTER_DEFAULT=11.22.33.2/24
WAN_INET_CGNAT=100.64.0.1/10
WAN_ROUTER_CGNAT=100.64.0.2/10
# --double-nat: the isp namespace takes the router's usual address towards
# inet and masquerades; the router gets a WAN in 11.22.34.0/24, which is
# not reserved, so miniupnpd still forwards ports (up to the isp's NAT).
ISP_UP=11.22.33.2/24
ISP_DOWN=11.22.34.1/24
WAN_ROUTER_DOUBLE=11.22.34.2/24

# --ipv6.  2a0c:7700::/32 looks global on purpose: portkeeper must treat
# 2001:db8::/32 (documentation) as non-global, so it cannot be used.  Like
# the IPv4 ranges, these exist only inside the namespaces.  The LAN prefix
# is a variable (LAN6) because "prefix-change" moves it; the interface
# identifiers below stay.
LAN6_DEFAULT=2a0c:7700:77::
LAN6_OTHER=2a0c:7700:78::
ROUTER6_IID=1
PI6_IID=10
LAPTOP6_IID=20
# The router's link-local address on br0: the hosts' IPv6 default gateway,
# as router advertisements would give it.
ROUTER6_LL=fe80::1
INET6=2a0c:7700:33::1
WAN6=2a0c:7700:33::2
PCP_PORT=5351

# nftables names inside the router namespace.  miniupnpd is told about them
# in its config; the hairpin table belongs to this script alone.
NFT_TABLE=pk_router
NFT_FWD_CHAIN=miniupnpd
NFT_PRE_CHAIN=prerouting_miniupnpd
NFT_POST_CHAIN=postrouting_miniupnpd
HP_TABLE=pk_hairpin
# Drop rules of "homenet.sh block", jumped to before miniupnpd's chain.
NFT_BLOCK_CHAIN=block
# With --ipv6, "set pcp off" puts its reject rule here (input hook).
NFT_PCP6_CHAIN=no_pcp6

MINIUPNPD=/usr/sbin/miniupnpd
# Prefer the distribution's interpreter over whatever shim is first in PATH.
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

msg() { echo "homenet[$PK_NET]: $*" >&2; }
die() { msg "error: $*"; exit 1; }

nsname() { echo "$PK_NET-$1"; }
in_ns() { local h=$1; shift; ip netns exec "$(nsname "$h")" "$@"; }
ns_exists() { [ -e "/run/netns/$(nsname "$1")" ]; }

# ---------------------------------------------------------------------------
# Process bookkeeping.  Every process this script starts has its PID in a
# file in $RUN; before signalling a PID we check that its command line still
# mentions our run directory, so a recycled PID is never hit.

# alive PID: true if PID exists and is not a zombie.
alive() {
	local stat
	{ read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# ours PIDFILE: print the PID in PIDFILE if that process is alive and was
# started by us for this network.
ours() {
	local pid cmd
	[ -s "$1" ] || return 1
	read -r pid <"$1" || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	alive "$pid" || return 1
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmd == *"$RUN/"* || $cmd == *"$RUN "* ]] || return 1
	echo "$pid"
}

# stop_pidfile PIDFILE [group]: SIGTERM the process (or its whole process
# group, for helpers started with setsid), wait up to 2 s, then SIGKILL.
stop_pidfile() {
	local pid target
	pid=$(ours "$1") || { rm -f "$1"; return 0; }
	target=$pid
	[ "${2:-}" = group ] && target=-$pid
	kill -TERM -- "$target" 2>/dev/null || true
	for _ in $(seq 100); do
		alive "$pid" || break
		sleep 0.02
	done
	if alive "$pid"; then
		kill -KILL -- "$target" 2>/dev/null || true
	fi
	# Reap it if it happens to be our own child (router-restart retries).
	wait "$pid" 2>/dev/null || true
	rm -f "$1"
}

# ---------------------------------------------------------------------------
# Knobs live in $RUN/state so that later invocations know how the network
# was brought up.

load_state() {
	if [ ! -f "$RUN/state" ] || ! ns_exists router; then
		die "network '$PK_NET' is not up (run: homenet.sh up)"
	fi
	# shellcheck source=/dev/null
	. "$RUN/state"
	DOUBLE_NAT=${DOUBLE_NAT:-0}
	IPV6=${IPV6:-0} PCP=${PCP:-1} TEMPADDR=${TEMPADDR:-0} LAN6=${LAN6:-$LAN6_DEFAULT}
	if [ "$DOUBLE_NAT" = 1 ]; then HOSTS="$HOSTS isp"; fi
}

save_state() {
	printf 'UPNP=%s\nNATPMP=%s\nHAIRPIN=%s\nCGNAT=%s\nDOUBLE_NAT=%s\nIPV6=%s\nPCP=%s\nTEMPADDR=%s\nLAN6=%s\n' \
		"$UPNP" "$NATPMP" "$HAIRPIN" "$CGNAT" "$DOUBLE_NAT" "$IPV6" "$PCP" "$TEMPADDR" "$LAN6" >"$RUN/state.new"
	mv "$RUN/state.new" "$RUN/state"
}

# need_ipv6 WHAT: fail unless the network was brought up with --ipv6.
need_ipv6() { [ "$IPV6" = 1 ] || die "$1 needs a network brought up with --ipv6"; }

yesno() { if [ "$1" = 1 ]; then echo yes; else echo no; fi; }

# Current address/prefix of the router's WAN side and of the inet host.
wan_cidr() { ip -n "$R" -4 -o addr show dev wan0 | awk '{print $4; exit}'; }
inet_cidr() { ip -n "$(nsname inet)" -4 -o addr show dev eth0 | awk '{print $4; exit}'; }

# ---------------------------------------------------------------------------
# Topology.

# "ip netns exec" bind-mounts /etc/netns/<ns>/* over /etc/*.  Without
# this, programs in the namespaces would use the host's resolv.conf, and
# their DNS queries (e.g. the reverse lookup "python3 -m http.server" does
# at startup) would vanish into the inet host and time out after 10 s.
# Instead the resolver asks an address where nothing listens on port 53,
# so lookups fail at once (ICMP port unreachable), and /etc/hosts knows
# the four hosts by name.
write_netns_etc() {
	local h dir dns wan_inet=$1
	for h in $HOSTS; do
		dir=/etc/netns/$(nsname "$h")
		mkdir -p "$dir"
		case $h in
		pi | laptop) dns=$ROUTER_LAN ;;
		*) dns=127.0.0.1 ;;
		esac
		printf '# homenet.sh %s\nnameserver %s\noptions timeout:1 attempts:1\n' "$PK_NET" "$dns" >"$dir/resolv.conf"
		cat >"$dir/hosts" <<EOF
127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
$ROUTER_LAN router
${wan_inet%/*} inet
$PI_ADDR pi
$LAPTOP_ADDR laptop
${ISP_DOWN%/*} isp
EOF
		# IPv6 names of their own, so that "pi" or "inet" keep meaning
		# the IPv4 address on an --ipv6 network too.
		[ "$IPV6" = 0 ] || cat >>"$dir/hosts" <<EOF
$LAN6$ROUTER6_IID router6
$INET6 inet6
$LAN6$PI6_IID pi6
$LAN6$LAPTOP6_IID laptop6
EOF
	done
}

build_topology() {
	local h wan_router=$1 wan_inet=$2 wan_gw=$2
	[ "$DOUBLE_NAT" = 0 ] || wan_gw=$ISP_DOWN
	write_netns_etc "$wan_inet"
	for h in $HOSTS; do
		ip netns add "$(nsname "$h")"
	done

	# Each veth pair is created inside the router namespace with its peer
	# moved straight into the other namespace, so the host namespace never
	# sees any of the links.  Multicast snooping is off: the bridge is a
	# dumb switch, so SSDP and NAT-PMP multicast never depend on IGMP state.
	# With double NAT the router's WAN cable goes to the isp namespace,
	# and the isp's to inet.
	local wan_peer="eth0 netns $(nsname inet)"
	if [ "$DOUBLE_NAT" = 1 ]; then
		ip -n "$(nsname isp)" link add up0 type veth peer name eth0 netns "$(nsname inet)"
		wan_peer="down0 netns $(nsname isp)"
	fi
	ip -n "$R" -batch - <<EOF
link add wan0 type veth peer name $wan_peer
link add br0 type bridge mcast_snooping 0
link set br0 addrgenmode none
link add lan-pi type veth peer name eth0 netns $(nsname pi)
link add lan-laptop type veth peer name eth0 netns $(nsname laptop)
link set lan-pi master br0
link set lan-laptop master br0
EOF

	# Kernel knobs, one exec per namespace (process start-up is the main
	# cost of "up").
	# - IPv6 stays on loopback (::1, for tests that resolve "localhost")
	#   and is off everywhere else: the testbed is IPv4-only, and this
	#   keeps DAD/MLD/RS chatter out of packet captures.
	# - The router must not send ICMP redirects: hairpinned traffic enters
	#   and leaves br0, and a redirect would tell the LAN host to bypass
	#   the router (and its DNAT).
	# - br_netfilter is loaded on the test machines: without turning
	#   bridge-nf-call-* off, frames bridged between the LAN ports would go
	#   through the IP forward and NAT hooks too.  Those knobs only appear
	#   once a bridge exists in the namespace and are missing altogether
	#   without br_netfilter, which is fine.
	# - With --ipv6, IPv6 stays on, with neither DAD (every address is
	#   usable at once) nor router advertisements (addresses and routes
	#   are static), and the bridge ports carry no addresses of their own.
	for h in $HOSTS; do
		# shellcheck disable=SC2016 # expanded by the inner shell
		in_ns "$h" sh -c '
			cd /proc/sys/net
			if [ "$2" = 1 ]; then
				for f in ipv6/conf/*/accept_dad ipv6/conf/*/accept_ra; do echo 0 >"$f"; done
				if [ "$1" = router ]; then
					echo 1 >ipv6/conf/all/forwarding
					echo 1 >ipv6/conf/lan-pi/disable_ipv6
					echo 1 >ipv6/conf/lan-laptop/disable_ipv6
				fi
			else
				echo 1 >ipv6/conf/all/disable_ipv6
				echo 0 >ipv6/conf/lo/disable_ipv6
			fi
			if [ "$1" = isp ]; then echo 1 >ipv4/ip_forward; fi
			[ "$1" = router ] || exit 0
			echo 1 >ipv4/ip_forward
			for f in ipv4/conf/all/send_redirects ipv4/conf/default/send_redirects \
				 ipv4/conf/br0/send_redirects bridge/bridge-nf-call-iptables \
				 bridge/bridge-nf-call-ip6tables bridge/bridge-nf-call-arptables; do
				[ ! -e "$f" ] || echo 0 >"$f"
			done' sh "$h" "$IPV6"
	done

	ip -n "$R" -batch - <<EOF
link set lo up
link set lan-pi up
link set lan-laptop up
addr add $ROUTER_LAN/24 dev br0
link set br0 up
addr add $wan_router dev wan0
link set wan0 up
route add default via ${wan_gw%/*}
EOF
	if [ "$DOUBLE_NAT" = 1 ]; then
		ip -n "$(nsname isp)" -batch - <<EOF
link set lo up
addr add $ISP_UP dev up0
link set up0 up
addr add $ISP_DOWN dev down0
link set down0 up
route add default via ${wan_inet%/*}
EOF
		# The isp's NAT: the router's traffic leaves as ISP_UP; from inet
		# only replies get back in (there is nothing to forward to).
		in_ns isp nft -f - <<EOF
table ip pk_isp {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "up0" masquerade
	}
}
EOF
	fi
	ip -n "$(nsname inet)" -batch - <<EOF
link set lo up
addr add $wan_inet dev eth0
link set eth0 up
EOF
	# The default route also carries multicast: SSDP M-SEARCHes to
	# 239.255.255.250 leave through eth0 (NAT-PMP announcements to
	# 224.0.0.1 arrive there without any route).
	ip -n "$(nsname pi)" -batch - <<EOF
link set lo up
addr add $PI_ADDR/24 dev eth0
link set eth0 up
route add default via $ROUTER_LAN
EOF
	ip -n "$(nsname laptop)" -batch - <<EOF
link set lo up
addr add $LAPTOP_ADDR/24 dev eth0
link set eth0 up
route add default via $ROUTER_LAN
EOF
	[ "$IPV6" = 0 ] || build_ipv6
}

# IPv6 addresses and routes (up --ipv6); the kernel knobs are set above.
# br0 generates no link-local address of its own (addrgenmode none, set
# before it came up), only fe80::1 is there, so nothing else on the LAN
# could pass for the router.
build_ipv6() {
	local n
	ip -n "$R" -batch - <<EOF
addr add $ROUTER6_LL/64 dev br0 nodad
addr add $LAN6$ROUTER6_IID/64 dev br0 nodad
addr add $WAN6/64 dev wan0 nodad
route add default via $INET6
EOF
	ip -n "$(nsname inet)" -batch - <<EOF
addr add $INET6/64 dev eth0 nodad
route add $LAN6/64 via $WAN6
EOF
	for n in pi:$PI6_IID laptop:$LAPTOP6_IID; do
		ip -n "$(nsname "${n%:*}")" -batch - <<EOF
addr add $LAN6${n#*:}/64 dev eth0 nodad
route add default via $ROUTER6_LL dev eth0
EOF
	done
}

# The firewall: the same structure as /etc/miniupnpd/nft_init.sh, in one
# inet table used for both filter and NAT.  miniupnpd only adds and deletes
# rules in the three empty chains; the base chains jump to them.  The
# masquerade is IPv4's alone: IPv6 is routed, as at a real home.
load_firewall() {
	local icmp6=
	# IPv6 (a home router's firewall): established/related and LAN->WAN
	# are accepted as for IPv4, and so are ICMPv6 errors (RFC 4890 section
	# 4.3.1: path MTU discovery needs packet-too-big) and echo (for tests).
	# Any other new inbound connection reaches "jump miniupnpd", where
	# miniupnpd 2.3.1's nftables backend puts its pinholes (UPnP IGDv2 and
	# PCP alike), and the policy drops it unless one of them accepts it.
	[ "$IPV6" = 0 ] || icmp6='iifname "wan0" oifname "br0" icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, echo-request, echo-reply } accept'
	in_ns router nft -f - <<EOF
table inet $NFT_TABLE {
	chain forward {
		type filter hook forward priority filter; policy drop;
		ct state established,related accept
		iifname "br0" oifname "wan0" accept
		$icmp6
		# Hairpinned connections (LAN -> WAN address -> DNAT back into the
		# LAN) leave through br0 again; they only exist if the hairpin
		# table DNATed them.
		iifname "br0" oifname "br0" ct status dnat accept
		# WAN -> LAN: only what miniupnpd accepts, minus what
		# "homenet.sh block" drops first.
		jump $NFT_BLOCK_CHAIN
		jump $NFT_FWD_CHAIN
	}
	chain $NFT_BLOCK_CHAIN {
	}
	chain $NFT_FWD_CHAIN {
	}
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		jump $NFT_PRE_CHAIN
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		jump $NFT_POST_CHAIN
		oifname "wan0" meta nfproto ipv4 masquerade
	}
	chain $NFT_PRE_CHAIN {
	}
	chain $NFT_POST_CHAIN {
	}
}
EOF
	[ "$IPV6" = 0 ] || load_firewall6
}

# The router's own input, with --ipv6: only the "PCP off" rule.
load_firewall6() {
	in_ns router nft -f - <<EOF
add chain inet $NFT_TABLE input { type filter hook input priority filter; policy accept; }
add chain inet $NFT_TABLE $NFT_PCP6_CHAIN
add rule inet $NFT_TABLE input jump $NFT_PCP6_CHAIN
EOF
	pcp6_apply
}

# With PCP off, PCP requests over IPv6 get what a router that lacks PCP
# answers: ICMPv6 port unreachable (RFC 6887 section 8.1 has the client
# retransmit on silence; an unreachable port tells it at once).  miniupnpd
# 2.3.1 answers PCP over IPv6 even with enable_natpmp=no, so it cannot be
# turned off in its config.
pcp6_apply() {
	in_ns router nft flush chain inet "$NFT_TABLE" "$NFT_PCP6_CHAIN"
	[ "$PCP" = 1 ] || in_ns router nft add rule inet "$NFT_TABLE" "$NFT_PCP6_CHAIN" \
		meta nfproto ipv6 udp dport $PCP_PORT counter reject with icmpv6 type port-unreachable comment '"pk-no-pcp"'
}

# Empty miniupnpd's chains and forget its leases: what a reboot does.
flush_mappings() {
	local c
	for c in "$NFT_FWD_CHAIN" "$NFT_PRE_CHAIN" "$NFT_POST_CHAIN"; do
		in_ns router nft flush chain inet "$NFT_TABLE" "$c"
	done
	rm -f "$RUN/leases"
}

# Drop the router's connection tracking table (what a reboot does too):
# otherwise e.g. a UDP flow through a deleted mapping would keep being
# forwarded by its old conntrack entry.  This is "conntrack -F" done with
# a raw ctnetlink message, so that no extra package is needed.
flush_conntrack() {
	in_ns router "$PYTHON" - "$IPV6" <<'EOF'
import socket, struct, sys
NETLINK_NETFILTER = 12
CT_DELETE = (1 << 8) | 2          # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
# nlmsghdr + nfgenmsg(family); no tuple attribute means "flush".  IPv6's
# table only with --ipv6.
for family in [socket.AF_INET] + [socket.AF_INET6] * (sys.argv[1] == '1'):
    s.send(struct.pack('=IHHII', 20, CT_DELETE, 0x1 | 0x4, 1, 0) +
           struct.pack('=BBH', family, 0, 0))
    err = struct.unpack('=i', s.recv(4096)[16:20])[0]
    if err not in (0, -2):        # -ENOENT: table was already empty
        raise SystemExit('conntrack flush failed: %d' % err)
EOF
}

# ---------------------------------------------------------------------------
# miniupnpd.

write_miniupnpd_conf() {
	local uuid
	# A fixed UUID per network name, like a real router's.
	uuid=$(printf 'portkeeper-%s' "$PK_NET" | md5sum | sed -E 's/^(.{8})(.{4})(.{4})(.{4})(.{12}).*/\1-\2-\3-\4-\5/')
	cat >"$RUN/miniupnpd.conf" <<EOF
# Generated by homenet.sh for network '$PK_NET'.
ext_ifname=wan0
listening_ip=br0
# 0: a random HTTP port on every start, like many real routers.
port=0
enable_upnp=$(yesno "$UPNP")
enable_natpmp=$(yesno "$NATPMP")
ipv6_disable=$(yesno $((1 - IPV6)))
secure_mode=yes
system_uptime=no
ext_perform_stun=no
uuid=$uuid
friendly_name=portkeeper test router ($PK_NET)
upnp_table_name=$NFT_TABLE
upnp_nat_table_name=$NFT_TABLE
upnp_forward_chain=$NFT_FWD_CHAIN
upnp_nat_chain=$NFT_PRE_CHAIN
upnp_nat_postrouting_chain=$NFT_POST_CHAIN
lease_file=$RUN/leases
# Never talk to a minissdpd of the host.
minissdpdsocket=$RUN/minissdpd.sock
allow 1-65535 $LAN_PREFIX.0/24 1-65535
deny 0-65535 0.0.0.0/0 0-65535
EOF
	[ "$IPV6" = 0 ] || cat >>"$RUN/miniupnpd.conf" <<EOF
# IPv6 (up --ipv6): pinholes through UPnP IGDv2 and PCP.
ext_ifname6=wan0
EOF
}

# Start miniupnpd (if any protocol is enabled) and wait until its sockets
# are bound.  miniupnpd exits at once when both protocols are disabled
# ("Why did you run me anyway?"), so then nothing runs.
start_miniupnpd() {
	local pid sockets port
	rm -f "$RUN/miniupnpd.pid" "$RUN/upnp_port"
	if [ "$UPNP" = 0 ] && [ "$NATPMP" = 0 ]; then
		return 0
	fi
	# -d keeps it in the foreground with all log levels on stderr; setsid
	# puts it in its own session so that a Ctrl-C aimed at whoever ran
	# "homenet.sh up" does not take the router down.  ip and setsid both
	# exec, so $! is miniupnpd's PID.  miniupnpd's own pid file must be
	# a different file: it refuses to start if that file names a running
	# process, which would be itself.
	echo "=== $(date '+%F %T') starting miniupnpd" >>"$RUN/miniupnpd.log"
	ip netns exec "$R" setsid "$MINIUPNPD" -d -f "$RUN/miniupnpd.conf" -P "$RUN/miniupnpd.selfpid" \
		</dev/null >>"$RUN/miniupnpd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$RUN/miniupnpd.pid"

	for _ in $(seq 250); do
		alive "$pid" || { tail -n 20 "$RUN/miniupnpd.log" >&2; die "miniupnpd exited during startup"; }
		sockets=$(in_ns router ss -Hlntup 2>/dev/null | grep -F "pid=$pid," || true)
		port=
		if [ "$UPNP" = 1 ]; then
			port=$(echo "$sockets" | awk '$1 == "tcp" { n = split($5, a, ":"); print a[n]; exit }')
		fi
		# With IPv6 on, miniupnpd listens for PCP on [::]:5351 whatever
		# enable_natpmp says.
		if { [ "$UPNP" = 0 ] || [ -n "$port" ]; } &&
			{ [ "$NATPMP" = 0 ] || echo "$sockets" | grep -qF "$ROUTER_LAN:5351 "; } &&
			{ [ "$IPV6" = 0 ] || echo "$sockets" | grep -qF "[::]:5351 "; }; then
			echo "$port" >"$RUN/upnp_port"
			return 0
		fi
		sleep 0.02
	done
	tail -n 20 "$RUN/miniupnpd.log" >&2
	die "miniupnpd did not become ready within 5 s"
}

stop_miniupnpd() { stop_pidfile "$RUN/miniupnpd.pid"; }

# ---------------------------------------------------------------------------
# NAT loopback ("hairpin").  miniupnpd's DNAT rules match iif "wan0", so a
# LAN host connecting to WAN:port is not forwarded.  With hairpin on, the
# helper hairpin_sync.py (in the router namespace) mirrors every DNAT rule
# of miniupnpd's prerouting chain into our own table as
#   ip daddr <WAN> meta l4proto tcp th dport <port> dnat to <lan>:<port>
# for packets arriving on br0, and LAN->LAN DNATed traffic is masqueraded
# so that replies come back through the router.

hairpin_table_up() {
	in_ns router nft -f - <<EOF
table ip $HP_TABLE {
	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		iifname "br0" jump mirror
	}
	# Filled (atomically replaced) by the sync helper.
	chain mirror {
	}
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		iifname "br0" oifname "br0" ct status dnat masquerade
	}
}
EOF
}

hairpin_table_down() {
	in_ns router nft delete table ip "$HP_TABLE" 2>/dev/null || true
}

hairpin_start() {
	hairpin_table_up
	rm -f "$RUN/hairpin.log"
	ip netns exec "$R" setsid "$PYTHON" "$HERE/hairpin_sync.py" "$RUN" \
		"$NFT_TABLE" "$NFT_PRE_CHAIN" "$HP_TABLE" wan0 \
		</dev/null >>"$RUN/hairpin.log" 2>&1 &
	echo "$!" >"$RUN/hairpin.pid"
}

# Wait until the helper has done its first sync (it logs every sync).
hairpin_wait() {
	# Up to 10 s: python3's start-up alone can take a second on a loaded
	# machine (a pyenv shim on PATH makes it worse).
	for _ in $(seq 500); do
		[ -s "$RUN/hairpin.log" ] && return 0
		ours "$RUN/hairpin.pid" >/dev/null || break
		sleep 0.02
	done
	cat "$RUN/hairpin.log" >&2
	die "hairpin helper did not start"
}

hairpin_stop() {
	# The helper is a process group (itself and its "nft monitor").
	stop_pidfile "$RUN/hairpin.pid" group
	hairpin_table_down
}

# ---------------------------------------------------------------------------
# Subcommands.

usage() {
	cat <<EOF
usage: homenet.sh COMMAND   (network name from \$PK_NET, default "pk"; now "$PK_NET")
  up [--no-upnp] [--no-natpmp] [--no-hairpin] [--cgnat | --double-nat]
     [--ipv6 [--no-pcp]]      --ipv6: IPv6 too (not with --double-nat);
                              --no-pcp: PCP over IPv6 gets port unreachable
  down
  exec HOST CMD...            HOST: router inet pi laptop (isp with --double-nat)
  set upnp|natpmp|hairpin on|off
  set pcp|tempaddr on|off     (--ipv6 only) PCP over IPv6; the pi's temporary address
  prefix-change [PREFIX::/64] (--ipv6 only) prints the new LAN prefix
  block PORT[/tcp|/udp]       the router drops new connections to that WAN port
  unblock PORT[/tcp|/udp]
  router-restart              prints the new UPnP HTTP port
  wan-change [NEWADDR[/LEN]]  prints the new WAN address
  info                        shell-sourceable PK_*=... lines
  mappings
EOF
}

up_cleanup() {
	if [ "$1" != 0 ]; then
		msg "up failed, cleaning up"
		cmd_down
	fi
}

cmd_up() {
	local t0 wan_router wan_inet
	t0=$(date +%s%N)
	UPNP=1 NATPMP=1 HAIRPIN=1 CGNAT=0 DOUBLE_NAT=0
	IPV6=0 PCP=1 TEMPADDR=0 LAN6=$LAN6_DEFAULT
	while [ $# -gt 0 ]; do
		case $1 in
		--ipv6) IPV6=1 ;;
		--no-pcp) PCP=0 ;;
		--no-upnp) UPNP=0 ;;
		--no-natpmp) NATPMP=0 ;;
		--no-hairpin) HAIRPIN=0 ;;
		--cgnat) CGNAT=1 ;;
		--double-nat) DOUBLE_NAT=1 ;;
		*) usage >&2; exit 2 ;;
		esac
		shift
	done
	if [ "$CGNAT" = 1 ] && [ "$DOUBLE_NAT" = 1 ]; then
		die "--cgnat and --double-nat do not go together"
	fi
	if [ "$IPV6" = 1 ] && [ "$DOUBLE_NAT" = 1 ]; then
		die "--ipv6 and --double-nat do not go together"
	fi
	if [ "$PCP" = 0 ] && [ "$IPV6" = 0 ]; then
		die "--no-pcp only goes with --ipv6 (over IPv4, --no-natpmp closes the PCP port)"
	fi
	if [ "$DOUBLE_NAT" = 1 ]; then HOSTS="$HOSTS isp"; fi
	[ -x "$MINIUPNPD" ] || die "$MINIUPNPD not found (apt-get install miniupnpd-nftables)"

	cmd_down
	# If anything below fails, tear the half-built network down again
	# (after showing miniupnpd's log, which lives in the run dir).
	trap 'up_cleanup $?' EXIT
	trap 'exit 130' INT TERM

	mkdir -m 700 "$RUN"
	save_state
	if [ "$CGNAT" = 1 ]; then
		wan_router=$WAN_ROUTER_CGNAT wan_inet=$WAN_INET_CGNAT
	elif [ "$DOUBLE_NAT" = 1 ]; then
		wan_router=$WAN_ROUTER_DOUBLE wan_inet=$WAN_INET_DEFAULT
	else
		wan_router=$WAN_ROUTER_DEFAULT wan_inet=$WAN_INET_DEFAULT
	fi
	build_topology "$wan_router" "$wan_inet"
	load_firewall
	if [ "$HAIRPIN" = 1 ]; then
		hairpin_start
	fi
	write_miniupnpd_conf
	start_miniupnpd
	if [ "$HAIRPIN" = 1 ]; then
		hairpin_wait
	fi

	trap - EXIT INT TERM
	msg "up in $((($(date +%s%N) - t0) / 1000000)) ms (upnp=$UPNP natpmp=$NATPMP hairpin=$HAIRPIN cgnat=$CGNAT double_nat=$DOUBLE_NAT ipv6=$IPV6 pcp=$PCP, run dir $RUN)"
}

# ppid_of PID: parent PID, read without starting a process.
ppid_of() {
	local k v
	while read -r k v; do
		if [ "$k" = PPid: ]; then
			echo "$v"
			return 0
		fi
	done <"/proc/$1/status"
	return 1
}

# Tear down everything of this network; succeeds whatever state it is in.
cmd_down() {
	local h pid pids keep left
	stop_pidfile "$RUN/hairpin.pid" group
	stop_pidfile "$RUN/miniupnpd.pid"

	# Anything else still running inside our namespaces was started in
	# them through this script (e.g. "homenet.sh exec pi python3 -m
	# http.server"); stop it so it does not outlive the network.  Never
	# signal ourselves or our ancestors (down may be run from inside a
	# namespace of this network).
	keep=" $$ "
	pid=$$
	while [ "$pid" -gt 1 ] 2>/dev/null; do
		pid=$(ppid_of "$pid") || break
		keep="$keep$pid "
	done
	for h in $ALL_HOSTS; do
		ns_exists "$h" || continue
		pids=
		for pid in $(ip netns pids "$(nsname "$h")" 2>/dev/null); do
			case $keep in *" $pid "*) continue ;; esac
			pids="$pids $pid"
		done
		[ -n "$pids" ] || continue
		# shellcheck disable=SC2086 # word splitting of the PID list is wanted
		kill -TERM $pids 2>/dev/null || true
		for _ in $(seq 50); do
			left=
			for pid in $pids; do
				if alive "$pid"; then left="$left $pid"; fi
			done
			[ -n "$left" ] || break
			sleep 0.02
		done
		# shellcheck disable=SC2086
		[ -z "$left" ] || kill -KILL $left 2>/dev/null || true
	done

	for h in $ALL_HOSTS; do
		if ns_exists "$h"; then
			ip netns del "$(nsname "$h")" || msg "could not delete namespace $(nsname "$h")"
		fi
		rm -rf "/etc/netns/$(nsname "$h")"
	done
	# Leave /etc as we found it if no other network uses /etc/netns.
	rmdir /etc/netns 2>/dev/null || true
	rm -rf "$RUN"
}

cmd_exec() {
	[ $# -ge 2 ] || die "usage: homenet.sh exec HOST CMD..."
	case $1 in
	router | inet | pi | laptop) ;;
	isp) ns_exists isp || die "there is no isp host (it comes with up --double-nat)" ;;
	*) die "unknown host '$1' (router, inet, pi, laptop, isp)" ;;
	esac
	local h=$1
	shift
	exec ip netns exec "$(nsname "$h")" "$@"
}

cmd_set() {
	[ $# = 2 ] || die "usage: homenet.sh set upnp|natpmp|hairpin|pcp|tempaddr on|off"
	local v
	case $2 in on) v=1 ;; off) v=0 ;; *) die "value must be on or off" ;; esac
	load_state
	case $1 in
	upnp | natpmp)
		if [ "$1" = upnp ]; then UPNP=$v; else NATPMP=$v; fi
		save_state
		# Like toggling UPnP in a router's web UI: the service restarts
		# with a clean slate (mappings gone, new HTTP port).
		stop_miniupnpd
		flush_mappings
		write_miniupnpd_conf
		start_miniupnpd
		;;
	hairpin)
		HAIRPIN=$v
		save_state
		hairpin_stop
		if [ "$v" = 1 ]; then
			hairpin_start
			hairpin_wait
		fi
		;;
	pcp)
		need_ipv6 "set pcp"
		PCP=$v
		save_state
		pcp6_apply
		;;
	tempaddr)
		need_ipv6 "set tempaddr"
		TEMPADDR=$v
		save_state
		tempaddr_apply
		;;
	*) die "unknown knob '$1' (upnp, natpmp, hairpin, pcp, tempaddr)" ;;
	esac
}

# The pi's stable address, flagged mngtmpaddr when TEMPADDR is on.
pi6_stable() {
	local flags=nodad
	[ "$TEMPADDR" = 0 ] || flags="nodad mngtmpaddr"
	# shellcheck disable=SC2086 # two flags
	ip -n "$(nsname pi)" addr replace "$LAN6$PI6_IID/64" dev eth0 $flags
}

# A temporary (privacy) address beside the stable one, made the kernel's
# way (RFC 8981): with use_tempaddr=2 the kernel derives one from every
# address flagged mngtmpaddr (and prefers it as a source).  Off: the flag
# goes, and so do the temporaries.
tempaddr_apply() {
	in_ns pi sysctl -q -w "net.ipv6.conf.eth0.use_tempaddr=$((TEMPADDR * 2))"
	pi6_stable
	if [ "$TEMPADDR" = 0 ]; then
		ip -n "$(nsname pi)" -6 addr flush dev eth0 temporary
	fi
}

cmd_router_restart() {
	local old new try
	load_state
	old=$(cat "$RUN/upnp_port" 2>/dev/null || true)
	for try in 1 2 3 4 5; do
		stop_miniupnpd
		flush_mappings
		flush_conntrack
		start_miniupnpd
		new=$(cat "$RUN/upnp_port" 2>/dev/null || true)
		# A rebooted router gets a new random port; the kernel could
		# hand out the same one again, so insist.
		if [ "$UPNP" = 0 ] || [ "$new" != "$old" ]; then
			break
		fi
		msg "HTTP port $new unchanged, restarting again (try $try)"
	done
	echo "$new"
}

# shellcheck disable=SC2086 # splitting on dots is the point
ip2int() { local IFS=.; set -- $1; echo $(((($1 * 256 + $2) * 256 + $3) * 256 + $4)); }
int2ip() { echo "$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"; }

cmd_wan_change() {
	local cur cur_ip len new new_ip inet inet_ip mask net pid
	load_state
	[ "$DOUBLE_NAT" = 0 ] || die "wan-change does not work with --double-nat"

	cur=$(wan_cidr)
	cur_ip=${cur%/*} len=${cur#*/}
	new=${1:-}
	if [ -z "$new" ]; then
		# Flip between .2 and .3 in the current subnet.
		if [ "${cur_ip##*.}" = 2 ]; then new_ip=${cur_ip%.*}.3; else new_ip=${cur_ip%.*}.2; fi
	else
		[[ $new =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}(/[0-9]{1,2})?$ ]] || die "bad address '$new'"
		new_ip=${new%/*}
		[ "$new" = "$new_ip" ] || len=${new#*/}
	fi
	if [ "$len" -lt 8 ] || [ "$len" -gt 30 ]; then
		die "prefix length must be 8..30, got $len"
	fi

	# The inet host stays where it is if it is inside the new subnet;
	# otherwise (e.g. "wan-change 100.64.0.2/10" to go behind CGNAT) it
	# moves to the first host address of the new subnet.
	inet=$(inet_cidr)
	inet_ip=${inet%/*}
	mask=$(((0xffffffff << (32 - len)) & 0xffffffff))
	net=$(($(ip2int "$new_ip") & mask))
	if [ "$(($(ip2int "$inet_ip") & mask))" != "$net" ] || [ "${inet#*/}" != "$len" ]; then
		inet_ip=$(int2ip $((net + 1)))
		[ "$inet_ip" != "$new_ip" ] || die "$new_ip/$len would collide with the inet host"
		ip -n "$(nsname inet)" addr flush dev eth0
		ip -n "$(nsname inet)" addr add "$inet_ip/$len" dev eth0
		write_netns_etc "$inet_ip/$len"
		msg "inet host moved to $inet_ip/$len"
	fi
	[ "$new_ip" != "$inet_ip" ] || die "$new_ip is the inet host's address"

	ip -n "$R" addr flush dev wan0
	ip -n "$R" addr add "$new_ip/$len" dev wan0
	ip -n "$R" route replace default via "$inet_ip"
	# The old address is gone from the internet too: without this, the
	# inet host's ARP cache would keep delivering packets for it to the
	# router, whose DNAT rules match on the interface, not the address.
	ip -n "$(nsname inet)" neigh flush dev eth0
	ip -n "$R" neigh flush dev wan0
	# SIGUSR1 is how miniupnpd learns that the WAN address changed: it
	# re-reads it, re-checks whether it is public and sends NAT-PMP
	# announcements / UPnP events.
	if pid=$(ours "$RUN/miniupnpd.pid"); then
		kill -USR1 "$pid"
	fi
	echo "$new_ip"
}

# The LAN moves to another /64 (the ISP delegates a new prefix): the router,
# pi and laptop keep their interface identifiers, inet routes the new prefix
# to the router.  miniupnpd tells control points its LAN address at start,
# so it restarts, as routers restart their services on a new prefix: its
# mappings and pinholes are gone (the pinholes were for the old addresses).
cmd_prefix_change() {
	local new old=$LAN6 n
	need_ipv6 prefix-change
	new=${1:-}
	if [ -z "$new" ]; then
		if [ "$LAN6" = "$LAN6_DEFAULT" ]; then new=$LAN6_OTHER/64; else new=$LAN6_DEFAULT/64; fi
	fi
	# Up to four groups then "::/64", so that appending an interface
	# identifier ("10") gives an address.
	[[ $new =~ ^([0-9a-fA-F]{1,4}:){1,4}:/64$ ]] || die "bad prefix '$new': expected e.g. 2a0c:7700:79::/64"
	LAN6=${new%/64}
	[ "$LAN6" != "$old" ] || die "the LAN prefix is $old/64 already"
	# The router first, as on a real one: it learns the new prefix,
	# restarts its services with it, and only then advertises it to the
	# hosts, whose addresses follow.
	ip -n "$R" addr del "$old$ROUTER6_IID/64" dev br0
	ip -n "$R" addr add "$LAN6$ROUTER6_IID/64" dev br0 nodad
	ip -n "$(nsname inet)" route del "$old/64" via "$WAN6"
	ip -n "$(nsname inet)" route add "$LAN6/64" via "$WAN6"
	save_state
	write_netns_etc "$(inet_cidr)"
	stop_miniupnpd
	flush_mappings
	write_miniupnpd_conf
	start_miniupnpd
	for n in pi:$PI6_IID laptop:$LAPTOP6_IID; do
		ip -n "$(nsname "${n%:*}")" -6 addr flush dev eth0 temporary
		ip -n "$(nsname "${n%:*}")" addr del "$old${n#*:}/64" dev eth0
	done
	ip -n "$(nsname laptop)" addr add "$LAN6$LAPTOP6_IID/64" dev eth0 nodad
	pi6_stable
	echo "$LAN6/64"
}

cmd_info() {
	local wan port pid inet upstream
	load_state
	wan=$(wan_cidr)
	inet=$(inet_cidr)
	upstream=${wan%/*}
	[ "$DOUBLE_NAT" = 0 ] || upstream=${ISP_UP%/*}
	port=$(cat "$RUN/upnp_port" 2>/dev/null || true)
	pid=$(ours "$RUN/miniupnpd.pid" || true)
	cat <<EOF
PK_ROUTER_LAN=$ROUTER_LAN
PK_PI=$PI_ADDR
PK_LAPTOP=$LAPTOP_ADDR
PK_INET=${inet%/*}
PK_WAN=${wan%/*}
PK_UPSTREAM=$upstream
PK_UPNP_PORT=$port
PK_MINIUPNPD_PID=$pid
EOF
	[ "$IPV6" = 1 ] || return 0
	cat <<EOF
PK_PI6=$LAN6$PI6_IID
PK_LAPTOP6=$LAN6$LAPTOP6_IID
PK_INET6=$INET6
PK_ROUTER6=$LAN6$ROUTER6_IID
PK_ROUTER6_LL=$ROUTER6_LL
PK_LAN6_PREFIX=$LAN6/64
PK_WAN6=$WAN6
PK_PI6_TEMP=$(ip -n "$(nsname pi)" -6 -o addr show dev eth0 temporary | awk '{sub("/.*", "", $4); print $4; exit}')
EOF
}

cmd_mappings() {
	load_state
	echo "# miniupnpd DNAT rules (inet $NFT_TABLE $NFT_PRE_CHAIN)"
	in_ns router nft list chain inet "$NFT_TABLE" "$NFT_PRE_CHAIN" | sed -n 's/^\t\t//p'
	echo "# miniupnpd filter rules (inet $NFT_TABLE $NFT_FWD_CHAIN)"
	in_ns router nft list chain inet "$NFT_TABLE" "$NFT_FWD_CHAIN" | sed -n 's/^\t\t//p'
	if [ "$HAIRPIN" = 1 ]; then
		echo "# hairpin mirror rules (ip $HP_TABLE mirror)"
		in_ns router nft list chain ip "$HP_TABLE" mirror 2>/dev/null | sed -n 's/^\t\t//p'
	fi
	echo "# blocked (inet $NFT_TABLE $NFT_BLOCK_CHAIN)"
	in_ns router nft list chain inet "$NFT_TABLE" "$NFT_BLOCK_CHAIN" | sed -n 's/^\t\t//p'
	echo "# lease file"
	cat "$RUN/leases" 2>/dev/null || true
}

# port_proto SPEC: sets PORT and PROTO from "PORT[/tcp|/udp]".
port_proto() {
	[[ $1 =~ ^([0-9]{1,5})(/(tcp|udp))?$ ]] || die "bad port '$1': expected PORT[/tcp|/udp]"
	PORT=${BASH_REMATCH[1]} PROTO=${BASH_REMATCH[3]:-tcp}
	[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "bad port '$1'"
}

# block_handles: the nft handles of the drop rules for $PORT/$PROTO.
block_handles() {
	in_ns router nft -a list chain inet "$NFT_TABLE" "$NFT_BLOCK_CHAIN" |
		sed -n "s/.*comment \"pk-block $PORT\/$PROTO\" # handle \([0-9]*\)\$/\1/p"
}

# The router drops new connections from the WAN to PORT (the external port:
# "ct original" is the tuple before miniupnpd's DNAT), as an ISP block or a
# firewall rule would.  Forwards stay in place; hairpinned traffic, which
# comes from br0, is not affected.
cmd_block() {
	[ $# = 1 ] || die "usage: homenet.sh block PORT[/tcp|/udp]"
	load_state
	port_proto "$1"
	[ -z "$(block_handles)" ] || return 0
	in_ns router nft -f - <<EOF
add rule inet $NFT_TABLE $NFT_BLOCK_CHAIN iifname "wan0" meta l4proto $PROTO ct original proto-dst $PORT counter drop comment "pk-block $PORT/$PROTO"
EOF
}

cmd_unblock() {
	local h
	[ $# = 1 ] || die "usage: homenet.sh unblock PORT[/tcp|/udp]"
	load_state
	port_proto "$1"
	for h in $(block_handles); do
		in_ns router nft delete rule inet "$NFT_TABLE" "$NFT_BLOCK_CHAIN" handle "$h"
	done
}

main() {
	[ $# -ge 1 ] || { usage >&2; exit 2; }
	[ "$(id -u)" = 0 ] || die "must run as root"
	local cmd=$1
	shift
	case $cmd in
	up) cmd_up "$@" ;;
	down) [ $# = 0 ] || die "usage: homenet.sh down"; cmd_down ;;
	exec) cmd_exec "$@" ;;
	set) cmd_set "$@" ;;
	block) cmd_block "$@" ;;
	unblock) cmd_unblock "$@" ;;
	router-restart) cmd_router_restart ;;
	wan-change) [ $# -le 1 ] || die "usage: homenet.sh wan-change [NEWADDR]"; cmd_wan_change "$@" ;;
	prefix-change)
		[ $# -le 1 ] || die "usage: homenet.sh prefix-change [PREFIX::/64]"
		load_state
		cmd_prefix_change "$@"
		;;
	info) cmd_info ;;
	mappings) cmd_mappings ;;
	help | -h | --help) usage ;;
	*) usage >&2; exit 2 ;;
	esac
}

main "$@"

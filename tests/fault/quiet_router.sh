# shellcheck shell=bash
# Sourced by the power-cut and scale tests and bench/scale.sh, after
# "homenet.sh up --no-hairpin" and with PK_NET set:
#
#   quiet_router DIR
#   quiet_router_restart DIR       what "homenet.sh router-restart" does
#   quiet_router_wan_change DIR    what "homenet.sh wan-change" does
#
# replaces the router's miniupnpd with one of the same binary and
# configuration that does not log at debug level.  homenet.sh runs it with
# -d, which logs a line for every nftables rule it walks, several times per
# request: with a few dozen mappings a request takes a good part of a
# second, with a few hundred seconds (without the log: 4 ms with none,
# 25 ms with 1,000, on a busy 2-CPU machine).  This one runs as a daemon
# (miniupnpd has no foreground mode without -d), logs notices to syslog and
# writes its PID to DIR/miniupnpd.pid; "homenet.sh down" stops it with
# everything else in the namespaces.  Returns 1 when it does not come up
# within 5 s.
#
# Without the hairpin helper: its nftables updates race miniupnpd's, which
# then refuses mappings once it holds a dozen or so (mnl_cb_run returned
# -1, NAT-PMP result 3), as bench/web.sh found too.

QR_HOMENET=$(cd "$(dirname "${BASH_SOURCE[0]}")/../net" && pwd)/homenet.sh

quiet_router() {
	local dir=$1 run=/tmp/portkeeper-net-$PK_NET
	# homenet's configuration, with both protocols on as "up" wrote it.
	cp "$run/miniupnpd.conf" "$dir/miniupnpd.conf" || return 1
	"$QR_HOMENET" set upnp off > /dev/null 2>&1 &&
	    "$QR_HOMENET" set natpmp off > /dev/null 2>&1 || return 1
	qr_start "$dir"
}

qr_start() {
	local dir=$1
	rm -f "$dir/miniupnpd.pid"
	ip netns exec "$PK_NET-router" /usr/sbin/miniupnpd \
	    -f "$dir/miniupnpd.conf" -P "$dir/miniupnpd.pid" || return 1
	for _ in $(seq 100); do
		if [ -s "$dir/miniupnpd.pid" ] &&
		    ip netns exec "$PK_NET-router" ss -Hlnu 2>/dev/null |
		    grep -q "192.168.77.1:5351 " &&
		    ip netns exec "$PK_NET-router" ss -Hltnp 2>/dev/null |
		    grep -q miniupnpd; then
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# The router reboots: its miniupnpd stops, every mapping and connection is
# forgotten ("homenet.sh router-restart" flushes them, and starts no
# miniupnpd of its own since both protocols are off for it), and it starts
# again with a new HTTP port and NAT-PMP epoch.
quiet_router_restart() {
	local dir=$1 pid
	pid=$(cat "$dir/miniupnpd.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then
		for _ in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
	fi
	"$QR_HOMENET" router-restart > /dev/null 2>&1 || return 1
	qr_start "$dir"
}

# A new WAN address; SIGUSR1 tells miniupnpd, which announces it.
quiet_router_wan_change() {
	local dir=$1
	"$QR_HOMENET" wan-change > /dev/null 2>&1 || return 1
	kill -USR1 "$(cat "$dir/miniupnpd.pid")" 2>/dev/null
}

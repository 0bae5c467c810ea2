#!/bin/bash
# portkeeperd on a lossy LAN: the router drops 20 % of the packets between
# itself and the pi, in each direction (NAT-PMP on 5351, SSDP on 1900, the
# UPnP HTTP port, the router's multicast announcements, and forwarded
# traffic).  The daemon must still make its forwards, bring them back after
# a router restart, and once the loss stops, end with no failed forward and
# exactly its two forwards in the router's table.
#
# sch_netem is missing on the test kernels, so the loss is made with
# nftables in the router's namespace ("numgen random"), in a table of its
# own that is deleted to stop it.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
LOSS=20		# per cent, each direction
# The distribution's python3 (lib.sh's json, our probes) before a shim that
# may come first in PATH: pyenv's takes up to 1.5 s to start on a busy
# machine, which would blur every timing below.
PATH=/usr/bin:$PATH

# Bounds, from the daemon's timings (daemon/portkeeperd.c, lib/portmap.c,
# lib/pmp.c).  Both of a NAT-PMP request and its answer get through with
# 0.8 * 0.8 = 64 %; a request is resent after 250, 500 and 1000 ms and given
# up after 2.5 s, so all four tries fail with 0.36^4 = 1.7 %.  A round (the
# probe, then one request per forward) thus takes at most 3 * 2.5 s and
# fails with about 5 %; a failed forward is retried 2 s, then 4 s later
# (+-10 %).  30 s holds three rounds that each time out plus both back-offs
# (7.5 + 2.2 + 7.5 + 4.4 + 7.5 = 29.1 s): only three failed rounds in a row,
# about 1 in 10^4, miss it.  Typically it takes 1-5 s.
START_BOUND=30
# After a restart the daemon hears the router: its PCP ANNOUNCE and about
# ten SSDP NOTIFYs with the new LOCATION, each lost with 20 %; were all of
# them lost, the next check comes verify_interval = 5 s later.  Then rounds
# as above; and the fetch from the internet crosses the lossy link too,
# retried every 0.1-0.6 s (both_reach).  30 s.
RESTART_BOUND=30
# Once the loss stops, a forward that failed under it is retried at the end
# of its back-off, at most 60 s (RETRY_MAX_MS) + 10 % jitter, then made at
# once: 75 s.
SETTLE_BOUND=75

net_up
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
mkdir -p "$T_WORK/state"
cat > "$CONF" <<CONF
[portkeeper]
method = auto
lease = 120
state_dir = $T_WORK/state
socket = $SOCK
remove_on_exit = yes
verify_interval = 5

[forward web]
external = 8080
internal = 8080

[forward alt]
external = 8081
internal = 8080
CONF

start_daemon() {
	# ip netns exec execs the daemon, so $! is the daemon itself.
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}
status() { pk status --socket "$SOCK" --json; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
# until_ok SECONDS CMD...: retries CMD every 100 ms for at most SECONDS.
# timed NAME SECONDS CMD...: a check that also notes how long it took.
timed() {
	local name=$1 bound=$2 t0 ms; shift 2
	t0=$(now_ms)
	if until_ok "$bound" "$@"; then
		ms=$(( $(now_ms) - t0 ))
		note "$name: $ms ms (bound $bound s)"
		ok "$name"
	else
		nok "$name (not within $bound s)"
	fi
}
all_active() {
	status
	json_is 'sorted((f["name"], f["state"]) for f in j["forwards"])' \
	    "[('alt', 'active'), ('web', 'active')]"
}
# Both forwards reach the pi from the internet, each checked until it has
# once.  Through the lossy link a lost SYN would cost curl a 1 s resend, so
# each fetch gets 0.5 s (it takes a few ms) and the next one starts afresh.
reached=()
both_reach() {
	local p got
	for p in 8080 8081; do
		[[ " ${reached[*]} " == *" $p "* ]] && continue
		got=$(in_ns inet curl -s --max-time 0.5 "http://$PK_WAN:$p/token" 2>/dev/null)
		[ "$got" = "$T_TOKEN" ] || return 1
		reached+=("$p")
	done
}

# The loss, in the router: input (pi -> router: NAT-PMP requests, SSDP
# M-SEARCH, SOAP), output (router -> pi: answers, and the multicast NOTIFY
# and NAT-PMP/PCP announcements that reach the pi) and forward (traffic
# through the forwards).  Counters tell how much was really dropped.
loss_on() {
	in_ns router nft -f - <<NFT
table inet pk_loss {
	counter in_seen { }
	counter in_dropped { }
	counter out_seen { }
	counter out_dropped { }
	chain input {
		type filter hook input priority filter - 10; policy accept;
		iifname "br0" ip saddr $PK_PI counter name in_seen numgen random mod 100 < $LOSS counter name in_dropped drop
	}
	chain output {
		type filter hook output priority filter - 10; policy accept;
		oifname "br0" ip daddr { $PK_PI, 224.0.0.0/4 } counter name out_seen numgen random mod 100 < $LOSS counter name out_dropped drop
	}
	chain forward {
		type filter hook forward priority filter - 10; policy accept;
		iifname "br0" ip saddr $PK_PI numgen random mod 100 < $LOSS drop
		oifname "br0" ip daddr $PK_PI numgen random mod 100 < $LOSS drop
	}
}
NFT
}
loss_off() { in_ns router nft delete table inet pk_loss 2>/dev/null; }
counter() {
	in_ns router nft list counter inet pk_loss "$1" | sed -n 's/.*packets \([0-9]*\).*/\1/p'
}

# First, that the rules do what they say: 200 NAT-PMP public address
# requests from the pi, 5 ms apart (an answer takes about 5 ms), counting
# the answers, before the daemon runs so that the counters see little else.
# (No ping: iputils-ping is not among the test's dependencies.)
natpmp_tries() {
	in_ns pi python3 - "$PK_ROUTER_LAN" "$1" <<'EOF'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 5351))
s.setblocking(False)
got = 0
def drain():
    global got
    try:
        while True:
            d = s.recv(64)
            got += len(d) >= 12 and d[1] == 128
    except OSError:
        pass
for _ in range(int(sys.argv[2])):
    s.send(b"\0\0")           # RFC 6886 section 3.2: public address request
    time.sleep(0.005)
    drain()
time.sleep(0.5)
drain()
print(got)
EOF
}
# Without the rules nothing below would mean anything.
if loss_on; then ok "the loss rules load"; else nok "the loss rules load"; exit 1; fi
answered=$(natpmp_tries 200)
in_s=$(counter in_seen) in_d=$(counter in_dropped)
out_s=$(counter out_seen) out_d=$(counter out_dropped)
note "loss check: ${answered:-?} of 200 NAT-PMP requests pi -> router answered ($(( 200 - ${answered:-200} )) lost round trip, about $(( 200 - 2 * (100 - LOSS) * (100 - LOSS) / 100 )) expected); the router dropped $in_d of $in_s packets pi -> router and $out_d of $out_s router -> pi"
drop_rate_ok() {
	# 200 tries at 20 %: 40 +- 5.7; 8..35 % is far outside chance.
	[ -n "$2" ] && [ "$2" -gt 0 ] && [ $(( $1 * 100 / $2 )) -ge 8 ] && [ $(( $1 * 100 / $2 )) -le 35 ]
}
check "the router drops about $LOSS % each way" \
    eval 'drop_rate_ok "$in_d" "$in_s" && drop_rate_ok "$out_d" "$out_s"'
in_ns router nft reset counters table inet pk_loss > /dev/null

start_daemon
timed "with $LOSS % loss both forwards become active" "$START_BOUND" all_active
reached=()
timed "... and reach the pi from the internet" "$START_BOUND" both_reach

# The router restarts under loss: every mapping gone, a new UPnP port.
"$HOMENET" router-restart > /dev/null 2>&1
reached=()
timed "after a router restart under loss both forwards come back" \
    "$RESTART_BOUND" both_reach

note "under loss: dropped pi -> router $(counter in_dropped) of $(counter in_seen), router -> pi $(counter out_dropped) of $(counter out_seen)"
loss_off
loss_present() { in_ns router nft list table inet pk_loss > /dev/null 2>&1; }
check "the loss rules are gone" not loss_present

timed "without loss the daemon has no failed forward" "$SETTLE_BOUND" all_active
# Every mapping on the router, whoever made it: exactly the two, each once.
router_table() {
	pk list --json || return 1
	json_is 'sorted((m["external_port"], m["protocol"], m["internal_ip"], m["internal_port"]) for m in j["mappings"])' \
	    "[(8080, 'tcp', '$PK_PI', 8080), (8081, 'tcp', '$PK_PI', 8080)]" && return 0
	note "the router has: $(json 'sorted((m["external_port"], m["protocol"], m["internal_ip"], m["internal_port"]) for m in j["mappings"])') $ERR"
	return 1
}
check "the router's table has exactly the two forwards, each once" router_table
reached=()
check "both forwards reach the pi" until_ok 5 both_reach
status
note "events: $(json '" ".join(e["event"] + ("/" + e["forward"] if e["forward"] else "") for e in j["events"])')"

kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
check "SIGTERM stops the daemon cleanly" [ "$rc" = 0 ]
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$T_WORK/pkd.log" | tail -60
exit $T_FAILED

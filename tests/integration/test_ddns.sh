#!/bin/bash
# Dynamic DNS end to end: portkeeperd's on_change hook runs the shipped
# ddclient-update hook, which runs Debian's real ddclient against a dyndns2
# provider on the internet host (tests/net/dyndns2.py).
#
# - With 40 forwards, a router that goes down, comes back with a new WAN
#   address and restarts makes some 80 events at once; the hook must still
#   see the new external address, and the provider must get it (issue 13,
#   item 2: the hook queue used to drop the oldest events, among them the
#   address change).
# - Two address changes 7 s apart: ddclient skips the second (it allows one
#   update per 30 s) and still exits 0; the hook must notice, and the
#   provider must get the second address after all (issue 13, item 3).
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
if ! command -v ddclient > /dev/null; then
	skip "dynamic DNS through ddclient" "ddclient is not installed (make deps)"
	exit 0
fi
# No NAT loopback: its helper rewrites the router's nftables table as
# miniupnpd adds rules, and with 40 forwards at once some of miniupnpd's
# additions then fail (NAT-PMP result 3), as in test_scale.
net_up --no-hairpin

NFWD=40
CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HOOKLOG=$T_WORK/hook.log
DDLOG=$T_WORK/dyndns.log
mkdir -p "$T_WORK/state"

ddns_start < /dev/null
record_is() { [ "$(record)" = "$1" ]; }
# How long the provider may take to get an address.  A hook that hangs is
# killed at 30 s and run again 35 s later; if ddclient runs out of its
# 25 s in that one too, the next comes 70 s after it: 30 + 35 + 25 + 70 s,
# and some to spare.  The machines this runs on have stalled a CPU for
# 22 s at a time (the kernel's "soft lockup" reports; one stopped ddclient,
# and the packets that CPU was to carry, in a CI run): the daemon's
# retries carry the update over such a stall, and the test waits for them.
RETRY_WAIT=170
# Seconds since boot, as the kernel's log counts them: from then on, what
# it said of a stall is shown.
KLOG_START=$(cut -d' ' -f1 /proc/uptime)

# The hook portkeeperd runs: a line per call; for a forward's event, a
# fifth of a second of work of its own (a user's automation that tells a
# phone, say), so that a burst of events waits in the queue as it would
# for such a hook; then the shipped hook, its messages on stderr.
cat > "$T_WORK/hook" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT ext=\$PORTKEEPER_EXTERNAL_IP old=\$PORTKEEPER_OLD_EXTERNAL_IP fwd=\$PORTKEEPER_FORWARD" >> "$HOOKLOG"
case \$PORTKEEPER_EVENT in mapping_*) sleep 0.2 ;; esac
exec "$T_WORK/ddclient-update" "\$@" 2>> "$T_WORK/ddclient-update.log"
HOOK
chmod 755 "$T_WORK/hook"

{
	cat <<CONF
[portkeeper]
method = auto
lease = 600
state_dir = $T_WORK/state
socket = $SOCK
on_change = $T_WORK/hook
remove_on_exit = no
verify_interval = 5
CONF
	for i in $(seq 0 $((NFWD - 1))); do
		printf '\n[forward f%02d]\nexternal = %d\ninternal = 8080\n' \
		    "$i" $((9000 + i))
	done
} > "$CONF"

ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!
# Evidence for a hook that hangs: twice in a fresh-clone CI run a hook
# printed nothing (or nothing after "running ddclient") and ran until the
# daemon killed it at 30 s.  Every second, the test's processes that have
# run for 10 s or more, with their state, wait channel and kernel stack.
(
	trap - EXIT INT TERM
	while kill -0 "$PKD_PID" 2>/dev/null; do
		ps -eo pid=,pgid=,stat=,etimes=,wchan:24=,args= |
		    awk -v w="$T_WORK" '$4 >= 10 && index($0, w "/") && !/portkeeperd|dyndns2|awk|ps -eo/' |
		    while read -r pid rest; do
			echo "$(date +%T) $pid $rest"
			sed 's/^/    /' "/proc/$pid/stack" 2>/dev/null | head -8
		done >> "$T_WORK/slowhooks"
		sleep 1
	done
) &
status() { pk status --socket "$SOCK" --json; }
n_active() {
	status
	json_is 'sum(1 for f in j["forwards"] if f["state"] == "active")' "$1"
}
check "portkeeperd makes all $NFWD forwards" until_ok 60 n_active "$NFWD"
# The first external address the daemon learns is an event too; wait until
# ddclient has put it in place, so that the changes below start from it.
check "the provider holds the first external address $PK_WAN" until_ok 15 \
    record_is "$PK_WAN"

# --- A router that goes down and comes back with a new address ----------
old_wan=$PK_WAN
"$HOMENET" set upnp off > /dev/null 2>&1
"$HOMENET" set natpmp off > /dev/null 2>&1
lost() {
	status
	json_is 'sum(1 for f in j["forwards"] if f["state"] != "active")' "$NFWD"
}
check "with the router down, the daemon notices every forward lost" \
    until_ok 45 lost
"$HOMENET" wan-change 11.22.33.4/24 > /dev/null 2>&1
"$HOMENET" set natpmp on > /dev/null 2>&1
"$HOMENET" set upnp on > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "router back with $PK_WAN (was $old_wan)"
check "... and when it is back, every forward is restored" \
    until_ok 60 n_active "$NFWD"
nev=$(wc -l < "$HOOKLOG")
note "the hook ran $nev times so far"
check "the hook saw the new external address" until_ok 10 \
    grep -q "^external_ip_changed ext=$PK_WAN " "$HOOKLOG"
# ddclient refuses a second update within 30 s of the first, so this may
# take a retry.
start=$(date +%s)
check "ddclient gave the provider the new address $PK_WAN" until_ok "$RETRY_WAIT" \
    record_is "$PK_WAN"
note "the provider had it $(( $(date +%s) - start )) s after the forwards were back"
if grep -q 'dropping' "$T_WORK/pkd.log"; then
	note "$(grep -c 'dropping' "$T_WORK/pkd.log") forward events dropped, e.g.:"
	grep 'dropping' "$T_WORK/pkd.log" | head -3 | sed 's/^/# /'
	check "... each named by its number (it used to say #0)" \
	    not grep -q 'dropping [a-z_]* event #0 ' "$T_WORK/pkd.log"
fi

# --- Two changes 7 s apart ----------------------------------------------
# Wait out ddclient's 30 s since the last update, so that the first of the
# two goes through and the second is the one it skips.
sleep 31
first=11.22.33.5
"$HOMENET" wan-change $first/24 > /dev/null 2>&1
# 20 s is plenty but for a hook that hangs (RETRY_WAIT; said below).
start=$(date +%s)
check "the provider gets the first of two changes ($first)" until_ok "$RETRY_WAIT" \
    record_is "$first"
note "the provider had it $(( $(date +%s) - start )) s after the change"
sleep 7
second=11.22.33.6
"$HOMENET" wan-change $second/24 > /dev/null 2>&1
eval "$("$HOMENET" info)"
note "addresses: $first, then $second 7 s later"
check "the hook saw the second address" until_ok 15 \
    grep -q "^external_ip_changed ext=$second " "$HOOKLOG"
check "the hook says ddclient skipped it, not that it updated it" until_ok 5 \
    grep -q "ddclient did not update home.example (still $first) to $second" \
    "$T_WORK/ddclient-update.log"
start=$(date +%s)
check "the provider gets the second address after all" until_ok "$RETRY_WAIT" \
    record_is "$second"
note "the provider had it $(( $(date +%s) - start )) s after the hook first tried"
grep -c '"answer": "good' "$DDLOG" | sed 's/^/# updates the provider accepted: /'

kill "$PKD_PID" 2> /dev/null
wait "$PKD_PID" 2> /dev/null
# A hook that overran, passing or not: what the watcher saw of it.
if grep -q "still running after" "$T_WORK/pkd.log"; then
	grep "still running after" "$T_WORK/pkd.log" | sed 's/^/# pkd: /'
	[ "$T_FAILED" != 0 ] || head -40 "$T_WORK/slowhooks" 2>/dev/null | sed 's/^/# slow: /'
fi
# A CPU the machine stalled meanwhile, passing or not.
dmesg 2> /dev/null | grep -E 'soft lockup|rcu.*stall|blocked for more' |
    awk -v t="$KLOG_START" '{ s = $0; sub(/^\[ */, "", s) } s + 0 >= t' |
    sed 's/^/# kernel: /'
if [ "$T_FAILED" != 0 ]; then
	# Whether the provider itself answers, from its own host.
	in_ns inet curl -s --max-time 2 "http://127.0.0.1:$DDNS_PORT/records" |
	    sed 's/^/# provider, asked on its host: /'
	sed 's/^/# provider: /' "$T_WORK/dyndns.out" 2> /dev/null | tail -20
	grep "on_change hook" "$T_WORK/pkd.log" | head -10 | sed 's/^/# pkd: /'
	head -40 "$T_WORK/slowhooks" 2>/dev/null | sed 's/^/# slow: /'
	tail -30 "$T_WORK/pkd.log" | sed 's/^/# pkd: /'
	tail -20 "$T_WORK/ddclient-update.log" | sed 's/^/# hook: /'
fi
kill "$DDNS_PID" 2> /dev/null
exit $T_FAILED

#!/bin/bash
# Scale (issue 7): portkeeperd with 1,000 forwards (external ports
# 20000-20999) on the simulated home network.  All must become active,
# the status API must still answer quickly, the router must hold all of
# them, and a whole refresh cycle must happen on time.  With lease = 120 a
# forward is due 54-66 s after its last refresh (half the lease, +-10 %
# jitter); it waits for the round of router work in flight, then for its
# own round.  Requests go one at a time and this miniupnpd takes about
# 25 ms for one when it holds 1,000 mappings, so a round of them all takes
# half a minute.  On time here: renewed with at least a tenth of the lease
# left (within 108 s), none lapsed or failed meanwhile; the figures say how
# late.  verify_interval is an hour, so that the refreshes are the only
# router work in the cycle (the default's check of every forward each
# minute takes about a second at 1,000).  bench/scale.sh measures that, and
# the cost (CPU, memory) for 10, 100 and 1,000 forwards.
#
# The router is the test network's miniupnpd without its debug log and
# without the hairpin helper (tests/fault/quiet_router.sh says why).
#
# PK_SCALE_FORWARDS=N changes the count.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
PATH=/usr/bin:$PATH		# Debian's python3 before any shim
N=${PK_SCALE_FORWARDS:-1000}
LEASE=120
FIRST=20000
ACTIVE_BOUND=90		# s until all are active
STATUS_BOUND_MS=1000	# one status --json
LATEST_PCT=90		# a refresh must come within this much of the lease

net_up --no-hairpin

. "$TOP/tests/fault/quiet_router.sh"
quiet_router "$T_WORK" || { nok "a miniupnpd without debug logging in the router"; exit 1; }

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
LOG=$T_WORK/pkd.log
mkdir -p "$T_WORK/state"
{
	cat <<CONF
[portkeeper]
method = auto
lease = $LEASE
state_dir = $T_WORK/state
socket = $SOCK
remove_on_exit = yes
verify_interval = 3600
CONF
	for i in $(seq 0 $((N - 1))); do
		printf '\n[forward f%d]\nexternal = %d\n' "$i" $((FIRST + i))
	done
} > "$CONF"

# The daemon's log, each line with the wall-clock time it was written at,
# through a FIFO so that $! is the daemon's PID.
mkfifo "$T_WORK/log.fifo"
"$PY" "$TOP/tests/integration/stamp.py" < "$T_WORK/log.fifo" > "$LOG" &
ip netns exec "$PK_NET-pi" "$PKD" -f -vv -c "$CONF" > "$T_WORK/log.fifo" 2>&1 &
PKD_PID=$!
t_start=${EPOCHREALTIME/./}

# snapshot FILE: the status document, saved; true when it has N forwards.
snapshot() {
	"$PORTKEEPER" status --socket "$SOCK" --json > "$1" 2>/dev/null &&
	    "$PY" -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))["forwards"]) != int(sys.argv[2]))' "$1" "$N"
}
all_active() {
	snapshot "$T_WORK/s.json" && "$PY" -c '
import json, sys
f = json.load(open(sys.argv[1]))["forwards"]
sys.exit(0 if all(x["state"] == "active" for x in f) else 1)' "$T_WORK/s.json"
}
if until_ok "$ACTIVE_BOUND" all_active; then
	note "all $N forwards active $(( (${EPOCHREALTIME/./} - t_start) / 1000 )) ms after the start"
	ok "portkeeperd makes all $N forwards"
else
	nok "portkeeperd makes all $N forwards"
	"$PY" -c 'import json,sys,collections; print("#", collections.Counter(x["state"] for x in json.load(open(sys.argv[1]))["forwards"]))' "$T_WORK/s.json" 2>/dev/null
	tail -20 "$LOG" | sed 's/^/# /'
	exit 1
fi
cp "$T_WORK/s.json" "$T_WORK/s0.json"

worst=0
for i in 1 2 3 4 5; do
	t0=${EPOCHREALTIME/./}
	snapshot "$T_WORK/t.json" || worst=999999
	ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
	[ "$ms" -gt "$worst" ] && worst=$ms
done
note "portkeeper status --json with $N forwards: $(wc -c < "$T_WORK/t.json") bytes, slowest of 5 in $worst ms"
check "the status API answers within $STATUS_BOUND_MS ms with $N forwards" [ "$worst" -le "$STATUS_BOUND_MS" ]

t0=${EPOCHREALTIME/./}
pk list --json
note "portkeeper list --json (UPnP, $N entries) took $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms"
check "the router holds all $N forwards for this host" json_is \
    'sorted(m["external_port"] for m in j["mappings"] if m["this_host"]) == list(range('"$FIRST, $((FIRST + N))"'))' True

# A refresh cycle: poll every 2 s until every forward's last_refresh has
# moved, noting the lowest expires_in and any forward that is not active.
deadline=$(( $(date +%s) + LEASE * LATEST_PCT / 100 + 10 ))
: > "$T_WORK/polls"
while :; do
	sleep 2
	snapshot "$T_WORK/p.json" && cat "$T_WORK/p.json" >> "$T_WORK/polls" && echo >> "$T_WORK/polls"
	"$PY" - "$T_WORK/s0.json" "$T_WORK/p.json" <<'EOF' && break
import json, sys
a = {f["name"]: f["last_refresh"] for f in json.load(open(sys.argv[1]))["forwards"]}
b = {f["name"]: f["last_refresh"] for f in json.load(open(sys.argv[2]))["forwards"]}
sys.exit(0 if all(b[n] > a[n] for n in a) else 1)
EOF
	[ "$(date +%s)" -lt "$deadline" ] || break
done
verdict=$("$PY" - "$T_WORK/s0.json" "$T_WORK/p.json" "$T_WORK/polls" "$LEASE" "$LATEST_PCT" <<'EOF'
import json, statistics, sys
s0, s1, polls, lease, pct = sys.argv[1:6]
lease, pct = int(lease), int(pct)
a = {f["name"]: f["last_refresh"] for f in json.load(open(s0))["forwards"]}
b = {f["name"]: f["last_refresh"] for f in json.load(open(s1))["forwards"]}
iv = sorted(b[n] - a[n] for n in a if b[n] > a[n])
missing = [n for n in a if b[n] <= a[n]]
low, bad = None, set()
for text in open(polls).read().split("\n"):
    if not text.strip():
        continue
    for f in json.loads(text)["forwards"]:
        if f["state"] != "active":
            bad.add(f["name"])
        if f["expires_in"] is not None:
            low = f["expires_in"] if low is None else min(low, f["expires_in"])
hi = lease * pct / 100
lo = lease / 2 * 0.9 - 1
early = [x for x in iv if x < lo]
tardy = [x for x in iv if x > hi]
print("refreshed %d of %d; interval min %s, median %s, max %s s (due at %.0f-%.0f s, on time up to %.0f s); "
      "lowest expires_in seen %s s; %d forward(s) not active in a poll"
      % (len(iv), len(a), iv[0] if iv else "-", statistics.median(iv) if iv else "-",
         iv[-1] if iv else "-", lease / 2 * 0.9, lease / 2 * 1.1, hi, low, len(bad)))
ok = not missing and not early and not tardy and not bad and low is not None and low > 0
sys.exit(0 if ok else 1)
EOF
)
rc=$?
note "$verdict"
# Rounds of router work in the cycle, from the log: when each started
# (seconds after the last refresh before the cycle), its tasks, and when
# its last refresh was logged (a check logs nothing for a forward it finds
# in place).
since=$("$PY" -c 'import json,sys; print(max(f["last_refresh"] for f in json.load(open(sys.argv[1]))["forwards"]))' "$T_WORK/s0.json")
"$PY" - "$LOG" "$since" <<'EOF' | sed 's/^/# /'
import re, sys
log, since = sys.argv[1], float(sys.argv[2])
rounds = []
for line in open(log):
    t, _, msg = line.partition(" ")
    t = float(t) - since
    m = re.search(r"round (\d+): (\d+) task\(s\)(, verifying)?", msg)
    if m and t > 5:
        rounds.append([t, int(m.group(2)), m.group(3) is not None, None])
    elif rounds and "refreshed " in msg:
        rounds[-1][3] = t
print("rounds in the cycle: " + "; ".join(
    "+%.1f s: %d task(s)%s%s" % (s, n, ", verifying" if v else "",
    ", refreshes logged until +%.1f s" % e if e is not None else "")
    for s, n, v, e in rounds))
EOF
if [ "$rc" = 0 ]; then
	ok "a refresh cycle: every forward renewed at half its lease, within $LATEST_PCT % of it, none lapsed"
else
	nok "a refresh cycle: every forward renewed at half its lease, within $LATEST_PCT % of it, none lapsed"
fi
note "the daemon: VmRSS $(awk '/^VmRSS/{print $2}' "/proc/$PKD_PID/status") kB, VmHWM $(awk '/^VmHWM/{print $2}' "/proc/$PKD_PID/status") kB, CPU $(awk -v t="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%d", ($12 + $13) * 1000 / t }' "/proc/$PKD_PID/stat") ms since the start"

# SIGTERM removes the forwards, within the daemon's 8 s for it.
t0=${EPOCHREALTIME/./}
kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
pk list --json
left=$(json 'len([m for m in j["mappings"] if m["this_host"]])')
note "SIGTERM: stopped after $(( (${EPOCHREALTIME/./} - t0) / 1000 )) ms, status $rc, $left of $N forwards left on the router$(grep -q "forwards left in place" "$LOG" && echo " (\"the router did not answer in time; forwards left in place\")")"
check "SIGTERM stops the daemon" [ "$rc" = 0 ]
[ "$T_FAILED" = 0 ] || grep -v "refreshed\|round\|probe:" "$LOG" | tail -30 | sed 's/^/# /'
exit $T_FAILED

#!/bin/bash
# Power cuts (issue 7): portkeeperd on the pi with 20 forwards, killed with
# SIGKILL at a random moment 0-1.5 s after it starts, 30 times, while its
# state keeps changing: every 100-300 ms its configuration flips between
# two sets of forwards (A: f0-f19; B: f0-f14 and g0-g4) with a SIGHUP, so
# that forwards are made and removed and state.json rewritten; now and
# then the router's WAN address changes or the router restarts meanwhile.
# Sometimes a torn state.json.tmp (half of the last state) is planted
# before the next start, as a cut in the middle of a write would leave.
#
# After every kill: state.json parses; after every start, the daemon's own
# loader took it (no "starting with an empty state", no state.json.corrupt).
# At the end the daemon starts with set A and must bring all 20 forwards
# back, and the router must hold exactly those for this host, each once.
# First of all, one cut in the middle of a round shows the write-ahead.
#
# PK_SEED=N repeats a run (the seed is printed); PK_CUTS=N sets the count.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
PATH=/usr/bin:$PATH		# Debian's python3 before any shim
CUTS=${PK_CUTS:-30}
SEED=${PK_SEED:-$(( $(date +%s) % 32768 ))}
RANDOM=$SEED
note "seed $SEED (PK_SEED=$SEED repeats this run), $CUTS cuts"

# The router's miniupnpd without its debug log and without the hairpin
# helper (tests/fault/quiet_router.sh says why): a round of router work
# then takes a fraction of a second, so that a daemon's short life holds
# several state writes.
net_up --no-hairpin
. "$TOP/tests/fault/quiet_router.sh"
quiet_router "$T_WORK" || { nok "a miniupnpd without debug logging in the router"; exit 1; }
CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
STATE=$T_WORK/state
LOG=$T_WORK/pkd.log
mkdir -p "$STATE"

conf_text() {
	local set=$1 i
	cat <<CONF
[portkeeper]
method = auto
lease = 120
state_dir = $STATE
socket = $SOCK
remove_on_exit = yes
verify_interval = 5
CONF
	for i in $(seq 0 19); do
		[ "$set" = B ] && [ "$i" -ge 15 ] && continue
		printf '\n[forward f%d]\nexternal = %d\n' "$i" $((9000 + i))
	done
	if [ "$set" = B ]; then
		for i in $(seq 0 4); do
			printf '\n[forward g%d]\nexternal = %d\n' "$i" $((9100 + i))
		done
	fi
}
# The daemon must never read half a file: write it aside, then rename.
write_conf() {
	conf_text "$1" > "$CONF.new" && mv -f "$CONF.new" "$CONF"
}
WANT_A=$(python3 -c 'print(sorted([(9000 + i, "tcp", 9000 + i) for i in range(20)]))')

start_daemon() {
	echo "=== start $1" >> "$LOG"
	# ip netns exec execs the daemon, so $! is the daemon itself.
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$LOG" 2>&1 &
	PKD_PID=$!
}
answers() { pk status --socket "$SOCK" --json && [ "$RC" = 0 ]; }
states() {
	pk status --socket "$SOCK" --json
	json 'sorted(set(f["state"] for f in j["forwards"]))'
}
all_active() {
	pk status --socket "$SOCK" --json
	json_is 'sorted((f["name"], f["state"]) for f in j["forwards"])' \
	    "$(python3 -c 'print(sorted(("f%d" % i, "active") for i in range(20)))')"
}
# This host's entries in the router's table, as (port, protocol, internal
# port), duplicates kept.
router_table() {
	pk list --json
	json 'sorted((m["external_port"], m["protocol"], m["internal_port"]) for m in j["mappings"] if m["this_host"])'
}
router_is_a() { [ "$(router_table)" = "$WANT_A" ]; }

# The background flipper: every 100-300 ms the other set and a SIGHUP,
# once the daemon has started: until its setup blocks SIGHUP, the signal's
# default action would end it.
flipper() {
	local set=$1 pid=$2 cut=$3
	trap - EXIT INT TERM
	until sed -n "/^=== start $cut\$/,\$p" "$LOG" | grep -q "started (version"; do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.02
	done
	while :; do
		sleep "0.$(( 100 + RANDOM % 200 ))"
		if [ "$set" = A ]; then set=B; else set=A; fi
		write_conf "$set"
		kill -HUP "$pid" 2>/dev/null || return 0
	done
}

valid_state() {
	python3 - "$STATE/state.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["version"] == 1
for m in j["mappings"]:
    assert set(m) == {"name", "protocol", "external_port", "internal_port",
                      "internal_ip", "method", "expires"}, m
EOF
}

# Write-ahead: a cut in the middle of the daemon's first round (over UPnP,
# a connection per request), the moment the router holds the first of 20
# new forwards.  state.json must name every forward the router then holds
# for this host, so that the next start, whose configuration has none of
# them, removes them all.  Before the daemon wrote new forwards ahead of
# the round, state.json had none: they stayed on the router.
WA=$T_WORK/wa
mkdir -p "$WA/state"
wa_conf() {
	printf '[portkeeper]\nmethod = upnp\nlease = 120\nstate_dir = %s\n' "$WA/state"
	printf 'socket = %s\nremove_on_exit = yes\n' "$WA/api.sock"
	[ "$1" = with ] || return 0
	for i in $(seq 0 19); do
		printf '\n[forward h%d]\nexternal = %d\n' "$i" $((9200 + i))
	done
}
# This host's forwards of ports 9200-9219 on the router, by port.
wa_router() {
	pk list --json
	json 'sorted(m["external_port"] for m in j["mappings"] if m["this_host"] and 9200 <= m["external_port"] < 9220)'
}
wa_router_none() { [ "$(wa_router)" = "[]" ]; }
wa_conf with > "$WA/conf"
# The router takes four new connections a second from the pi and drops
# the rest (a SYN sent again after a second), so that the round of 20
# forwards lasts seconds and the cut lands in its middle.
in_ns router nft -f - <<NFT
table inet pk_slow {
	chain input {
		type filter hook input priority filter - 10; policy accept;
		iifname "br0" ip saddr $PK_PI tcp flags syn limit rate over 4/second burst 4 packets drop
	}
}
NFT
ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$WA/conf" > "$WA/log" 2>&1 &
wa_pid=$!
for i in $(seq 2000); do
	in_ns router nft list table inet pk_router 2>/dev/null |
	    grep -q 'dport 92[01][0-9] ' && break
	sleep 0.005
done
kill -9 "$wa_pid"; wait "$wa_pid" 2>/dev/null
in_ns router nft delete table inet pk_slow
held=$(wa_router)
recorded=$("$PY" -c 'import json,sys
try: j = json.load(open(sys.argv[1]))
except FileNotFoundError: j = {"mappings": []}
print(sorted(m["external_port"] for m in j["mappings"]))' "$WA/state/state.json")
note "cut in the first round: the router held $(echo "$held" | tr -cd , | wc -c | awk '{print $1 + 1}') of the 20 new forwards, state.json named $recorded"
check "a cut in the middle of a round: state.json names every forward the router holds" \
    "$PY" -c 'import sys; held = eval(sys.argv[1]); rec = eval(sys.argv[2]); sys.exit(0 if held and set(held) <= set(rec) else 1)' "$held" "$recorded"
wa_conf without > "$WA/conf"
ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$WA/conf" >> "$WA/log" 2>&1 &
wa_pid=$!
check "... and the next start, without them in its configuration, removes them all" until_ok 20 wa_router_none
kill -TERM "$wa_pid"; wait "$wa_pid"
[ "$T_FAILED" = 0 ] || sed 's/^/# /' "$WA/log" | tail -30

bad_json=0 torn=0 wan=0 restarts=0 hups=0 tmp_left=0 rewrites=0
set_now=A
write_conf A
t_loop=$(date +%s)
for cut in $(seq "$CUTS"); do
	# A torn temporary file from a cut in the middle of a write.
	rm -f "$T_WORK/planted"
	if [ -s "$STATE/state.json" ] && [ $((RANDOM % 3)) = 0 ]; then
		head -c $(( $(wc -c < "$STATE/state.json") / 2 )) "$STATE/state.json" > "$STATE/state.json.tmp"
		cp "$STATE/state.json.tmp" "$T_WORK/planted"
		torn=$((torn + 1))
	fi
	ino0=$(stat -c %i "$STATE/state.json" 2>/dev/null)
	start_daemon "$cut"
	life_ms=$(( RANDOM % 1501 ))
	t0=${EPOCHREALTIME/./}
	flipper "$set_now" "$PKD_PID" "$cut" &
	flip_pid=$!
	case $(( RANDOM % 8 )) in
	0) ( trap - EXIT INT TERM; sleep "0.$(( RANDOM % 900 + 100 ))"; quiet_router_wan_change "$T_WORK" ) & side=$!; wan=$((wan + 1)) ;;
	1) ( trap - EXIT INT TERM; sleep "0.$(( RANDOM % 900 + 100 ))"; quiet_router_restart "$T_WORK" ) & side=$!; restarts=$((restarts + 1)) ;;
	*) side= ;;
	esac
	# Sleep out the rest of the daemon's life, then cut.
	left=$(( life_ms * 1000 - (${EPOCHREALTIME/./} - t0) ))
	[ "$left" -gt 0 ] && sleep "$(printf '%d.%06d' $((left / 1000000)) $((left % 1000000)))"
	kill -9 "$PKD_PID" 2>/dev/null
	# SIGKILL: a subshell killed before its first command would run
	# lib.sh's traps, and with them its cleanup.
	kill -9 "$flip_pid" 2>/dev/null
	wait "$flip_pid" 2>/dev/null
	wait "$PKD_PID" 2>/dev/null
	[ -n "$side" ] && wait "$side"
	# Which set the file holds now: the next start begins with it.
	grep -q '^\[forward g0\]' "$CONF" && set_now=B || set_now=A
	hups=$(( hups + $(sed -n "/^=== start $cut\$/,\$p" "$LOG" | grep -c "configuration reloaded") ))
	# A temporary file the daemon was writing: the cut hit a write.
	if [ -e "$STATE/state.json.tmp" ] &&
	    ! cmp -s "$STATE/state.json.tmp" "$T_WORK/planted"; then
		tmp_left=$((tmp_left + 1))
	fi
	# Every write renames a new file into place.
	[ "$(stat -c %i "$STATE/state.json" 2>/dev/null)" != "$ino0" ] && rewrites=$((rewrites + 1))

	if [ -e "$STATE/state.json" ] && ! valid_state 2> "$T_WORK/py.err"; then
		bad_json=$((bad_json + 1))
		note "cut $cut after $life_ms ms: state.json does not parse: $(tail -1 "$T_WORK/py.err")"
		cp "$STATE/state.json" "$T_WORK/bad-$cut.json"
	fi
done
loop_s=$(( $(date +%s) - t_loop ))
note "$CUTS cuts in $loop_s s: state.json rewritten in $rewrites of the $CUTS lives; $hups reloads, $wan WAN changes, $restarts router restarts; $tmp_left cuts in the middle of a write (state.json.tmp left), $torn torn state.json.tmp planted before a start"
check "state.json parses after every one of $CUTS kill -9" [ "$bad_json" = 0 ]
check "the daemon's loader took every state.json (no 'starting with an empty state')" \
    not grep -q "starting with an empty state" "$LOG"
check "... and set none aside as state.json.corrupt" not test -e "$STATE/state.json.corrupt"

# Recovery: set A, a normal start.
write_conf A
"$HOMENET" info > /dev/null 2>&1 && eval "$("$HOMENET" info)"
t0=$(date +%s%N)
start_daemon final
if until_ok 30 all_active; then
	note "all 20 forwards active $(( ($(date +%s%N) - t0) / 1000000 )) ms after the last start"
	ok "after the cuts a normal start brings all 20 forwards back"
else
	note "forwards: $(states)"
	nok "after the cuts a normal start brings all 20 forwards back"
fi
# Forwards of set B that the state still knew are being removed.
if until_ok 20 router_is_a; then
	ok "the router holds exactly the 20 forwards of the configuration, each once"
else
	note "the router has for this host: $(router_table)"
	note "the configuration wants:      $WANT_A"
	nok "the router holds exactly the 20 forwards of the configuration, each once"
fi
kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
check "SIGTERM stops it cleanly" [ "$rc" = 0 ]
check "... and removes its forwards from the router" eval '[ "$(router_table)" = "[]" ]'
[ "$T_FAILED" = 0 ] || grep -v "refreshed\|round" "$LOG" | tail -60 | sed 's/^/# /'
exit $T_FAILED

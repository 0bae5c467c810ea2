#!/bin/bash
# A slow disk: every fsync of portkeeperd takes 1.5 s longer (the shim
# tests/fault/slowfsync.c, preloaded), as on an SD card under load where
# one fsync took 1.03 s.  Writing state.json takes two of them.  While the
# state keeps changing (SIGHUPs that swap forwards, a WAN address change),
# and forwards are added and removed through the API (each answered once
# forwards.conf is on disk, one after the other), the API must answer as
# fast as ever: GET /api/status on the control socket, sent every 100 ms
# whether the last one came back or not, median under 100 ms, none over
# 1 s, at most 5% over 100 ms (see below).  A clean stop still writes the
# last state.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
CC=${CC:-cc}
SLOW_MS=1500

# The shim, built here as test_failalloc builds its driver.
SHIM=$T_WORK/slowfsync.so
if ! "$CC" -shared -fPIC -O2 -Wall -Wextra -Werror -o "$SHIM" \
    "$TOP/tests/fault/slowfsync.c" -ldl > "$T_WORK/cc.log" 2>&1; then
	sed 's/^/# /' "$T_WORK/cc.log"
	nok "build the slow fsync shim"
	exit 1
fi
# AddressSanitizer wants to come first; the shim only needs to come before
# libc.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
export ASAN_OPTIONS

net_up
CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
STATE=$T_WORK/state
LOG=$T_WORK/pkd.log
FSLOG=$T_WORK/fsync.log
mkdir -p "$STATE"
: > "$FSLOG"

# Set A: f1-f3; set B: f1, g1, g2.  Each swap removes two forwards and
# makes two, and so rewrites state.json.
write_conf() {
	{
		printf '[portkeeper]\nlease = 120\nstate_dir = %s\n' "$STATE"
		printf 'socket = %s\nverify_interval = 5\n' "$SOCK"
		# The last state at a stop is then the one of the forwards.
		printf 'remove_on_exit = no\n'
		printf '\n[forward f1]\nexternal = 9301\ninternal = 8080\n'
		if [ "$1" = A ]; then
			printf '\n[forward f2]\nexternal = 9302\ninternal = 8080\n'
			printf '\n[forward f3]\nexternal = 9303\ninternal = 8080\n'
		else
			printf '\n[forward g1]\nexternal = 9311\ninternal = 8080\n'
			printf '\n[forward g2]\nexternal = 9312\ninternal = 8080\n'
		fi
	} > "$CONF.new" && mv -f "$CONF.new" "$CONF"
}
names() {
	[ "$1" = A ] && echo "[('f1', 'active'), ('f2', 'active'), ('f3', 'active')]" ||
	    echo "[('f1', 'active'), ('g1', 'active'), ('g2', 'active')]"
}
# The set is made, and the state as the daemon holds it says so too.
set_active() {
	pk status --socket "$SOCK" --json &&
	    json_is 'sorted((f["name"], f["state"]) for f in j["forwards"])' "$(names "$1")"
}
state_has() {
	"$PY" - "$STATE/state.json" "$@" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
sys.exit(sorted(m["name"] for m in j["mappings"]) != sorted(sys.argv[2:]))
EOF
}
writes() { grep -c '^fsync' "$FSLOG"; }
# The writes of state.json (its file's fsync; the directory's says nothing).
state_writes() { grep -c '/state\.json' "$FSLOG"; }

write_conf A
ip netns exec "$PK_NET-pi" env LD_PRELOAD="$SHIM" SLOWFSYNC_MS=$SLOW_MS \
    SLOWFSYNC_LOG="$FSLOG" "$PKD" -f -v -c "$CONF" >> "$LOG" 2>&1 &
PKD_PID=$!
check "portkeeperd makes the three forwards of set A" until_ok 15 set_active A

# GET /api/status every 100 ms, each on a thread of its own, so that a
# loop that blocks shows in every request sent meanwhile, not in one.
# Each is timed by curl (time_total), and carries how much the machine
# stalled meanwhile (stall.py).
cat > "$T_WORK/sampler.py" <<'SAMPLER'
import os, subprocess, sys, threading, time
from stall import Stall
sock, out, stop = sys.argv[1:4]
clock = Stall()
lock = threading.Lock()
rows = []


def one():
    l0 = clock.seconds()
    r = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "10",
                        "-w", "%{http_code} %{time_total}", "--unix-socket",
                        sock, "http://pk/api/status"],
                       stdout=subprocess.PIPE, text=True)
    late = clock.seconds() - l0
    with lock:
        rows.append("%s %.4f %d\n" % (r.stdout.strip() or "000 10",
                                      late, r.returncode))


threads = []
next_at = time.monotonic()
while not os.path.exists(stop):
    t = threading.Thread(target=one)
    t.start()
    threads.append(t)
    next_at += 0.1
    time.sleep(max(next_at - time.monotonic(), 0))
for t in threads:
    t.join()
with open(out, "w") as f:
    f.writelines(rows)
SAMPLER
PYTHONPATH=$TOP/tests/integration in_ns pi "$PY" "$T_WORK/sampler.py" \
    "$SOCK" "$T_WORK/lat" "$T_WORK/lat.stop" &
LAT_PID=$!
w0=$(writes)
s0=$(state_writes)
t0=$(date +%s%N)

# The state changes: set B, back to A, the router's WAN address.  Each
# rewrite takes 3 s; the next change comes as soon as the daemon shows the
# last one made, so that the writer is busy throughout.
write_conf B
kill -HUP "$PKD_PID"
check "SIGHUP: set B is made" until_ok 20 set_active B
write_conf A
kill -HUP "$PKD_PID"
check "SIGHUP: set A is made again" until_ok 20 set_active A
OLD_WAN=$PK_WAN
"$HOMENET" wan-change > "$T_WORK/wan" 2>&1
NEW_WAN=$(tail -1 "$T_WORK/wan")
ext_is_new() {
	pk status --socket "$SOCK" --json && json_is 'j["external_ip"]' "$NEW_WAN"
}
check "the new WAN address $NEW_WAN (was $OLD_WAN) is seen" until_ok 15 ext_is_new

# Forwards through the API.  Each answer waits until forwards.conf is on
# disk (a file and a directory fsync: 3 s here), the loop does not, and a
# change sent while another is being saved waits its turn.
# api_write TAG METHOD PATH [BODY]: "CODE SECONDS" in $T_WORK/api.TAG.
api_write() {
	in_ns pi curl -s -o "$T_WORK/api.$1.body" --max-time 30 \
	    -w '%{http_code} %{time_total}' --unix-socket "$SOCK" -X "$2" \
	    ${4:+-H 'Content-Type: application/json' --data "$4"} \
	    "http://pk$3" > "$T_WORK/api.$1"
}
# answered TAG CODE MIN_SECONDS: that code, and not sooner than that.
answered() {
	"$PY" - "$T_WORK/api.$1" "$2" "$3" <<'PYEOF'
import sys
code, secs = open(sys.argv[1]).read().split()
sys.exit(code != sys.argv[2] or float(secs) < float(sys.argv[3]))
PYEOF
}
# conf_has NAMES...: the API's forwards in forwards.conf, exactly.
conf_has() {
	[ "$(sed -n 's/^\[forward \(.*\)\]$/\1/p' "$STATE/forwards.conf" |
	    sort | xargs)" = "$*" ]
}
save1=$(awk -v ms="$SLOW_MS" 'BEGIN { print ms / 1000 }')
# Sent 0.3 s into the save before it (two fsyncs), then saved itself (one
# at least): concurrent saves would answer in one save's time.
queued=$(awk -v ms="$SLOW_MS" 'BEGIN { print ms * 3 / 1000 - 0.3 }')
api_write w1 POST /api/forwards '{"name":"w1","external":9321,"internal":8080}' &
p1=$!
sleep 0.3
api_write w2 POST /api/forwards '{"name":"w2","external":9322,"internal":8080}' &
p2=$!
sleep 0.3
api_write w1b POST /api/forwards '{"name":"w1","external":9323,"internal":8080}' &
p3=$!
wait "$p1" "$p2" "$p3"
note "POST w1: $(cat "$T_WORK/api.w1"), POST w2 sent 0.3 s later: $(cat "$T_WORK/api.w2"), POST w1 again 0.6 s later: $(cat "$T_WORK/api.w1b") (code, seconds)"
check "POST w1: 201, once forwards.conf was saved (after $save1 s at least)" \
    answered w1 201 "$save1"
check "POST w2, sent meanwhile, waited its turn: 201 after $queued s at least" \
    answered w2 201 "$queued"
check "POST w1 again, sent meanwhile, is checked after the first: 409" \
    eval 'answered w1b 409 "$queued" && grep -q "\"conflict\"" "$T_WORK/api.w1b.body"'
check "... and forwards.conf holds both, once" conf_has w1 w2
api_write d1 DELETE /api/forwards/w1 &
p1=$!
sleep 0.3
api_write d2 DELETE /api/forwards/w2 &
p2=$!
wait "$p1" "$p2"
note "DELETE w1: $(cat "$T_WORK/api.d1"), DELETE w2 sent 0.3 s later: $(cat "$T_WORK/api.d2")"
check "DELETE w1: 204, once saved; DELETE w2 after it" \
    eval 'answered d1 204 "$save1" && answered d2 204 "$queued"'
check "... and forwards.conf holds neither" conf_has
check "... nor does the daemon" until_ok 10 set_active A
# Until the writer is done with all of it.
sleep $((SLOW_MS * 2 / 1000 + 1))
touch "$T_WORK/lat.stop"
wait "$LAT_PID"
w1=$(writes)
s1=$(state_writes)
note "$(( ($(date +%s%N) - t0) / 1000000 )) ms of changes: $((w1 - w0)) slow fsyncs, $((s1 - s0)) state.json writes among them"
# (Changes that come while a write is in progress are written together.)
check "state.json was rewritten while the API was timed (twice at least)" \
    [ $((s1 - s0)) -ge 2 ]

# A request that got no answer (a full listen queue refuses at once)
# counts as the slowest there can be: 10 s, curl's limit.  Each time is
# taken less what the machine itself stalled meanwhile (never below 0).
# On this shared two-CPU machine a lone answer over 100 ms says little:
# the fork of the curl that sent it, or the daemon's own thread, can wait
# for a CPU longer than the stall clock notices (seen: one in 60, up to
# 0.4 s with AddressSanitizer, while the requests around it took 1 ms).
# A loop that waits for the disk keeps every request sent meanwhile
# waiting for as long as a write (two fsyncs, 3 s here).  So: the median
# under 100 ms, none over 1 s, and at most 5% over 100 ms.
cat > "$T_WORK/latsum.py" <<'LATSUM'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
bad = [r for r in rows if r[0] != "200"]
t = [float(r[1]) if r[0] == "200" else 10.0 for r in rows]
c = [max(t[i] - float(r[2]), 0) for i, r in enumerate(rows)]
answered = [float(r[1]) for r in rows if r[0] == "200"] or [0]
slow = sorted((x for x in c if x >= 0.1), reverse=True)
print("%d requests, median %.1f ms, slowest %.1f ms (%.1f ms less the "
      "machine's stalls), %d unanswered%s, slowest answer %.1f ms, %d over "
      "100 ms less the stalls%s" % (
          len(t), statistics.median(t) * 1000, max(t) * 1000, max(c) * 1000,
          len(bad), " (curl exit statuses %s)" % sorted(set(r[3] for r in bad))
          if bad else "", max(answered) * 1000, len(slow),
          " (%s%s)" % (", ".join("%.1f ms" % (x * 1000) for x in slow[:8]),
                       ", ..." if len(slow) > 8 else "") if slow else ""))
sys.exit(0 if len(t) >= 50 and not bad and statistics.median(t) < 0.1 and
         max(c) < 1.0 and len(slow) <= len(t) * 0.05 else 1)
LATSUM
"$PY" "$T_WORK/latsum.py" "$T_WORK/lat" > "$T_WORK/lat.sum"
lat_rc=$?
note "GET /api/status: $(cat "$T_WORK/lat.sum")"
check "the API answered within 100 ms throughout (median; none over 1 s, at most 5% over 100 ms)" [ "$lat_rc" = 0 ]

# A clean stop right after a change: the last state is written first.
write_conf B
kill -HUP "$PKD_PID"
check "SIGHUP: set B is made once more" until_ok 20 set_active B
w0=$(writes)
# And a forward through the API, still being saved at SIGTERM: waited for.
api_write w3 POST /api/forwards '{"name":"w3","external":9324,"internal":8080}' &
p3=$!
sleep 0.5
start=$(date +%s%N)
kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
note "portkeeperd stopped in $(( ($(date +%s%N) - start) / 1000000 )) ms, after $(( $(writes) - w0 )) slow fsyncs"
wait "$p3"
check "SIGTERM stops it cleanly" [ "$rc" = 0 ]
check "... the POST being saved then was answered 201 ($(cat "$T_WORK/api.w3"))" \
    answered w3 201 "$save1"
check "... and forwards.conf holds it" conf_has w3
check "... and state.json holds the last state, set B" state_has f1 g1 g2
check "... with nothing left half-written" not test -e "$STATE/state.json.tmp"
check "no write of state.json failed" not grep -qE \
    "state\.json(\.tmp)?: |rename .*state\.json|not written within" "$LOG"
check "no sanitizer report" not grep -qE \
    "AddressSanitizer|LeakSanitizer|runtime error:" "$LOG"
[ "$T_FAILED" = 0 ] || tail -30 "$LOG" | sed 's/^/# /'
exit $T_FAILED

#!/bin/bash
# A hostile router (tests/hostile/hostile_router.py) in place of miniupnpd:
# malformed, truncated, endless, dripping and chunked-garbage HTTP, SOAP
# faults, a 10 MB description, bogus external addresses, and NAT-PMP replies
# that are short, stale, from the wrong source or with the wrong opcode.
# Throughout, portkeeperd stays up, its API answers within 100 ms, each new
# forward fails with a sentence that says what the router did wrong, no
# bogus address is ever reported as the external one, and the CLI gives a
# clear error within its timeout.  Before all that, a router that turns
# slow part way through a round: at the round's deadline the forwards it
# made are active and only the rest failed.  Then, with the real miniupnpd
# back, a rogue IGD on the laptop is never used.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
HOSTILE=$TOP/tests/hostile/hostile_router.py
T0=$(date +%s%N)
# The daemon's state, log and hook on tmpfs: its fsyncs, and its wait for
# the hook's execve, in the loop must not be timed against the disk of a
# machine busy with other test runs (see the API check below).
SHM=$(mktemp -d -p /dev/shm pk-hostile.XXXXXX)
trap 'st=$?; rm -rf "$SHM"; (exit $st); cleanup' EXIT
net_up --no-upnp --no-natpmp --no-hairpin
# A second address on the router: NAT-PMP replies from the wrong source.
ip -n "$PK_NET-router" addr add 192.168.77.2/24 dev br0

CONF=$T_WORK/portkeeper.conf
SOCK=$T_WORK/api.sock
HOOKLOG=$SHM/hook.log
mkdir -p "$SHM/state"
# The hook too: the loop waits for its execve (unless /dev/shm is noexec).
HOOK=$SHM/hook
findmnt -no OPTIONS --target /dev/shm 2>/dev/null | grep -qw noexec &&
    HOOK=$T_WORK/hook
cat > "$HOOK" <<HOOK
#!/bin/sh
echo "\$PORTKEEPER_EVENT ext=\$PORTKEEPER_EXTERNAL_IP" >> "$HOOKLOG"
HOOK
chmod +x "$HOOK"
cat > "$CONF" <<CONF
[portkeeper]
lease = 120
state_dir = $SHM/state
socket = $SOCK
on_change = $HOOK
verify_interval = 5

[forward web]
external = 8080
internal = 8080
CONF

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# The hostile router: h_start HOST ARGS... (returns once it is listening).
# In the router it runs once for all the scenarios: h_modes switches it.
H_N=0 H_PID= H_GEN=0
h_start() {
	local host=$1 rc; shift
	H_LOG=$T_WORK/hostile.$((++H_N)).log
	start_ready "$host" "$T_WORK/ready" "$PY" "$HOSTILE" --log "$H_LOG" \
	    --ready "$T_WORK/ready" "$@" 2>> "$T_WORK/hostile.err"
	rc=$?
	H_PID=$BG_PID
	return $rc
}
h_stop() {
	[ -n "$H_PID" ] || return 0
	kill "$H_PID" 2>/dev/null
	wait "$H_PID" 2>/dev/null
	H_PID=
}
# h_modes UPNP NATPMP EXT_IP [AFTER]: new modes, in effect when this
# returns (AFTER: how many forwards slow-after makes at once).
h_modes() {
	H_GEN=$((H_GEN + 1))
	printf 'upnp=%s\nnatpmp=%s\next-ip=%s\nafter=%s\ngen=%s\n' "$1" "$2" \
	    "$3" "${4:-0}" "$H_GEN" > "$T_WORK/modes.new"
	mv "$T_WORK/modes.new" "$T_WORK/modes"
	H_MARK=$(wc -l < "$H_LOG")
	until_ok 5 grep -q "ready gen $H_GEN\$" "$H_LOG"
}
# What the hostile router saw since the last h_modes.
h_seen() { tail -n "+$((H_MARK + 1))" "$H_LOG"; }

start_daemon() {
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$CONF" >> "$SHM/pkd.log" 2>&1 &
	PKD_PID=$!
}
alive() { kill -0 "$PKD_PID" 2>/dev/null; }

# api METHOD PATH [JSON]: the control socket, from the pi; sets CODE, OUT.
api() {
	local body=()
	[ $# -ge 3 ] && body=(-H 'Content-Type: application/json' -d "$3")
	in_ns pi curl -s --max-time 5 -o "$T_WORK/api.out" -w '%{http_code}' \
	    -X "$1" "${body[@]}" --unix-socket "$SOCK" "http://pk$2" \
	    > "$T_WORK/api.code" 2>/dev/null
	CODE=$(cat "$T_WORK/api.code")
	OUT=$(cat "$T_WORK/api.out")
}

# GET /api/status every 200 ms, timed by curl (time_total), for as long as
# the test runs.  A sample counts against portkeeperd only when it was
# slower than 100 ms by more than the machine stalled meanwhile (stall.py).
# The same lateness, summed in ms in $T_WORK/stall, corrects the CLI's
# timings.
cat > "$T_WORK/sampler.py" <<'SAMPLER'
import os, subprocess, sys, time
from stall import Stall
sock, out, stop, stall = sys.argv[1:5]
clock = Stall()
with open(out, "a") as f:
    while not os.path.exists(stop):
        l0 = clock.seconds()
        r = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time",
                            "3", "-w", "%{http_code} %{time_total}",
                            "--unix-socket", sock, "http://pk/api/status"],
                           stdout=subprocess.PIPE, text=True)
        l1 = clock.seconds()
        f.write("%s %.4f\n" % (r.stdout.strip() or "000 3", l1 - l0))
        f.flush()
        with open(stall + ".new", "w") as g:
            g.write("%d\n" % (l1 * 1000))
        os.rename(stall + ".new", stall)
        time.sleep(0.2)
SAMPLER
: > "$T_WORK/lat"
echo 0 > "$T_WORK/stall"
lat_start() {
	rm -f "$T_WORK/lat.stop"
	PYTHONPATH=$TOP/tests/integration in_ns pi "$PY" "$T_WORK/sampler.py" "$SOCK" "$T_WORK/lat" \
	    "$T_WORK/lat.stop" "$T_WORK/stall" &
	LAT_PID=$!
}
lat_stop() { touch "$T_WORK/lat.stop"; wait "$LAT_PID"; }
stall_ms() { cat "$T_WORK/stall" 2>/dev/null || echo 0; }

# cli NAME ARGS...: portkeeper on the pi in the background; its exit
# status, wall time and how long the machine stalled meanwhile (ms) go to
# cli.NAME.rc.
cli() {
	local name=$1; shift
	(
		s=$(date +%s%N) l=$(stall_ms)
		in_ns pi "$PORTKEEPER" "$@" > "$T_WORK/cli.$name.out" \
		    2> "$T_WORK/cli.$name.err"
		echo "$? $(ms_since "$s") $(( $(stall_ms) - l ))" > "$T_WORK/cli.$name.rc"
	) &
	CLI_PIDS+=($!)
}
# cli_ok NAME WANT_RC: its exit status, and its time less the machine's
# stalls under 6 s (two deadlines of 2.5 s, and start-up).  Sets CLI_T.
cli_ok() {
	local rc t st
	read -r rc t st < "$T_WORK/cli.$1.rc"
	CLI_T="exit $rc in $t ms"
	[ "${st:-0}" -lt 100 ] || CLI_T="$CLI_T ($st ms of them the machine stalled)"
	[ "$rc" = "$2" ] && [ $((t - ${st:-0})) -lt 6000 ]
}

# The checks on JSON, in one place: check.py WHAT FILE ARGS...
cat > "$T_WORK/check.py" <<'CHECK'
import json, re, sys

# What the hostile router claims that is not an address a router's WAN can
# have, or comes from where it must not.
BOGUS = ("999.1.1.1", "0.0.0.0", "<script", "script>", "127.0.0.1",
         "224.0.0.1", "11.22.33.66")
GOOD = (None, "11.22.33.2")


def words(msg):
    """A sentence: printable ASCII, long enough, not a bare errno."""
    if not isinstance(msg, str) or len(msg) < 30:
        return "no sentence: %r" % (msg,)
    if any(not " " <= c <= "~" for c in msg):
        return "control bytes in %r" % msg
    return None


def fail(why):
    print(why)
    sys.exit(1)


what, path = sys.argv[1], sys.argv[2]
try:
    j = json.load(open(path))
except Exception as e:
    fail("not JSON (%s): %r" % (e, open(path, errors="replace").read()[:300]))

if what == "forward":           # forward NAME STATE REGEX-or-METHOD
    name, state, rx = sys.argv[3:6]
    f = [f for f in j["forwards"] if f["name"] == name]
    if not f:
        fail("no forward %s" % name)
    f = f[0]
    if f["state"] != state:
        fail("state %s, error %r" % (f["state"], f["error"]))
    if state == "failed":
        if words(f["error"]):
            fail(words(f["error"]))
        if not re.search(rx, f["error"]):
            fail("error %r does not match /%s/" % (f["error"], rx))
    elif f["method"] != rx:
        fail("method %s" % f["method"])
    print(f["error"] or f["method"])
    sys.exit(0)
elif what == "external":        # the status document's addresses
    if j["external_ip"] not in GOOD:
        fail("external_ip %r" % j["external_ip"])
    hist = [h["ip"] for h in j["external_ip_history"]]
    if any(h not in GOOD for h in hist):
        fail("history %r" % hist)
    for e in j["events"]:
        if e["event"] == "external_ip_changed":
            if any(b in e["detail"] for b in BOGUS):
                fail("event %r" % e["detail"])
        elif words(e["detail"]):
            fail("event detail: %s" % words(e["detail"]))
    g = j["gateway"]["error"]
    if g is not None and words(g):
        fail("gateway error: %s" % words(g))
elif what == "open":            # open CODES REGEX
    codes, rx = sys.argv[3:5]
    if codes == "ok":
        if j.get("ok") is not True:
            fail("open failed: %r" % j)
        sys.exit(0)
    e = j.get("error") or {}
    if j.get("ok") is not False or e.get("code") not in codes.split("|"):
        fail("expected %s, got %r" % (codes, j))
    if words(e.get("message")):
        fail(words(e.get("message")))
    if not re.search(rx, e["message"]):
        fail("message %r does not match /%s/" % (e["message"], rx))
elif what == "ip":              # ip: never a bogus address
    for v in (j.get("external_ip"), j["upnp"].get("external_ip"),
              j["natpmp"].get("external_ip")):
        if v not in GOOD and v != "":
            fail("ip reports %r" % v)
    if j.get("ok") is False and words(j["error"]["message"]):
        fail(words(j["error"]["message"]))
print("ok")
CHECK
jcheck() {
	"$PY" "$T_WORK/check.py" "$@" > "$T_WORK/jcheck" 2>&1 && return 0
	note "$(cat "$T_WORK/jcheck")"
	return 1
}

# -------------------------------------------------------------------------
if ! h_start router --modes "$T_WORK/modes" --alt-source 192.168.77.2; then
	nok "the hostile router starts"
	exit 1
fi

# A NAT-PMP router without PCP answers a PCP request with NAT-PMP's
# "Unsupported Version" (RFC 6887 section 9): --via pcp says so.
h_modes off ok 11.22.33.2 || nok "the hostile router turns NAT-PMP only"
pk open 8080 --via pcp --json
check "--via pcp on a NAT-PMP-only router: unsupported, speaks only NAT-PMP" \
    json_is '(j["ok"], j["error"]["code"], "speaks only NAT-PMP" in j["error"]["message"])' \
    "(False, 'unsupported', True)"

# A round that misses its deadline (8 s, and 3 s a task) part way through:
# a portkeeperd of its own starts with four forwards, all in its first
# round; the router makes the first at once, then answers every SOAP
# request 3.8 s late (two a forward: AddPortMapping, then reading the entry
# back), so that the second and third are made by 15.2 s and the fourth
# would be by 22.8 s, after the deadline at 20 s.  What the router made
# must be reported active, and only what it had not finished failed.
P_SOCK=$T_WORK/partial.sock P_LOG=$SHM/partial.log
mkdir -p "$SHM/pstate"
{
	printf '[portkeeper]\nlease = 120\nstate_dir = %s\nsocket = %s\n' \
	    "$SHM/pstate" "$P_SOCK"
	printf 'verify_interval = 3600\n'
	for i in 1 2 3 4; do
		printf '\n[forward p%d]\nexternal = %d\ninternal = 8080\n' \
		    "$i" $((9500 + i))
	done
} > "$T_WORK/partial.conf"
h_modes slow-after off 11.22.33.2 1 || nok "the hostile router turns slow-after"
start=$(date +%s%N)
ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$T_WORK/partial.conf" >> "$P_LOG" 2>&1 &
P_PID=$!
if until_ok 35 grep -q "missed its deadline" "$P_LOG"; then
	ok "a round the router answers too slowly misses its deadline after $(ms_since "$start") ms: $(grep -o "missed its deadline.*" "$P_LOG" | head -1)"
else
	nok "a round the router answers too slowly misses its deadline"
fi
pk status --socket "$P_SOCK" --json
echo "$OUT" > "$T_WORK/partial.json"
# The forwards in order: those the router made (as many as the log says
# were done, at least the first), then those it had not, with the words
# of the deadline; every one made was asked of the router.
if "$PY" - "$T_WORK/partial.json" "$P_LOG" "$H_LOG" > "$T_WORK/jcheck" 2>&1 <<'PARTIAL'
import json, re, sys
j = json.load(open(sys.argv[1]))
log = open(sys.argv[2]).read()
router = open(sys.argv[3]).read()
m = re.search(r"missed its deadline with (\d+) of 4 task", log)
f = {x["name"]: x for x in j["forwards"]}
got = [(n, f[n]["state"]) for n in ("p1", "p2", "p3", "p4")]
print(", ".join("%s %s" % g for g in got), "; log:",
      m.group(0) if m else None)
if m is None:
    sys.exit(1)
done = int(m.group(1))
for i, n in enumerate(("p1", "p2", "p3", "p4")):
    if i < done:
        ok = f[n]["state"] == "active" and f[n]["method"] == "upnp" and \
            re.search(r"soap AddPortMapping ext %d$" % (9501 + i), router,
                      re.M)
    else:
        ok = f[n]["state"] == "failed" and \
            "did not finish answering in time" in (f[n]["error"] or "")
    if not ok:
        print("%s: %r" % (n, f[n]))
        sys.exit(1)
sys.exit(0 if 1 <= done < 4 else 1)
PARTIAL
then
	ok "the forwards the router made are active, only the others failed: $(head -1 "$T_WORK/jcheck")"
else
	nok "the forwards the router made are active, only the others failed: $(cat "$T_WORK/jcheck")"
fi
kill -TERM "$P_PID"; wait "$P_PID"; rc=$?
check "that portkeeperd stops cleanly on SIGTERM" [ "$rc" = 0 ]
# The main daemon starts with no router to find, as before.
h_modes off off 11.22.33.2 || nok "the hostile router switches off"

start_daemon
for _ in $(seq 50); do
	api GET /api/health && [ "$CODE" = 200 ] && break
	sleep 0.1
done
RSS0=$(awk '/^VmRSS/ {print $2}' "/proc/$PKD_PID/status" 2>/dev/null)
check "portkeeperd answers on its control socket" [ "$CODE" = 200 ]
lat_start
MAX_THREADS=0 N=0

# scenario NAME UPNP NATPMP EXT_IP EXPECT REGEX CLI_CODES IP_RC MAPS
#   EXPECT    failed, or active (REGEX is then the method)
#   REGEX     what the forward's error (and open's message) must say
#   CLI_CODES the error codes `open` may give (|-separated), or ok
#   IP_RC     the exit status of `ip`: 1 when the router is of no use,
#             0 when it answered with an address or none
#   MAPS      yes when the daemon may ask this router for a mapping
scenario() {
	local name=$1 upnp=$2 natpmp=$3 ext=$4 expect=$5 rx=$6 codes=$7
	local iprc=$8 maps=$9 fwd start threads
	N=$((N + 1))
	fwd=h$N
	echo "# $name" >> "$T_WORK/lat"
	h_modes "$upnp" "$natpmp" "$ext" || nok "$name: the hostile router switches"
	start=$(date +%s%N)
	CLI_PIDS=()
	cli open open $((10000 + N)):8080 --json --timeout 2500
	cli ip ip --json --timeout 2500
	api POST /api/forwards "{\"name\":\"$fwd\",\"external\":$((9000 + N)),\"internal\":8080}"
	[ "$CODE" = 201 ] || nok "$name: POST /api/forwards gives 201 (got $CODE: $OUT)"
	fwd_done() {
		api GET /api/status
		echo "$OUT" > "$T_WORK/status.json"
		jcheck forward "$T_WORK/status.json" "$fwd" "$expect" "$rx"
	}
	if until_ok 20 fwd_done; then
		ok "$name: the forward is $expect after $(ms_since "$start") ms: $(cut -c1-200 "$T_WORK/jcheck")"
	else
		nok "$name: the forward is $expect with a message matching /$rx/"
	fi
	check "$name: no bogus external address in status, history, events" \
	    jcheck external "$T_WORK/status.json"
	wait "${CLI_PIDS[@]}"
	if jcheck open "$T_WORK/cli.open.out" "$codes" "$rx" &&
	    cli_ok open "$([ "$codes" = ok ] && echo 0 || echo 1)"; then
		ok "$name: open --json: $CLI_T"
	else
		cli_ok open x
		nok "$name: open --json: $CLI_T: $(head -c 300 "$T_WORK/cli.open.out")"
	fi
	if jcheck ip "$T_WORK/cli.ip.out" && cli_ok ip "$iprc"; then
		ok "$name: ip --json: $CLI_T, no bogus address"
	else
		cli_ok ip x
		nok "$name: ip --json: $CLI_T: $(head -c 300 "$T_WORK/cli.ip.out")"
	fi
	if [ "$maps" = no ]; then
		# (Requests of a round begun before the switch may trail in.)
		check "$name: nothing was mapped through this router" not \
		    eval 'h_seen | grep -Eq "(soap AddPortMapping|natpmp op [12] from).* ext ($((9000 + N))|$((10000 + N)))\$"'
	fi
	api DELETE "/api/forwards/$fwd"
	[ "$CODE" = 204 ] || nok "$name: DELETE the forward (got $CODE)"
	threads=$(ls "/proc/$PKD_PID/task" 2>/dev/null | wc -l)
	[ "$threads" -gt "$MAX_THREADS" ] && MAX_THREADS=$threads
	check "$name: portkeeperd is still running" alive
}

# UPnP misbehaving, NAT-PMP off (ICMP port unreachable at once).
scenario "malformed XML" xml-malformed off 11.22.33.2 failed \
    "description .* has no WANIPConnection or WANPPPConnection service" \
    bad_reply 1 no
scenario "truncated XML" xml-truncated off 11.22.33.2 failed \
    "description .*was cut off before the end of its body" bad_reply 1 no
scenario "Content-Length of 2 GB" huge-length off 11.22.33.2 failed \
    "description .*announces a body of more than 128 KiB" bad_reply 1 no
scenario "an endless description" endless off 11.22.33.2 failed \
    "description .*larger than 128 KiB" bad_reply 1 no
scenario "a description dripping a byte a second" drip off 11.22.33.2 \
    failed "only [0-9]+ bytes of its description arrived in [0-9]+ ms" \
    timeout 1 no
scenario "SOAP answers dripping a byte a second" drip-soap off 11.22.33.2 \
    failed "of its answer to GetExternalIPAddress arrived in [0-9]+ ms" \
    timeout 1 no
scenario "chunked garbage" chunked-garbage off 11.22.33.2 failed \
    "description .*has a chunk larger than 128 KiB" bad_reply 1 no
scenario "SOAP faults" soap-fault off 11.22.33.2 failed \
    "could not forward port [0-9]+/tcp: .*UPnP error 501" refused 0 yes
scenario "a 10 MB description" big-desc off 11.22.33.2 failed \
    "description .*more than 128 KiB" bad_reply 1 no
scenario "a control URL on another host" control-elsewhere off 11.22.33.2 \
    failed 'control URL "http://11\.22\.33\.1:80/ctl/\?\[31m\?.*is not an http:// URL on the gateway' \
    bad_reply 1 no
scenario "an SSDP answer pointing at another host" location-elsewhere off \
    11.22.33.2 failed 'answered the UPnP search with the location "http://192\.168\.77\.20:[0-9]+/rootDesc\.xml\?\[2J", which is not an http:// URL on the gateway' \
    bad_reply 1 no
scenario "UPnP external address 999.1.1.1" ext-ip off 999.1.1.1 failed \
    'misbehaves: it gave "999\.1\.1\.1" as its external address \(UPnP GetExternalIPAddress\), which is not an IPv4 address' \
    bad_reply 1 no
scenario "UPnP external address <script>" ext-ip off '<script>alert(1)</script>' \
    failed 'misbehaves: it gave "<script>alert\(1" as its external address' \
    bad_reply 1 no
scenario "UPnP external address 0.0.0.0" ext-ip off 0.0.0.0 failed \
    "the router reports no external address" no_public_address 0 no
# NAT-PMP misbehaving, UPnP off (no SSDP answer).
scenario "NAT-PMP replies cut short" off short 11.22.33.2 failed \
    "misbehaves: it answered the NAT-PMP request [0-9]+ times, never validly .*(too short|cut short)" \
    bad_reply 1 no
scenario "stale NAT-PMP replies" off stale 11.22.33.2 failed \
    "never validly .*about another internal port \(a stale reply\)" \
    bad_reply 0 yes
scenario "NAT-PMP replies with the wrong opcode" off wrong-opcode 11.22.33.2 \
    failed "never validly .*wrong opcode" bad_reply 1 no
scenario "NAT-PMP success with port 0" off port-zero 11.22.33.2 failed \
    "answered success over NAT-PMP but granted no port" bad_reply 0 yes
scenario "NAT-PMP replies from the wrong source" off wrong-source 11.22.33.2 \
    failed "neither UPnP-IGD nor NAT-PMP answered at the default gateway" \
    no_gateway 1 no
scenario "NAT-PMP external address 0.0.0.0" off ext-ip 0.0.0.0 failed \
    "the router reports no external address" no_public_address 0 no
scenario "NAT-PMP external address 127.0.0.1" off ext-ip 127.0.0.1 failed \
    "misbehaves: it gave 127\.0\.0\.1 as its external address \(NAT-PMP\), a loopback address" \
    bad_reply 1 no
# One protocol dripping does not hold up the other.
scenario "UPnP dripping, NAT-PMP working" drip ok 11.22.33.2 active natpmp \
    ok 0 yes

rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PKD_PID/status" 2>/dev/null)
note "portkeeperd: resident $((RSS0 / 1024)) MB at the start, $((rss / 1024)) MB after the scenarios; at most $MAX_THREADS threads seen"
# 32 MB, or 128 MB with AddressSanitizer's quarantine.
rss_max=32768
ldd "$PKD" 2>/dev/null | grep -q libasan && rss_max=131072
check "its memory stayed bounded (grew by $(( (rss - RSS0) / 1024 )) MB)" \
    [ $((rss - RSS0)) -lt "$rss_max" ]
# The loop, the state writer, and a round's mapper, UPnP call and
# discovery: 5; any more were left behind.
check "no thread was left behind ($MAX_THREADS at most)" [ "$MAX_THREADS" -le 5 ]
check "the hook ran ($(wc -l < "$HOOKLOG" 2>/dev/null) times) and never got a bogus external address" \
    eval '[ -s "$HOOKLOG" ] && ! grep -Eq "ext=(999|0\.0\.0\.0|<|127\.|224\.|11\.22\.33\.66)" "$HOOKLOG"'

# -------------------------------------------------------------------------
# A rogue IGD on the laptop, with the real router back (UPnP only, so that
# forwards must go through UPnP): it answers every M-SEARCH, announces a
# new boot id and a NAT-PMP epoch of 0 every second, and would say yes to
# anything.  Nothing may reach it but the searches.
echo "# a rogue IGD on the laptop" >> "$T_WORK/lat"
h_stop
"$HOMENET" set upnp on > "$T_WORK/set.log" 2>&1 ||
    { sed 's/^/# /' "$T_WORK/set.log"; nok "switch miniupnpd back on"; }
eval "$("$HOMENET" info)"
# "web" was last forwarded by the hostile router's NAT-PMP: the real router
# does not have it, and finding that out is a true mapping_lost.  Let that
# settle first (made again over UPnP), and judge only the events after it.
webviaupnp() {
	api GET /api/status
	echo "$OUT" > "$T_WORK/status.json"
	jcheck forward "$T_WORK/status.json" web active upnp
}
check "before the rogue: web is forwarded by the real router" \
    until_ok 30 webviaupnp
SEQ0=$("$PY" -c 'import json,sys; print(max([e["seq"] for e in json.load(open(sys.argv[1]))["events"]] or [0]))' \
    "$T_WORK/status.json")
h_start laptop --addr "$PK_LAPTOP" --upnp ok --natpmp ok --notify ||
    nok "the rogue IGD starts on the laptop"
ROGUE_LOG=$H_LOG
api POST /api/forwards '{"name":"viarouter","external":9100,"internal":8080}'
viarouter() {
	api GET /api/status
	echo "$OUT" > "$T_WORK/status.json"
	jcheck forward "$T_WORK/status.json" viarouter active upnp
}
check "with a rogue IGD on the LAN the forward is made over UPnP" until_ok 20 viarouter
check "... on the real router" eval \
    '"$HOMENET" mappings | grep -q "dport 9100 dnat ip to $PK_PI:8080"'
pk open 9101 --via upnp --json
check "open --via upnp goes to the router too" json_is 'j["ok"]' True
pk ip --json
check "ip shows the router's control URL, not the rogue's" \
    json_is 'j["upnp"]["control_url"].startswith("http://'"$PK_ROUTER_LAN"':")' True
sleep 3
check "the rogue answered M-SEARCHes from the pi" \
    grep -q "ssdp M-SEARCH from $PK_PI" "$ROGUE_LOG"
check "the rogue got no HTTP request and no NAT-PMP request at all" \
    not grep -Eq "^[0-9.]+ (http|natpmp) " "$ROGUE_LOG"
api GET /api/status
echo "$OUT" > "$T_WORK/status.json"
cat > "$T_WORK/restarts.py" <<'RESTARTS'
import json, sys
seq0 = int(sys.argv[2])
bad = [e for e in json.load(open(sys.argv[1]))["events"]
       if e["seq"] > seq0 and e["event"] in ("router_restarted", "mapping_lost")]
for e in bad:
    print("%s %s: %s" % (e["event"], e.get("forward") or "-", e["detail"]))
sys.exit(1 if bad else 0)
RESTARTS
check "its announcements (epoch 0, new boot ids) were not taken for a router restart" \
    eval '"$PY" "$T_WORK/restarts.py" "$T_WORK/status.json" "$SEQ0" > "$T_WORK/restarts" || { note "$(cat "$T_WORK/restarts")"; false; }'
check "no bogus external address after all that" jcheck external "$T_WORK/status.json"
h_stop
lat_stop

# The API, from the latencies sampled all along.  On this shared machine
# a single sample over 100 ms says little: curl itself waits for a CPU.
# What a daemon whose loop blocks on the router would show is slowness the
# machine does not explain, for seconds on end (the drip sends a byte a
# second, the deadlines are 2.5 s).  So: every sample within 1 s, the
# median of every scenario within 100 ms, and at most 2% of the samples
# slower than 100 ms by more than the machine stalled meanwhile.
cat > "$T_WORK/latsum.py" <<'LATSUM'
import statistics, sys
by, order, rows = {}, [], []
name = "start"
for line in open(sys.argv[1]):
    if line.startswith("#"):
        name = line[2:].strip()
        continue
    code, t, late = line.split()
    t, late = float(t), float(late)
    rows.append((name, code, t, late))
    if name not in by:
        order.append(name)
    by.setdefault(name, []).append(t)
bad = [r for r in rows if r[1] != "200" or r[2] - r[3] >= 0.1]
worst = [r for r in rows if r[1] != "200" or r[2] - r[3] >= 1.0]
medians = [(n, statistics.median(by[n])) for n in order]
slowmed = [m for m in medians if m[1] >= 0.1]
print("%d requests, slowest %.3f s, %d over 100 ms, %d of them not "
      "explained by the machine stalling meanwhile%s; highest median %.3f s "
      "(%s)" % (len(rows), max(r[2] for r in rows),
                sum(r[2] >= 0.1 for r in rows), len(bad),
                "".join(" [%s: %s, %.3f s, stall %.3f s]" % r for r in bad),
                max(m[1] for m in medians),
                max(medians, key=lambda m: m[1])[0]))
ok = len(rows) >= 50 and not worst and not slowmed and \
    len(bad) <= len(rows) * 0.02
sys.exit(0 if ok else 1)
LATSUM
"$PY" "$T_WORK/latsum.py" "$T_WORK/lat" > "$T_WORK/lat.sum"
lat_rc=$?
note "GET /api/status: $(cat "$T_WORK/lat.sum")"
check "the API answered within 100 ms throughout, machine stalls aside" [ "$lat_rc" = 0 ]

start=$(date +%s%N)
kill -TERM "$PKD_PID"; wait "$PKD_PID"; rc=$?
note "portkeeperd stopped in $(ms_since "$start") ms"
check "portkeeperd stops cleanly on SIGTERM, with no round left hanging" \
    eval '[ "$rc" = 0 ] && [ "$(ms_since "$start")" -lt 3000 ]'
check "no sanitizer report from the daemon or the CLI" not grep -qE \
    "AddressSanitizer|LeakSanitizer|runtime error:" "$SHM/pkd.log" \
    "$P_LOG" "$T_WORK"/cli.*.err "$T_WORK/err"
note "the whole test took $(( $(ms_since "$T0") / 1000 )) s"
if [ "$T_FAILED" != 0 ]; then
	sed 's/^/# partial: /' "$P_LOG" | tail -15
	sed 's/^/# /' "$SHM/pkd.log" | tail -40
	sed 's/^/# /' "$T_WORK/hostile.err" 2>/dev/null | tail -10
fi
exit $T_FAILED

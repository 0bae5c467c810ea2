#!/bin/bash
# portkeeper doctor and probe-server on the simulated home network: every
# verdict reproduced (with the probe server on the inet host), the probe
# server's refusal to connect anywhere but the requester and its rate limit,
# exit statuses, the report for people, the audit, signals, and never a
# probe mapping left on the router after a run.
. "$(dirname "$0")/lib.sh"
# The distribution's python3 for lib.sh's json helper: a version manager's
# shim first in PATH can cost a second a call, and this script makes many.
PATH=/usr/bin:$PATH
require_netns
net_up

PORT=8770

# probe_start PORT [ARGS...]: a probe server on the inet host.
probe_start() {
	local port=$1 i
	shift
	in_ns inet "$PORTKEEPER" probe-server --listen "0.0.0.0:$port" "$@" \
	    > "$T_WORK/probe-$port.log" 2>&1 &
	for i in $(seq 50); do
		in_ns inet curl -s --max-time 1 "http://127.0.0.1:$port/" 2>/dev/null |
		    grep -q "portkeeper probe" && return 0
		sleep 0.1
	done
	return 1
}

# post HOST PORT BODY [CURL_ARGS...]: POST /probe from HOST; sets OUT (the
# body) and CODE (the HTTP status).
post() {
	local h=$1 port=$2 body=$3
	shift 3
	OUT=$(in_ns "$h" curl -s --max-time 5 -o - -w '\n%{http_code}' \
	    -H 'Content-Type: application/json' "$@" --data "$body" \
	    "http://$PK_INET:$port/probe" 2>/dev/null)
	CODE=${OUT##*$'\n'}
	OUT=${OUT%$'\n'*}
}

# The forwards the pi holds on purpose; a doctor run must leave exactly
# these (its probe mapping gone).
PI_FWDS=""
pi_forwards() {
	local out
	out=$(in_ns pi "$PORTKEEPER" list --json --via upnp 2>/dev/null)
	python3 -c 'import json,sys
j = json.loads(sys.argv[1])
print(" ".join(sorted("%d/%s" % (m["external_port"], m["protocol"])
    for m in j.get("mappings", []) if m["this_host"])))' "$out"
}
expect_fwds() { PI_FWDS=$(printf '%s\n' $PI_FWDS "$@" | LC_ALL=C sort | tr '\n' ' ' | sed 's/^ *//; s/ *$//'); }

# doctor ARGS...: portkeeper doctor on the pi (OUT, ERR, RC); then checks
# that no probe mapping is left behind.
doctor() {
	local o e r left
	pk doctor "$@"
	o=$OUT e=$ERR r=$RC
	left=$(pi_forwards)
	if [ "$left" = "$PI_FWDS" ]; then
		ok "doctor $*: no probe mapping left"
	else
		nok "doctor $*: left on the router: '$left' (expected '$PI_FWDS')"
	fi
	OUT=$o ERR=$e RC=$r
}

verdict_is() { json_is 'j["verdict"]' "$1"; }
status_of() { json '[c["status"] + (":" + c["reason"] if "reason" in c else "") for c in j["checks"] if c["id"] == "'"$1"'"][0]'; }
summary_has() { [[ $(json 'j["summary"]') == *"$1"* ]]; }

check "a probe server runs on the inet host" probe_start $PORT --rate 1000
URL=http://$PK_INET:$PORT
check "the pi serves a web page on 8080" http_start 8080
pk open 80:8080 --json
check "the pi forwards 80 to 8080" json_is 'j["ok"]' True
expect_fwds 80/tcp

# ---------------------------------------------------------------- ok
doctor 80 --probe "$URL" --json
check "ok: everything answers" verdict_is ok
check "... every check passes" json_is '[c["status"] for c in j["checks"]]' \
    "['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pass']"
check "... the contract's fields" json_is \
    'j["port"], j["protocol"], j["internal_ip"], j["internal_port"], j["external_ip"], [c["id"] for c in j["checks"]]' \
    "(80, 'tcp', '$PK_PI', 8080, '$PK_WAN', ['gateway', 'external_ip', 'internal_ip', 'listener', 'mapping', 'hairpin', 'external'])"
check "... the probe saw the router's address" json_is 'j["source_seen"]' "$PK_WAN"
check "... its probe mapping was removed" json_is 'j["probe_mapping"]["removed"]' True
check "... the router object of its UPnP description" json_is \
    'sorted(j["router"].keys()), type(j["router"]["quirks"]).__name__, j["router_advice"]' \
    "(['label', 'manufacturer', 'model', 'name', 'notes', 'quirks', 'service'], 'list', None)"
check "... exit status 0" [ "$RC" = 0 ]
note "doctor 80 took $(json 'j["elapsed_ms"]') ms"

doctor 80 --probe "$URL"
check "the report for people ends with the verdict and what to do" eval \
    '[ "$RC" = 0 ] && [[ $OUT == *"verdict: ok"* ]] && [[ $OUT == *"  pass  hairpin "* ]]'
check "... in lines of at most 78 characters" eval '[ -z "$(awk "length > 78" <<< "$OUT")" ]'
check "... and names the router and its protocol" eval 'grep -q "^  router: .*UPnP-IGD" <<< "$OUT"'
note "$(sed -n '1,3p' <<< "$OUT")"

# ---------------------------------------------------------------- hairpin
"$HOMENET" set hairpin off
doctor 80 --probe "$URL" --json
check "hairpin off: hairpin_unsupported" verdict_is hairpin_unsupported
check "... the probe shows the outside works" eval '[ "$(status_of external)" = pass ]'
check "... the hairpin check fails" eval '[ "$(status_of hairpin)" = fail:no_loopback ]'
check "... the summary says it works from the internet" summary_has "works from the internet"
check "... and gives the fixes" eval 'summary_has "$PK_PI:8080" && summary_has "address=/name.example/$PK_PI" && summary_has "hosts file" && summary_has "NAT loopback"'
check "... exit status 1" [ "$RC" = 1 ]
doctor 80 --probe "$URL"
check "... the report for people says so too" eval \
    '[[ $OUT == *"verdict: hairpin_unsupported"* ]] && [[ $OUT == *"  fail  hairpin "* ]] && [ -z "$(awk "length > 78" <<< "$OUT")" ]'

# The classic false positive: the router answers on its own port 80.
in_ns router python3 -m http.server 80 --bind "$PK_WAN" --directory "$T_WORK" > /dev/null 2>&1 &
ROUTER_WEB=$!
for i in $(seq 50); do in_ns router ss -Hltn "sport = :80" | grep -q LISTEN && break; sleep 0.1; done
check "the router's own web server answers the pi at $PK_WAN:80" \
    in_ns pi curl -s -o /dev/null --max-time 2 "http://$PK_WAN:80/"
doctor 80 --json
check "... doctor is not fooled: hairpin_unsupported" verdict_is hairpin_unsupported
check "... and says the router itself answered" eval \
    '[ "$(status_of hairpin)" = fail:router_answers ] && summary_has "the router itself"'
kill "$ROUTER_WEB" 2>/dev/null; wait "$ROUTER_WEB" 2>/dev/null

# Signals in the middle of a run (hairpin off: its tries take a second).
for sig in TERM INT; do
	# Background jobs of a script start with SIGINT ignored; undo that.
	# ip and python exec, so $! becomes the doctor's own PID; signal it
	# once it is the doctor, in the middle of its second of hairpin tries.
	ip netns exec "$PK_NET-pi" /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$PORTKEEPER" doctor 80 --json > "$T_WORK/sig.out" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ "$(readlink "/proc/$pid/exe")" = "$(readlink -f "$PORTKEEPER")" ] && break
		sleep 0.02
	done
	sleep 0.4
	kill -"$sig" "$pid"
	wait "$pid"
	rc=$?
	check "SIG$sig mid-run: the doctor dies of it ($rc)" eval \
	    '[ "$rc" = $((128 + $(kill -l "$sig"))) ]'
	left=$(pi_forwards)
	check "... and left no probe mapping ('$left')" [ "$left" = "$PI_FWDS" ]
done
"$HOMENET" set hairpin on

# ---------------------------------------------------------------- listener
pk open 81:8081
expect_fwds 81/tcp
doctor 81 --probe "$URL" --json
check "nothing on 8081: no_listener" verdict_is no_listener
check "... the listener check fails (refused)" eval '[ "$(status_of listener)" = fail:refused ]'
check "... the mapping is there" eval '[ "$(status_of mapping)" = pass ]'
check "... exit status 1" [ "$RC" = 1 ]
doctor 81 --internal 8080 --probe "$URL" --json
check "--internal 8080 for a forward to 8081: no_mapping, other port" eval \
    'verdict_is no_mapping && [ "$(status_of mapping)" = fail:other_port ]'

# ---------------------------------------------------------------- mapping
doctor 8082 --internal 8080 --probe "$URL" --json
check "no forward of 8082: no_mapping" verdict_is no_mapping
check "... says how to create it" summary_has "portkeeper open 8082:8080"

pk_on laptop open 9000
doctor 9000 --internal 8080 --probe "$URL" --json
check "the laptop holds 9000: mapping_conflict" verdict_is mapping_conflict
check "... naming the laptop" summary_has "$PK_LAPTOP:9000"
check "... exit status 1" [ "$RC" = 1 ]

# ---------------------------------------------------------------- blocked
"$HOMENET" block 80
doctor 80 --probe "$URL" --json
check "the router drops port 80 from the WAN: external_blocked" verdict_is external_blocked
check "... mapping and listener pass, external fails" eval \
    '[ "$(status_of mapping)$(status_of listener)$(status_of external)" = passpassfail:unreachable ]'
check "... other ports get in, so port 80 itself is blocked" summary_has "port 80 itself is blocked"
"$HOMENET" unblock 80
doctor 80 --probe "$URL" --json
check "unblocked: ok again" verdict_is ok

# ---------------------------------------------------------------- DHCP
in_ns pi ip addr change "$PK_PI/24" dev eth0 valid_lft 3600 preferred_lft 3600
doctor 80 --json
check "a leased address: internal_ip warns (dhcp)" eval '[ "$(status_of internal_ip)" = warn:dhcp ]'
check "... the verdict is still ok, the summary says to reserve it" eval \
    'verdict_is ok && summary_has "DHCP reservation" && [ "$RC" = 0 ]'
in_ns pi ip addr change "$PK_PI/24" dev eth0 valid_lft forever preferred_lft forever
doctor 80 --json
check "a static address again: internal_ip passes" eval '[ "$(status_of internal_ip)" = pass ]'

# ---------------------------------------------------------------- UDP
pk open 5000/udp
expect_fwds 5000/udp
doctor 5000/udp --probe "$URL" --json
check "UDP, nothing on the port: no_listener" verdict_is no_listener
check "... portkeeper held the port and the outside and hairpin tests got through" eval \
    '[ "$(status_of external)$(status_of hairpin)" = passpass ]'
in_ns pi python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("'"$PK_PI"'", 5000))
time.sleep(30)' &
UDP_PID=$!
for i in $(seq 50); do in_ns pi ss -Hlun "sport = :5000" | grep -q . && break; sleep 0.1; done
doctor 5000/udp --probe "$URL" --json
check "UDP held by a program: not verifiable, verdict ok" eval \
    'verdict_is ok && [ "$(status_of listener)" = skip:not_verifiable ] && [ "$(status_of external)" = skip:not_verifiable ]'
kill "$UDP_PID" 2>/dev/null; wait "$UDP_PID" 2>/dev/null

# ---------------------------------------------------------------- config
cat > "$T_WORK/pk.conf" <<EOF
[portkeeper]
probe = $URL
[forward web]
external = 80
internal = 8080
EOF
doctor 80 -c "$T_WORK/pk.conf" --json
check "probe = URL in the configuration is used" json_is \
    'j["verdict"], j["probe"], j["forward"], j["internal_port"]' "('ok', '$URL', 'web', 8080)"

# ---------------------------------------------------------------- audit
doctor -c "$T_WORK/pk.conf" --json
check "audit: the configured forward is in place" json_is \
    '[(f["name"], f["verdict"]) for f in j["forwards"]]' "[('web', 'ok')]"
check "... the router's table, each entry judged" json_is \
    'sorted((e["external_port"], e["protocol"], e["kind"]) for e in j["router_table"])' \
    "[(80, 'tcp', 'managed'), (81, 'tcp', 'unmanaged'), (5000, 'udp', 'unmanaged'), (9000, 'tcp', 'other_host')]"
check "... verdict ok, exit status 0" eval 'verdict_is ok && [ "$RC" = 0 ]'
cat >> "$T_WORK/pk.conf" <<EOF
[forward ssh]
external = 2222
internal = 22
EOF
doctor -c "$T_WORK/pk.conf"
check "audit with a forward that is missing: exit status 1, named" eval \
    '[ "$RC" = 1 ] && [[ $OUT == *"ssh (2222/tcp): no_listener"* ]] && [[ $OUT == *"unmanaged"* ]]'

# Forwards added in the web UI live in state_dir/forwards.conf: the audit
# knows them as the daemon's, not as unmanaged (issue 13, item 10).
mkdir -p "$T_WORK/state"
cat > "$T_WORK/pkw.conf" <<EOF
[portkeeper]
probe = $URL
state_dir = $T_WORK/state
[forward web]
external = 80
internal = 8080
EOF
printf '[forward fromweb]\nexternal = 81\n' > "$T_WORK/state/forwards.conf"
doctor -c "$T_WORK/pkw.conf" --json
check "audit: a forward added in the web UI is managed, not unmanaged" json_is \
    '[(e["kind"], "web UI" in e["detail"]) for e in j["router_table"] if e["external_port"] == 81]' \
    "[('managed', True)]"
mv "$T_WORK/state/forwards.conf" "$T_WORK/fwd.conf"
mkdir "$T_WORK/state/forwards.conf"
doctor -c "$T_WORK/pkw.conf" --json
check "... and when forwards.conf cannot be read, the audit says so" \
    eval '[[ $ERR == *"forwards added in the web UI are not known"*forwards.conf* ]]'
rmdir "$T_WORK/state/forwards.conf"

# ---------------------------------------------------------------- usage
for args in "abc" "80 81" "80/sctp" "80 --probe ftp://x" "80 --probe https://x" \
    "--internal 22" "80 --internal 0" "80 -c /nonexistent.conf" "80:81 --internal 82"; do
	# shellcheck disable=SC2086 # the argument lists are split on purpose
	pk doctor $args
	check "doctor $args: usage error, exit status 2" eval '[ "$RC" = 2 ] && [ -n "$ERR" ]'
done
pk doctor 80 --probe https://x --json
check "... as JSON with --json" json_is 'j["error"]["code"], "https" in j["error"]["message"]' "('usage', True)"
pk probe-server
check "probe-server without --listen: usage error" eval '[ "$RC" = 2 ] && [[ $ERR == *--listen* ]]'
pk probe-server --listen 1.2.3.4
check "probe-server --listen without a port: usage error" [ "$RC" = 2 ]

# ---------------------------------------------------------------- probe server
post pi $PORT '{"port":80,"host":"'"$PK_INET"'"}'
check "the probe server refuses to be told an address (400, field named)" eval \
    '[ "$CODE" = 400 ] && json_is "j[\"field\"]" host'
post pi $PORT '{"port":80,"address":"'"$PK_LAPTOP"'","protocol":"tcp"}'
check "... whatever the field is called" eval '[ "$CODE" = 400 ] && json_is "j[\"field\"]" address'
post pi $PORT '{"port":80'
check "... bad JSON: 400" [ "$CODE" = 400 ]
post pi $PORT '{"port":99999}'
check "... a bad port: 400 naming port" eval '[ "$CODE" = 400 ] && json_is "j[\"field\"]" port'
post pi $PORT '{"port":5000,"protocol":"udp"}'
check "... UDP without a token: 400 naming token" eval '[ "$CODE" = 400 ] && json_is "j[\"field\"]" token'
post pi $PORT '{"port":80}'
check "from the pi: 200, it connected back to the router's address" eval \
    '[ "$CODE" = 200 ] && json_is "j[\"reachable\"], j[\"source_seen\"]" "(True, '"'$PK_WAN'"')"'
# The inet host asks, claiming to be the router: the probe still connects
# back to the inet host itself, where nothing listens on 80.
post inet $PORT '{"port":80}' -H "X-Forwarded-For: $PK_WAN" -H "Forwarded: for=$PK_WAN"
check "a forwarded-for header is ignored: only the requester is probed" eval \
    '[ "$CODE" = 200 ] && json_is "j[\"reachable\"], j[\"source_seen\"]" "(False, '"'$PK_INET'"')"'

check "a second probe server, 3 probes a minute" probe_start 8771 --rate 3
codes=""
for i in 1 2 3; do post pi 8771 '{"port":80}'; codes="${codes:-}$CODE "; done
post laptop 8771 '{"port":80}'
check "rate limit: 3 from the home network's address, then 429" eval \
    '[ "$codes" = "200 200 200 " ] && [ "$CODE" = 429 ]'
post inet 8771 '{"port":80}'
check "... another source is not affected" [ "$CODE" = 200 ]
doctor 80 --probe "http://$PK_INET:8771" --json
check "doctor with a rate-limited probe server: external warns, says why" eval \
    '[ "$(status_of external)" = warn:probe_failed ] && [[ $(json "[c[\"detail\"] for c in j[\"checks\"]][6]") == *"rate limited"* ]]'
check "... and the verdict rests on the rest: ok" verdict_is ok

# ---------------------------------------------------------------- CGNAT
net_up --cgnat
PI_FWDS=""
doctor 80 --json
check "a WAN in 100.64/10: cgnat" verdict_is cgnat
check "... says what can be done" eval 'summary_has "carrier-grade NAT" && summary_has "public IPv4 address" && summary_has "IPv6"'
check "... exit status 1" [ "$RC" = 1 ]

"$HOMENET" set upnp off
"$HOMENET" set natpmp off
doctor 80 --timeout 1000 --json
check "neither UPnP nor NAT-PMP: no_gateway" verdict_is no_gateway
check "... exit status 1" [ "$RC" = 1 ]

# ---------------------------------------------------------------- double NAT
net_up --double-nat
PI_FWDS=""
check "a probe server on the inet host, behind the isp's NAT" probe_start $PORT --rate 1000
check "the pi serves a web page on 8080" http_start 8080
pk open 80:8080
expect_fwds 80/tcp
doctor 80 --probe "$URL" --json
check "another NAT in front of the router: double_nat" verdict_is double_nat
check "... the router says $PK_WAN, the probe saw $PK_UPSTREAM" json_is \
    'j["external_ip"], j["source_seen"]' "('$PK_WAN', '$PK_UPSTREAM')"
check "... the summary names both" eval 'summary_has "$PK_WAN" && summary_has "$PK_UPSTREAM"'
exit $T_FAILED

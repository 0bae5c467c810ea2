#!/bin/bash
# portkeeper doctor over IPv6 (issue 16) on the home it is for: IPv4 behind
# carrier-grade NAT (the router's WAN in 100.64/10), IPv6 routed
# (homenet.sh up --ipv6 --cgnat), with a probe server on the internet host
# reached over IPv6.
#
# - with the pi's server on [::]:8080 and a pinhole open, "doctor 8080"
#   says ipv6_only (exit status 1), and its JSON names every check;
# - -4 gives IPv4's verdict alone (cgnat), -6 IPv6's alone (ok);
# - the server bound to 0.0.0.0 only: ipv6_no_listener, "listen on [::]";
# - no pinhole: ipv6_blocked;
# - the router answering neither PCP nor UPnP over IPv6:
#   ipv6_no_pinhole_service;
# - the daemon's pinhole read from its control socket (a stand-in serving
#   the status document): failed is ipv6_pinhole_refused, active passes,
#   none is "skipped: the daemon keeps no pinhole for this forward";
# - a forward whose IPv6 port differs from its external port: a warning
#   that visitors over IPv6 use INT;
# - the audit's IPv6 checks, ipv6_exposure among them.
. "$(dirname "$0")/lib.sh"
PATH=/usr/bin:$PATH
require_netns

net_up --ipv6 --cgnat --no-hairpin
PORT=8771
in_ns inet "$PORTKEEPER" probe-server --listen "[::]:$PORT" --rate 1000 \
    > "$T_WORK/probe.log" 2>&1 &
PROBE_PID=$!
for i in $(seq 50); do
	in_ns inet curl -s --max-time 1 "http://[::1]:$PORT/" 2>/dev/null |
	    grep -q "portkeeper probe" && break
	sleep 0.1
done
URL="http://[$PK_INET6]:$PORT"
note "pi $PK_PI6, probe server $URL, IPv4 WAN $PK_WAN (carrier-grade NAT)"

cat > "$T_WORK/pk.conf" <<CONF
[portkeeper]
state_dir = $T_WORK/state
socket = $T_WORK/api.sock
ipv6 = auto

[forward web]
external = 8080
family = both

[forward alt]
external = 8090
internal = 8080
family = both
CONF
# Forwards of one family, apart so that the audit above sees only both.
{ sed -n '1,/^ipv6 = /p' "$T_WORK/pk.conf"; cat <<CONF; } > "$T_WORK/fam.conf"

[forward six]
external = 9000
family = 6

[forward four]
external = 9001
family = 4
CONF
CONF_ARGS=(-c "$T_WORK/pk.conf" --probe "$URL")

# srv_start BIND: the pi's page on BIND:8080 (lib.sh's http_start, with
# the server's own PID in SRV_PID so that srv_stop ends it and not a shell).
srv_start() {
	T_TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$T_WORK/www"
	echo "$T_TOKEN" > "$T_WORK/www/token"
	ip netns exec "$PK_NET-pi" python3 -m http.server 8080 --bind "$1" \
	    --directory "$T_WORK/www" > /dev/null 2>&1 &
	SRV_PID=$!
	until_ok 5 reaches pi "$PK_PI" 8080
}
srv_stop() { kill "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; }

status_of() { json '[c["status"] + (":" + c["reason"] if "reason" in c else "") for c in j["ipv6"]["checks"] if c["id"] == "'"$1"'"][0]'; }
summary_has() { [[ $(json 'j["summary"]') == *"$1"* ]]; }

check "the pi serves a page on [::]:8080" srv_start ::
pk open 8080 -6 --json
check "a pinhole for 8080 (portkeeper open 8080 -6)" json_is 'j["ok"]' True
check "... the internet host reaches the pi over IPv6" \
    until_ok 2 reaches inet "[$PK_PI6]" 8080

# ------------------------------------------------------------ ipv6_only
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "ipv6_only: works over IPv6 while IPv4 is behind carrier-grade NAT" \
    json_is 'j["verdict"]' ipv6_only
check "... exit status 1" [ "$RC" = 1 ]
check "... IPv4's own verdict is cgnat" json_is 'j["ipv4_verdict"]' cgnat
check "... the JSON names each IPv6 check" json_is \
    '[c["id"] for c in j["ipv6"]["checks"]]' \
    "['ipv6_address', 'ipv6_route', 'pinhole_service', 'ipv6_listener', 'pinhole', 'ipv6_external']"
check "... and IPv4's seven as before" json_is 'len(j["checks"])' 7
check "... every IPv6 check passes" json_is \
    '[c["status"] for c in j["ipv6"]["checks"]]' \
    "['pass', 'pass', 'pass', 'pass', 'pass', 'pass']"
check "... for the pi's stable address, a static one" json_is \
    '(j["ipv6"]["address"], j["ipv6"]["kind"], j["ipv6"]["port"])' \
    "('$PK_PI6', 'static', 8080)"
check "... PCP answers over IPv6" json_is 'j["ipv6"]["pinhole_service"]["pcp"]' True
check "... the probe server saw the pi's own address" json_is \
    'j["ipv6"]["source_seen"]' "$PK_PI6"
check "... the pinhole is the one portkeeper open -6 made" eval \
    '[[ $(status_of pinhole) == pass ]] && [[ $(json "[c[\"detail\"] for c in j[\"ipv6\"][\"checks\"] if c[\"id\"] == \"pinhole\"][0]") == *"open -6"* ]]'
check "... the summary says to publish AAAA" summary_has "AAAA"
check "... and what IPv4-only visitors need" eval \
    'summary_has "only IPv4" && summary_has "relay" && summary_has "tunnel"'

pk doctor 8080 "${CONF_ARGS[@]}"
check "the report for people lists the IPv6 checks and the verdict" eval \
    '[[ $OUT == *"  pass  pinhole_service "* ]] && [[ $OUT == *"verdict: ipv6_only"* ]]'
check "... in lines of at most 78 characters" eval '[ -z "$(awk "length > 78" <<< "$OUT")" ]'

pk doctor 8080 -4 "${CONF_ARGS[@]}" --json
check "-4: IPv4 alone, today's verdict cgnat and no ipv6 part" json_is \
    '(j["verdict"], "ipv6" in j)' "('cgnat', False)"
pk doctor 8080 -6 "${CONF_ARGS[@]}" --json
check "-6: IPv6 alone says ok" json_is '(j["verdict"], j["ok"])' "('ok', True)"
check "... exit status 0" [ "$RC" = 0 ]
check "... IPv4's checks skipped" json_is \
    'sorted(set(c["status"] for c in j["checks"]))' "['skip']"
pk doctor 8080 -6 "${CONF_ARGS[@]}"
check "-6 for people: the IPv6 checks alone" eval \
    '[ "$RC" = 0 ] && [[ $OUT == *"  pass  ipv6_external "* ]] && [[ $OUT != *"  gateway "* ]] && [[ $OUT == *"verdict: ok"* ]]'
pk doctor 8080 -4 -6 "${CONF_ARGS[@]}"
check "-4 with -6 is a usage error" [ "$RC" = 2 ]
pk doctor 9000 -c "$T_WORK/fam.conf" --probe "$URL" --json
check "a family = 6 forward: IPv4 is not checked" json_is \
    '(j["ipv4_verdict"], sorted(set(c["status"] for c in j["checks"])), j["ipv6"]["counts"])' \
    "('skipped', ['skip'], True)"
pk doctor 9001 -c "$T_WORK/fam.conf" --probe "$URL" --json
check "a family = 4 forward: IPv6 is a note that says so" json_is \
    '(j["verdict"], j["ipv6"]["counts"], "family = 4" in j["ipv6"]["note"])' \
    "('cgnat', False, True)"
pk doctor 8080 -6 --probe "http://$PK_INET:$PORT" --json
check "a probe URL with an IPv4 address: ipv6_external says to give an IPv6 one" json_is \
    '[c["status"] + ":" + str("IPv4 address" in c["detail"]) for c in j["ipv6"]["checks"] if c["id"] == "ipv6_external"][0]' \
    "skip:True"

# ------------------------------------------------------------ a port that differs
pk doctor 8090 "${CONF_ARGS[@]}" --json
check "a forward 8090 -> 8080: IPv6 is checked on 8080" json_is \
    '(j["ipv6"]["port"], j["verdict"])' "(8080, 'ipv6_only')"
check "... with a warning that visitors over IPv6 use 8080" eval \
    '[[ $(json "j[\"ipv6\"][\"warning\"]") == *"use port 8080, not 8090"* ]] && summary_has "use port 8080"'

# ------------------------------------------------------------ the audit
pk doctor "${CONF_ARGS[@]}" --json
check "the audit names its IPv6 checks, ipv6_exposure among them" json_is \
    '[c["id"] for c in j["ipv6"]["checks"]]' \
    "['ipv6_address', 'ipv6_route', 'pinhole_service', 'ipv6_exposure']"
check "... ipv6_exposure warns that any LAN device may open pinholes" json_is \
    '[c["status"] + ":" + c["reason"] for c in j["ipv6"]["checks"] if c["id"] == "ipv6_exposure"][0]' \
    "warn:open_to_all"
check "... each forward's IPv6 listener and pinhole" json_is \
    '[(f["name"], [c["id"] for c in f["checks"]]) for f in j["ipv6"]["forwards"]][0]' \
    "('web', ['ipv6_listener', 'pinhole'])"
check "... and the verdict: ipv6_only" json_is 'j["verdict"]' ipv6_only

# ------------------------------------------------------------ ipv6_no_listener
srv_stop
check "the pi's server now listens on 0.0.0.0:8080 only" srv_start 0.0.0.0
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "bound to 0.0.0.0 only: ipv6_no_listener" json_is 'j["verdict"]' ipv6_no_listener
check "... exit status 1" [ "$RC" = 1 ]
check "... the listener check says to listen on [::]" eval \
    '[[ $(status_of ipv6_listener) == fail:ipv4_only ]] && summary_has "listen on [::]"'
srv_stop
check "the pi serves on [::]:8080 again" srv_start ::

# ------------------------------------------------------------ ipv6_blocked
pk close 8080 -6
check "no pinhole: the internet host cannot get in" not reaches inet "[$PK_PI6]" 8080
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "no pinhole: ipv6_blocked" json_is 'j["verdict"]' ipv6_blocked
check "... the pinhole check says nothing keeps one" eval \
    '[[ $(status_of pinhole) == skip:not_kept ]] && summary_has "portkeeper open 8080 -6"'

# ------------------------------------------------------------ the daemon's pinhole
# A stand-in for portkeeperd's control socket, serving the status document
# in $T_WORK/status.json, with the per-forward "ipv6" object of issue 16.
cat > "$T_WORK/fakepkd.py" <<'PY'
import os, socketserver, sys
class H(socketserver.StreamRequestHandler):
    def handle(self):
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        body = open(sys.argv[2], "rb").read()
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body) + body)
if os.path.exists(sys.argv[1]):
    os.unlink(sys.argv[1])
socketserver.UnixStreamServer(sys.argv[1], H).serve_forever()
PY
fake_status() {
	printf '{"forwards":[{"name":"web","state":"failed","ipv6":%s}]}' "$1" \
	    > "$T_WORK/status.json"
}
fake_status '{"state":"failed","method":null,"expires_in":null,"error":{"code":"pinhole_refused","message":"the router does not let this device open pinholes (PCP NOT_AUTHORIZED)"}}'
"$PY" "$T_WORK/fakepkd.py" "$T_WORK/api.sock" "$T_WORK/status.json" &
FAKE_PID=$!
until_ok 5 test -S "$T_WORK/api.sock"
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "the daemon's pinhole failed: ipv6_pinhole_refused" json_is \
    'j["verdict"]' ipv6_pinhole_refused
check "... the pinhole check quotes the daemon's error" eval \
    '[[ $(status_of pinhole) == fail:pinhole_failed ]] && summary_has "NOT_AUTHORIZED"'
fake_status '{"state":"active","method":"pcp","expires_in":3600,"error":null}'
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "the daemon keeps the pinhole: the pinhole check passes" eval \
    '[[ $(status_of pinhole) == pass ]] && [[ $(json "[c[\"detail\"] for c in j[\"ipv6\"][\"checks\"] if c[\"id\"] == \"pinhole\"][0]") == *"portkeeperd keeps"* ]]'
printf '{"forwards":[{"name":"web","state":"failed"}]}' > "$T_WORK/status.json"
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "a daemon without IPv6 pinholes: skipped, and says so" eval \
    '[[ $(status_of pinhole) == skip:not_kept ]] && [[ $(json "[c[\"detail\"] for c in j[\"ipv6\"][\"checks\"] if c[\"id\"] == \"pinhole\"][0]") == *"the daemon keeps no pinhole for this forward"* ]]'
kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null

# ------------------------------------------------------------ ipv6_no_pinhole_service
"$HOMENET" set pcp off > /dev/null 2>&1
"$HOMENET" set upnp off > /dev/null 2>&1
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "neither PCP nor UPnP over IPv6: ipv6_no_pinhole_service" json_is \
    'j["verdict"]' ipv6_no_pinhole_service
check "... the check says where to allow it" eval \
    '[[ $(status_of pinhole_service) == fail:no_pinhole_service ]] && summary_has "Permit independent port sharing"'
"$HOMENET" set upnp on > /dev/null 2>&1
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "PCP off, UPnP IGD:2 on: the service is UPnP's" json_is \
    '(j["ipv6"]["pinhole_service"]["pcp"], j["ipv6"]["pinhole_service"]["upnp"], j["verdict"])' \
    "(False, True, 'ipv6_blocked')"
pk doctor 80 -6 --probe "$URL" --json
check "... and port 80 there: ipv6_pinhole_refused (UPnP refuses ports below 1024)" eval \
    'json_is "j[\"verdict\"]" ipv6_pinhole_refused && summary_has "1024"'
"$HOMENET" set pcp on > /dev/null 2>&1

# ------------------------------------------------------------ ipv6_no_address
sed -i "s/^ipv6 = auto/ipv6 = auto\nipv6_address = ${PK_PI6%::*}::99/" "$T_WORK/pk.conf"
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "ipv6_address names an address this host lacks: ipv6_no_address" eval \
    'json_is "j[\"verdict\"]" ipv6_no_address && [[ $(status_of ipv6_address) == fail:no_address ]]'
sed -i '/^ipv6_address = /d' "$T_WORK/pk.conf"

# ------------------------------------------------------------ ipv6 = off
sed -i 's/^ipv6 = auto/ipv6 = off/' "$T_WORK/pk.conf"
pk doctor 8080 "${CONF_ARGS[@]}" --json
check "ipv6 = off: IPv6 is a note, the verdict IPv4's" json_is \
    '(j["verdict"], j["ipv6"]["counts"], j["ipv6"]["verdict"], "ipv6 = off" in j["ipv6"]["note"])' \
    "('cgnat', False, None, True)"

srv_stop
kill "$PROBE_PID" 2>/dev/null
exit $T_FAILED

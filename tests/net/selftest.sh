#!/bin/bash
# selftest.sh - check that homenet.sh builds a working simulated home network.
#
# Uses its own network name (default "pkselftest", and "<name>2" for the
# two-networks check) so that it never tears down a network somebody else
# is using.  Prints one line per check; exits 1 if any check failed.  Takes
# about a minute, most of it upnpc's 2 s SSDP discovery.

set -eu

HERE=$(dirname "$(readlink -f "$0")")
H=$HERE/homenet.sh
PROBE=$HERE/probe.py
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3
export PK_NET=${PK_NET:-pkselftest}
OTHER=${PK_NET}2
WWW=$(mktemp -d /tmp/pkselftest-www.XXXXXX)
echo "portkeeper homenet self test" >"$WWW/index.html"

cleanup() {
	"$H" down || true
	PK_NET=$OTHER "$H" down || true
	rm -rf "$WWW"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The output of checked commands goes to $OUT and is only shown when the
# check fails; notes and results go to fd 3, the real stdout.
OUT=$WWW/check.log
exec 3>&1
FAILED=0
CHECKS=0
note() { echo "       $*" >&3; }
section() { printf '\n## %s\n' "$*" >&3; }

# check DESCRIPTION CMD...: run CMD, report.
check() {
	local d=$1
	shift
	CHECKS=$((CHECKS + 1))
	if "$@" >"$OUT" 2>&1; then
		echo "ok - $d" >&3
	else
		FAILED=$((FAILED + 1))
		echo "not ok - $d" >&3
		tail -n 15 "$OUT" | sed 's/^/     | /' >&3
	fi
}

# retry N CMD...: run CMD up to N times, 100 ms apart (the hairpin sync
# helper needs a moment to mirror a new mapping).
retry() {
	local n=$1
	shift
	for _ in $(seq "$n"); do
		if "$@"; then return 0; fi
		sleep 0.1
	done
	return 1
}

# differs A B: A is non-empty and not B.  below N MAX: N is a number < MAX.
differs() { [ -n "$1" ] && [ "$1" != "$2" ]; }
below() { [ -n "$1" ] && [ "$1" -lt "$2" ]; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# http HOST URL: sets HTTP_CODE to the status HOST gets for URL ("000" on
# failure) and CURL_RC to curl's exit status (7: refused, 28: timeout).
http() {
	CURL_RC=0
	HTTP_CODE=$("$H" exec "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$2") || CURL_RC=$?
}
reaches() { http "$1" "$2"; [ "$HTTP_CODE" = 200 ]; }
fails() {
	http "$1" "$2"
	note "$1 -> $2: http=$HTTP_CODE curl exit=$CURL_RC"
	[ "$HTTP_CODE" != 200 ] && [ "$CURL_RC" != 0 ]
}

# The host namespace must never see the test ranges.
host_clean() {
	! ip -4 route show | grep -qE '11\.22\.33\.|192\.168\.77\.|100\.64\.' &&
		! ip -4 addr show | grep -qE '11\.22\.33\.|192\.168\.77\.|100\.64\.'
}

# serve PORT: start a web server on the pi (killed by "down") and wait for it.
serve() {
	"$H" exec pi python3 -m http.server "$1" --bind 192.168.77.10 --directory "$WWW" \
		</dev/null >/dev/null 2>&1 &
	for _ in $(seq 100); do
		"$H" exec pi ss -Hltn "sport = :$1" | grep -q LISTEN && return 0
		sleep 0.05
	done
	return 1
}

info() { "$H" info | sed -n "s/^$1=//p"; }

# ---------------------------------------------------------------------------
section "1. up, NAT-PMP mapping, hairpin on/off"
t0=$(now_ms)
"$H" up 2>&1
t1=$(now_ms)
note "up took $((t1 - t0)) ms"
# No assertion on the time: timing is for benchmarks, and a loaded CI
# machine is not a slow testbed.  The note above keeps the figure visible.
check "up succeeded" [ -n "$(info PK_MINIUPNPD_PID)" ]
check "host namespace has no test routes/addresses" host_clean
check "info reports WAN 11.22.33.2" [ "$(info PK_WAN)" = 11.22.33.2 ]
check "miniupnpd is running" kill -0 "$(info PK_MINIUPNPD_PID)"
check "natpmpc maps 8080 from the pi" "$H" exec pi natpmpc -g 192.168.77.1 -a 8080 8080 tcp 3600
check "web server listens on pi:8080" serve 8080
check "inet reaches 11.22.33.2:8080" reaches inet http://11.22.33.2:8080/
check "laptop reaches 11.22.33.2:8080 (hairpin on)" retry 10 reaches laptop http://11.22.33.2:8080/
check "pi reaches itself via 11.22.33.2:8080 (hairpin on)" retry 10 reaches pi http://11.22.33.2:8080/
"$H" set hairpin off
check "laptop can NOT reach 11.22.33.2:8080 (hairpin off)" fails laptop http://11.22.33.2:8080/
check "inet still reaches 11.22.33.2:8080 (hairpin off)" reaches inet http://11.22.33.2:8080/
"$H" set hairpin on
check "laptop reaches 11.22.33.2:8080 again (hairpin back on)" retry 10 reaches laptop http://11.22.33.2:8080/

# ---------------------------------------------------------------------------
section "2. UPnP mapping"
check "upnpc maps 8081 from the pi" "$H" exec pi upnpc -e test -a 192.168.77.10 8081 8081 TCP
check "upnpc -l lists 8081->192.168.77.10:8081" sh -c "'$H' exec pi upnpc -l | grep -q '8081->192.168.77.10:8081'"
check "web server listens on pi:8081" serve 8081
check "inet reaches 11.22.33.2:8081" reaches inet http://11.22.33.2:8081/
check "laptop reaches 11.22.33.2:8081 (hairpin)" retry 10 reaches laptop http://11.22.33.2:8081/

# ---------------------------------------------------------------------------
section "3. router-restart"
old_port=$(info PK_UPNP_PORT)
old_pid=$(info PK_MINIUPNPD_PID)
new_port=$("$H" router-restart)
note "UPnP HTTP port $old_port -> $new_port"
check "router-restart printed a new HTTP port" differs "$new_port" "$old_port"
check "info agrees with the printed port" [ "$(info PK_UPNP_PORT)" = "$new_port" ]
check "miniupnpd has a new PID" [ "$(info PK_MINIUPNPD_PID)" != "$old_pid" ]
check "mapping 8080 is gone" fails inet http://11.22.33.2:8080/
check "mapping 8081 is gone" fails inet http://11.22.33.2:8081/
check "hairpin mirror of 8080 is gone" retry 10 fails laptop http://11.22.33.2:8080/
epoch=$("$H" exec pi "$PROBE" natpmp-addr 192.168.77.1 | sed -n 's/.* epoch=\([0-9]*\).*/\1/p')
note "NAT-PMP epoch after restart: $epoch"
check "NAT-PMP epoch restarted (< 5 s)" below "$epoch" 5

# ---------------------------------------------------------------------------
section "4. wan-change"
new_wan=$("$H" wan-change)
check "wan-change printed 11.22.33.3" [ "$new_wan" = 11.22.33.3 ]
check "info reports WAN 11.22.33.3" [ "$(info PK_WAN)" = 11.22.33.3 ]
check "NAT-PMP reports 11.22.33.3" sh -c "'$H' exec pi natpmpc -g 192.168.77.1 | grep -q 'Public IP address : 11.22.33.3'"
check "UPnP reports 11.22.33.3" sh -c "'$H' exec pi upnpc -s | grep -q 'ExternalIPAddress = 11.22.33.3'"
check "natpmpc maps 8082 -> pi:8080" "$H" exec pi natpmpc -g 192.168.77.1 -a 8082 8080 tcp 3600
check "inet reaches 11.22.33.3:8082" reaches inet http://11.22.33.3:8082/
check "laptop reaches 11.22.33.3:8082 (hairpin follows the WAN address)" retry 10 reaches laptop http://11.22.33.3:8082/
check "old address 11.22.33.2 is gone from the internet" fails inet http://11.22.33.2:8082/
check "wan-change back prints 11.22.33.2" [ "$("$H" wan-change)" = 11.22.33.2 ]
check "host namespace has no test routes/addresses" host_clean

# ---------------------------------------------------------------------------
section "5. protocols switched off"
"$H" up --no-natpmp
out=$("$H" exec pi "$PROBE" natpmp-addr 192.168.77.1 --tries 1 --timeout 2) || true
note "NAT-PMP off, raw request: $out"
check "NAT-PMP off: UDP 5351 is refused at once (ICMP port unreachable)" sh -c "echo '$out' | grep -q status=refused"
t0=$(now_ms)
if "$H" exec pi natpmpc -g 192.168.77.1 >/dev/null 2>&1; then rc=0; else rc=$?; fi
t1=$(now_ms)
note "natpmpc failed with exit $rc after $((t1 - t0)) ms"
check "NAT-PMP off: natpmpc fails" [ "$rc" != 0 ]
check "NAT-PMP off: natpmpc fails within 1 s" below $((t1 - t0)) 1000
check "NAT-PMP off: UPnP still works" sh -c "'$H' exec pi upnpc -s | grep -q 'ExternalIPAddress = 11.22.33.2'"

"$H" up --no-upnp
out=$("$H" exec pi "$PROBE" ssdp --wait 2) || true
note "UPnP off, M-SEARCH: $out"
check "UPnP off: no SSDP reply" sh -c "echo '$out' | grep -q status=timeout"
check "UPnP off: no UPnP port in info" [ -z "$(info PK_UPNP_PORT)" ]
check "UPnP off: NAT-PMP still works" "$H" exec pi "$PROBE" natpmp-addr 192.168.77.1

"$H" up --no-upnp --no-natpmp
check "both off: no miniupnpd" [ -z "$(info PK_MINIUPNPD_PID)" ]
check "both off: NAT-PMP refused" sh -c "'$H' exec pi '$PROBE' natpmp-addr 192.168.77.1 --tries 1 | grep -q status=refused"
check "both off: no SSDP reply" sh -c "'$H' exec pi '$PROBE' ssdp --wait 1 | grep -q status=timeout"
"$H" set natpmp on
check "set natpmp on: NAT-PMP answers" "$H" exec pi "$PROBE" natpmp-addr 192.168.77.1
"$H" set upnp on
check "set upnp on: SSDP answers" "$H" exec pi "$PROBE" ssdp --first --wait 2

# ---------------------------------------------------------------------------
section "6. CGNAT"
"$H" up --cgnat
check "info reports WAN 100.64.0.2" [ "$(info PK_WAN)" = 100.64.0.2 ]
out=$("$H" exec pi "$PROBE" natpmp-addr 192.168.77.1)
note "NAT-PMP public address: $out"
check "NAT-PMP public address request: result 3 (network failure)" sh -c "echo '$out' | grep -q 'result=3'"
out=$("$H" exec pi "$PROBE" natpmp-map 192.168.77.1 tcp 8080 8080 3600)
note "NAT-PMP mapping: $out"
check "NAT-PMP mapping request: result 3" sh -c "echo '$out' | grep -q 'result=3'"
url=http://192.168.77.1:$(info PK_UPNP_PORT)/rootDesc.xml
out=$("$H" exec pi upnpc -u "$url" -s 2>&1 || true)
note "upnpc -s: $(echo "$out" | grep -E 'Status|ExternalIP|GetExternal' | tr '\n' ' ')"
check "UPnP GetExternalIPAddress is empty" sh -c "echo '$out' | grep -q 'GetExternalIPAddress failed. (empty string)'"
out=$("$H" exec pi upnpc -u "$url" -a 192.168.77.10 8080 8080 TCP 2>&1 || true)
note "upnpc -a: $(echo "$out" | grep -i failed)"
check "UPnP AddPortMapping fails with 501" sh -c "echo '$out' | grep -q 'failed with code 501'"
check "no DNAT rule was created" sh -c "! '$H' mappings | grep -q dnat"

# ---------------------------------------------------------------------------
section "7. conflicts"
"$H" up
check "laptop maps 9000 with UPnP" "$H" exec laptop upnpc -e laptop -a 192.168.77.20 9000 9000 TCP
out=$("$H" exec pi upnpc -a 192.168.77.10 9000 9000 TCP 2>&1 || true)
note "pi upnpc -a 9000: $(echo "$out" | grep -i failed)"
check "pi's UPnP request for 9000 fails with 718" sh -c "echo '$out' | grep -q 'failed with code 718'"
out=$("$H" exec pi "$PROBE" natpmp-map 192.168.77.1 tcp 9000 9000 3600)
note "pi NAT-PMP request for 9000: $out"
check "pi's NAT-PMP request for 9000 succeeds on another port" sh -c "echo '$out' | grep 'result=0' | grep -qv 'external_port=9000 '"

# ---------------------------------------------------------------------------
section "8. double NAT"
"$H" up --double-nat
check "info reports WAN 11.22.34.2 behind upstream 11.22.33.2" \
	[ "$(info PK_WAN)/$(info PK_UPSTREAM)" = 11.22.34.2/11.22.33.2 ]
check "NAT-PMP reports the router's own WAN 11.22.34.2" sh -c "'$H' exec pi natpmpc -g 192.168.77.1 | grep -q 'Public IP address : 11.22.34.2'"
check "natpmpc maps 8080 from the pi (miniupnpd takes 11.22.34.2 as public)" "$H" exec pi natpmpc -g 192.168.77.1 -a 8080 8080 tcp 3600
check "web server listens on pi:8080" serve 8080
check "laptop reaches 11.22.34.2:8080 (hairpin)" retry 10 reaches laptop http://11.22.34.2:8080/
check "inet can NOT reach 11.22.33.2:8080 (the isp forwards nothing)" fails inet http://11.22.33.2:8080/
check "inet can NOT reach the router's WAN 11.22.34.2 (it is behind the isp)" fails inet http://11.22.34.2:8080/
# The internet sees the home network as the isp's address.
seen() {
	"$H" exec inet "$PYTHON" -c 'import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("11.22.33.1", 9999)); s.listen(1); s.settimeout(5)
c, a = s.accept(); print(a[0])' >"$WWW/seen" &
	local pid=$! i
	for i in $(seq 50); do
		"$H" exec pi "$PYTHON" -c 'import socket; socket.create_connection(("11.22.33.1", 9999), 1).close()' 2>/dev/null && break
		sleep 0.1
	done
	wait "$pid"
	cat "$WWW/seen"
}
src=$(seen)
note "a connection from the pi arrives at inet from $src"
check "the internet sees the pi as 11.22.33.2, not 11.22.34.2" [ "$src" = 11.22.33.2 ]
check "wan-change refuses to run with --double-nat" sh -c "! '$H' wan-change 2>/dev/null"

# ---------------------------------------------------------------------------
section "9. a blocked port"
"$H" up
check "natpmpc maps 8080 and 8081 from the pi" sh -c "'$H' exec pi natpmpc -g 192.168.77.1 -a 8080 8080 tcp 3600 && '$H' exec pi natpmpc -g 192.168.77.1 -a 8081 8080 tcp 3600"
check "web server listens on pi:8080" serve 8080
check "inet reaches 11.22.33.2:8080" reaches inet http://11.22.33.2:8080/
"$H" block 8080
"$H" block 8080
check "block twice leaves one rule" [ "$("$H" mappings | grep -c 'pk-block 8080/tcp')" = 1 ]
check "blocked: inet can NOT reach 11.22.33.2:8080" fails inet http://11.22.33.2:8080/
check "blocked: the drop is a timeout, not a refusal" [ "$CURL_RC" = 28 ]
check "blocked: inet still reaches 11.22.33.2:8081 (to the same pi port)" reaches inet http://11.22.33.2:8081/
check "blocked: laptop still reaches 11.22.33.2:8080 (hairpin)" retry 10 reaches laptop http://11.22.33.2:8080/
check "blocked: the mapping is still there" sh -c "'$H' mappings | grep -q 'dport 8080 dnat'"
"$H" unblock 8080
check "unblocked: inet reaches 11.22.33.2:8080 again" reaches inet http://11.22.33.2:8080/
check "unblock of a port that is not blocked succeeds" "$H" unblock 9/udp
check "block rejects a bad port" sh -c "! '$H' block 70000 2>/dev/null && ! '$H' block 80/sctp 2>/dev/null"

# ---------------------------------------------------------------------------
section "10. SSDP reply latency"
for mode in "" "--unicast 192.168.77.1"; do
	# shellcheck disable=SC2086 # $mode is an option list
	out=$("$H" exec pi "$PROBE" ssdp $mode --mx 1 --first --wait 3) || true
	note "M-SEARCH ${mode:-multicast} MX=1: $out"
	ms=$(echo "$out" | sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p')
	check "SSDP reply (${mode:-multicast}) within 1 s" below "$ms" 1000
done

# ---------------------------------------------------------------------------
section "two networks at once"
PK_NET=$OTHER "$H" up
check "natpmpc maps 7000 in $OTHER" env PK_NET="$OTHER" "$H" exec pi natpmpc -g 192.168.77.1 -a 7000 7000 tcp 60
check "$PK_NET does not see $OTHER's mapping" sh -c "! '$H' mappings | grep -q 'dport 7000'"
check "$PK_NET still answers NAT-PMP" "$H" exec pi "$PROBE" natpmp-addr 192.168.77.1
PK_NET=$OTHER "$H" down
check "$PK_NET survives $OTHER going down" "$H" exec pi "$PROBE" natpmp-addr 192.168.77.1

# ---------------------------------------------------------------------------
section "11. down"
# Everything we started: miniupnpd and the hairpin helper (their command
# lines name the run dir) and whatever runs in the namespaces (web servers).
pids=$(pgrep -f "/tmp/portkeeper-net-$PK_NET(/| |\$)" || true)
for h in router inet pi laptop isp; do
	pids="$pids $(ip netns pids "$PK_NET-$h" 2>/dev/null || true)"
done
# shellcheck disable=SC2086 # split the list, one PID per line, no duplicates
pids=$(printf '%s\n' $pids | sort -un | tr '\n' ' ')
"$H" down
check "no namespaces left" sh -c "! ip netns list | grep -qE '^($PK_NET|$OTHER)-(router|inet|pi|laptop|isp)( |\$)'"
check "no run dir left" [ ! -e "/tmp/portkeeper-net-$PK_NET" ]
check "no /etc/netns entries left" sh -c "! ls -d /etc/netns/$PK_NET-* 2>/dev/null | grep -q ."
left=
for p in $pids; do
	# A zombie is dead already (PID 1 may reap it a little later).
	if [ -e "/proc/$p" ] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$p/stat" 2>/dev/null; then
		left="$left $p"
	fi
done
check "none of the processes we started is left ($pids)" [ -z "$left" ]
check "host namespace has no test routes/addresses" host_clean
check "down again succeeds on nothing" "$H" down

echo
echo "$((CHECKS - FAILED))/$CHECKS checks passed"
[ "$FAILED" = 0 ]

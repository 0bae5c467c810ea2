#!/bin/bash
# make demo: the main job on the built-in simulated home network.  A web
# server runs on the "pi"; portkeeper opens port 80 on the router (real
# miniupnpd) and a host on the "internet" side fetches the page through it.
#
# usage: tests/demo.sh [PORTKEEPER_BINARY]

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PK=$(readlink -f "${1:-$TOP/build/portkeeper}")
HOMENET=$TOP/tests/net/homenet.sh
export PK_NET=demo

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it builds network namespaces (sudo make demo)" >&2
	exit 1
fi

WWW=$(mktemp -d)
cleanup() {
	[ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
	"$HOMENET" down >/dev/null 2>&1
	rm -rf "$WWW"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '\033[36m%s$\033[0m %s\n' "$1" "${*:2}"; }
on()   { local h=$1; shift; show "$h" "$*"; ip netns exec "$PK_NET-$h" "$@"; }

say "Building the simulated home network (network namespaces; nothing leaves this machine)"
"$HOMENET" up 2>&1 | sed 's/^/   /'
[ "${PIPESTATUS[0]}" = 0 ] || exit 1
eval "$("$HOMENET" info)"
printf '   %s\n' \
    "internet host $PK_INET --- router WAN $PK_WAN (miniupnpd: UPnP-IGD + NAT-PMP)" \
    "                            router LAN $PK_ROUTER_LAN" \
    "                              |-- pi      $PK_PI  (portkeeper, web server on :8080)" \
    "                              '-- laptop  $PK_LAPTOP"

echo "Hello from the Raspberry Pi ($(date -u +%H:%M:%S) UTC)" > "$WWW/index.html"
ip netns exec "$PK_NET-pi" python3 -m http.server 8080 --bind "$PK_PI" \
    --directory "$WWW" >/dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do
	ip netns exec "$PK_NET-pi" curl -s -o /dev/null "http://$PK_PI:8080/" && break
	sleep 0.1
done

fetch() {
	on inet curl -s --max-time 2 "http://$PK_WAN/" ||
	    echo "(no answer: port 80 is not forwarded to the pi)"
}

say "Before: the internet host cannot reach the pi's web server"
fetch

say "What portkeeper sees"
on pi "$PK" ip

say "Open port 80 on the router to the pi's port 8080"
start=$(date +%s%N)
on pi "$PK" open 80:8080 || exit 1
echo "(took $(( ($(date +%s%N) - start) / 1000000 )) ms, including entering the namespace)"

say "The router's table"
on pi "$PK" list

say "After: the internet host fetches the page through the router"
show inet "curl -s http://$PK_WAN/"
got=$(ip netns exec "$PK_NET-inet" curl -s --max-time 2 "http://$PK_WAN/")
echo "$got"
ok=0
[ "$got" = "$(cat "$WWW/index.html")" ] && ok=1

say "Close it again"
on pi "$PK" close 80
fetch

echo
if [ "$ok" = 1 ]; then
	echo "Demo OK: port 80 was opened on the router and reached from the internet side."
else
	echo "Demo FAILED: the internet host did not get the pi's page." >&2
	exit 1
fi

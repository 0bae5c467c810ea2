#!/bin/bash
# make demo: the main job on the built-in simulated home network.  A web
# server runs on the "pi"; portkeeper opens port 80 on the router (real
# miniupnpd) and a host on the "internet" side fetches the page through it.
# Then portkeeperd runs on the pi with its web UI, and a forwarder on this
# machine's 127.0.0.1:8088 leads into the pi's namespace, so that the
# dashboard opens in a browser here (the URL and a login are printed).
#
# usage: tests/demo.sh [PORTKEEPER_BINARY]   (portkeeperd is looked for next
# to it)
#
#   DEMO_WEB_PORT=N  the port on 127.0.0.1 for the web UI (default 8088, or
#                    the next free one)
#   DEMO_HOLD=N      keep the web UI running N seconds; 0: not at all.
#                    Unset: until Enter (or Ctrl-C) when standard input is
#                    a terminal, not at all otherwise.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
PK=$(readlink -f "${1:-$TOP/build/portkeeper}")
PKD=$(dirname "$PK")/portkeeperd
HOMENET=$TOP/tests/net/homenet.sh
export PK_NET=demo

if [ "$(id -u)" != 0 ]; then
	echo "make demo needs root: it builds network namespaces (sudo make demo)" >&2
	exit 1
fi
if [ -n "${DEMO_HOLD:-}" ] && [[ ! $DEMO_HOLD =~ ^[0-9]+$ ]]; then
	echo "DEMO_HOLD must be a number of seconds, got '$DEMO_HOLD'" >&2
	exit 2
fi
if [ -n "${DEMO_WEB_PORT:-}" ] &&
   { [[ ! $DEMO_WEB_PORT =~ ^[0-9]{1,5}$ ]] || [ "$DEMO_WEB_PORT" -lt 1 ] ||
     [ "$DEMO_WEB_PORT" -gt 65535 ]; }; then
	echo "DEMO_WEB_PORT must be a port number, got '$DEMO_WEB_PORT'" >&2
	exit 2
fi

WWW=$(mktemp -d)
WORK=$(mktemp -d)
# stop PID [group]: SIGTERM (the process group with "group"), wait up to
# 5 s, then SIGKILL.
stop() {
	local target=$1 i
	[ "${2:-}" = group ] && target=-$1
	kill -TERM -- "$target" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 -- "$target" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "$target" 2>/dev/null
	wait "$1" 2>/dev/null
}
cleanup() {
	# The forwarder first (nothing new comes in), then the daemon, which
	# removes its forward from the router while the router is still up.
	[ -n "${FWD_PID:-}" ] && stop "$FWD_PID" group
	[ -n "${BRIDGE_PID:-}" ] && stop "$BRIDGE_PID" group
	[ -n "${PKD_PID:-}" ] && stop "$PKD_PID"
	[ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
	"$HOMENET" down >/dev/null 2>&1
	rm -rf "$WWW" "$WORK"
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

# ---------------------------------------------------------------------------
# The daemon and its web UI.

# port_free PORT: nothing on this machine listens on TCP PORT (on any
# address that 127.0.0.1:PORT would clash with).
port_free() {
	[ -z "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# web_fail MESSAGE: says what went wrong, with the daemon's last words.
web_fail() {
	echo "$*" >&2
	if [ -s "$WORK/portkeeperd.log" ]; then
		echo "portkeeperd's log (last lines):" >&2
		tail -n 15 "$WORK/portkeeperd.log" | sed 's/^/   /' >&2
	fi
	web_ok=0
}

# hcurl ARGS...: curl on this machine, through the forwarder; prints the
# HTTP status and leaves the body in $WORK/body.
hcurl() {
	curl -s --max-time 5 -o "$WORK/body" -w '%{http_code}' "$@" 2>/dev/null
}

web_ok=1
web_section() {
	local user=demo pass port i code state

	say "Run portkeeperd on the pi, with its web UI"
	if [ ! -x "$PKD" ]; then
		web_fail "no $PKD (make all builds it)"
		return
	fi
	# A throwaway password, set with portkeeper's own tool.
	pass=$(head -c 12 /dev/urandom | base64 | tr '+/' 'xk')
	mkdir -p "$WORK/state"
	show pi "echo PASSWORD | portkeeper passwd $user --file $WORK/htpasswd"
	"$PK" passwd "$user" --file "$WORK/htpasswd" <<< "$pass" || {
		web_fail "portkeeper passwd failed"
		return
	}
	cat > "$WORK/portkeeper.conf" <<CONF
[portkeeper]
state_dir = $WORK/state
socket = $WORK/api.sock
remove_on_exit = yes

[web]
listen = 127.0.0.1:8088
htpasswd = $WORK/htpasswd

[forward web]
external = 80
internal = 8080
protocol = tcp
CONF
	echo "The configuration ($WORK/portkeeper.conf):"
	sed 's/^/   /' "$WORK/portkeeper.conf"
	show pi "portkeeperd -f -c $WORK/portkeeper.conf 2>portkeeperd.log &"
	# setsid: a Ctrl-C on the terminal is ours to handle (see hold).
	setsid ip netns exec "$PK_NET-pi" env -u NOTIFY_SOCKET \
	    "$PKD" -f -c "$WORK/portkeeper.conf" > "$WORK/portkeeperd.log" 2>&1 < /dev/null &
	PKD_PID=$!

	# This machine's 127.0.0.1:PORT -> a Unix socket -> the pi's
	# 127.0.0.1:8088.  Unix sockets are not bound to a network namespace,
	# so the two socats meet in the file system and every byte stays on
	# this machine: the host gets no route into the simulated network.
	if [ -n "${DEMO_WEB_PORT:-}" ]; then
		port=$DEMO_WEB_PORT
		if ! port_free "$port"; then
			web_fail "DEMO_WEB_PORT=$port is already taken on this machine"
			return
		fi
	else
		port=8088
		while ! port_free "$port" && [ "$port" -lt 8188 ]; do
			port=$((port + 1))
		done
		if ! port_free "$port"; then
			web_fail "no free port in 8088-8188 on this machine (set DEMO_WEB_PORT)"
			return
		fi
		[ "$port" != 8088 ] &&
		    echo "(port 8088 is taken on this machine: using $port instead)"
	fi
	# setsid: each socat and the children it forks are one process group,
	# stopped together, and a Ctrl-C on the terminal is left to us.
	echo "A forwarder from this machine's 127.0.0.1:$port to the pi's 127.0.0.1:8088,"
	echo "through a Unix socket (the host gets no route into the simulated network):"
	show pi "socat UNIX-LISTEN:$WORK/web.sock,fork TCP:127.0.0.1:8088 &"
	setsid ip netns exec "$PK_NET-pi" socat \
	    "UNIX-LISTEN:$WORK/web.sock,fork,mode=600" TCP:127.0.0.1:8088 \
	    > "$WORK/bridge.log" 2>&1 < /dev/null &
	BRIDGE_PID=$!
	show host "socat TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:$WORK/web.sock &"
	setsid socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" \
	    "UNIX-CONNECT:$WORK/web.sock" > "$WORK/forwarder.log" 2>&1 < /dev/null &
	FWD_PID=$!
	URL=http://127.0.0.1:$port

	code=
	for i in $(seq 100); do
		code=$(hcurl "$URL/api/health")
		[ "$code" = 200 ] && break
		if ! kill -0 "$PKD_PID" 2>/dev/null; then
			web_fail "portkeeperd stopped"
			return
		fi
		if ! kill -0 "$FWD_PID" 2>/dev/null; then
			web_fail "the forwarder did not start on 127.0.0.1:$port: $(cat "$WORK/forwarder.log")"
			return
		fi
		sleep 0.1
	done
	if [ "$code" != 200 ]; then
		web_fail "no answer from $URL/api/health after 10 s"
		return
	fi
	echo "$URL/api/health answers: $(cat "$WORK/body")"
	state=
	for i in $(seq 150); do
		hcurl -u "$user:$pass" "$URL/api/forwards/web" > "$WORK/code"
		state=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])' \
		    < "$WORK/body" 2>/dev/null)
		[ "$state" = active ] && break
		sleep 0.1
	done
	if [ "$state" != active ]; then
		web_fail "the forward \"web\" did not become active (state: ${state:-none})"
		return
	fi
	echo "The daemon's forward \"web\" (80 -> pi:8080) is active on the router."

	say "The daemon's forward works: the internet host fetches the page again"
	show inet "curl -s http://$PK_WAN/"
	got=$(ip netns exec "$PK_NET-inet" curl -s --max-time 2 "http://$PK_WAN/")
	echo "$got"
	if [ "$got" != "$(cat "$WWW/index.html")" ]; then
		web_fail "the internet host did not get the pi's page through the daemon's forward"
		return
	fi

	say "The web UI, from this machine through the forwarder"
	code=$(hcurl "$URL/")
	show host "$(printf '%-48s -> %s' "curl $URL/" "$code (no password)")"
	[ "$code" = 401 ] || web_fail "without a password the page answered $code, not 401"
	code=$(hcurl -u "$user:$pass" "$URL/")
	show host "$(printf '%-48s -> %s' "curl -u $user:PASSWORD $URL/" \
	    "$code, $(wc -c < "$WORK/body") bytes, $(grep -o '<title>[^<]*</title>' "$WORK/body")")"
	if [ "$code" != 200 ] || ! grep -q '<title>portkeeper</title>' "$WORK/body"; then
		web_fail "with the password the page answered $code without portkeeper's title"
	fi
	code=$(hcurl -u "$user:$pass" "$URL/api/status")
	show host "$(printf '%-48s -> %s' "curl -u $user:PASSWORD $URL/api/status" \
	    "$code, forwards: $(python3 -c 'import json,sys; print(", ".join("%s %s" % (f["name"], f["state"]) for f in json.load(sys.stdin)["forwards"]))' \
	    < "$WORK/body" 2>/dev/null)")"
	[ "$code" = 200 ] || web_fail "/api/status answered $code, not 200"
	[ "$web_ok" = 1 ] || return

	printf '\n\033[1m   Open the dashboard:  %s/\033[0m\n' "$URL"
	printf '   user:      %s\n' "$user"
	printf '   password:  %s\n' "$pass"
	printf '   From another machine, tunnel the port first:\n'
	printf '     ssh -L 8088:127.0.0.1:%s %s@%s\n' "$port" "${SUDO_USER:-user}" "$(hostname)"
	printf '   then open http://127.0.0.1:8088/ there.\n'
	printf '   (The page lives in the pi'\''s namespace at 127.0.0.1:8088; its forward\n'
	printf '   "web" opens port 80 on the simulated router.)\n'

	hold
}

# hold: keeps it all running for the user, as DEMO_HOLD says.
# Enter (on a terminal) or Ctrl-C ends it early.  Bash restarts a read
# that a trapped SIGINT interrupted, so the reads are a second long and the
# trap only sets a flag.
hold() {
	local secs=${DEMO_HOLD:-} end rc
	if [ -z "$secs" ]; then
		[ -t 0 ] || return 0
		printf '\nRunning. Press Enter (or Ctrl-C) to stop the demo and clean up. '
	elif [ "$secs" -gt 0 ]; then
		printf '\nRunning for %s s (DEMO_HOLD)%s.\n' "$secs" \
		    "$([ -t 0 ] && echo '; Enter or Ctrl-C stops it sooner')"
	else
		return 0
	fi
	end=$(( $(date +%s) + ${secs:-0} ))
	HELD_INT=
	trap 'HELD_INT=1' INT
	while [ -z "$HELD_INT" ]; do
		if [ -n "$secs" ] && [ "$(date +%s)" -ge "$end" ]; then
			break
		fi
		if [ -t 0 ]; then
			read -r -t 1 _ && break
			rc=$?
			# 1: end of input; over 128: the second is up.
			[ "$rc" -le 128 ] && break
		else
			sleep 1 &
			wait $! 2>/dev/null
		fi
	done
	trap 'exit 130' INT
	[ -n "$HELD_INT" ] && echo
	# Still answering after the wait? (A daemon that died meanwhile is a
	# failure too.)
	if [ "$(hcurl "$URL/api/health")" != 200 ]; then
		web_fail "the web UI stopped answering while the demo was held"
	fi
	echo "Stopping portkeeperd (it removes its forward from the router) and the forwarder."
}

web_section
cleanup
trap - EXIT

echo
if [ "$ok" = 1 ] && [ "$web_ok" = 1 ]; then
	echo "Web UI OK: portkeeperd's page answered through 127.0.0.1:${URL##*:}, with a password."
	echo "Demo OK: port 80 was opened on the router and reached from the internet side."
elif [ "$ok" != 1 ]; then
	echo "Demo FAILED: the internet host did not get the pi's page." >&2
	exit 1
else
	echo "Demo FAILED: portkeeperd's web UI did not work (see above)." >&2
	exit 1
fi

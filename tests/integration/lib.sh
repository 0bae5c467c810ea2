# Shared by the integration tests: a simulated home network of their own,
# portkeeper run on its "pi", and TAP-style results for tests/run.sh.
# Source it, then call net_up with homenet.sh's knobs.

set -u
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HOMENET=$TOP/tests/net/homenet.sh
PORTKEEPER=${PORTKEEPER:-$TOP/build/portkeeper}
case $PORTKEEPER in /*) ;; *) PORTKEEPER=$TOP/$PORTKEEPER ;; esac
# A short network name per test script, so that scripts never share one.
# PK_TEST_PREFIX lets two test runs on one machine keep apart.
PK_NET=${PK_TEST_PREFIX:-t}$(basename "$0" .sh | cksum | cut -c1-6)
export PK_NET

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
T_FAILED=0
T_WORK=$(mktemp -d)
# What the command line keeps between open and close (PCP nonces, pinhole
# UniqueIDs) stays with this test, not in the machine's /run/portkeeper.
export XDG_RUNTIME_DIR=$T_WORK/run
mkdir -p "$XDG_RUNTIME_DIR"

ok()   { echo "ok - $*"; }
nok()  { echo "not ok - $*"; T_FAILED=1; }
skip() { echo "ok - $1 # SKIP ${2:-}"; }
note() { echo "# $*"; }

# check NAME COMMAND...: one test case that passes when COMMAND succeeds.
# not COMMAND...: succeeds when COMMAND fails (for check).
not() { ! "$@"; }

check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else nok "$name"; fi
}

# until_ok SECONDS COMMAND...: retries COMMAND every 100 ms for at most
# SECONDS; its last try's status is the answer.
until_ok() {
	local end=$(( $(date +%s%N) + $1 * 1000000000 )); shift
	while [ "$(date +%s%N)" -lt "$end" ]; do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# Skips the whole script (with one reported case) where namespaces cannot
# be made: not root, or no iproute2/miniupnpd.
require_netns() {
	local why=""
	[ "$(id -u)" = 0 ] || why="needs root for network namespaces"
	[ -z "$why" ] && [ -x /usr/sbin/miniupnpd ] || why=${why:-"miniupnpd is not installed (make deps)"}
	[ -z "$why" ] && ! ip netns add "${PK_NET}-probe" 2>/dev/null && why="cannot create network namespaces"
	ip netns del "${PK_NET}-probe" 2>/dev/null || true
	if [ -n "$why" ]; then
		skip "$(basename "$0" .sh)" "$why"
		exit 0
	fi
}

cleanup() {
	local rc=$?
	[ -n "${T_HTTP_PID:-}" ] && kill "$T_HTTP_PID" 2>/dev/null
	"$HOMENET" down >/dev/null 2>&1 || true
	rm -rf "$T_WORK"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

net_up() {
	if ! "$HOMENET" up "$@" > "$T_WORK/up.log" 2>&1; then
		cat "$T_WORK/up.log" | sed 's/^/# /'
		nok "bring up the simulated home network ($*)"
		exit 1
	fi
	eval "$("$HOMENET" info)"
}

in_ns() { local h=$1; shift; ip netns exec "$PK_NET-$h" "$@"; }

# pk ARGS...: runs portkeeper on the pi; sets OUT, ERR and RC.
pk() {
	in_ns pi "$PORTKEEPER" "$@" > "$T_WORK/out" 2> "$T_WORK/err"
	RC=$?
	OUT=$(cat "$T_WORK/out")
	ERR=$(cat "$T_WORK/err")
}
# pk_on HOST ARGS...: the same on another LAN host.
pk_on() {
	local h=$1; shift
	in_ns "$h" "$PORTKEEPER" "$@" > "$T_WORK/out" 2> "$T_WORK/err"
	RC=$?
	OUT=$(cat "$T_WORK/out")
	ERR=$(cat "$T_WORK/err")
}

# json EXPR: evaluates a Python expression on the JSON in $OUT (as j).
json() {
	# Debian's python3 directly: a pyenv shim on PATH costs a second under load.
	"$PY" -c 'import json,sys; j=json.loads(sys.stdin.read()); print(eval(sys.argv[1]))' "$1" <<< "$OUT" 2>/dev/null
}
# json_is EXPR VALUE: true when the expression prints VALUE.
json_is() { [ "$(json "$1")" = "$2" ]; }

# An HTTP server on the pi that serves a random token, so that a fetch
# proves it really reached the pi and not, say, the router.  It listens on
# the pi's IPv4 address, or on BIND ("::" for IPv4 and IPv6 alike).
http_start() {
	local port=$1 bind=${2:-$PK_PI}
	T_TOKEN=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
	mkdir -p "$T_WORK/www"
	echo "$T_TOKEN" > "$T_WORK/www/token"
	in_ns pi python3 -m http.server "$port" --bind "$bind" \
	    --directory "$T_WORK/www" > /dev/null 2>&1 &
	T_HTTP_PID=$!
	local i
	for i in $(seq 50); do
		in_ns pi curl -s --max-time 1 "http://$PK_PI:$port/token" \
		    > /dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# start_ready HOST READY COMMAND...: starts COMMAND in HOST's namespace in
# the background (its PID in BG_PID) and returns once it has written the
# file READY; fails if it exits first or takes more than 10 s.
start_ready() {
	local host=$1 ready=$2
	shift 2
	rm -f "$ready"
	ip netns exec "$PK_NET-$host" "$@" &
	BG_PID=$!
	for _ in $(seq 200); do
		[ -s "$ready" ] && return 0
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.05
	done
	return 1
}

# zoo_start LOG PROFILE: the router zoo (tests/zoo/) on the router in the
# place of miniupnpd, as PROFILE, logging to LOG (its PID in Z_PID);
# returns once it serves.  zoo_stop ends it.
Z_PID=
zoo_start() {
	start_ready router "$T_WORK/ready" "$PY" "$TOP/tests/zoo/zoo_router.py" \
	    --profile "$2" --addr "$PK_ROUTER_LAN" --wan-addr "$PK_WAN" \
	    --log "$1" --ready "$T_WORK/ready" 2> "$T_WORK/zoo.err"
	local rc=$?
	Z_PID=$BG_PID
	[ "$rc" = 0 ] || sed 's/^/# /' "$T_WORK/zoo.err"
	return $rc
}
zoo_stop() {
	[ -n "$Z_PID" ] || return 0
	kill "$Z_PID" 2>/dev/null
	wait "$Z_PID" 2>/dev/null
	Z_PID=
}

# reaches HOST ADDR PORT: HOST fetches the pi's token from ADDR:PORT.
reaches() {
	local got
	got=$(in_ns "$1" curl -s --max-time 2 "http://$2:$3/token" 2>/dev/null)
	[ "$got" = "$T_TOKEN" ]
}

# web_daemon_start [FLAG...]: portkeeperd on the pi with its web API on
# 0.0.0.0:8088 and the caller's password file $T_WORK/htpasswd (made 0640
# here); its PID in PKD_PID, its output in $T_WORK/pkd.log.
web_daemon_start() {
	local pkd=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}

	mkdir -p "$T_WORK/state"
	chmod 640 "$T_WORK/htpasswd"
	cat > "$T_WORK/pk.conf" <<CONF
[portkeeper]
state_dir = $T_WORK/state
socket = $T_WORK/api.sock
[web]
listen = 0.0.0.0:8088
htpasswd = $T_WORK/htpasswd
CONF
	ip netns exec "$PK_NET-pi" "$pkd" -f "$@" -c "$T_WORK/pk.conf" \
	    > "$T_WORK/pkd.log" 2>&1 &
	PKD_PID=$!
}

# --- Dynamic DNS: test_ddns.sh and test_ddns6.sh ---------------------------
DDNS_PORT=8245
# ddns_start [ADDR]: the dyndns2 provider on the internet host
# (tests/net/dyndns2.py), listening on ADDR (default 0.0.0.0; :: for both
# families), its log of updates in $T_WORK/dyndns.log; its PID in DDNS_PID.
# Then ddclient's files, as the shipped hook's comment says to set them up,
# with any further ddclient.conf lines given on stdin: $T_WORK/ddclient.conf
# and $T_WORK/ddclient-update, the shipped hook pointed at them.
ddns_start() {
	in_ns inet "$PY" "$TOP/tests/net/dyndns2.py" --addr "${1:-0.0.0.0}" \
	    --port "$DDNS_PORT" --user pk --password secret \
	    --log "$T_WORK/dyndns.log" > "$T_WORK/dyndns.out" 2>&1 &
	DDNS_PID=$!
	{
		printf 'ssl=no\nprotocol=dyndns2\nserver=%s:%s\n' "$PK_INET" \
		    "$DDNS_PORT"
		printf 'login=pk\npassword=secret\nuse=ip\n'
		cat
		printf 'home.example\n'
	} > "$T_WORK/ddclient.conf"
	chmod 600 "$T_WORK/ddclient.conf"
	sed -e "s|^DDCLIENT_CONF=.*|DDCLIENT_CONF=$T_WORK/ddclient.conf|" \
	    -e "s|^DDCLIENT_CACHE=.*|DDCLIENT_CACHE=$T_WORK/ddclient.cache|" \
	    "$TOP/packaging/hooks/ddclient-update" > "$T_WORK/ddclient-update"
	chmod 755 "$T_WORK/ddclient-update"
	check "the dyndns2 provider answers on the internet host" until_ok 5 \
	    eval 'in_ns pi curl -sf --max-time 1 "http://$PK_INET:$DDNS_PORT/records" > /dev/null'
}
# record [AAAA]: the provider's A (or AAAA) record of home.example.
record() {
	in_ns pi curl -s --max-time 2 "http://$PK_INET:$DDNS_PORT/records?type=${1:-A}" |
	    "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("home.example", ""))'
}

# --- The browser tests: test_webui_browser.sh and test_webui_browser6.sh ---
CHROMIUM=${PK_CHROMIUM:-/usr/bin/chromium}
BROWSER_DIR=$TOP/tests/browser
# browser_need: skips the test (exit 0) when Node, Chromium or htpasswd is
# missing, and installs the browser's one dependency, as locked, when it
# is not there or the lock has moved on.
browser_need() {
	local why=""
	command -v node > /dev/null || why="node is not installed (make deps)"
	[ -z "$why" ] && ! command -v npm > /dev/null && why="npm is not installed (make deps)"
	[ -z "$why" ] && [ ! -x "$CHROMIUM" ] && why="$CHROMIUM is not installed (make deps)"
	[ -z "$why" ] && ! command -v htpasswd > /dev/null && why="htpasswd is not installed (apache2-utils, make deps)"
	if [ -n "$why" ]; then
		skip "$(basename "$0" .sh)" "$why"
		exit 0
	fi
	node -e 'const l = require(process.argv[1] + "/package-lock.json");
	    const v = require(process.argv[1] + "/node_modules/playwright-core/package.json").version;
	    process.exit(l.packages["node_modules/playwright-core"].version === v ? 0 : 1)' \
	    "$BROWSER_DIR" 2> /dev/null && return 0
	if ! (cd "$BROWSER_DIR" && npm ci --no-audit --no-fund) > "$T_WORK/npm.log" 2>&1; then
		sed 's/^/# /' "$T_WORK/npm.log" | tail -20
		nok "npm ci in tests/browser"
		exit 1
	fi
}
# browser_run SCRIPT [ENV=VALUE...]: runs tests/browser/SCRIPT with node in
# the pi's namespace, its TAP passed through; its own "not ok" lines count
# already, and a crash without one counts too.
browser_run() {
	local script=$1 brc
	shift
	(cd "$TOP" && in_ns pi env "$@" PK_CHROMIUM="$CHROMIUM" timeout 300 \
	    node "$BROWSER_DIR/$script") 2>&1 | tee "$T_WORK/browser.log"
	brc=${PIPESTATUS[0]}
	if [ "$brc" != 0 ]; then
		T_FAILED=1
		grep -q '^not ok' "$T_WORK/browser.log" ||
		    nok "the browser test ended with status $brc"
	fi
}

#!/bin/bash
# The web API's throughput and latency (the web UI issue's targets):
#
#   GET /api/status with wrk (2 threads, 64 connections, keep-alive) on
#   loopback: at least 10,000 requests/s and p99 under 10 ms; next to nginx
#   serving the same JSON document as a static file in the same run (the
#   ceiling a user could get), as a ratio; and the daemon's resident memory
#   with 100 forwards at most 6 MB.
#
# On a simulated home network of its own (tests/net/homenet.sh, PK_NET
# pkbweb), portkeeperd runs in the pi's namespace with 100 forwards
# (external ports 20001-20100) and [web] on 127.0.0.1:8088 with a bcrypt
# (cost 10) htpasswd file; lease 7200 and verify_interval 3600, so that the
# daemon does no router work during the measurement.  As in
# tests/integration/test_scale.sh, the router's miniupnpd is replaced by one
# with the same configuration but without its debug log (run with -d, as
# homenet.sh runs it, it logs a line to the serial console for every
# nftables rule it walks, and with some 50 mappings a request takes longer
# than the daemon waits for it), and the hairpin helper is off (its
# nftables updates race miniupnpd's, which then refuses mappings).
#
# Once all 100 are active, /api/status is saved to a file that nginx serves
# on 127.0.0.1:8089 in the same namespace, with the same response headers
# and no authentication (a static file is the ceiling); access_log off,
# worker_processes auto, i.e. one per CPU (with 1 worker, nginx served fewer
# requests a second than the daemon in our runs, so that is no ceiling).
# wrk runs in that namespace too, with the Authorization header on every
# request (nginx ignores it); after a warm-up of each server, ROUNDS rounds
# alternate between the two and the median is reported, with the server's
# CPU time per request (utime + stime from /proc/PID/stat, all nginx
# processes, or portkeeperd and portkeeperd-web), which depends less than req/s on what else the machine runs.
# For the cost of authentication, one round each of GET /api/forwards/f1
# (with the password, a small body) and GET /api/health (no password, 11
# bytes).  VmRSS and VmHWM come from /proc/PID/status, once the forwards are
# active before any load, and again after every wrk round.
#
# Prints Markdown tables, also written to BUILD_DIR/benchmarks-web.md; the
# daemon's log goes to BUILD_DIR/benchmarks-web.log, wrk's outputs to
# BUILD_DIR/benchmarks-web-wrk.txt.  A missed target is reported, not a
# failure: the script exits 0 whenever it could measure, 1 when it could not
# (or when wrk saw errors or non-2xx answers).
#
# usage: bench/web.sh BUILD_DIR [ROUNDS [SECONDS]]
#        (ROUNDS default 3, SECONDS per round default 10; needs root)
# NGINX_WORKERS=N overrides nginx's worker_processes (default auto).

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(readlink -f "${1:?usage: bench/web.sh BUILD_DIR [ROUNDS [SECONDS]]}")
ROUNDS=${2:-3}
DURATION=${3:-10}
PKD=$BUILD/portkeeperd
OUT=$BUILD/benchmarks-web.md
LOG=$BUILD/benchmarks-web.log
WRKLOG=$BUILD/benchmarks-web-wrk.txt
HOMENET=$TOP/tests/net/homenet.sh
NGINX=/usr/sbin/nginx
export PK_NET=pkbweb

FORWARDS=100
FIRST_PORT=20001
PK_PORT=8088
NGINX_PORT=8089
THREADS=2
CONNS=64
WARMUP_S=2
ACTIVE_WAIT_S=60	# for all forwards to become active
LEASE_S=7200
VERIFY_S=3600		# no router work during the measurement
NGINX_WORKERS=${NGINX_WORKERS:-auto}
# Targets.
RPS_MIN=10000
P99_MAX_MS=10
RSS_MAX_KB=6144
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=python3

say() { echo "bench/web: $*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || { say "ROUNDS must be a positive number"; exit 2; }
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || { say "SECONDS must be a positive number"; exit 2; }
[ -x "$PKD" ] || die "$PKD not found (make)"
[ -x "$NGINX" ] || die "$NGINX not found (apt-get install nginx-light, or make deps)"
for c in wrk htpasswd curl; do
	command -v "$c" > /dev/null || die "$c not found (make deps)"
done

WORK=$(mktemp -d /tmp/pk-benchweb.XXXXXX)
chmod 755 "$WORK"
PKD_PID=
NGINX_PID=

# shellcheck source=lib.sh
. "$TOP/bench/lib.sh"

cleanup() {
	local rc=$?
	stop_pid "$NGINX_PID"
	stop_pid "$PKD_PID"
	"$HOMENET" down > /dev/null 2>&1
	[ ! -f "$WORK/pkd.log" ] || cp "$WORK/pkd.log" "$LOG"
	[ ! -f "$WORK/wrk.txt" ] || cp "$WORK/wrk.txt" "$WRKLOG"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_pi() { ip netns exec "$PK_NET-pi" "$@"; }

# ---------------------------------------------------------------------------
# The network, the daemon and its 100 forwards.

start=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
say "bringing up the simulated home network ($PK_NET)"
"$HOMENET" up --no-hairpin > "$WORK/up.log" 2>&1 || { sed 's/^/  /' "$WORK/up.log" >&2; die "cannot bring up the network"; }
eval "$("$HOMENET" info)"
in_pi ip link set lo up
# The quiet router (see the top); "homenet.sh down" stops it with the rest
# of the namespace.
cp "/tmp/portkeeper-net-$PK_NET/miniupnpd.conf" "$WORK/miniupnpd.conf" ||
    die "no miniupnpd.conf from homenet.sh"
{ "$HOMENET" set upnp off && "$HOMENET" set natpmp off; } > /dev/null 2>&1 ||
    die "cannot stop homenet's miniupnpd"
ip netns exec "$PK_NET-router" /usr/sbin/miniupnpd -f "$WORK/miniupnpd.conf" \
    -P "$WORK/miniupnpd.pid" > /dev/null 2>&1 || die "cannot start a quiet miniupnpd"
for i in $(seq 100); do
	ip netns exec "$PK_NET-router" ss -Hlnu 2>/dev/null | grep -q "$PK_ROUTER_LAN:5351 " &&
	    ip netns exec "$PK_NET-router" ss -Hltnp 2>/dev/null | grep -q miniupnpd && break
	[ "$i" -lt 100 ] || die "the quiet miniupnpd did not come up"
	sleep 0.05
done

htpasswd -nbB -C 10 admin secret > "$WORK/htpasswd" 2>/dev/null ||
    die "htpasswd -nbB -C 10 failed"
AUTH="Basic $(printf 'admin:secret' | base64)"
mkdir -p "$WORK/state"
# write_conf N: the configuration with forwards f1..fN.
write_conf() {
	{
		cat <<CONF
[portkeeper]
method = auto
state_dir = $WORK/state
socket = $WORK/api.sock
lease = $LEASE_S
verify_interval = $VERIFY_S
; the network is torn down afterwards anyway
remove_on_exit = no

[web]
listen = 127.0.0.1:$PK_PORT
htpasswd = $WORK/htpasswd
CONF
		for i in $(seq "$1"); do
			printf '\n[forward f%d]\nexternal = %d\n' "$i" $((FIRST_PORT + i - 1))
		done
	} > "$WORK/pk.conf"
	in_pi "$PKD" -n -c "$WORK/pk.conf" > "$WORK/n.out" 2>&1 ||
	    { sed 's/^/  /' "$WORK/n.out" >&2; die "portkeeperd -n refuses the configuration"; }
}

# status_to FILE: the daemon's /api/status, with the password.
status_to() {
	in_pi curl -s --max-time 2 -u admin:secret -o "$1" -w '%{http_code}' \
	    "http://127.0.0.1:$PK_PORT/api/status" 2>/dev/null | grep -qx 200
}
# Prints "ACTIVE/TOTAL" for a status document.
active_of() {
	"$PYTHON" -c '
import json, sys
f = json.load(open(sys.argv[1]))["forwards"]
print("%d/%d" % (sum(x["state"] == "active" for x in f), len(f)))' "$1" 2>/dev/null
}
# until_active N: waits until the status lists N forwards, all active.
until_active() {
	local t0 got=
	t0=$(date +%s)
	while :; do
		kill -0 "$PKD_PID" 2>/dev/null || { tail -20 "$WORK/pkd.log" | sed 's/^/  /' >&2; die "portkeeperd exited"; }
		if status_to "$WORK/status.json"; then
			got=$(active_of "$WORK/status.json")
			[ "$got" = "$1/$1" ] && return 0
		fi
		[ $(( $(date +%s) - t0 )) -lt "$ACTIVE_WAIT_S" ] ||
		    { tail -20 "$WORK/pkd.log" | sed 's/^/  /' >&2; die "only ${got:-0/?} forwards active after ${ACTIVE_WAIT_S} s"; }
		sleep 0.2
	done
}

say "starting portkeeperd with $FORWARDS forwards"
t0=$(date +%s)
write_conf "$FORWARDS"
# ip netns exec execs the daemon, so $! is the daemon itself.
ip netns exec "$PK_NET-pi" "$PKD" -f -c "$WORK/pk.conf" > "$WORK/pkd.log" 2>&1 &
PKD_PID=$!
until_active "$FORWARDS"
say "all $FORWARDS forwards active after $(( $(date +%s) - t0 )) s"
ACTIVE_AFTER_S=$(( $(date +%s) - t0 ))
sleep 1

# mem PID: "VmRSS VmHWM" in kB.
mem() { awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r, h }' "/proc/$1/status"; }
[ "$(cat "/proc/$PKD_PID/comm" 2>/dev/null)" = portkeeperd ] || die "PID $PKD_PID is not portkeeperd"
read -r RSS_IDLE HWM_IDLE <<< "$(mem "$PKD_PID")"
say "VmRSS $RSS_IDLE kB, VmHWM $HWM_IDLE kB with $FORWARDS active forwards"

# ---------------------------------------------------------------------------
# nginx: the same document, the same headers, as a static file.

mkdir -p "$WORK/www/api" "$WORK/nginx/tmp"
status_to "$WORK/www/api/status" || die "cannot fetch /api/status for nginx"
DOC_BYTES=$(stat -c %s "$WORK/www/api/status")
# Like the daemon's answer (pkd_api.c: add_common_headers, reply).
CSP="default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes $NGINX_WORKERS;
pid $WORK/nginx/nginx.pid;
lock_file $WORK/nginx/nginx.lock;
error_log $WORK/nginx/error.log warn;
user nobody nogroup;
events {
	worker_connections 1024;
}
http {
	access_log off;
	client_body_temp_path $WORK/nginx/tmp/body;
	proxy_temp_path $WORK/nginx/tmp/proxy;
	fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
	uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
	scgi_temp_path $WORK/nginx/tmp/scgi;
	sendfile on;
	tcp_nopush on;
	keepalive_timeout 65;
	keepalive_requests 100000000;
	server_tokens off;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/www;
		location = /api/status {
			default_type application/json;
			etag off;
			add_header Content-Security-Policy "$CSP";
			add_header X-Content-Type-Options nosniff;
			add_header X-Frame-Options DENY;
			add_header Referrer-Policy no-referrer;
			add_header Cache-Control no-store;
		}
	}
}
CONF
chmod -R a+rX "$WORK/www"
in_pi "$NGINX" -t -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -e "$WORK/nginx/error.log" \
    > "$WORK/nginx-t.out" 2>&1 || { sed 's/^/  /' "$WORK/nginx-t.out" >&2; die "nginx refuses its configuration"; }
ip netns exec "$PK_NET-pi" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" \
    -e "$WORK/nginx/error.log" > "$WORK/nginx.out" 2>&1 &
NGINX_PID=$!
for i in $(seq 50); do
	in_pi curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$NGINX_PORT/api/status" && break
	kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/nginx.out" "$WORK/nginx/error.log" >&2; die "nginx exited"; }
	sleep 0.1
done
{ in_pi curl -s --max-time 2 -o "$WORK/nginx-doc" "http://127.0.0.1:$NGINX_PORT/api/status" &&
    cmp -s "$WORK/nginx-doc" "$WORK/www/api/status"; } || die "nginx does not serve the document"
NGINX_WORKERS_RUN=$(pgrep -c -P "$NGINX_PID" 2>/dev/null || echo "?")
say "nginx on 127.0.0.1:$NGINX_PORT ($NGINX_WORKERS_RUN workers), document $DOC_BYTES bytes"

# ---------------------------------------------------------------------------
# wrk.

URL_PK=http://127.0.0.1:$PK_PORT/api/status
URL_NGINX=http://127.0.0.1:$NGINX_PORT/api/status
URL_HEALTH=http://127.0.0.1:$PK_PORT/api/health
URL_FORWARD=http://127.0.0.1:$PK_PORT/api/forwards/f1
: > "$WORK/wrk.txt"
# wrk_run NAME SECONDS URL [HEADER]: runs wrk in the pi's namespace and
# prints its summary as JSON (rps, p50, p99 in ms, non2xx, errors).
wrk_run() {
	local name=$1 secs=$2 url=$3 hdrs=() out
	[ -z "${4:-}" ] || hdrs=(-H "$4")
	out=$(in_pi wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" --latency "${hdrs[@]}" "$url" 2>&1)
	{ echo "=== $name: wrk -t$THREADS -c$CONNS -d${secs}s --latency ${hdrs[*]:+-H '...'} $url"; echo "$out"; } >> "$WORK/wrk.txt"
	"$PYTHON" - "$out" <<'EOF'
import json, re, sys
t = sys.argv[1]
def ms(v, u):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]
r = {}
m = re.search(r"^Requests/sec:\s+([0-9.]+)", t, re.M)
if not m:
    sys.exit("no Requests/sec in wrk's output")
r["rps"] = float(m.group(1))
for p in ("50", "99"):
    m = re.search(r"^\s+%s(?:\.0+)?%%\s+([0-9.]+)(us|ms|s|m)\s*$" % p, t, re.M)
    if not m:
        sys.exit("no %s%% latency in wrk's output" % p)
    r["p" + p] = ms(m.group(1), m.group(2))
m = re.search(r"^\s+(\d+) requests in", t, re.M)
r["requests"] = int(m.group(1)) if m else 0
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", t)
r["non2xx"] = int(m.group(1)) if m else 0
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
r["errors"] = sum(int(x) for x in m.groups()) if m else 0
print(json.dumps(r))
EOF
}

# The results, one JSON line per round, in files per target.
server_pids() {
	if [ "$1" = nginx ]; then
		echo "$NGINX_PID" $(pgrep -P "$NGINX_PID")
	else
		# The daemon and its web process, which serves the requests.
		echo "$PKD_PID" $(pgrep -P "$PKD_PID" -x portkeeperd-web)
	fi
}
# round NAME FILE URL HEADER: one wrk run; appends its summary, with the
# server's CPU time over the run (all nginx processes, or the daemon's
# and its web process's threads), to WORK/res.FILE.
round() {
	local name=$1 file=$2 url=$3 hdr=$4 res rss hwm pids c0 c1
	pids=$(server_pids "$file")
	# shellcheck disable=SC2086
	c0=$(cpu_ms $pids)
	res=$(wrk_run "$name" "$DURATION" "$url" "$hdr") || die "wrk against $url failed (see $WRKLOG)"
	# shellcheck disable=SC2086
	c1=$(cpu_ms $pids)
	res="${res%?}, \"cpu_ms\": $((c1 - c0))}"
	echo "$res" >> "$WORK/res.$file"
	read -r rss hwm <<< "$(mem "$PKD_PID")"
	echo "$rss $hwm" >> "$WORK/mem"
	say "  $name: $res; daemon VmRSS $rss kB, VmHWM $hwm kB"
}

say "warming up (${WARMUP_S} s each)"
wrk_run "warm-up portkeeperd" "$WARMUP_S" "$URL_PK" "Authorization: $AUTH" > /dev/null ||
    die "wrk against portkeeperd failed (see $WRKLOG)"
wrk_run "warm-up nginx" "$WARMUP_S" "$URL_NGINX" "Authorization: $AUTH" > /dev/null ||
    die "wrk against nginx failed (see $WRKLOG)"
: > "$WORK/res.pk" ; : > "$WORK/res.nginx" ; : > "$WORK/res.forward" ; : > "$WORK/res.health" ; : > "$WORK/mem"
for r in $(seq "$ROUNDS"); do
	say "round $r of $ROUNDS (${DURATION} s each)"
	# Alternate which goes first, so neither always follows the other.
	if [ $((r % 2)) = 1 ]; then
		round "portkeeperd round $r" pk "$URL_PK" "Authorization: $AUTH"
		round "nginx round $r" nginx "$URL_NGINX" "Authorization: $AUTH"
	else
		round "nginx round $r" nginx "$URL_NGINX" "Authorization: $AUTH"
		round "portkeeperd round $r" pk "$URL_PK" "Authorization: $AUTH"
	fi
done
say "GET /api/forwards/f1 with the password, GET /api/health without (${DURATION} s each)"
round "portkeeperd /api/forwards/f1" forward "$URL_FORWARD" "Authorization: $AUTH"
round "portkeeperd /api/health" health "$URL_HEALTH" ""
# The small answers' sizes, for the table.
HEALTH_BYTES=$(in_pi curl -s --max-time 2 "$URL_HEALTH" | wc -c)
FORWARD_BYTES=$(in_pi curl -s --max-time 2 -u admin:secret "$URL_FORWARD" | wc -c)
read -r RSS_AFTER HWM_AFTER <<< "$(mem "$PKD_PID")"
kill -0 "$PKD_PID" 2>/dev/null || die "portkeeperd died during the run"

# ---------------------------------------------------------------------------
# The tables.

LOAD="$LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
CPU=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -1)
VERSION=$(git -C "$TOP" describe --always --dirty 2>/dev/null || echo "?")
NGINX_VERSION=$("$NGINX" -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p')
"$PYTHON" - "$WORK" "$ROUNDS" "$DURATION" "$RPS_MIN" "$P99_MAX_MS" "$RSS_MAX_KB" \
    "$RSS_IDLE" "$HWM_IDLE" "$RSS_AFTER" "$HWM_AFTER" "$DOC_BYTES" "$HEALTH_BYTES" \
    "$NGINX_WORKERS" "$NGINX_WORKERS_RUN" "$LOAD" "$CPU" "$VERSION" "$(nproc)" \
    "$FORWARDS" "$THREADS" "$CONNS" "$FORWARD_BYTES" "$ACTIVE_AFTER_S" "$NGINX_VERSION" <<'EOF' | tee "$OUT"
import json, statistics, sys, time
(work, rounds, dur, rps_min, p99_max, rss_max, rss_idle, hwm_idle, rss_after,
 hwm_after, doc_bytes, health_bytes, ngx_cfg, ngx_run, load, cpu, version,
 ncpu, nfwd, threads, conns, forward_bytes, active_after, ngx_ver) = sys.argv[1:]
rps_min, p99_max, rss_max = float(rps_min), float(p99_max), int(rss_max)

def load_rounds(f):
    return [json.loads(l) for l in open("%s/res.%s" % (work, f)) if l.strip()]

def summary(rs):
    # The median round by req/s; latencies are each the median over rounds.
    return {
        "rps": statistics.median(r["rps"] for r in rs),
        "p50": statistics.median(r["p50"] for r in rs),
        "p99": statistics.median(r["p99"] for r in rs),
        "rps_all": [r["rps"] for r in rs],
        "p99_all": [r["p99"] for r in rs],
        "bad": sum(r["non2xx"] + r["errors"] for r in rs),
        "requests": sum(r["requests"] for r in rs),
        # The server's CPU time per request, in microseconds.
        "cpu_us": statistics.median(1000.0 * r["cpu_ms"] / max(r["requests"], 1) for r in rs),
    }

pk, ngx, fwd, health = (summary(load_rounds(f)) for f in ("pk", "nginx", "forward", "health"))

def f_rps(x): return "{:,.0f}".format(x)
def f_ms(x): return ("%.2f" % x) if x < 10 else ("%.1f" % x)
def f_all(xs, f): return " / ".join(f(x) for x in xs)

print("GET /api/status on loopback in the pi's namespace of the simulated home "
      "network, %s, portkeeperd built from %s; %s CPUs (%s) shared by wrk, the "
      "server under test and whatever else runs on the machine (load average "
      "%s)." % (time.strftime("%Y-%m-%d"), version, ncpu, cpu, load))
print("`wrk -t%s -c%s -d%ss --latency -H 'Authorization: Basic …'`, after a 2 s "
      "warm-up of each server; %s round%s each, the two servers alternating; req/s "
      "is the median round (every round in the next column), p50 and p99 the "
      "medians over the rounds." % (threads, conns, dur, rounds,
                                    "" if rounds == "1" else "s"))
print("portkeeperd: %s active forwards (all active %s s after the start), the "
      "%s-byte status document (rebuilt by the daemon at most once a second), "
      "HTTP Basic against a bcrypt cost 10 htpasswd (the daemon caches a "
      "verified password). nginx %s: the same document saved to a file, the "
      "same response headers, no authentication, access_log off, "
      "worker_processes %s (%s workers)."
      % (nfwd, active_after, doc_bytes, ngx_ver, ngx_cfg, ngx_run))
print()
print("| server | request | req/s | req/s, every round | p50 ms | p99 ms | server CPU µs/request | ratio to nginx (req/s) |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
def row(server, what, x, ratio):
    print("| %s | %s | %s | %s | %s | %s | %.0f | %s |"
          % (server, what, f_rps(x["rps"]), f_all(x["rps_all"], f_rps),
             f_ms(x["p50"]), f_ms(x["p99"]), x["cpu_us"], ratio))
row("nginx (static file)", "GET /api/status", ngx, "—")
row("portkeeperd", "GET /api/status, Basic auth", pk, "%.2f" % (pk["rps"] / ngx["rps"]))
row("portkeeperd", "GET /api/forwards/f1, Basic auth (%s-byte body), 1 round"
    % forward_bytes, fwd, "—")
row("portkeeperd", "GET /api/health, no auth (%s-byte body), 1 round"
    % health_bytes, health, "—")
print()
print("Server CPU: utime+stime of the daemon (all its threads) or of every nginx "
      "process over the round, over the requests served (median over the "
      "rounds); it depends less on what else runs on the machine than req/s "
      "and latency do.")
print()

def verdict(ok, miss):
    return "met" if ok else "**missed**: " + miss

print("| target | measured | verdict |")
print("|---|---|---|")
print("| GET /api/status ≥ %s req/s | %s req/s (rounds: %s) | %s |"
      % (f_rps(rps_min), f_rps(pk["rps"]), f_all(pk["rps_all"], f_rps),
         verdict(pk["rps"] >= rps_min, "%s req/s short" % f_rps(rps_min - pk["rps"]))))
print("| GET /api/status p99 < %.0f ms | %s ms (rounds: %s) | %s |"
      % (p99_max, f_ms(pk["p99"]), f_all(pk["p99_all"], f_ms),
         verdict(pk["p99"] < p99_max, "over by %s ms" % f_ms(pk["p99"] - p99_max))))
for label, kb, extra in (
        ("VmRSS, %s active forwards, before the load" % nfwd, int(rss_idle),
         " (VmHWM %s kB)" % hwm_idle),
        ("VmRSS after the wrk rounds", int(rss_after), ""),
        ("VmHWM after the wrk rounds (the peak, under load)", int(hwm_after), "")):
    print("| %s ≤ %d kB | %d kB%s | %s |"
          % (label, rss_max, kb, extra,
             verdict(kb <= rss_max, "over by %d kB" % (kb - rss_max))))
bad = pk["bad"] + ngx["bad"] + fwd["bad"] + health["bad"]
if bad:
    print()
    print("**%d non-2xx answers or socket errors**: the figures above are not valid." % bad)
sys.exit(3 if bad else 0)
EOF
rc=${PIPESTATUS[0]}
[ "$rc" = 0 ] || die "wrk saw errors or non-2xx answers (see $WRKLOG), or the summary failed"
say "done in $(( $(date +%s) - start )) s"
exit 0

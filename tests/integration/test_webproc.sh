#!/bin/bash
# portkeeperd's web and control sockets are served by portkeeperd-web, a
# process of its own (daemon/front.c): started with the daemon, ended when
# idle (PORTKEEPERD_WEB_IDLE_MS, 1.5 s here), started again by the next
# connection on either socket, kept while an event stream is open or a
# failed login is remembered, started again after it was killed, and
# stopped with the daemon; without it, a start with [web] fails.  The daemon itself maps neither libmicrohttpd
# nor GnuTLS nor libcrypt.
. "$(dirname "$0")/lib.sh"
require_netns
net_up

htpasswd -nbB -C 5 admin secret > "$T_WORK/htpasswd"
export PORTKEEPERD_WEB_IDLE_MS=1500
web_daemon_start
unset PORTKEEPERD_WEB_IDLE_MS
SOCK=$T_WORK/api.sock
URL=http://127.0.0.1:8088

# web_pid: the daemon's portkeeperd-web, if one runs.
web_pid() { pgrep -P "$PKD_PID" -x portkeeperd-web; }
no_web() { ! web_pid > /dev/null; }
health() { in_ns pi curl -sf --max-time 3 "$URL/api/health" > /dev/null; }
status_sock() {
	in_ns pi curl -sf --max-time 3 --unix-socket "$SOCK" http://pk/api/status |
	    "$PY" -c 'import json, sys; json.load(sys.stdin)["forwards"]'
}
maps_clean() {
	! grep -E 'libmicrohttpd|libgnutls|libcrypt\.' "/proc/$PKD_PID/maps"
}

check "portkeeperd starts portkeeperd-web, which answers" until_ok 10 health
first=$(web_pid)
check "... as a child of the daemon" test -n "$first"
check "the daemon maps neither libmicrohttpd nor GnuTLS nor libcrypt" \
    maps_clean
check "... which the web process does" grep -q libmicrohttpd "/proc/$first/maps"

check "idle for 1.5 s, the web process ends" until_ok 10 no_web
check "... and the daemon goes on" kill -0 "$PKD_PID"
t0=$(date +%s%N)
check "the next connection on [web] starts it again and is answered" health
note "answered $(( ($(date +%s%N) - t0) / 1000000 )) ms after connecting, the web process started meanwhile"
check "... by a new process" test -n "$(web_pid)" -a "$(web_pid)" != "$first"
until_ok 10 no_web
check "a connection on the control socket starts it too" status_sock
check "portkeeper status works with no web process running" \
    eval 'until_ok 10 no_web && pk_on pi status --socket "$SOCK" > /dev/null'

# An event stream keeps it: events come through it as they did in the
# daemon's own process.
until_ok 10 no_web
in_ns pi curl -sN --max-time 4 -u admin:secret "$URL/api/events" \
    > "$T_WORK/events" 2>/dev/null &
EV=$!
check "an open event stream gets the status" until_ok 5 \
    grep -q '^event: status' "$T_WORK/events"
sp=$(web_pid)
sleep 2.5
check "... and keeps the web process past its idle time" \
    test -n "$sp" -a "$(web_pid)" = "$sp"
wait "$EV" 2>/dev/null
# libmicrohttpd sees the stream closed when a write to it fails: the
# first keep-alive after the close (SSE_PING_MS, 15 s) may still go out,
# the second does not.
t0=$(date +%s)
check "once it closed, the web process ends" until_ok 40 no_web
note "it ended $(( $(date +%s) - t0 )) s after the stream closed"

# A failed login is remembered (RATELIMIT_GUESSER_MS): a guesser who
# waits for the process to end must not find it forgotten.
in_ns pi curl -s --max-time 3 -o /dev/null -u admin:wrong "$URL/api/status"
fp=$(web_pid)
sleep 2.5
check "after a failed login the web process stays" \
    test -n "$fp" -a "$(web_pid)" = "$fp"

# Killed: the daemon says so and the next connection starts another.
kill -9 "$fp"
check "a killed web process is logged" until_ok 5 \
    grep -q 'portkeeperd-web was killed by signal 9' "$T_WORK/pkd.log"
check "... and the next connection starts another" until_ok 5 health
check "... the daemon still running" kill -0 "$PKD_PID"

# Stopped with the daemon: nothing left behind.
wp=$(web_pid)
kill "$PKD_PID"
wait "$PKD_PID" 2>/dev/null
check "SIGTERM stops the daemon and its web process" not kill -0 "$wp"
check "... and removes the control socket" test ! -e "$SOCK"
# Without its web program (a broken install): the start fails, saying so.
mkdir -p "$T_WORK/bin"
cp "$(dirname "$PORTKEEPER")/portkeeperd" "$T_WORK/bin/"
ip netns exec "$PK_NET-pi" timeout 20 "$T_WORK/bin/portkeeperd" -f \
    -c "$T_WORK/pk.conf" > "$T_WORK/broken.log" 2>&1
rc=$?
check "without portkeeperd-web beside it or in ../libexec/portkeeper, a start with [web] fails" \
    [ "$rc" = 1 ]
check "... naming the program it could not run" \
    grep -q "cannot run $T_WORK/bin/portkeeperd-web" "$T_WORK/broken.log"
[ "$rc" = 1 ] || sed 's/^/# broken: /' "$T_WORK/broken.log"
if [ "$T_FAILED" != 0 ]; then
	sed 's/^/# pkd: /' "$T_WORK/pkd.log" | tail -30
fi
exit $T_FAILED

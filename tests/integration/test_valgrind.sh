#!/bin/bash
# portkeeperd and its web process once under valgrind, through what it does
# in a day: forwards made, the web API (status, a forward added and
# removed, bad JSON, a wrong password, the page, metrics, the event stream,
# the doctor), a router restart, a WAN address change, SIGHUP, SIGUSR1,
# and SIGTERM with a diagnosis and password checks still running.  Zero
# errors and zero leaks.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
if ! command -v valgrind > /dev/null; then
	skip "portkeeperd under valgrind" "valgrind is not installed"
	exit 0
fi
net_up
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

mkdir -p "$T_WORK/state"
htpasswd -nbB -C 5 admin secret > "$T_WORK/htpasswd"
# Checked on threads, and slow under valgrind: in flight at SIGTERM.
for u in s1 s2 s3; do htpasswd -nbB -C 10 "$u" pw >> "$T_WORK/htpasswd"; done
cat > "$T_WORK/conf" <<CONF
[portkeeper]
state_dir = $T_WORK/state
socket = $T_WORK/api.sock
lease = 120
verify_interval = 5

[web]
listen = 0.0.0.0:8088
htpasswd = $T_WORK/htpasswd

[forward web]
external = 8080
CONF

# Its web process (portkeeperd-web, which serves the API) too, each
# process's report in a file of its own; not the shells a hook would run.
ip netns exec "$PK_NET-pi" valgrind -q --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=9 \
    --trace-children=yes --trace-children-skip='*/sh,*/bash,*/dash' \
    --log-file="$T_WORK/vg.%p.log" \
    "$PKD" -f -v -c "$T_WORK/conf" > "$T_WORK/pkd.log" 2>&1 &
VG_PID=$!

B=http://$PK_PI:8088
web() {
	in_ns laptop curl -s --max-time 40 -u admin:secret -o /dev/null \
	    -w '%{http_code}' "$@"
}
JSON=(-H 'Content-Type: application/json')
check "the daemon answers under valgrind" until_ok 30 eval '[ "$(web "$B/api/health")" = 200 ]'
fwd_active() {
	pk status --socket "$T_WORK/api.sock" --json
	json_is '[f["state"] for f in j["forwards"]]' "$1"
}
check "its forward becomes active" until_ok 30 fwd_active "['active']"

in_ns laptop curl -s -N --max-time 8 -u admin:secret "$B/api/events" > "$T_WORK/sse" 2>/dev/null &
check "status" [ "$(web "$B/api/status")" = 200 ]
check "a forward added" [ "$(web -X POST "${JSON[@]}" -d '{"name":"g","external":8090}' "$B/api/forwards")" = 201 ]
check "the same again: 409" [ "$(web -X POST "${JSON[@]}" -d '{"name":"g","external":8090}' "$B/api/forwards")" = 409 ]
check "bad JSON: 400" [ "$(web -X POST "${JSON[@]}" -d '{"name":' "$B/api/forwards")" = 400 ]
check "a wrong password: 401" [ "$(in_ns laptop curl -s -u admin:bad -o /dev/null -w '%{http_code}' "$B/api/status")" = 401 ]
check "the page" [ "$(web "$B/")" = 200 ]
check "metrics" [ "$(web "$B/metrics")" = 200 ]
check "the doctor" [ "$(web -X POST "${JSON[@]}" -d '{"port":8080}' "$B/api/doctor")" = 200 ]
check "the forward removed" [ "$(web -X DELETE "$B/api/forwards/g")" = 204 ]
"$HOMENET" router-restart > /dev/null 2>&1
check "restored after a router restart" until_ok 30 fwd_active "['active']"
"$HOMENET" wan-change > /dev/null 2>&1
sleep 2
kill -HUP "$VG_PID"
kill -USR1 "$VG_PID"
sleep 1
in_ns laptop curl -s -N --max-time 30 -u admin:secret "$B/api/events" > /dev/null 2>&1 &
SSE_PID=$!
in_ns laptop curl -s --max-time 30 -u admin:secret "${JSON[@]}" -d '{"port":8080}' "$B/api/doctor" > "$T_WORK/doc" 2>/dev/null &
DOC_PID=$!
# Under valgrind a diagnosis takes seconds: give the request time to start.
sleep 2
AUTH_PIDS=()
for u in s1 s2 s3; do
	in_ns laptop curl -s --max-time 30 -o /dev/null -w '%{http_code}\n' \
	    -u "$u:pw" "$B/api/status" > "$T_WORK/auth-$u" 2>/dev/null &
	AUTH_PIDS+=($!)
done
sleep 0.5
kill -TERM "$VG_PID"
wait "$VG_PID"
rc=$?
wait "$SSE_PID" "$DOC_PID" "${AUTH_PIDS[@]}"
codes=$(cat "$T_WORK"/auth-s? | sort | tr '\n' ' ')
note "password checks in flight at SIGTERM answered: $codes"
check "password checks in flight at SIGTERM are answered (200 or 503)" \
    eval '[ "$(grep -cE "^(200|503)$" "$T_WORK"/auth-s?  | awk -F: "{n+=\$2} END {print n}")" = 3 ]'
check "event stream carried events" grep -q '^event: ' "$T_WORK/sse"
# Either it was cut short and told why, or it had finished: never hung up on.
check "a diagnosis in flight at SIGTERM is answered" \
    grep -q '"stopping"\|"verdict"' "$T_WORK/doc"
check "valgrind: no error and no leak (exit $rc)" [ "$rc" = 0 ]
nvg=$(ls "$T_WORK"/vg.*.log | wc -l)
check "... in the daemon and its web process ($nvg reports, each empty)" \
    eval '[ "$nvg" -ge 2 ] && ! grep -q . "$T_WORK"/vg.*.log'
check "... which ended by itself, not killed" not grep -q 'portkeeperd-web was killed\|exited with status' "$T_WORK/pkd.log"
if [ "$T_FAILED" != 0 ]; then
	cat "$T_WORK"/vg.*.log | sed 's/^/# /' | head -60
	tail -20 "$T_WORK/pkd.log" | sed 's/^/# /'
fi
exit $T_FAILED

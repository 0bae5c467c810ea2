#!/bin/bash
# An attacker on the home network against the web API (issue 13), from
# the laptop's namespace, with as many LAN addresses as each attack takes:
#
# - 220 addresses guessing a password, each as fast as it is answered:
#   every check slot used to be busy and every new correct login got 503;
#   now a client that is not guessing gets through (item 4).
# - nine wrong passwords and the right one, over and over, from one
#   address: a success used to reset the limit, 1,148 guesses a minute
#   were checked; now the limit holds (item 5).
# - a password file that mixes hash types: the time of a failed login told
#   which users exist (an unknown user 2.5 ms, a bcrypt user 55 ms); now
#   both take as long (item 6).
# - a loopback listener without a password file: any local user could open
#   router ports through it; now it only reads (item 7).
# - portkeeperd -n said "configuration OK" for a password file the start
#   then refused (item 8); a forward named ".." (item 9); a 405 whose JSON
#   took the method as it came; a name cut at \u0000; HTTP/1.0 health
#   checks without Host; a password file every user may read.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
net_up --no-hairpin

htpasswd -nbB -C 5 admin secret > "$T_WORK/htpasswd"
# A user with an MD5 hash (Apache's htpasswd -m), for item 6.
htpasswd -nbm mdfive pw-mdfive >> "$T_WORK/htpasswd"
# As htpasswd -B makes them by default: cost 10, about 55 ms a check.
for u in slow fresh0 fresh1 fresh2 fresh3 fresh4 fresh5 fresh6 fresh7 \
    fresh8 fresh9; do
	htpasswd -nbB -C 10 "$u" "pw-$u" >> "$T_WORK/htpasswd"
done
web_daemon_start -v
BASE=http://$PK_PI:8088
check "the web API answers" until_ok 5 eval \
    'in_ns laptop curl -sf --max-time 1 "$BASE/api/health" > /dev/null'

# --- Item 4: 220 guessing addresses, and one person who is not ---------
srcs=()
for i in $(seq 30 249); do
	srcs+=("192.168.77.$i")
done
printf 'address add %s/24 dev eth0\n' "${srcs[@]}" | in_ns laptop ip -batch -
# ip netns exec execs the attacker, so $! is it, for kill.
ip netns exec "$PK_NET-laptop" "$PY" "$TOP/tests/net/loginflood.py" flood --target "$PK_PI:8088" \
    --sources "$(IFS=,; echo "${srcs[*]}")" --user slow --duration 180 \
    > "$T_WORK/flood.json" 2>&1 &
FLOOD=$!
# An address that has not guessed yet cannot be told from a person; once
# each has had a wrong password checked, every one of them is guessing.
guessers() {
	[ "$(sed -n 's/.*failed web login as "slow" from \([0-9.]*\).*/\1/p' \
	    "$T_WORK/pkd.log" | sort -u | wc -l)" -ge 220 ]
}
start=$(date +%s)
check "each of the 220 addresses has had a wrong password checked" \
    until_ok 150 guessers
note "... after $(( $(date +%s) - start )) s"
ok_logins=0
for i in 0 1 2 3 4 5 6 7 8 9; do
	code=$(in_ns laptop curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    --interface "$PK_LAPTOP" -u "fresh$i:pw-fresh$i" "$BASE/api/status")
	[ "$code" = 200 ] && ok_logins=$((ok_logins + 1))
	[ "$code" = 200 ] || note "fresh$i's login got $code"
	sleep 1
done
kill "$FLOOD"; wait "$FLOOD"
OUT=$(cat "$T_WORK/flood.json")
note "220 guessing addresses: $OUT"
note "correct logins of users never seen before, from an address not guessing: $ok_logins of 10 got through"
check "a correct password from an address that is not guessing gets through the guessing of 220 addresses (10 of 10)" \
    [ "$ok_logins" = 10 ]

# --- Item 5: a success does not reset the limit -----------------------
in_ns laptop ip addr add 192.168.77.21/24 dev eth0
in_ns laptop "$PY" "$TOP/tests/net/loginflood.py" reset --target "$PK_PI:8088" \
    --source 192.168.77.21 --user admin --password secret --duration 30 \
    > "$T_WORK/reset.json" 2>&1
OUT=$(cat "$T_WORK/reset.json")
note "nine wrong passwords and the right one, over and over, for 30 s: $OUT"
check "... the limit holds: at most 10 wrong passwords checked, then 429" json_is \
    'j["answers"].get("401", 0) <= 10 and j["answers"].get("429", 0) > 0' True

# --- Item 6: timing does not tell which users exist ---------------------
# Two fresh addresses, eight wrong logins each (under the limit of ten).
for i in 22 23 24; do in_ns laptop ip addr add "192.168.77.$i/24" dev eth0; done
# The median of eight failed logins from src; any answer but 401 is said.
times() {
	local src=$1 user=$2 i
	for i in 1 2 3 4 5 6 7 8; do
		in_ns laptop curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
		    --max-time 5 --interface "$src" -u "$user:wrong-$i" "$BASE/api/status"
	done > "$T_WORK/times"
	grep -v '^401 ' "$T_WORK/times" | sed 's/^/# not 401: /' >&2
	cut -d' ' -f2 "$T_WORK/times" | sort -n | sed -n 4p
}
t_unknown=$(times 192.168.77.22 nosuchuser)
t_md5=$(times 192.168.77.23 mdfive)
t_bcrypt=$(times 192.168.77.24 fresh0)
note "median time of a failed login: unknown user ${t_unknown} s, MD5 user ${t_md5} s, bcrypt user ${t_bcrypt} s"
check "... an unknown user and an MD5 user fail as slowly as a bcrypt user" awk \
    -v u="$t_unknown" -v m="$t_md5" -v b="$t_bcrypt" \
    'BEGIN { exit !(u >= 0.7 * b && m >= 0.7 * b) }'

# --- The smaller ones, on the same listener -----------------------------
web() {
	in_ns laptop curl -s -o "$T_WORK/body" -w '%{http_code}' --max-time 5 \
	    --interface "$PK_LAPTOP" "$@" > "$T_WORK/code" 2>/dev/null
	CODE=$(cat "$T_WORK/code")
	OUT=$(cat "$T_WORK/body" 2>/dev/null)
}
WRITE=(-u admin:secret -H 'Content-Type: application/json' -H "Origin: $BASE")
web "${WRITE[@]}" -d '{"name":"..","external":7001}' "$BASE/api/forwards"
check "a forward named \"..\" is refused with 400 (item 9)" eval \
    '[ "$CODE" = 400 ] && json_is "j[\"error\"][\"code\"]" bad_field'
web "${WRITE[@]}" -d '{"name":"web\u0000x","external":7002}' "$BASE/api/forwards"
check "a name holding \\u0000 is refused, not cut" eval \
    '[ "$CODE" = 400 ] && [[ $OUT == *u0000* ]]'
web -u admin:secret -X 'X","code":"injected' "$BASE/api/status"
check "a 405's JSON quotes the method, which cannot set the code" eval \
    '[ "$CODE" = 405 ] && json_is "j[\"error\"][\"code\"]" method_not_allowed'
web --http1.0 -H 'Host:' "$BASE/api/health"
check "HTTP/1.0 without Host gets /api/health (HAProxy's default check)" \
    [ "$CODE" = 200 ]
web --http1.0 -H 'Host:' -u admin:secret "$BASE/api/status"
check "... and only /api/health: /api/status is still 421" [ "$CODE" = 421 ]
kill "$PKD_PID"; wait "$PKD_PID" 2>/dev/null

# --- Item 8: portkeeperd -n checks the password file --------------------
sed "s|^htpasswd = .*|htpasswd = $T_WORK/missing|" "$T_WORK/pk.conf" > "$T_WORK/n1.conf"
in_ns pi "$PKD" -n -c "$T_WORK/n1.conf" > "$T_WORK/n1.out" 2>&1
rc=$?
check "portkeeperd -n refuses a missing password file, naming it (item 8)" eval \
    '[ "$rc" = 1 ] && ! grep -q "configuration OK" "$T_WORK/n1.out" && grep -q "missing: No such file" "$T_WORK/n1.out"'
printf 'bob:{SHA}GpHWL3ymc5liWkNopqtdSjuqYHM=\n' > "$T_WORK/sha.htpasswd"
sed "s|^htpasswd = .*|htpasswd = $T_WORK/sha.htpasswd|" "$T_WORK/pk.conf" > "$T_WORK/n2.conf"
in_ns pi "$PKD" -n -c "$T_WORK/n2.conf" > "$T_WORK/n2.out" 2>&1
rc=$?
check "... and one with only refused hash types, exit status 1" eval \
    '[ "$rc" = 1 ] && grep -q "unsalted SHA-1" "$T_WORK/n2.out"'
chmod 644 "$T_WORK/htpasswd"
in_ns pi "$PKD" -n -c "$T_WORK/pk.conf" > "$T_WORK/n3.out" 2>&1
check "... and says when every user may read the password file" \
    grep -q "every user of this host can read its password hashes (mode 0644)" "$T_WORK/n3.out"

# --- Item 7: a loopback listener without passwords only reads -----------
mkdir -p "$T_WORK/ro" "$T_WORK/nb"
chmod 755 "$T_WORK" "$T_WORK/ro"
chmod 1777 "$T_WORK/nb"
cat > "$T_WORK/ro.conf" <<CONF
[portkeeper]
state_dir = $T_WORK/ro
socket = $T_WORK/ro/api.sock
[web]
listen = 127.0.0.1:8089
CONF
ip netns exec "$PK_NET-pi" "$PKD" -f -c "$T_WORK/ro.conf" > "$T_WORK/ro.log" 2>&1 &
PKD_PID=$!
local_user() {
	in_ns pi runuser -u nobody -- curl -s -o "$T_WORK/nb/body" -w '%{http_code}' \
	    --max-time 5 "$@"
}
check "the loopback listener answers" until_ok 5 eval \
    '[ "$(local_user http://127.0.0.1:8089/api/health)" = 200 ]'
check "... any local user may read the status" eval \
    '[ "$(local_user http://127.0.0.1:8089/api/status)" = 200 ]'
code=$(local_user -H 'Content-Type: application/json' \
    -H 'Origin: http://127.0.0.1:8089' -d '{"name":"ssh","external":4444,"internal":22}' \
    http://127.0.0.1:8089/api/forwards)
check "... but user nobody cannot open a port there: 403 read_only" eval \
    '[ "$code" = 403 ] && grep -q read_only "$T_WORK/nb/body"'
pk list --json
check "... and the router has no forward of 4444" json_is \
    '[m for m in j["mappings"] if m["external_port"] == 4444]' "[]"
kill "$PKD_PID"; wait "$PKD_PID" 2>/dev/null
exit $T_FAILED

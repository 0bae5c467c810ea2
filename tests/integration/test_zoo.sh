#!/bin/bash
# The router zoo (tests/zoo/): every profile of tests/zoo/profiles/ in turn
# impersonated on the router (miniupnpd off), and portkeeper run against it
# as a user would: ip, open 8080, the internet host reaching the pi through
# the forward, list, close, and portkeeperd making a forward with a short
# lease and refreshing it (or, on a router that only grants permanent
# forwards, making it with lease 0 and leaving it alone).  What each step
# must give comes from the profile's "expect" block alone, so a profile
# records how portkeeper fares on that router; each check is named with it.
# ZOO_PROFILES="a b" runs only those profiles (names without .json);
# ZOO_PROFILE_DIR another directory of profiles.
. "$(dirname "$0")/lib.sh"
require_netns
PKD=${PORTKEEPERD:-$(dirname "$PORTKEEPER")/portkeeperd}
PROFILES=${ZOO_PROFILE_DIR:-$TOP/tests/zoo/profiles}
T0=$(date +%s%N)
# The daemon's lease: it refreshes at half of it (+-10 %).
DLEASE=3
net_up --no-upnp --no-natpmp
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# expect PROFILE: the profile's expect block as shell variables, with the
# defaults of tests/zoo/README.md.
cat > "$T_WORK/expect.py" <<'EXPECT'
import json, shlex, sys
p = json.load(open(sys.argv[1]))
e = p["expect"]
via = e.get("via") or ("natpmp" if p.get("description") is None else "upnp")
err = lambda v: isinstance(v, dict)
code = lambda v: v["error"] if err(v) else v
ok = not err(e["open"])
lease = e.get("lease")
daemon = e.get("daemon") or ("fails" if not ok else
                             "permanent" if lease == 0 else "refresh")
lst = e.get("list")
if lst is None:
    lst = ok and via == "upnp"
out = {"VIA": via, "E_IP": code(e["ip"]), "E_IP_ERR": int(err(e["ip"])),
       "E_OPEN": code(e["open"]), "E_OPEN_ERR": int(not ok),
       "E_LEASE": "" if lease is None else lease, "E_NOTE": e.get("note") or "",
       "E_REACH": int(bool(e["reachable"])), "E_LIST": int(bool(lst)),
       "E_DAEMON": daemon, "E_ROUTER": e.get("router") or "",
       "E_QUIRKS": repr(sorted(e.get("quirks") or [])),
       "E_ADVICE": e.get("advice") or "", "E_METHOD": e.get("method") or ""}
for k, v in out.items():
    print("%s=%s" % (k, shlex.quote(str(v))))
EXPECT

# The zoo on the router: z_start PROFILE (returns once it serves).
z_start() {
	Z_LOG=$T_WORK/$NAME.log
	zoo_start "$Z_LOG" "$1"
}
z_stop() { zoo_stop; }
# No rule of the zoo left in the router's chains.
z_clean() {
	! in_ns router nft list table inet pk_router 2>/dev/null | grep -q '"zoo"'
}

# portkeeperd on the pi with one forward, 8090, so that it runs alongside
# the CLI's 8080 (NAT-PMP knows a mapping by its internal port: the ports
# must differ on both sides).  Only the zoo's log shows what it did.
d_start() {
	mkdir -p "$T_WORK/$NAME.state"
	cat > "$T_WORK/$NAME.conf" <<CONF
[portkeeper]
method = $VIA
lease = $DLEASE
state_dir = $T_WORK/$NAME.state
socket = $T_WORK/$NAME.sock
remove_on_exit = yes

[forward zoo]
external = 8090
internal = 8090
CONF
	ip netns exec "$PK_NET-pi" "$PKD" -f -v -c "$T_WORK/$NAME.conf" \
	    > "$T_WORK/$NAME.pkd.log" 2>&1 &
	D_PID=$!
}
d_stop() {
	kill "$D_PID" 2>/dev/null
	wait "$D_PID" 2>/dev/null
}
# The daemon's forwards the zoo made (SOAP or NAT-PMP), one line each.
D_ADD='(soap Add(Any)?PortMapping|natpmp op=2) .*ext=8090 .*-> ok'
d_adds() { grep -cE "$D_ADD" "$Z_LOG"; }
d_adds_at_least() { [ "$(d_adds)" -ge "$1" ]; }
d_first_permanent() {
	[[ $(grep -m1 -E "$D_ADD" "$Z_LOG") == *"-> ok ext=8090 lease=0" ]]
}
d_failed() {
	pk status --socket "$T_WORK/$NAME.sock" --json
	json_is '[f["state"] for f in j["forwards"]]' "['failed']"
}

# zcheck NAME COMMAND...: check, and on failure what portkeeper said.
zcheck() {
	local name=$1; shift
	OUT="" ERR=""
	if "$@"; then
		ok "$name"
	else
		nok "$name"
		note "portkeeper said: $(echo "$OUT $ERR" | tr '\n' ' ' | head -c 500)"
	fi
}

ip_ok() {
	pk ip --via "$VIA" --json
	if [ "$E_IP_ERR" = 1 ]; then
		json_is 'j["ok"], j["error"]["code"]' "(False, '$E_IP')"
	else
		local want=$E_IP
		[ "$want" != wan ] || want=$PK_WAN
		json_is 'j["ok"], j["external_ip"]' "(True, '$want')" || return 1
		[ -z "$E_ROUTER" ] || E_ROUTER=$E_ROUTER json_is \
		    'j["router"]["label"] == __import__("os").environ["E_ROUTER"]' True
	fi
}
# The daemon's status names the router and the quirks it met (the page
# shows this object), and a permanent forward as permanent.
d_router() {
	pk status --socket "$T_WORK/$NAME.sock" --json
	E_ROUTER=$E_ROUTER json_is \
	    'j["router"]["label"] == __import__("os").environ["E_ROUTER"]' \
	    True || return 1
	json_is 'sorted(j["router"]["quirks"])' "$E_QUIRKS" || return 1
	[ "$E_DAEMON" != permanent ] ||
	    json_is '[f["permanent"] for f in j["forwards"]]' "[True]"
}
# The doctor names the fix in the router's own settings.
doctor_advice() {
	pk doctor 8080 --json
	E_ADVICE=$E_ADVICE json_is \
	    '__import__("os").environ["E_ADVICE"] in (j.get("router_advice") or "")' True
}
open_ok() {
	pk open 8080 --via "$VIA" --json
	if [ "$E_OPEN_ERR" = 1 ]; then
		json_is 'j["ok"], j["error"]["code"]' "(False, '$E_OPEN')"
		return
	fi
	json_is 'j["ok"], j["external_port"]' "(True, 8080)" || return 1
	[ -z "$E_METHOD" ] || json_is 'j["method"]' "$E_METHOD" || return 1
	if [ -n "$E_LEASE" ]; then
		json_is "$E_LEASE - 5 <= j['lease'] <= $E_LEASE" True || return 1
	fi
	[ -z "$E_NOTE" ] || E_NOTE=$E_NOTE json_is \
	    '__import__("os").environ["E_NOTE"] in j.get("note", "")' True
}
# The leases open asked for 8080 with, in order ("3600 0": the lease, then
# lease 0 once after a refusal).
open_leases() {
	grep -E 'soap Add(Any)?PortMapping .* ext=8080 ' "$Z_LOG" |
	    sed -E 's/ -> .*//; s/.* lease=([0-9]+).*/\1/' | tr '\n' ' ' |
	    sed 's/ $//'
}
list_ok() {
	pk list --json
	json_is '[m["this_host"] for m in j["mappings"] if m["external_port"] == 8080 and m["protocol"] == "tcp"]' "[True]"
}
close_ok() {
	pk close 8080 --via "$VIA" --json
	json_is 'j["ok"], j["removed"]' "(True, True)"
}

# One profile: every step, each check named with the profile.
zoo_profile() {
	local f=$1 t0 vars
	NAME=$(basename "$f" .json)
	t0=$(date +%s%N)
	if ! vars=$("$PY" "$T_WORK/expect.py" "$f" 2>&1); then
		nok "$NAME: its expect block reads"
		note "$(echo "$vars" | tail -1)"
		return
	fi
	eval "$vars"
	if ! z_start "$f"; then
		nok "$NAME: the zoo serves the profile"
		return
	fi
	d_start
	if [ "$E_IP_ERR" = 1 ]; then
		zcheck "$NAME: ip via $VIA fails with $E_IP" ip_ok
	else
		zcheck "$NAME: ip via $VIA gives the ${E_IP/#wan/WAN} address" ip_ok
	fi
	if [ "$E_OPEN_ERR" = 1 ]; then
		zcheck "$NAME: open 8080 fails with $E_OPEN" open_ok
	else
		zcheck "$NAME: open 8080 succeeds${E_METHOD:+ via $E_METHOD}${E_LEASE:+ with lease $E_LEASE}${E_NOTE:+ and says \"$E_NOTE\"}" open_ok
	fi
	# A lease refused (or everything refused): lease 0 asked once, no more.
	if [ "$VIA" = upnp ] && { [ "$E_LEASE" = 0 ] || [ "$E_OPEN" = not_authorized ]; }; then
		check "$NAME: open asked for 3600 s, then once for lease 0" \
		    [ "$(open_leases)" = "3600 0" ]
	fi
	if [ "$E_REACH" = 1 ]; then
		check "$NAME: open makes 8080 reachable from the internet host" until_ok 1 reaches inet "$PK_WAN" 8080
	else
		check "$NAME: the internet host does not reach the pi on 8080" not reaches inet "$PK_WAN" 8080
	fi
	if [ "$E_LIST" = 1 ]; then
		zcheck "$NAME: list shows 8080 as this host's" list_ok
	fi
	if [ "$E_OPEN_ERR" = 0 ]; then
		zcheck "$NAME: close 8080 removes it" close_ok
		check "$NAME: after close the internet host no longer reaches the pi" not reaches inet "$PK_WAN" 8080
	fi
	case $E_DAEMON in
	refresh)
		check "$NAME: portkeeperd made its forward (lease $DLEASE) and refreshed it" \
		    until_ok 6 d_adds_at_least 2 ;;
	permanent)
		if until_ok 5 d_adds_at_least 1; then
			check "$NAME: portkeeperd made its forward with lease 0" d_first_permanent
			# Today's refresh would come at half the configured lease.
			sleep $((DLEASE - 1)).5
			check "$NAME: portkeeperd did not re-add the permanent forward within $((DLEASE - 1)).5 s" \
			    [ "$(d_adds)" = 1 ]
		else
			nok "$NAME: portkeeperd made its forward with lease 0"
		fi ;;
	fails)
		check "$NAME: portkeeperd's forward is failed" until_ok 5 d_failed ;;
	esac
	if [ -n "$E_ROUTER" ] && [ "$VIA" = upnp ]; then
		zcheck "$NAME: portkeeperd's status names the router and the quirks $E_QUIRKS" \
		    until_ok 3 d_router
	fi
	if [ -n "$E_ADVICE" ]; then
		zcheck "$NAME: doctor says the fix in the router's settings" doctor_advice
	fi
	d_stop
	z_stop
	check "$NAME: the zoo removed its forwards at exit" z_clean
	note "$NAME: $(ms_since "$t0") ms"
}

n=0
for f in "$PROFILES"/*.json; do
	[ -e "$f" ] || continue
	if [ -n "${ZOO_PROFILES:-}" ] && [[ " $ZOO_PROFILES " != *" $(basename "$f" .json) "* ]]; then
		continue
	fi
	zoo_profile "$f"
	n=$((n + 1))
done
check "the zoo has profiles" [ "$n" -gt 0 ]
# Routers that answer only IGD:2 searches, or only TR-064's root device type,
# are found because portkeeper asks for each (the last profile's log).
for st in urn:schemas-upnp-org:device:InternetGatewayDevice:1 \
    urn:schemas-upnp-org:device:InternetGatewayDevice:2 \
    urn:dslforum-org:device:InternetGatewayDevice:1; do
	check "portkeeper's search asks for $st" \
	    grep -q "M-SEARCH from=$PK_PI:[0-9]* .*st=$st " "$Z_LOG"
done
note "$n profiles in $(ms_since "$T0") ms"
exit $T_FAILED

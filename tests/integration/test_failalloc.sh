#!/bin/bash
# Allocation failures in the loaders (issue 7): config_load, state_load,
# htpasswd_load and webapi_parse_forward on realistic inputs, with the Nth
# allocation failing for every N (only the Nth, then the Nth and all later
# ones), counted from just before the call and including libc's, cJSON's
# and inih's.  Each run must return the loader's error with a message that
# says memory ran out, leave nothing behind, and not crash; see
# tests/fault/loaders.c.  Then the same runs once more in one process under
# valgrind, for invalid reads and writes and for leaks by its own count.
# Needs no network and no root.
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
FAULT=$TOP/tests/fault
DRIVER=$T_WORK/fault_loaders

# The sources (FAULT_SRCS: the library's and the daemon's body parser) and
# flags as the Makefile has them, so that the
# driver is built from what the programs are built from.
mkvar() {
	make -s --no-print-directory -C "$TOP" \
	    --eval='pk-print-%: ; @echo $($*)' "pk-print-$1"
}
build_driver() {
	local srcs cflags libs s pids=() rc=0
	srcs=$(mkvar FAULT_SRCS) && cflags=$(mkvar PK_CFLAGS) && libs=$(mkvar PK_LIBS) || return 1
	mkdir -p "$T_WORK/obj"
	for s in $srcs tests/fault/failalloc.c tests/fault/loaders.c; do
		# shellcheck disable=SC2086 # flags are words
		(cd "$TOP" && "$CC" $cflags -I"$FAULT" -O1 -g -c "$s" \
		    -o "$T_WORK/obj/$(basename "$s" .c).o") &
		pids+=($!)
	done
	for s in "${pids[@]}"; do wait "$s" || rc=1; done
	[ "$rc" = 0 ] || return 1
	# -rdynamic: the driver names the function whose allocation failed.
	# shellcheck disable=SC2086
	"$CC" -rdynamic -o "$DRIVER" "$T_WORK"/obj/*.o $libs
}
t0=$(date +%s)
if ! build_driver > "$T_WORK/build.log" 2>&1; then
	sed 's/^/# /' "$T_WORK/build.log"
	nok "build tests/fault/loaders.c with the library's sources"
	exit 1
fi
note "driver built in $(( $(date +%s) - t0 )) s"

# A configuration like a Pi's after a while: every key, a [web] section and
# 40 forwards; and a big one (300 forwards, more than the 16 KiB that
# config_load reads at first), so that both of its buffers grow.
IN=$T_WORK/in
mkdir -p "$IN/state" "$IN/small"
main_section() {
	cat <<'EOF'
; portkeeperd on the Pi
[portkeeper]
method = auto            ; auto | upnp | natpmp
lease = 3600
state_dir = /var/lib/portkeeper
on_change = /etc/portkeeper/on-change
remove_on_exit = yes
socket = /run/portkeeper/api.sock
verify_interval = 60
probe = http://vps.example.net:8770

[web]
listen = 0.0.0.0:8088
htpasswd = /etc/portkeeper/htpasswd
allowed_hosts = raspberrypi.local, pi.home
tls_cert = /etc/portkeeper/cert.pem
tls_key = /etc/portkeeper/key.pem
EOF
}
forwards() {
	local i
	for i in $(seq 0 $(($1 - 1))); do
		printf '\n; service %d\n[forward svc%d]\nexternal = %d\ninternal = %d\nprotocol = %s\n' \
		    "$i" "$i" $((20000 + i)) $((8000 + i % 100)) \
		    "$([ $((i % 3)) = 2 ] && echo udp || echo tcp)"
	done
}
{ main_section; forwards 40; } > "$IN/portkeeper.conf"
{ main_section; forwards 300; } > "$IN/big.conf"
# A state written by state_save, as the daemon writes it: 40 mappings and
# 8 addresses; a smaller one for the valgrind run.
"$DRIVER" mkstate "$IN/state" 40 8 || nok "write a state.json with state_save"
"$DRIVER" mkstate "$IN/small" 4 2 || nok "write a small state.json"
# SHA-crypt users (bcrypt would work the same: hashes are checked later).
printf 'admin:%s\nbackup:%s\n' \
    "$(openssl passwd -5 -salt abcdefgh secret)" \
    "$(openssl passwd -6 -salt ijklmnop other)" > "$IN/htpasswd"
echo '{"name":"ssh","external":2222,"internal":22,"protocol":"tcp"}' > "$IN/body.json"
note "inputs: portkeeper.conf $(wc -c < "$IN/portkeeper.conf") bytes," \
    "big.conf $(wc -c < "$IN/big.conf") bytes, state.json" \
    "$(wc -c < "$IN/state/state.json") bytes"

# The driver names a failed allocation's caller as fault_loaders+0xOFFSET
# when the function is static; addr2line names it and its line.
symbolize() {
	local line re='fault_loaders\+(0x[0-9a-f]+)' at
	while IFS= read -r line; do
		if [[ $line =~ $re ]] && command -v addr2line > /dev/null; then
			at=$(addr2line -f -s -i -e "$DRIVER" "${BASH_REMATCH[1]}" 2>/dev/null | paste -sd' ')
			line="$line [$at]"
		fi
		printf '%s\n' "$line"
	done
}

t0=$(date +%s)
"$DRIVER" "config:$TOP/packaging/portkeeper.conf" "config:$IN/portkeeper.conf" \
    "config:$IN/big.conf" "state:$IN/state" "htpasswd:$IN/htpasswd" \
    "webapi:$IN/body.json" 2>&1 | symbolize
rc=${PIPESTATUS[0]}
note "every failure point in $(( $(date +%s) - t0 )) s"
[ "$rc" = 0 ] || T_FAILED=1

# valgrind: the same runs in one process (no fork), on the inputs above
# but the smaller state.  Its own checks print as comments here; the
# verdict is valgrind's (exit 99 on an error or a leak) and the driver's.
if ! command -v valgrind > /dev/null; then
	skip "under valgrind: no invalid access and no leak" "valgrind is not installed"
	exit $T_FAILED
fi
t0=$(date +%s)
# somalloc=nouserintercepts: valgrind takes over libc's allocator but not
# the driver's own malloc, which counts and then calls libc's.
valgrind -q --soname-synonyms=somalloc=nouserintercepts --leak-check=full --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
    "$DRIVER" --nofork "config:$TOP/packaging/portkeeper.conf" \
    "config:$IN/portkeeper.conf" "config:$IN/big.conf" "state:$IN/small" \
    "htpasswd:$IN/htpasswd" "webapi:$IN/body.json" > "$T_WORK/vg.out" 2>&1
rc=$?
note "valgrind run in $(( $(date +%s) - t0 )) s, exit status $rc"
sed -n 's/^\(# .*allocations in a normal load.*\)/\1 (valgrind)/p' "$T_WORK/vg.out"
if [ "$rc" = 0 ]; then
	ok "under valgrind, every failure point in one process: no invalid access, no leak"
else
	sed 's/^/# valgrind: /' "$T_WORK/vg.out" | head -80
	nok "under valgrind, every failure point in one process: no invalid access, no leak"
fi
exit $T_FAILED

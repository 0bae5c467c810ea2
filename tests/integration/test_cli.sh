#!/bin/bash
# The command line itself: help, usage errors, exit statuses, JSON errors.
# Needs no network: every case here fails before talking to a router.
. "$(dirname "$0")/lib.sh"

run() {
	"$PORTKEEPER" "$@" > "$T_WORK/out" 2> "$T_WORK/err"
	RC=$?
	OUT=$(cat "$T_WORK/out")
	ERR=$(cat "$T_WORK/err")
}

run --help
check "portkeeper --help lists the commands" eval \
    '[ "$RC" = 0 ] && [[ $OUT == *open*close*list*ip* ]]'
run
check "no command: usage on stderr, status 2" eval '[ "$RC" = 2 ] && [[ $ERR == *usage* ]]'
run frobnicate
check "unknown command: status 2, named" eval '[ "$RC" = 2 ] && [[ $ERR == *frobnicate* ]]'
run --version
check "--version" eval '[ "$RC" = 0 ] && [[ $OUT == "portkeeper "* ]]'
# Issue 17: only probe-server serves HTTP, and it is a program of its own.
check "the command line loads neither libmicrohttpd nor GnuTLS" not eval \
    'ldd "$PORTKEEPER" | grep -Eq "libmicrohttpd|libgnutls"'
run probe-server --help
check "probe-server --help runs its program" eval \
    '[ "$RC" = 0 ] && [[ $OUT == "usage: portkeeper probe-server"* ]]'

for cmd in open close list ip; do
	run "$cmd" --help
	check "$cmd --help" eval '[ "$RC" = 0 ] && [[ $OUT == "usage: portkeeper $cmd"* ]]'
	run help "$cmd"
	check "help $cmd" eval '[ "$RC" = 0 ] && [[ $OUT == "usage: portkeeper $cmd"* ]]'
	run "$cmd" --bogus
	check "$cmd --bogus is a usage error naming the option" eval \
	    '[ "$RC" = 2 ] && [[ $ERR == *"--bogus"* ]]'
done

for spec in 0 65536 80/sctp abc 80:0 -5 "80 81"; do
	run open "$spec"
	check "open '$spec' is a usage error" eval '[ "$RC" = 2 ] && [[ -n $ERR ]]'
done
run open
check "open without a port says which argument is missing" eval \
    '[ "$RC" = 2 ] && [[ $ERR == *"which port"* ]]'
run open 80 81
check "open with two ports: too many arguments" eval '[ "$RC" = 2 ] && [[ $ERR == *"too many"* ]]'
# pcp became a protocol with issue 15; pmp is no name of one.
run open 80 --via pmp
check "--via with an unknown protocol is named" eval '[ "$RC" = 2 ] && [[ $ERR == *pmp* ]]'
run open 80 --lease -1
check "a negative lease is a usage error" [ "$RC" = 2 ]
run open 80 --timeout 5
check "a silly --timeout is a usage error" [ "$RC" = 2 ]
run open 80/sctp --json
check "usage errors with --json are JSON with code usage" json_is \
    'j["ok"], j["error"]["code"], "sctp" in j["error"]["message"]' "(False, 'usage', True)"
check "... and status 2" [ "$RC" = 2 ]
run list extra
check "list takes no arguments" [ "$RC" = 2 ]
exit $T_FAILED

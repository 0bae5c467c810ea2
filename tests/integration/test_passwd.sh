#!/bin/bash
# portkeeper passwd: adds and replaces users in an htpasswd file that
# Apache's htpasswd (apache2-utils) verifies.  Needs no network.
. "$(dirname "$0")/lib.sh"

F=$T_WORK/htpasswd

# run [STDIN] ARGS...: portkeeper with STDIN on its standard input; sets
# OUT, ERR and RC.
run() {
	local in=$1; shift
	printf '%s' "$in" | "$PORTKEEPER" "$@" > "$T_WORK/out" 2> "$T_WORK/err"
	RC=$?
	OUT=$(cat "$T_WORK/out")
	ERR=$(cat "$T_WORK/err")
}
verifies() { htpasswd -vb "$F" "$1" "$2" > /dev/null 2>&1; }

if ! command -v htpasswd > /dev/null; then
	skip test_passwd "htpasswd is not installed (apache2-utils; make deps)"
	exit 0
fi

run '' passwd --help
check "passwd --help" eval '[ "$RC" = 0 ] && [[ $OUT == "usage: portkeeper passwd USER"* ]]'
run '' help passwd
check "help passwd" eval '[ "$RC" = 0 ] && [[ $OUT == "usage: portkeeper passwd"* ]]'
run '' --help
check "portkeeper --help lists passwd" eval '[[ $OUT == *"  passwd "* ]]'
run '' passwd --file "$F"
check "no user: usage error" eval '[ "$RC" = 2 ] && [[ $ERR == *"user name"* ]]'

run $'s3cret\n' passwd alice --file "$F"
check "add alice to a new file" eval \
    '[ "$RC" = 0 ] && [ "$OUT" = "passwd: alice added to $F" ]'
check "... a bcrypt line" grep -q '^alice:\$2y\$10\$' "$F"
check "... mode 0640" [ "$(stat -c %a "$F")" = 640 ]
check "... htpasswd -v accepts the password" verifies alice s3cret
check "... and not a wrong one" not verifies alice s3cre

# Other users, comments, blank lines, a CRLF line and a file without a
# final newline stay as they are.
{
	printf '# portkeeper web UI users\n\n'
	htpasswd -nbB bob b0b | head -1
	printf 'carol:%s\r\n' "$(htpasswd -nb2 carol c4rol | head -1 | cut -d: -f2)"
	cat "$F"
	printf '# the end, without a newline'
} > "$T_WORK/new" && mv "$T_WORK/new" "$F"
chmod 600 "$F"
grep -v '^alice:' "$F" > "$T_WORK/others.before"
run $'n3w pass\r\n' passwd alice --file "$F"
check "replace alice's password" eval \
    '[ "$RC" = 0 ] && [ "$OUT" = "passwd: alice updated in $F" ]'
check "... the new one verifies" verifies alice 'n3w pass'
check "... the old one does not" not verifies alice s3cret
check "... bob is untouched" verifies bob b0b
grep -v '^alice:' "$F" > "$T_WORK/others.after"
check "... every other line byte for byte" \
    cmp -s "$T_WORK/others.before" "$T_WORK/others.after"
check "... alice still on line 5" eval '[ "$(grep -n "^alice:" "$F" | cut -d: -f1)" = 5 ]'
check "... mode 0600 kept" [ "$(stat -c %a "$F")" = 600 ]
check "... no temporary file left" eval \
    '[ "$(ls -A "$T_WORK" | grep -c htpasswd)" = 1 ]'

cp "$F" "$T_WORK/before"
run $'\n' passwd alice --file "$F"
check "empty password refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"empty password"* ]]'
run '' passwd alice --file "$F"
check "no password on stdin refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"no password"* ]]'
for user in 'al:ice' $'al\tice' '#alice' ''; do
	run $'pw\n' passwd "$user" --file "$F"
	check "bad user name $(printf %q "$user") refused" eval \
	    '[ "$RC" = 2 ] && [[ $ERR == *"user name"* ]]'
done
check "... and the file unchanged" cmp -s "$T_WORK/before" "$F"

run $'pw\n' passwd dave --file "$T_WORK/no/such/dir/htpasswd"
check "missing directory: a clear error" eval '[ "$RC" = 1 ] &&
    [ "$ERR" = "portkeeper: cannot create $T_WORK/no/such/dir/htpasswd: $T_WORK/no/such/dir: No such file or directory" ]'
run $'pw\n' passwd dave --file "$T_WORK/"
check "a directory as --file is a usage error" [ "$RC" = 2 ]

run $'d4ve\n' passwd dave --file "$F" --json
check "--json" eval '[ "$RC" = 0 ] && [ "$OUT" = "{\"ok\":true,\"user\":\"dave\",\"file\":\"$F\",\"action\":\"added\"}" ]'
check "... dave verifies" verifies dave d4ve
check "... after the last line, which got its newline" eval \
    '[ "$(tail -n 2 "$F" | head -n 1)" = "# the end, without a newline" ]'

# A line portkeeperd would refuse is named, but the change is made.
printf 'eve:plaintext\n' >> "$F"
run $'pw\n' passwd alice --file "$F"
check "a refused line elsewhere is named" eval \
    '[ "$RC" = 0 ] && [[ $ERR == *"$F:8: user eve: the password is not hashed"* ]]'
exit $T_FAILED

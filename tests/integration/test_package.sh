#!/bin/bash
# The Debian package, the way a user meets it: built with "make deb" from
# this tree, checked by lintian and systemd-analyze, installed with apt-get,
# its daemon run as its own user with the shipped configuration on the
# simulated home network, upgraded to a second build with a higher version,
# removed, and purged without a trace.  The package is never left installed.
. "$(dirname "$0")/lib.sh"

NAME=$(basename "$0" .sh)
if [ "$(id -u)" != 0 ]; then
	skip "$NAME" "needs root to install a package"
	exit 0
fi
for tool in dpkg-buildpackage dh lintian systemd-analyze; do
	if ! command -v "$tool" > /dev/null; then
		skip "$NAME" "$tool is not installed (make deps)"
		exit 0
	fi
done
# One run at a time on this machine: it installs a system package, and
# another run's package must not look like one someone installed.
exec 9> /run/lock/portkeeper-test-package.lock
flock -w 900 9 || { nok "wait for another run of $NAME"; exit 1; }
# Never touch a portkeeper someone installed on this machine.
if dpkg-query -W -f='${Status}' portkeeper 2>/dev/null | grep -qv 'not-installed'; then
	skip "$NAME" "a portkeeper package is installed here; not touching it"
	exit 0
fi
if getent passwd portkeeper > /dev/null || getent group portkeeper > /dev/null ||
    [ -e /etc/portkeeper ] || [ -e /var/lib/portkeeper ] || [ -e /run/portkeeper ]; then
	skip "$NAME" "a portkeeper user or directory already exists here; not touching it"
	exit 0
fi
require_netns

ARCH=$(dpkg --print-architecture)
UNIT=/lib/systemd/system/portkeeper.service
APT=(apt-get -y -q --no-install-recommends -o DPkg::Lock::Timeout=600)
export DEBIAN_FRONTEND=noninteractive
PKD_PID=

pkg_cleanup() {
	if [ -n "$PKD_PID" ]; then
		kill "$PKD_PID" 2> /dev/null
		wait "$PKD_PID" 2> /dev/null
	fi
	if dpkg-query -W -f='${Status}' portkeeper 2>/dev/null | grep -qv 'not-installed'; then
		note "purging the package left installed"
		dpkg --purge portkeeper > /dev/null 2>&1
	fi
	# What a failed purge might leave; none of it existed before the test.
	getent passwd portkeeper > /dev/null && userdel portkeeper 2> /dev/null
	getent group portkeeper > /dev/null && groupdel portkeeper 2> /dev/null
	rm -rf /etc/portkeeper /var/lib/portkeeper /run/portkeeper
}
trap 'rc=$?; pkg_cleanup; (exit $rc); cleanup' EXIT

# log FILE: the end of FILE as TAP comments, after a failure.
log() { tail -n "${2:-30}" "$1" | sed 's/^/# /'; }
quiet() { "$@" > /dev/null 2>&1; }
installed_version() { dpkg-query -W -f='${Version}' portkeeper 2>/dev/null; }

# --- Build -------------------------------------------------------------

start=$(date +%s)
if make -C "$TOP" deb BUILD="$T_WORK/b1" > "$T_WORK/build1.log" 2>&1; then
	ok "make deb builds the package"
	note "make deb took $(( $(date +%s) - start )) s"
else
	nok "make deb builds the package"
	log "$T_WORK/build1.log" 40
	exit 1
fi
DEB=$(ls "$T_WORK"/b1/portkeeper_*_"$ARCH".deb)
VERSION=$(dpkg-deb -f "$DEB" Version)

dpkg-deb -c "$DEB" | awk '{ print $6 }' | sed 's|^\./|/|' > "$T_WORK/contents"
has_all() {
	local f rc=0
	for f in "$@"; do
		grep -qx "$f" "$T_WORK/contents" || { note "missing: $f"; rc=1; }
	done
	return $rc
}
check "the package holds the programs, conffile, unit, man pages, completion and docs" \
    has_all /usr/bin/portkeeper /usr/sbin/portkeeperd \
    /usr/libexec/portkeeper/portkeeper-probe-server \
    /usr/libexec/portkeeper/portkeeperd-web \
    /etc/portkeeper/portkeeper.conf "$UNIT" \
    /usr/share/man/man1/portkeeper.1.gz /usr/share/man/man8/portkeeperd.8.gz \
    /usr/share/man/man5/portkeeper.conf.5.gz \
    /usr/share/bash-completion/completions/portkeeper \
    /usr/share/doc/portkeeper/README.md.gz /usr/share/doc/portkeeper/changelog.gz \
    /usr/share/doc/portkeeper/copyright \
    /usr/share/doc/portkeeper/examples/ddclient-update

lintian --fail-on error,warning "$DEB" > "$T_WORK/lintian.log" 2>&1
rc=$?
grep -v '^running with root privileges' "$T_WORK/lintian.log" | sed 's/^/# lintian: /'
check "lintian finds no error and no warning" [ "$rc" = 0 ]

# The unit as shipped, rated offline; systemd 252's --threshold is on a
# 0-100 scale, so the score is read from the last line instead.
mkdir -p "$T_WORK/x"
dpkg-deb -x "$DEB" "$T_WORK/x"
systemd-analyze security --offline=yes "$T_WORK/x$UNIT" > "$T_WORK/security.log" 2>&1
score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T_WORK/security.log")
note "systemd-analyze security: exposure ${score:-unknown}"
if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
	ok "systemd-analyze security rates the unit's exposure at most 2.0"
else
	nok "systemd-analyze security rates the unit's exposure at most 2.0"
	grep '✗' "$T_WORK/security.log" | sed 's/^/# /'
fi

check "the unit's system-call filter lets the password-check threads lower their priority (setpriority)" \
    quiet "$(dirname "$0")/unit_syscalls.py" "$T_WORK/x$UNIT" setpriority

# --- Install -----------------------------------------------------------

if "${APT[@]}" install "$DEB" > "$T_WORK/install.log" 2>&1; then
	ok "apt-get install ./portkeeper_${VERSION}_$ARCH.deb"
else
	nok "apt-get install ./portkeeper_${VERSION}_$ARCH.deb"
	log "$T_WORK/install.log"
	exit 1
fi
dpkg-query -L portkeeper | sort > "$T_WORK/files"

check "the installed version is $VERSION" [ "$(installed_version)" = "$VERSION" ]
system_user() {
	local uid shell
	uid=$(getent passwd portkeeper | cut -d: -f3)
	shell=$(getent passwd portkeeper | cut -d: -f7)
	[ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] &&
	    getent group portkeeper > /dev/null
}
check "the postinst made the system user and group portkeeper" system_user
check "... and /var/lib/portkeeper, theirs, mode 0750" \
    [ "$(stat -c '%U:%G %a' /var/lib/portkeeper 2>/dev/null)" = "portkeeper:portkeeper 750" ]
check "/etc/portkeeper/portkeeper.conf is a conffile" eval \
    'dpkg-query -W -f="\${Conffiles}" portkeeper | grep -q "^ /etc/portkeeper/portkeeper.conf "'
check "the service is enabled for the next boot, without systemd running" \
    [ -L /etc/systemd/system/multi-user.target.wants/portkeeper.service ]
check "portkeeperd -n accepts the shipped configuration" eval \
    '/usr/sbin/portkeeperd -n 2>&1 | grep -qx "configuration OK"'
check "... read as the portkeeper user too" \
    quiet runuser -u portkeeper -- /usr/sbin/portkeeperd -n
check "portkeeper --version says $VERSION" eval \
    '[ "$(/usr/bin/portkeeper --version)" = "portkeeper $VERSION" ]'
check "portkeeper probe-server finds its program in /usr/libexec/portkeeper" \
    eval '/usr/bin/portkeeper probe-server --help | grep -q "^usage: portkeeper probe-server"'
check "man finds portkeeper(1), portkeeperd(8) and portkeeper.conf(5)" \
    quiet man -w portkeeper.1 portkeeperd.8 portkeeper.conf.5
check "... and portkeeperd(8) has its SIGNALS and STANDARDS" eval \
    'MANWIDTH=200 man 8 portkeeperd 2>/dev/null > "$T_WORK/man8" &&
     grep -q "^SIGNALS" "$T_WORK/man8" && grep -q "RFC 6886" "$T_WORK/man8"'
# verify also runs man for Documentation= and checks ExecStart= and User=.
check "systemd-analyze verify accepts the installed unit" \
    systemd-analyze verify "$UNIT"
complete_word() {
	bash -c '
		. /usr/share/bash-completion/bash_completion
		. /usr/share/bash-completion/completions/portkeeper
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_portkeeper portkeeper "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
		echo "${COMPREPLY[*]}"' complete "$@"
}
if [ -r /usr/share/bash-completion/bash_completion ]; then
	check "bash completes commands and options" eval \
	    '[ "$(complete_word portkeeper o)" = open ] &&
	     [ "$(complete_word portkeeper open --an)" = --any-port ]'
else
	skip "bash completes commands and options" "bash-completion is not installed"
fi

# --- Run on the simulated home network --------------------------------

net_up
PORTKEEPER=/usr/bin/portkeeper
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }

pk open 8081:8080 --json
check "the installed portkeeper opens a port on the router" json_is 'j["ok"]' True
check "... and the internet host reaches the pi through it" reaches inet "$PK_WAN" 8081
pk close 8081
check "... and closes it" [ "$RC" = 0 ]

# The daemon as systemd would run it: the shipped configuration (plus a
# forward), the packaged user, /run/portkeeper made for it as
# RuntimeDirectory= does, and systemd's notification socket and watchdog.
cat >> /etc/portkeeper/portkeeper.conf <<'EOF'

# Added by tests/integration/test_package.sh.
[forward web]
external = 8080
EOF
install -d -o portkeeper -g portkeeper -m 0750 /run/portkeeper
chmod 0711 "$T_WORK"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
import os; os.chmod(sys.argv[1], 0o777)
s.settimeout(1)
end = time.time() + 20
with open(sys.argv[2], "a", buffering=1) as out:
    while time.time() < end:
        try:
            out.write(s.recv(4096).decode() + "\n")
        except socket.timeout:
            pass
' "$T_WORK/notify.sock" "$T_WORK/notify.log" &
NOTIFY_PID=$!
until_ok 5 [ -S "$T_WORK/notify.sock" ]
# ip netns exec, env and setpriv each exec the next: $! is the daemon.
ip netns exec "$PK_NET-pi" \
    env NOTIFY_SOCKET="$T_WORK/notify.sock" WATCHDOG_USEC=1000000 \
    setpriv --reuid=portkeeper --regid=portkeeper --init-groups \
    /usr/sbin/portkeeperd -f > "$T_WORK/pkd.log" 2>&1 &
PKD_PID=$!
web_active() {
	pk status --json
	json_is '[(f["name"], f["state"]) for f in j["forwards"]]' "[('web', 'active')]"
}
check "portkeeperd, as the portkeeper user, keeps the forward of its configuration" \
    until_ok 10 web_active
check "... which the internet host reaches" reaches inet "$PK_WAN" 8080
check "... and says READY=1 to systemd, then WATCHDOG=1 at half WatchdogSec" \
    until_ok 3 eval 'grep -qx READY=1 "$T_WORK/notify.log" && grep -qx WATCHDOG=1 "$T_WORK/notify.log"'
check "the control socket is the portkeeper group's, mode 0660" \
    [ "$(stat -c '%U:%G %a' /run/portkeeper/api.sock 2>/dev/null)" = "portkeeper:portkeeper 660" ]
kill -TERM "$PKD_PID"
wait "$PKD_PID"
rc=$?
PKD_PID=
kill "$NOTIFY_PID" 2> /dev/null
check "SIGTERM stops it" [ "$rc" = 0 ]
check "... removing its forward" not reaches inet "$PK_WAN" 8080
check "its state is in /var/lib/portkeeper" \
    [ "$(stat -c %U /var/lib/portkeeper/state.json 2>/dev/null)" = portkeeper ]
[ "$T_FAILED" = 0 ] || log "$T_WORK/pkd.log"

# --- Upgrade -----------------------------------------------------------

# A second build as a higher version, of the same sources: made in the
# first build's copy of the tree, where make deb adds a changelog entry to
# its own copy of packaging/debian only.
NEW=$VERSION+upgradetest1
if make -C "$T_WORK/b1/deb-$ARCH/portkeeper" deb BUILD="$T_WORK/b2" \
    DEBVERSION="$NEW" > "$T_WORK/build2.log" 2>&1 &&
    "${APT[@]}" install "$T_WORK/b2/portkeeper_${NEW}_$ARCH.deb" > "$T_WORK/upgrade.log" 2>&1; then
	ok "upgrade to a second build, version $NEW"
else
	nok "upgrade to a second build, version $NEW"
	log "$T_WORK/build2.log" 20
	log "$T_WORK/upgrade.log" 20
fi
check "the installed version is $NEW, and so is portkeeper --version" eval \
    '[ "$(installed_version)" = "$NEW" ] && [ "$(/usr/bin/portkeeper --version)" = "portkeeper $NEW" ]'
check "the upgrade kept the edited configuration" \
    grep -q '^\[forward web\]' /etc/portkeeper/portkeeper.conf
check "... and portkeeperd -n still accepts it" quiet /usr/sbin/portkeeperd -n
check "... and the state" [ -s /var/lib/portkeeper/state.json ]

# --- Remove and purge --------------------------------------------------

"${APT[@]}" remove portkeeper > "$T_WORK/remove.log" 2>&1
rc=$?
check "apt-get remove removes the programs" eval \
    '[ "$rc" = 0 ] && [ ! -e /usr/sbin/portkeeperd ] && [ ! -e /usr/bin/portkeeper ]'
check "... and keeps the configuration, the state and the user" eval \
    '[ -e /etc/portkeeper/portkeeper.conf ] && [ -e /var/lib/portkeeper/state.json ] && getent passwd portkeeper > /dev/null'

"${APT[@]}" purge portkeeper > "$T_WORK/purge.log" 2>&1
rc=$?
check "apt-get purge succeeds" eval '[ "$rc" = 0 ] && [ -z "$(installed_version)" ]'
left_behind() {
	local f left=""
	while IFS= read -r f; do
		# Directories the package shares with others stay.
		[ -e "$f" ] && ! [ -d "$f" ] && left="$left $f"
	done < "$T_WORK/files"
	for f in /etc/portkeeper /var/lib/portkeeper /run/portkeeper \
	    /etc/systemd/system/multi-user.target.wants/portkeeper.service \
	    /var/lib/systemd/deb-systemd-helper-enabled/portkeeper.service.dsh-also \
	    /usr/share/doc/portkeeper; do
		[ -e "$f" ] || [ -L "$f" ] && left="$left $f"
	done
	getent passwd portkeeper > /dev/null && left="$left user:portkeeper"
	getent group portkeeper > /dev/null && left="$left group:portkeeper"
	[ -z "$left" ] && return 0
	note "left behind:$left"
	log "$T_WORK/purge.log" 10
	return 1
}
check "purge leaves nothing behind: files, configuration, state, user, group" left_behind

# The Pi's packages, arm64 and armhf: tests/integration/test_arm.sh.

exit $T_FAILED

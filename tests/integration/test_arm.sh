#!/bin/bash
# The Raspberry Pi's Debian packages, arm64 and armhf, the way a Pi meets
# them: cross-built with make deb ARCH=..., checked by lintian, their
# dependencies resolved against Debian 12's libraries of that architecture,
# and their programs run under qemu-user (on the multiarch libraries make
# deps-cross installs) in the pi's namespace of the simulated home network:
# portkeeper opens a port over NAT-PMP, UPnP and PCP that the internet host
# reaches, lists and closes it, and portkeeperd keeps a forward across a
# router restart.  qemu plays the Pis' CPUs: the network runs on the oldest
# core each package is for (arm64 on the Pi 3's Cortex-A53, armhf on the
# Pi 2's Cortex-A7), the other Pis' cores start the programs, and the Pi 1's
# and Zero's ARMv6 core cannot run Debian's armhf package at all.
#
# Under CI (CI=true) the cross tools must be there (.ci/run runs make
# deps-cross): without them this test fails rather than skips.
. "$(dirname "$0")/lib.sh"

NAME=$(basename "$0" .sh)
why=""
if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
	why="cross-built from amd64 only"
else
	missing=$(make -s --no-print-directory -C "$TOP" cross-missing | tr '\n' ' ')
	[ -n "$missing" ] && why="the ARM cross tools are not installed (make deps-cross): ${missing% }"
fi
if [ -n "$why" ]; then
	if [ "${CI:-}" = true ]; then
		nok "$NAME: $why"
		exit 1
	fi
	skip "$NAME" "$why"
	exit 0
fi
require_netns

# qemu finds the programs' dynamic loader and libraries where make
# deps-cross put them, /usr/lib/aarch64-linux-gnu and arm-linux-gnueabihf
# (libc6:arm64, libc6:armhf).  Not with -L /usr/aarch64-linux-gnu or
# QEMU_LD_PREFIX: that takes the loader from the cross compiler's
# libc6-arm64-cross and libc.so.6, which is not under that prefix, from
# libc6:arm64, two builds of glibc that do not go together when their
# versions differ (2.36-8cross1 and 2.36-9+deb12u14 in Debian 12: glibc's
# private _rtld_global grew from 4512 to 4520 bytes).  The first
# pthread_create then walks its stack cache for ever (arm64; portkeeper's
# job_start has blocked every signal by then, so SIGTERM cannot end it) or
# crashes (armhf).  A hung program costs at most CLI_LIMIT seconds here.
unset QEMU_LD_PREFIX
CLI_LIMIT=60

# log FILE [LINES]: the end of FILE as TAP comments, after a failure.
log() { tail -n "${2:-30}" "$1" | sed 's/^/# /'; }
quiet() { "$@" > /dev/null 2>&1; }
VERSION=$(dpkg-parsechangelog -l "$TOP/packaging/debian/changelog" -S Version)

# --- Build and lint ----------------------------------------------------

# build ARCH: makes, lints and unpacks the package of ARCH into
# $T_WORK/x-ARCH; fails when there is no package to run.
build() {
	local a=$1 deb rc start=$(date +%s)

	if make -C "$TOP" deb ARCH="$a" BUILD="$T_WORK/$a" > "$T_WORK/build-$a.log" 2>&1; then
		ok "make deb ARCH=$a cross-builds the package"
		note "make deb ARCH=$a took $(( $(date +%s) - start )) s"
	else
		nok "make deb ARCH=$a cross-builds the package"
		log "$T_WORK/build-$a.log"
		return 1
	fi
	deb=$T_WORK/$a/portkeeper_${VERSION}_$a.deb
	check "... for $a" [ "$(dpkg-deb -f "$deb" Architecture 2>/dev/null)" = "$a" ]
	lintian --fail-on error,warning "$deb" > "$T_WORK/lintian-$a.log" 2>&1
	rc=$?
	grep -v '^running with root privileges' "$T_WORK/lintian-$a.log" | sed 's/^/# lintian: /'
	check "lintian finds no error and no warning in the $a package" [ "$rc" = 0 ]
	# A simulation, without apt's lock: it installs nothing.
	apt-get -s -o Debug::NoLocking=1 install "$deb" > "$T_WORK/apt-$a.log" 2>&1
	rc=$?
	check "apt resolves its dependencies with Debian 12's $a packages" [ "$rc" = 0 ]
	[ "$rc" = 0 ] || log "$T_WORK/apt-$a.log" 10
	mkdir -p "$T_WORK/x-$a"
	dpkg-deb -x "$deb" "$T_WORK/x-$a"
}

# --- The Pis' CPUs -----------------------------------------------------

# runs_on QEMU CPU ARCH: the package's portkeeper and portkeeperd start on
# that CPU model (--version, and -n on the shipped configuration).
runs_on() {
	local x=$T_WORK/x-$3

	[ "$(timeout -s KILL $CLI_LIMIT "$1" -cpu "$2" "$x/usr/bin/portkeeper" --version 2>/dev/null)" = \
	    "portkeeper $VERSION" ] &&
	    quiet timeout -s KILL $CLI_LIMIT "$1" -cpu "$2" "$x/usr/sbin/portkeeperd" -n \
	    -c "$x/etc/portkeeper/portkeeper.conf"
}

# --- On the simulated home network -------------------------------------

# arm_net ARCH QEMU CPU PORT: the package's programs on the pi, run by
# qemu as CPU; PORT and the two after it are the external ports used.
arm_net() {
	local a=$1 qemu=$2 cpu=$3 port=$4 via p x=$T_WORK/x-$1 rc start

	# pk (lib.sh) runs $PORTKEEPER on the pi: here, qemu running the
	# package's portkeeper.
	printf '#!/bin/sh\nexec timeout -s KILL %s %s -cpu %s %s "$@"\n' \
	    "$CLI_LIMIT" "$qemu" "$cpu" "$x/usr/bin/portkeeper" > "$T_WORK/portkeeper-$a"
	chmod +x "$T_WORK/portkeeper-$a"
	PORTKEEPER=$T_WORK/portkeeper-$a

	p=$port
	for via in natpmp upnp pcp; do
		pk open "$p:8080" --via "$via" --json
		check "$a: portkeeper open --via $via opens a port" json_is 'j["ok"]' True
		[ "$RC" = 0 ] || note "$ERR"
		check "... which the internet host reaches" reaches inet "$PK_WAN" "$p"
		p=$((p + 1))
	done
	pk list --via upnp --json
	check "$a: portkeeper list shows the three" json_is \
	    "sorted(m['external_port'] for m in j['mappings'] if m['this_host'] and $port <= m['external_port'] < $port + 3)" \
	    "[$port, $((port + 1)), $((port + 2))]"
	pk ip --via upnp --json
	check "$a: portkeeper ip --via upnp says the router's external address" \
	    json_is 'j["external_ip"], j["upnp"]["found"]' "('$PK_WAN', True)"
	p=$port
	for via in natpmp upnp pcp; do
		pk close "$p:8080" --via "$via"
		check "$a: portkeeper close --via $via closes it" \
		    eval '[ "$RC" = 0 ] && not reaches inet "$PK_WAN" '"$p"
		[ "$RC" = 0 ] || note "$ERR"
		p=$((p + 1))
	done

	# The daemon with a forward of its own, then the router restarts.
	mkdir -p "$T_WORK/state-$a"
	cat > "$T_WORK/pk-$a.conf" <<CONF
[portkeeper]
state_dir = $T_WORK/state-$a
socket = $T_WORK/api-$a.sock
remove_on_exit = yes

[forward web]
external = $port
internal = 8080
CONF
	# portkeeperd starts its web process (portkeeperd-web) with execv,
	# which this host cannot do for an ARM program: qemu-user runs only
	# the program it is given, and no binfmt_misc handler is registered
	# here (a Pi runs it natively).  portkeeperd looks for it beside
	# itself first, where qemu's /proc/self/exe points: a script there
	# runs the package's own under qemu, the descriptors it is handed
	# going through the exec.
	printf '#!/bin/sh\nexec %s -cpu %s %s "$@"\n' "$qemu" "$cpu" \
	    "$x/usr/libexec/portkeeper/portkeeperd-web" > "$x/usr/sbin/portkeeperd-web"
	chmod +x "$x/usr/sbin/portkeeperd-web"
	# ip netns exec and the script exec qemu, which runs the daemon: $!
	# is the daemon.
	printf '#!/bin/sh\nexec %s -cpu %s %s "$@"\n' "$qemu" "$cpu" \
	    "$x/usr/sbin/portkeeperd" > "$T_WORK/portkeeperd-$a"
	chmod +x "$T_WORK/portkeeperd-$a"
	ip netns exec "$PK_NET-pi" "$T_WORK/portkeeperd-$a" -f -c "$T_WORK/pk-$a.conf" \
	    > "$T_WORK/pkd-$a.log" 2>&1 &
	PKD_PID=$!
	check "$a: portkeeperd makes its forward, which the internet host reaches" \
	    until_ok 20 reaches inet "$PK_WAN" "$port"
	pk status --socket "$T_WORK/api-$a.sock" --json
	check "... and its portkeeper status reads the daemon's" json_is \
	    '[(f["name"], f["state"]) for f in j["forwards"]]' "[('web', 'active')]"
	"$HOMENET" router-restart > /dev/null 2>&1
	start=$(date +%s%N)
	if until_ok 20 reaches inet "$PK_WAN" "$port"; then
		ok "$a: after a router restart portkeeperd restores the forward"
		note "reachable again $(( ($(date +%s%N) - start) / 1000000 )) ms after the router restarted"
	else
		nok "$a: after a router restart portkeeperd restores the forward"
	fi
	kill -TERM "$PKD_PID"
	if ! until_ok 10 not kill -0 "$PKD_PID" 2> /dev/null; then
		note "portkeeperd still runs 10 s after SIGTERM"
		kill -KILL "$PKD_PID"
	fi
	wait "$PKD_PID"
	rc=$?
	PKD_PID=
	check "$a: SIGTERM stops portkeeperd, removing its forward" \
	    eval '[ "$rc" = 0 ] && not reaches inet "$PK_WAN" '"$port"
	[ "$T_FAILED" = 0 ] || log "$T_WORK/pkd-$a.log" 20
}

PKD_PID=
trap 'rc=$?; [ -n "$PKD_PID" ] && kill "$PKD_PID" 2> /dev/null; (exit $rc); cleanup' EXIT

built=""
for a in arm64 armhf; do
	build "$a" && built="$built $a"
done

if [[ $built == *arm64* ]]; then
	# Pi 3 and Zero 2 W, Pi 4, Pi 5.
	for cpu in cortex-a53 cortex-a72 cortex-a76; do
		check "the arm64 package's programs run on a $cpu" \
		    runs_on qemu-aarch64-static "$cpu" arm64
	done
fi
if [[ $built == *armhf* ]]; then
	# The Pi 2 (v1.1), and an ARMv8-A core in 32-bit mode, as the Pi 2
	# (v1.2), 3, 4 and Zero 2 W run a 32-bit system.
	for cpu in cortex-a7 max; do
		check "the armhf package's programs run on a $cpu" \
		    runs_on qemu-arm-static "$cpu" armhf
	done
	# Debian's armhf is ARMv7 (Thumb-2, VFPv3): the ARM1176 of the Pi 1,
	# Zero and Zero W stops at its first instruction (and qemu would
	# write the guest's core to the current directory; bash's word of the
	# signal goes too).
	{ (ulimit -c 0; exec qemu-arm-static -cpu arm1176 \
	    "$T_WORK/x-armhf/usr/bin/portkeeper" --version) > /dev/null 2>&1; } 2> /dev/null
	rc=$?
	check "... and do not on the Pi 1's and Zero's ARM1176 (SIGILL)" [ "$rc" = 132 ]
fi

[ -n "$built" ] || exit 1
net_up
http_start 8080 || { nok "HTTP server on the pi"; exit 1; }
[[ $built == *arm64* ]] && arm_net arm64 qemu-aarch64-static cortex-a53 8101
[[ $built == *armhf* ]] && arm_net armhf qemu-arm-static cortex-a7 8111

exit $T_FAILED

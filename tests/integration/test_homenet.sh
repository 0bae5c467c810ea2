#!/bin/bash
# The simulated home network itself (tests/net/selftest.sh): forwarding,
# NAT loopback on and off, router restart, WAN change, protocol knobs,
# carrier-grade NAT, conflicts, clean teardown, and no route from the host
# namespace to the test addresses.  Checked with Debian's own upnpc/natpmpc.
. "$(dirname "$0")/lib.sh"
require_netns
trap - EXIT
rm -rf "$T_WORK"
exec "$TOP/tests/net/selftest.sh"

#!/bin/bash
# The layout README's Layout section describes, checked on the build the
# other tests run (tests/integration/layout.py): no circle of calls between
# .c files, lib/ calling only lib/, nothing calling up into a main(), no
# file over 1,000 lines and no function over 120.  Needs no network.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PORTKEEPER=${PORTKEEPER:-$TOP/build/portkeeper}
case $PORTKEEPER in /*) ;; *) PORTKEEPER=$TOP/$PORTKEEPER ;; esac
exec python3 "$TOP/tests/integration/layout.py" "$(dirname "$PORTKEEPER")"

#!/usr/bin/env python3
"""Says whether a systemd unit's SystemCallFilter= lets the given calls through.

usage: unit_syscalls.py UNIT SYSCALL...

Applies systemd.exec(5)'s rules to the unit's SystemCallFilter= lines, in
order: the first line decides the kind (an allow list, or a deny list when
it starts with "~"); later lines of the same kind add to it, lines of the
other kind take their calls out of it; an empty assignment resets it.
Groups (@name) are expanded by "systemd-analyze syscall-filter", so the
answer is systemd's own for this machine's systemd.  Prints one line per
call, "allowed NAME" or "denied NAME", and exits 1 if any is denied.
"""
import subprocess
import sys

_groups = {}


def expand(name):
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                             capture_output=True, text=True, check=True).stdout
        calls = set()
        for line in out.splitlines():
            word = line.strip()
            if not word or word.startswith("#") or word == name:
                continue
            calls |= expand(word)
        _groups[name] = calls
    return _groups[name]


def main():
    unit, wanted = sys.argv[1], sys.argv[2:]
    kind, calls = None, set()          # kind: "allow" or "deny"
    for line in open(unit):
        line = line.strip()
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].strip()
        if not value:
            kind, calls = None, set()
            continue
        deny = value.startswith("~")
        names = set()
        for word in value.lstrip("~").split():
            names |= expand(word)
        this = "deny" if deny else "allow"
        if kind is None:
            kind = this
        if this == kind:
            calls |= names
        else:
            calls -= names
    bad = 0
    for w in wanted:
        ok = kind is None or (w in calls) == (kind == "allow")
        print(("allowed " if ok else "denied ") + w)
        bad |= not ok
    sys.exit(1 if bad else 0)


main()

#!/usr/bin/env python3
"""Checks the layout README's Layout section describes, on a build:

  layout.py BUILD_DIR

- no circle of calls between the .c files of lib/, cli/ and daemon/: from
  each object's undefined symbols (nm) to the object that defines them;
- lib/ calls nothing in cli/ or daemon/, and nothing calls into
  daemon/portkeeperd.c or cli/portkeeper.c;
- no .c file over 1,000 lines and no function over 120 lines.

Prints "ok - ..." / "not ok - ..." lines, as the integration tests do.
"""
import glob
import os
import re
import subprocess
import sys

build = sys.argv[1]
top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.chdir(top)
srcs = sorted(glob.glob("lib/*.c") + glob.glob("cli/*.c") + glob.glob("daemon/*.c")
              + glob.glob("probe/*.c"))

defined, undefined = {}, {}
for src in srcs:
    obj = os.path.join(build, src[:-2] + ".o")
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    undefined[src] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TDBR":
            defined[parts[2]] = src
        elif len(parts) == 2 and parts[0] == "U":
            undefined[src].add(parts[1])
calls = {s: {defined[u] for u in undefined[s] if u in defined and defined[u] != s} for s in srcs}

failed = False


def report(ok, what, why=""):
    global failed
    print(("ok - " if ok else "not ok - ") + what)
    if not ok:
        failed = True
        for line in why.splitlines():
            print("# " + line)


# A circle: a file that reaches itself through calls.
circles = []
for s in srcs:
    seen, todo = set(), list(calls[s])
    while todo:
        t = todo.pop()
        if t == s:
            circles.append(s)
            break
        if t not in seen:
            seen.add(t)
            todo.extend(calls[t])
report(not circles, "no circle of calls between the .c files (%d files)" % len(srcs),
       "in a circle: " + ", ".join(circles))
up = [(s, t) for s in srcs for t in calls[s]
      if (s.startswith("lib/") and not t.startswith("lib/"))
      or t in ("daemon/portkeeperd.c", "cli/portkeeper.c", "probe/probed.c")]
report(not up, "lib/ calls only lib/, and nothing calls up into a main()",
       "\n".join("%s calls %s" % p for p in up))

long_files, long_funcs = [], []
for src in srcs:
    lines = open(src).read().split("\n")
    if len(lines) - 1 > 1000:
        long_files.append("%s: %d lines" % (src, len(lines) - 1))
    for i, l in enumerate(lines):
        if l != "{":
            continue
        j = i - 1
        while j > 0 and not re.match(r"^[a-z_][a-z_0-9]*\(", lines[j]):
            j -= 1
        k = i + 1
        while k < len(lines) and lines[k] != "}":
            k += 1
        if k - j + 1 > 120:
            long_funcs.append("%s:%d: %s, %d lines" % (src, j + 1, lines[j].split("(")[0], k - j + 1))
report(not long_files, "no .c file over 1,000 lines", "\n".join(long_files))
report(not long_funcs, "no function over 120 lines", "\n".join(long_funcs))
sys.exit(1 if failed else 0)

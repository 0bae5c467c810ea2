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
answers the current records as JSON ({"host": "address", ...}).
"""

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

RECORDS = {}
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
            if url.path == "/records":
                with LOCK:
                    self.answer(200, json.dumps(RECORDS), "application/json")
                return
            if url.path != "/nic/update":
                self.answer(404, "not found\n")
                return
            q = parse_qs(url.query)
            hosts = q.get("hostname", [""])[0]
            myip = q.get("myip", [""])[0]
            lines = []
            with LOCK:
                for h in hosts.split(","):
                    if self.headers.get("Authorization") != want:
                        a = "badauth"
                    elif not h or not myip:
                        a = "nohost"
                    elif RECORDS.get(h) == myip:
                        a = "nochg " + myip
                    else:
                        RECORDS[h] = myip
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
    ThreadingHTTPServer((args.addr, args.port), make_handler(args)).serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Password guessing against the web API, for the homenet testbed.

  loginflood.py flood --target 192.168.77.10:8088 --sources A,B,... \\
      --user slow --duration 30
      Every source address guesses as fast as it is answered (GET
      /api/status with a wrong password), whatever the answer: the 503s
      of a busy server cost the guesser nothing.

  loginflood.py reset --target ... --source A --user admin --password pw \\
      --duration 30
      Nine wrong passwords, then the right one, over and over, from one
      address: a limit that a successful login resets never stops it.

Prints one JSON object: the answers by status code, and the guesses that
were checked (401) per minute, when --duration is over or on SIGTERM.
"""

import argparse
import base64
import http.client
import json
import signal
import threading
import time


def auth(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("flood", "reset"))
    p.add_argument("--target", required=True)
    p.add_argument("--sources", default="")
    p.add_argument("--source", default="")
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--duration", type=float, default=30)
    args = p.parse_args()
    host, port = args.target.rsplit(":", 1)
    port = int(port)
    counts = {}
    lock = threading.Lock()
    end = time.monotonic() + args.duration

    def stop(signum, frame):
        nonlocal end
        end = 0

    # SIGTERM ends the attack early, with its figures.
    signal.signal(signal.SIGTERM, stop)

    def ask(conn, header):
        try:
            conn.request("GET", "/api/status", headers={
                "Host": host, "Authorization": header})
            r = conn.getresponse()
            r.read()
            code = r.status
        except (OSError, http.client.HTTPException):
            code = 0
        with lock:
            counts[code] = counts.get(code, 0) + 1
        return code

    def flood(src):
        n = 0
        conn = None
        while time.monotonic() < end:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=5,
                                                  source_address=(src, 0))
            n += 1
            if ask(conn, auth(args.user, f"guess-{src}-{n}")) == 0:
                conn.close()
                conn = None
                time.sleep(0.1)

    def reset(src):
        conn = http.client.HTTPConnection(host, port, timeout=5,
                                          source_address=(src, 0))
        n = 0
        while time.monotonic() < end:
            n += 1
            pw = args.password if n % 10 == 0 else f"guess-{n}"
            if ask(conn, auth(args.user, pw)) == 0:
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=5,
                                                  source_address=(src, 0))

    if args.mode == "flood":
        threads = [threading.Thread(target=flood, args=(s,), daemon=True)
                   for s in args.sources.split(",")]
    else:
        threads = [threading.Thread(target=reset, args=(args.source,),
                                    daemon=True)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    print(json.dumps({
        "answers": {str(k): v for k, v in sorted(counts.items())},
        "checked_per_minute": round(counts.get(401, 0) * 60 / took),
        "seconds": round(took, 1),
    }))


if __name__ == "__main__":
    main()

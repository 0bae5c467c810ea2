#!/usr/bin/python3
"""pcp_client.py - a minimal PCP client (RFC 6887) for the simulated home network.

Sends one MAP request (section 11.1) and prints the answer: result code,
epoch, lifetime, external address and port, and the nonce, which a later
request needs to refresh or delete the same mapping (lifetime 0).  Over
IPv6 the mapping is a pinhole: the external address is the host's own.

    pcp_client.py --gw fe80::1%eth0 --src 2a0c:7700:77::10 --port 8080
    pcp_client.py --gw fe80::1%eth0 --src 2a0c:7700:77::10 --port 8080 \\
        --nonce 0123456789abcdef01234567 --lifetime 0       # delete it
    pcp_client.py --gw 192.168.77.1 --port 8080 --proto udp --json

It is also the "minimal client" that "make bench" compares portkeeper with,
so it does one thing: one request, retransmitted until an answer comes.

Exit status: 0 when the answer is SUCCESS, 1 when it carries another result
code (or is not a PCP version 2 answer), 2 on a usage error, 3 when nothing
answered within --timeout, 4 when the router refused (ICMP port
unreachable: nothing listens on its PCP port).
"""

import argparse
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time

PCP_PORT = 5351
VERSION = 2
OP_MAP = 1
# RFC 6887 section 7.4.
RESULTS = {
    0: "SUCCESS", 1: "UNSUPP_VERSION", 2: "NOT_AUTHORIZED", 3: "MALFORMED_REQUEST",
    4: "UNSUPP_OPCODE", 5: "UNSUPP_OPTION", 6: "MALFORMED_OPTION", 7: "NETWORK_FAILURE",
    8: "NO_RESOURCES", 9: "UNSUPP_PROTOCOL", 10: "USER_EX_QUOTA",
    11: "CANNOT_PROVIDE_EXTERNAL", 12: "ADDRESS_MISMATCH", 13: "EXCESSIVE_REMOTE_PEERS",
}
PROTOS = {"tcp": 6, "udp": 17}
# The common header (section 7.1/7.2) is 24 bytes, MAP's opcode data
# (section 11.1) 36 more.
HDR = struct.Struct("!BBHI16s")
MAP = struct.Struct("!12sB3xHH16s")
RESP_HDR = struct.Struct("!BBxBII12x")


def addr16(text):
    """An address as PCP carries it: IPv6, or IPv4 mapped (section 5)."""
    a = ipaddress.ip_address(text)
    if a.version == 4:
        a = ipaddress.IPv6Address("::ffff:" + str(a))
    return a.packed


def unmap(packed):
    a = ipaddress.IPv6Address(packed)
    return str(a.ipv4_mapped) if a.ipv4_mapped else str(a)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Send one PCP MAP request and print the answer.")
    p.add_argument("--gw", required=True, help="the PCP server: ADDR or fe80::1%%IF")
    p.add_argument("--src", help="bind to this address (it is also the request's client address)")
    p.add_argument("--port", type=int, required=True, help="internal port")
    p.add_argument("--proto", default="tcp", help="tcp, udp or a protocol number (default tcp)")
    p.add_argument("--lifetime", type=int, default=3600, help="seconds; 0 deletes (default 3600)")
    p.add_argument("--ext-port", type=int, default=0, help="suggested external port (default: the internal one)")
    p.add_argument("--ext-addr", help="suggested external address (default: none)")
    p.add_argument("--nonce", help="24 hex digits (default: random); the same nonce refreshes or deletes")
    p.add_argument("--timeout", type=float, default=3.0, help="give up after this many seconds (default 3)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    try:
        a.proto_num = PROTOS[a.proto.lower()] if not a.proto.isdigit() else int(a.proto)
        a.nonce_bytes = bytes.fromhex(a.nonce) if a.nonce else os.urandom(12)
    except (KeyError, ValueError):
        p.error("bad --proto or --nonce")
    if len(a.nonce_bytes) != 12 or not 0 <= a.proto_num <= 255:
        p.error("--nonce needs 24 hex digits, --proto 0..255")
    if not 0 <= a.port <= 65535 or not 0 <= a.ext_port <= 65535 or not 0 <= a.lifetime < 2**32:
        p.error("port or lifetime out of range")
    if a.ext_port == 0:
        a.ext_port = a.port
    return a


def open_socket(args):
    """A UDP socket connected to the server, so that an ICMP port
    unreachable shows up as ECONNREFUSED."""
    gw = socket.getaddrinfo(args.gw, PCP_PORT, 0, socket.SOCK_DGRAM)[0]
    s = socket.socket(gw[0], socket.SOCK_DGRAM)
    if args.src:
        s.bind((args.src, 0))
    s.connect(gw[4])
    return s


def request(args, client):
    """The MAP request (sections 7.1 and 11.1).  Without a suggested
    external address the field is all zeros: "::" for IPv6, the IPv4-mapped
    "::ffff:0.0.0.0" for IPv4 (section 11.1)."""
    v4 = ipaddress.ip_address(client).version == 4
    ext = args.ext_addr or ("0.0.0.0" if v4 else "::")
    return (HDR.pack(VERSION, OP_MAP, 0, args.lifetime, addr16(client)) +
            MAP.pack(args.nonce_bytes, args.proto_num, args.port, args.ext_port, addr16(ext)))


def parse_answer(data, args):
    """The answer's fields, or None when it is not the answer to this
    request (section 8.3: the nonce and the opcode must match)."""
    if len(data) < 4:
        return None
    if data[0] != VERSION:
        # E.g. a NAT-PMP-only server answers version 0 with its own format.
        return {"version": data[0], "result": 1, "result_name": "UNSUPP_VERSION"}
    if len(data) < RESP_HDR.size + MAP.size or data[1] != 0x80 | OP_MAP:
        return None
    _, _, result, lifetime, epoch = RESP_HDR.unpack_from(data)
    nonce, proto, iport, eport, eaddr = MAP.unpack_from(data, RESP_HDR.size)
    if nonce != args.nonce_bytes:
        return None
    return {"version": VERSION, "result": result, "result_name": RESULTS.get(result, "UNKNOWN"),
            "epoch": epoch, "lifetime": lifetime, "protocol": proto, "internal_port": iport,
            "external_ip": unmap(eaddr), "external_port": eport}


def exchange(s, req, args):
    """Sends REQ and waits for its answer, retransmitting after 0.25 s,
    0.5 s, 1 s... (section 8.1.1 starts at 3 s; a test wants it sooner)."""
    deadline = time.monotonic() + args.timeout
    wait = 0.25
    while True:
        s.send(req)
        until = min(deadline, time.monotonic() + wait)
        while (left := until - time.monotonic()) > 0:
            if not select.select([s], [], [], left)[0]:
                continue
            ans = parse_answer(s.recv(1100), args)
            if ans:
                return ans
        if time.monotonic() >= deadline:
            return None
        wait *= 2


def main(argv):
    args = parse_args(argv)
    t0 = time.monotonic()
    try:
        s = open_socket(args)
        client = s.getsockname()[0].split("%")[0]
        ans = exchange(s, request(args, client), args)
        status = 0 if ans and ans["result"] == 0 else 1 if ans else 3
    except ConnectionRefusedError:
        ans, status = None, 4
    except (OSError, ValueError) as e:
        # A bad --src or --ext-addr, or a server name that does not resolve.
        print("pcp_client: %s: %s" % (args.gw, e), file=sys.stderr)
        return 2 if isinstance(e, ValueError) else 3
    out = dict(ans or {"error": "refused" if status == 4 else "timeout"})
    out.update({"nonce": args.nonce_bytes.hex(), "ms": round((time.monotonic() - t0) * 1000, 1)})
    if args.json:
        print(json.dumps(out))
    elif ans is None:
        print("no answer from %s (%s)" % (args.gw, out["error"]))
    elif "epoch" not in ans:
        print("result %d %s (a version %d answer)" % (ans["result"], ans["result_name"], ans["version"]))
    else:
        print("result %(result)d %(result_name)s epoch %(epoch)d lifetime %(lifetime)d "
              "external [%(external_ip)s]:%(external_port)d nonce %(nonce)s" % out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

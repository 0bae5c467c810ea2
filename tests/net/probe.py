#!/usr/bin/env python3
"""Raw NAT-PMP / SSDP probes for the homenet testbed.

natpmpc and upnpc hide result codes and timings; these probes print them.
Run them inside a namespace, e.g.

  homenet.sh exec pi tests/net/probe.py natpmp-addr 192.168.77.1
  homenet.sh exec pi tests/net/probe.py natpmp-map 192.168.77.1 tcp 8080 8080 3600
  homenet.sh exec pi tests/net/probe.py ssdp [--unicast 192.168.77.1] [--mx 1]

Every line printed is "key=value ..." so that tests can parse it.  Exit
status: 0 when a response arrived (whatever its result code), 1 on a
timeout, 2 when the request was refused (ICMP port unreachable).
"""

import argparse
import socket
import struct
import sys
import time

NATPMP_PORT = 5351


def natpmp(gateway, request, timeout, tries):
    """Send a NAT-PMP request, retrying with RFC 6886's doubling delays.

    Returns (status, response bytes or None, seconds elapsed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # connect() so that an ICMP port unreachable shows up as ECONNREFUSED.
    s.connect((gateway, NATPMP_PORT))
    t0 = time.monotonic()
    delay = timeout
    for _ in range(tries):
        try:
            s.send(request)
            s.settimeout(delay)
            while True:
                data = s.recv(64)
                # Ignore anything that is not a response to our opcode.
                if len(data) >= 8 and data[0] == 0 and data[1] == 128 + request[1]:
                    return "ok", data, time.monotonic() - t0
        except socket.timeout:
            delay *= 2
        except ConnectionRefusedError:
            return "refused", None, time.monotonic() - t0
    return "timeout", None, time.monotonic() - t0


def cmd_natpmp_addr(args):
    status, data, dt = natpmp(args.gateway, bytes([0, 0]), args.timeout, args.tries)
    line = "status=%s elapsed_ms=%.0f" % (status, dt * 1000)
    if data:
        result, epoch = struct.unpack("!HI", data[2:8])
        addr = socket.inet_ntoa(data[8:12]) if len(data) >= 12 else ""
        line += " result=%d epoch=%d address=%s" % (result, epoch, addr)
    print(line)
    return {"ok": 0, "timeout": 1, "refused": 2}[status]


def cmd_natpmp_map(args):
    op = {"udp": 1, "tcp": 2}[args.proto]
    req = struct.pack("!BBHHHI", 0, op, 0, args.internal_port, args.external_port, args.lifetime)
    status, data, dt = natpmp(args.gateway, req, args.timeout, args.tries)
    line = "status=%s elapsed_ms=%.0f" % (status, dt * 1000)
    if data:
        result, epoch = struct.unpack("!HI", data[2:8])
        line += " result=%d epoch=%d" % (result, epoch)
        if len(data) >= 16:
            iport, eport, life = struct.unpack("!HHI", data[8:16])
            line += " internal_port=%d external_port=%d lifetime=%d" % (iport, eport, life)
    print(line)
    return {"ok": 0, "timeout": 1, "refused": 2}[status]


def cmd_ssdp(args):
    dest = (args.unicast or "239.255.255.250", 1900)
    msg = ("M-SEARCH * HTTP/1.1\r\n"
           "HOST: 239.255.255.250:1900\r\n"
           'MAN: "ssdp:discover"\r\n'
           "MX: %d\r\n"
           "ST: %s\r\n\r\n" % (args.mx, args.st)).encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    t0 = time.monotonic()
    s.sendto(msg, dest)
    replies = 0
    deadline = t0 + args.wait
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, addr = s.recvfrom(4096)
        except socket.timeout:
            break
        except ConnectionRefusedError:
            print("status=refused elapsed_ms=%.0f" % ((time.monotonic() - t0) * 1000))
            return 2
        replies += 1
        location = ""
        for hl in data.decode(errors="replace").split("\r\n"):
            if hl.lower().startswith("location:"):
                location = hl.split(":", 1)[1].strip()
        print("reply=%d from=%s elapsed_ms=%.1f location=%s"
              % (replies, addr[0], (time.monotonic() - t0) * 1000, location))
        if args.first:
            break
    if not replies:
        print("status=timeout elapsed_ms=%.0f" % ((time.monotonic() - t0) * 1000))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("natpmp-addr", "natpmp-map"):
        p = sub.add_parser(name)
        p.add_argument("gateway")
        p.add_argument("--timeout", type=float, default=0.25, help="first retry delay (s)")
        p.add_argument("--tries", type=int, default=4, help="attempts (delay doubles)")
        if name == "natpmp-map":
            p.add_argument("proto", choices=("tcp", "udp"))
            p.add_argument("internal_port", type=int)
            p.add_argument("external_port", type=int)
            p.add_argument("lifetime", type=int)
    p = sub.add_parser("ssdp")
    p.add_argument("--unicast", metavar="ADDR", help="send to ADDR:1900 instead of multicast")
    p.add_argument("--mx", type=int, default=1)
    p.add_argument("--st", default="urn:schemas-upnp-org:device:InternetGatewayDevice:1")
    p.add_argument("--wait", type=float, default=3.0, help="listen this long for replies (s)")
    p.add_argument("--first", action="store_true", help="stop at the first reply")
    args = ap.parse_args()
    return {"natpmp-addr": cmd_natpmp_addr, "natpmp-map": cmd_natpmp_map,
            "ssdp": cmd_ssdp}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

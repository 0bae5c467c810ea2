#!/usr/bin/env python3
"""NAT loopback ("hairpin") helper for homenet.sh.

Runs inside the router namespace.  miniupnpd's DNAT rules only match
packets arriving on the WAN interface, so a LAN host connecting to
WAN-address:port is not forwarded.  This helper mirrors every DNAT rule of
miniupnpd's prerouting chain into the chain MIRROR of the table HP_TABLE
(which homenet.sh creates, together with the masquerade rule for LAN->LAN
DNATed traffic) as

    ip daddr <current WAN address> meta l4proto tcp th dport 80 dnat to 192.168.77.10:8080

The base chain that jumps to MIRROR only does so for packets arriving on
the LAN bridge.

It resyncs when "nft monitor" reports a rule change outside its own table,
when the WAN address changes (checked every 100 ms with an ioctl, no
process started), and every 2 s regardless, as a safety net (every
100 ms during its first 2 s).  A resync
costs two nft invocations; the mirror chain is replaced atomically, and
only when the wanted rule set differs from the one applied last.

usage: hairpin_sync.py RUN_DIR NFT_TABLE NFT_PRE_CHAIN HP_TABLE WAN_IF
(RUN_DIR is only used to make the process recognisable to homenet.sh.)
"""

import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

SIOCGIFADDR = 0x8915
PROTOS = {6: "tcp", 17: "udp", "tcp": "tcp", "udp": "udp"}


def log(msg):
    print("%s %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def wan_address(sock, ifname):
    """Current IPv4 address of ifname, or None."""
    try:
        req = struct.pack("256s", ifname.encode()[:15])
        return socket.inet_ntoa(fcntl.ioctl(sock.fileno(), SIOCGIFADDR, req)[20:24])
    except OSError:
        return None


def dnat_rules(table, chain):
    """(proto, dport, saddr or None, 'addr:port') for each DNAT rule of chain."""
    out = subprocess.run(["nft", "-j", "list", "chain", "inet", table, chain],
                         capture_output=True, text=True, check=False).stdout
    try:
        items = json.loads(out)["nftables"]
    except (ValueError, KeyError):
        return None
    rules = []
    for item in items:
        rule = item.get("rule")
        if not rule:
            continue
        proto = dport = saddr = target = None
        for expr in rule.get("expr", []):
            if "dnat" in expr:
                d = expr["dnat"]
                target = "%s:%s" % (d["addr"], d["port"]) if "port" in d else d["addr"]
                continue
            m = expr.get("match")
            if not m or m.get("op") != "==":
                continue
            left, right = m["left"], m["right"]
            if "payload" in left:
                p = left["payload"]
                if p.get("base") == "nh" and p.get("offset") == 72 and p.get("len") == 8:
                    proto = PROTOS.get(right)             # IPv4 protocol byte
                elif p.get("base") == "nh" and p.get("offset") == 96 and p.get("len") == 32:
                    saddr = socket.inet_ntoa(struct.pack("!I", int(right)))  # remote host
                elif p.get("field") == "dport":
                    dport = right
                    if p.get("protocol") in ("tcp", "udp"):
                        proto = p["protocol"]
                elif p.get("protocol") == "ip" and p.get("field") == "saddr":
                    saddr = right
                elif p.get("protocol") == "ip" and p.get("field") == "protocol":
                    proto = PROTOS.get(right)
            elif left.get("meta", {}).get("key") == "l4proto":
                proto = PROTOS.get(right)
        if proto and dport is not None and target:
            rules.append((proto, dport, saddr, target))
    return rules


def main():
    _run_dir, table, pre_chain, hp_table, wan_if = sys.argv[1:6]
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    monitor = subprocess.Popen(["nft", "monitor", "rules"], stdout=subprocess.PIPE)
    os.set_blocking(monitor.stdout.fileno(), False)

    def stop(*_):
        monitor.terminate()
        sys.exit(0)
    signal.signal(signal.SIGTERM, stop)

    applied = None
    wan = None
    started = time.monotonic()
    dirty, dirty_since, last_full = True, started, 0.0
    while True:
        now = time.monotonic()
        addr = wan_address(sock, wan_if)
        if addr != wan:
            wan = addr
            dirty, dirty_since = True, now
        # Full resyncs: every 2 s as a safety net; every 100 ms during the
        # first 2 s (nft monitor subscribes asynchronously, so an event
        # right after startup could be missed) and without a working monitor.
        full_every = 2.0 if monitor.poll() is None and now - started > 2.0 else 0.1
        if now - last_full > full_every:
            dirty, last_full = True, now
        if dirty:
            rules = dnat_rules(table, pre_chain)
            if rules is not None:
                want = ["flush chain ip %s mirror" % hp_table]
                if wan:
                    for proto, dport, saddr, target in rules:
                        want.append("add rule ip %s mirror ip daddr %s%s meta l4proto %s th dport %s dnat to %s"
                                    % (hp_table, wan, " ip saddr " + saddr if saddr else "",
                                       proto, dport, target))
                if want != applied:
                    res = subprocess.run(["nft", "-f", "-"], input="\n".join(want) + "\n",
                                         text=True, check=False)
                    if res.returncode == 0:
                        applied = want
                        log("synced WAN=%s rules=%d lag=%.0fms"
                            % (wan, len(want) - 1, (time.monotonic() - dirty_since) * 1000))
                dirty = False
        # Wait for an nft event for at most 100 ms (the WAN address poll).
        fds = [monitor.stdout] if monitor.poll() is None else []
        ready, _, _ = select.select(fds, [], [], 0.1)
        if ready:
            data = monitor.stdout.read() or b""
            # Our own flush/add of the mirror chain is reported too; only
            # changes elsewhere (miniupnpd's chains) need a resync.
            if any(line and hp_table.encode() not in line for line in data.split(b"\n")):
                if not dirty:
                    dirty, dirty_since = True, time.monotonic()


if __name__ == "__main__":
    main()

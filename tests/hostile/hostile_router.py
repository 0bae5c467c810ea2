#!/usr/bin/python3
"""hostile_router.py - a home router that misbehaves, for portkeeper's tests.

It stands in for a router's UPnP-IGD (SSDP responder, HTTP server for the
device description and the SOAP control URL) and its NAT-PMP responder, and
misbehaves on purpose in one chosen way per protocol.  Run it inside a
namespace of tests/net/homenet.sh, on the router's LAN address with
miniupnpd switched off, or on another LAN host as a rogue IGD.  Standard
library only.  See README.md next to it for the modes.

usage: hostile_router.py [--addr ADDR] [--upnp MODE] [--natpmp MODE]
                         [--ext-ip ADDR] [--after N] [--modes FILE]
                         [--log FILE] [--ready FILE] [--alt-source ADDR]
                         [--notify]
"""

import argparse
import os
import re
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
NATPMP_PORT = 5351
ANNOUNCE_GROUP = "224.0.0.1"
ANNOUNCE_PORT = 5350
IGD = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
WANIP = "urn:schemas-upnp-org:service:WANIPConnection:1"
UUID = "uuid:0badc0de-dead-beef-0000-%012x"
# slow-after: how late each answer comes.  portkeeper gives a UPnP call
# 4.3 s; what is left is the margin for a busy machine.
SLOW_AFTER_S = 3.8

UPNP_MODES = {
    "off": "no SSDP answer and no HTTP server",
    "location-elsewhere": "SSDP answers whose LOCATION is on the laptop "
                          "(192.168.77.20), with an escape sequence",
    "ok": "a working-looking IGD: it records every request and says yes",
    "xml-malformed": "a description of unclosed tags, binary bytes and "
                     "entities; its SOAP answers are garbage too",
    "xml-truncated": "the description cut in the middle: the Content-Length "
                     "of all of it, then the connection closed",
    "huge-length": "Content-Length: 2147483648 (2 GB), then junk streamed "
                   "as fast as the client reads it",
    "endless": "no Content-Length: junk streamed until the client hangs up",
    "drip": "the description one byte per second",
    "drip-soap": "a good description; every SOAP answer one byte per second",
    "chunked-garbage": "Transfer-Encoding: chunked with chunk sizes that are "
                       "not hex, overflow, or lie",
    "soap-fault": "a good description and external address; AddPortMapping "
                  "and every other action a SOAP fault with a hostile "
                  "errorDescription",
    "big-desc": "a 10 MB description with no usable service",
    "control-elsewhere": "a control URL on another host, with control bytes "
                         "and markup in it",
    "ext-ip": "GetExternalIPAddress answers --ext-ip (999.1.1.1, 0.0.0.0, "
              "<script>...); everything else says yes",
    "slow-after": "a working IGD that makes the first --after forwards "
                  "(AddPortMapping) at once; from the next AddPortMapping "
                  "on, every SOAP answer comes %.1f s late, just within "
                  "the client's deadline per call" % SLOW_AFTER_S,
}
NATPMP_MODES = {
    "off": "nothing listens on UDP 5351 (ICMP port unreachable)",
    "ok": "correct answers with --ext-ip, every mapping granted",
    "short": "every reply cut short (and a few empty datagrams)",
    "stale": "a correct public address reply; mapping replies for another "
             "internal port, as if answering an older request",
    "wrong-source": "correct-looking replies (address 11.22.33.66), but "
                    "from port 5352 and from --alt-source",
    "wrong-opcode": "replies with another request's opcode, or without the "
                    "reply bit",
    "ext-ip": "result 0 with --ext-ip as the public address (0.0.0.0, "
              "127.0.0.1, 224.0.0.1...); mappings granted",
    "port-zero": "a correct public address reply; mapping replies with "
                 "result 0 (success) and mapped external port 0",
}

LOG_LOCK = threading.Lock()
NATPMP_APPLIED = threading.Event()
LOG = None
START = time.monotonic()


def log(what):
    """One line per thing the router saw, for the tests to read."""
    line = "%.3f %s\n" % (time.monotonic() - START, what)
    with LOG_LOCK:
        if LOG is not None:
            LOG.write(line)
            LOG.flush()


def printable(b):
    return "".join(c if " " <= c < "\x7f" else "?" for c in
                   b.decode("latin-1"))


# ---------------------------------------------------------------------------
# The device description and SOAP.

def description(addr, port, control="/ctl/IPConn", service=WANIP,
                padding=""):
    return ("""<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>%(igd)s</deviceType>
<friendlyName>hostile router</friendlyName>
<manufacturer>portkeeper tests</manufacturer>
<modelName>hostile</modelName>
<UDN>%(uuid)s</UDN>%(padding)s
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<UDN>%(uuid)s-1</UDN>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1</serviceType>
<serviceId>urn:upnp-org:serviceId:WANCommonIFC1</serviceId>
<controlURL>/ctl/CmnIfCfg</controlURL>
<eventSubURL>/evt/CmnIfCfg</eventSubURL>
<SCPDURL>/WANCfg.xml</SCPDURL>
</service></serviceList>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<UDN>%(uuid)s-2</UDN>
<serviceList><service>
<serviceType>%(service)s</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>%(control)s</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL>
<SCPDURL>/WANIPCn.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
<presentationURL>http://%(addr)s:%(port)d/</presentationURL>
</device>
</root>
""" % {"igd": IGD, "uuid": UUID % port, "addr": addr, "port": port,
        "control": control, "service": service, "padding": padding}
    ).encode()


MALFORMED_DESC = (
    b'<?xml version="1.0"?>\n<root xmlns="urn:schemas-upnp-org:device-1-0">'
    b"<device><deviceType>" + IGD.encode() + b"</deviceType>"
    b"<serviceList><service><serviceType>" + WANIP.encode() +
    b"<<<</serviceType></service><controlURL>/ctl/\x1b[31m\x07&#0;&lt;b"
    b"</controlURL\x00\xff\xfe<service<<><serviceType/><!-- never closed "
    b"<![CDATA[ ]]]]> &&&;;; </root></root></device>\r\n\x00\x00")


def big_description(addr, port):
    """10 MB: tens of thousands of services, none a WAN connection."""
    junk = ("<service><serviceType>urn:schemas-upnp-org:service:"
            "Layer3Forwarding:1</serviceType><controlURL>/ctl/L3F"
            "</controlURL></service>")
    return description(addr, port, service="urn:schemas-upnp-org:service:"
                       "Layer3Forwarding:1",
                       padding="<serviceList>%s</serviceList>" %
                       (junk * (10 * 1024 * 1024 // len(junk))))


def soap_envelope(inner):
    return ('<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.'
            'xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.'
            'xmlsoap.org/soap/encoding/"><s:Body>%s</s:Body></s:Envelope>'
            '\r\n' % inner).encode()


def soap_response(action, args):
    body = "".join("<%s>%s</%s>" % (k, v, k) for k, v in args)
    return soap_envelope('<u:%sResponse xmlns:u="%s">%s</u:%sResponse>' %
                         (action, WANIP, body, action))


def soap_fault(code, desc):
    return soap_envelope(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError"
        "</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp-org:"
        "control-1-0\"><errorCode>%s</errorCode><errorDescription>%s"
        "</errorDescription></UPnPError></detail></s:Fault>" % (code, desc))


def http_head(status, length=None, ctype="text/xml; charset=\"utf-8\"",
              extra=""):
    h = "HTTP/1.1 %s\r\nContent-Type: %s\r\nConnection: close\r\n" \
        "Server: hostile/1.0 UPnP/1.1\r\n%s" % (status, ctype, extra)
    if length is not None:
        h += "Content-Length: %d\r\n" % length
    return (h + "\r\n").encode()


class Modes:
    """How to misbehave now: from the command line, or from --modes FILE,
    re-read whenever it changes (lines "upnp=MODE", "natpmp=MODE",
    "ext-ip=VALUE", "after=N", "gen=N").  The NAT-PMP thread logs "ready
    gen N" once it has opened or closed its socket for generation N."""

    def __init__(self, args):
        self.upnp, self.natpmp, self.ext_ip = args.upnp, args.natpmp, \
            args.ext_ip
        self.after = args.after
        self.gen = "0"
        self.path = args.modes
        self.stamp = None
        self.lock = threading.Lock()

    def get(self):
        with self.lock:
            self.reload()
            return self.upnp, self.natpmp, self.ext_ip, self.gen

    def get_after(self):
        with self.lock:
            self.reload()
            return self.after

    def reload(self):
        if not self.path:
            return
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_ino, st.st_size)
            if stamp == self.stamp:
                return
            with open(self.path) as f:
                vals = dict(line.rstrip("\n").partition("=")[::2]
                            for line in f)
        except OSError:
            return
        self.stamp = stamp
        if vals.get("upnp") in UPNP_MODES:
            self.upnp = vals["upnp"]
        if vals.get("natpmp") in NATPMP_MODES:
            self.natpmp = vals["natpmp"]
        self.ext_ip = vals.get("ext-ip", self.ext_ip)
        if vals.get("after", "").isdigit():
            self.after = int(vals["after"])
        self.gen = vals.get("gen", self.gen)
        log("modes: upnp %s, natpmp %s, ext-ip %s, after %d, gen %s" % (
            self.upnp, self.natpmp, printable(self.ext_ip.encode()),
            self.after, self.gen))


class Router:
    """The state a working-looking IGD keeps: its port mappings."""

    def __init__(self, args, modes):
        self.args = args
        self.modes = modes
        self.mappings = {}
        self.lock = threading.Lock()
        self.http_port = 0
        self.big = None
        # slow-after: AddPortMapping requests seen in this generation of
        # the modes, and whether the router has turned slow.
        self.adds_gen = None
        self.adds = 0

    def slow_now(self, action, gen, after):
        """slow-after: whether this SOAP request is answered late."""
        with self.lock:
            if gen != self.adds_gen:
                self.adds_gen, self.adds = gen, 0
            if action == "AddPortMapping":
                self.adds += 1
            return self.adds > after

    # SOAP for the modes that answer at all.
    def soap(self, action, params, mode, ext_ip):
        if mode == "soap-fault" and action not in (
                "GetExternalIPAddress", "GetStatusInfo"):
            # A description a browser would run, control bytes, and a
            # number no specification has.
            return "500 Internal Server Error", soap_fault(
                501, "&lt;script&gt;alert(1)&lt;/script&gt;\x1b[2J\x07 "
                "the router is on fire")
        if action == "GetExternalIPAddress":
            if mode == "ext-ip" and ext_ip.startswith("<"):
                # Markup where an address belongs, as CDATA so that an
                # XML parser hands it over as text.
                val = "<![CDATA[%s]]>" % ext_ip
            else:
                val = ext_ip
            return "200 OK", soap_response(action,
                                           [("NewExternalIPAddress", val)])
        if action == "GetStatusInfo":
            return "200 OK", soap_response(action, [
                ("NewConnectionStatus", "Connected"),
                ("NewLastConnectionError", "ERROR_NONE"),
                ("NewUptime", "1234")])
        key = (params.get("NewExternalPort", ""),
               params.get("NewProtocol", "").upper())
        if action == "AddPortMapping":
            with self.lock:
                self.mappings[key] = params
            return "200 OK", soap_response(action, [])
        if action == "GetSpecificPortMappingEntry":
            with self.lock:
                m = self.mappings.get(key)
            if m is None:
                return "500 Internal Server Error", soap_fault(
                    714, "NoSuchEntryInArray")
            return "200 OK", soap_response(action, [
                ("NewInternalPort", m.get("NewInternalPort", "")),
                ("NewInternalClient", m.get("NewInternalClient", "")),
                ("NewEnabled", "1"),
                ("NewPortMappingDescription",
                 m.get("NewPortMappingDescription", "")),
                ("NewLeaseDuration", m.get("NewLeaseDuration", "0"))])
        if action == "DeletePortMapping":
            with self.lock:
                gone = self.mappings.pop(key, None)
            if gone is None:
                return "500 Internal Server Error", soap_fault(
                    714, "NoSuchEntryInArray")
            return "200 OK", soap_response(action, [])
        if action == "GetGenericPortMappingEntry":
            return "500 Internal Server Error", soap_fault(
                713, "SpecifiedArrayIndexInvalid")
        return "500 Internal Server Error", soap_fault(401, "Invalid Action")


class HTTPHandler(socketserver.BaseRequestHandler):
    def read_request(self):
        s = self.request
        s.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
            if len(data) > 65536:
                return None
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        want = int(hdrs.get("content-length", "0") or 0)
        while len(body) < min(want, 1 << 20):
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        return lines[0], hdrs, body

    def send(self, data):
        try:
            self.request.sendall(data)
        except OSError:
            pass

    def stream(self, total):
        """Junk as fast as the client takes it."""
        junk = b"<x>" + b"A" * 65533
        sent = 0
        try:
            while sent < total:
                self.request.sendall(junk)
                sent += len(junk)
        except OSError as e:
            log("stream: the client stopped reading after %d KiB (%s)" %
                (sent >> 10, e.strerror))

    def drip(self, data):
        """One byte per second, until the client gives up."""
        try:
            for i in range(len(data)):
                self.request.sendall(data[i:i + 1])
                time.sleep(1)
        except OSError as e:
            log("drip ended after %d bytes: %s" % (i, e.strerror))

    def handle(self):
        router = self.server.router
        req = self.read_request()
        if req is None:
            return
        mode, _, ext_ip, gen = router.modes.get()
        line, hdrs, body = req
        parts = line.split(" ")
        path = parts[1] if len(parts) > 1 else ""
        peer = self.client_address[0]
        action = hdrs.get("soapaction", "").strip('"').rpartition("#")[2]
        params = dict(re.findall(r"<(New\w+)>([^<]*)</\1>",
                                 body.decode("latin-1")))
        log("http %s %s from %s%s%s" % (
            parts[0], printable(path.encode()), peer,
            " soap " + action if action else "",
            " ext " + printable(params["NewExternalPort"].encode())
            if "NewExternalPort" in params else ""))
        addr, port = router.args.addr, router.http_port

        if parts[0] == "GET":
            self.serve_description(mode, addr, port)
            return
        if mode == "xml-malformed":
            self.send(http_head("200 OK") + b"<s:Envelope><s:Body><u:"
                      b"GetExternalIPAddressResponse><NewExternalIPAddress>"
                      b"\x00\x01<<</s:Body>")
            return
        status, payload = router.soap(action, params, mode, ext_ip)
        if mode == "slow-after" and router.slow_now(
                action, gen, router.modes.get_after()):
            time.sleep(SLOW_AFTER_S)
            log("http answered %s%s %.1f s late" % (
                action, " ext " + printable(params["NewExternalPort"].encode())
                if "NewExternalPort" in params else "", SLOW_AFTER_S))
        if mode == "drip-soap":
            self.drip(http_head(status, len(payload)) + payload)
            return
        self.send(http_head(status, len(payload)) + payload)

    def serve_description(self, mode, addr, port):
        router = self.server.router
        desc = description(addr, port)
        if mode == "xml-malformed":
            self.send(http_head("200 OK", len(MALFORMED_DESC)) +
                      MALFORMED_DESC)
        elif mode == "xml-truncated":
            self.send(http_head("200 OK", len(desc)) + desc[:len(desc) // 2])
        elif mode == "huge-length":
            self.send(http_head("200 OK", 2147483648) + desc[:200])
            self.stream(2147483648 - 200)
        elif mode == "endless":
            self.send(http_head("200 OK") + desc[:200])
            self.stream(1 << 62)
        elif mode == "drip":
            self.drip(http_head("200 OK", len(desc)) + desc)
        elif mode == "chunked-garbage":
            self.send(http_head("200 OK", extra="Transfer-Encoding: "
                                "chunked\r\n") +
                      b"6; a valid chunk first\r\n<root>\r\n"
                      b"fffffffffffffffffffffffffffffff0\r\n" + desc[:300] +
                      b"\r\nzz; not hex\r\n-5\r\nabc\r\n7fffffff\r\n"
                      b"<device>\r\n\x00\x00\xff\r\n")
        elif mode == "big-desc":
            self.send(http_head("200 OK", len(router.big)))
            self.send(router.big)
        elif mode == "control-elsewhere":
            d = description(addr, port, control="http://11.22.33.1:80/ctl/"
                            "\x1b[31m\x07&lt;script&gt;alert(1)&lt;/script"
                            "&gt;\"'")
            self.send(http_head("200 OK", len(d)) + d)
        else:
            self.send(http_head("200 OK", len(desc)) + desc)


class HTTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------------------
# SSDP.

def ssdp_loop(args, router, sock):
    """Answers M-SEARCH while the UPnP mode is not off."""
    st_ok = ("ssdp:all", "upnp:rootdevice", IGD,
             "urn:schemas-upnp-org:device:InternetGatewayDevice:2")
    while True:
        data, peer = sock.recvfrom(4096)
        text = data.decode("latin-1")
        if not text.startswith("M-SEARCH"):
            continue
        m = re.search(r"(?im)^ST:\s*(\S+)", text)
        st = m.group(1) if m else ""
        log("ssdp M-SEARCH from %s:%d st %s" % (peer[0], peer[1],
                                                printable(st.encode())))
        if st not in st_ok or router.modes.get()[0] == "off":
            continue
        where = args.addr
        if router.modes.get()[0] == "location-elsewhere":
            where = "192.168.77.20"
        reply = ("HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\n"
                 "ST: %s\r\nUSN: %s::%s\r\nEXT:\r\n"
                 "SERVER: hostile/1.0 UPnP/1.1\r\n"
                 "LOCATION: http://%s:%d/rootDesc.xml%s\r\n\r\n" %
                 (IGD if st == "ssdp:all" else st, UUID % router.http_port,
                  IGD, where, router.http_port, "\x1b[2J" if where !=
                  args.addr else ""))
        sock.sendto(reply.encode(), peer)


def notify_loop(args, router):
    """A rogue's advertising: SSDP NOTIFY with a new boot id every second,
    and NAT-PMP announcements claiming a reboot (epoch 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF,
                 socket.inet_aton(args.addr))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
    boot = 1
    while True:
        note = ("NOTIFY * HTTP/1.1\r\nHOST: %s:%d\r\nCACHE-CONTROL: "
                "max-age=120\r\nLOCATION: http://%s:%d/rootDesc.xml?%d\r\n"
                "NT: %s\r\nNTS: ssdp:alive\r\nUSN: %s::%s\r\n"
                "BOOTID.UPNP.ORG: %d\r\n\r\n" %
                (SSDP_GROUP, SSDP_PORT, args.addr, router.http_port, boot,
                 IGD, UUID % router.http_port, IGD, boot))
        try:
            s.sendto(note.encode(), (SSDP_GROUP, SSDP_PORT))
            s.sendto(struct.pack("!BBHI4s", 0, 128, 0, 0,
                                 socket.inet_aton("11.22.33.66")),
                     (ANNOUNCE_GROUP, ANNOUNCE_PORT))
        except OSError as e:
            log("notify: %s" % e.strerror)
        boot += 1
        time.sleep(1)


# ---------------------------------------------------------------------------
# NAT-PMP (RFC 6886).

def natpmp_bind(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.settimeout(0.05)
    return s


def natpmp_loop(args, modes):
    """Listens on ADDR:5351 while the NAT-PMP mode is not off (closed, the
    port answers ICMP port unreachable, as on a router without NAT-PMP)."""
    sock = None
    alt = []
    applied = None
    epoch_base = time.monotonic()
    stale_epoch = 100000
    while True:
        _, mode, ext_ip, gen = modes.get()
        if mode != "off" and sock is None:
            sock = natpmp_bind(args.addr, NATPMP_PORT)
        elif mode == "off" and sock is not None:
            sock.close()
            sock = None
        if mode == "wrong-source" and not alt:
            # Replies from the right address but another port, and from
            # another address of this host (--alt-source): a connected
            # client socket must drop both.
            alt.append(natpmp_bind(args.addr, NATPMP_PORT + 1))
            if args.alt_source:
                alt.append(natpmp_bind(args.alt_source, NATPMP_PORT))
        if gen != applied:
            applied = gen
            log("ready gen %s" % gen)
            NATPMP_APPLIED.set()
        if sock is None:
            time.sleep(0.05)
            continue
        try:
            data, peer = sock.recvfrom(1100)
        except socket.timeout:
            continue
        if len(data) < 2:
            log("natpmp %d-byte datagram from %s" % (len(data), peer[0]))
            continue
        ver, op = data[0], data[1]
        log("natpmp op %d from %s:%d%s" % (
            op, peer[0], peer[1], " int %d ext %d" % struct.unpack(
                "!HH", data[4:8]) if len(data) >= 8 and op in (1, 2)
            else ""))
        epoch = int(time.monotonic() - epoch_base) + 10
        if ver != 0:
            # A NAT-PMP router without PCP: "Unsupported Version" (RFC 6886
            # section 3.5 with errata 3618, opcode 128), which RFC 6887
            # section 9 tells a PCP client to take as NAT-PMP only.
            if mode == "ok":
                sock.sendto(struct.pack("!BBHI", 0, 128, 1, epoch), peer)
            continue
        addr = ext_ip if mode in ("ok", "ext-ip") else "11.22.33.2"
        if mode == "wrong-source":
            addr = "11.22.33.66"
        try:
            pub = socket.inet_aton(addr)
        except OSError:
            pub = b"\xff\xff\xff\xff"
        if op == 0:
            reply = struct.pack("!BBHI4s", 0, 128, 0, epoch, pub)
        elif op in (1, 2) and len(data) >= 12:
            iport, eport, life = struct.unpack("!HHI", data[4:12])
            if mode == "stale":
                # The answer to an older request for another port, with an
                # epoch from before.
                stale_epoch -= 1
                reply = struct.pack("!BBHIHHI", 0, 128 + op, 0, stale_epoch,
                                    (iport + 1) & 0xffff, eport, life)
            elif mode == "port-zero":
                reply = struct.pack("!BBHIHHI", 0, 128 + op, 0, epoch, iport,
                                    0, min(life, 3600))
            else:
                reply = struct.pack("!BBHIHHI", 0, 128 + op, 0, epoch, iport,
                                    eport, min(life, 3600))
        else:
            reply = struct.pack("!BBHI", 0, 128 + op, 5, epoch)

        if mode in ("ok", "ext-ip", "stale", "port-zero"):
            sock.sendto(reply, peer)
        elif mode == "short":
            for cut in (len(reply) - 1, 7, 2, 0):
                sock.sendto(reply[:cut], peer)
        elif mode == "wrong-opcode":
            # A public address reply to a mapping request and the other
            # way round; then the request's opcode without the reply bit.
            if op == 0:
                wrong = struct.pack("!BBHIHHI", 0, 130, 0, epoch, 8080, 8080,
                                    3600)
            else:
                wrong = struct.pack("!BBHI4s", 0, 128, 0, epoch, pub) + \
                    reply[12:]
            sock.sendto(wrong, peer)
            sock.sendto(bytes([0, op]) + reply[2:], peer)
            sock.sendto(bytes([0, 128 + (op + 1) % 3]) + reply[2:], peer)
        elif mode == "wrong-source":
            for s in alt:
                s.sendto(reply, peer)


# ---------------------------------------------------------------------------

def main():
    global LOG
    p = argparse.ArgumentParser(
        description="A home router that misbehaves on purpose.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="UPnP modes:\n" + "".join(
            "  %-18s %s\n" % kv for kv in UPNP_MODES.items()) +
        "NAT-PMP modes:\n" + "".join(
            "  %-18s %s\n" % kv for kv in NATPMP_MODES.items()))
    p.add_argument("--addr", default="192.168.77.1",
                   help="address to serve on (default 192.168.77.1)")
    p.add_argument("--upnp", default="off", choices=UPNP_MODES)
    p.add_argument("--natpmp", default="off", choices=NATPMP_MODES)
    p.add_argument("--ext-ip", default="11.22.33.2",
                   help="the external address claimed (ok and ext-ip modes)")
    p.add_argument("--after", type=int, default=0, metavar="N",
                   help="upnp slow-after: how many forwards to make at "
                   "once before turning slow (default 0)")
    p.add_argument("--alt-source", default="",
                   help="another local address, for natpmp wrong-source")
    p.add_argument("--modes", help="re-read the modes from this file "
                   "whenever it changes (upnp=, natpmp=, ext-ip=, after=, "
                   "gen= lines)")
    p.add_argument("--notify", action="store_true",
                   help="also advertise: SSDP NOTIFY and NAT-PMP "
                   "announcements every second")
    p.add_argument("--log", help="append one line per request to this file")
    p.add_argument("--ready", help="write the HTTP port here once every "
                   "socket is bound")
    args = p.parse_args()
    if args.log:
        LOG = open(args.log, "a")
    # Die at once on SIGTERM, whatever the threads are doing.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    modes = Modes(args)
    router = Router(args, modes)
    httpd = HTTPServer((args.addr, 0), HTTPHandler)
    httpd.router = router
    router.http_port = httpd.server_address[1]
    # Made once, before any scenario needs it: it takes a while.
    router.big = big_description(args.addr, router.http_port)
    ss = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ss.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ss.bind(("0.0.0.0", SSDP_PORT))
    ss.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                  socket.inet_aton(SSDP_GROUP) + socket.inet_aton(args.addr))
    threads = [threading.Thread(target=httpd.serve_forever),
               threading.Thread(target=ssdp_loop, args=(args, router, ss)),
               threading.Thread(target=natpmp_loop, args=(args, modes))]
    if args.notify:
        threads.append(threading.Thread(target=notify_loop,
                                        args=(args, router)))
    for t in threads:
        t.daemon = True
        t.start()
    upnp, natpmp, ext_ip, gen = modes.get()
    log("up: upnp %s, natpmp %s, http port %d, ext-ip %s" % (
        upnp, natpmp, router.http_port, printable(ext_ip.encode())))
    # Ready once the NAT-PMP side matches the modes too.
    NATPMP_APPLIED.wait(10)
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % router.http_port)
        os.rename(args.ready + ".tmp", args.ready)
    signal.pause()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""zoo_router.py - a real router's UPnP-IGD (and NAT-PMP), from a profile.

It impersonates one router model as captured in tests/zoo/profiles/NAME.json
(the format is in README.md next to this file): its SSDP answers, its device
description byte for byte (only host and port rewritten), SOAP on its control
URLs with its errors and quirks, its HTTP framing, and optionally its NAT-PMP
(RFC 6886).  A successful AddPortMapping (or NAT-PMP mapping) installs a real
DNAT forward in the router namespace of tests/net/homenet.sh, where miniupnpd
would put it, so that the internet host reaches the LAN host through it.
Standard library only.  Run it in the router namespace with miniupnpd off.

usage: zoo_router.py --profile FILE [--addr ADDR] [--wan-addr ADDR]
                     [--log FILE] [--ready FILE] [--check]
"""

import argparse
import html
import json
import math
import os
import re
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
import urllib.parse

SSDP_GROUP = "239.255.255.250"
SSDP_PORT = 1900
NATPMP_PORT = 5351
SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC_NS = "http://schemas.xmlsoap.org/soap/encoding/"
IGD1 = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
REQUIRED = object()

# The profile format: every key with its default (REQUIRED: must be there).
# A nested dict is an object whose keys are checked the same way.
SCHEMA = {
    "title": REQUIRED,
    "sources": REQUIRED,
    "description": REQUIRED,
    "extra_files": {},
    "ssdp": {
        "search_targets": [IGD1, "upnp:rootdevice"],
        "all_targets": None,
        "answers": {},
        "location_path": "/rootDesc.xml",
        "server": "Linux/2.6 UPnP/1.0 miniupnpd/1.0",
        "uuid": None,
        "usn": {},
        "no_space_after_colon": False,
        "from_ephemeral_port": False,
        "duplicates": 1,
        "extra_headers": ["EXT:", "CACHE-CONTROL: max-age=1800"],
        "headers": None,
        "unicast": True,
    },
    "http": {
        "version": "HTTP/1.1",
        "server": None,
        "content_length": True,
        "chunked": False,
        "keep_alive": False,
        "envelope_prefix": "s",
        "content_type": "text/xml; charset=\"utf-8\"",
        "extra_headers": [],
        "port": 0,
        "soap": {},
    },
    "services": REQUIRED,
    "mapping": {
        "refuse_all": 0,
        "permanent_only": 0,
        "max_lease": 0,
        "wildcard_remote_host_only": False,
        "conflict_code": 718,
        "delete_missing_code": 714,
        "delete_other_code": 606,
        "list_order": "oldest_first",
    },
    "table": [],
    "natpmp": None,
    "expect": REQUIRED,
}
# http.soap: the same framing keys again, for SOAP answers only (a router
# whose description and control URL are served by different code).
HTTP_FRAMING = ("version", "server", "content_length", "chunked",
                "keep_alive", "content_type", "extra_headers")
SERVICE_SCHEMA = {"status": "Connected", "external_ip": "wan",
                  "mapping": True, "v2_actions": [], "errors": {},
                  "uptime": 1000}
TABLE_SCHEMA = {"remote_host": "", "ext": REQUIRED, "proto": REQUIRED,
                "int": None, "client": REQUIRED, "enabled": 1, "desc": "",
                "lease": 0}
NATPMP_SCHEMA = {"answer_from": "gateway", "alt_addr": "192.168.77.2",
                 "wan_down": False, "result_while_down": 3,
                 "lifetime_cap": 0, "epoch_reset_every": 0,
                 "external_ip": "wan"}
EXPECT_SCHEMA = {"ip": REQUIRED, "open": REQUIRED, "lease": None,
                 "note": None, "reachable": REQUIRED, "list": None,
                 "daemon": None, "via": None, "router": None,
                 "quirks": None, "advice": None, "method": None}
SOURCES_KEYS = {"description", "ssdp", "http", "quirks", "natpmp", "table",
                "notes"}
V2_ACTIONS = {"AddAnyPortMapping", "GetListOfPortMappings",
              "DeletePortMappingRange"}
MAPPING_ACTIONS = {"AddPortMapping", "GetSpecificPortMappingEntry",
                   "GetGenericPortMappingEntry", "DeletePortMapping"} | \
    V2_ACTIONS
UPNP_ERRORS = {
    401: "Invalid Action", 402: "Invalid Args", 501: "Action Failed",
    606: "Action not authorized", 713: "SpecifiedArrayIndexInvalid",
    714: "NoSuchEntryInArray", 715: "WildCardNotPermittedInSrcIP",
    716: "WildCardNotPermittedInExtPort", 718: "ConflictInMappingEntry",
    724: "SamePortValuesRequired", 725: "OnlyPermanentLeasesSupported",
    726: "RemoteHostOnlySupportsWildcard",
    727: "ExternalPortOnlySupportsWildcard", 728: "NoPortMapsAvailable",
    729: "ConflictWithOtherMechanisms", 730: "PortMappingNotFound",
}

LOG_LOCK = threading.Lock()
LOG = None
START = time.monotonic()


class ProfileError(Exception):
    pass


def log(what):
    """One line per request, for the tests to count and assert on."""
    line = "%.3f %s\n" % (time.monotonic() - START, what)
    with LOG_LOCK:
        if LOG is not None:
            LOG.write(line)
            LOG.flush()


def printable(s):
    return "".join(c if " " <= c < "\x7f" else "?" for c in s)


# ---------------------------------------------------------------------------
# The profile.

def fill(obj, schema, where):
    """obj with schema's defaults filled in; unknown or missing keys are a
    ProfileError naming where they are."""
    if not isinstance(obj, dict):
        raise ProfileError("%s must be an object" % where)
    unknown = sorted(set(obj) - set(schema))
    if unknown:
        raise ProfileError("unknown key%s %s in %s (known: %s)" % (
            "s" if len(unknown) > 1 else "", ", ".join(unknown), where,
            ", ".join(sorted(schema))))
    out = {}
    sub = where + "." if where != "the profile" else ""
    for key, default in schema.items():
        if key in obj:
            out[key] = obj[key]
        elif default is REQUIRED:
            raise ProfileError("%s lacks the key %s" % (where, key))
        elif isinstance(default, dict) and default:
            out[key] = fill({}, default, sub + key)
        else:
            out[key] = json.loads(json.dumps(default))
        if isinstance(default, dict) and default and key in obj:
            out[key] = fill(obj[key], default, sub + key)
    return out


def want(cond, msg):
    if not cond:
        raise ProfileError(msg)


def load_profile(path):
    """The profile at path, checked and with every default filled in."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise ProfileError("cannot read %s: %s" % (path, e))
    p = fill(raw, SCHEMA, "the profile")
    want(isinstance(p["sources"], dict), "sources must be an object")
    bad = sorted(set(p["sources"]) - SOURCES_KEYS)
    want(not bad, "unknown key %s in sources (known: %s)" % (
        ", ".join(bad), ", ".join(sorted(SOURCES_KEYS))))
    want(isinstance(p["services"], dict), "services must be an object")
    for url, svc in p["services"].items():
        p["services"][url] = s = fill(svc, SERVICE_SCHEMA,
                                      "services[%s]" % url)
        bad = sorted(set(s["v2_actions"]) - V2_ACTIONS)
        want(not bad, "services[%s].v2_actions: unknown action %s (known: "
             "%s)" % (url, ", ".join(bad), ", ".join(sorted(V2_ACTIONS))))
        for action, code in s["errors"].items():
            want(isinstance(code, int) and code > 0,
                 "services[%s].errors[%s] must be a UPnP error code" %
                 (url, action))
    want(isinstance(p["table"], list), "table must be a list")
    p["table"] = [fill(t, TABLE_SCHEMA, "table[%d]" % i)
                  for i, t in enumerate(p["table"])]
    if p["natpmp"] is not None:
        p["natpmp"] = fill(p["natpmp"], NATPMP_SCHEMA, "natpmp")
        want(p["natpmp"]["answer_from"] in ("gateway", "other"),
             "natpmp.answer_from must be gateway or other")
    p["expect"] = fill(p["expect"], EXPECT_SCHEMA, "expect")
    check_http(p, raw)
    m = p["mapping"]
    want(m["list_order"] in ("oldest_first", "newest_first"),
         "mapping.list_order must be oldest_first or newest_first")
    if "headers" in raw.get("ssdp", {}) and "extra_headers" in raw["ssdp"]:
        raise ProfileError("ssdp.headers and ssdp.extra_headers exclude "
                           "each other (headers is the whole answer)")
    want(p["description"] is not None or not p["services"],
         "services without a description")
    want(p["description"] is not None or p["natpmp"] is not None,
         "neither a description (UPnP) nor natpmp: a router that answers "
         "nothing")
    ans = p["ssdp"]["answers"]
    want(isinstance(ans, dict) and all(
        isinstance(v, list) and all(isinstance(t, str) for t in v)
        for v in ans.values()),
        "ssdp.answers must map a search target to a list of targets")
    if p["ssdp"]["all_targets"] is None:
        p["ssdp"]["all_targets"] = p["ssdp"]["search_targets"]
    return p


def check_http(p, raw):
    h = p["http"]
    if h["server"] is None:
        h["server"] = p["ssdp"]["server"]
    soap = h.pop("soap")
    bad = sorted(set(soap) - set(HTTP_FRAMING))
    want(not bad, "unknown key %s in http.soap (known: %s)" % (
        ", ".join(bad), ", ".join(HTTP_FRAMING)))
    h["framing"] = {"description": {k: h[k] for k in HTTP_FRAMING}}
    h["framing"]["soap"] = dict(h["framing"]["description"], **soap)
    for kind, f in h["framing"].items():
        where = "http" if kind == "description" else "http.soap"
        want(f["version"] in ("HTTP/1.0", "HTTP/1.1"),
             "%s.version must be HTTP/1.0 or HTTP/1.1" % where)
        want(not (f["chunked"] and f["version"] == "HTTP/1.0"),
             "%s.chunked needs HTTP/1.1" % where)
        want(not (f["keep_alive"] and not f["content_length"] and
                  not f["chunked"]),
             "%s: keep_alive with neither content_length nor chunked: no "
             "client could tell where an answer ends (when only the SOAP "
             "answers keep the connection, say so in http.soap)" % where)
    want(re.match(r"^[A-Za-z][\w.-]*$", h["envelope_prefix"]) is not None,
         "http.envelope_prefix must be an XML name")


# ---------------------------------------------------------------------------
# The description: host and port rewritten, control URLs found.

URL_RE = re.compile(r"http://(\[[0-9A-Fa-f:.]*\]|[A-Za-z0-9.-]+)(:[0-9]*)?")
# Not the router: the vendor's web site and XML namespaces keep their URLs.
KEEP_RE = re.compile(r"<(manufacturerURL|modelURL)>.*?</\1>|"
                     r"(xmlns(:[\w.-]+)?|schemaLocation)\s*=\s*"
                     r"(\"[^\"]*\"|'[^']*')", re.S)


def rewrite(data, hostport):
    """data (bytes) with every http://HOST[:PORT] that names the router
    turned into http://hostport."""
    text = data.decode("latin-1")
    out, last = [], 0
    for keep in KEEP_RE.finditer(text):
        out.append(URL_RE.sub("http://" + hostport,
                              text[last:keep.start()]))
        out.append(keep.group(0))
        last = keep.end()
    out.append(URL_RE.sub("http://" + hostport, text[last:]))
    return "".join(out).encode("latin-1")


def desc_services(text):
    """(serviceType, controlURL, SCPDURL) of every service, as written."""
    found = []
    for m in re.finditer(r"<service>(.*?)</service>", text, re.S):
        part = m.group(1)

        def field(name):
            f = re.search(r"<%s>\s*(.*?)\s*</%s>" % (name, name), part, re.S)
            return f.group(1) if f else ""
        found.append((field("serviceType"), field("controlURL"),
                      field("SCPDURL")))
    return found


def targets(url, base):
    """Every request target (path and query) a client may send for url as
    written in the description: resolved as RFC 3986 says, or as miniupnpc
    does (the base's scheme and authority, then "/" and url), each with
    and without XML entities decoded."""
    out = set()
    for u in {url, html.unescape(url)}:
        if u.startswith("http://"):
            full = [u]
        else:
            root = re.match(r"http://[^/]*", base).group(0)
            full = [urllib.parse.urljoin(base, u),
                    root + ("" if u.startswith("/") else "/") + u]
        for f in full:
            rest = f[len("http://"):] if f.startswith("http://") else f
            slash = rest.find("/")
            out.add(rest[slash:] if slash >= 0 else "/")
    return out


class Description:
    """What the HTTP side serves: files by request target, and the SOAP
    services by control URL target."""

    def __init__(self, profile, profile_dir, addr, port):
        self.files = {}
        self.controls = {}
        self.uuid = None
        hostport = "%s:%d" % (addr, port)
        if profile["description"] is None:
            return
        raw = read_file(profile_dir, profile["description"])
        body = rewrite(raw, hostport)
        loc = profile["ssdp"]["location_path"]
        self.files[loc] = body
        for path, name in profile["extra_files"].items():
            self.files[path] = rewrite(read_file(profile_dir, name), hostport)
        text = body.decode("latin-1")
        udn = re.search(r"<UDN>\s*(.*?)\s*</UDN>", text)
        self.uuid = udn.group(1) if udn else None
        urlbase = re.search(r"<URLBase>\s*(.*?)\s*</URLBase>", text, re.S)
        base = urlbase.group(1) if urlbase and urlbase.group(1) else \
            "http://%s%s" % (hostport, loc)
        written = desc_services(raw.decode("latin-1"))
        rewritten = desc_services(text)
        known = set()
        for (stype, ctl, _), (_, ctl2, _) in zip(written, rewritten):
            if not ctl:
                continue
            known.update((ctl, html.unescape(ctl)))
            key = ctl if ctl in profile["services"] else \
                html.unescape(ctl)
            for t in targets(ctl2, base):
                self.controls.setdefault(t, []).append((key, stype))
        for url in profile["services"]:
            want(url in known, "services key %r is not a controlURL of %s "
                 "(it has: %s)" % (url, profile["description"], ", ".join(
                     sorted(set(c for _, c, _ in written)))))


def read_file(profile_dir, name):
    want(isinstance(name, str) and "/" not in name and name[:1] != ".",
         "%r: a file name next to the profile, without a directory" %
         (name,))
    try:
        with open(os.path.join(profile_dir, name), "rb") as f:
            return f.read()
    except OSError as e:
        raise ProfileError("cannot read %s: %s" % (name, e.strerror))


# ---------------------------------------------------------------------------
# The forwards: the router's port mapping table and its DNAT rules.

class Firewall:
    """DNAT and filter rules in the chains miniupnpd would use."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.handles = {}
        self.closed = False

    def nft(self, script):
        r = subprocess.run(["nft", "--echo", "--handle", "-f", "-"],
                           input=script, capture_output=True, text=True,
                           check=False)
        if r.returncode != 0:
            log("nft failed: %s" % printable(r.stderr.strip()))
            return None
        return [int(h) for h in re.findall(r"# handle (\d+)", r.stdout)]

    def add(self, key, m):
        a = self.args
        proto = m["proto"].lower()
        src = " ip saddr %s" % m["remote_host"] if m["remote_host"] else ""
        script = (
            'add rule inet %s %s iif "%s"%s meta l4proto %s th dport %d '
            'dnat ip to %s:%d comment "zoo"\n'
            'add rule inet %s %s iif "%s"%s ip daddr %s meta l4proto %s '
            'th dport %d accept comment "zoo"\n' % (
                a.nft_table, a.nft_nat_chain, a.wan_if, src, proto,
                m["ext"], m["client"], m["int"], a.nft_table,
                a.nft_filter_chain, a.wan_if, src, m["client"], proto,
                m["int"]))
        with self.lock:
            if self.closed:
                return False
            handles = self.nft(script)
            if handles is None or len(handles) != 2:
                return False
            self.handles[key] = handles
        log("dnat add %d/%s -> %s:%d" % (m["ext"], m["proto"], m["client"],
                                         m["int"]))
        return True

    def delete(self, key, why="deleted"):
        with self.lock:
            handles = self.handles.pop(key, None)
            if handles is None:
                return
            self.nft(self.delete_script(handles))
        log("dnat del %d/%s (%s)" % (key[0], key[1], why))

    def delete_script(self, handles):
        a = self.args
        nat, filt = handles
        return ("delete rule inet %s %s handle %d\n"
                "delete rule inet %s %s handle %d\n" % (
                    a.nft_table, a.nft_nat_chain, nat, a.nft_table,
                    a.nft_filter_chain, filt))

    def close(self):
        """Every rule of ours removed, at exit."""
        if not self.lock.acquire(timeout=2):
            return
        self.closed = True
        if self.handles:
            self.nft("".join(self.delete_script(h)
                             for h in self.handles.values()))
            self.handles.clear()
        self.lock.release()


class Table:
    """The port mapping table, shared by UPnP and NAT-PMP as miniupnpd
    shares it.  Keys are (external port, "TCP"/"UDP")."""

    def __init__(self, profile, firewall):
        self.fw = firewall
        self.mcfg = profile["mapping"]
        self.lock = threading.RLock()
        self.entries = {}
        for t in profile["table"]:
            e = dict(t, origin="table", expires=None)
            e["proto"] = t["proto"].upper()
            if e["int"] is None:
                e["int"] = e["ext"]
            e["lease"] = t["lease"]
            if t["lease"]:
                e["expires"] = time.monotonic() + t["lease"]
            self.entries[(e["ext"], e["proto"])] = e

    def ordered(self):
        es = list(self.entries.values())
        return es[::-1] if self.mcfg["list_order"] == "newest_first" else es

    def remaining(self, e):
        if not e["expires"]:
            return 0
        return max(0, int(e["expires"] - time.monotonic()))

    def put(self, e):
        """Stores e and installs its DNAT; False if the firewall refused."""
        key = (e["ext"], e["proto"])
        with self.lock:
            old = self.entries.pop(key, None)
            if old is not None:
                self.fw.delete(key, "replaced")
            if e["enabled"] and not self.fw.add(key, e):
                return False
            e["expires"] = time.monotonic() + e["lease"] if e["lease"] \
                else None
            self.entries[key] = e
            return True

    def remove(self, key, why="deleted"):
        with self.lock:
            e = self.entries.pop(key, None)
            if e is not None and e["origin"] != "table":
                self.fw.delete(key, why)
            return e

    def expire_loop(self):
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self.lock:
                gone = [k for k, e in self.entries.items()
                        if e["expires"] and e["expires"] <= now]
                for k in gone:
                    self.remove(k, "expired")
                    log("expired %d/%s" % k)


# ---------------------------------------------------------------------------
# SOAP (UPnP Device Architecture 1.0 section 3, IGD WANIPConnection:1/2).

class UPnPError(Exception):
    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


def soap_params(body):
    params = {}
    for m in re.finditer(r"<(?:[\w.-]+:)?(New\w+)(?:\s[^>]*)?(?:/>|>(.*?)"
                         r"</(?:[\w.-]+:)?\1\s*>)", body, re.S):
        params[m.group(1)] = html.unescape(m.group(2) or "").strip()
    return params


def int_arg(params, name, lo, hi):
    try:
        v = int(params.get(name, ""))
    except ValueError:
        raise UPnPError(402)
    if not lo <= v <= hi:
        raise UPnPError(402)
    return v


def proto_arg(params):
    p = params.get("NewProtocol", "").upper()
    if p not in ("TCP", "UDP"):
        raise UPnPError(402)
    return p


def client_arg(params):
    c = params.get("NewInternalClient", "")
    try:
        socket.inet_aton(c)
    except OSError:
        raise UPnPError(402)
    if c.count(".") != 3:
        raise UPnPError(402)
    return c


class Soap:
    """The answers of the connection services."""

    def __init__(self, profile, table, wan_addr):
        self.profile = profile
        self.table = table
        self.wan_addr = wan_addr
        self.mcfg = profile["mapping"]
        # The lease an add granted, for its log line (one per thread).
        self.local = threading.local()

    def call(self, svc, action, params, peer):
        """(list of (name, value)) for the answer, or raises UPnPError."""
        if action in svc["errors"]:
            raise UPnPError(svc["errors"][action])
        if action == "GetStatusInfo":
            return [("NewConnectionStatus", svc["status"]),
                    ("NewLastConnectionError", "ERROR_NONE"),
                    ("NewUptime", str(int(svc["uptime"] +
                                          time.monotonic() - START)))]
        if action == "GetExternalIPAddress":
            ip = svc["external_ip"]
            return [("NewExternalIPAddress",
                     self.wan_addr if ip == "wan" else ip)]
        if action == "GetConnectionTypeInfo":
            return [("NewConnectionType", "IP_Routed"),
                    ("NewPossibleConnectionTypes", "IP_Routed")]
        if action == "GetNATRSIPStatus":
            return [("NewRSIPAvailable", "0"), ("NewNATEnabled", "1")]
        if action not in MAPPING_ACTIONS or not svc["mapping"]:
            raise UPnPError(401)
        if action in V2_ACTIONS and action not in svc["v2_actions"]:
            raise UPnPError(401)
        return getattr(self, action)(params, peer)

    def add(self, params, peer, any_port):
        m = self.mcfg
        ext = int_arg(params, "NewExternalPort", 0, 65535)
        proto = proto_arg(params)
        iport = int_arg(params, "NewInternalPort", 0, 65535)
        client = client_arg(params)
        lease = int_arg(params, "NewLeaseDuration", 0, 0xffffffff)
        remote = params.get("NewRemoteHost", "")
        if m["refuse_all"]:
            raise UPnPError(m["refuse_all"])
        if m["permanent_only"] and lease != 0:
            raise UPnPError(m["permanent_only"])
        if m["wildcard_remote_host_only"] and remote not in ("", "*"):
            raise UPnPError(726)
        if ext == 0 and not any_port:
            raise UPnPError(716)
        if iport == 0:
            raise UPnPError(402)
        if m["max_lease"] and (lease == 0 or lease > m["max_lease"]):
            lease = m["max_lease"]
        e = {"remote_host": "" if remote == "*" else remote, "ext": ext,
             "proto": proto, "int": iport, "client": client,
             "enabled": 1 if params.get("NewEnabled", "1") != "0" else 0,
             "desc": params.get("NewPortMappingDescription", ""),
             "lease": lease, "origin": "upnp"}
        with self.table.lock:
            if any_port:
                e["ext"] = self.free_port(ext or iport, proto, client)
            else:
                held = self.table.entries.get((ext, proto))
                if held is not None and held["client"] != client:
                    raise UPnPError(m["conflict_code"])
            if not self.table.put(e):
                raise UPnPError(501)
        return e

    def free_port(self, want_port, proto, client):
        """AddAnyPortMapping: the wanted port if free (or this client's),
        else the nearest free one below it, then above it (miniupnpd
        2.3.1 answered 8079 for a held 8080)."""
        for p in [want_port] + list(range(want_port - 1, 1023, -1)) + \
                list(range(want_port + 1, 65536)):
            held = self.table.entries.get((p, proto))
            if held is None or held["client"] == client:
                return p
        raise UPnPError(728)

    def AddPortMapping(self, params, peer):
        e = self.add(params, peer, False)
        self.local.granted = e["lease"]
        return []

    def AddAnyPortMapping(self, params, peer):
        e = self.add(params, peer, True)
        self.local.granted = e["lease"]
        return [("NewReservedPort", str(e["ext"]))]

    def entry_args(self, e, generic):
        out = []
        if generic:
            out = [("NewRemoteHost", e["remote_host"]),
                   ("NewExternalPort", str(e["ext"])),
                   ("NewProtocol", e["proto"])]
        return out + [("NewInternalPort", str(e["int"])),
                      ("NewInternalClient", e["client"]),
                      ("NewEnabled", str(e["enabled"])),
                      ("NewPortMappingDescription", e["desc"]),
                      ("NewLeaseDuration", str(self.table.remaining(e)))]

    def GetSpecificPortMappingEntry(self, params, peer):
        key = (int_arg(params, "NewExternalPort", 0, 65535),
               proto_arg(params))
        e = self.table.entries.get(key)
        if e is None:
            raise UPnPError(714)
        return self.entry_args(e, False)

    def GetGenericPortMappingEntry(self, params, peer):
        idx = int_arg(params, "NewPortMappingIndex", 0, 0xffffffff)
        es = self.table.ordered()
        if idx >= len(es):
            raise UPnPError(713)
        return self.entry_args(es[idx], True)

    def DeletePortMapping(self, params, peer):
        key = (int_arg(params, "NewExternalPort", 0, 65535),
               proto_arg(params))
        with self.table.lock:
            e = self.table.entries.get(key)
            if e is None:
                if self.mcfg["delete_missing_code"]:
                    raise UPnPError(self.mcfg["delete_missing_code"])
                return []
            if e["client"] != peer and self.mcfg["delete_other_code"]:
                raise UPnPError(self.mcfg["delete_other_code"])
            self.table.remove(key)
        return []

    def DeletePortMappingRange(self, params, peer):
        lo = int_arg(params, "NewStartPort", 0, 65535)
        hi = int_arg(params, "NewEndPort", 0, 65535)
        proto = proto_arg(params)
        with self.table.lock:
            keys = [k for k, e in self.table.entries.items()
                    if lo <= k[0] <= hi and k[1] == proto and
                    e["client"] == peer]
            if not keys:
                raise UPnPError(730)
            for k in keys:
                self.table.remove(k)
        return []

    def GetListOfPortMappings(self, params, peer):
        lo = int_arg(params, "NewStartPort", 0, 65535)
        hi = int_arg(params, "NewEndPort", 0, 65535)
        proto = proto_arg(params)
        n = int_arg(params, "NewNumberOfPorts", 0, 65535) or 1000
        es = [e for e in self.table.ordered()
              if lo <= e["ext"] <= hi and e["proto"] == proto][:n]
        if not es:
            raise UPnPError(730)
        items = "".join(
            "<p:PortMappingEntry>%s</p:PortMappingEntry>" % "".join(
                "<p:%s>%s</p:%s>" % (k, html.escape(v, quote=False), k)
                for k, v in [
                    ("NewRemoteHost", e["remote_host"]),
                    ("NewExternalPort", str(e["ext"])),
                    ("NewProtocol", e["proto"]),
                    ("NewInternalPort", str(e["int"])),
                    ("NewInternalClient", e["client"]),
                    ("NewEnabled", str(e["enabled"])),
                    ("NewDescription", e["desc"]),
                    ("NewLeaseTime", str(self.table.remaining(e)))])
            for e in es)
        listing = ('<p:PortMappingList xmlns:p="urn:schemas-upnp-org:gw:'
                   'WANIPConnection" xmlns:xsi="http://www.w3.org/2001/'
                   'XMLSchema-instance" xsi:schemaLocation="urn:schemas-'
                   'upnp-org:gw:WANIPConnection http://www.upnp.org/schemas'
                   '/gw/WANIPConnection-v2.xsd">%s</p:PortMappingList>' %
                   items)
        return [("NewPortListing", "<![CDATA[%s]]>" % listing)]


def envelope(prefix, inner):
    return ('<?xml version="1.0"?>\r\n<%(p)s:Envelope xmlns:%(p)s="%(env)s" '
            '%(p)s:encodingStyle="%(enc)s"><%(p)s:Body>%(inner)s'
            '</%(p)s:Body></%(p)s:Envelope>\r\n' % {
                "p": prefix, "env": SOAP_ENV_NS, "enc": SOAP_ENC_NS,
                "inner": inner}).encode()


def soap_answer(prefix, stype, action, args):
    body = "".join("<%s>%s</%s>" % (k, v if v.startswith("<![CDATA[") else
                                    html.escape(v, quote=False), k)
                   for k, v in args)
    return envelope(prefix, '<u:%sResponse xmlns:u="%s">%s</u:%sResponse>' %
                    (action, stype, body, action))


def soap_fault(prefix, code):
    return envelope(prefix, (
        "<%(p)s:Fault><faultcode>%(p)s:Client</faultcode><faultstring>"
        "UPnPError</faultstring><detail><UPnPError xmlns=\"urn:schemas-upnp"
        "-org:control-1-0\"><errorCode>%(code)d</errorCode>"
        "<errorDescription>%(desc)s</errorDescription></UPnPError></detail>"
        "</%(p)s:Fault>") % {"p": prefix, "code": code,
                             "desc": UPNP_ERRORS.get(code, "Error")})


# ---------------------------------------------------------------------------
# HTTP: the description, extra files and SOAP, framed as the router does.

class HTTPHandler(socketserver.BaseRequestHandler):
    def setup(self):
        self.buf = b""
        self.zoo = self.server.zoo

    def read_request(self, deadline):
        s = self.request
        while b"\r\n\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            s.settimeout(left)
            try:
                chunk = s.recv(65536)
            except OSError:
                return None
            if not chunk or len(self.buf) > 65536:
                return None
            self.buf += chunk
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        try:
            want_len = min(int(hdrs.get("content-length", "0") or 0), 1 << 20)
        except ValueError:
            want_len = 0
        s.settimeout(10)
        while len(rest) < want_len:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            rest += chunk
        body, self.buf = rest[:want_len], rest[want_len:]
        return lines[0], hdrs, body

    def handle(self):
        # keep_alive: the connection stays open after each answer until
        # the client closes it, at most 30 s, whatever it asked for.
        deadline = time.monotonic() + 10
        while True:
            req = self.read_request(deadline)
            if req is None:
                break
            if not self.answer(*req):
                break
            deadline = time.monotonic() + 30
        try:
            self.request.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def answer(self, line, hdrs, body):
        parts = line.split(" ")
        method = parts[0]
        target = parts[1] if len(parts) > 1 else ""
        if target.startswith("http://"):
            target = "/" + target[7:].partition("/")[2]
        peer = self.client_address[0]
        d = self.zoo.desc
        kind = "description"
        if method == "GET" and target in d.files:
            self.send("200 OK", d.files[target], kind)
            log("http GET %s from=%s -> 200 bytes=%d" % (
                printable(target), peer, len(d.files[target])))
        elif method == "POST" and target in d.controls:
            kind = "soap"
            self.soap(target, hdrs, body.decode("latin-1"), peer)
        else:
            self.send("404 Not Found", b"", kind)
            log("http %s %s from=%s -> 404" % (
                printable(method), printable(target), peer))
        return self.zoo.profile["http"]["framing"][kind]["keep_alive"]

    def soap(self, target, hdrs, body, peer):
        zoo = self.zoo
        prefix = zoo.profile["http"]["envelope_prefix"]
        sa = hdrs.get("soapaction", "").strip().strip('"')
        stype, _, action = sa.rpartition("#")
        if not action:
            m = re.search(r"<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?(\w+)",
                          body)
            action = m.group(1) if m else ""
        choices = zoo.desc.controls[target]
        key, svc_type = next((c for c in choices if c[1] == stype),
                             choices[0])
        params = soap_params(body)
        what = "soap %s path=%s from=%s%s" % (
            printable(action), printable(target), peer, "".join(
                " %s=%s" % (short, printable(params[name]))
                for name, short in LOG_PARAMS if name in params))
        svc = zoo.profile["services"].get(key)
        try:
            if svc is None:
                raise UPnPError(401)
            args = zoo.soap.call(svc, action, params, peer)
        except UPnPError as e:
            self.send("500 Internal Server Error", soap_fault(prefix, e.code),
                      "soap")
            log("%s -> error %d" % (what, e.code))
            return
        self.send("200 OK", soap_answer(prefix, svc_type, action, args),
                  "soap")
        if action in ("AddPortMapping", "AddAnyPortMapping"):
            log("%s -> ok ext=%s lease=%d" % (what, dict(args).get(
                "NewReservedPort", params.get("NewExternalPort")),
                zoo.soap.local.granted))
        else:
            log("%s -> ok" % what)

    def send(self, status, body, kind):
        h = self.zoo.profile["http"]["framing"][kind]
        head = ["%s %s" % (h["version"], status),
                "Content-Type: %s" % h["content_type"],
                "Connection: %s" % ("Keep-Alive" if h["keep_alive"] else
                                    "close")]
        if h["chunked"]:
            head.append("Transfer-Encoding: chunked")
        elif h["content_length"]:
            head.append("Content-Length: %d" % len(body))
        head.append("Server: %s" % h["server"])
        head += h["extra_headers"]
        try:
            self.request.sendall(("\r\n".join(head) + "\r\n\r\n").encode(
                "latin-1"))
            if not h["chunked"]:
                self.request.sendall(body)
                return
            # Several chunks, each its own write (RFC 7230 section 4.1).
            step = max(1, (len(body) + 2) // 3)
            for i in range(0, len(body), step):
                piece = body[i:i + step]
                self.request.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.request.sendall(b"0\r\n\r\n")
        except OSError:
            pass


LOG_PARAMS = [("NewExternalPort", "ext"), ("NewProtocol", "proto"),
              ("NewInternalPort", "int"), ("NewInternalClient", "client"),
              ("NewLeaseDuration", "lease"), ("NewRemoteHost", "remote"),
              ("NewPortMappingIndex", "index"), ("NewStartPort", "start"),
              ("NewEndPort", "end")]


class HTTPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------------------
# SSDP (UPnP Device Architecture 1.1 section 1.3).

def ssdp_answers(zoo, st):
    """The answer datagrams to an M-SEARCH for st."""
    s = zoo.profile["ssdp"]
    if st in s["answers"]:
        sts = s["answers"][st]
    elif st == "ssdp:all":
        sts = s["all_targets"]
    elif st in s["search_targets"]:
        sts = [st]
    else:
        return []
    uuid = s["uuid"] or zoo.desc.uuid or \
        "uuid:00000000-0000-0000-0000-000000000000"
    location = "http://%s:%d%s" % (zoo.args.addr, zoo.http_port,
                                   s["location_path"])
    out = []
    for t in sts:
        usn = s["usn"].get(t) or (uuid if t == uuid else uuid + "::" + t)
        vals = {"st": t, "usn": usn, "location": location,
                "server": s["server"], "uuid": uuid}
        if s["headers"] is not None:
            lines = [h.format(**vals) for h in s["headers"]]
        else:
            cache = [h for h in s["extra_headers"]
                     if h.upper().startswith("CACHE-CONTROL")]
            lines = cache + ["ST: " + t, "USN: " + usn,
                             "LOCATION: " + location, "SERVER: " + s["server"]
                             ] + [h for h in s["extra_headers"]
                                  if h not in cache]
        if s["no_space_after_colon"]:
            lines = [re.sub(r"^([^:]*):\s+", r"\1:", h) for h in lines]
        out.append(("HTTP/1.1 200 OK\r\n" + "".join(
            h + "\r\n" for h in lines) + "\r\n").encode("latin-1"))
    return out


def ssdp_loop(zoo, sock, kind):
    s = zoo.profile["ssdp"]
    while True:
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            continue
        text = data.decode("latin-1")
        if not text.startswith("M-SEARCH"):
            continue
        m = re.search(r"(?im)^ST[ \t]*:[ \t]*(\S+)", text)
        st = m.group(1) if m else ""
        answers = [] if kind == "unicast" and not s["unicast"] else \
            ssdp_answers(zoo, st)
        out = zoo.ssdp_out
        if answers and s["from_ephemeral_port"]:
            out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            out.bind((zoo.args.addr, 0))
        for a in answers:
            for _ in range(s["duplicates"]):
                try:
                    out.sendto(a, peer)
                except OSError as e:
                    log("ssdp sendto %s: %s" % (peer[0], e.strerror))
        log("ssdp M-SEARCH from=%s:%d to=%s st=%s -> answers=%d from=%d" % (
            peer[0], peer[1], kind, printable(st), len(answers) *
            s["duplicates"], out.getsockname()[1]))
        if out is not zoo.ssdp_out:
            out.close()


# ---------------------------------------------------------------------------
# NAT-PMP (RFC 6886).

class NatPmp:
    def __init__(self, zoo):
        self.zoo = zoo
        self.cfg = zoo.profile["natpmp"]
        self.table = zoo.table
        self.epoch_base = time.monotonic()
        self.replies = 0
        # The WAN is down when the profile says so, or when its UPnP side
        # has connection services and none of them is connected.
        svcs = zoo.profile["services"].values()
        self.down = self.cfg["wan_down"] or (
            bool(svcs) and all(s["status"] != "Connected" for s in svcs))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((zoo.args.addr, NATPMP_PORT))
        self.out = self.sock
        if self.cfg["answer_from"] == "other":
            self.out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.out.bind((self.cfg["alt_addr"], NATPMP_PORT))

    def epoch(self):
        """Seconds since start of epoch (section 3.6); with
        epoch_reset_every N, every Nth reply starts it again from 0."""
        self.replies += 1
        n = self.cfg["epoch_reset_every"]
        if n and self.replies % n == 0:
            self.epoch_base = time.monotonic()
        return int(time.monotonic() - self.epoch_base)

    def public_ip(self):
        ip = self.cfg["external_ip"]
        return self.zoo.args.wan_addr if ip == "wan" else ip

    def loop(self):
        while True:
            data, peer = self.sock.recvfrom(1100)
            reply, what = self.answer(data, peer)
            if reply is None:
                log("natpmp %d bytes from=%s:%d -> ignored" % (
                    len(data), peer[0], peer[1]))
                continue
            try:
                self.out.sendto(reply, peer)
            except OSError as e:
                what += " (send: %s)" % e.strerror
            log(what)

    def answer(self, data, peer):
        """(reply datagram, log line), or (None, None) to stay silent."""
        if len(data) < 2:
            return None, None
        ver, op = data[0], data[1]
        head = "natpmp op=%d from=%s:%d" % (op, peer[0], peer[1])
        if ver != 0:
            # Section 3.5: unsupported version, result 1.
            return struct.pack("!BBHI", 0, 128 + (op & 127), 1,
                               self.epoch()), head + " -> result=1"
        down = self.cfg["result_while_down"] if self.down else 0
        if op == 0:
            addr = "0.0.0.0" if down else self.public_ip()
            return struct.pack("!BBHI4s", 0, 128, down, self.epoch(),
                               socket.inet_aton(addr)), \
                head + (" -> result=%d" % down if down else
                        " -> ok address=%s" % addr)
        if op not in (1, 2) or len(data) < 12:
            return struct.pack("!BBHI", 0, 128 + (op & 127), 5,
                               self.epoch()), head + " -> result=5"
        iport, eport, life = struct.unpack("!HHI", data[4:12])
        head += " int=%d ext=%d life=%d" % (iport, eport, life)
        proto = "UDP" if op == 1 else "TCP"
        if down:
            return struct.pack("!BBHIHHI", 0, 128 + op, down, self.epoch(),
                               iport, 0, 0), head + " -> result=%d" % down
        if life == 0:
            self.unmap(peer[0], proto, iport)
            return struct.pack("!BBHIHHI", 0, 128 + op, 0, self.epoch(),
                               iport, 0, 0), head + " -> ok deleted"
        ext, life = self.map(peer[0], proto, iport, eport, life)
        if ext is None:
            return struct.pack("!BBHIHHI", 0, 128 + op, 4, self.epoch(),
                               iport, 0, 0), head + " -> result=4"
        return struct.pack("!BBHIHHI", 0, 128 + op, 0, self.epoch(), iport,
                           ext, life), \
            head + " -> ok ext=%d lease=%d" % (ext, life)

    def map(self, client, proto, iport, eport, life):
        """Section 3.3: the client's existing mapping of iport renewed, or
        the suggested external port, or the next free one."""
        if self.cfg["lifetime_cap"]:
            life = min(life, self.cfg["lifetime_cap"])
        t = self.table
        with t.lock:
            mine = [e for e in t.entries.values() if e["client"] == client and
                    e["proto"] == proto and e["int"] == iport]
            ext = mine[0]["ext"] if mine else None
            for p in ([] if mine else
                      [eport or iport] + list(range((eport or iport) + 1,
                                                    65536))):
                held = t.entries.get((p, proto))
                if held is None or held["client"] == client:
                    ext = p
                    break
            if ext is None:
                return None, life
            e = {"remote_host": "", "ext": ext, "proto": proto, "int": iport,
                 "client": client, "enabled": 1, "desc": "NAT-PMP %d %s" % (
                     iport, proto.lower()), "lease": life, "origin": "natpmp"}
            if not t.put(e):
                return None, life
        return ext, life

    def unmap(self, client, proto, iport):
        t = self.table
        with t.lock:
            for key, e in list(t.entries.items()):
                if e["client"] == client and e["proto"] == proto and \
                        (iport == 0 or e["int"] == iport) and \
                        e["origin"] != "table":
                    t.remove(key)


# ---------------------------------------------------------------------------

class Zoo:
    pass


def alt_addr_up(zoo):
    """natpmp answer_from other: a second address on the LAN interface,
    removed again at exit if this program added it."""
    alt = zoo.profile["natpmp"]["alt_addr"]
    r = subprocess.run(["ip", "addr", "add", alt + "/24", "dev",
                        zoo.args.lan_if], capture_output=True, check=False)
    if r.returncode == 0:
        zoo.cleanups.append(["ip", "addr", "del", alt + "/24", "dev",
                             zoo.args.lan_if])


def shutdown(zoo):
    zoo.fw.close()
    for cmd in zoo.cleanups:
        subprocess.run(cmd, capture_output=True, check=False)


def parse_args():
    p = argparse.ArgumentParser(
        description="Impersonates a router's UPnP-IGD and NAT-PMP from a "
        "captured profile (see tests/zoo/README.md).")
    p.add_argument("--profile", required=True, help="the profile (JSON)")
    p.add_argument("--addr", default="192.168.77.1",
                   help="the router's LAN address to serve on")
    p.add_argument("--wan-addr", default="11.22.33.2",
                   help="the router's WAN address (\"wan\" in the profile)")
    p.add_argument("--wan-if", default="wan0")
    p.add_argument("--lan-if", default="br0")
    p.add_argument("--nft-table", default="pk_router")
    p.add_argument("--nft-nat-chain", default="prerouting_miniupnpd")
    p.add_argument("--nft-filter-chain", default="miniupnpd")
    p.add_argument("--log", help="append one line per request to this file")
    p.add_argument("--ready", help="write the HTTP port here once every "
                   "socket is bound")
    p.add_argument("--check", action="store_true",
                   help="only check the profile (and its files), then exit")
    return p.parse_args()


def main():
    global LOG
    args = parse_args()
    zoo = Zoo()
    zoo.args = args
    zoo.cleanups = []
    try:
        zoo.profile = load_profile(args.profile)
        if args.check:
            Description(zoo.profile, os.path.dirname(args.profile) or ".",
                        args.addr, 1)
            return 0
    except ProfileError as e:
        print("zoo_router: %s: %s" % (args.profile, e), file=sys.stderr)
        return 2
    if args.log:
        LOG = open(args.log, "a")
    zoo.fw = Firewall(args)
    zoo.table = Table(zoo.profile, zoo.fw)
    # Die at once on SIGTERM, with our forwards removed first.
    signal.signal(signal.SIGTERM, lambda *_: (shutdown(zoo), os._exit(0)))
    signal.signal(signal.SIGINT, lambda *_: (shutdown(zoo), os._exit(130)))
    try:
        return serve(zoo)
    except ProfileError as e:
        print("zoo_router: %s: %s" % (args.profile, e), file=sys.stderr)
        return 2
    except OSError as e:
        # A port already taken: miniupnpd still running, or another zoo.
        print("zoo_router: cannot serve on %s: %s (is miniupnpd or another "
              "router program running in this namespace?)" % (
                  args.addr, e.strerror), file=sys.stderr)
        return 1
    finally:
        shutdown(zoo)


def serve(zoo):
    args, profile = zoo.args, zoo.profile
    threads = [zoo.table.expire_loop]
    zoo.http_port = 0
    zoo.desc = Description(profile, os.path.dirname(args.profile) or ".",
                           args.addr, 1)
    if profile["description"] is not None:
        httpd = HTTPServer((args.addr, profile["http"]["port"]), HTTPHandler)
        httpd.zoo = zoo
        zoo.http_port = httpd.server_address[1]
        zoo.desc = Description(profile, os.path.dirname(args.profile) or ".",
                               args.addr, zoo.http_port)
        zoo.soap = Soap(profile, zoo.table, args.wan_addr)
        mc = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        mc.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        mc.bind((SSDP_GROUP, SSDP_PORT))
        mc.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                      socket.inet_aton(SSDP_GROUP) +
                      socket.inet_aton(args.addr))
        # Unicast M-SEARCHes arrive here, and every answer leaves from it
        # (port 1900) unless from_ephemeral_port.
        zoo.ssdp_out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        zoo.ssdp_out.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        zoo.ssdp_out.bind((args.addr, SSDP_PORT))
        threads += [httpd.serve_forever,
                    lambda: ssdp_loop(zoo, mc, "multicast"),
                    lambda: ssdp_loop(zoo, zoo.ssdp_out, "unicast")]
    if profile["natpmp"] is not None:
        if profile["natpmp"]["answer_from"] == "other":
            alt_addr_up(zoo)
        threads.append(NatPmp(zoo).loop)
    for t in threads:
        threading.Thread(target=t, daemon=True).start()
    log("up profile=%s http=%d natpmp=%s" % (
        os.path.basename(args.profile), zoo.http_port,
        "off" if profile["natpmp"] is None else "on"))
    if args.ready:
        with open(args.ready + ".tmp", "w") as f:
            f.write("%d\n" % zoo.http_port)
        os.rename(args.ready + ".tmp", args.ready)
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())

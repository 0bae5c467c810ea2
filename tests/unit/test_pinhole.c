/*
 * UPnP IGD:2 pinholes (upnp_pinhole.c): the firewall service in a
 * description, IPv6 control URLs, the requests as sent (to a responder on
 * [::1] standing in for the router) and the router's answers, miniupnpd's
 * as captured from 2.3.1 and garbled ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upnp_desc.h"
#include "upnp_http.h"
#include "upnp_pinhole.h"
#include "util.h"

#define FC	"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"
#define ENV_HEAD "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://" \
	"schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://" \
	"schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
#define ENV_TAIL "</s:Body></s:Envelope>\r\n"
/* miniupnpd's SoapError(), with HTTP status 500. */
#define FAULT(code, text) ENV_HEAD "<s:Fault><faultcode>s:Client</faultcode>" \
	"<faultstring>UPnPError</faultstring><detail><UPnPError xmlns=\"" \
	"urn:schemas-upnp-org:control-1-0\"><errorCode>" code "</errorCode>" \
	"<errorDescription>" text "</errorDescription></UPnPError></detail>" \
	"</s:Fault>" ENV_TAIL
#define ADD_OK(uid) ENV_HEAD "<u:AddPinholeResponse xmlns:u=\"" FC "\">" \
	"<UniqueID>" uid "</UniqueID></u:AddPinholeResponse>" ENV_TAIL
#define STATUS_OK(en, in) ENV_HEAD "<u:GetFirewallStatusResponse xmlns:u=\"" \
	FC "\"><FirewallEnabled>" en "</FirewallEnabled><InboundPinholeAllowed>" \
	in "</InboundPinholeAllowed></u:GetFirewallStatusResponse>" ENV_TAIL

static void
assert_has(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", s, needle);
}

/*
 * miniupnpd 2.3.1's rootDesc.xml with IPv6 on, shortened: the firewall
 * service sits in the WANConnectionDevice beside WANIPConnection:2.
 */
static const char miniupnpd_desc[] = "<?xml version=\"1.0\"?>\r\n"
    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\" configId=\"1337\">"
    "<specVersion><major>1</major><minor>1</minor></specVersion><device>"
    "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:2"
    "</deviceType><friendlyName>Debian router</friendlyName>"
    "<manufacturer>Debian</manufacturer><serviceList><service><serviceType>"
    "urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
    "<controlURL>/ctl/L3F</controlURL></service></serviceList><deviceList>"
    "<device><deviceType>urn:schemas-upnp-org:device:WANDevice:2"
    "</deviceType><serviceList><service><serviceType>urn:schemas-upnp-org:"
    "service:WANCommonInterfaceConfig:1</serviceType><controlURL>/ctl/CmnIfCfg"
    "</controlURL></service></serviceList><deviceList><device><deviceType>"
    "urn:schemas-upnp-org:device:WANConnectionDevice:2</deviceType>"
    "<serviceList><service><serviceType>urn:schemas-upnp-org:service:"
    "WANIPConnection:2</serviceType><serviceId>urn:upnp-org:serviceId:"
    "WANIPConn1</serviceId><SCPDURL>/WANIPCn.xml</SCPDURL><controlURL>"
    "/ctl/IPConn</controlURL><eventSubURL>/evt/IPConn</eventSubURL>"
    "</service><service><serviceType>" FC "</serviceType><serviceId>"
    "urn:upnp-org:serviceId:WANIPv6Firewall1</serviceId><SCPDURL>"
    "/WANIPv6FC.xml</SCPDURL><controlURL>/ctl/IPv6FCC</controlURL>"
    "<eventSubURL>/evt/IPv6FCC</eventSubURL></service></serviceList>"
    "</device></deviceList></device></deviceList>"
    "<presentationURL>http://192.168.77.1/</presentationURL></device></root>";

static void
test_desc_firewall(void **state)
{
	const char only[] = "<root><device><serviceList><service><controlURL>"
	    "/fw</controlURL><serviceType>" FC "</serviceType></service>"
	    "<service><serviceType>" FC "</serviceType><controlURL>/second"
	    "</controlURL></service></serviceList></device></root>";
	struct upnp_desc d;

	(void)state;
	assert_int_equal(upnp_desc_parse(miniupnpd_desc,
	    sizeof(miniupnpd_desc) - 1, &d), 1);
	assert_string_equal(d.svc[0].control, "/ctl/IPConn");
	assert_string_equal(d.firewall.type, FC);
	assert_string_equal(d.firewall.control, "/ctl/IPv6FCC");
	assert_string_equal(d.firewall.scpd, "/WANIPv6FC.xml");
	assert_string_equal(d.firewall.events, "/evt/IPv6FCC");
	/* A firewall without any connection service; the first one counts. */
	assert_int_equal(upnp_desc_parse(only, sizeof(only) - 1, &d), 0);
	assert_string_equal(d.firewall.control, "/fw");
	assert_true(upnp_desc_is_firewall(FC));
	assert_true(upnp_desc_is_firewall(
	    "urn:schemas-upnp-org:service:WANIPv6FirewallControl:2"));
	assert_false(upnp_desc_is_firewall(
	    "urn:dslforum-org:service:WANIPv6FirewallControl:1"));
	assert_false(upnp_desc_is_connection(FC));
	/* None: an IGD:1 description. */
	assert_int_equal(upnp_desc_parse("<root><serviceType>urn:schemas-upnp-"
	    "org:service:WANIPConnection:1</serviceType></root>", 82, &d), 1);
	assert_string_equal(d.firewall.type, "");
}

/* upnp_http_url: 0 with the address, port and path, or -1. */
static int
url(const char *u, unsigned scope, char addr[INET6_ADDRSTRLEN],
    unsigned *port, unsigned *scope_out, const char **path)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	socklen_t sl;

	if (upnp_http_url(u, scope, &ss, &sl, path) == -1)
		return -1;
	if (ss.ss_family == AF_INET6) {
		assert_int_equal(sl, sizeof(*s6));
		inet_ntop(AF_INET6, &s6->sin6_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(s6->sin6_port);
		*scope_out = s6->sin6_scope_id;
	} else {
		assert_int_equal(sl, sizeof(*s4));
		inet_ntop(AF_INET, &s4->sin_addr, addr, INET6_ADDRSTRLEN);
		*port = ntohs(s4->sin_port);
		*scope_out = 0;
	}
	return 0;
}

static void
test_url6(void **state)
{
	char a[INET6_ADDRSTRLEN];
	const char *path;
	unsigned port, scope, lo = if_nametoindex("lo");
	static const char *const bad[] = {
		"http://[fe80::1", "http://[zz::1]/", "http://[::1]:0/",
		"http://[::1]:65536/", "http://[::1]x/", "http://[::1%nosuchif0]/",
		"http://[::1]/a b", "http://[::1]:/", "https://[::1]/",
		"http://[0123456789abcdef0123456789abcdef0123456789abcdef"
		    "0123456789abcdef]/",
	};
	size_t i;

	(void)state;
	assert_int_equal(url("http://[fe80::1%lo]:5000/ctl/IPv6FCC", 0, a,
	    &port, &scope, &path), 0);
	assert_string_equal(a, "fe80::1");
	assert_int_equal(port, 5000);
	assert_int_equal(scope, lo);
	assert_string_equal(path, "/ctl/IPv6FCC");
	/* RFC 6874's %25, an index, and the caller's interface. */
	assert_int_equal(url("http://[fe80::1%25lo]/x", 0, a, &port, &scope,
	    &path), 0);
	assert_int_equal(scope, lo);
	assert_int_equal(port, 80);
	assert_int_equal(url("http://[fe80::1%7]:1", 0, a, &port, &scope,
	    &path), 0);
	assert_int_equal(scope, 7);
	assert_string_equal(path, "");
	assert_int_equal(url("http://[fe80::1]:2/", 3, a, &port, &scope,
	    &path), 0);
	assert_int_equal(scope, 3);
	/* A global address has no scope, whatever the caller says. */
	assert_int_equal(url("http://[2a0c:7700:77::1]:5000/ctl", 3, a, &port,
	    &scope, &path), 0);
	assert_string_equal(a, "2a0c:7700:77::1");
	assert_int_equal(scope, 0);
	/* IPv4 as before. */
	assert_int_equal(url("http://192.168.77.1:5000/rootDesc.xml", 3, a,
	    &port, &scope, &path), 0);
	assert_string_equal(a, "192.168.77.1");
	assert_string_equal(path, "/rootDesc.xml");
	/* Not URLs to connect to. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (url(bad[i], 0, a, &port, &scope, &path) != -1)
			fail_msg("\"%s\" was taken as a URL", bad[i]);
}

/* upnp_pinhole_parse on a whole answer. */
static int
parse(const char *action, uint16_t port, int status, const char *body,
    struct upnp_pinhole_answer *res, struct pm_error *e)
{
	pmerr_clear(e);
	return upnp_pinhole_parse(action, port, "test", status, body,
	    strlen(body), res, e);
}

static void
test_answers(void **state)
{
	static const struct {
		const char	*action;
		uint16_t	 port;
		const char	*body;
		enum pm_errcode	 code;
		const char	*needle;
	} faults[] = {
		{ "AddPinhole", 80, FAULT("606", "Action not authorized"),
		    PME_PINHOLE_REFUSED, "use PCP or a port from 1024 up, or "
		    "the router's own settings" },
		{ "AddPinhole", 8080, FAULT("606", "Action not authorized"),
		    PME_PINHOLE_REFUSED, "FRITZ!Box: Home Network > Network > "
		    "this device > allow PCP/UPnP" },
		{ "DeletePinhole", 0, FAULT("606", "Action not authorized"),
		    PME_NOT_AUTHORIZED, "606" },
		{ "AddPinhole", 8080, FAULT("701", "PinholeSpaceExhausted"),
		    PME_OUT_OF_RESOURCES, "table is full" },
		{ "AddPinhole", 8080, FAULT("702", "FirewallDisabled"),
		    PME_PINHOLE_REFUSED, "702" },
		{ "AddPinhole", 8080, FAULT("703", "InboundPinholeNotAllowed"),
		    PME_PINHOLE_REFUSED, "allow them" },
		{ "AddPinhole", 8080, FAULT("705", "ProtocolNotSupported"),
		    PME_UNSUPPORTED, "705" },
		{ "AddPinhole", 8080, FAULT("402", "Invalid Args"),
		    PME_REFUSED, "402" },
	};
	struct upnp_pinhole_answer r;
	struct pm_error e;
	size_t i;

	(void)state;
	assert_int_equal(parse("AddPinhole", 8080, 200, ADD_OK("3"), &r, &e),
	    1);
	assert_int_equal(r.unique_id, 3);
	assert_int_equal(parse("AddPinhole", 8080, 200, ADD_OK("65535"), &r,
	    &e), 1);
	assert_int_equal(r.unique_id, 65535);
	assert_int_equal(parse("GetFirewallStatus", 0, 200, STATUS_OK("1", "0"),
	    &r, &e), 1);
	assert_true(r.enabled);
	assert_false(r.inbound_allowed);
	assert_int_equal(parse("GetFirewallStatus", 0, 200,
	    STATUS_OK("false", "YES"), &r, &e), 1);
	assert_false(r.enabled);
	assert_true(r.inbound_allowed);
	assert_int_equal(parse("UpdatePinhole", 0, 200, ENV_HEAD "<u:"
	    "UpdatePinholeResponse xmlns:u=\"" FC "\"></u:UpdatePinholeResponse>"
	    ENV_TAIL, &r, &e), 1);
	assert_int_equal(parse("DeletePinhole", 0, 200, ENV_HEAD "<u:"
	    "DeletePinholeResponse xmlns:u=\"" FC "\"></u:DeletePinholeResponse>"
	    ENV_TAIL, &r, &e), 1);

	/* Faults, each with its code and sentence. */
	assert_int_equal(parse("DeletePinhole", 0, 500,
	    FAULT("704", "NoSuchEntry"), &r, &e), 0);
	/* miniupnpd 2.3.1's answer for a pinhole it does not have. */
	assert_int_equal(parse("UpdatePinhole", 0, 500,
	    FAULT("402", "Invalid Args"), &r, &e), 0);
	assert_int_equal(parse("DeletePinhole", 0, 500,
	    FAULT("402", "Invalid Args"), &r, &e), 0);
	for (i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		assert_int_equal(parse(faults[i].action, faults[i].port, 500,
		    faults[i].body, &r, &e), -1);
		assert_int_equal(e.code, faults[i].code);
		assert_int_not_equal(e.router_code, 0);
		assert_has(e.msg, faults[i].needle);
	}

	/* Garbage. */
	assert_int_equal(parse("AddPinhole", 8080, 200, ADD_OK("65536"), &r,
	    &e), -1);
	assert_int_equal(e.code, PME_BAD_REPLY);
	assert_has(e.msg, "UniqueID \"65536\"");
	assert_int_equal(parse("AddPinhole", 8080, 200, ADD_OK("-1"), &r, &e),
	    -1);
	assert_int_equal(parse("AddPinhole", 8080, 200, ADD_OK(""), &r, &e),
	    -1);
	assert_int_equal(parse("AddPinhole", 8080, 200, STATUS_OK("1", "1"),
	    &r, &e), -1);
	assert_has(e.msg, "has no UniqueID");
	assert_int_equal(parse("GetFirewallStatus", 0, 200,
	    STATUS_OK("maybe", "1"), &r, &e), -1);
	assert_int_equal(e.code, PME_BAD_REPLY);
	assert_has(e.msg, "FirewallEnabled \"maybe\"");
	assert_int_equal(parse("GetFirewallStatus", 0, 200, ADD_OK("1"), &r,
	    &e), -1);
	assert_int_equal(parse("AddPinhole", 8080, 500, "<html>oops</html>",
	    &r, &e), -1);
	assert_has(e.msg, "HTTP status 500");
	assert_int_equal(parse("AddPinhole", 8080, 500, FAULT("x", "?"), &r,
	    &e), -1);
	assert_int_equal(e.code, PME_BAD_REPLY);
	assert_int_equal(parse("AddPinhole", 8080, 200, "", &r, &e), -1);
}

/* A TCP listener on [::1] that keeps one request and sends one answer. */
struct router {
	int		 fd;
	uint16_t	 port;
	const char	*answer;
	char		 req[4096];
	char		 peer[INET6_ADDRSTRLEN];
	pthread_t	 tid;
};

static void *
router_serve(void *arg)
{
	struct router *r = arg;
	struct pollfd pfd = { r->fd, POLLIN, 0 };
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin6);
	size_t got = 0;
	const char *cl;
	ssize_t n;
	int c;

	if (poll(&pfd, 1, 3000) != 1 || (c = accept(r->fd,
	    (struct sockaddr *)&sin6, &sl)) == -1)
		return NULL;
	inet_ntop(AF_INET6, &sin6.sin6_addr, r->peer, sizeof(r->peer));
	/* Until the head and as much body as Content-Length says. */
	while (got < sizeof(r->req) - 1 && (n = recv(c, r->req + got,
	    sizeof(r->req) - 1 - got, 0)) > 0) {
		char *end;

		got += (size_t)n;
		r->req[got] = '\0';
		if ((end = strstr(r->req, "\r\n\r\n")) != NULL &&
		    (cl = strstr(r->req, "Content-Length: ")) != NULL &&
		    got >= (size_t)(end + 4 - r->req) +
		    strtoul(cl + 16, NULL, 10))
			break;
	}
	send(c, r->answer, strlen(r->answer), MSG_NOSIGNAL);
	close(c);
	return NULL;
}

static void
router_start(struct router *r, const char *body, int status)
{
	struct sockaddr_in6 sin6;
	socklen_t sl = sizeof(sin6);
	static char answer[4096];

	snprintf(answer, sizeof(answer), "HTTP/1.1 %d X\r\nContent-Type: text/"
	    "xml\r\nContent-Length: %zu\r\n\r\n%s", status, strlen(body), body);
	memset(r, 0, sizeof(*r));
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	r->fd = socket(AF_INET6, SOCK_STREAM, 0);
	assert_int_equal(bind(r->fd, (struct sockaddr *)&sin6, sizeof(sin6)),
	    0);
	assert_int_equal(listen(r->fd, 4), 0);
	getsockname(r->fd, (struct sockaddr *)&sin6, &sl);
	r->port = ntohs(sin6.sin6_port);
	r->answer = answer;
	pthread_create(&r->tid, NULL, router_serve, r);
}

static void
router_stop(struct router *r)
{
	pthread_join(r->tid, NULL);
	close(r->fd);
}

/* The target for r, found as upnp_pinhole_find does: IPv4 URL, IPv6 host. */
static void
target(struct upnp_pinhole_target *t, const struct router *r)
{
	char ctl[64];
	struct pm_error e;

	snprintf(ctl, sizeof(ctl), "http://192.168.77.1:%u/ctl/IPv6FCC",
	    r->port);
	assert_int_equal(upnp_pinhole_target(t, ctl, FC, &in6addr_loopback, 0,
	    &in6addr_loopback, &e), 0);
}

static void
test_exchange(void **state)
{
	struct upnp_pinhole_target t;
	struct router r;
	struct pm_error e;
	struct in6_addr doc;
	char host[40];
	uint16_t uid = 0;
	bool en = false, in = true;

	(void)state;
	router_start(&r, ADD_OK("7"), 200);
	target(&t, &r);
	snprintf(host, sizeof(host), "http://[::1]:%u/ctl/IPv6FCC", r.port);
	assert_string_equal(t.url, host);
	assert_int_equal(upnp_pinhole_add(&t, PM_TCP, 8080, 3600, &uid,
	    mono_ms() + 3000, &e), 0);
	router_stop(&r);
	assert_int_equal(uid, 7);
	assert_string_equal(r.peer, "::1");
	assert_has(r.req, "POST /ctl/IPv6FCC HTTP/1.1\r\n");
	snprintf(host, sizeof(host), "Host: [::1]:%u\r\n", r.port);
	assert_has(r.req, host);
	assert_has(r.req, "SOAPAction: \"" FC "#AddPinhole\"\r\n");
	assert_has(r.req, "<u:AddPinhole xmlns:u=\"" FC "\"><RemoteHost>"
	    "</RemoteHost><RemotePort>0</RemotePort><InternalClient>::1"
	    "</InternalClient><InternalPort>8080</InternalPort><Protocol>6"
	    "</Protocol><LeaseTime>3600</LeaseTime></u:AddPinhole>");

	router_start(&r, ENV_HEAD ENV_TAIL, 200);
	target(&t, &r);
	assert_int_equal(upnp_pinhole_update(&t, 7, 86400, mono_ms() + 3000,
	    &e), 1);
	router_stop(&r);
	assert_has(r.req, "<u:UpdatePinhole xmlns:u=\"" FC "\"><UniqueID>7"
	    "</UniqueID><NewLeaseTime>86400</NewLeaseTime></u:UpdatePinhole>");

	router_start(&r, FAULT("704", "NoSuchEntry"), 500);
	target(&t, &r);
	assert_int_equal(upnp_pinhole_delete(&t, 7, mono_ms() + 3000, &e), 0);
	router_stop(&r);
	assert_has(r.req, "<u:DeletePinhole xmlns:u=\"" FC "\"><UniqueID>7"
	    "</UniqueID></u:DeletePinhole>");

	router_start(&r, STATUS_OK("1", "0"), 200);
	target(&t, &r);
	assert_int_equal(upnp_pinhole_status(&t, &en, &in, mono_ms() + 3000,
	    &e), 0);
	router_stop(&r);
	assert_true(en);
	assert_false(in);
	assert_has(r.req, "<u:GetFirewallStatus xmlns:u=\"" FC "\">"
	    "</u:GetFirewallStatus>");

	router_start(&r, FAULT("606", "Action not authorized"), 500);
	target(&t, &r);
	assert_int_equal(upnp_pinhole_add(&t, PM_UDP, 80, 60, &uid,
	    mono_ms() + 3000, &e), -1);
	router_stop(&r);
	assert_has(r.req, "<Protocol>17</Protocol>");
	assert_int_equal(e.code, PME_PINHOLE_REFUSED);
	assert_has(e.msg, "open port 80/udp of ::1");

	/* No permanent pinholes, and no request for them. */
	assert_int_equal(upnp_pinhole_add(&t, PM_TCP, 8080, 0, &uid,
	    mono_ms() + 3000, &e), -1);
	assert_int_equal(e.code, PME_USAGE);
	assert_int_equal(upnp_pinhole_update(&t, 1, 86401, mono_ms() + 3000,
	    &e), -1);
	assert_int_equal(e.code, PME_USAGE);

	/* An address this host does not have: it cannot speak from it. */
	inet_pton(AF_INET6, "2001:db8::1", &doc);
	t.source.sin6_addr = doc;
	assert_int_equal(upnp_pinhole_add(&t, PM_TCP, 8080, 60, &uid,
	    mono_ms() + 3000, &e), -1);
	assert_int_equal(e.code, PME_NETWORK);
	assert_has(e.msg, "cannot speak from 2001:db8::1");
	/* A link-local router without its interface. */
	inet_pton(AF_INET6, "fe80::1", &doc);
	assert_int_equal(upnp_pinhole_target(&t, "http://192.168.77.1:5000/c",
	    FC, &doc, 0, &in6addr_loopback, &e), 0);
	assert_int_equal(upnp_pinhole_status(&t, &en, &in, mono_ms() + 3000,
	    &e), -1);
	assert_has(e.msg, "needs an interface");
	assert_int_equal(upnp_pinhole_target(&t, "ftp://x/", FC, &doc, 0,
	    &in6addr_loopback, &e), -1);
	assert_int_equal(e.code, PME_BAD_REPLY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_desc_firewall),
		cmocka_unit_test(test_url6),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

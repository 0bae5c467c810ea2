/*
 * Bytes from the router, the LAN and the kernel: SSDP, NAT-PMP replies,
 * routes, rtnetlink addresses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "netinfo.h"
#include "nlbuf.h"
#include "pmp.h"
#include "ssdp.h"
#include "upnp.h"
#include "util.h"

/*
 * A DSL router's description: two WAN devices, the first with a TR-064
 * named PPP service, the second with an IGD one, and unrelated services
 * between (shape of a FRITZ!Box's igddesc.xml with an added cable WAN).
 */
static void
test_upnp_desc(void **state)
{
	const char x[] = "<?xml version=\"1.0\"?>\n"
	    "<root xmlns=\"urn:schemas-upnp-org:device-1-0\">"
	    "<specVersion><major>1</major><minor>0</minor></specVersion>"
	    "<URLBase>http://192.168.178.1:49000</URLBase><device>"
	    "<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1"
	    "</deviceType><friendlyName>FRITZ!Box 7490</friendlyName>"
	    "<manufacturer>AVM Berlin</manufacturer>"
	    "<modelName>FRITZ!Box 7490</modelName><modelNumber>avm"
	    "</modelNumber><serviceList><service><serviceType>"
	    "urn:schemas-any-com:service:Any:1</serviceType><controlURL>/any"
	    "</controlURL></service></serviceList><deviceList><device>"
	    "<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
	    "<manufacturer>inner</manufacturer><deviceList><device>"
	    "<serviceList><service><serviceId>urn:x</serviceId><serviceType>"
	    "urn:dslforum-org:service:WANPPPConnection:1</serviceType>"
	    "<controlURL>/igdupnp/control/WANPPPConn1?a=1</controlURL>"
	    "<SCPDURL>/igdconnSCPD.xml</SCPDURL></service></serviceList>"
	    "</device></deviceList></device><device><serviceList><service>"
	    "<s:controlURL>/upnp/control/WANIPConn2</s:controlURL>"
	    "<serviceType>urn:schemas-upnp-org:service:WANIPConnection:2"
	    "</serviceType></service><service><serviceType>urn:schemas-upnp-"
	    "org:service:WANCommonInterfaceConfig:1</serviceType><controlURL>"
	    "/cif</controlURL></service></serviceList></device></deviceList>"
	    "</device></root>";
	struct upnp_desc d;

	(void)state;
	assert_int_equal(upnp_desc_parse(x, sizeof(x) - 1, &d), 2);
	assert_string_equal(d.manufacturer, "AVM Berlin");
	assert_string_equal(d.model_name, "FRITZ!Box 7490");
	assert_string_equal(d.friendly_name, "FRITZ!Box 7490");
	assert_string_equal(d.svc[0].type,
	    "urn:dslforum-org:service:WANPPPConnection:1");
	assert_string_equal(d.svc[0].control, "/igdupnp/control/WANPPPConn1?a=1");
	assert_string_equal(d.svc[0].scpd, "/igdconnSCPD.xml");
	assert_string_equal(d.svc[1].type,
	    "urn:schemas-upnp-org:service:WANIPConnection:2");
	assert_string_equal(d.svc[1].control, "/upnp/control/WANIPConn2");
	assert_true(upnp_desc_is_tr064(d.svc[0].type));
	assert_false(upnp_desc_is_tr064(d.svc[1].type));
	assert_false(upnp_desc_is_connection(
	    "urn:schemas-upnp-org:service:WANCommonInterfaceConfig:1"));
	assert_false(upnp_desc_is_connection("urn:evil:service:WANIPConnection:1"));
	/* Nothing of use, and nothing at all, are no services and no crash. */
	assert_int_equal(upnp_desc_parse("<root><a>", 9, &d), 0);
	assert_int_equal(upnp_desc_parse("", 0, &d), 0);
}

static void
test_ssdp_response(void **state)
{
	const char r[] = "HTTP/1.1 200 OK\r\n"
	    "CACHE-CONTROL: max-age=120\r\n"
	    "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
	    "USN: uuid:abc::urn:schemas-upnp-org:device:"
	    "InternetGatewayDevice:1\r\n"
	    "location:  http://192.168.77.1:40123/rootDesc.xml \r\n"
	    "BOOTID.UPNP.ORG: 1700000000\r\n"
	    "\r\n";
	struct ssdp_msg m;

	(void)state;
	assert_int_equal(ssdp_parse(r, strlen(r), &m), 0);
	assert_int_equal(m.kind, SSDP_RESPONSE);
	assert_string_equal(m.location,
	    "http://192.168.77.1:40123/rootDesc.xml");
	assert_string_equal(m.st,
	    "urn:schemas-upnp-org:device:InternetGatewayDevice:1");
	assert_int_equal(m.bootid, 1700000000);
}

static void
test_ssdp_notify_and_garbage(void **state)
{
	const char n[] = "NOTIFY * HTTP/1.1\nNT: upnp:rootdevice\n"
	    "NTS: ssdp:alive\nLOCATION: http://192.168.77.1:5000/d.xml\n\n";
	char longloc[600];
	struct ssdp_msg m;

	(void)state;
	assert_int_equal(ssdp_parse(n, strlen(n), &m), 0);
	assert_int_equal(m.kind, SSDP_NOTIFY);
	assert_string_equal(m.nts, "ssdp:alive");
	assert_int_equal(m.bootid, -1);

	assert_int_equal(ssdp_parse("", 0, &m), -1);
	assert_int_equal(ssdp_parse("HTTP/1.1 404 Not Found\r\n\r\n", 26, &m),
	    -1);
	assert_int_equal(ssdp_parse("GET / HTTP/1.1\r\n\r\n", 18, &m), -1);
	/* Truncated first lines must not be read past their end. */
	assert_int_equal(ssdp_parse("HTTP/1.", 7, &m), -1);
	assert_int_equal(ssdp_parse("NOTIFY", 6, &m), -1);
	/* A LOCATION too long for its field invalidates the message. */
	memset(longloc, 'a', sizeof(longloc));
	memcpy(longloc, "HTTP/1.1 200 OK\r\nLOCATION: ", 27);
	memcpy(longloc + sizeof(longloc) - 4, "\r\n\r\n", 4);
	assert_int_equal(ssdp_parse(longloc, sizeof(longloc), &m), -1);
}

static void
test_ssdp_url(void **state)
{
	struct in_addr a;
	uint16_t port;

	(void)state;
	assert_int_equal(ssdp_url_addr("http://192.168.77.1:5000/x.xml", &a,
	    &port), 0);
	assert_int_equal(port, 5000);
	assert_int_equal(ntohl(a.s_addr), 0xc0a84d01);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1/x", &a, &port), 0);
	assert_int_equal(port, 80);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1", &a, &port), 0);
	assert_int_equal(ssdp_url_addr("https://10.0.0.1/", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://router.lan/", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://user@10.0.0.1/", &a, &port),
	    -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1:0/", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1:99999/", &a, &port),
	    -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1:80x/", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://[::1]:80/", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1.evil.com/", &a, &port),
	    -1);
	/* A hostile router's control bytes and spaces: not a URL at all. */
	assert_int_equal(ssdp_url_addr("http://10.0.0.1/ctl/\x1b[31m", &a,
	    &port), -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1/a b", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1/\x7f", &a, &port), -1);
	assert_int_equal(ssdp_url_addr("http://10.0.0.1/\xc3\xa9", &a, &port),
	    -1);
}

/* Parses a whole answer held in a string; eof as given. */
static int
http_parse(const char *text, int eof, int *status, char *body, size_t *len,
    const char **why)
{
	static char buf[300000];
	size_t n = strlen(text);
	char *b;
	int rc;

	memcpy(buf, text, n + 1);
	rc = upnp_http_parse(buf, n, eof, status, &b, len, why);
	if (rc == 1 && body != NULL) {
		memcpy(body, b, *len);
		body[*len] = '\0';
	}
	return rc;
}

static void
test_http_answers(void **state)
{
	char body[256];
	const char *why = NULL;
	size_t len;
	int st;

	(void)state;
	/* Content-Length: complete as soon as it is all there. */
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: 5"
	    "\r\n\r\nhello", 0, &st, body, &len, &why), 1);
	assert_int_equal(st, 200);
	assert_string_equal(body, "hello");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: 5"
	    "\r\n\r\nhel", 0, &st, body, &len, &why), 0);
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: 5"
	    "\r\n\r\nhel", 1, &st, body, &len, &why), -1);
	assert_string_equal(why, "was cut off before the end of its body");
	/* More than announced: the rest is ignored. */
	assert_int_equal(http_parse("HTTP/1.0 500 Internal Server Error\n"
	    "content-length:2\n\nabcdef", 0, &st, body, &len, &why), 1);
	assert_int_equal(st, 500);
	assert_string_equal(body, "ab");
	/* No length: the body runs to the close. */
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\n\r\nxyz", 0, &st,
	    body, &len, &why), 0);
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\n\r\nxyz", 1, &st,
	    body, &len, &why), 1);
	assert_string_equal(body, "xyz");

	/* Chunked, with an extension, decoded in place. */
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n3;x=y\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n",
	    0, &st, body, &len, &why), 1);
	assert_string_equal(body, "abc0123456789");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n3\r\nab", 0, &st, body, &len, &why), 0);
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n3\r\nab", 1, &st, body, &len, &why), -1);
	assert_string_equal(why, "was cut off in the middle of a chunk");

	/* What the hostile router of tests/hostile sends. */
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\nzz; not hex\r\n", 0, &st, body, &len, &why),
	    -1);
	assert_string_equal(why, "has a chunk size that is not a hex number");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n-5\r\nabc\r\n", 0, &st, body, &len, &why), -1);
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n6\r\n<root>\r\nfffffffffffffffffffffffffffffff0"
	    "\r\n", 0, &st, body, &len, &why), -1);
	assert_string_equal(why, "has a chunk larger than 128 KiB");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n2\r\nabcd\r\n", 0, &st, body, &len, &why), -1);
	assert_string_equal(why, "has a chunk longer than its size says");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: "
	    "2147483648\r\n\r\n<root>", 0, &st, body, &len, &why), -1);
	assert_string_equal(why, "announces a body of more than 128 KiB "
	    "(Content-Length)");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: "
	    "99999999999999999999999\r\n\r\n", 0, &st, body, &len, &why), -1);
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nContent-Length: "
	    "-1\r\n\r\n", 0, &st, body, &len, &why), -1);
	assert_string_equal(why, "has a Content-Length that is not a number");
	assert_int_equal(http_parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
	    "gzip\r\n\r\n", 0, &st, body, &len, &why), -1);
	assert_int_equal(http_parse("<?xml version=\"1.0\"?>\r\n\r\n", 0,
	    &st, body, &len, &why), -1);
	assert_string_equal(why, "is not an HTTP answer");
	assert_int_equal(http_parse("HTTP/1.1 2", 1, &st, body, &len, &why),
	    -1);
	assert_string_equal(why, "was cut off in its head");
	assert_int_equal(http_parse("", 1, &st, body, &len, &why), -1);
	assert_string_equal(why, "is empty");
	{
		/* A head that never ends, and a body that never ends. */
		static char big[UPNP_HTTP_MAX + 200];
		char *b;

		memset(big, 'a', sizeof(big));
		assert_int_equal(upnp_http_parse(big, 9000, 0, &st, &b, &len,
		    &why), -1);
		assert_string_equal(why, "has a head longer than 8 KiB");
		memcpy(big, "HTTP/1.1 200 OK\r\n\r\n", 19);
		assert_int_equal(upnp_http_parse(big, sizeof(big), 0, &st, &b,
		    &len, &why), -1);
		assert_string_equal(why, "has a body larger than 128 KiB");
	}
}

static void
test_pmp_reply(void **state)
{
	const unsigned char pub[12] = { 0, 128, 0, 0, 0, 0, 0, 42,
	    11, 22, 33, 2 };
	const unsigned char map[16] = { 0, 130, 0, 0, 0, 0, 1, 0,
	    0x1f, 0x90, 0, 80, 0, 0, 0x0e, 0x10 };
	const unsigned char err3[8] = { 0, 128, 0, 3, 0, 0, 0, 5 };
	struct pmp_reply r;

	(void)state;
	assert_int_equal(pmp_parse_reply(pub, sizeof(pub), PMP_OP_PUBLIC, 0,
	    &r), 0);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.epoch, 42);
	assert_int_equal(ntohl(r.addr.s_addr), 0x0b162102);

	assert_int_equal(pmp_parse_reply(map, sizeof(map), PMP_OP_MAP_TCP,
	    8080, &r), 0);
	assert_int_equal(r.int_port, 8080);
	assert_int_equal(r.ext_port, 80);
	assert_int_equal(r.lifetime, 3600);
	assert_int_equal(r.epoch, 256);

	/* A non-zero result needs only the 8-byte header. */
	assert_int_equal(pmp_parse_reply(err3, sizeof(err3), PMP_OP_PUBLIC, 0,
	    &r), 0);
	assert_int_equal(r.result, 3);

	/* Short, wrong opcode, wrong version, another port: ignored. */
	assert_int_equal(pmp_parse_reply(pub, 11, PMP_OP_PUBLIC, 0, &r), -1);
	assert_int_equal(pmp_parse_reply(pub, 7, PMP_OP_PUBLIC, 0, &r), -1);
	assert_int_equal(pmp_parse_reply(map, 15, PMP_OP_MAP_TCP, 8080, &r),
	    -1);
	assert_int_equal(pmp_parse_reply(map, 16, PMP_OP_MAP_UDP, 8080, &r),
	    -1);
	assert_int_equal(pmp_parse_reply(map, 16, PMP_OP_MAP_TCP, 8081, &r),
	    -1);
	assert_int_equal(pmp_parse_reply(pub, 12, PMP_OP_MAP_TCP, 0, &r), -1);
	/* What each of those is, for the error a misbehaving router gets. */
	assert_null(pmp_reply_problem(pub, 12, PMP_OP_PUBLIC, 0));
	assert_string_equal(pmp_reply_problem(pub, 0, PMP_OP_PUBLIC, 0),
	    "too short for a NAT-PMP reply");
	assert_string_equal(pmp_reply_problem(pub, 11, PMP_OP_PUBLIC, 0),
	    "cut short (no address)");
	assert_string_equal(pmp_reply_problem(map, 15, PMP_OP_MAP_TCP, 8080),
	    "cut short (no ports or lifetime)");
	assert_string_equal(pmp_reply_problem(map, 16, PMP_OP_MAP_TCP, 8081),
	    "about another internal port (a stale reply)");
	assert_string_equal(pmp_reply_problem(pub, 12, PMP_OP_MAP_TCP, 0),
	    "the reply to another kind of request (wrong opcode)");
	{
		unsigned char v1[12];

		memcpy(v1, pub, sizeof(v1));
		v1[0] = 1;
		assert_int_equal(pmp_parse_reply(v1, 12, PMP_OP_PUBLIC, 0,
		    &r), -1);
	}
}

static void
test_routes(void **state)
{
	const char table[] =
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
	    "Mask\t\tMTU\tWindow\tIRTT\n"
	    "docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n"
	    "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"
	    "eth0\t00000000\t014DA8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
	    "eth0\t004DA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n";
	const char none[] =
	    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\t"
	    "Mask\t\tMTU\tWindow\tIRTT\n"
	    "eth0\t004DA8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
	    "eth1\t00000000\t014DA8C0\t0001\t0\t0\t100\t00000000\t0\t0\t0\n";
	struct in_addr gw;
	char ifname[IF_NAMESIZE];
	char s[INET_ADDRSTRLEN];

	(void)state;
	/* The lowest metric wins, not the first line. */
	assert_int_equal(netinfo_parse_routes(table, &gw, ifname), 0);
	assert_string_equal(ifname, "eth0");
	inet_ntop(AF_INET, &gw, s, sizeof(s));
	assert_string_equal(s, "192.168.77.1");
	/* A default route without RTF_GATEWAY is not a gateway. */
	assert_int_equal(netinfo_parse_routes(none, &gw, ifname), -1);
	assert_int_equal(netinfo_parse_routes("", &gw, ifname), -1);
}

/* ------------------------------------------------------------------ */
/* rtnetlink: this host's addresses (netinfo_parse_addrs) */

/* Appends an RTM_NEWADDR for addr/plen on ifindex; valid 0: no cacheinfo. */
static void
nl_addr(struct nlbuf *nb, const char *addr, int plen, int ifindex,
    uint32_t valid, const char *label)
{
	struct nlmsghdr *nh = nl_begin(nb, RTM_NEWADDR,
	    sizeof(struct ifaddrmsg));
	struct ifaddrmsg *ifa = NLMSG_DATA(nh);
	struct in_addr a;
	struct ifa_cacheinfo ci;
	uint32_t flags = valid == 0 ? IFA_F_PERMANENT : 0;

	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)plen;
	ifa->ifa_index = (unsigned)ifindex;
	inet_pton(AF_INET, addr, &a);
	nl_attr(nb, nh, IFA_ADDRESS, &a, 4);
	nl_attr(nb, nh, IFA_LOCAL, &a, 4);
	nl_attr(nb, nh, IFA_LABEL, label, strlen(label) + 1);
	nl_attr(nb, nh, IFA_FLAGS, &flags, 4);
	if (valid != 0) {
		memset(&ci, 0, sizeof(ci));
		ci.ifa_valid = valid;
		ci.ifa_prefered = valid;
		nl_attr(nb, nh, IFA_CACHEINFO, &ci, sizeof(ci));
	}
	nb->len = NLMSG_ALIGN(nb->len);
}

static void
test_parse_addrs(void **state)
{
	struct nlbuf nb;
	struct netinfo_addr da;
	struct in_addr want, other;

	(void)state;
	inet_pton(AF_INET, "192.168.77.10", &want);
	inet_pton(AF_INET, "10.9.9.9", &other);
	memset(&nb, 0, sizeof(nb));
	nl_addr(&nb, "127.0.0.1", 8, 1, 0, "lo");
	nl_addr(&nb, "192.168.77.10", 24, 2, 3600, "eth0");
	nl_done(&nb);

	memset(&da, 0, sizeof(da));
	assert_int_equal(netinfo_parse_addrs(nb.b, nb.len, want, &da), 1);
	assert_true(da.found);
	assert_int_equal(da.ifindex, 2);
	assert_int_equal(da.prefixlen, 24);
	assert_int_equal(da.valid, 3600);
	assert_string_equal(da.label, "eth0");

	/* A static address has no cacheinfo here: it never expires. */
	memset(&nb, 0, sizeof(nb));
	nl_addr(&nb, "192.168.77.10", 24, 2, 0, "eth0");
	memset(&da, 0, sizeof(da));
	assert_int_equal(netinfo_parse_addrs(nb.b, nb.len, want, &da), 0);
	assert_true(da.found);
	assert_int_equal(da.valid, 0xffffffffu);
	assert_true(da.flags & IFA_F_PERMANENT);

	/* Not there. */
	memset(&da, 0, sizeof(da));
	assert_int_equal(netinfo_parse_addrs(nb.b, nb.len, other, &da), 0);
	assert_false(da.found);

	/* Cut short anywhere: an error or nothing found, never a read past. */
	{
		size_t cut;

		for (cut = 1; cut < nb.len; cut++) {
			unsigned char *copy = malloc(cut);

			memcpy(copy, nb.b, cut);
			memset(&da, 0, sizeof(da));
			assert_int_not_equal(netinfo_parse_addrs(copy,
			    cut, want, &da), 1);
			free(copy);
		}
	}

	/* A lying attribute length is refused. */
	{
		struct nlmsghdr *nh = (void *)nb.b;
		struct rtattr *rta = (void *)((unsigned char *)NLMSG_DATA(nh) +
		    NLMSG_ALIGN(sizeof(struct ifaddrmsg)));

		rta->rta_len = RTA_LENGTH(2);	/* IFA_ADDRESS of 2 bytes */
		assert_int_equal(netinfo_parse_addrs(nb.b, nb.len, want, &da),
		    -1);
	}

	/* NLMSG_ERROR. */
	memset(&nb, 0, sizeof(nb));
	((struct nlmsghdr *)nb.b)->nlmsg_type = NLMSG_ERROR;
	((struct nlmsghdr *)nb.b)->nlmsg_len = NLMSG_LENGTH(
	    sizeof(struct nlmsgerr));
	assert_int_equal(netinfo_parse_addrs(nb.b, NLMSG_LENGTH(
	    sizeof(struct nlmsgerr)), want, &da), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ssdp_response),
		cmocka_unit_test(test_ssdp_notify_and_garbage),
		cmocka_unit_test(test_ssdp_url),
		cmocka_unit_test(test_upnp_desc),
		cmocka_unit_test(test_http_answers),
		cmocka_unit_test(test_pmp_reply),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_parse_addrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

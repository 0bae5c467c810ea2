/* Port specifications, numbers and address classification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "addr.h"
#include "addr6.h"
#include "mapping.h"
#include "portspec.h"
#include "util.h"

static void
test_portspec_valid(void **state)
{
	struct portspec s;
	char e[160];

	(void)state;
	assert_int_equal(portspec_parse("80", 1, &s, e, sizeof(e)), 0);
	assert_int_equal(s.ext, 80);
	assert_int_equal(s.in, 80);
	assert_int_equal(s.in_given, 0);
	assert_int_equal(s.proto, PM_TCP);

	assert_int_equal(portspec_parse("80:8080/udp", 1, &s, e, sizeof(e)),
	    0);
	assert_int_equal(s.ext, 80);
	assert_int_equal(s.in, 8080);
	assert_int_equal(s.in_given, 1);
	assert_int_equal(s.proto, PM_UDP);

	assert_int_equal(portspec_parse("65535/TCP", 1, &s, e, sizeof(e)), 0);
	assert_int_equal(s.ext, 65535);
	assert_int_equal(s.proto, PM_TCP);
	assert_int_equal(portspec_parse("1:65535", 1, &s, e, sizeof(e)), 0);
	assert_int_equal(s.in, 65535);
}

static void
test_portspec_invalid(void **state)
{
	static const char *const bad[] = {
		"", "0", "65536", "-1", "+80", " 80", "80 ", "80/", "80/sctp",
		"80:", ":80", "80:0", "80:65536", "80:8080:1", "0x50", "8o",
		"99999999999999999999999", "80/tcp/udp", "80:/tcp",
		"123456789012345678901234567890123456789",
	};
	struct portspec s;
	char e[160];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(bad); i++) {
		e[0] = '\0';
		if (portspec_parse(bad[i], 1, &s, e, sizeof(e)) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_true(e[0] != '\0');
	}
	/* The message quotes what was wrong. */
	portspec_parse("80/sctp", 1, &s, e, sizeof(e));
	assert_non_null(strstr(e, "\"sctp\""));
	portspec_parse("70000", 1, &s, e, sizeof(e));
	assert_non_null(strstr(e, "70000"));
	/* Without allow_internal, ":INT" is a usage error. */
	assert_int_equal(portspec_parse("80:8080", 0, &s, e, sizeof(e)), -1);
}

static void
test_parse_uint(void **state)
{
	unsigned long v;

	(void)state;
	assert_int_equal(parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("4294967295", 0, 4294967295UL, &v), 0);
	assert_int_equal(v, 4294967295UL);
	assert_int_equal(parse_uint("4294967296", 0, 4294967295UL, &v), -1);
	assert_int_equal(parse_uint("11", 0, 10, &v), -1);
	assert_int_equal(parse_uint("99999999999999999999999999", 0,
	    (unsigned long)-1, &v), -1);
	assert_int_equal(parse_uint("", 0, 10, &v), -1);
	assert_int_equal(parse_uint(NULL, 0, 10, &v), -1);
	assert_int_equal(parse_uint("1e3", 0, 10000, &v), -1);
}

static void
test_addr_classify(void **state)
{
	static const struct {
		const char	*ip;
		enum addr_class	 cls;
	} cases[] = {
		{ "11.22.33.2", ADDR_PUBLIC },
		{ "8.8.8.8", ADDR_PUBLIC },
		{ "100.63.255.255", ADDR_PUBLIC },
		{ "100.64.0.1", ADDR_CGNAT },
		{ "100.127.255.255", ADDR_CGNAT },
		{ "100.128.0.0", ADDR_PUBLIC },
		{ "10.1.2.3", ADDR_PRIVATE },
		{ "172.16.0.1", ADDR_PRIVATE },
		{ "172.31.255.255", ADDR_PRIVATE },
		{ "172.32.0.1", ADDR_PUBLIC },
		{ "192.168.1.1", ADDR_PRIVATE },
		{ "127.0.0.1", ADDR_LOOPBACK },
		{ "169.254.1.1", ADDR_LINKLOCAL },
		{ "0.0.0.0", ADDR_UNSPECIFIED },
		{ "192.0.2.1", ADDR_RESERVED },
		{ "198.51.100.7", ADDR_RESERVED },
		{ "203.0.113.9", ADDR_RESERVED },
		{ "198.18.0.1", ADDR_RESERVED },
		{ "224.0.0.1", ADDR_MULTICAST },
		{ "239.255.255.250", ADDR_MULTICAST },
		{ "255.255.255.255", ADDR_RESERVED },
		{ "", ADDR_NONE },
		{ "999.1.1.1", ADDR_INVALID },
		{ "<script>", ADDR_INVALID },
		{ "1.2.3", ADDR_INVALID },
		{ "1.2.3.4 ", ADDR_INVALID },
		{ "01.2.3.4", ADDR_INVALID },
		{ "1.2.3.4.5", ADDR_INVALID },
		{ "::1", ADDR_INVALID },
	};
	struct in_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		enum addr_class c = addr_parse(cases[i].ip, &a);

		if (c != cases[i].cls)
			fail_msg("%s: got %s, want %s", cases[i].ip,
			    addr_class_str(c), addr_class_str(cases[i].cls));
	}
	assert_true(addr_class_is_public(ADDR_PUBLIC));
	assert_false(addr_class_is_public(ADDR_CGNAT));
	assert_false(addr_class_is_public(ADDR_NONE));
	assert_string_equal(addr_class_str(ADDR_CGNAT), "carrier-grade NAT");
}

/* Every block of the IANA IPv6 special-purpose registry, at its edges. */
static void
test_addr6_classify(void **state)
{
	static const struct {
		const char		*ip;
		enum addr6_class	 cls;
		const char		*phrase;	/* or NULL */
	} cases[] = {
		{ "2a0c:7700:77::10", ADDR6_GLOBAL,
		    "a global unicast address (2000::/3)" },
		{ "2000::", ADDR6_GLOBAL, NULL },
		{ "3ffe:ffff::1", ADDR6_GLOBAL, NULL },
		{ "3fff::1", ADDR6_DOCUMENTATION,
		    "a documentation address (3fff::/20)" },
		{ "3fff:fff::1", ADDR6_DOCUMENTATION, NULL },
		{ "3fff:1000::1", ADDR6_GLOBAL, NULL },
		{ "2001:db8::1", ADDR6_DOCUMENTATION,
		    "a documentation address (2001:db8::/32)" },
		{ "2001:db9::1", ADDR6_GLOBAL, NULL },
		{ "fd00::10", ADDR6_ULA, "a unique local address (fc00::/7)" },
		{ "fc00::1", ADDR6_ULA, NULL },
		{ "fe80::1", ADDR6_LINKLOCAL,
		    "a link-local address (fe80::/10)" },
		{ "febf::1", ADDR6_LINKLOCAL, NULL },
		{ "fec0::1", ADDR6_RESERVED, NULL },
		{ "::1", ADDR6_LOOPBACK, "the loopback address (::1)" },
		{ "::", ADDR6_UNSPECIFIED, "the unspecified address (::)" },
		{ "::2", ADDR6_RESERVED, "an address outside the global "
		    "unicast range (2000::/3)" },
		{ "ff02::1", ADDR6_MULTICAST, "a multicast address (ff00::/8)" },
		{ "::ffff:192.168.1.1", ADDR6_V4MAPPED, NULL },
		{ "64:ff9b::1.2.3.4", ADDR6_SPECIAL, NULL },
		{ "64:ff9b:1::1", ADDR6_SPECIAL,
		    "a local-use NAT64 address (64:ff9b:1::/48)" },
		{ "100::1", ADDR6_SPECIAL, "a discard-only address (100::/64)" },
		{ "100:0:0:1::1", ADDR6_SPECIAL, NULL },
		{ "100:0:0:2::1", ADDR6_RESERVED, NULL },
		{ "2001::1", ADDR6_SPECIAL,
		    "a Teredo tunnel address (2001::/32)" },
		{ "2001:1::1", ADDR6_GLOBAL, NULL },
		{ "2001:1::2", ADDR6_GLOBAL, NULL },
		{ "2001:1::3", ADDR6_GLOBAL, NULL },
		{ "2001:1::4", ADDR6_SPECIAL,
		    "an IETF protocol assignment (2001::/23)" },
		{ "2001:2::1", ADDR6_SPECIAL, NULL },
		{ "2001:2:1::1", ADDR6_SPECIAL, NULL },
		{ "2001:3::1", ADDR6_GLOBAL, NULL },
		{ "2001:4:112::1", ADDR6_GLOBAL, NULL },
		{ "2001:4:113::1", ADDR6_SPECIAL, NULL },
		{ "2001:10::1", ADDR6_SPECIAL, NULL },
		{ "2001:1f::1", ADDR6_SPECIAL, NULL },
		{ "2001:20::1", ADDR6_GLOBAL, NULL },
		{ "2001:3f::1", ADDR6_GLOBAL, NULL },
		{ "2001:40::1", ADDR6_SPECIAL, NULL },
		{ "2001:1ff::1", ADDR6_SPECIAL, NULL },
		{ "2001:200::1", ADDR6_GLOBAL, NULL },
		{ "2002:c000:204::1", ADDR6_SPECIAL,
		    "a 6to4 address (2002::/16)" },
		{ "5f00::1", ADDR6_SPECIAL,
		    "a segment routing identifier (5f00::/16)" },
		{ "4000::1", ADDR6_RESERVED, NULL },
		{ "", ADDR6_INVALID, NULL },
		{ "192.168.1.1", ADDR6_INVALID, NULL },
		{ "fe80::1%eth0", ADDR6_INVALID, NULL },
		{ "2a0c::/64", ADDR6_INVALID, NULL },
		{ "2a0c::1 ", ADDR6_INVALID, NULL },
		{ "0000:0000:0000:0000:0000:ffff:255.255.255.255x", ADDR6_INVALID,
		    NULL },
	};
	struct in6_addr a;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		enum addr6_class c = addr6_parse(cases[i].ip, &a);

		if (c != cases[i].cls)
			fail_msg("%s: got %s, want %s", cases[i].ip,
			    addr6_class_str(c), addr6_class_str(cases[i].cls));
		if (cases[i].phrase != NULL)
			assert_string_equal(addr6_describe(&a),
			    cases[i].phrase);
	}
	assert_int_equal(addr6_parse(NULL, &a), ADDR6_INVALID);
	assert_string_equal(addr6_class_str(ADDR6_ULA), "ula");
}

static void
test_method_parse(void **state)
{
	enum pm_method m;

	(void)state;
	assert_int_equal(portmap_method_parse("natpmp", &m), 0);
	assert_int_equal(m, PM_NATPMP);
	assert_int_equal(portmap_method_parse("upnp", &m), 0);
	assert_int_equal(m, PM_UPNP);
	assert_int_equal(portmap_method_parse("auto", &m), 0);
	assert_int_equal(m, PM_AUTO);
	/* PCP became a method with issue 15. */
	assert_int_equal(portmap_method_parse("pcp", &m), 0);
	assert_int_equal(m, PM_PCP);
	assert_string_equal(portmap_method_str(PM_PCP), "pcp");
	assert_string_equal(portmap_method_name(PM_PCP), "PCP");
	assert_int_equal(portmap_method_parse("PCP", &m), -1);
	assert_int_equal(portmap_method_parse("pcp2", &m), -1);
	assert_string_equal(portmap_method_str(PM_NATPMP), "natpmp");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_portspec_valid),
		cmocka_unit_test(test_portspec_invalid),
		cmocka_unit_test(test_parse_uint),
		cmocka_unit_test(test_addr_classify),
		cmocka_unit_test(test_addr6_classify),
		cmocka_unit_test(test_method_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

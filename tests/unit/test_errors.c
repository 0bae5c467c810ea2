/* Router error translation: codes for machines, sentences for people. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pmerr.h"
#include "util.h"

static void
test_upnp_codes(void **state)
{
	static const struct {
		int		upnp;
		enum pm_errcode	code;
		const char	*needle;
	} cases[] = {
		{ 718, PME_CONFLICT, "another host" },
		{ 729, PME_CONFLICT, "another mechanism" },
		{ 606, PME_NOT_AUTHORIZED, "does not allow" },
		{ 725, PME_REFUSED, "permanent" },
		{ 724, PME_REFUSED, "same" },
		{ 716, PME_REFUSED, "wildcard external" },
		{ 726, PME_REFUSED, "wildcard remote" },
		{ 727, PME_REFUSED, "wildcard external" },
		{ 728, PME_OUT_OF_RESOURCES, "full" },
		{ 402, PME_REFUSED, "Invalid Args" },
		{ 501, PME_REFUSED, "Action Failed" },
		{ 714, PME_NOT_FOUND, "no such" },
		{ -3, PME_NETWORK, "HTTP" },
		{ -4, PME_BAD_REPLY, "malformed" },
		{ 899, PME_REFUSED, "899" },
		{ -77, PME_BAD_REPLY, "-77" },
	};
	struct pm_error e;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		pmerr_clear(&e);
		pmerr_upnp(&e, cases[i].upnp, "forward port 80/tcp");
		if (e.code != cases[i].code)
			fail_msg("UPnP %d: got %s", cases[i].upnp,
			    pmerr_code_str(e.code));
		assert_int_equal(e.router_code, cases[i].upnp);
		assert_int_equal(pmerr_upnp_code(cases[i].upnp), cases[i].code);
		if (strstr(e.msg, cases[i].needle) == NULL)
			fail_msg("UPnP %d: \"%s\" lacks \"%s\"", cases[i].upnp,
			    e.msg, cases[i].needle);
		/* Every sentence says what was attempted. */
		assert_non_null(strstr(e.msg, "forward port 80/tcp"));
		if (cases[i].upnp > 0) {
			char num[16];

			snprintf(num, sizeof(num), "%d", cases[i].upnp);
			assert_non_null(strstr(e.msg, num));
		}
	}
}

static void
test_natpmp_codes(void **state)
{
	static const struct {
		int		result;
		enum pm_errcode	code;
		const char	*needle;
	} cases[] = {
		{ 1, PME_UNSUPPORTED, "version" },
		{ 2, PME_NOT_AUTHORIZED, "not authorized" },
		{ 3, PME_NO_PUBLIC_ADDRESS, "carrier-grade" },
		{ 4, PME_OUT_OF_RESOURCES, "out of resources" },
		{ 5, PME_UNSUPPORTED, "unsupported opcode" },
		{ 77, PME_REFUSED, "77" },
	};
	struct pm_error e;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		pmerr_natpmp(&e, cases[i].result, "forward port 80/tcp");
		assert_int_equal(e.code, cases[i].code);
		assert_int_equal(e.router_code, cases[i].result);
		if (strstr(e.msg, cases[i].needle) == NULL)
			fail_msg("NAT-PMP %d: \"%s\" lacks \"%s\"",
			    cases[i].result, e.msg, cases[i].needle);
	}
}

static void
test_codes_and_exit(void **state)
{
	(void)state;
	assert_string_equal(pmerr_code_str(PME_NO_GATEWAY), "no_gateway");
	assert_string_equal(pmerr_code_str(PME_CONFLICT), "conflict");
	assert_string_equal(pmerr_code_str(PME_NO_PUBLIC_ADDRESS),
	    "no_public_address");
	assert_string_equal(pmerr_code_str(PME_REFUSED), "refused");
	/* Issue 15's codes, a contract. */
	assert_string_equal(pmerr_code_str(PME_NO_IPV6), "no_ipv6");
	assert_string_equal(pmerr_code_str(PME_PINHOLE_REFUSED),
	    "pinhole_refused");
	assert_string_equal(pmerr_code_str(PME_ADDRESS_MISMATCH),
	    "address_mismatch");
	assert_string_equal(pmerr_code_str((enum pm_errcode)999), "internal");
	assert_int_equal(pmerr_exit_status(PME_OK), 0);
	assert_int_equal(pmerr_exit_status(PME_USAGE), 2);
	assert_int_equal(pmerr_exit_status(PME_CONFLICT), 1);
	assert_int_equal(pmerr_exit_status(PME_NO_GATEWAY), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upnp_codes),
		cmocka_unit_test(test_natpmp_codes),
		cmocka_unit_test(test_codes_and_exit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * What portkeeper says of a router: its name from the description, the
 * quirks met in words and JSON, and the vendors' documented fixes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "router.h"
#include "util.h"

static void
info_set(struct portmap_info *in, const char *maker, const char *model,
    const char *name)
{
	memset(in, 0, sizeof(*in));
	in->upnp_found = true;
	in->method = PM_UPNP;
	str_copy(in->router_manufacturer, maker, sizeof(in->router_manufacturer));
	str_copy(in->router_model, model, sizeof(in->router_model));
	str_copy(in->router_name, name, sizeof(in->router_name));
}

static void
test_names(void **state)
{
	static const struct {
		const char *maker, *model, *name, *want;
	} cases[] = {
		{ "AVM Berlin", "FRITZ!Box 7590", "FRITZ!Box 7590",
		  "AVM FRITZ!Box 7590" },
		{ "AVM", "FRITZ!Box 7590", "", "AVM FRITZ!Box 7590" },
		/* The model already says the maker: not twice. */
		{ "NETGEAR, Inc.", "NETGEAR R7000", "", "NETGEAR R7000" },
		{ "NETGEAR, Inc.", "R7000", "", "NETGEAR R7000" },
		{ "TP-Link Technologies Co., Ltd.", "Archer C7 1.0", "",
		  "TP-Link Archer C7 1.0" },
		{ "tp-link", "TP-LINK Archer", "", "TP-LINK Archer" },
		{ "OpenWrt", "", "OpenWrt router", "OpenWrt router" },
		{ "MikroTik", "", "", "MikroTik" },
		{ "", "", "Living room gateway", "Living room gateway" },
		{ "", "", "", "" },
		/* Bytes from the router that are not printable ASCII. */
		{ "Bad\033[31m", "X\n1", "", "Bad?[31m X?1" },
	};
	struct portmap_info in;
	char buf[160];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		info_set(&in, cases[i].maker, cases[i].model, cases[i].name);
		router_name(&in, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
	info_set(&in, "AVM", "FRITZ!Box 7590", "");
	router_name(&in, buf, 8);
	assert_string_equal(buf, "AVM FRI");
}

static void
test_describe(void **state)
{
	struct portmap_info in;
	char buf[256];

	(void)state;
	info_set(&in, "AVM", "FRITZ!Box 7590", "");
	str_copy(in.upnp_service,
	    "urn:schemas-upnp-org:service:WANPPPConnection:1",
	    sizeof(in.upnp_service));
	router_describe(&in, buf, sizeof(buf));
	assert_string_equal(buf, "AVM FRITZ!Box 7590, UPnP-IGD "
	    "(urn:schemas-upnp-org:service:WANPPPConnection:1)");
	info_set(&in, "", "", "");
	router_describe(&in, buf, sizeof(buf));
	assert_string_equal(buf, "UPnP-IGD");
	in.upnp_found = false;
	in.natpmp_found = true;
	router_describe(&in, buf, sizeof(buf));
	assert_string_equal(buf, "NAT-PMP");
	in.natpmp_found = false;
	router_describe(&in, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_quirks(void **state)
{
	unsigned bit;
	int n = 0;

	(void)state;
	assert_string_equal(router_quirk_name(PMQ_PERMANENT_ONLY),
	    "permanent_only");
	assert_string_equal(router_quirk_name(PMQ_SEVERAL_SERVICES),
	    "several_services");
	assert_string_equal(router_quirk_name(PMQ_TR064_NAMES), "tr064_names");
	assert_string_equal(router_quirk_name(PMQ_REFUSES_ALL), "refuses_all");
	assert_non_null(strstr(router_quirk_str(PMQ_PERMANENT_ONLY),
	    "only grants permanent forwards"));
	/* Every bit of PMQ_ALL has a name and a sentence; no other has. */
	for (bit = 1; bit != 0; bit <<= 1) {
		if (bit & PMQ_ALL) {
			const char *s = router_quirk_str((enum pm_quirk)bit);

			assert_non_null(router_quirk_name((enum pm_quirk)bit));
			assert_non_null(s);
			assert_true(s[strlen(s) - 1] == '.');
			n++;
		} else {
			assert_null(router_quirk_name((enum pm_quirk)bit));
			assert_null(router_quirk_str((enum pm_quirk)bit));
		}
	}
	assert_int_equal(n, 4);
}

static void
test_advice(void **state)
{
	struct portmap_info in;
	const char *a;

	(void)state;
	info_set(&in, "AVM Berlin", "FRITZ!Box 7590", "FRITZ!Box 7590");
	a = router_advice(&in, PME_NOT_AUTHORIZED);
	assert_non_null(a);
	assert_non_null(strstr(a, "Permit independent port sharing for this "
	    "device"));
	assert_null(router_advice(&in, PME_CONFLICT));
	assert_null(router_advice(&in, PME_OK));
	/* A refusal on a router that refuses everything is one of these. */
	assert_null(router_advice(&in, PME_REFUSED));
	in.quirks = PMQ_REFUSES_ALL;
	assert_ptr_equal(router_advice(&in, PME_REFUSED), a);
	/* Case does not matter, and the friendly name is enough. */
	info_set(&in, "", "", "fritz!box 6660 cable");
	assert_ptr_equal(router_advice(&in, PME_NOT_AUTHORIZED), a);
	info_set(&in, "ZyXEL Communications Corp.", "NBG4115", "");
	assert_non_null(strstr(router_advice(&in, PME_NOT_AUTHORIZED),
	    "Allow users to make port forwarding changes through UPnP"));
	info_set(&in, "Actiontec", "MI424WR", "");
	assert_non_null(router_advice(&in, PME_NOT_AUTHORIZED));
	info_set(&in, "OpenWrt", "", "OpenWrt router");
	assert_non_null(strstr(router_advice(&in, PME_NOT_AUTHORIZED),
	    "perm_rule"));
	/* Nothing known of this one, nor of a router that did not say. */
	info_set(&in, "Debian", "miniupnpd", "");
	assert_null(router_advice(&in, PME_NOT_AUTHORIZED));
	info_set(&in, "", "", "");
	assert_null(router_advice(&in, PME_NOT_AUTHORIZED));
}

/* A member that must be there. */
static cJSON *
member(cJSON *o, const char *k)
{
	cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_non_null(j);
	return j;
}

static void
test_json(void **state)
{
	struct portmap_info in;
	cJSON *j;
	char *s;

	(void)state;
	info_set(&in, "AVM Berlin", "FRITZ!Box 7590", "FRITZ!Box 7590");
	str_copy(in.upnp_service,
	    "urn:dslforum-org:service:WANPPPConnection:1",
	    sizeof(in.upnp_service));
	in.quirks = PMQ_PERMANENT_ONLY | PMQ_TR064_NAMES;
	j = router_json(&in);
	s = cJSON_PrintUnformatted(j);
	assert_string_equal(s, "{\"manufacturer\":\"AVM Berlin\",\"model\":"
	    "\"FRITZ!Box 7590\",\"name\":\"FRITZ!Box 7590\",\"service\":"
	    "\"urn:dslforum-org:service:WANPPPConnection:1\",\"label\":"
	    "\"AVM FRITZ!Box 7590\",\"quirks\":"
	    "[\"permanent_only\",\"tr064_names\"],\"notes\":[\"This router "
	    "only grants permanent forwards: portkeeper asks for lease 0 and "
	    "does not refresh them.\",\"This router names its connection "
	    "service the TR-064 way (urn:dslforum-org), with the same actions "
	    "as UPnP-IGD's: portkeeper speaks to it as to an IGD.\"]}");
	cJSON_free(s);
	cJSON_Delete(j);

	/* UPnP answered without naming itself: nulls, not "". */
	info_set(&in, "", "", "");
	j = router_json(&in);
	assert_true(cJSON_IsNull(member(j, "manufacturer")));
	assert_true(cJSON_IsNull(member(j, "service")));
	assert_true(cJSON_IsNull(member(j, "label")));
	assert_int_equal(cJSON_GetArraySize(member(j, "quirks")), 0);
	cJSON_Delete(j);

	/* No description read (NAT-PMP only, or nothing): null. */
	memset(&in, 0, sizeof(in));
	in.natpmp_found = true;
	j = router_json(&in);
	assert_true(cJSON_IsNull(j));
	cJSON_Delete(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_quirks),
		cmocka_unit_test(test_advice),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

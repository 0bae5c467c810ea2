/*
 * The doctor over IPv6: its verdict (a pure function of the checks, every
 * precedence), the combination of IPv4's and IPv6's verdicts (the whole
 * table), the words that go with them, and the JSON's names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "doctor6.h"
#include "doctor_audit.h"
#include "util.h"

static void
test_names(void **state)
{
	static const char *const verdicts[] = {
		"ok", "ipv6_no_address", "ipv6_no_pinhole_service",
		"ipv6_pinhole_refused", "ipv6_no_listener", "ipv6_blocked",
		"ipv6_only",
	};
	static const char *const checks[] = {
		"ipv6_address", "ipv6_route", "pinhole_service",
		"ipv6_listener", "pinhole", "ipv6_external",
	};
	size_t i;

	(void)state;
	assert_int_equal(nitems(verdicts), DOC6V_NVERDICTS);
	for (i = 0; i < nitems(verdicts); i++)
		assert_string_equal(doctor6_verdict_str(i), verdicts[i]);
	assert_int_equal(nitems(checks), DOC6_NCHECKS);
	for (i = 0; i < nitems(checks); i++)
		assert_string_equal(doctor6_check_str(i), checks[i]);
	assert_string_equal(doctor_reason_str(DOCR_IPV4_ONLY), "ipv4_only");
	assert_string_equal(doctor_reason_str(DOCR_OPEN_TO_ALL), "open_to_all");
}

/* Checks as a test writes them: "pass", "fail:ipv4_only", "skip"... */
static void
checks_from(struct doctor_check c[DOC6_NCHECKS], const char *const *s)
{
	size_t i, r;

	memset(c, 0, DOC6_NCHECKS * sizeof(*c));
	for (i = 0; i < DOC6_NCHECKS; i++) {
		const char *colon = strchr(s[i], ':');

		c[i].status = strncmp(s[i], "pass", 4) == 0 ? DOC_PASS :
		    strncmp(s[i], "warn", 4) == 0 ? DOC_WARN :
		    strncmp(s[i], "fail", 4) == 0 ? DOC_FAIL : DOC_SKIP;
		if (colon == NULL)
			continue;
		for (r = 1; r < DOCR_NREASONS; r++)
			if (strcmp(doctor_reason_str(r), colon + 1) == 0)
				c[i].reason = r;
		assert_int_not_equal(c[i].reason, DOCR_NONE);
	}
}

static void
test_verdict(void **state)
{
	/* address, route, service, listener, pinhole, external -> verdict */
	static const struct {
		const char	*c[DOC6_NCHECKS];
		const char	*want;
	} cases[] = {
		{ { "pass", "pass", "pass", "pass", "pass", "pass" }, "ok" },
		{ { "pass", "pass", "pass", "pass", "skip:not_kept", "skip" },
		    "ok" },
		{ { "skip", "fail:no_ipv6_route", "skip", "skip", "skip",
		    "skip" }, "ipv6_no_address" },
		{ { "fail:no_address", "pass", "skip", "skip", "skip", "skip" },
		    "ipv6_no_address" },
		{ { "warn:only_temporary", "pass", "skip", "skip", "skip",
		    "skip" }, "ipv6_no_address" },
		{ { "pass", "pass", "fail:no_pinhole_service", "fail:refused",
		    "skip", "fail:unreachable" }, "ipv6_no_pinhole_service" },
		{ { "pass", "pass", "fail:pinholes_not_allowed", "pass", "skip",
		    "fail:unreachable" }, "ipv6_pinhole_refused" },
		/* The router's part first: it cannot be fixed on this host. */
		{ { "pass", "pass", "fail:pinholes_not_allowed",
		    "fail:ipv4_only", "skip", "skip" }, "ipv6_pinhole_refused" },
		{ { "pass", "pass", "pass", "fail:ipv4_only", "pass",
		    "fail:unreachable" }, "ipv6_no_listener" },
		{ { "pass", "pass", "pass", "fail:refused", "fail:pinhole_failed",
		    "skip" }, "ipv6_no_listener" },
		{ { "pass", "pass", "pass", "pass", "fail:pinhole_failed",
		    "fail:unreachable" }, "ipv6_pinhole_refused" },
		{ { "pass", "pass", "pass", "pass", "skip:not_kept",
		    "fail:unreachable" }, "ipv6_blocked" },
		{ { "pass", "pass", "pass", "warn:timeout", "pass",
		    "warn:probe_failed" }, "ok" },
	};
	struct doctor_check c[DOC6_NCHECKS];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		checks_from(c, cases[i].c);
		if (strcmp(doctor6_verdict_str(doctor6_verdict(c)),
		    cases[i].want) != 0)
			fail_msg("case %zu: %s, want %s", i,
			    doctor6_verdict_str(doctor6_verdict(c)),
			    cases[i].want);
	}
}

/* The combination of both families: the whole table of the precedence. */
static void
test_combine(void **state)
{
	static const struct {
		enum doctor_verdict	v4;
		bool			v4_ran, v4_none;
		enum doctor6_verdict	v6;
		bool			v6_ran;
		const char		*want;
		int			family;
	} cases[] = {
		/* -4, or IPv6 does not count: IPv4's, exactly. */
		{ DOCV_OK, true, false, DOC6V_OK, false, "ok", 4 },
		{ DOCV_CGNAT, true, true, DOC6V_OK, false, "cgnat", 4 },
		{ DOCV_CGNAT, true, true, DOC6V_NO_ADDRESS, false, "cgnat", 4 },
		{ DOCV_NO_MAPPING, true, false, DOC6V_OK, false, "no_mapping",
		    4 },
		/* -6: IPv6's. */
		{ DOCV_OK, false, false, DOC6V_OK, true, "ok", 6 },
		{ DOCV_OK, false, false, DOC6V_BLOCKED, true, "ipv6_blocked",
		    6 },
		/* IPv4 ok: ok, whatever IPv6 says. */
		{ DOCV_OK, true, false, DOC6V_OK, true, "ok", 4 },
		{ DOCV_OK, true, false, DOC6V_NO_LISTENER, true, "ok", 4 },
		/* IPv4 has no way in: IPv6 decides. */
		{ DOCV_CGNAT, true, true, DOC6V_OK, true, "ipv6_only", 6 },
		{ DOCV_CGNAT, true, true, DOC6V_NO_LISTENER, true,
		    "ipv6_no_listener", 6 },
		{ DOCV_CGNAT, true, true, DOC6V_NO_PINHOLE_SERVICE, true,
		    "ipv6_no_pinhole_service", 6 },
		{ DOCV_CGNAT, true, true, DOC6V_NO_ADDRESS, true,
		    "ipv6_no_address", 6 },
		{ DOCV_CGNAT, true, true, DOC6V_PINHOLE_REFUSED, true,
		    "ipv6_pinhole_refused", 6 },
		{ DOCV_CGNAT, true, true, DOC6V_BLOCKED, true, "ipv6_blocked",
		    6 },
		{ DOCV_NO_GATEWAY, true, true, DOC6V_OK, true, "ipv6_only", 6 },
		/* Any other IPv4 verdict can be fixed: IPv4's. */
		{ DOCV_NO_GATEWAY, true, false, DOC6V_OK, true, "no_gateway",
		    4 },
		{ DOCV_DOUBLE_NAT, true, false, DOC6V_OK, true, "double_nat",
		    4 },
		{ DOCV_NO_LISTENER, true, false, DOC6V_BLOCKED, true,
		    "no_listener", 4 },
		{ DOCV_HAIRPIN_UNSUPPORTED, true, false, DOC6V_OK, true,
		    "hairpin_unsupported", 4 },
	};
	size_t i;
	int fam;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		const char *got = doctor6_combine(cases[i].v4, cases[i].v4_ran,
		    cases[i].v4_none, cases[i].v6, cases[i].v6_ran, &fam);

		if (strcmp(got, cases[i].want) != 0 || fam != cases[i].family)
			fail_msg("case %zu: %s (family %d), want %s (%d)", i,
			    got, fam, cases[i].want, cases[i].family);
	}
}

/* A report of 8080/tcp behind carrier-grade NAT, IPv6 all passing. */
static void
reports(struct doctor_report *r4, struct doctor6_report *r6)
{
	size_t i;

	memset(r4, 0, sizeof(*r4));
	r4->port = 8080;
	r4->internal_port = 8080;
	r4->proto = PM_TCP;
	r4->checks[DOC_GATEWAY].status = DOC_PASS;
	r4->checks[DOC_EXTERNAL_IP].status = DOC_FAIL;
	r4->checks[DOC_EXTERNAL_IP].reason = DOCR_CGNAT;
	str_copy(r4->external_ip, "100.64.0.2", sizeof(r4->external_ip));
	doctor_conclude(r4);
	memset(r6, 0, sizeof(*r6));
	r6->counts = true;
	r6->ext = r6->port = 8080;
	r6->proto = PM_TCP;
	str_copy(r6->address, "2a0c:7700:77::10", sizeof(r6->address));
	str_copy(r6->probe_url, "http://[2a0c:7700:33::1]:8770",
	    sizeof(r6->probe_url));
	for (i = 0; i < DOC6_NCHECKS; i++)
		r6->checks[i].status = DOC_PASS;
	doctor6_conclude(r6);
}

static void
test_words(void **state)
{
	struct doctor_report r4;
	struct doctor6_report r6;
	char s[2560];

	(void)state;
	reports(&r4, &r6);
	assert_string_equal(doctor_verdict_str(r4.verdict), "cgnat");
	assert_string_equal(doctor6_words(&r4, &r6, s, sizeof(s)),
	    "ipv6_only");
	assert_non_null(strstr(s, "AAAA"));
	assert_non_null(strstr(s, "only IPv4"));
	assert_non_null(strstr(s, "relay"));
	assert_non_null(strstr(s, "tunnel"));
	assert_non_null(strstr(s, "carrier-grade NAT"));
	assert_null(strstr(s, "no port translation"));

	/* The IPv6 port differs from the external one: a warning. */
	r6.ext = 80;
	doctor6_conclude(&r6);
	doctor6_words(&r4, &r6, s, sizeof(s));
	assert_non_null(strstr(r6.port_warning, "use port 8080, not 80"));
	assert_non_null(strstr(s, "use port 8080, not 80"));

	/* IPv6 broken behind carrier-grade NAT: IPv6's words, and why. */
	r6.ext = 8080;
	r6.checks[DOC6_LISTENER].status = DOC_FAIL;
	r6.checks[DOC6_LISTENER].reason = DOCR_IPV4_ONLY;
	str_copy(r6.checks[DOC6_LISTENER].detail, "the server listens on "
	    "IPv4 only (0.0.0.0); make it listen on [::]",
	    sizeof(r6.checks[DOC6_LISTENER].detail));
	doctor6_conclude(&r6);
	assert_string_equal(doctor6_words(&r4, &r6, s, sizeof(s)),
	    "ipv6_no_listener");
	assert_non_null(strstr(s, "listen on [::]"));
	assert_non_null(strstr(s, "only way in"));

	/* IPv6 not counting: IPv4's summary, unchanged. */
	r6.counts = false;
	str_copy(r6.why_not, "no IPv6: none here", sizeof(r6.why_not));
	doctor6_conclude(&r6);
	assert_string_equal(doctor6_words(&r4, &r6, s, sizeof(s)), "cgnat");
	assert_string_equal(s, r4.summary);
	assert_string_equal(doctor6_words(&r4, NULL, s, sizeof(s)), "cgnat");
	assert_string_equal(s, r4.summary);
}

static void
test_json(void **state)
{
	struct doctor_report r4;
	struct doctor6_report r6;
	cJSON *j, *c;
	const char *const *want;
	static const char *const ids[] = {
		"ipv6_address", "ipv6_route", "pinhole_service",
		"ipv6_listener", "pinhole", "ipv6_external",
	};

	(void)state;
	reports(&r4, &r6);
	assert_non_null(j = doctor6_report_json(&r6));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "counts")));
	assert_string_equal(cJSON_GetObjectItem(j, "verdict")->valuestring,
	    "ok");
	want = ids;
	cJSON_ArrayForEach(c, cJSON_GetObjectItem(j, "checks"))
		assert_string_equal(cJSON_GetObjectItem(c, "id")->valuestring,
		    *want++);
	assert_ptr_equal(want, ids + nitems(ids));
	cJSON_Delete(j);

	r6.counts = false;
	str_copy(r6.why_not, "no IPv6: none here", sizeof(r6.why_not));
	assert_non_null(j = doctor6_report_json(&r6));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "verdict")));
	assert_string_equal(cJSON_GetObjectItem(j, "note")->valuestring,
	    "no IPv6: none here");
	cJSON_Delete(j);
}

static void
test_audit_words(void **state)
{
	struct doctor_audit a4;
	struct doctor6_audit a6;
	char s[2048];

	(void)state;
	memset(&a4, 0, sizeof(a4));
	a4.verdict = DOCV_CGNAT;
	str_copy(a4.summary, "No public address.", sizeof(a4.summary));
	memset(&a6, 0, sizeof(a6));
	a6.counts = true;
	str_copy(a6.address, "2a0c:7700:77::10", sizeof(a6.address));
	assert_string_equal(doctor6_audit_words(&a4, true, &a6, s, sizeof(s)),
	    "ipv6_only");
	assert_non_null(strstr(s, "AAAA"));
	a6.verdict = DOC6V_NO_PINHOLE_SERVICE;
	assert_string_equal(doctor6_audit_words(&a4, true, &a6, s, sizeof(s)),
	    "ipv6_no_pinhole_service");
	assert_string_equal(doctor6_audit_words(&a4, true, NULL, s, sizeof(s)),
	    "cgnat");
	assert_string_equal(s, "No public address.");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_verdict),
		cmocka_unit_test(test_combine),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_audit_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * The doctor's verdict (a pure function of the checks: every verdict and
 * every precedence), its words, its JSON, and the audit's classifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor.h"
#include "doctor_audit.h"
#include "router.h"
#include "util.h"

/* A check as a test writes it: "pass", "fail:conflict", "skip"... */
struct spec {
	const char	*c[DOC_NCHECKS];
	const char	*want;
};

static void
set_check(struct doctor_check *c, const char *s)
{
	char buf[64], *colon;
	size_t i;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		s = "skip";
	str_copy(buf, s, sizeof(buf));
	if ((colon = strchr(buf, ':')) != NULL)
		*colon++ = '\0';
	if (strcmp(buf, "pass") == 0)
		c->status = DOC_PASS;
	else if (strcmp(buf, "warn") == 0)
		c->status = DOC_WARN;
	else if (strcmp(buf, "fail") == 0)
		c->status = DOC_FAIL;
	else
		c->status = DOC_SKIP;
	if (colon == NULL)
		return;
	for (i = 0; i < DOCR_NREASONS; i++) {
		if (strcmp(doctor_reason_str(i), colon) == 0) {
			c->reason = i;
			return;
		}
	}
	fail_msg("no reason \"%s\"", colon);
}

static void
fill(struct doctor_check checks[DOC_NCHECKS], const struct spec *sp)
{
	size_t i;

	for (i = 0; i < DOC_NCHECKS; i++)
		set_check(&checks[i], sp->c[i]);
}

#define ALLPASS	{ "pass", "pass", "pass", "pass", "pass", "pass", "pass" }

static void
test_verdicts(void **state)
{
	/* gateway, external_ip, internal_ip, listener, mapping, hairpin, external */
	static const struct spec cases[] = {
		{ ALLPASS, "ok" },
		{ { "pass" }, "ok" },
		{ { "pass", "pass", "warn:dhcp", "pass", "pass", "pass", "pass" },
		    "ok" },
		{ { "warn", "pass", "pass", "pass", "pass", "pass", "pass" },
		    "ok" },
		{ { "pass", "warn:bad_address", "pass", "pass", "pass" }, "ok" },
		{ { "pass", "pass", "pass", "warn:timeout", "pass", "pass" },
		    "ok" },
		{ { "pass", "pass", "pass", "pass", "pass", "pass",
		    "warn:probe_failed" }, "ok" },
		{ { "pass", "pass", "pass", "pass", "pass", "warn", "pass" },
		    "ok" },
		/* no_gateway beats everything. */
		{ { "fail:no_gateway" }, "no_gateway" },
		{ { "fail:no_route" }, "no_gateway" },
		{ { "fail:no_gateway", "fail:cgnat", "pass", "fail:refused",
		    "fail:conflict", "fail:no_loopback", "fail:other_nat" },
		    "no_gateway" },
		/* The router's WAN address. */
		{ { "pass", "fail:cgnat" }, "cgnat" },
		{ { "pass", "fail:no_address" }, "cgnat" },
		{ { "pass", "fail:private" }, "double_nat" },
		{ { "pass", "fail:reserved" }, "double_nat" },
		{ { "pass", "fail:cgnat", "pass", "fail:refused",
		    "fail:conflict", "skip", "fail:other_nat" }, "cgnat" },
		{ { "pass", "fail:private", "pass", "pass", "pass", "skip",
		    "fail:other_nat" }, "double_nat" },
		/* The probe sees another address: a NAT in front. */
		{ { "pass", "pass", "pass", "pass", "pass", "pass",
		    "fail:other_nat" }, "double_nat" },
		{ { "pass", "pass", "pass", "fail:refused", "fail:conflict",
		    "fail:no_loopback", "fail:other_nat" }, "double_nat" },
		/* conflict, then listener, then mapping. */
		{ { "pass", "pass", "pass", "pass", "fail:conflict", "warn",
		    "fail:unreachable" }, "mapping_conflict" },
		{ { "pass", "pass", "pass", "fail:refused", "fail:conflict" },
		    "mapping_conflict" },
		{ { "pass", "pass", "pass", "fail:refused", "pass", "pass",
		    "fail:unreachable" }, "no_listener" },
		{ { "pass", "pass", "pass", "fail:refused", "fail:absent" },
		    "no_listener" },
		{ { "pass", "pass", "pass", "fail:loopback_only", "pass" },
		    "no_listener" },
		{ { "pass", "pass", "pass", "pass", "fail:absent", "pass",
		    "fail:unreachable" }, "no_mapping" },
		{ { "pass", "pass", "pass", "pass", "fail:other_port" },
		    "no_mapping" },
		{ { "pass", "pass", "pass", "pass", "fail:disabled" },
		    "no_mapping" },
		{ { "pass", "pass", "pass", "skip:not_verifiable",
		    "fail:absent" }, "no_mapping" },
		/* Outside: blocked only when mapping and listener are fine. */
		{ { "pass", "pass", "pass", "pass", "pass", "pass",
		    "fail:unreachable" }, "external_blocked" },
		{ { "pass", "pass", "pass", "pass", "pass", "fail:no_loopback",
		    "fail:unreachable" }, "external_blocked" },
		{ { "pass", "pass", "pass", "warn:timeout", "pass", "skip",
		    "fail:unreachable" }, "external_blocked" },
		{ { "pass", "pass", "pass", "skip:not_verifiable", "pass",
		    "pass", "fail:unreachable" }, "external_blocked" },
		{ { "pass", "pass", "pass", "pass", "skip:unlistable", "pass",
		    "fail:unreachable" }, "no_mapping" },
		{ { "pass", "pass", "pass", "pass", "warn:error", "pass",
		    "fail:unreachable" }, "external_blocked" },
		/* hairpin: when the outside works... */
		{ { "pass", "pass", "pass", "pass", "pass", "fail:no_loopback",
		    "pass" }, "hairpin_unsupported" },
		{ { "pass", "pass", "pass", "pass", "skip:unlistable",
		    "fail:no_loopback", "pass" }, "hairpin_unsupported" },
		{ { "pass", "pass", "pass", "pass", "pass",
		    "fail:router_answers", "pass" }, "hairpin_unsupported" },
		/* ...or mapping and listener are fine... */
		{ { "pass", "pass", "pass", "pass", "pass", "fail:no_loopback" },
		    "hairpin_unsupported" },
		{ { "pass", "pass", "pass", "skip:not_verifiable", "pass",
		    "fail:no_loopback" }, "hairpin_unsupported" },
		{ { "pass", "pass", "pass", "warn:timeout", "pass",
		    "fail:no_loopback" }, "hairpin_unsupported" },
		/* ...and not otherwise. */
		{ { "pass", "pass", "pass", "pass", "skip:unlistable",
		    "fail:no_loopback" }, "ok" },
		{ { "pass", "pass", "pass", "pass", "skip:unlistable",
		    "fail:no_loopback", "warn:probe_failed" }, "ok" },
		{ { "pass", "pass", "pass", "fail:refused", "pass",
		    "fail:no_loopback", "pass" }, "no_listener" },
		{ { "pass", "pass", "pass", "pass", "fail:absent",
		    "fail:no_loopback" }, "no_mapping" },
	};
	struct doctor_check checks[DOC_NCHECKS];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		fill(checks, &cases[i]);
		if (strcmp(doctor_verdict_str(doctor_verdict(checks)),
		    cases[i].want) != 0)
			fail_msg("case %zu: got %s, want %s", i,
			    doctor_verdict_str(doctor_verdict(checks)),
			    cases[i].want);
	}
}

/* The names are a contract: acceptance checks read them. */
static void
test_names(void **state)
{
	static const char *const verdicts[] = {
		"ok", "no_gateway", "cgnat", "double_nat", "no_listener",
		"no_mapping", "mapping_conflict", "hairpin_unsupported",
		"external_blocked",
	};
	static const char *const checks[] = {
		"gateway", "external_ip", "internal_ip", "listener", "mapping",
		"hairpin", "external",
	};
	size_t i;

	(void)state;
	assert_int_equal(nitems(verdicts), DOCV_NVERDICTS);
	for (i = 0; i < nitems(verdicts); i++)
		assert_string_equal(doctor_verdict_str(i), verdicts[i]);
	assert_int_equal(nitems(checks), DOC_NCHECKS);
	for (i = 0; i < nitems(checks); i++)
		assert_string_equal(doctor_check_str(i), checks[i]);
	assert_string_equal(doctor_status_str(DOC_PASS), "pass");
	assert_string_equal(doctor_status_str(DOC_WARN), "warn");
	assert_string_equal(doctor_status_str(DOC_FAIL), "fail");
	assert_string_equal(doctor_status_str(DOC_SKIP), "skip");
	for (i = 1; i < DOCR_NREASONS; i++)
		assert_true(strlen(doctor_reason_str(i)) > 0);
}

/* A report of 80/tcp -> 192.168.77.10:8080 behind 11.22.33.2. */
static void
report(struct doctor_report *r, const struct spec *sp)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->port = 80;
	r->proto = PM_TCP;
	r->internal_port = 8080;
	str_copy(r->internal_ip, "192.168.77.10", sizeof(r->internal_ip));
	str_copy(r->gateway, "192.168.77.1", sizeof(r->gateway));
	str_copy(r->external_ip, "11.22.33.2", sizeof(r->external_ip));
	str_copy(r->probe_url, "http://11.22.33.1:8770",
	    sizeof(r->probe_url));
	str_copy(r->source_seen, "11.22.33.2", sizeof(r->source_seen));
	fill(r->checks, sp);
	for (i = 0; i < DOC_NCHECKS; i++)
		snprintf(r->checks[i].detail, sizeof(r->checks[i].detail),
		    "detail of %s", doctor_check_str(i));
}

static void
assert_has(const char *s, const char *needle)
{
	if (strstr(s, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", s, needle);
}

static void
test_summary_hairpin(void **state)
{
	static const struct spec outside = {
		{ "pass", "pass", "pass", "pass", "pass", "fail:no_loopback",
		"pass" }, NULL };
	static const struct spec inside = {
		{ "pass", "pass", "pass", "pass", "pass", "fail:router_answers",
		"skip" }, NULL };
	struct doctor_report r;

	(void)state;
	report(&r, &outside);
	doctor_conclude(&r);
	assert_int_equal(r.verdict, DOCV_HAIRPIN_UNSUPPORTED);
	/* That it works from the internet, why not from home, the fixes. */
	assert_has(r.summary, "works from the internet");
	assert_has(r.summary, "not from inside your home network");
	assert_has(r.summary, "NAT loopback");
	assert_has(r.summary, "192.168.77.10:8080");
	assert_has(r.summary, "address=/name.example/192.168.77.10");
	assert_has(r.summary, "\"192.168.77.10 name.example\"");
	assert_has(r.summary, "hosts file");
	assert_has(r.summary, "Pi-hole");
	assert_has(r.summary, "router's settings");

	report(&r, &inside);
	doctor_conclude(&r);
	assert_int_equal(r.verdict, DOCV_HAIRPIN_UNSUPPORTED);
	assert_has(r.summary, "in place");
	assert_has(r.summary, "--probe");
	assert_has(r.summary, "the router itself");
}

static void
test_summaries(void **state)
{
	static const struct {
		struct spec	sp;
		const char	*needles[4];
	} cases[] = {
		{ { ALLPASS, NULL }, { "works", "probe server got in",
		    "NAT loopback" } },
		{ { { "fail:no_gateway" }, NULL }, { "cannot be asked",
		    "detail of gateway" } },
		{ { { "pass", "fail:cgnat" }, NULL }, { "carrier-grade NAT",
		    "public IPv4 address", "IPv6", "tunnel" } },
		{ { { "pass", "fail:private" }, NULL }, { "Another router",
		    "bridge", "11.22.33.2" } },
		{ { { "pass", "pass", "pass", "pass", "pass", "pass",
		    "fail:other_nat" }, NULL }, { "Another NAT", "11.22.33.2",
		    "bridge", "DMZ" } },
		{ { { "pass", "pass", "pass", "pass", "fail:conflict" }, NULL },
		    { "192.168.77.20:9000", "another host", "portkeeper open "
		    "8080:8080" } },
		{ { { "pass", "pass", "pass", "fail:refused" }, NULL },
		    { "cannot work", "detail of listener" } },
		{ { { "pass", "pass", "pass", "pass", "fail:absent" }, NULL },
		    { "does not forward", "detail of mapping" } },
		{ { { "pass", "pass", "pass", "pass", "pass", "pass",
		    "fail:unreachable" }, NULL }, { "could not get in",
		    "port 80 itself is blocked", "portkeeper open 8080:8080" } },
		{ { { "pass", "pass", "warn:dhcp", "pass", "pass", "pass",
		    "pass" }, NULL }, { "works", "DHCP", "reservation" } },
	};
	struct doctor_report r;
	size_t i, j;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		report(&r, &cases[i].sp);
		str_copy(r.holder, "192.168.77.20", sizeof(r.holder));
		r.holder_port = 9000;
		r.other_ports_reachable = true;
		r.probe_mapping_made = true;
		r.probe_port = 54321;
		if (r.checks[DOC_EXTERNAL_IP].reason == DOCR_PRIVATE)
			str_copy(r.external_ip, "192.168.1.2",
			    sizeof(r.external_ip));
		if (r.checks[DOC_EXTERNAL].reason == DOCR_OTHER_NAT)
			str_copy(r.external_ip, "11.22.34.2",
			    sizeof(r.external_ip));
		doctor_conclude(&r);
		assert_true(isupper((unsigned char)r.summary[0]));
		assert_int_equal(r.summary[strlen(r.summary) - 1], '.');
		for (j = 0; j < nitems(cases[i].needles) &&
		    cases[i].needles[j] != NULL; j++)
			if (strstr(r.summary, cases[i].needles[j]) == NULL)
				fail_msg("case %zu (%s): \"%s\" lacks \"%s\"", i,
				    doctor_verdict_str(r.verdict), r.summary,
				    cases[i].needles[j]);
	}
}

static cJSON *
item(cJSON *o, const char *k)
{
	cJSON *j = cJSON_GetObjectItemCaseSensitive(o, k);

	if (j == NULL)
		fail_msg("no \"%s\"", k);
	return j;
}

static void
test_json(void **state)
{
	static const struct spec sp = {
		{ "pass", "pass", "pass", "pass", "pass", "fail:no_loopback",
		"skip" }, NULL };
	struct doctor_report r;
	cJSON *j, *c;
	int i = 0;

	(void)state;
	report(&r, &sp);
	doctor_conclude(&r);
	j = doctor_report_json(&r);
	assert_non_null(j);
	assert_int_equal(item(j, "port")->valueint, 80);
	assert_string_equal(item(j, "protocol")->valuestring, "tcp");
	assert_string_equal(item(j, "internal_ip")->valuestring,
	    "192.168.77.10");
	assert_int_equal(item(j, "internal_port")->valueint, 8080);
	assert_string_equal(item(j, "external_ip")->valuestring, "11.22.33.2");
	assert_string_equal(item(j, "verdict")->valuestring,
	    "hairpin_unsupported");
	assert_string_equal(item(j, "summary")->valuestring, r.summary);
	assert_true(cJSON_IsFalse(item(j, "ok")));
	assert_int_equal(cJSON_GetArraySize(item(j, "checks")), DOC_NCHECKS);
	cJSON_ArrayForEach(c, item(j, "checks")) {
		assert_string_equal(item(c, "id")->valuestring,
		    doctor_check_str(i));
		assert_string_equal(item(c, "status")->valuestring,
		    doctor_status_str(r.checks[i].status));
		assert_string_equal(item(c, "detail")->valuestring,
		    r.checks[i].detail);
		i++;
	}
	c = cJSON_GetArrayItem(item(j, "checks"), DOC_HAIRPIN);
	assert_string_equal(item(c, "reason")->valuestring, "no_loopback");
	assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(item(j, "checks"),
	    DOC_GATEWAY), "reason"));
	cJSON_Delete(j);

	/* Unknown addresses are null, not "". */
	r.external_ip[0] = r.internal_ip[0] = '\0';
	j = doctor_report_json(&r);
	assert_true(cJSON_IsNull(item(j, "external_ip")));
	assert_true(cJSON_IsNull(item(j, "internal_ip")));
	cJSON_Delete(j);
}

/* The router named, its quirks and its vendor's fix, in words and JSON. */
static void
test_router(void **state)
{
	static const struct spec absent = {
		{ "pass", "pass", "pass", "pass", "fail:absent", "skip",
		"skip" }, NULL };
	static const struct spec ok = {
		{ "pass", "pass", "pass", "pass", "pass", "pass", "skip" },
		NULL };
	struct doctor_report r;
	cJSON *j, *q;

	(void)state;
	/* No description read: no router, no fix. */
	report(&r, &absent);
	r.refused = PME_NOT_AUTHORIZED;
	doctor_conclude(&r);
	assert_int_equal(doctor_errcode(&r), PME_NOT_AUTHORIZED);
	assert_null(strstr(r.summary, "The fix on this"));
	j = doctor_report_json(&r);
	assert_true(cJSON_IsNull(item(j, "router")));
	assert_true(cJSON_IsNull(item(j, "router_advice")));
	cJSON_Delete(j);

	/* A FRITZ!Box that refused the probe mapping as not authorized. */
	r.router.upnp_found = true;
	str_copy(r.router.router_manufacturer, "AVM Berlin",
	    sizeof(r.router.router_manufacturer));
	str_copy(r.router.router_model, "FRITZ!Box 7590",
	    sizeof(r.router.router_model));
	str_copy(r.router.upnp_service,
	    "urn:schemas-upnp-org:service:WANIPConnection:2",
	    sizeof(r.router.upnp_service));
	r.router.quirks = PMQ_REFUSES_ALL | PMQ_TR064_NAMES;
	doctor_conclude(&r);
	assert_string_equal(doctor_verdict_str(r.verdict), "no_mapping");
	assert_has(r.summary, "The fix on this AVM FRITZ!Box 7590: in the "
	    "FRITZ!Box, Internet > Permit Access > Port Sharing: edit this "
	    "device and tick \"Permit independent port sharing for this "
	    "device\"");
	j = doctor_report_json(&r);
	assert_string_equal(item(item(j, "router"), "manufacturer")->valuestring,
	    "AVM Berlin");
	assert_string_equal(item(item(j, "router"), "model")->valuestring,
	    "FRITZ!Box 7590");
	assert_true(cJSON_IsNull(item(item(j, "router"), "name")));
	assert_string_equal(item(item(j, "router"), "service")->valuestring,
	    "urn:schemas-upnp-org:service:WANIPConnection:2");
	q = item(item(j, "router"), "quirks");
	assert_int_equal(cJSON_GetArraySize(q), 2);
	assert_string_equal(cJSON_GetArrayItem(q, 0)->valuestring,
	    "tr064_names");
	assert_string_equal(cJSON_GetArrayItem(q, 1)->valuestring,
	    "refuses_all");
	assert_string_equal(item(j, "router_advice")->valuestring,
	    router_advice(&r.router, PME_NOT_AUTHORIZED));
	cJSON_Delete(j);

	/* The quirk alone says it, when no probe mapping was tried. */
	r.refused = PME_OK;
	doctor_conclude(&r);
	assert_int_equal(doctor_errcode(&r), PME_NOT_AUTHORIZED);
	assert_has(r.summary, "Permit independent port sharing");

	/* All well: nothing to fix, whatever the router. */
	report(&r, &ok);
	r.router.upnp_found = true;
	str_copy(r.router.router_model, "FRITZ!Box 7590",
	    sizeof(r.router.router_model));
	r.router.quirks = PMQ_REFUSES_ALL;
	doctor_conclude(&r);
	assert_int_equal(doctor_errcode(&r), PME_OK);
	assert_null(strstr(r.summary, "The fix on this"));
}

/* The error each verdict stands for. */
static void
test_errcode(void **state)
{
	static const struct {
		struct spec	sp;
		enum pm_errcode	want;
	} cases[] = {
		{ { { "fail:no_gateway" }, NULL }, PME_NO_GATEWAY },
		{ { { "fail:no_route" }, NULL }, PME_NO_ROUTE },
		{ { { "pass", "fail:cgnat" }, NULL }, PME_NO_PUBLIC_ADDRESS },
		{ { { "pass", "fail:private" }, NULL },
		    PME_NO_PUBLIC_ADDRESS },
		{ { { "pass", "pass", "pass", "pass", "fail:conflict" }, NULL },
		    PME_CONFLICT },
		{ { { "pass", "pass", "pass", "pass", "fail:absent" }, NULL },
		    PME_NOT_FOUND },
		{ { { "pass", "pass", "pass", "fail:refused", "pass" }, NULL },
		    PME_OK },
		{ { { "pass", "pass", "pass", "pass", "pass" }, NULL }, PME_OK },
	};
	struct doctor_report r;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		report(&r, &cases[i].sp);
		doctor_conclude(&r);
		assert_int_equal(doctor_errcode(&r), cases[i].want);
	}
	report(&r, &cases[0].sp);
	r.refused = PME_OUT_OF_RESOURCES;
	doctor_conclude(&r);
	assert_int_equal(doctor_errcode(&r), PME_OUT_OF_RESOURCES);
}

/* ------------------------------------------------------------------ */
/* The router's table */

static struct pm_mapping
mapping(const char *client, uint16_t ext, enum pm_proto p)
{
	struct pm_mapping m;

	memset(&m, 0, sizeof(m));
	str_copy(m.int_client, client, sizeof(m.int_client));
	m.ext_port = ext;
	m.int_port = ext;
	m.proto = p;
	return m;
}

static void
test_classify(void **state)
{
	static const struct {
		const char		*client;
		uint16_t		 ext;
		enum pm_proto		 proto;
		unsigned		 plen;
		enum doctor_entry_kind	 want;
		const char		*fwd;
	} cases[] = {
		{ "192.168.77.10", 80, PM_TCP, 24, DOCE_MANAGED, "web" },
		{ "192.168.77.10", 80, PM_UDP, 24, DOCE_UNMANAGED, NULL },
		{ "192.168.77.10", 81, PM_TCP, 24, DOCE_UNMANAGED, NULL },
		{ "192.168.77.10", 53, PM_UDP, 24, DOCE_MANAGED, "dns" },
		{ "192.168.77.20", 80, PM_TCP, 24, DOCE_OTHER_HOST, NULL },
		{ "192.168.77.254", 9, PM_TCP, 24, DOCE_OTHER_HOST, NULL },
		{ "192.168.78.20", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "192.168.78.20", 9, PM_TCP, 16, DOCE_OTHER_HOST, NULL },
		{ "10.0.0.5", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "8.8.8.8", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "192.168.77.0", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "192.168.77.255", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "127.0.0.1", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		{ "127.0.0.1", 9, PM_TCP, 0, DOCE_OUTSIDE_LAN, NULL },
		{ "0.0.0.0", 9, PM_TCP, 0, DOCE_OUTSIDE_LAN, NULL },
		{ "224.0.0.1", 9, PM_TCP, 24, DOCE_OUTSIDE_LAN, NULL },
		/* No prefix length known: another LAN host, for information. */
		{ "10.0.0.5", 9, PM_TCP, 0, DOCE_OTHER_HOST, NULL },
	};
	struct config cfg;
	struct config_forward fw[2];
	const struct config_forward *f;
	struct in_addr me;
	struct pm_mapping m;
	size_t i;

	(void)state;
	config_init(&cfg);
	memset(fw, 0, sizeof(fw));
	str_copy(fw[0].name, "web", sizeof(fw[0].name));
	fw[0].ext = 80;
	fw[0].in = 8080;
	fw[0].proto = PM_TCP;
	str_copy(fw[1].name, "dns", sizeof(fw[1].name));
	fw[1].ext = fw[1].in = 53;
	fw[1].proto = PM_UDP;
	cfg.fwd = fw;
	cfg.nfwd = 2;
	inet_pton(AF_INET, "192.168.77.10", &me);
	for (i = 0; i < nitems(cases); i++) {
		m = mapping(cases[i].client, cases[i].ext, cases[i].proto);
		if (doctor_classify(&m, me, cases[i].plen, &cfg, &f) !=
		    cases[i].want)
			fail_msg("case %zu (%s): got %s", i, cases[i].client,
			    doctor_entry_kind_str(doctor_classify(&m, me,
			    cases[i].plen, &cfg, &f)));
		if (cases[i].fwd == NULL)
			assert_null(f);
		else
			assert_string_equal(f->name, cases[i].fwd);
	}
	/* Without a configuration nothing is managed. */
	m = mapping("192.168.77.10", 80, PM_TCP);
	assert_int_equal(doctor_classify(&m, me, 24, NULL, &f),
	    DOCE_UNMANAGED);
	assert_string_equal(doctor_entry_kind_str(DOCE_OUTSIDE_LAN),
	    "outside_lan");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_summary_hairpin),
		cmocka_unit_test(test_summaries),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_router),
		cmocka_unit_test(test_errcode),
		cmocka_unit_test(test_classify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

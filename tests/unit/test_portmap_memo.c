/*
 * What portkeeperd remembers of its gateway between rounds: which protocols
 * a round asks and waits for, and when it may go straight to the IGD it
 * found before (portmap_memo.h says the rule).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* The static helpers too (portmap_memo_learn). */
#include "../../lib/portmap_memo.c"

#define MIN	(60 * 1000)

static struct in_addr gw, lan, gw2, lan2;

static int
setup(void **state)
{
	(void)state;
	inet_pton(AF_INET, "192.168.77.1", &gw);
	inet_pton(AF_INET, "192.168.77.10", &lan);
	inet_pton(AF_INET, "192.168.1.1", &gw2);
	inet_pton(AF_INET, "192.168.77.11", &lan2);
	return 0;
}

/* An IGD as discovery leaves it: one service, found at a location. */
static void
igd_fill(struct upnp_igd *igd, const char *location)
{
	memset(igd, 0, sizeof(*igd));
	str_copy(igd->location, location, sizeof(igd->location));
	igd->desc.nsvc = 1;
	str_copy(igd->desc.svc[0].type,
	    "urn:schemas-upnp-org:service:WANIPConnection:1",
	    sizeof(igd->desc.svc[0].type));
	str_copy(igd->desc.svc[0].control, "/ctl/IPConn",
	    sizeof(igd->desc.svc[0].control));
}

static void
plan_is(const struct portmap_memo *m, struct in_addr g, struct in_addr l,
    int64_t now, bool natpmp, bool upnp, bool resume)
{
	struct portmap_plan p;

	portmap_memo_plan(m, g, l, now, &p);
	assert_int_equal(p.ask_natpmp, natpmp);
	assert_int_equal(p.ask_upnp, upnp);
	assert_int_equal(p.resume_igd, resume);
}

static void
test_nothing_known(void **state)
{
	struct portmap_memo *m = portmap_memo_new();

	(void)state;
	assert_non_null(m);
	/* No memo, or an empty one: ask both, discover UPnP from scratch. */
	plan_is(NULL, gw, lan, 1000, true, true, false);
	plan_is(m, gw, lan, 1000, true, true, false);
	assert_int_equal(portmap_memo_state(m, PM_UPNP), PMH_UNKNOWN);
	portmap_memo_free(m);
}

static void
test_both_answered(void **state)
{
	struct portmap_memo *m = portmap_memo_new();
	struct upnp_igd igd;

	(void)state;
	igd_fill(&igd, "http://192.168.77.1:5000/rootDesc.xml");
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_ANSWERED, &igd, 0);
	/* Both asked as ever, UPnP at the IGD found: no SSDP, description. */
	plan_is(m, gw, lan, 1000, true, true, true);
	/* Long after too: nothing silent to test again. */
	plan_is(m, gw, lan, 60 * MIN, true, true, true);
	/* Another gateway, or another address of ours: nothing holds. */
	plan_is(m, gw2, lan, 1000, true, true, false);
	plan_is(m, gw, lan2, 1000, true, true, false);
	assert_string_equal(m->igd.location,
	    "http://192.168.77.1:5000/rootDesc.xml");
	portmap_memo_free(m);
}

static void
test_natpmp_only(void **state)
{
	struct portmap_memo *m = portmap_memo_new();

	(void)state;
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL, 0);
	/* UPnP stayed silent: not asked, so not waited for. */
	plan_is(m, gw, lan, 1000, true, false, false);
	/* Rounds that ask NAT-PMP alone keep the silence, not its age. */
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_UNKNOWN, NULL,
	    5 * MIN);
	plan_is(m, gw, lan, PORTMAP_MEMO_RECHECK_MS - 1, true, false, false);
	/* Now and then it is asked again. */
	plan_is(m, gw, lan, PORTMAP_MEMO_RECHECK_MS, true, true, false);
	/* It was asked and stayed silent: another interval without it. */
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL,
	    PORTMAP_MEMO_RECHECK_MS);
	plan_is(m, gw, lan, PORTMAP_MEMO_RECHECK_MS + 1000, true, false,
	    false);
	/* An SSDP NOTIFY from the gateway: UPnP may be there now. */
	portmap_memo_heard(m, PM_UPNP);
	plan_is(m, gw, lan, PORTMAP_MEMO_RECHECK_MS + 1000, true, true, false);
	/* A NAT-PMP announcement does not make UPnP worth waiting for. */
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL,
	    PORTMAP_MEMO_RECHECK_MS + 2000);
	portmap_memo_heard(m, PM_NATPMP);
	plan_is(m, gw, lan, PORTMAP_MEMO_RECHECK_MS + 3000, true, false,
	    false);
	/* Nor does another gateway keep the silence. */
	plan_is(m, gw2, lan, PORTMAP_MEMO_RECHECK_MS + 3000, true, true, false);
	portmap_memo_free(m);
}

static void
test_upnp_only(void **state)
{
	struct portmap_memo *m = portmap_memo_new();
	struct upnp_igd igd;

	(void)state;
	igd_fill(&igd, "http://192.168.77.1:5000/rootDesc.xml");
	portmap_memo_learn(m, gw, lan, PMH_SILENT, PMH_ANSWERED, &igd, 0);
	plan_is(m, gw, lan, 1000, false, true, true);
	/* The router announced NAT-PMP on its own: ask it again. */
	portmap_memo_heard(m, PM_NATPMP);
	plan_is(m, gw, lan, 1000, true, true, true);
	portmap_memo_free(m);
}

static void
test_igd_moved(void **state)
{
	struct portmap_memo *m = portmap_memo_new(), *c;
	struct upnp_igd igd;

	(void)state;
	igd_fill(&igd, "http://192.168.77.1:5000/rootDesc.xml");
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_ANSWERED, &igd, 0);
	c = portmap_memo_dup(m);
	assert_non_null(c);
	/* A new LOCATION or BOOTID: UPnP discovered again, and waited for. */
	portmap_memo_heard(c, PM_UPNP);
	plan_is(c, gw, lan, 1000, true, true, false);
	/* The copy is the round's own: the original is as it was. */
	plan_is(m, gw, lan, 1000, true, true, true);
	/* Found again elsewhere: the new one is kept. */
	igd_fill(&igd, "http://192.168.77.1:6000/rootDesc.xml");
	portmap_memo_learn(c, gw, lan, PMH_ANSWERED, PMH_ANSWERED, &igd, 1000);
	plan_is(c, gw, lan, 2000, true, true, true);
	assert_string_equal(c->igd.location,
	    "http://192.168.77.1:6000/rootDesc.xml");
	/* UPnP went silent: the IGD goes with it. */
	portmap_memo_learn(c, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL, 2000);
	plan_is(c, gw, lan, 3000, true, false, false);
	portmap_memo_free(c);
	portmap_memo_free(m);
}

static void
test_nothing_answered(void **state)
{
	struct portmap_memo *m = portmap_memo_new();
	struct upnp_igd igd;

	(void)state;
	igd_fill(&igd, "http://192.168.77.1:5000/rootDesc.xml");
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL, 0);
	/* The protocol remembered did not answer either: forget it all. */
	portmap_memo_learn(m, gw, lan, PMH_SILENT, PMH_UNKNOWN, NULL, 1000);
	plan_is(m, gw, lan, 2000, true, true, false);
	assert_int_equal(portmap_memo_state(m, PM_NATPMP), PMH_UNKNOWN);
	/* The same for a round that asked both. */
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_ANSWERED, &igd, 0);
	portmap_memo_learn(m, gw, lan, PMH_SILENT, PMH_SILENT, NULL, 1000);
	plan_is(m, gw, lan, 2000, true, true, false);
	/* A memo of another gateway starts afresh with what answered there. */
	portmap_memo_learn(m, gw, lan, PMH_ANSWERED, PMH_SILENT, NULL, 0);
	portmap_memo_learn(m, gw2, lan, PMH_UNKNOWN, PMH_ANSWERED, &igd, 1000);
	plan_is(m, gw2, lan, 2000, true, true, true);
	portmap_memo_forget(m);
	plan_is(m, gw2, lan, 2000, true, true, false);
	portmap_memo_free(m);
}

/* A session as round.c runs it, down to what portmap_remember writes. */
static void
test_remember(void **state)
{
	struct portmap_memo *m = portmap_memo_new();
	struct upnp_sess sess;
	struct portmap pm;
	struct upnp_igd igd;

	(void)state;
	memset(&pm, 0, sizeof(pm));
	memset(&sess, 0, sizeof(sess));
	pm.via = PM_AUTO;
	pm.sess = &sess;
	pm.ni.gateway = gw;
	pm.ni.internal = lan;
	igd_fill(&sess.igd, "http://192.168.77.1:5000/rootDesc.xml");

	/* Without a memo, nothing is written anywhere. */
	portmap_remember(&pm, false);
	/* Both answered: the next session may resume the IGD. */
	portmap_recall(&pm, m);
	assert_true(pm.plan.ask_natpmp && pm.plan.ask_upnp);
	assert_false(pm.plan.resume_igd);
	pm.nat_state = PS_FOUND;
	pm.up_state = PS_FOUND;
	portmap_remember(&pm, false);
	portmap_recall(&pm, m);
	assert_true(pm.plan.resume_igd);
	/* It is handed over once, pointed at this session's gateway. */
	assert_int_equal(portmap_memo_resume(&pm, &igd), 1);
	assert_int_equal(igd.gateway.s_addr, gw.s_addr);
	assert_string_equal(igd.location,
	    "http://192.168.77.1:5000/rootDesc.xml");
	assert_int_equal(portmap_memo_resume(&pm, &igd), 0);
	upnp_igd_free(&igd);
	/* A UPnP request that got no UPnP answer: the IGD is not kept. */
	pm.upnp_broke = true;
	portmap_remember(&pm, false);
	portmap_recall(&pm, m);
	assert_true(pm.plan.ask_upnp);
	assert_false(pm.plan.resume_igd);
	/* A discovery still pending at the end is a silence. */
	pm.upnp_broke = false;
	pm.up_state = PS_PENDING;
	portmap_remember(&pm, false);
	portmap_recall(&pm, m);
	assert_true(pm.plan.ask_natpmp);
	assert_false(pm.plan.ask_upnp);
	/* A forward that failed: the next session asks everything afresh. */
	pm.up_state = PS_FOUND;
	portmap_remember(&pm, false);
	portmap_recall(&pm, m);
	assert_true(pm.plan.resume_igd);
	portmap_remember(&pm, true);
	portmap_recall(&pm, m);
	assert_true(pm.plan.ask_natpmp && pm.plan.ask_upnp);
	assert_false(pm.plan.resume_igd);
	/* Asked for by name, a protocol is asked whatever the memo says. */
	pm.via = PM_UPNP;
	portmap_recall(&pm, m);
	assert_true(pm.plan.ask_upnp);
	portmap_memo_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_known),
		cmocka_unit_test(test_both_answered),
		cmocka_unit_test(test_natpmp_only),
		cmocka_unit_test(test_upnp_only),
		cmocka_unit_test(test_igd_moved),
		cmocka_unit_test(test_nothing_answered),
		cmocka_unit_test(test_remember),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}

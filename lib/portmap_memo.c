/*
 * What a portmap session learned of the gateway, kept for the next one
 * (portmap_memo.h says the rule): portkeeperd checks its forwards once a
 * round, and asking SSDP and the description every time cost it about
 * 10 ms of CPU a check, and waiting for a protocol the router never spoke
 * cost a restart of a NAT-PMP-only router half a second.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "portmap_impl.h"
#include "portmap_memo.h"
#include "upnp.h"
#include "util.h"

struct portmap_memo {
	struct in_addr	gateway;	/* what it was learned on */
	struct in_addr	local;
	enum pm_heard	natpmp;
	enum pm_heard	upnp;
	int64_t		asked_at;	/* when a session last asked both */
	bool		have_igd;
	struct upnp_igd	igd;		/* without URLs (upnp_igd_keep) */
};

struct portmap_memo *
portmap_memo_new(void)
{
	return calloc(1, sizeof(struct portmap_memo));
}

struct portmap_memo *
portmap_memo_dup(const struct portmap_memo *m)
{
	struct portmap_memo *c;

	if ((c = malloc(sizeof(*c))) != NULL)
		*c = *m;	/* it holds no pointer: the IGD has no URLs */
	return c;
}

void
portmap_memo_free(struct portmap_memo *m)
{
	free(m);
}

void
portmap_memo_forget(struct portmap_memo *m)
{
	memset(m, 0, sizeof(*m));
}

void
portmap_memo_heard(struct portmap_memo *m, enum pm_method method)
{
	if (method == PM_UPNP) {
		m->upnp = PMH_UNKNOWN;
		m->have_igd = false;
	} else
		m->natpmp = PMH_UNKNOWN;
}

enum pm_heard
portmap_memo_state(const struct portmap_memo *m, enum pm_method method)
{
	return method == PM_UPNP ? m->upnp : m->natpmp;
}

void
portmap_memo_plan(const struct portmap_memo *m, struct in_addr gateway,
    struct in_addr local, int64_t now, struct portmap_plan *plan)
{
	plan->ask_natpmp = plan->ask_upnp = true;
	plan->resume_igd = false;
	/* Another gateway, or another way to it: nothing known holds. */
	if (m == NULL || m->gateway.s_addr != gateway.s_addr ||
	    m->local.s_addr != local.s_addr)
		return;
	plan->resume_igd = m->upnp == PMH_ANSWERED && m->have_igd;
	/* Now and then a silence is put to the test again. */
	if (now - m->asked_at >= PORTMAP_MEMO_RECHECK_MS)
		return;
	plan->ask_natpmp = m->natpmp != PMH_SILENT;
	plan->ask_upnp = m->upnp != PMH_SILENT;
	/* A memo of two silences is forgotten; were it not, ask both. */
	if (!plan->ask_natpmp && !plan->ask_upnp)
		plan->ask_natpmp = plan->ask_upnp = true;
}

/*
 * Notes what one session heard: each of natpmp and upnp is PMH_UNKNOWN when
 * the session did not ask it, which leaves what is remembered of it; igd is
 * the IGD UPnP answered from (NULL unless upnp is PMH_ANSWERED).
 */
static void
portmap_memo_learn(struct portmap_memo *m, struct in_addr gateway,
    struct in_addr local, enum pm_heard natpmp, enum pm_heard upnp,
    const struct upnp_igd *igd, int64_t now)
{
	/* Nothing answered: the gateway is away, or another one. */
	if (natpmp != PMH_ANSWERED && upnp != PMH_ANSWERED) {
		portmap_memo_forget(m);
		return;
	}
	if (m->gateway.s_addr != gateway.s_addr ||
	    m->local.s_addr != local.s_addr) {
		portmap_memo_forget(m);
		m->gateway = gateway;
		m->local = local;
	}
	if (natpmp != PMH_UNKNOWN && upnp != PMH_UNKNOWN)
		m->asked_at = now;
	if (natpmp != PMH_UNKNOWN)
		m->natpmp = natpmp;
	if (upnp != PMH_UNKNOWN) {
		m->upnp = upnp;
		m->have_igd = upnp == PMH_ANSWERED && igd != NULL;
		if (m->have_igd)
			upnp_igd_keep(&m->igd, igd);
	}
}

void
portmap_recall(struct portmap *pm, struct portmap_memo *memo)
{
	struct portmap_plan *p = &pm->plan;

	pm->memo = memo;
	portmap_memo_plan(memo, pm->ni.gateway, pm->ni.internal, mono_ms(), p);
	/* A protocol asked for by name is asked, whatever its past. */
	if (pm->via != PM_AUTO)
		p->ask_natpmp = p->ask_upnp = true;
	log_debug("memo: %s NAT-PMP, %s UPnP%s", p->ask_natpmp ? "asking" :
	    "not asking (silent before)", p->ask_upnp ? "asking" :
	    "not asking (silent before)", p->resume_igd ? " at the IGD "
	    "found before" : "");
}

/*
 * Puts the IGD remembered into igd for upnp_resume, once a session.
 * Returns 1, or 0 when there is none to resume.
 */
int
portmap_memo_resume(struct portmap *pm, struct upnp_igd *igd)
{
	if (pm->memo == NULL || !pm->plan.resume_igd || !pm->memo->have_igd)
		return 0;
	pm->plan.resume_igd = false;
	upnp_igd_free(igd);
	upnp_igd_keep(igd, &pm->memo->igd);
	igd->gateway = pm->ni.gateway;
	igd->local = pm->ni.internal;
	return 1;
}

/* What a protocol's state at the end of a session says of it. */
static enum pm_heard
portmap_memo_heard_as(enum proto_state s)
{
	switch (s) {
	case PS_OFF:
		return PMH_UNKNOWN;
	case PS_FOUND:
		return PMH_ANSWERED;
	case PS_PENDING:	/* not within the time it was given */
	case PS_FAILED:
		break;
	}
	return PMH_SILENT;
}

void
portmap_remember(struct portmap *pm, bool failed)
{
	enum pm_heard upnp = portmap_memo_heard_as(pm->up_state);

	if (pm->memo == NULL)
		return;
	if (failed) {
		portmap_memo_forget(pm->memo);
		return;
	}
	/*
	 * PS_FOUND with no request broken: no job works on the session's
	 * IGD any more, so it can be read.
	 */
	portmap_memo_learn(pm->memo, pm->ni.gateway, pm->ni.internal,
	    portmap_memo_heard_as(pm->nat_state), upnp,
	    upnp == PMH_ANSWERED && !pm->upnp_broke ? &pm->sess->igd : NULL,
	    mono_ms());
	/* A request that got no UPnP answer: the IGD may have moved. */
	if (pm->upnp_broke)
		portmap_memo_heard(pm->memo, PM_UPNP);
}

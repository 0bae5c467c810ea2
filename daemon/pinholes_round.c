/*
 * A round of pinhole work, on its own thread: find this host's IPv6
 * address and the router, check the router's PCP epoch, then open,
 * refresh, verify or close each pinhole.  Everything here blocks; the loop
 * waits with a hard deadline (pinholes.c) and never on it.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "netinfo6.h"
#include "pcp.h"
#include "pinholes.h"
#include "util.h"

/* Hands a task's results to the loop (release; the loop acquires). */
static void
pinholes_round_publish(struct pinholes_task *t)
{
	atomic_store_explicit(&t->done, true, memory_order_release);
}

/*
 * An epoch from the router at now (monotonic s): a router whose epoch
 * fails the check of RFC 6887 section 8.5 restarted and lost every
 * pinhole.  So did one whose epoch stepped back at all: the section
 * forgives a second, but a router restarted twice within two seconds (as
 * a service restart on a new prefix can) steps back by less.
 */
static bool
pinholes_round_reset(uint32_t prev, int64_t prev_s, uint32_t epoch,
    int64_t now)
{
	return epoch < prev || !pcp_epoch_valid(prev, prev_s, epoch, now);
}

static void
pinholes_round_epoch(struct pinholes_round *r, uint32_t epoch)
{
	int64_t now = mono_ms() / 1000;

	if (r->have_epoch_now) {
		if (pinholes_round_reset(r->epoch, r->epoch_s, epoch, now))
			r->rebooted = true;
	} else if (r->have_epoch && pinholes_round_reset(r->epoch_prev,
	    r->epoch_s_prev, epoch, now))
		r->rebooted = true;
	r->have_epoch_now = true;
	r->epoch = epoch;
	r->epoch_s = now;
}

/* The address to open: the stable one, or ipv6_address's. */
static int
pinholes_round_want(struct pinholes_round *r, char *want, size_t len)
{
	struct netinfo6 ni;
	struct in6_addr a;

	want[0] = '\0';
	if (r->addr6.kind == CONFIG_ADDR6_AUTO)
		return 0;
	if (r->addr6.kind == CONFIG_ADDR6_SUFFIX) {
		if (netinfo6_get(&ni, NULL, &r->err) == -1)
			return -1;
		if (config_addr6_want(&r->addr6, &ni.addr, &a) == -1) {
			pmerr_set(&r->err, PME_NO_IPV6, 0, "no IPv6 prefix to "
			    "put ipv6_address's interface identifier in");
			return -1;
		}
	} else
		a = r->addr6.addr;
	inet_ntop(AF_INET6, &a, want, (socklen_t)len);
	return 0;
}

/*
 * Whether the router's PCP server started after the pinhole was made (its
 * epoch is its uptime, RFC 6887 section 8.5): then it lost it, even when
 * the epoch passed the check because it restarted twice, the first time
 * just before the pinhole was made (as a service restart on a new prefix
 * can).  A second of slack for the clocks.
 */
static bool
pinholes_round_younger(const struct pinholes_round *r,
    const struct pinholes_task *t)
{
	return r->have_epoch_now && t->made > 0 &&
	    (int64_t)time(NULL) - (int64_t)r->epoch > t->made + 1;
}

/* Opens it anew: a first time, or after the router lost it. */
static void
pinholes_round_open(struct portmap6 *pm, struct pinholes_task *t)
{
	t->rc = portmap6_open(pm, t->proto, t->port, t->lease, &t->res,
	    &t->err);
}

/* A refresh or a check of a pinhole the router should have. */
static void
pinholes_round_keep(struct pinholes_round *r, struct portmap6 *pm,
    struct pinholes_task *t)
{
	int rc;

	/* Made for an address this host no longer has: open the new one. */
	if (strcmp(t->id.addr, portmap6_netinfo(pm)->addr_str) != 0) {
		pinholes_round_open(pm, t);
		return;
	}
	if (t->id.kind == MS_PCP) {
		/*
		 * A check needs no MAP: the epoch says whether the router
		 * kept it, and a needless refresh makes the pinhole
		 * undeletable on miniupnpd before 2.3.6.
		 */
		if (t->op == PHT_VERIFY && !r->rebooted &&
		    !pinholes_round_younger(r, t)) {
			t->rc = 0;
			return;
		}
		t->restored = t->op == PHT_VERIFY;
		t->rc = portmap6_remap(pm, &t->id, t->lease, &t->res, &t->err);
		return;
	}
	/*
	 * UPnP: UpdatePinhole, since adding it again corrupts its lease on
	 * miniupnpd before 2.3.3; it finds nothing when the router lost it.
	 */
	rc = portmap6_renew(pm, &t->id, t->lease, &t->res, &t->err);
	if (rc == 1)
		t->rc = 0;
	else if (rc == -1)
		t->rc = -1;
	else {
		t->restored = true;
		pinholes_round_open(pm, t);
	}
}

static void
pinholes_round_task(struct pinholes_round *r, struct portmap6 *pm,
    struct pinholes_task *t)
{
	enum pm_method method;

	pmerr_clear(&t->err);
	switch (t->op) {
	case PHT_OPEN:
		pinholes_round_open(pm, t);
		break;
	case PHT_REFRESH:
	case PHT_VERIFY:
		if (t->have_id)
			pinholes_round_keep(r, pm, t);
		else
			pinholes_round_open(pm, t);
		break;
	case PHT_CLOSE:
		/* Only this address's owner may close it: the rest run out. */
		if (strcmp(t->id.addr, portmap6_netinfo(pm)->addr_str) != 0) {
			t->rc = 0;
			break;
		}
		t->rc = portmap6_close(pm, &t->id, &t->removed, &method,
		    &t->err);
		break;
	}
	if (t->rc == 0 && t->res.method == PM_PCP)
		pinholes_round_epoch(r, t->res.epoch);
}

static void
pinholes_round_fail_all(struct pinholes_round *r)
{
	size_t i;

	for (i = 0; i < r->nt; i++) {
		r->t[i].rc = -1;
		r->t[i].err = r->err;
		pinholes_round_publish(&r->t[i]);
	}
}

void
pinholes_round_run(void *arg)
{
	struct pinholes_round *r = arg;
	struct portmap6 *pm = NULL;
	struct pm_error e;
	char want[INET6_ADDRSTRLEN];
	uint32_t epoch;
	size_t i;

	if (pinholes_round_want(r, want, sizeof(want)) == -1 ||
	    (pm = portmap6_new(r->via, want[0] != '\0' ? want : NULL,
	    r->timeout_ms, &r->err)) == NULL) {
		r->rc = -1;
		atomic_store_explicit(&r->discovered, true,
		    memory_order_release);
		pinholes_round_fail_all(r);
		return;
	}
	str_copy(r->addr, portmap6_netinfo(pm)->addr_str, sizeof(r->addr));
	r->kind = portmap6_netinfo(pm)->kind;
	r->gateway = portmap6_netinfo(pm)->gateway;
	r->ifindex = portmap6_netinfo(pm)->ifindex;
	if (r->announce && r->via != PM_UPNP &&
	    portmap6_announce(pm, &epoch, &e) == 0)
		pinholes_round_epoch(r, epoch);
	atomic_store_explicit(&r->discovered, true, memory_order_release);
	for (i = 0; i < r->nt; i++) {
		if (atomic_load_explicit(&r->abandoned, memory_order_relaxed))
			break;
		pinholes_round_task(r, pm, &r->t[i]);
		pinholes_round_publish(&r->t[i]);
	}
	portmap6_free(pm);
}

void
pinholes_round_free(void *arg)
{
	struct pinholes_round *r = arg;

	if (r == NULL)
		return;
	free(r->t);
	free(r);
}

/*
 * A round of router work, run on the mapper thread: find the router, tell
 * whether it rebooted, then open, verify or close each forward.  Everything
 * here blocks (miniupnpc); the loop waits for the round with a hard deadline
 * and never blocks on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "round.h"
#include "util.h"

bool
round_epoch_reset(uint32_t prev, int64_t prev_mono_ms, uint32_t now_epoch,
    int64_t now_mono_ms)
{
	int64_t elapsed = (now_mono_ms - prev_mono_ms) / 1000;
	int64_t expected = (int64_t)prev + elapsed * 7 / 8 - 2;

	/* The RFC's test, and a plain step backwards however little time passed. */
	return (int64_t)now_epoch < expected || now_epoch < prev;
}

static void
task_open(struct portmap *pm, struct task *t, const char *desc)
{
	t->rc = portmap_open(pm, &t->spec, t->lease, false, desc, &t->res,
	    &t->err);
}

/*
 * Hands a task's results to the loop.  The release store orders every
 * write to the task before it: the loop, which loads the flag with
 * acquire, sees the results whole or not at all.
 */
static void
task_publish(struct task *t)
{
	atomic_store_explicit(&t->done, true, memory_order_release);
}

static void
task_run(struct portmap *pm, const struct round *r, struct task *t)
{
	struct pm_mapping m;
	char desc[80];

	pmerr_clear(&t->err);
	snprintf(desc, sizeof(desc), "portkeeper %s", t->name);
	switch (t->op) {
	case TASK_OPEN:
		task_open(pm, t, desc);
		break;
	case TASK_VERIFY:
		/*
		 * After a reboot every forward is gone: make them all, unless
		 * UPnP can look (miniupnpd also resets its epoch when only its
		 * WAN address changed).
		 */
		if (r->rebooted && !r->info.upnp_found) {
			t->verified = 0;
			t->restored = true;
			task_open(pm, t, desc);
			break;
		}
		t->verified = portmap_verify(pm, &t->spec, &m, &t->err);
		if (t->verified == 0) {
			t->restored = true;
			task_open(pm, t, desc);
		} else if (t->verified == 2) {
			/*
			 * NAT-PMP cannot list, and two restarts in quick
			 * succession fool the epoch rule; asking for the mapping
			 * again is the check (RFC 6886 section 3.3: it returns
			 * the one in place or makes it).
			 */
			task_open(pm, t, desc);
			t->refreshed = true;
		} else if (t->verified == 3) {
			t->rc = -1;
			pmerr_set(&t->err, PME_CONFLICT, 0, "port %u/%s is now "
			    "forwarded to %s:%u, not to this host", t->spec.ext,
			    portspec_proto_str(t->spec.proto), m.int_client, m.int_port);
		} else
			t->rc = t->verified == -1 ? -1 : 0;
		break;
	case TASK_CLOSE:
		t->rc = portmap_close(pm, &t->spec, &t->removed,
		    &t->res.method, &t->err);
		break;
	}
}

/* Without a router, every task fails as the discovery did. */
static void
round_fail_all(struct round *r)
{
	size_t i;

	for (i = 0; i < r->nt; i++) {
		r->t[i].rc = -1;
		r->t[i].err = r->discover_err;
		task_publish(&r->t[i]);
	}
}

void
round_run(void *arg)
{
	struct round *r = arg;
	struct portmap *pm;
	bool failed = false;
	size_t i;

	if ((pm = portmap_new(r->via, r->timeout_ms, &r->discover_err)) == NULL) {
		r->discover_rc = -1;
		atomic_store_explicit(&r->discovered, true, memory_order_release);
		round_fail_all(r);
		return;
	}
	/* Not PCP yet: its nonces would not outlive a restart (issue 16). */
	portmap_auto_without_pcp(pm);
	portmap_recall(pm, r->memo);
	r->ni = *portmap_netinfo(pm);
	r->ni_ok = true;
	/* Both protocols, so that status can say what the router speaks. */
	r->discover_rc = portmap_discover(pm, 1, &r->discover_err);
	r->info = *portmap_info(pm);
	r->epoch_mono = mono_ms();
	if (r->info.natpmp_found && r->have_epoch &&
	    round_epoch_reset(r->epoch_prev, r->epoch_mono_prev, r->info.epoch,
	    r->epoch_mono))
		r->rebooted = true;
	atomic_store_explicit(&r->discovered, true, memory_order_release);

	if (r->discover_rc == -1)
		round_fail_all(r);
	for (i = 0; r->discover_rc == 0 && i < r->nt; i++) {
		/*
		 * The loop gave up on the round and has applied what was
		 * complete: what is left would only talk to the router behind
		 * the back of the next round.
		 */
		if (atomic_load_explicit(&r->abandoned, memory_order_relaxed))
			break;
		task_run(pm, r, &r->t[i]);
		/* A refusal of a lease taught the round a quirk. */
		r->t[i].quirks = portmap_info(pm)->quirks;
		failed |= r->t[i].rc == -1;
		task_publish(&r->t[i]);
	}
	/* After the tasks: what they met counts too (portmap_memo.h). */
	portmap_remember(pm, failed || r->discover_rc == -1);
	atomic_store_explicit(&r->remembered, true, memory_order_release);
	portmap_free(pm);
}

void
round_free(void *arg)
{
	struct round *r = arg;

	if (r == NULL)
		return;
	portmap_memo_free(r->memo);
	free(r->t);
	free(r);
}

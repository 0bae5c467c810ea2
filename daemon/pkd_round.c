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
#include "pkd.h"
#include "util.h"

bool
epoch_reset(uint32_t prev, int64_t prev_mono_ms, uint32_t now_epoch,
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

void
round_run(void *arg)
{
	struct round *r = arg;
	struct portmap *pm;
	char desc[80];
	size_t i;

	if ((pm = portmap_new(r->via, r->timeout_ms, &r->probe_err)) == NULL) {
		r->probe_rc = -1;
		return;
	}
	r->ni = *portmap_netinfo(pm);
	r->ni_ok = true;
	/* Both protocols, so that status can say what the router speaks. */
	r->probe_rc = portmap_probe(pm, 1, &r->probe_err);
	r->info = *portmap_info(pm);
	r->epoch_mono = mono_ms();
	if (r->info.natpmp_found && r->have_epoch &&
	    epoch_reset(r->epoch_prev, r->epoch_mono_prev, r->info.epoch,
	    r->epoch_mono))
		r->rebooted = true;

	for (i = 0; i < r->nt; i++) {
		struct task *t = &r->t[i];
		struct pm_mapping m;

		pm_clearerr(&t->err);
		snprintf(desc, sizeof(desc), "portkeeper %s", t->name);
		if (r->probe_rc == -1) {
			t->rc = -1;
			t->err = r->probe_err;
			continue;
		}
		switch (t->op) {
		case TASK_OPEN:
			task_open(pm, t, desc);
			break;
		case TASK_VERIFY:
			/*
			 * After a reboot every forward is gone: make them all,
			 * unless UPnP can look (miniupnpd also resets its
			 * epoch when only its WAN address changed).
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
				 * succession fool the epoch rule; asking for the
				 * mapping again is the check (RFC 6886 section
				 * 3.3: it returns the one in place or makes it).
				 */
				task_open(pm, t, desc);
				t->refreshed = true;
			} else if (t->verified == 3) {
				t->rc = -1;
				pm_seterr(&t->err, PME_CONFLICT, 0, "port %u/%s "
				    "is now forwarded to %s:%u, not to this host",
				    t->spec.ext, proto_str(t->spec.proto),
				    m.int_client, m.int_port);
			} else
				t->rc = t->verified == -1 ? -1 : 0;
			break;
		case TASK_CLOSE:
			t->rc = portmap_close(pm, &t->spec, &t->removed,
			    &t->res.method, &t->err);
			break;
		}
	}
	portmap_free(pm);
}

void
round_free(void *arg)
{
	struct round *r = arg;

	if (r == NULL)
		return;
	free(r->t);
	free(r);
}

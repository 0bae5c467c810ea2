/*
 * What portkeeperd remembers of its gateway between rounds.  A round runs
 * on the mapper thread with a copy of the memo (portmap_memo.h) and writes
 * what it learned into that copy; the loop takes it back once the round
 * says it is done with it, and meanwhile keeps count of what the watchers
 * heard, which the next round's copy then leaves out.
 */
#include <stdlib.h>

#include "gateway.h"
#include "log.h"

void
gateway_free(struct gateway *g)
{
	portmap_memo_free(g->memo);
	g->memo = NULL;
}

void
gateway_round_start(struct gateway *g, const struct watch *w,
    struct round *r)
{
	r->have_epoch = g->epoch_known;
	r->epoch_prev = g->epoch;
	r->epoch_mono_prev = g->epoch_mono;
	if (g->memo != NULL && w->ssdp_news != g->ssdp_seen) {
		/* A new LOCATION or BOOTID: the IGD moved, or UPnP came. */
		log_debug("the gateway's SSDP news: looking for its IGD again");
		portmap_memo_heard(g->memo, PM_UPNP);
	}
	if (g->memo != NULL && w->announce_news != g->announce_seen)
		portmap_memo_heard(g->memo, PM_NATPMP);
	g->ssdp_seen = w->ssdp_news;
	g->announce_seen = w->announce_news;
	/* Out of memory, the round simply asks everything. */
	r->memo = g->memo != NULL ? portmap_memo_dup(g->memo) :
	    portmap_memo_new();
}

void
gateway_round_end(struct gateway *g, struct round *r)
{
	if (atomic_load_explicit(&r->discovered, memory_order_acquire) &&
	    r->discover_rc == 0 && r->info.natpmp_found) {
		g->epoch_known = true;
		g->epoch = r->info.epoch;
		g->epoch_mono = r->epoch_mono;
	}
	portmap_memo_free(g->memo);
	g->memo = NULL;
	/* The thread is done with the memo once it says so, not before. */
	if (atomic_load_explicit(&r->remembered, memory_order_acquire)) {
		g->memo = r->memo;
		r->memo = NULL;
	}
}

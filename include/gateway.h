/*
 * What portkeeperd remembers of its gateway from one round to the next
 * (gateway.c): the NAT-PMP epoch, to tell that it restarted, and portmap's
 * memo of the protocols that answered and of the IGD (portmap_memo.h),
 * which what the watchers hear (watch.h) revises.
 */
#ifndef PK_GATEWAY_H
#define PK_GATEWAY_H

#include <stdbool.h>
#include <stdint.h>

#include "portmap_memo.h"
#include "round.h"
#include "watch.h"

struct gateway {
	bool			 epoch_known;
	uint32_t		 epoch;
	int64_t			 epoch_mono;
	struct portmap_memo	*memo;		/* NULL: nothing known */
	/* The watcher's counts the memo has taken into account. */
	unsigned		 ssdp_seen;
	unsigned		 announce_seen;
};

void	gateway_free(struct gateway *);
/*
 * Gives round r, before it starts, what is remembered (its epoch, a copy
 * of the memo), less what the gateway said since of its protocols.
 */
void	gateway_round_start(struct gateway *, const struct watch *,
	    struct round *r);
/*
 * Takes what round r learned, as round_finished applies it: the memo it
 * wrote, or none when it did not get that far (a round that missed its
 * deadline: the next one asks everything).
 */
void	gateway_round_end(struct gateway *, struct round *r);

#endif

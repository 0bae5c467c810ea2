/*
 * What a caller that talks to the same gateway again and again (portkeeperd,
 * once per round) remembers of it from one portmap session to the next, so
 * that a session does not ask again what the last one learned: which
 * protocols answered and which stayed silent, and the UPnP IGD that
 * discovery found (its description URL, control URL and service type).
 * lib/portmap_memo.c.
 *
 * The rule, which portkeeperd(8) tells too:
 *  - A protocol that answered is asked and waited for, as without a memo;
 *    UPnP goes straight to the control URL remembered, without SSDP or the
 *    description.
 *  - The IGD is kept until an answer says it moved: a UPnP request that
 *    failed without a UPnP error (no connection, no answer in time, an HTTP
 *    error, a garbled answer), or the gateway's SSDP NOTIFY with a new
 *    LOCATION or BOOTID (portmap_memo_heard).  When the remembered control
 *    URL fails to answer the first question of a session, UPnP is
 *    discovered afresh in that same session.
 *  - A protocol that stayed silent (no usable answer while the session
 *    waited for it) is not asked, and so not waited for, until one of:
 *    PORTMAP_MEMO_RECHECK_MS passed since a session last asked both; the
 *    gateway or this host's address changed; the gateway spoke it on its
 *    own (portmap_memo_heard: an SSDP NOTIFY for UPnP, a NAT-PMP or PCP
 *    announcement for NAT-PMP); or the protocols remembered to answer did
 *    not, within half the session's discovery time (it is then asked in
 *    that same session).
 *  - A session in which nothing answered, or in which a forward could not
 *    be made, checked or removed, forgets everything: the next one asks
 *    the router everything afresh, as a router that changed without a word
 *    needs (a router's UPnP switched off may go on answering SOAP at the
 *    old URL).  The memo saves work while all goes well, not when a
 *    person is waiting for a forward to work.
 */
#ifndef PK_PORTMAP_MEMO_H
#define PK_PORTMAP_MEMO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "portmap.h"

/* How long a protocol remembered silent goes without being asked. */
#define PORTMAP_MEMO_RECHECK_MS	(10 * 60 * 1000)

struct portmap_memo;

/* What one protocol did when last asked. */
enum pm_heard { PMH_UNKNOWN = 0, PMH_ANSWERED, PMH_SILENT };

/* What a session asks, from the memo (portmap_memo_plan). */
struct portmap_plan {
	bool	ask_natpmp;
	bool	ask_upnp;
	bool	resume_igd;	/* UPnP from the IGD remembered */
};

/* An empty memo, or NULL when out of memory. */
struct portmap_memo	*portmap_memo_new(void);
/* A copy, or NULL when out of memory. */
struct portmap_memo	*portmap_memo_dup(const struct portmap_memo *);
void			 portmap_memo_free(struct portmap_memo *);
/* Forgets everything. */
void			 portmap_memo_forget(struct portmap_memo *);
/*
 * The gateway spoke method on its own (PM_UPNP: an SSDP NOTIFY that moved,
 * or any while no IGD is known; PM_NATPMP: an announcement): forgets what
 * is remembered of it, its silence and, for UPnP, the IGD.
 */
void			 portmap_memo_heard(struct portmap_memo *,
			    enum pm_method method);
/* What is remembered of method (PM_NATPMP or PM_UPNP). */
enum pm_heard		 portmap_memo_state(const struct portmap_memo *,
			    enum pm_method method);

/*
 * The decision itself: what a session on gateway, from local, at now
 * (monotonic ms) asks.  A NULL memo asks everything.
 */
void	portmap_memo_plan(const struct portmap_memo *, struct in_addr gateway,
	    struct in_addr local, int64_t now, struct portmap_plan *plan);

/*
 * Has the session pm plan its discovery from memo and, at
 * portmap_remember, write what it learned back into it.  memo (NULL: none)
 * must outlive pm's use of it.  Call before portmap_discover.
 */
void	portmap_recall(struct portmap *pm, struct portmap_memo *memo);
/*
 * Writes what pm learned into the memo portmap_recall gave it; with
 * failed (a forward of the session could not be made, checked or
 * removed), forgets everything instead.
 */
void	portmap_remember(struct portmap *pm, bool failed);

#endif

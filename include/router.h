/*
 * What portkeeper knows of particular routers: the quirks it met (enum
 * pm_quirk) in words, and a fix in the router's own settings where the
 * vendor documents one.
 */
#ifndef PK_ROUTER_H
#define PK_ROUTER_H

#include "pmerr.h"
#include "portmap.h"

/* A quirk's name for JSON ("permanent_only"), or NULL for an unknown bit. */
const char	*router_quirk_name(enum pm_quirk);

/* The quirk as a sentence ("This router only grants permanent forwards."). */
const char	*router_quirk_str(enum pm_quirk);

/*
 * "AVM FRITZ!Box 7590": manufacturer and model from the description, into
 * buf; "" when the router did not name itself.
 */
void		 router_name(const struct portmap_info *, char *buf, size_t len);

/*
 * A fix for error code on this router, in its own settings (FRITZ!Box, for
 * not_authorized: "Permit independent port sharing for this device"), or
 * NULL when none is known.
 */
const char	*router_advice(const struct portmap_info *, enum pm_errcode code);

#endif

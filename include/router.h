/*
 * What portkeeper knows of particular routers: the quirks it met (enum
 * pm_quirk) in words, and a fix in the router's own settings where the
 * vendor documents one.
 */
#ifndef PK_ROUTER_H
#define PK_ROUTER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "pmerr.h"
#include "portmap.h"

/* A quirk's name for JSON ("permanent_only"), or NULL for an unknown bit. */
const char	*router_quirk_name(enum pm_quirk);

/*
 * The quirk as a sentence ("This router only grants permanent forwards."),
 * or NULL for an unknown bit.
 */
const char	*router_quirk_str(enum pm_quirk);

/*
 * "AVM FRITZ!Box 7590": manufacturer and model from the description, into
 * buf; "" when the router did not name itself.
 */
void		 router_name(const struct portmap_info *, char *buf, size_t len);

/*
 * The router as a line for people: its name, the protocol and the
 * connection service ("AVM FRITZ!Box 7590, UPnP-IGD (urn:...:
 * WANPPPConnection:1)"); "" when nothing answered.
 */
void		 router_describe(const struct portmap_info *, char *buf,
		    size_t len);

/*
 * A fix for error code on this router, in its own settings (FRITZ!Box, for
 * not_authorized: "Permit independent port sharing for this device"), or
 * NULL when none is known.  PME_REFUSED counts as not_authorized on a
 * router that refused everything (PMQ_REFUSES_ALL).
 */
const char	*router_advice(const struct portmap_info *, enum pm_errcode code);

/*
 * The "router" object of the JSON outputs (doctor, ip, the daemon's
 * status): {"manufacturer", "model", "name" (friendlyName), "service",
 * "label" (router_name's), each a string or null, "quirks": [names],
 * "notes": [their sentences]}, or a JSON null when no UPnP description was
 * read.  NULL only when out of memory.
 */
cJSON		*router_json(const struct portmap_info *);

#endif

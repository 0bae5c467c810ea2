/*
 * The parts of portkeeperd's HTTP API that need no daemon: reading the JSON
 * bodies of writes, and writing Prometheus labels.  Every message names the
 * field that is wrong.
 */
#ifndef PK_WEBAPI_H
#define PK_WEBAPI_H

#include <stddef.h>

#include "config.h"

#define WEBAPI_BODY_MAX		(16 * 1024)	/* bytes of a request body */

/* Why a body was refused: the API's error code and a sentence. */
struct webapi_error {
	const char	*code;		/* "bad_json", "bad_field", "too_large",
					   "internal" (out of memory) */
	char		 msg[256];
};

/*
 * POST /api/forwards: {"name","external","internal","protocol"}; internal
 * defaults to external and protocol to tcp.  Unknown fields are refused, so
 * that a typo ("extrenal") is not silently ignored.  0, or -1 with *err.
 */
int	webapi_parse_forward(const char *body, size_t len,
	    struct config_forward *out, struct webapi_error *err);

/* POST /api/doctor: {"port","protocol"}; protocol defaults to tcp. */
int	webapi_parse_doctor(const char *body, size_t len, uint16_t *port,
	    enum pm_proto *proto, struct webapi_error *err);

/*
 * Writes s as a Prometheus label value (backslash, quote and newline
 * escaped) into buf; always NUL-terminated, cut if it does not fit.
 */
const char *webapi_label(char *buf, size_t buflen, const char *s);

#endif

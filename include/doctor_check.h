/*
 * The checks that portkeeper doctor's one-forward run (doctor.c) and its
 * audit (doctor_audit.c) both make, in doctor_check.c: the router's part
 * (finding the gateway, the probe mapping, the forward or the table), the
 * listener, and the sentences of the gateway, external_ip, internal_ip and
 * listener checks.  Internal to lib/doctor*.c; programs include doctor.h
 * and doctor_audit.h.
 */
#ifndef PK_DOCTOR_CHECK_H
#define PK_DOCTOR_CHECK_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "doctor.h"
#include "netinfo.h"
#include "portmap.h"

/* The probe mapping's lease (s) is short: a crash leaves nothing for long. */
#define DOCTOR_PROBE_MAPPING_LEASE	60
#define DOCTOR_PROBE_MAPPING_DESC	"portkeeper doctor probe"
#define DOCTOR_LISTENER_MS		1000	/* connect to INTERNAL:INT */
#define DOCTOR_LOOPBACK_MS		300	/* and to 127.0.0.1:INT */
#define DOCTOR_STOP_POLL_MS		100	/* how soon a stop is seen */

/* Sets *c to st for the reason why, with a sentence (doctor6.c too). */
void	doctor_check_vset(struct doctor_check *c, enum doctor_status st,
	    enum doctor_reason why, const char *fmt, va_list ap)
	    __attribute__((format(printf, 4, 0)));
/* Sets checks[id] to st for the reason why, with a sentence. */
void	doctor_check_set(struct doctor_check *checks, enum doctor_check_id id,
	    enum doctor_status st, enum doctor_reason why, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

void	doctor_sin_make(struct sockaddr_in *sin, struct in_addr a,
	    uint16_t port);

/*
 * The internal_ip check: how the kernel holds ni's address (a finite
 * lifetime means DHCP).  *da says what was found (da->found false when
 * rtnetlink could not tell).
 */
void	doctor_internal_ip_result(struct doctor_check *checks,
	    const struct netinfo *ni, struct netinfo_addr *da);

/* The listener: connect to addr:port, and to 127.0.0.1:port if refused. */
struct doctor_listen_call {
	struct in_addr		addr;
	uint16_t		port;
	struct probe_outcome	out, lo;
	bool			tried_lo;
};

/* A job (job.h): arg is a struct doctor_listen_call. */
void	doctor_listen_run(void *arg);
void	doctor_listener_result(struct doctor_check *checks,
	    const struct doctor_listen_call *c);

/*
 * The router's part, in two stages on one portmap: stage 1 finds the
 * gateway and makes the probe mapping (so that the hairpin and outside
 * checks can start), stage 2 waits for the other protocol and looks up the
 * forward, or lists the table for an audit.
 */
struct doctor_router_call {
	enum pm_method		 via;
	int			 timeout_ms;
	struct portspec		 spec;
	bool			 want_probe;
	uint16_t		 probe_in;	/* the token socket's port */
	int			 stop;		/* atomic: make no mapping */
	bool			 audit;		/* stage 2 lists the table */

	struct portmap		*pm;
	struct pm_error		 new_err;
	int			 probe0_rc;
	struct pm_error		 probe0_err;
	int			 open_rc;	/* -1 also: not tried */
	struct pm_error		 open_err;
	uint16_t		 probe_ext;
	int			 probe1_rc;
	struct pm_error		 probe1_err;
	struct portmap_info	 info;
	int			 verify_rc;
	struct pm_mapping	 m;
	struct pm_error		 verify_err;
	int			 list_rc;
	struct pm_mapping	*list;
	size_t			 nlist;
	struct pm_error		 list_err;
};

/* Jobs (job.h): arg is a struct doctor_router_call. */
void	doctor_router_stage1(void *arg);
void	doctor_router_stage2(void *arg);

/*
 * The gateway check when stage 1 found none: sets it to fail and returns
 * true; false when the router answered.
 */
bool	doctor_gateway_failed(struct doctor_check *checks,
	    const struct doctor_router_call *c);
void	doctor_gateway_result(struct doctor_check *checks, const char *gateway,
	    const struct portmap_info *in);
/* Also copies the router's external address, when it is one, to ext_ip. */
void	doctor_external_ip_result(struct doctor_check *checks, char ext_ip[16],
	    const struct portmap_info *in);

#endif

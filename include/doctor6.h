/*
 * portkeeper doctor over IPv6 (issue 16): why a pinhole fails and what to
 * do about it, beside doctor.h's IPv4 forward.
 *
 * doctor6_run() checks one forward's IPv6 side in six steps (ipv6_address,
 * ipv6_route, pinhole_service, ipv6_listener, pinhole, ipv6_external), each
 * a struct doctor_check as doctor.h's; doctor6_verdict() decides from them
 * alone, and doctor6_combine() joins that verdict with IPv4's into the one
 * the command reports (the precedence is its comment's).  doctor6_audit()
 * adds the IPv6 checks to the audit, with ipv6_exposure.  IPv6 has no port
 * translation: the pinhole, the listener and the probe are all for the
 * internal port INT.  Nothing here prints.
 */
#ifndef PK_DOCTOR6_H
#define PK_DOCTOR6_H

#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "doctor.h"
#include "portmap6.h"
#include "probe.h"

/* The checks, in the order they are reported. */
enum doctor6_check_id {
	DOC6_ADDRESS = 0,	/* "ipv6_address" */
	DOC6_ROUTE,		/* "ipv6_route" */
	DOC6_PINHOLE_SERVICE,	/* "pinhole_service" */
	DOC6_LISTENER,		/* "ipv6_listener" */
	DOC6_PINHOLE,		/* "pinhole" */
	DOC6_EXTERNAL,		/* "ipv6_external" */
	DOC6_NCHECKS
};

/* The verdicts over IPv6 (a contract, like doctor.h's). */
enum doctor6_verdict {
	DOC6V_OK = 0,
	DOC6V_NO_ADDRESS,		/* "ipv6_no_address" */
	DOC6V_NO_PINHOLE_SERVICE,	/* "ipv6_no_pinhole_service" */
	DOC6V_PINHOLE_REFUSED,		/* "ipv6_pinhole_refused" */
	DOC6V_NO_LISTENER,		/* "ipv6_no_listener" */
	DOC6V_BLOCKED,			/* "ipv6_blocked" */
	DOC6V_ONLY,	/* "ipv6_only": from doctor6_combine alone */
	DOC6V_NVERDICTS
};

struct doctor6_opts {
	enum pm_proto		 proto;
	uint16_t		 ext;		/* IPv4's external port */
	uint16_t		 port;		/* INT: the pinhole's */
	enum pm_method		 via;		/* natpmp: as auto */
	int			 timeout_ms;
	const char		*probe_url;	/* NULL or "": none */
	/* The configuration (NULL: ipv6 = auto, no daemon), its forward. */
	const struct config	*cfg;
	const struct config_forward *forward;
	bool			 forced;	/* -6: IPv6 counts whatever */
	volatile sig_atomic_t	*stop;
};

struct doctor6_report {
	/*
	 * Whether IPv6 counts for the verdict: -6, ipv6 = on, or a host with
	 * a stable global address and an IPv6 route.  When not, why_not says
	 * why ("no IPv6: ..."), and the checks are notes.
	 */
	bool			counts;
	char			why_not[560];
	uint16_t		ext, port;
	enum pm_proto		proto;
	char			address[INET6_ADDRSTRLEN];	/* "" none */
	char			kind[24];
	char			gateway[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	struct portmap6_info	service;
	char			probe_url[256];
	char			source_seen[PROBE_ADDR_MAX];
	/* A pinhole's port is INT: said when it differs from EXT. */
	char			port_warning[256];
	struct doctor_check	checks[DOC6_NCHECKS];
	enum doctor6_verdict	verdict;
	char			summary[1024];
	int64_t			elapsed_ms;
};

/*
 * Runs every IPv6 check of one forward; always fills *r and returns its
 * verdict.  Blocks for a few seconds at most (each step has a deadline):
 * run it on a job (job.h) beside doctor_run.  It opens no pinhole.
 */
enum doctor6_verdict doctor6_run(const struct doctor6_opts *,
	    struct doctor6_report *r);

/* A job (job.h) for doctor6_run: arg is a struct doctor6_call. */
struct doctor6_call {
	struct doctor6_opts	o;
	struct doctor6_report	r;
};
void	doctor6_job(void *arg);

/*
 * The IPv6 verdict from the checks alone.  In order: ipv6_no_address (no
 * stable global address, only temporary ones, or no route),
 * ipv6_no_pinhole_service, ipv6_pinhole_refused (the router allows no
 * pinholes, or refuses this port), ipv6_no_listener, ipv6_pinhole_refused
 * (the daemon's pinhole failed), ipv6_blocked (the probe cannot get in);
 * else ok.
 */
enum doctor6_verdict doctor6_verdict(const struct doctor_check c[DOC6_NCHECKS]);

/* Sets r->verdict and writes r->summary (and r->port_warning). */
void	doctor6_conclude(struct doctor6_report *r);

/*
 * The verdict of a run over both families, as a name (doctor.h's or this
 * file's), with *family 4 or 6 for the family whose verdict it is:
 * - only one family ran (-4, -6, or IPv6 not counting): that family's;
 * - IPv4 ok: ok (an IPv6 problem is told in the summary);
 * - IPv4 has no way in (cgnat, or no IPv4 route at all: v4_none) and IPv6
 *   is ok: ipv6_only; IPv6 broken: IPv6's verdict, since IPv6 is then the
 *   only way in and its verdict says why it fails;
 * - any other IPv4 verdict: IPv4's, since it can be fixed.
 * The exit status is 0 for "ok" alone.
 */
const char *doctor6_combine(enum doctor_verdict v4, bool v4_ran, bool v4_none,
	    enum doctor6_verdict v6, bool v6_ran, int *family);

/*
 * The command's verdict and summary for r4 (NULL when IPv4 was not run,
 * -6) and r6 (NULL when IPv6 was not run, -4): the words of the family
 * whose verdict it is, and the other family's in a sentence after them.
 * Writes at most sz bytes to summary; returns the verdict's name.
 */
const char *doctor6_words(const struct doctor_report *r4,
	    const struct doctor6_report *r6, char *summary, size_t sz);

/* An IPv4 report for -6: every check skipped with why. */
void	doctor6_skip_v4(struct doctor_report *r, uint16_t port,
	    enum pm_proto proto, const char *why);

const char *doctor6_check_str(enum doctor6_check_id);
/* Sets checks[id] as doctor_check_set does (for lib/doctor6*.c). */
void	doctor6_set(struct doctor_check *checks, enum doctor6_check_id id,
	    enum doctor_status st, enum doctor_reason why, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));
const char *doctor6_verdict_str(enum doctor6_verdict);

/* The IPv6 part as JSON: {"counts":…,"address":…,"checks":[…],…}. */
cJSON	*doctor6_report_json(const struct doctor6_report *r);

/*
 * The IPv6 run's options from the IPv4 run's d and the configuration (NULL
 * for none); family is 6 for -6 (IPv6 counts whatever), else 0 or 4.
 */
void	doctor6_opts_from(struct doctor6_opts *o6, const struct doctor_opts *d,
	    const struct config *cfg, int family);
/*
 * obj, IPv4's report as JSON (doctor_report_json), becomes the report of
 * both families: the combined verdict and summary (doctor6_words), IPv4's
 * own verdict as "ipv4_verdict", and v6 (taken) as "ipv6".  This is
 * portkeeper doctor --json, and the web API's POST /api/doctor.
 */
void	doctor6_json_both(cJSON *obj, const char *verdict, const char *summary,
	    const char *v4, cJSON *v6);

/*
 * The audit's IPv6 part: the host's checks (address, route, pinhole
 * service, exposure) and, for every forward kept over IPv6, its listener
 * and pinhole.
 */
#define DOC6_AUDIT_EXPOSURE	DOC6_LISTENER	/* its slot in checks[] */
struct doctor6_fwd {
	char			name[CONFIG_NAME_MAX];
	uint16_t		port;
	enum pm_proto		proto;
	struct doctor_check	listener, pinhole;
	enum doctor6_verdict	verdict;
};
struct doctor6_audit {
	bool			counts;
	char			why_not[560];
	char			address[INET6_ADDRSTRLEN];
	char			kind[24];
	struct portmap6_info	service;
	/* ipv6_address, ipv6_route, pinhole_service, ipv6_exposure. */
	struct doctor_check	checks[DOC6_NCHECKS];
	struct doctor6_fwd	*fwd;
	size_t			nfwd;
	enum doctor6_verdict	verdict;
};

/* Runs the audit's IPv6 part; free with doctor6_audit_free. */
enum doctor6_verdict doctor6_audit(const struct doctor6_opts *,
	    struct doctor6_audit *a);
void	doctor6_audit_free(struct doctor6_audit *);
cJSON	*doctor6_audit_json(const struct doctor6_audit *);

/*
 * The audit's verdict over both families (a6 NULL: -4; a4->verdict ok
 * with every check skipped: -6), combined as doctor6_combine says, and
 * its summary in s.
 */
struct doctor_audit;
const char *doctor6_audit_words(const struct doctor_audit *a4, bool v4_ran,
	    const struct doctor6_audit *a6, char *s, size_t sz);

#endif

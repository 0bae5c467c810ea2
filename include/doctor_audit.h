/*
 * portkeeper doctor without a port (doctor_audit.c): every configured
 * forward's listener and mapping, and the router's whole table, each entry
 * classified as this host's (configured or not), another host's, or
 * pointing outside the LAN.
 */
#ifndef PK_DOCTOR_AUDIT_H
#define PK_DOCTOR_AUDIT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "doctor.h"
#include "mapping.h"

/* What an entry of the router's table is, seen from this host. */
enum doctor_entry_kind {
	DOCE_MANAGED = 0,	/* this host, a configured forward */
	DOCE_UNMANAGED,		/* this host, nothing configured keeps it */
	DOCE_OTHER_HOST,	/* another host on the LAN */
	DOCE_OUTSIDE_LAN,	/* an address outside this host's subnet */
};

/*
 * Classifies m for this host (internal, on a /prefixlen subnet) and the
 * configuration cfg (may be NULL).  *fwd is set to the configured forward
 * it belongs to, or NULL.
 */
enum doctor_entry_kind doctor_classify(const struct pm_mapping *m,
	    struct in_addr internal, unsigned prefixlen,
	    const struct config *cfg, const struct config_forward **fwd);
const char *doctor_entry_kind_str(enum doctor_entry_kind);

struct doctor_fwd_report {
	char			name[64];
	uint16_t		port, internal_port;
	enum pm_proto		proto;
	struct doctor_check	listener, mapping;
	enum doctor_verdict	verdict;
	char			summary[512];
};

struct doctor_entry {
	struct pm_mapping	m;
	enum doctor_entry_kind	kind;
	char			forward[64];	/* "" when none */
	bool			web;		/* added through the web API */
	char			detail[256];
};

struct doctor_audit {
	char			 internal_ip[INET_ADDRSTRLEN];
	char			 gateway[INET_ADDRSTRLEN];
	char			 external_ip[16];
	char			 config_path[256];	/* "" none */
	struct portmap_info	 router;	/* as discovery found it */
	/* gateway, external_ip and internal_ip; the rest are skipped. */
	struct doctor_check	 checks[DOC_NCHECKS];
	bool			 table_known;
	char			 table_detail[384];
	struct doctor_fwd_report *fwd;
	size_t			 nfwd;
	struct doctor_entry	*ent;
	size_t			 nent;
	enum doctor_verdict	 verdict;
	char			 summary[1024];
	int64_t			 elapsed_ms;
};

/*
 * Audits every forward of cfg (may be NULL) and the router's table.
 * Returns the overall verdict: the first that is not ok among the router
 * checks and the forwards in order.  Free with doctor_audit_free.
 */
enum doctor_verdict doctor_audit_run(const struct doctor_opts *,
	    const struct config *cfg, struct doctor_audit *a);
void	doctor_audit_free(struct doctor_audit *);

/*
 * The audit's words (doctor_verdict.c): each forward's verdict and summary
 * and the overall ones, from the checks doctor_audit_run filled.
 */
void	doctor_audit_conclude(struct doctor_audit *a);
/* The audit as the JSON contract (see README.md).  NULL on no memory. */
cJSON	*doctor_audit_json(const struct doctor_audit *);

#endif

/*
 * portkeeper doctor: why a forward fails and what to do about it.
 *
 * doctor_run() checks one forward in seven steps (gateway, external_ip,
 * internal_ip, listener, mapping, hairpin, external), each pass, warn, fail
 * or skip with a sentence; doctor_verdict() turns the results into one
 * verdict, a pure function of the checks so that the daemon and the web UI
 * decide exactly as the command does.  Nothing here prints: the report goes
 * out as a struct or as JSON (doctor_report_json).
 *
 * The run is doctor.c; the verdict, the summary and the JSON are
 * doctor_verdict.c.  doctor_audit.h checks every configured forward and
 * the router's table instead of one port.
 */
#ifndef PK_DOCTOR_H
#define PK_DOCTOR_H

#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "mapping.h"
#include "portmap.h"
#include "portspec.h"
#include "probe.h"

/* The checks, in the order they are reported. */
enum doctor_check_id {
	DOC_GATEWAY = 0,
	DOC_EXTERNAL_IP,
	DOC_INTERNAL_IP,
	DOC_LISTENER,
	DOC_MAPPING,
	DOC_HAIRPIN,
	DOC_EXTERNAL,
	DOC_NCHECKS
};

enum doctor_status { DOC_SKIP = 0, DOC_PASS, DOC_WARN, DOC_FAIL };

/* Why a check came out as it did: what the verdict is decided on. */
enum doctor_reason {
	DOCR_NONE = 0,
	DOCR_NO_ROUTE,		/* gateway: no IPv4 default route */
	DOCR_NO_GATEWAY,	/* gateway: neither protocol answered */
	DOCR_CGNAT,		/* external_ip: in 100.64.0.0/10 */
	DOCR_NO_ADDRESS,	/* external_ip: the router says it has none */
	DOCR_PRIVATE,		/* external_ip: RFC 1918 */
	DOCR_RESERVED,		/* external_ip: another non-public range */
	DOCR_BAD_ADDRESS,	/* external_ip: not an address at all */
	DOCR_DHCP,		/* internal_ip: a finite lifetime */
	DOCR_REFUSED,		/* listener: connection refused */
	DOCR_LOOPBACK_ONLY,	/* listener: only 127.0.0.1 answers */
	DOCR_TIMEOUT,		/* listener: no answer (a local firewall?) */
	DOCR_NOT_VERIFIABLE,	/* listener/external: UDP held by a program */
	DOCR_ABSENT,		/* mapping: the router has none */
	DOCR_CONFLICT,		/* mapping: another host holds the port */
	DOCR_OTHER_PORT,	/* mapping: to this host, another port */
	DOCR_DISABLED,		/* mapping: there but disabled */
	DOCR_UNLISTABLE,	/* mapping: NAT-PMP only, cannot look */
	DOCR_NO_LOOPBACK,	/* hairpin: the probe mapping did not loop */
	DOCR_ROUTER_ANSWERS,	/* hairpin: the router itself answered */
	DOCR_UNREACHABLE,	/* external: the probe could not get in */
	DOCR_OTHER_NAT,		/* external: seen from another address */
	DOCR_PROBE_FAILED,	/* external: the probe server failed */
	DOCR_ERROR,		/* the check itself could not be made */
	/* The IPv6 checks' own (doctor6.h). */
	DOCR_NO_IPV6,		/* not checked: no IPv6 here, ipv6 = auto */
	DOCR_NO_IPV6_ROUTE,	/* ipv6_route: no IPv6 default route */
	DOCR_ONLY_TEMPORARY,	/* ipv6_address: only temporary ones */
	DOCR_NO_PINHOLE_SERVICE, /* pinhole_service: neither PCP nor IGDv2 */
	DOCR_NOT_ALLOWED,	/* pinhole_service: pinholes not allowed */
	DOCR_IPV4_ONLY,		/* ipv6_listener: the server is on 0.0.0.0 */
	DOCR_NOT_KEPT,		/* pinhole: nothing keeps one */
	DOCR_PINHOLE_FAILED,	/* pinhole: the daemon's failed */
	DOCR_OPEN_TO_ALL,	/* ipv6_exposure: any LAN device may open */
	DOCR_NREASONS
};

enum doctor_verdict {
	DOCV_OK = 0,
	DOCV_NO_GATEWAY,
	DOCV_CGNAT,
	DOCV_DOUBLE_NAT,
	DOCV_NO_LISTENER,
	DOCV_NO_MAPPING,
	DOCV_MAPPING_CONFLICT,
	DOCV_HAIRPIN_UNSUPPORTED,
	DOCV_EXTERNAL_BLOCKED,
	DOCV_NVERDICTS
};

struct doctor_check {
	enum doctor_status	status;
	enum doctor_reason	reason;
	char			detail[512];
};

/* What the caller asks for. */
struct doctor_opts {
	struct portspec		 spec;		/* ext, in, proto */
	bool			 internal_given; /* in is the user's, keep it */
	enum pm_method		 via;
	int			 timeout_ms;	/* router discovery */
	const char		*probe_url;	/* NULL or "": no outside check */
	bool			 no_probe_mapping; /* skip the hairpin probe */
	/* The configured forward of this port, or NULL. */
	const struct config_forward *forward;
	/* Set (by a signal handler) to stop early; checked often. */
	volatile sig_atomic_t	*stop;
};

/* Facts the report carries besides the checks. */
struct doctor_report {
	uint16_t		port;
	enum pm_proto		proto;
	uint16_t		internal_port;
	char			internal_ip[INET_ADDRSTRLEN];
	char			ifname[16];
	char			gateway[INET_ADDRSTRLEN];
	char			external_ip[16];	/* "" unknown */
	enum pm_method		method;		/* the router's protocol */
	bool			upnp, natpmp;	/* which answered */
	/* The router as discovery found it: its name, service and quirks. */
	struct portmap_info	router;
	/* How the router refused the probe mapping (PME_OK: it did not). */
	enum pm_errcode		refused;
	char			probe_url[256];	/* "" none */
	char			source_seen[PROBE_ADDR_MAX];
	char			holder[INET_ADDRSTRLEN]; /* conflict: who */
	uint16_t		holder_port;
	char			holder_desc[80];
	char			forward_name[64];	/* configured as */
	bool			probe_mapping_made;
	bool			probe_mapping_removed;
	uint16_t		probe_port;	/* its external port */
	bool			other_ports_reachable;	/* probe port came in */
	bool			interrupted;
	int64_t			elapsed_ms;
	struct doctor_check	checks[DOC_NCHECKS];
	enum doctor_verdict	verdict;
	char			summary[1536];
};

/*
 * Runs every check of one forward.  Always fills *r (checks that could not
 * run are skipped with a sentence saying why) and returns the verdict.  A
 * probe mapping made for the hairpin check is removed before returning,
 * also when *stop was set; its short lease covers a crash.
 */
enum doctor_verdict doctor_run(const struct doctor_opts *,
	    struct doctor_report *r);

/*
 * The verdict from the checks alone.  In order: no_gateway, then cgnat or
 * double_nat (the router's WAN address, or the probe seeing another source
 * address), mapping_conflict, no_listener, no_mapping, external_blocked
 * (the probe cannot get in although mapping and listener are fine) and
 * hairpin_unsupported (no NAT loopback, while the outside works or the
 * mapping and listener are fine); else ok.
 */
enum doctor_verdict doctor_verdict(const struct doctor_check c[DOC_NCHECKS]);

/*
 * Sets r->verdict and writes r->summary: the cause and the fix in words,
 * with the router's own fix (router_advice) where its vendor documents one.
 */
void	doctor_conclude(struct doctor_report *r);

/*
 * The error the verdict stands for, for router_advice: how the router
 * refused the probe mapping, else the verdict's own (no_mapping: not_found,
 * cgnat: no_public_address...); PME_OK for ok.
 */
enum pm_errcode doctor_errcode(const struct doctor_report *r);

/* The report as the JSON contract (see README.md).  NULL on no memory. */
cJSON	*doctor_report_json(const struct doctor_report *r);
/* One check as {"id":id,"status":…,"detail":…,"reason":…}. */
cJSON	*doctor_check_json(const char *id, const struct doctor_check *c);

const char *doctor_check_str(enum doctor_check_id);
const char *doctor_status_str(enum doctor_status);
const char *doctor_reason_str(enum doctor_reason);
const char *doctor_verdict_str(enum doctor_verdict);

#endif

/*
 * One error convention for every module: a stable code for machines
 * (printed in --json output and used for exit statuses) and a sentence for
 * people that names the port, the host and the router's own error number.
 */
#ifndef PK_PMERR_H
#define PK_PMERR_H

enum pm_errcode {
	PME_OK = 0,
	PME_USAGE,		/* the command line was wrong */
	PME_NO_ROUTE,		/* this host has no IPv4 default gateway */
	PME_NO_GATEWAY,		/* neither UPnP-IGD nor NAT-PMP answered */
	PME_NO_PUBLIC_ADDRESS,	/* carrier-grade or double NAT, or WAN down */
	PME_CONFLICT,		/* the port is held by another host */
	PME_REFUSED,		/* the router said no, for another reason */
	PME_NOT_AUTHORIZED,	/* the router does not let this host map */
	PME_OUT_OF_RESOURCES,	/* the router's table is full */
	PME_UNSUPPORTED,	/* the protocol cannot do this operation */
	PME_NOT_FOUND,		/* no such mapping */
	PME_TIMEOUT,		/* the router stopped answering mid-way */
	PME_BAD_REPLY,		/* the router's reply was malformed or a lie */
	PME_NETWORK,		/* a local socket or network error */
	PME_INTERNAL,		/* out of memory and the like */
	PME_NO_IPV6,		/* no stable global IPv6 address or route */
	PME_PINHOLE_REFUSED,	/* the router will not open this pinhole */
	PME_ADDRESS_MISMATCH,	/* PCP: a NAT between this host and router */
};

struct pm_error {
	enum pm_errcode	code;
	int		router_code;	/* UPnP error or NAT-PMP result, or 0 */
	char		msg[384];
};

void		 pmerr_set(struct pm_error *, enum pm_errcode, int router_code,
		    const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* Adds to the sentence, cut to fit. */
void		 pmerr_append(struct pm_error *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 pmerr_clear(struct pm_error *);
/* The stable name of a code, e.g. "no_gateway". */
const char	*pmerr_code_str(enum pm_errcode);
/* 2 for usage errors, 1 for everything else, 0 for PME_OK. */
int		 pmerr_exit_status(enum pm_errcode);

/*
 * Translates a miniupnpc return value (a UPnP error number such as 718, or
 * one of miniupnpc's negative UPNPCOMMAND_* values) into err.  what says
 * what was attempted, e.g. "forward port 80/tcp".
 */
void		 pmerr_upnp(struct pm_error *err, int upnp, const char *what);
enum pm_errcode	 pmerr_upnp_code(int upnp);

/*
 * Translates a NAT-PMP result code (RFC 6886 section 3.5, 1-5, or any other
 * non-zero value) into err.
 */
void		 pmerr_natpmp(struct pm_error *err, int result,
		    const char *what);

#endif

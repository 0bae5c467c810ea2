/*
 * portmap's NAT-PMP (RFC 6886) backend, on pmp.c's client.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "portmap_impl.h"
#include "util.h"

void
portmap_natpmp_answered(struct portmap *pm, const struct pmp_reply *r)
{
	struct portmap_info *in = &pm->info;
	char ip[16];

	if (r->result == 0) {
		inet_ntop(AF_INET, &r->addr, ip, sizeof(ip));
		if (portmap_check_external(ip, "NAT-PMP", &in->natpmp_error) == -1) {
			pm->nat_state = PS_FAILED;
			return;
		}
	}
	pm->nat_state = PS_FOUND;
	in->natpmp_found = true;
	in->natpmp_result = r->result;
	in->epoch = r->epoch;
	if (r->result == 0)
		str_copy(in->natpmp_external_ip, ip,
		    sizeof(in->natpmp_external_ip));
	else
		pmerr_natpmp(&in->natpmp_error, r->result,
		    "get the external address");
	if (pm->first == PM_AUTO)
		pm->first = PM_NATPMP;
}

int
portmap_natpmp_open(struct portmap *pm, const struct portspec *spec, uint32_t lease,
    bool any_port, struct portmap_open_result *res, struct pm_error *err)
{
	struct pmp_reply r;
	char what[64], extra[160];
	int64_t deadline = mono_ms() + pm->timeout_ms;

	snprintf(what, sizeof(what), "forward port %u/%s", spec->ext,
	    portspec_proto_str(spec->proto));
	if (pmp_send_map(&pm->pmp, spec->proto, spec->in, spec->ext,
	    lease) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "could not %s: cannot send to "
		    "the router", what);
		return -1;
	}
	if (pmp_wait(&pm->pmp, deadline, &r, err) == -1)
		return -1;
	if (r.result != 0) {
		pmerr_natpmp(err, r.result, what);
		return -1;
	}
	if (r.ext_port == 0) {
		/* RFC 6886 section 3.3: a granted mapping has a port. */
		pmerr_set(err, PME_BAD_REPLY, 0, "could not %s: the router "
		    "answered success over NAT-PMP but granted no port", what);
		return -1;
	}
	if (r.ext_port != spec->ext && !any_port) {
		/*
		 * RFC 6886 section 3.3 lets the router grant another port when
		 * the one asked for is taken.  The user asked for this port,
		 * so give the grant back and report the conflict.
		 */
		struct pmp_reply r2;
		struct pm_error e;

		if (pmp_send_map(&pm->pmp, spec->proto, spec->in, r.ext_port,
		    0) == 0)
			pmp_wait(&pm->pmp, mono_ms() + pm->timeout_ms, &r2, &e);
		/* How to accept it depends on the caller: see cmd_open. */
		snprintf(extra, sizeof(extra), " (NAT-PMP offered port %u "
		    "instead)", r.ext_port);
		portmap_conflict(pm, spec, 0, extra, err);
		res->offered_port = r.ext_port;
		return -1;
	}
	res->ext_port = r.ext_port;
	res->lease = r.lifetime;
	return 0;
}

int
portmap_natpmp_close(struct portmap *pm, const struct portspec *spec, bool *removed,
    struct pm_error *err)
{
	struct pmp_reply r;
	struct pm_mapping m;
	char what[64];
	uint16_t in = spec->in;
	int known;

	/*
	 * NAT-PMP deletes by internal port (RFC 6886 section 3.4).  When the
	 * user gave only EXT, ask UPnP which internal port it forwards to, if
	 * UPnP is there; else assume the same port.
	 */
	known = portmap_lookup_holder(pm, spec->proto, spec->ext, &m);
	if (known && !m.this_host)
		goto foreign;
	if (known && !spec->in_given)
		in = m.int_port;
	snprintf(what, sizeof(what), "remove the forward of port %u/%s",
	    spec->ext, portspec_proto_str(spec->proto));
	if (pmp_send_map(&pm->pmp, spec->proto, in, spec->ext, 0) == -1 ||
	    pmp_wait(&pm->pmp, mono_ms() + pm->timeout_ms, &r, err) == -1)
		return -1;
	if (r.result != 0) {
		pmerr_natpmp(err, r.result, what);
		return -1;
	}
	/* NAT-PMP answers success either way; check where we can. */
	if (portmap_lookup_holder(pm, spec->proto, spec->ext, &m)) {
		pmerr_set(err, PME_REFUSED, 0, "could not %s: the router kept "
		    "it after the NAT-PMP request (it was probably made over "
		    "UPnP); try --via upnp", what);
		return -1;
	}
	if (pm->up_state == PS_FOUND)
		*removed = known;	/* UPnP saw it before and not after */
	else
		*removed = true;	/* NAT-PMP cannot tell; it said done */
	return 0;

foreign:
	pmerr_set(err, PME_CONFLICT, 0, "port %u/%s is forwarded to %s:%u, "
	    "not to this host; portkeeper leaves other hosts' forwards alone",
	    spec->ext, portspec_proto_str(spec->proto), m.int_client, m.int_port);
	return -1;
}

#include <miniupnpc/upnpreplyparse.h>
#include <string.h>
#include <strings.h>

#include "upnp_desc.h"
#include "util.h"

/*
 * The two namespaces connection services are named in: the UPnP Forum's
 * (IGD:1 and IGD:2, WANIPConnection:1 section 2.1) and the Broadband
 * Forum's TR-064 one, whose WANIPConnection and WANPPPConnection have the
 * same actions (TR-064 issue 2, sections 3.2.12 and 3.2.13).
 */
static const char *const namespaces[] = {
	"urn:schemas-upnp-org:service:",
	"urn:dslforum-org:service:",
};

int
upnp_desc_is_tr064(const char *type)
{
	return strncasecmp(type, namespaces[1], strlen(namespaces[1])) == 0;
}

int
upnp_desc_is_connection(const char *type)
{
	size_t i, n;

	for (i = 0; i < nitems(namespaces); i++) {
		n = strlen(namespaces[i]);
		if (strncasecmp(type, namespaces[i], n) != 0)
			continue;
		type += n;
		return strncmp(type, "WANIPConnection:", 16) == 0 ||
		    strncmp(type, "WANPPPConnection:", 17) == 0;
	}
	return 0;
}

/*
 * IGD:2's IPv6 firewall (WANIPv6FirewallControl:1 section 2.1); the UPnP
 * Forum's name only, as TR-064 has no such service.
 */
int
upnp_desc_is_firewall(const char *type)
{
	static const char fw[] =
	    "urn:schemas-upnp-org:service:WANIPv6FirewallControl:";

	return strncmp(type, fw, sizeof(fw) - 1) == 0;
}

/* Keeps the service s that just ended when it is one of those we use. */
static void
upnp_desc_keep(struct upnp_desc *d, const struct upnp_desc_service *s)
{
	if (upnp_desc_is_connection(s->type) &&
	    d->nsvc < UPNP_DESC_SERVICES_MAX)
		d->svc[d->nsvc++] = *s;
	else if (upnp_desc_is_firewall(s->type) && d->firewall.type[0] == '\0')
		d->firewall = *s;
}

/* Copies v into dst unless an earlier (outer) element already set it. */
static void
upnp_desc_first(char *dst, size_t len, const char *v)
{
	if (dst[0] == '\0')
		str_copy(dst, v, len);
}

/*
 * A service's elements (UDA 1.1 section 2.3: serviceType, serviceId,
 * SCPDURL, controlURL, eventSubURL) come in any order inside <service>.
 * ParseNameValue flattens the document to its leaf elements, so a service
 * ends when a second type or control URL would start another.
 */
static void
upnp_desc_leaf(struct upnp_desc *d, struct upnp_desc_service *cur,
    const char *name, const char *v)
{
	struct upnp_desc_service *s = cur;

	if ((strcmp(name, "serviceType") == 0 && s->type[0] != '\0') ||
	    (strcmp(name, "controlURL") == 0 && s->control[0] != '\0')) {
		upnp_desc_keep(d, s);
		memset(s, 0, sizeof(*s));
	}
	if (strcmp(name, "serviceType") == 0)
		str_copy(s->type, v, sizeof(s->type));
	else if (strcmp(name, "controlURL") == 0)
		str_copy(s->control, v, sizeof(s->control));
	else if (strcmp(name, "SCPDURL") == 0)
		str_copy(s->scpd, v, sizeof(s->scpd));
	else if (strcmp(name, "eventSubURL") == 0)
		str_copy(s->events, v, sizeof(s->events));
	else if (strcmp(name, "deviceType") == 0)
		upnp_desc_first(d->device_type, sizeof(d->device_type), v);
	else if (strcmp(name, "manufacturer") == 0)
		upnp_desc_first(d->manufacturer, sizeof(d->manufacturer), v);
	else if (strcmp(name, "modelName") == 0)
		upnp_desc_first(d->model_name, sizeof(d->model_name), v);
	else if (strcmp(name, "modelNumber") == 0)
		upnp_desc_first(d->model_number, sizeof(d->model_number), v);
	else if (strcmp(name, "friendlyName") == 0)
		upnp_desc_first(d->friendly_name, sizeof(d->friendly_name),
		    v);
}

size_t
upnp_desc_parse(const char *body, size_t len, struct upnp_desc *d)
{
	struct NameValueParserData pd;
	struct NameValue *nv, *rev = NULL, *next;
	struct upnp_desc_service cur;

	memset(d, 0, sizeof(*d));
	memset(&cur, 0, sizeof(cur));
	if (len > 0x7fffffff)
		return 0;
	ParseNameValue(body, (int)len, &pd);
	/* The list comes newest first: turn it to document order. */
	for (nv = pd.l_head; nv != NULL; nv = next) {
		next = nv->l_next;
		nv->l_next = rev;
		rev = nv;
	}
	pd.l_head = rev;
	for (nv = pd.l_head; nv != NULL; nv = nv->l_next)
		upnp_desc_leaf(d, &cur, nv->name, nv->value);
	upnp_desc_keep(d, &cur);
	ClearNameValueList(&pd);
	return d->nsvc;
}

/*
 * What portkeeper knows of particular routers: the quirks it met in words
 * and as JSON, the router's name from its UPnP description, and the fixes
 * that vendors document in their own settings for a refusal.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "router.h"
#include "util.h"

static const struct {
	enum pm_quirk	 bit;
	const char	*name;
	const char	*sentence;
} quirks[] = {
	{ PMQ_PERMANENT_ONLY, "permanent_only",
	  "This router only grants permanent forwards: portkeeper asks for "
	  "lease 0 and does not refresh them." },
	{ PMQ_SEVERAL_SERVICES, "several_services",
	  "This router offers several internet connection services: "
	  "portkeeper uses the one that is connected." },
	{ PMQ_TR064_NAMES, "tr064_names",
	  "This router names its connection service the TR-064 way "
	  "(urn:dslforum-org), with the same actions as UPnP-IGD's: "
	  "portkeeper speaks to it as to an IGD." },
	{ PMQ_REFUSES_ALL, "refuses_all",
	  "This router refuses every forward from this host, permanent ones "
	  "too (UPnP error 606, Action not authorized): it has to be allowed "
	  "in the router's settings." },
};

/* The quirk's entry in quirks[], or -1 for an unknown bit. */
static int
router_quirk_find(enum pm_quirk q)
{
	size_t i;

	for (i = 0; i < nitems(quirks); i++)
		if (quirks[i].bit == q)
			return (int)i;
	return -1;
}

const char *
router_quirk_name(enum pm_quirk q)
{
	int i = router_quirk_find(q);

	return i == -1 ? NULL : quirks[i].name;
}

const char *
router_quirk_str(enum pm_quirk q)
{
	int i = router_quirk_find(q);

	return i == -1 ? NULL : quirks[i].sentence;
}

/*
 * Words that name a company's legal form or seat rather than the brand
 * ("NETGEAR, Inc.", "TP-Link Technologies Co., Ltd.", "AVM Berlin"):
 * dropped from the end of the manufacturer, so that the router's name
 * reads as people say it.
 */
static const char *const router_legal[] = {
	"Inc", "Inc.", "Incorporated", "Corp", "Corp.", "Corporation", "Co",
	"Co.", "Ltd", "Ltd.", "Limited", "GmbH", "AG", "SA", "S.A.", "SAS",
	"LLC", "BV", "B.V.", "Technologies", "Technology", "International",
	"Computer", "Berlin",
};

static bool
router_legal_word(const char *w)
{
	size_t i;

	for (i = 0; i < nitems(router_legal); i++)
		if (strcasecmp(w, router_legal[i]) == 0)
			return true;
	return false;
}

/* The brand: the manufacturer up to a comma, without router_legal. */
static void
router_brand(char *maker)
{
	char *sp;

	maker[strcspn(maker, ",")] = '\0';
	while ((sp = strrchr(maker, ' ')) != NULL &&
	    (sp[1] == '\0' || router_legal_word(sp + 1)))
		*sp = '\0';
}

/* Whether s starts with the word prefix, ignoring case. */
static bool
router_starts_with(const char *s, const char *prefix)
{
	size_t n = strlen(prefix);

	return n > 0 && strncasecmp(s, prefix, n) == 0 &&
	    (s[n] == '\0' || s[n] == ' ' || s[n] == '-');
}

void
router_name(const struct portmap_info *in, char *buf, size_t len)
{
	char maker[sizeof(in->router_manufacturer)];
	char model[sizeof(in->router_model)], both[sizeof(maker) +
	    sizeof(model) + 1];

	if (len == 0)
		return;
	str_printable(maker, sizeof(maker), in->router_manufacturer);
	router_brand(maker);
	/* Without a model, the name the router gives itself. */
	str_printable(model, sizeof(model), in->router_model[0] != '\0' ?
	    in->router_model : in->router_name);
	if (maker[0] == '\0' || router_starts_with(model, maker))
		str_copy(both, model, sizeof(both));
	else if (model[0] == '\0')
		str_copy(both, maker, sizeof(both));
	else
		snprintf(both, sizeof(both), "%s %s", maker, model);
	str_copy(buf, both, len);
}

/*
 * The fixes vendors document, for the error portkeeper met.  Each entry
 * matches a word, ignoring case, in the description's manufacturer, model
 * or friendlyName, and says where its advice is documented.  A router that
 * has UPnP switched off does not send a description, so only refusals of a
 * router that answers can be matched here.
 */
static const struct router_fix {
	const char	*match;
	enum pm_errcode	 code;
	const char	*advice;
} fixes[] = {
	/*
	 * AVM knowledge base 894, "Automatische Portfreigaben einrichten"
	 * (avm.de/service/fritzbox/.../894_Automatische-Portfreigaben-
	 * einrichten/): the per-device option to let a device create port
	 * sharings by PCP or UPnP; FRITZ!OS 7's English interface names it
	 * "Permit independent port sharing for this device" under Internet /
	 * Permit Access / Port Sharing (AVM's help page hilfe_portfreigabe,
	 * service.avm.de/help/en/FRITZ-Box-7530/019p2/hilfe_portfreigabe).
	 * Older FRITZ!OS has one switch for every device, "Permit changes to
	 * security settings over UPnP" (help.avm.de hilfe_portfreigabe:
	 * "Änderungen der Sicherheitseinstellungen über UPnP gestatten").
	 */
	{ "FRITZ!Box", PME_NOT_AUTHORIZED,
	  "in the FRITZ!Box, Internet > Permit Access > Port Sharing: edit "
	  "this device and tick \"Permit independent port sharing for this "
	  "device\" (older FRITZ!OS: Home Network > Network > Network "
	  "Settings, \"Permit changes to security settings over UPnP\")" },
	/*
	 * ZyXEL NBG4115 User's Guide, chapter 18 "UPnP", table 61
	 * "Management > UPnP > General": "Allow users to make port
	 * forwarding changes through UPnP".
	 */
	{ "ZyXEL", PME_NOT_AUTHORIZED,
	  "in the ZyXEL router, Management > UPnP > General: tick \"Allow "
	  "users to make port forwarding changes through UPnP\"" },
	/*
	 * Actiontec MI424WR user manual, chapter 8 "Universal Plug and Play
	 * (UPnP)" (also sold as Verizon's MI424WR): the check box "Allow
	 * Other Network Users to Control Wireless Broadband Router's Network
	 * Features".
	 */
	{ "Actiontec", PME_NOT_AUTHORIZED,
	  "in the Actiontec router, Advanced > Universal Plug and Play: tick "
	  "\"Allow Other Network Users to Control Wireless Broadband "
	  "Router's Network Features\"" },
	/*
	 * OpenWrt's miniupnpd (openwrt.org/docs/guide-user/firewall/upnp/
	 * miniupnpd): its perm_rule sections allow external and internal
	 * ports 1024-65535 and deny the rest by default, and miniupnpd
	 * answers a denied request with 606.
	 */
	{ "OpenWrt", PME_NOT_AUTHORIZED,
	  "OpenWrt's UPnP (miniupnpd) lets hosts forward only what its "
	  "permission rules allow (by default ports 1024-65535): add a "
	  "perm_rule with action allow for this host and port to "
	  "/etc/config/upnpd, before the default deny, and restart "
	  "miniupnpd" },
};

/* Whether word occurs in any of the names the router gave itself. */
static bool
router_matches(const struct portmap_info *in, const char *word)
{
	return strcasestr(in->router_manufacturer, word) != NULL ||
	    strcasestr(in->router_model, word) != NULL ||
	    strcasestr(in->router_name, word) != NULL;
}

const char *
router_advice(const struct portmap_info *in, enum pm_errcode code)
{
	size_t i;

	/* A router that refused everything refused it as not authorized. */
	if (code == PME_REFUSED && (in->quirks & PMQ_REFUSES_ALL))
		code = PME_NOT_AUTHORIZED;
	if (code == PME_OK)
		return NULL;
	for (i = 0; i < nitems(fixes); i++)
		if (fixes[i].code == code && router_matches(in, fixes[i].match))
			return fixes[i].advice;
	return NULL;
}

/* Whether a UPnP description was read (or a quirk met). */
static bool
router_known(const struct portmap_info *in)
{
	return in->upnp_found || in->router_manufacturer[0] != '\0' ||
	    in->router_model[0] != '\0' || in->router_name[0] != '\0' ||
	    in->upnp_service[0] != '\0' || (in->quirks & PMQ_ALL) != 0;
}

static void
router_add_str(cJSON *o, const char *key, const char *v)
{
	char buf[160];

	str_printable(buf, sizeof(buf), v);
	if (buf[0] != '\0')
		cJSON_AddStringToObject(o, key, buf);
	else
		cJSON_AddNullToObject(o, key);
}

cJSON *
router_json(const struct portmap_info *in)
{
	cJSON *o, *q, *n;
	char label[160];
	size_t i;

	if (in == NULL || !router_known(in))
		return cJSON_CreateNull();
	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	router_add_str(o, "manufacturer", in->router_manufacturer);
	router_add_str(o, "model", in->router_model);
	router_add_str(o, "name", in->router_name);
	router_add_str(o, "service", in->upnp_service);
	/* The name as people read it, so that a page need not compose it. */
	router_name(in, label, sizeof(label));
	router_add_str(o, "label", label);
	q = cJSON_AddArrayToObject(o, "quirks");
	n = cJSON_AddArrayToObject(o, "notes");
	for (i = 0; q != NULL && n != NULL && i < nitems(quirks); i++) {
		if (!(in->quirks & quirks[i].bit))
			continue;
		cJSON_AddItemToArray(q, cJSON_CreateString(quirks[i].name));
		cJSON_AddItemToArray(n, cJSON_CreateString(quirks[i].sentence));
	}
	return o;
}

void
router_describe(const struct portmap_info *in, char *buf, size_t len)
{
	char name[192], svc[sizeof(in->upnp_service)];

	router_name(in, name, sizeof(name));
	str_printable(svc, sizeof(svc), in->upnp_service);
	if (in->upnp_found || svc[0] != '\0')
		snprintf(buf, len, "%s%sUPnP-IGD%s%s%s", name, name[0] != '\0' ?
		    ", " : "", svc[0] != '\0' ? " (" : "", svc,
		    svc[0] != '\0' ? ")" : "");
	else if (in->natpmp_found)
		snprintf(buf, len, "%s%sNAT-PMP", name, name[0] != '\0' ?
		    ", " : "");
	else
		str_copy(buf, name, len);
}

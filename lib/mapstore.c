#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "mapstore.h"
#include "pcp.h"
#include "util.h"

/* 256 entries of about 200 bytes each, with room to spare. */
#define MAPSTORE_SIZE_MAX	(128 * 1024)

static const char *const kind_names[] = {
	[MS_PCP] = "pcp",
	[MS_UPNP_PINHOLE] = "upnp_pinhole",
};

int
mapstore_dir(char *dir, size_t dirlen, char *err, size_t errlen)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg != NULL && xdg[0] == '/')
		n = snprintf(dir, dirlen, "%s/portkeeper", xdg);
	else
		n = snprintf(dir, dirlen, "/run/portkeeper");
	if (n < 0 || (size_t)n >= dirlen) {
		snprintf(err, errlen, "%s: runtime directory name too long",
		    xdg);
		return -1;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
num_in(const cJSON *o, const char *name, double min, double max, double *v)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsNumber(j) || j->valuedouble < min ||
	    j->valuedouble > max || j->valuedouble != (double)(int64_t)
	    j->valuedouble)
		return -1;
	*v = j->valuedouble;
	return 0;
}

int
mapstore_entry_parse(const cJSON *o, struct mapstore_entry *e)
{
	const cJSON *j;
	double v;
	size_t k;

	memset(e, 0, sizeof(*e));
	if (num_in(o, "family", 4, 6, &v) == -1 || (v != 4 && v != 6))
		return -1;
	e->family = (int)v;
	j = cJSON_GetObjectItemCaseSensitive(o, "protocol");
	if (!cJSON_IsString(j))
		return -1;
	if (strcmp(j->valuestring, "tcp") == 0)
		e->proto = PM_TCP;
	else if (strcmp(j->valuestring, "udp") == 0)
		e->proto = PM_UDP;
	else
		return -1;
	j = cJSON_GetObjectItemCaseSensitive(o, "address");
	if (!cJSON_IsString(j) || str_copy(e->addr, j->valuestring,
	    sizeof(e->addr)) == -1)
		return -1;
	if (num_in(o, "port", 1, 65535, &v) == -1)
		return -1;
	e->port = (uint16_t)v;
	if (num_in(o, "external_port", 0, 65535, &v) == -1)
		return -1;
	e->ext_port = (uint16_t)v;
	if (num_in(o, "expires", 0, 1e15, &v) == -1)
		return -1;
	e->expires = (int64_t)v;
	j = cJSON_GetObjectItemCaseSensitive(o, "kind");
	if (!cJSON_IsString(j))
		return -1;
	for (k = 1; k < nitems(kind_names); k++)
		if (strcmp(j->valuestring, kind_names[k]) == 0)
			e->kind = (enum mapstore_kind)k;
	if (e->kind == MS_PCP) {
		j = cJSON_GetObjectItemCaseSensitive(o, "nonce");
		return cJSON_IsString(j) ? pcp_nonce_parse(j->valuestring,
		    e->nonce) : -1;
	}
	if (e->kind == MS_UPNP_PINHOLE) {
		if (num_in(o, "unique_id", 0, 65535, &v) == -1)
			return -1;
		e->unique_id = (uint16_t)v;
		return 0;
	}
	return -1;
}

int
mapstore_parse(const char *text, size_t len, struct mapstore_entry *out,
    size_t max)
{
	cJSON *root;
	const cJSON *list, *o;
	size_t n = 0;

	if ((root = cJSON_ParseWithLength(text, len)) == NULL)
		return -1;
	list = cJSON_GetObjectItemCaseSensitive(root, "mappings");
	if (!cJSON_IsArray(list)) {
		cJSON_Delete(root);
		return -1;
	}
	cJSON_ArrayForEach(o, list) {
		if (n == max)
			break;
		if (cJSON_IsObject(o) && mapstore_entry_parse(o, &out[n]) == 0)
			n++;
	}
	cJSON_Delete(root);
	return (int)n;
}

cJSON *
mapstore_entry_json(const struct mapstore_entry *e)
{
	cJSON *o = cJSON_CreateObject();
	char hex[2 * PCP_NONCE_LEN + 1];

	if (o == NULL)
		return NULL;
	cJSON_AddNumberToObject(o, "family", e->family);
	cJSON_AddStringToObject(o, "protocol", portspec_proto_str(e->proto));
	cJSON_AddStringToObject(o, "address", e->addr);
	cJSON_AddNumberToObject(o, "port", e->port);
	cJSON_AddNumberToObject(o, "external_port", e->ext_port);
	cJSON_AddNumberToObject(o, "expires", (double)e->expires);
	cJSON_AddStringToObject(o, "kind", kind_names[e->kind]);
	if (e->kind == MS_PCP) {
		pcp_nonce_hex(e->nonce, hex);
		cJSON_AddStringToObject(o, "nonce", hex);
	} else {
		cJSON_AddNumberToObject(o, "unique_id", e->unique_id);
	}
	return o;
}

static bool
same_key(const struct mapstore_entry *e, int family, enum pm_proto proto,
    const char *addr, uint16_t port, enum mapstore_kind kind)
{
	return e->family == family && e->proto == proto && e->port == port &&
	    e->kind == kind && strcmp(e->addr, addr) == 0;
}

/* The file's entries into *out (malloc'd); the count or -1 with err. */
static int
load(const char *dir, struct mapstore_entry **out, char *err, size_t errlen)
{
	char path[PATH_MAX], *text;
	size_t len;
	int n, r;

	*out = calloc(MAPSTORE_MAX, sizeof(**out));
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
	    MAPSTORE_FILE) >= sizeof(path)) {
		snprintf(err, errlen, "%s: directory name too long", dir);
		return -1;
	}
	if ((r = file_read_bounded(path, MAPSTORE_SIZE_MAX, &text, &len, err,
	    errlen)) <= 0)
		return r;
	n = mapstore_parse(text, len, *out, MAPSTORE_MAX);
	free(text);
	if (n == -1)
		snprintf(err, errlen, "%s: not portkeeper's list of mappings "
		    "(expected a JSON object with \"mappings\")", path);
	return n;
}

/* Writes es[0..n) but the expired ones and the one at skip (or n). */
static int
save(const char *dir, const struct mapstore_entry *es, size_t n, size_t skip,
    char *err, size_t errlen)
{
	cJSON *root, *list, *o;
	char *text;
	time_t now = time(NULL);
	size_t i;
	int rc;

	if ((root = cJSON_CreateObject()) == NULL ||
	    (list = cJSON_AddArrayToObject(root, "mappings")) == NULL) {
		cJSON_Delete(root);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (i == skip || (es[i].expires != 0 && es[i].expires < now))
			continue;
		if ((o = mapstore_entry_json(&es[i])) != NULL)
			cJSON_AddItemToArray(list, o);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	rc = file_write_runtime(dir, MAPSTORE_FILE, text, strlen(text), 0600,
	    err, errlen);
	free(text);
	return rc;
}

int
mapstore_put(const char *dir, const struct mapstore_entry *e, char *err,
    size_t errlen)
{
	struct mapstore_entry *es;
	size_t i, n;
	int r;

	if ((r = load(dir, &es, err, errlen)) == -1) {
		free(es);
		return -1;
	}
	n = (size_t)r;
	for (i = 0; i < n; i++)
		if (same_key(&es[i], e->family, e->proto, e->addr, e->port,
		    e->kind))
			break;
	if (i == n && n == MAPSTORE_MAX) {
		/* Full: the entry that expires first makes room. */
		for (i = r = 0; i < n; i++)
			if (es[i].expires < es[r].expires)
				r = (int)i;
		i = (size_t)r;
	}
	es[i] = *e;
	if (i == n)
		n++;
	r = save(dir, es, n, n, err, errlen);
	free(es);
	return r;
}

int
mapstore_get(const char *dir, int family, enum pm_proto proto,
    const char *addr, uint16_t port, enum mapstore_kind kind,
    struct mapstore_entry *out, char *err, size_t errlen)
{
	struct mapstore_entry *es;
	int i, n, found = 0;

	if ((n = load(dir, &es, err, errlen)) == -1) {
		free(es);
		return -1;
	}
	for (i = 0; i < n && !found; i++) {
		if (same_key(&es[i], family, proto, addr, port, kind)) {
			*out = es[i];
			found = 1;
		}
	}
	free(es);
	return found;
}

int
mapstore_del(const char *dir, int family, enum pm_proto proto,
    const char *addr, uint16_t port, enum mapstore_kind kind, char *err,
    size_t errlen)
{
	struct mapstore_entry *es;
	int i, n, r = 0;

	if ((n = load(dir, &es, err, errlen)) == -1) {
		free(es);
		return -1;
	}
	for (i = 0; i < n; i++)
		if (same_key(&es[i], family, proto, addr, port, kind))
			break;
	if (i < n)
		r = save(dir, es, (size_t)n, (size_t)i, err, errlen);
	free(es);
	return r;
}

int
mapstore_list(const char *dir, struct mapstore_entry *out, size_t max,
    char *err, size_t errlen)
{
	struct mapstore_entry *es;
	time_t now = time(NULL);
	int i, n, k = 0;

	if ((n = load(dir, &es, err, errlen)) == -1) {
		free(es);
		return -1;
	}
	for (i = 0; i < n && (size_t)k < max; i++)
		if (es[i].expires == 0 || es[i].expires >= now)
			out[k++] = es[i];
	free(es);
	return k;
}

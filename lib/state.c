/*
 * The daemon's memory across restarts: the forwards it made on the router
 * and the router's external addresses, as versioned JSON.
 *
 * The file is read back as hostile input.  Anyone who can write state_dir,
 * a disk that lost a block, or a future version of portkeeperd may have put
 * anything in it, so every field is type- and range-checked before it
 * reaches the daemon, and a file that fails any check is refused whole
 * rather than half-believed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "addr.h"
#include "mapping.h"
#include "portspec.h"
#include "state.h"
#include "util.h"

#define STATE_VERSION		1
#define STATE_SIZE_MAX		(4 * 1024 * 1024)
/* The mapping array grows in steps of this many entries. */
#define STATE_GROW		16

/*
 * cJSON keeps numbers as doubles, which hold every integer exactly only up
 * to 2^53.  A larger time could not be the one that was written, so it is
 * refused instead of being silently rounded.
 */
#define STATE_TIME_MAX		9007199254740992.0	/* 2^53 */

void
state_init(struct state *st)
{
	memset(st, 0, sizeof(*st));
}

void
state_free(struct state *st)
{
	free(st->m);
	free(st->ph);
	state_init(st);
}

/*
 * Copies s into buf for an error message: at most 40 characters, and
 * anything that is not printable ASCII shown as '?', so that a hostile file
 * cannot put escape sequences or line breaks into the daemon's log.
 */
static const char *
quote(const char *s, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && n + 4 < len; i++) {
		if (i == 40) {
			memcpy(buf + n, "...", 3);
			n += 3;
			break;
		}
		buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	}
	buf[n] = '\0';
	return buf;
}

/* What a JSON value is, for "expected X, got Y" messages. */
static const char *
json_kind(const cJSON *v)
{
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "something else";
}

static int
name_valid(const char *s)
{
	size_t n;

	n = strnlen(s, CONFIG_NAME_MAX);
	if (n == 0 || n >= CONFIG_NAME_MAX)
		return 0;
	for (; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' ||
		    *s == '-'))
			return 0;
	}
	return 1;
}

/*
 * A forward can only point at a host: not 0.0.0.0, loopback, multicast or
 * the limited broadcast address.  Private, public, CGNAT and link-local
 * LANs all exist in the wild, so those pass.
 */
static int
host_ip_valid(const char *s)
{
	struct in_addr a;

	switch (addr_parse(s, &a)) {
	case ADDR_INVALID:
	case ADDR_NONE:
	case ADDR_UNSPECIFIED:
	case ADDR_LOOPBACK:
	case ADDR_MULTICAST:
		return 0;
	default:
		break;
	}
	return a.s_addr != INADDR_BROADCAST;
}

/* Any IPv4 address at all: history records what the router said. */
static int
any_ip_valid(const char *s)
{
	struct in_addr a;
	enum addr_class c = addr_parse(s, &a);

	return c != ADDR_INVALID && c != ADDR_NONE;
}

/*
 * The checks shared by state_parse and state_put, so that the daemon never
 * writes a mapping it would refuse to read back.
 */
static const char *
mapping_problem(const struct state_mapping *m)
{
	if (!name_valid(m->name))
		return "name";
	if (m->proto != PM_TCP && m->proto != PM_UDP)
		return "protocol";
	if (m->ext == 0)
		return "external_port";
	if (m->in == 0)
		return "internal_port";
	if (strnlen(m->internal_ip, sizeof(m->internal_ip)) >=
	    sizeof(m->internal_ip) || !host_ip_valid(m->internal_ip))
		return "internal_ip";
	if (m->method != PM_UPNP && m->method != PM_NATPMP)
		return "method";
	if (m->expires < 0 || (double)m->expires > STATE_TIME_MAX)
		return "expires";
	return NULL;
}

/* Makes room for one more mapping. */
static int
grow(struct state *st)
{
	struct state_mapping *m;

	if (st->nm % STATE_GROW != 0)
		return 0;
	m = reallocarray(st->m, st->nm + STATE_GROW, sizeof(*m));
	if (m == NULL)
		return -1;
	st->m = m;
	return 0;
}

/*
 * Parsing.  Each helper fetches one member of obj, checks it and fills *out;
 * where names the object in messages ("mappings[3]").
 */
struct pctx {
	char	*err;
	size_t	 errlen;
};

static int
get_string(struct pctx *p, const cJSON *obj, const char *where,
    const char *key, int optional, const cJSON **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	*out = NULL;
	if (v == NULL) {
		if (optional)
			return 0;
		snprintf(p->err, p->errlen, "%s%s: missing", where, key);
		return -1;
	}
	if (!cJSON_IsString(v) || v->valuestring == NULL) {
		snprintf(p->err, p->errlen, "%s%s: expected a string, got %s",
		    where, key, json_kind(v));
		return -1;
	}
	*out = v;
	return 0;
}

/* An integer in [min, max]: no fractions, no strings, no booleans. */
static int
get_int(struct pctx *p, const cJSON *obj, const char *where, const char *key,
    double min, double max, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double d;

	if (v == NULL) {
		snprintf(p->err, p->errlen, "%s%s: missing", where, key);
		return -1;
	}
	if (!cJSON_IsNumber(v)) {
		snprintf(p->err, p->errlen, "%s%s: expected an integer, got %s",
		    where, key, json_kind(v));
		return -1;
	}
	d = v->valuedouble;
	if (!isfinite(d) || d < min || d > max) {
		snprintf(p->err, p->errlen, "%s%s: %.15g is out of range "
		    "(%.0f to %.0f)", where, key, d, min, max);
		return -1;
	}
	/* In range, so the conversion is defined; a fraction is lost in it. */
	if ((double)(int64_t)d != d) {
		snprintf(p->err, p->errlen, "%s%s: %.15g is not a whole number",
		    where, key, d);
		return -1;
	}
	*out = (int64_t)d;
	return 0;
}

static int
get_port(struct pctx *p, const cJSON *obj, const char *where,
    const char *key, uint16_t *out)
{
	int64_t v;

	if (get_int(p, obj, where, key, 1, 65535, &v) == -1)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int
get_time(struct pctx *p, const cJSON *obj, const char *where,
    const char *key, int64_t *out)
{
	return get_int(p, obj, where, key, 0, STATE_TIME_MAX, out);
}

/* An IPv4 address; host 1 for a forward's target, 0 for any address. */
static int
get_ip(struct pctx *p, const cJSON *obj, const char *where, const char *key,
    int host, char out[16])
{
	const cJSON *v;
	char q[64];

	if (get_string(p, obj, where, key, 0, &v) == -1)
		return -1;
	if (host ? !host_ip_valid(v->valuestring) :
	    !any_ip_valid(v->valuestring)) {
		snprintf(p->err, p->errlen, "%s%s: \"%s\" is not %s", where,
		    key, quote(v->valuestring, q, sizeof(q)),
		    host ? "a host's IPv4 address" : "an IPv4 address");
		return -1;
	}
	/* addr_parse accepted at most 15 characters. */
	str_copy(out, v->valuestring, 16);
	return 0;
}

static int
parse_mapping(struct pctx *p, const cJSON *o, size_t idx,
    struct state_mapping *m)
{
	const cJSON *v;
	char where[48], q[64];

	memset(m, 0, sizeof(*m));
	snprintf(where, sizeof(where), "mappings[%zu].", idx);
	if (!cJSON_IsObject(o)) {
		snprintf(p->err, p->errlen, "mappings[%zu]: expected an "
		    "object, got %s", idx, json_kind(o));
		return -1;
	}

	if (get_string(p, o, where, "name", 0, &v) == -1)
		return -1;
	if (!name_valid(v->valuestring)) {
		snprintf(p->err, p->errlen, "%sname: \"%s\" is not a forward "
		    "name (1 to %d of A-Z a-z 0-9 _ . -)", where,
		    quote(v->valuestring, q, sizeof(q)), CONFIG_NAME_MAX - 1);
		return -1;
	}
	str_copy(m->name, v->valuestring, sizeof(m->name));

	if (get_string(p, o, where, "protocol", 0, &v) == -1)
		return -1;
	/* portspec_proto_parse also takes "TCP"; the file only ever says "tcp". */
	if (strcmp(v->valuestring, "tcp") == 0)
		m->proto = PM_TCP;
	else if (strcmp(v->valuestring, "udp") == 0)
		m->proto = PM_UDP;
	else {
		snprintf(p->err, p->errlen, "%sprotocol: \"%s\" is not tcp or "
		    "udp", where, quote(v->valuestring, q, sizeof(q)));
		return -1;
	}

	if (get_port(p, o, where, "external_port", &m->ext) == -1 ||
	    get_port(p, o, where, "internal_port", &m->in) == -1 ||
	    get_ip(p, o, where, "internal_ip", 1, m->internal_ip) == -1)
		return -1;

	if (get_string(p, o, where, "method", 0, &v) == -1)
		return -1;
	/*
	 * portmap_method_parse also takes "auto", which no forward was made
	 * with, and "pcp", which the daemon does not use yet (issue 16).
	 */
	if (portmap_method_parse(v->valuestring, &m->method) == -1 ||
	    m->method == PM_AUTO || m->method == PM_PCP) {
		snprintf(p->err, p->errlen, "%smethod: \"%s\" is not upnp or "
		    "natpmp", where, quote(v->valuestring, q, sizeof(q)));
		return -1;
	}

	return get_time(p, o, where, "expires", &m->expires);
}

static int
parse_history(struct pctx *p, const cJSON *arr, struct state *st)
{
	const cJSON *o;
	size_t n, skip, i = 0;
	char where[48];

	if (!cJSON_IsArray(arr)) {
		snprintf(p->err, p->errlen, "external_ip_history: expected an "
		    "array, got %s", json_kind(arr));
		return -1;
	}
	/*
	 * The list is oldest first.  A longer one than we keep (written by a
	 * version with a bigger STATE_HISTORY_MAX, say) loses its oldest
	 * entries, as state_note_external_ip would have dropped them.  Every
	 * entry is still checked, so a bad one is not hidden by the cut.
	 */
	n = (size_t)cJSON_GetArraySize(arr);
	skip = n > STATE_HISTORY_MAX ? n - STATE_HISTORY_MAX : 0;
	cJSON_ArrayForEach(o, arr) {
		struct state_ip h;

		memset(&h, 0, sizeof(h));
		snprintf(where, sizeof(where), "external_ip_history[%zu].", i);
		if (!cJSON_IsObject(o)) {
			snprintf(p->err, p->errlen, "external_ip_history[%zu]: "
			    "expected an object, got %s", i, json_kind(o));
			return -1;
		}
		if (get_ip(p, o, where, "ip", 0, h.ip) == -1 ||
		    get_time(p, o, where, "first_seen", &h.first_seen) == -1 ||
		    get_time(p, o, where, "last_seen", &h.last_seen) == -1)
			return -1;
		if (i >= skip)
			st->hist[st->nhist++] = h;
		i++;
	}
	return 0;
}

static int
parse_mappings(struct pctx *p, const cJSON *arr, struct state *st)
{
	const cJSON *o;
	size_t i, n;
	char q[64];

	if (!cJSON_IsArray(arr)) {
		snprintf(p->err, p->errlen, "mappings: expected an array, got "
		    "%s", json_kind(arr));
		return -1;
	}
	/*
	 * Too many mappings is an error, not a cut: each one is a forward
	 * open on the router, and one we forgot would stay open for good.
	 */
	n = (size_t)cJSON_GetArraySize(arr);
	if (n > STATE_MAPPINGS_MAX) {
		snprintf(p->err, p->errlen, "mappings: %zu entries, at most %d "
		    "allowed", n, STATE_MAPPINGS_MAX);
		return -1;
	}
	cJSON_ArrayForEach(o, arr) {
		if (grow(st) == -1) {
			snprintf(p->err, p->errlen, "mappings: %s",
			    strerror(errno));
			return -1;
		}
		if (parse_mapping(p, o, st->nm, &st->m[st->nm]) == -1)
			return -1;
		/* Names are how the daemon finds a forward again. */
		for (i = 0; i < st->nm; i++) {
			if (strcmp(st->m[i].name, st->m[st->nm].name) == 0) {
				snprintf(p->err, p->errlen, "mappings[%zu].name:"
				    " \"%s\" already used by mappings[%zu]",
				    st->nm, quote(st->m[i].name, q, sizeof(q)),
				    i);
				return -1;
			}
		}
		st->nm++;
	}
	return 0;
}

/* A "\u0000" escape: a backslash run of odd length before "u0000". */
static int
has_nul_escape(const char *text, size_t len)
{
	const char *p = text, *q;
	size_t n;

	while ((q = memmem(p, len - (size_t)(p - text), "u0000", 5)) != NULL) {
		for (n = 0; q - n > text && *(q - n - 1) == '\\'; n++)
			;
		if (n % 2 == 1)
			return 1;
		p = q + 1;
	}
	return 0;
}

int
state_parse(const char *text, size_t len, struct state *st, char *err,
    size_t errlen)
{
	struct pctx p = { err, errlen };
	const char *end = NULL;
	cJSON *root;
	const cJSON *v;
	int64_t version;
	int rc = -1;

	state_init(st);
	/*
	 * cJSON hands strings over NUL-terminated, so a NUL inside one would
	 * silently cut it short: "web\u0000x" would read as "web".
	 */
	if (memchr(text, '\0', len) != NULL || has_nul_escape(text, len)) {
		snprintf(err, errlen, "not valid JSON (contains a NUL "
		    "character)");
		return -1;
	}
	/*
	 * On failure cJSON points end at the error (its global error pointer
	 * would not be safe with other threads parsing JSON too), as an
	 * offset: the text may be binary.  It does not say why it failed; a
	 * failed malloc leaves ENOMEM in errno, and a file that did not fit
	 * in memory is not a broken file.
	 */
	errno = 0;
	if ((root = cJSON_ParseWithLengthOpts(text, len, &end, 0)) == NULL) {
		if (errno == ENOMEM)
			snprintf(err, errlen, "%s", strerror(ENOMEM));
		else if (end != NULL && end >= text && end <= text + len)
			snprintf(err, errlen, "not valid JSON (at byte %zu)",
			    (size_t)(end - text));
		else
			snprintf(err, errlen, "not valid JSON");
		return -1;
	}
	/* cJSON stops after the value; whatever follows must be blank. */
	while (end < text + len && (*end == ' ' || *end == '\t' ||
	    *end == '\n' || *end == '\r'))
		end++;
	if (end != text + len) {
		snprintf(err, errlen, "not valid JSON (unexpected text at "
		    "byte %zu)", (size_t)(end - text));
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "expected a JSON object, got %s",
		    json_kind(root));
		goto out;
	}

	if (get_int(&p, root, "", "version", 0, INT32_MAX, &version) == -1)
		goto out;
	if (version != STATE_VERSION) {
		snprintf(err, errlen, "version: %" PRId64 " is not supported "
		    "(this portkeeperd reads version %d)", version,
		    STATE_VERSION);
		goto out;
	}

	/* Not known yet when the daemon first saved: missing or "". */
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "internal_ip")) !=
	    NULL && !(cJSON_IsString(v) && v->valuestring != NULL &&
	    v->valuestring[0] == '\0')) {
		if (get_ip(&p, root, "", "internal_ip", 1, st->internal_ip) ==
		    -1)
			goto out;
	}

	if ((v = cJSON_GetObjectItemCaseSensitive(root,
	    "external_ip_history")) != NULL &&
	    parse_history(&p, v, st) == -1)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "mappings")) != NULL &&
	    parse_mappings(&p, v, st) == -1)
		goto out;
	/* Pinholes came with issue 16: an older file has none. */
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "pinholes")) != NULL &&
	    state_pinholes_parse(v, st, err, errlen) == -1)
		goto out;
	if ((v = cJSON_GetObjectItemCaseSensitive(root, "ipv6_history")) !=
	    NULL && state_ipv6_history_parse(v, st, err, errlen) == -1)
		goto out;
	rc = 0;
 out:
	cJSON_Delete(root);
	if (rc == -1)
		state_free(st);
	return rc;
}

/* Times go out as plain integers, never as "1e+16". */
static int
add_time(cJSON *obj, const char *key, int64_t t)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, t);
	return cJSON_AddRawToObject(obj, key, buf) == NULL ? -1 : 0;
}

char *
state_to_json(const struct state *st)
{
	cJSON *root, *arr, *o;
	char *text = NULL;
	size_t i;

	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	if (cJSON_AddNumberToObject(root, "version", STATE_VERSION) == NULL ||
	    cJSON_AddStringToObject(root, "internal_ip", st->internal_ip) ==
	    NULL)
		goto out;

	if ((arr = cJSON_AddArrayToObject(root, "external_ip_history")) ==
	    NULL)
		goto out;
	for (i = 0; i < st->nhist; i++) {
		const struct state_ip *h = &st->hist[i];

		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "ip", h->ip) == NULL ||
		    add_time(o, "first_seen", h->first_seen) == -1 ||
		    add_time(o, "last_seen", h->last_seen) == -1)
			goto out;
	}

	if ((arr = cJSON_AddArrayToObject(root, "mappings")) == NULL)
		goto out;
	for (i = 0; i < st->nm; i++) {
		const struct state_mapping *m = &st->m[i];

		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "name", m->name) == NULL ||
		    cJSON_AddStringToObject(o, "protocol",
		    portspec_proto_str(m->proto)) == NULL ||
		    cJSON_AddNumberToObject(o, "external_port", m->ext) ==
		    NULL ||
		    cJSON_AddNumberToObject(o, "internal_port", m->in) ==
		    NULL ||
		    cJSON_AddStringToObject(o, "internal_ip", m->internal_ip) ==
		    NULL ||
		    cJSON_AddStringToObject(o, "method",
		    portmap_method_str(m->method)) == NULL ||
		    add_time(o, "expires", m->expires) == -1)
			goto out;
	}
	if (state_pinholes_json(root, st) == -1 ||
	    state_ipv6_history_json(root, st) == -1)
		goto out;
	text = cJSON_Print(root);
 out:
	cJSON_Delete(root);
	return text;
}

int
state_save(const char *dir, const struct state *st, char *err,
    size_t errlen)
{
	char *json, *text = NULL;
	int rc = -1, n;

	/* One JSON document on one line, ending in a newline. */
	if ((json = state_to_json(st)) != NULL &&
	    (n = asprintf(&text, "%s\n", json)) != -1) {
		rc = file_write_atomic(dir, STATE_FILE, text, (size_t)n, 0600,
		    err, errlen);
		free(text);
	} else
		snprintf(err, errlen, "%s/%s: %s", dir, STATE_FILE,
		    strerror(ENOMEM));
	free(json);
	return rc;
}

int
state_load(const char *dir, struct state *st, char *err, size_t errlen)
{
	char path[PATH_MAX], perr[256];
	char *buf;
	size_t len;
	int r;

	state_init(st);
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, STATE_FILE) >=
	    sizeof(path)) {
		snprintf(err, errlen, "%s: state directory name too long",
		    dir);
		return -1;
	}
	/* First start: nothing remembered yet. */
	if ((r = file_read_bounded(path, STATE_SIZE_MAX, &buf, &len, err,
	    errlen)) <= 0)
		return r;
	r = state_parse(buf, len, st, perr, sizeof(perr));
	if (r == -1)
		snprintf(err, errlen, "%s: %s", path, perr);
	free(buf);
	return r == -1 ? -1 : 0;
}

int
state_note_external_ip(struct state *st, const char *ip, int64_t now,
    char old[16])
{
	struct state_ip *cur;

	old[0] = '\0';
	/*
	 * Only real addresses go into the history, which is read back as
	 * strictly as everything else: "" (the router has none) or garbage
	 * is not a change of address worth remembering.
	 */
	if (!any_ip_valid(ip))
		return 0;
	if (now < 0)
		now = 0;
	if ((double)now > STATE_TIME_MAX)
		now = (int64_t)STATE_TIME_MAX;

	if (st->nhist > 0) {
		cur = &st->hist[st->nhist - 1];
		if (strcmp(cur->ip, ip) == 0) {
			cur->last_seen = now;
			return 0;
		}
		str_copy(old, cur->ip, 16);
	}
	if (st->nhist == STATE_HISTORY_MAX) {
		memmove(&st->hist[0], &st->hist[1],
		    (STATE_HISTORY_MAX - 1) * sizeof(st->hist[0]));
		st->nhist--;
	}
	cur = &st->hist[st->nhist++];
	memset(cur, 0, sizeof(*cur));
	str_copy(cur->ip, ip, sizeof(cur->ip));
	cur->first_seen = cur->last_seen = now;
	return 1;
}

struct state_mapping *
state_find(struct state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nm; i++)
		if (strcmp(st->m[i].name, name) == 0)
			return &st->m[i];
	return NULL;
}

int
state_put(struct state *st, const struct state_mapping *m)
{
	struct state_mapping *cur;

	if (mapping_problem(m) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((cur = state_find(st, m->name)) != NULL) {
		*cur = *m;
		return 0;
	}
	/* state_parse would refuse the file with one more. */
	if (st->nm >= STATE_MAPPINGS_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if (grow(st) == -1)
		return -1;
	st->m[st->nm++] = *m;
	return 0;
}

void
state_remove(struct state *st, const char *name)
{
	struct state_mapping *m;
	size_t i;

	if ((m = state_find(st, name)) == NULL)
		return;
	i = (size_t)(m - st->m);
	memmove(&st->m[i], &st->m[i + 1], (st->nm - i - 1) * sizeof(*m));
	st->nm--;
}

/*
 * The IPv6 part of state.json: the history of this host's IPv6 address,
 * and the pinholes.  For each forward kept over IPv6, what
 * identifies its pinhole on the router.  No protocol lets a client list
 * pinholes, and a PCP refresh or delete must carry the nonce the mapping
 * was made with (RFC 6887 section 11.1), so without this record a
 * restarted daemon could neither refresh nor close what it opened.  Read
 * back as strictly as the rest of the file (state.c): a record with any
 * field off refuses the whole file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr6.h"
#include "state.h"
#include "util.h"

/* The array grows in steps of this many records. */
#define STATE_PINHOLE_GROW	16

/* Why a record cannot be kept, as the field at fault; NULL when it can. */
static const char *
state_pinhole_problem(const struct state_pinhole *p)
{
	struct in6_addr a;

	if (!config_name_ok(p->name, strnlen(p->name, sizeof(p->name))) ||
	    strnlen(p->name, sizeof(p->name)) >= sizeof(p->name))
		return "name";
	if (p->id.family != 6)
		return "family";
	if (p->id.proto != PM_TCP && p->id.proto != PM_UDP)
		return "protocol";
	if (strnlen(p->id.addr, sizeof(p->id.addr)) >= sizeof(p->id.addr) ||
	    addr6_parse(p->id.addr, &a) != ADDR6_GLOBAL)
		return "address";
	/* IPv6 has no port translation. */
	if (p->id.port == 0 || p->id.ext_port != p->id.port)
		return "port";
	if (p->id.kind != MS_PCP && p->id.kind != MS_UPNP_PINHOLE)
		return "kind";
	if (p->id.expires < 0 || p->id.expires > 1000000000000000LL)
		return "expires";
	if (p->lease == 0)
		return "lease";
	return NULL;
}

static int
state_pinhole_grow(struct state *st)
{
	struct state_pinhole *p;

	if (st->nph % STATE_PINHOLE_GROW != 0)
		return 0;
	p = reallocarray(st->ph, st->nph + STATE_PINHOLE_GROW, sizeof(*p));
	if (p == NULL)
		return -1;
	st->ph = p;
	return 0;
}

/* One record: the mapstore entry's fields plus "name" and "lease". */
static int
state_pinhole_parse_one(const cJSON *o, size_t i, struct state_pinhole *p,
    char *err, size_t errlen)
{
	const cJSON *name, *lease;
	const char *bad;

	memset(p, 0, sizeof(*p));
	if (!cJSON_IsObject(o)) {
		snprintf(err, errlen, "pinholes[%zu]: expected an object", i);
		return -1;
	}
	name = cJSON_GetObjectItemCaseSensitive(o, "name");
	lease = cJSON_GetObjectItemCaseSensitive(o, "lease");
	if (!cJSON_IsString(name) || str_copy(p->name, name->valuestring,
	    sizeof(p->name)) == -1) {
		snprintf(err, errlen, "pinholes[%zu].name: expected a forward "
		    "name", i);
		return -1;
	}
	if (!cJSON_IsNumber(lease) || lease->valuedouble < 1 ||
	    lease->valuedouble > UINT32_MAX ||
	    lease->valuedouble != (double)(uint32_t)lease->valuedouble) {
		snprintf(err, errlen, "pinholes[%zu].lease: expected 1 to %u "
		    "seconds", i, UINT32_MAX);
		return -1;
	}
	p->lease = (uint32_t)lease->valuedouble;
	if (mapstore_entry_parse(o, &p->id) == -1) {
		snprintf(err, errlen, "pinholes[%zu]: not a pinhole (family, "
		    "protocol, address, port, external_port, expires, kind, "
		    "and a nonce or unique_id)", i);
		return -1;
	}
	if ((bad = state_pinhole_problem(p)) != NULL) {
		snprintf(err, errlen, "pinholes[%zu].%s: out of range", i,
		    bad);
		return -1;
	}
	return 0;
}

int
state_pinholes_parse(const cJSON *arr, struct state *st, char *err,
    size_t errlen)
{
	const cJSON *o;
	size_t i;

	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "pinholes: expected an array");
		return -1;
	}
	/* One forgotten would stay open until its lease ran out. */
	if (cJSON_GetArraySize(arr) > STATE_PINHOLES_MAX) {
		snprintf(err, errlen, "pinholes: more than %d entries",
		    STATE_PINHOLES_MAX);
		return -1;
	}
	cJSON_ArrayForEach(o, arr) {
		if (state_pinhole_grow(st) == -1) {
			snprintf(err, errlen, "pinholes: %s", strerror(errno));
			return -1;
		}
		if (state_pinhole_parse_one(o, st->nph, &st->ph[st->nph], err,
		    errlen) == -1)
			return -1;
		/* A forward has one pinhole; its name finds it again. */
		for (i = 0; i < st->nph; i++)
			if (strcmp(st->ph[i].name, st->ph[st->nph].name) == 0) {
				snprintf(err, errlen, "pinholes[%zu].name: "
				    "already used by pinholes[%zu]", st->nph,
				    i);
				return -1;
			}
		st->nph++;
	}
	return 0;
}

int
state_pinholes_json(cJSON *root, const struct state *st)
{
	cJSON *arr, *o;
	size_t i;

	if ((arr = cJSON_AddArrayToObject(root, "pinholes")) == NULL)
		return -1;
	for (i = 0; i < st->nph; i++) {
		if ((o = mapstore_entry_json(&st->ph[i].id)) == NULL)
			return -1;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "name", st->ph[i].name) ==
		    NULL || cJSON_AddNumberToObject(o, "lease",
		    st->ph[i].lease) == NULL)
			return -1;
	}
	return 0;
}

struct state_pinhole *
state_pinhole_find(struct state *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->nph; i++)
		if (strcmp(st->ph[i].name, name) == 0)
			return &st->ph[i];
	return NULL;
}

int
state_pinhole_put(struct state *st, const struct state_pinhole *p)
{
	struct state_pinhole *cur;

	if (state_pinhole_problem(p) != NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((cur = state_pinhole_find(st, p->name)) != NULL) {
		*cur = *p;
		return 0;
	}
	if (st->nph >= STATE_PINHOLES_MAX) {
		errno = ENOSPC;
		return -1;
	}
	if (state_pinhole_grow(st) == -1)
		return -1;
	st->ph[st->nph++] = *p;
	return 0;
}

void
state_pinhole_remove(struct state *st, const char *name)
{
	struct state_pinhole *p;
	size_t i;

	if ((p = state_pinhole_find(st, name)) == NULL)
		return;
	i = (size_t)(p - st->ph);
	memmove(&st->ph[i], &st->ph[i + 1], (st->nph - i - 1) * sizeof(*p));
	st->nph--;
}

/* Times as state.c bounds them: what a double holds exactly. */
#define STATE_IPV6_TIME_MAX	9007199254740992.0	/* 2^53 */

static int
state_ipv6_time(const cJSON *o, const char *key, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > STATE_IPV6_TIME_MAX ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -1;
	*out = (int64_t)v->valuedouble;
	return 0;
}

int
state_ipv6_history_parse(const cJSON *arr, struct state *st, char *err,
    size_t errlen)
{
	const cJSON *o, *ip;
	struct in6_addr a;
	size_t n, skip, i = 0;

	if (!cJSON_IsArray(arr)) {
		snprintf(err, errlen, "ipv6_history: expected an array");
		return -1;
	}
	/* A longer list than we keep loses its oldest, every entry checked. */
	n = (size_t)cJSON_GetArraySize(arr);
	skip = n > STATE_HISTORY_MAX ? n - STATE_HISTORY_MAX : 0;
	cJSON_ArrayForEach(o, arr) {
		struct state_ip6 h;

		memset(&h, 0, sizeof(h));
		ip = cJSON_GetObjectItemCaseSensitive(o, "ip");
		if (!cJSON_IsString(ip) || str_copy(h.ip, ip->valuestring,
		    sizeof(h.ip)) == -1 || addr6_parse(h.ip, &a) !=
		    ADDR6_GLOBAL || state_ipv6_time(o, "first_seen",
		    &h.first_seen) == -1 || state_ipv6_time(o, "last_seen",
		    &h.last_seen) == -1) {
			snprintf(err, errlen, "ipv6_history[%zu]: expected "
			    "a global IPv6 address (ip), first_seen and "
			    "last_seen", i);
			return -1;
		}
		if (i++ >= skip)
			st->hist6[st->nhist6++] = h;
	}
	return 0;
}

int
state_ipv6_history_json(cJSON *root, const struct state *st)
{
	cJSON *arr, *o;
	char t[32];
	size_t i;

	if ((arr = cJSON_AddArrayToObject(root, "ipv6_history")) == NULL)
		return -1;
	for (i = 0; i < st->nhist6; i++) {
		if ((o = cJSON_CreateObject()) == NULL)
			return -1;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "ip", st->hist6[i].ip) == NULL)
			return -1;
		/* Plain integers, never "1e+16", as state.c writes times. */
		snprintf(t, sizeof(t), "%lld", (long long)st->hist6[i].first_seen);
		if (cJSON_AddRawToObject(o, "first_seen", t) == NULL)
			return -1;
		snprintf(t, sizeof(t), "%lld", (long long)st->hist6[i].last_seen);
		if (cJSON_AddRawToObject(o, "last_seen", t) == NULL)
			return -1;
	}
	return 0;
}

int
state_note_ipv6(struct state *st, const char *ip, int64_t now,
    char old[INET6_ADDRSTRLEN])
{
	struct state_ip6 *cur;
	struct in6_addr a;

	old[0] = '\0';
	if (strnlen(ip, INET6_ADDRSTRLEN) >= INET6_ADDRSTRLEN ||
	    addr6_parse(ip, &a) != ADDR6_GLOBAL)
		return 0;
	if (now < 0)
		now = 0;
	if ((double)now > STATE_IPV6_TIME_MAX)
		now = (int64_t)STATE_IPV6_TIME_MAX;
	if (st->nhist6 > 0) {
		cur = &st->hist6[st->nhist6 - 1];
		if (strcmp(cur->ip, ip) == 0) {
			cur->last_seen = now;
			return 0;
		}
		str_copy(old, cur->ip, INET6_ADDRSTRLEN);
	}
	if (st->nhist6 == STATE_HISTORY_MAX) {
		memmove(&st->hist6[0], &st->hist6[1],
		    (STATE_HISTORY_MAX - 1) * sizeof(st->hist6[0]));
		st->nhist6--;
	}
	cur = &st->hist6[st->nhist6++];
	memset(cur, 0, sizeof(*cur));
	str_copy(cur->ip, ip, sizeof(cur->ip));
	cur->first_seen = cur->last_seen = now;
	return 1;
}

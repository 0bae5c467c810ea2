/*
 * The pinholes of state.json: for each forward kept over IPv6, what
 * identifies its pinhole on the router.  No protocol lets a client list
 * pinholes, and a PCP refresh or delete must carry the nonce the mapping
 * was made with (RFC 6887 section 11.1), so without this record a
 * restarted daemon could neither refresh nor close what it opened.  Read
 * back as strictly as the rest of the file (state.c): a record with any
 * field off refuses the whole file.
 */
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

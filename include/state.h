/*
 * What portkeeperd remembers across restarts, as JSON in state_dir: the
 * forwards it made on the router and the history of the router's external
 * address.  Written atomically (temporary file, fsync, rename, fsync of the
 * directory), so a power cut leaves either the old or the new file.
 */
#ifndef PK_STATE_H
#define PK_STATE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "mapping.h"
#include "mapstore.h"

#define STATE_FILE		"state.json"
#define STATE_HISTORY_MAX	32	/* external addresses remembered */
#define STATE_MAPPINGS_MAX	CONFIG_FORWARDS_MAX

/* A forward this daemon made on the router. */
struct state_mapping {
	char		name[CONFIG_NAME_MAX];
	enum pm_proto	proto;
	uint16_t	ext;
	uint16_t	in;
	char		internal_ip[16];
	enum pm_method	method;		/* PM_UPNP or PM_NATPMP */
	int64_t		expires;	/* wall clock, seconds; 0 permanent */
};

struct state_ip {
	char		ip[16];
	int64_t		first_seen;	/* wall clock, seconds */
	int64_t		last_seen;
};

/*
 * A pinhole this daemon opened for a forward over IPv6: what identifies it
 * on the router (a PCP nonce or a UPnP UniqueID, as the command line's
 * mappings.json has it), so that a restarted daemon can refresh and close
 * it.  id.expires is wall clock seconds.
 */
#define STATE_PINHOLES_MAX	CONFIG_FORWARDS_MAX
struct state_pinhole {
	char			name[CONFIG_NAME_MAX];
	struct mapstore_entry	id;
	uint32_t		lease;		/* as granted */
};

/* One of this host's IPv6 addresses pinholes were opened for. */
struct state_ip6 {
	char		ip[INET6_ADDRSTRLEN];
	int64_t		first_seen;	/* wall clock, seconds */
	int64_t		last_seen;
};

struct state {
	struct state_mapping	*m;
	size_t			 nm;
	struct state_pinhole	*ph;
	size_t			 nph;
	/* Oldest first; the last entry is the current address. */
	struct state_ip		 hist[STATE_HISTORY_MAX];
	size_t			 nhist;
	char			 internal_ip[16];
	/* Oldest first; the last entry is the current IPv6 address. */
	struct state_ip6	 hist6[STATE_HISTORY_MAX];
	size_t			 nhist6;
};

/*
 * Errors are a sentence naming the file in a caller's buffer, not a struct
 * pm_error: a state file that cannot be read or written is logged for a
 * person.  The one failure the daemon treats differently is out of memory
 * (it keeps the file rather than set it aside as corrupt), which it finds
 * as strerror(ENOMEM) in the text; a second such case would be the time to
 * report a struct pm_error here instead.
 */
void	state_init(struct state *);
void	state_free(struct state *);

/*
 * Loads dir/state.json.  A missing file is an empty state (returns 0).
 * Returns -1 with a message naming the file and the problem when it cannot
 * be read or is not a valid state; *st is then empty.
 */
int	state_load(const char *dir, struct state *st, char *err, size_t errlen);

/* Writes dir/state.json atomically.  0, or -1 with err. */
int	state_save(const char *dir, const struct state *st, char *err,
	    size_t errlen);

/* The JSON text and back; state_parse checks every field (fuzzed). */
char	*state_to_json(const struct state *);	/* malloc'd, NULL on ENOMEM */
int	 state_parse(const char *text, size_t len, struct state *st,
	    char *err, size_t errlen);

/*
 * Records that the router's external address is ip at time now.  Returns 1
 * when it differs from the current one (copying the old one into old, ""
 * when there was none), 0 when it is the same (last_seen is updated).  The
 * oldest entry is dropped when the history is full.
 */
int	state_note_external_ip(struct state *, const char *ip, int64_t now,
	    char old[16]);

/* The mapping called name, or NULL; add/replace and remove by name. */
struct state_mapping	*state_find(struct state *, const char *name);
int			 state_put(struct state *, const struct state_mapping *);
void			 state_remove(struct state *, const char *name);

/*
 * The IPv6 part of state.json (state_ipv6.c).  The history of this host's
 * IPv6 address, "ipv6_history", as state_note_external_ip keeps the
 * router's: state_note_ipv6 returns 1 when ip differs from the current
 * one (old gets that one, "" when there was none), 0 when it is the same.
 */
int	state_ipv6_history_parse(const cJSON *arr, struct state *, char *err,
	    size_t errlen);
int	state_ipv6_history_json(cJSON *root, const struct state *);
int	state_note_ipv6(struct state *, const char *ip, int64_t now,
	    char old[INET6_ADDRSTRLEN]);

/*
 * The pinholes: the "pinholes" array of state.json read
 * (every field checked; where names it in err) and written, and the record
 * of a forward's pinhole found, added or replaced, and removed by name.
 * state_pinhole_put refuses (-1, errno) a record it would not read back.
 */
int	state_pinholes_parse(const cJSON *arr, struct state *, char *err,
	    size_t errlen);
int	state_pinholes_json(cJSON *root, const struct state *);
struct state_pinhole *state_pinhole_find(struct state *, const char *name);
int	state_pinhole_put(struct state *, const struct state_pinhole *);
void	state_pinhole_remove(struct state *, const char *name);

#endif

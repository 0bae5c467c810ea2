/*
 * What the command line must remember between `open` and `close` about a
 * mapping it made: the 96-bit nonce of a PCP mapping (RFC 6887 section
 * 11.1: a refresh or delete must carry the nonce the mapping was made
 * with) and the UniqueID of a UPnP IGDv2 pinhole (DeletePinhole takes
 * nothing else).  No protocol lets a client list pinholes, so without
 * this a pinhole could only be left to expire.
 *
 * The entries live in one small JSON file, mappings.json, in the runtime
 * directory ($XDG_RUNTIME_DIR/portkeeper, else /run/portkeeper), written
 * atomically with mode 0600: a nonce is what lets its holder delete the
 * mapping, so no other user may read it.  Entries whose lease ran out are
 * dropped whenever the file is written.
 */
#ifndef PK_MAPSTORE_H
#define PK_MAPSTORE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pcp.h"
#include "portspec.h"

#define MAPSTORE_MAX	256
#define MAPSTORE_FILE	"mappings.json"

enum mapstore_kind {
	MS_PCP = 1,		/* nonce */
	MS_UPNP_PINHOLE,	/* unique_id */
};

struct mapstore_entry {
	int			family;		/* 4 or 6 */
	enum pm_proto		proto;
	char			addr[INET6_ADDRSTRLEN];	/* internal */
	uint16_t		port;		/* internal */
	uint16_t		ext_port;
	enum mapstore_kind	kind;
	uint8_t			nonce[PCP_NONCE_LEN];
	uint16_t		unique_id;
	int64_t			expires;	/* wall clock s; 0 unknown */
};

/*
 * The directory the command line keeps its file in, created (0700) when
 * missing.  0, or -1 with "PATH: reason" in err.
 */
int	mapstore_dir(char *dir, size_t dirlen, char *err, size_t errlen);

/*
 * Records e in dir, replacing an entry for the same family, protocol,
 * address and internal port.  0, or -1 with the reason in err.
 */
int	mapstore_put(const char *dir, const struct mapstore_entry *e,
	    char *err, size_t errlen);

/*
 * Finds the entry for family/proto/addr/port of the given kind.  1 found
 * (*out filled), 0 none, -1 the file could not be read or is not ours
 * (err says why).
 */
int	mapstore_get(const char *dir, int family, enum pm_proto proto,
	    const char *addr, uint16_t port, enum mapstore_kind kind,
	    struct mapstore_entry *out, char *err, size_t errlen);

/* Forgets that entry.  0 (also when there was none), or -1 with err. */
int	mapstore_del(const char *dir, int family, enum pm_proto proto,
	    const char *addr, uint16_t port, enum mapstore_kind kind,
	    char *err, size_t errlen);

/*
 * The entries whose lease has not run out, at most max, into out.  The
 * count, or -1 with err.
 */
int	mapstore_list(const char *dir, struct mapstore_entry *out, size_t max,
	    char *err, size_t errlen);

/*
 * Parses the file's text into at most max entries, skipping entries that
 * are malformed (a hand-edited or older file loses those, not the rest).
 * Returns the count, or -1 when text is not a mapstore file.  Kept apart
 * so that tests and the fuzzer can feed it anything.
 */
int	mapstore_parse(const char *text, size_t len,
	    struct mapstore_entry *out, size_t max);

/*
 * One entry as the file has it, and back: -1 when anything in it is off.
 * portkeeperd's state.json keeps its pinholes in the same form.
 */
cJSON	*mapstore_entry_json(const struct mapstore_entry *);
int	 mapstore_entry_parse(const cJSON *, struct mapstore_entry *);

#endif

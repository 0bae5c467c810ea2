/*
 * The channel between portkeeperd and its web process (portkeeperd-web):
 * messages over a stream socket, each a frame of its length, its type, a
 * request id and up to CHAN_FIELDS byte strings.  Both ends are
 * non-blocking: what cannot be written now waits in the channel until the
 * socket takes it (chan_want_write: poll for POLLOUT), and what is read
 * comes out whole messages at a time.
 *
 * Frame (integers big-endian): u32 length of what follows, u8 type,
 * u32 id, u32 number, u8 count, then count times u32 length and bytes.
 */
#ifndef PK_CHAN_H
#define PK_CHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHAN_FIELDS	12
/* A frame's most: a status document of 1,000 forwards is some 600 KB. */
#define CHAN_FRAME_MAX	(8u * 1024 * 1024)

enum chan_type {
	CHAN_REQ = 1,	/* web -> daemon: a request, its fields CHAN_RQ_* */
	CHAN_RESP,	/* daemon -> web: the answer, its fields CHAN_RS_* */
	CHAN_DONE,	/* web -> daemon: the request (or stream) ended */
	CHAN_PULL,	/* web -> daemon: a stream wants more */
	CHAN_DATA,	/* daemon -> web: a stream's next bytes (field 0) */
	CHAN_END,	/* daemon -> web: a stream ends */
	CHAN_READY,	/* web -> daemon: listening; number: its pid */
};

/* A request's fields; its number: bit 0 from [web], bit 1 read-only. */
enum {
	CHAN_RQ_METHOD, CHAN_RQ_URL, CHAN_RQ_BODY, CHAN_RQ_ORIGIN,
	CHAN_RQ_HOST, CHAN_RQ_FETCH_SITE, CHAN_RQ_CONTENT_TYPE,
	CHAN_RQ_CONTENT_LENGTH, CHAN_RQ_IF_NONE_MATCH, CHAN_RQ_LAST_EVENT_ID,
	CHAN_RQ_N
};
#define CHAN_RQ_WEB		0x1
#define CHAN_RQ_READ_ONLY	0x2
#define CHAN_RQ_TOO_LARGE	0x4

/*
 * An answer's fields; its number: the HTTP status, 0 to close the
 * connection, with CHAN_RS_STREAM or'ed in for an event stream.
 */
enum {
	CHAN_RS_TYPE, CHAN_RS_BODY, CHAN_RS_ETAG, CHAN_RS_CACHE, CHAN_RS_HNAME,
	CHAN_RS_HVALUE, CHAN_RS_N
};
#define CHAN_RS_STREAM		0x10000

/* A field: NULL for one absent (sent as length 0xffffffff). */
struct chan_field {
	const char	*p;
	uint32_t	 len;
};

struct chan_msg {
	uint8_t			 type;
	uint32_t		 id;
	uint32_t		 num;
	uint8_t			 n;
	struct chan_field	 f[CHAN_FIELDS];
};

struct chan {
	int	 fd;
	char	*in;		/* what was read, from in_off */
	size_t	 in_len, in_off, in_cap;
	char	*out;		/* what waits to be written, from out_off */
	size_t	 out_len, out_off, out_cap;
};

void	chan_init(struct chan *, int fd);
/* Closes the descriptor and frees the buffers. */
void	chan_close(struct chan *);
/* Queues m and writes what the socket takes; -1: out of memory, too big. */
int	chan_send(struct chan *, const struct chan_msg *m);
/* Writes what waits; -1 when the other end is gone. */
int	chan_flush(struct chan *);
bool	chan_want_write(const struct chan *);
/*
 * Reads once: 1 when it read something (take the whole messages out with
 * chan_next, then read again), 0 when there is nothing to read now, -1
 * when the other end closed or on an error.
 */
int	chan_read(struct chan *);
/*
 * The next whole message into *m, its fields pointing into the channel
 * until the next chan_read or chan_next: 1, or 0 for none yet, or -1 for
 * a malformed frame (the channel is then of no more use).
 */
int	chan_next(struct chan *, struct chan_msg *m);
/* A field as a new NUL-terminated string ("" for an absent one); NULL: no memory. */
char	*chan_strdup(const struct chan_field *);
/* Fills m's field i with a string (NULL: absent). */
void	chan_set(struct chan_msg *, unsigned i, const char *s);

#endif

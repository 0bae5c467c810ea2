/*
 * The HTTP reader that stands in for miniupnpc's (upnp_http_parse): the
 * bytes of the router's answer to a description fetch or a SOAP request,
 * as recv() has delivered them so far.
 *
 * Input: the answer.  It is parsed as the caller does, in a buffer of
 * exactly its length plus the NUL the caller adds, once as a connection
 * still open and once as a closed one, and its first half is parsed as
 * what had arrived earlier.  Beyond not crashing, the parser must keep its
 * promises: a complete answer has a status from 100 to 599 and a body
 * inside the buffer of at most 128 KiB; an error says why; and an answer
 * complete on a connection still open stays complete, and the same, when
 * more bytes or the close follow, since the caller stops reading there.
 */
#include "fuzz.h"

#include "upnp.h"

struct result {
	int		 rc;
	int		 status;
	size_t		 off;		/* body - buf */
	size_t		 bodylen;
	char		*copy;		/* the decoded body */
};

static void
parse(const uint8_t *data, size_t len, int eof, struct result *r)
{
	char *buf = fuzz_strndup(data, len), *body = NULL;
	const char *why = NULL;

	r->status = -1;
	r->bodylen = (size_t)-1;
	r->copy = NULL;
	r->rc = upnp_http_parse(buf, len, eof, &r->status, &body, &r->bodylen,
	    &why);
	FUZZ_ASSERT(r->rc >= -1 && r->rc <= 1);
	if (r->rc == -1)
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
	if (r->rc == 1) {
		FUZZ_ASSERT(r->status >= 100 && r->status <= 599);
		FUZZ_ASSERT(body != NULL && body >= buf && body <= buf + len);
		FUZZ_ASSERT(r->bodylen <= (size_t)(buf + len - body));
		FUZZ_ASSERT(r->bodylen <= UPNP_HTTP_MAX);
		r->off = (size_t)(body - buf);
		r->copy = fuzz_strndup((const uint8_t *)body, r->bodylen);
	}
	/* Only rc 0 may leave the caller waiting, and only while open. */
	if (eof)
		FUZZ_ASSERT(r->rc != 0);
	free(buf);
}

static void
same(const struct result *a, const struct result *b)
{
	FUZZ_ASSERT(b->rc == 1);
	FUZZ_ASSERT(a->status == b->status);
	FUZZ_ASSERT(a->off == b->off);
	FUZZ_ASSERT(a->bodylen == b->bodylen);
	FUZZ_ASSERT(memcmp(a->copy, b->copy, a->bodylen) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result half, open, closed;

	if (size > UPNP_HTTP_MAX + 16384)
		return 0;
	parse(data, size / 2, 0, &half);
	parse(data, size, 0, &open);
	parse(data, size, 1, &closed);
	if (half.rc == 1) {
		same(&half, &open);
		same(&half, &closed);
	}
	if (open.rc == 1)
		same(&open, &closed);
	free(half.copy);
	free(open.copy);
	free(closed.copy);
	return 0;
}

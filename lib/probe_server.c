/*
 * The probe server.  See probe.h for the exchange.
 *
 * The server is libmicrohttpd with a thread per connection: a probe blocks
 * for up to the connect-back timeout, and at most PROBE_CONN_MAX of them
 * (PROBE_CONN_PER_IP per address) run at once.  Bodies are capped at
 * PROBE_BODY_MAX bytes, idle connections closed after PROBE_IDLE_S, and a
 * request must be whole (headers and body) within PROBE_REQUEST_S of its
 * connection opening (httpguard.h): a client that trickles bytes to keep
 * its connections cannot hold the slots.  Eight addresses used to be enough
 * to fill them all (8 x 4); now 64 are.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "httpguard.h"
#include "log.h"
#include "probe.h"
#include "util.h"

#ifndef PK_VERSION
#define PK_VERSION "0.1.0"
#endif

#define PROBE_CONN_PER_IP	4
#define PROBE_IDLE_S		10
#define PROBE_REQUEST_S		10
/* Threads wait for a connect-back or a socket, never recurse deeply. */
#define PROBE_THREAD_STACK	(256 * 1024)
#define PROBE_MEMORY_LIMIT	(32 * 1024)
#define PROBE_RATE_SOURCES	4096

/* ------------------------------------------------------------------ */
/* Rate limit: a token bucket per source */

struct rate_ent {
	unsigned char	key[8];
	uint8_t		klen;
	double		tokens;
	int64_t		last;
};

struct probe_rate {
	pthread_mutex_t	 lock;
	double		 cap;
	double		 per_ms;
	struct rate_ent	*v;
	size_t		 n, max;
};

struct probe_rate *
probe_rate_new(unsigned per_minute, size_t max_sources)
{
	struct probe_rate *r;

	if (per_minute == 0 || max_sources == 0 ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->v = calloc(max_sources, sizeof(*r->v))) == NULL) {
		free(r);
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	r->cap = per_minute;
	r->per_ms = per_minute / 60000.0;
	r->max = max_sources;
	return r;
}

void
probe_rate_free(struct probe_rate *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->v);
	free(r);
}

/* The bucket key: the IPv4 address, or the /64 of an IPv6 one. */
static size_t
rate_key(const struct sockaddr *sa, unsigned char key[8])
{
	if (sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 4;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
			memcpy(key, &s6->sin6_addr.s6_addr[12], 4);
			return 4;
		}
		memcpy(key, s6->sin6_addr.s6_addr, 8);
		return 8;
	}
	return 0;
}

static double
rate_refill(const struct probe_rate *r, const struct rate_ent *e,
    int64_t now)
{
	double t = e->tokens + (double)(now - e->last) * r->per_ms;

	return t > r->cap ? r->cap : t;
}

int
probe_rate_take(struct probe_rate *r, const struct sockaddr *sa, int64_t now,
    int *retry_after)
{
	unsigned char key[8];
	size_t klen = rate_key(sa, key), i, victim = 0;
	double best = -1, t;
	struct rate_ent *e = NULL;
	int rc = 0;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->n; i++) {
		if (r->v[i].klen == klen && memcmp(r->v[i].key, key, klen) == 0) {
			e = &r->v[i];
			break;
		}
	}
	if (e == NULL) {
		if (r->n < r->max)
			e = &r->v[r->n++];
		else {
			/* Forget the source that is closest to a full bucket. */
			for (i = 0; i < r->n; i++) {
				t = rate_refill(r, &r->v[i], now);
				if (t > best) {
					best = t;
					victim = i;
				}
			}
			e = &r->v[victim];
		}
		memcpy(e->key, key, klen);
		e->klen = (uint8_t)klen;
		e->tokens = r->cap;
		e->last = now;
	}
	e->tokens = rate_refill(r, e, now);
	e->last = now;
	if (e->tokens >= 1.0)
		e->tokens -= 1.0;
	else {
		/* Whole seconds, rounded up. */
		*retry_after = (int)((1.0 - e->tokens) / r->per_ms / 1000) + 1;
		if (*retry_after < 1)
			*retry_after = 1;
		rc = -1;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The server */

struct probe_server {
	struct MHD_Daemon	*mhd;
	struct httpguard	*guard;
	int			 fd;
	struct probe_rate	*rate;
	unsigned		 per_minute;
	int			 connect_ms;
};

struct conn_body {
	char	buf[PROBE_BODY_MAX];
	size_t	len;
	bool	too_big;
};

static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, cJSON *obj,
    int retry_after)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char *s, ra[16];

	s = cJSON_PrintUnformatted(obj);
	cJSON_Delete(obj);
	if (s == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(s), s,
	    MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "application/json");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, "Allow", "GET, POST");
	if (retry_after > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(resp, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
respond_error(struct MHD_Connection *c, unsigned status, const char *field,
    const char *msg, int retry_after)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "error", msg);
	if (field != NULL)
		cJSON_AddStringToObject(obj, "field", field);
	return respond(c, status, obj, retry_after);
}

static enum MHD_Result
serve_probe(struct probe_server *ps, struct MHD_Connection *c,
    const struct conn_body *b)
{
	const union MHD_ConnectionInfo *ci;
	struct probe_req req;
	struct probe_outcome out;
	char src[PROBE_ADDR_MAX], field[48], msg[256];
	cJSON *obj;
	int retry;

	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL)
		return MHD_NO;
	probe_addr_str(ci->client_addr, src, sizeof(src));
	/* Every request counts, good or bad: a flood is a flood. */
	if (probe_rate_take(ps->rate, ci->client_addr, mono_ms(), &retry) ==
	    -1) {
		log_info("probe from %s: rate limited", src);
		snprintf(msg, sizeof(msg), "rate limited: at most %u probes a "
		    "minute from %s; try again in %d s", ps->per_minute, src,
		    retry);
		return respond_error(c, MHD_HTTP_TOO_MANY_REQUESTS, NULL, msg,
		    retry);
	}
	if (b->too_big) {
		snprintf(msg, sizeof(msg), "the body is larger than %d bytes",
		    PROBE_BODY_MAX);
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, msg,
		    0);
	}
	if (probe_req_parse(b->buf, b->len, &req, field, sizeof(field), msg,
	    sizeof(msg)) == -1) {
		log_info("probe from %s: refused: %s", src, msg);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, field[0] != '\0' ?
		    field : NULL, msg, 0);
	}
	/* The one address this server ever connects to: the requester's. */
	probe_connect_back(ci->client_addr, req.port, req.proto, req.token,
	    ps->connect_ms, &out);
	log_info("probe from %s: %u/%s %s%s (%d ms)", src, req.port,
	    portspec_proto_str(req.proto), out.reachable ? "reachable" : "unreachable",
	    req.token[0] == '\0' ? "" : out.token_echoed ? ", token answered" :
	    ", token not answered", out.elapsed_ms);
	obj = cJSON_CreateObject();
	cJSON_AddBoolToObject(obj, "reachable", out.reachable);
	cJSON_AddStringToObject(obj, "source_seen", src);
	cJSON_AddNumberToObject(obj, "port", req.port);
	cJSON_AddStringToObject(obj, "protocol", portspec_proto_str(req.proto));
	if (req.token[0] != '\0')
		cJSON_AddBoolToObject(obj, "token_echoed", out.token_echoed);
	cJSON_AddNumberToObject(obj, "elapsed_ms", out.elapsed_ms);
	cJSON_AddStringToObject(obj, "detail", out.detail);
	return respond(c, MHD_HTTP_OK, obj, 0);
}

static enum MHD_Result
serve(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data,
    size_t *size, void **con_cls)
{
	struct probe_server *ps = cls;
	struct conn_body *b = *con_cls;
	cJSON *obj;

	(void)version;
	if (b == NULL) {
		if ((b = calloc(1, sizeof(*b))) == NULL)
			return MHD_NO;
		*con_cls = b;
		return MHD_YES;
	}
	if (*size != 0) {
		if (b->len + *size > sizeof(b->buf))
			b->too_big = true;
		else {
			memcpy(b->buf + b->len, data, *size);
			b->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	/* Headers and body are in: from here on it may take its time. */
	httpguard_complete(ps->guard, c);
	if (strcmp(url, "/probe") != 0 && strcmp(url, "/") != 0)
		return respond_error(c, MHD_HTTP_NOT_FOUND, NULL, "no such path: "
		    "POST /probe", 0);
	if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "service", "portkeeper probe");
		cJSON_AddStringToObject(obj, "version", PK_VERSION);
		cJSON_AddStringToObject(obj, "usage", "POST /probe "
		    "{\"port\":N,\"protocol\":\"tcp\"}: connects back to the "
		    "address the request comes from");
		return respond(c, MHD_HTTP_OK, obj, 0);
	}
	if (strcmp(method, "POST") != 0 || strcmp(url, "/probe") != 0)
		return respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, NULL,
		    "use POST /probe", 0);
	return serve_probe(ps, c, b);
}

static void
conn_done(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct probe_server *ps = cls;

	(void)toe;
	httpguard_ended(ps->guard, c);
	free(*con_cls);
	*con_cls = NULL;
}

struct probe_server *
probe_server_start(const struct probe_server_opts *o, struct pm_error *err)
{
	struct probe_server *ps;
	char a[80];
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION;
	int one = 1, zero = 0;

	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		return NULL;
	}
	ps->fd = -1;
	ps->per_minute = o->rate;
	ps->connect_ms = o->connect_ms;
	if ((ps->rate = probe_rate_new(o->rate, PROBE_RATE_SOURCES)) == NULL ||
	    (ps->guard = httpguard_new(PROBE_REQUEST_S * 1000)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "out of memory");
		goto fail;
	}
	if (httpguard_start_thread(ps->guard) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot start a thread: %s",
		    strerror(errno));
		goto fail;
	}
	/*
	 * The socket is ours, not libmicrohttpd's, so that a failure to bind
	 * is reported with its real reason, and "[::]" takes IPv4 too.
	 */
	if ((ps->fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC,
	    0)) == -1) {
		pmerr_set(err, PME_NETWORK, 0, "socket: %s", strerror(errno));
		goto fail;
	}
	setsockopt(ps->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)&o->addr;

		flags |= MHD_USE_IPv6;
		setsockopt(ps->fd, IPPROTO_IPV6, IPV6_V6ONLY,
		    IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ? &zero : &one,
		    sizeof(int));
	}
	if (bind(ps->fd, (const struct sockaddr *)&o->addr, o->addrlen) == -1 ||
	    listen(ps->fd, 64) == -1) {
		probe_addr_str((const struct sockaddr *)&o->addr, a, sizeof(a));
		pmerr_set(err, PME_NETWORK, 0, "cannot listen on %s port %u: %s",
		    a, ntohs(((const struct sockaddr_in *)&o->addr)->sin_port),
		    strerror(errno));
		goto fail;
	}
	ps->mhd = MHD_start_daemon(flags, 0, NULL, NULL, serve, ps,
	    MHD_OPTION_LISTEN_SOCKET, ps->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)PROBE_CONN_MAX,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PROBE_CONN_PER_IP,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PROBE_IDLE_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PROBE_MEMORY_LIMIT,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)PROBE_THREAD_STACK,
	    MHD_OPTION_NOTIFY_COMPLETED, conn_done, ps,
	    MHD_OPTION_NOTIFY_CONNECTION, httpguard_notify, ps->guard,
	    MHD_OPTION_END);
	if (ps->mhd == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "libmicrohttpd could not start");
		goto fail;
	}
	return ps;
fail:
	if (ps->fd != -1)
		close(ps->fd);
	httpguard_free(ps->guard);
	probe_rate_free(ps->rate);
	free(ps);
	return NULL;
}

void
probe_server_addr(const struct probe_server *ps, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char a[PROBE_ADDR_MAX];

	if (getsockname(ps->fd, (struct sockaddr *)&ss, &sl) == -1) {
		str_copy(buf, "?", len);
		return;
	}
	probe_addr_str((struct sockaddr *)&ss, a, sizeof(a));
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", a,
	    ntohs(((struct sockaddr_in *)&ss)->sin_port));
}

void
probe_server_stop(struct probe_server *ps)
{
	if (ps == NULL)
		return;
	MHD_stop_daemon(ps->mhd);
	httpguard_free(ps->guard);
	close(ps->fd);
	probe_rate_free(ps->rate);
	free(ps);
}

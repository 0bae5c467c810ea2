/*
 * The checks of a request on the [web] listener before the API sees it:
 * the Host allow-list, and HTTP Basic authentication (RFC 7617) with
 * failed logins limited per address (ratelimit.h).  Passwords
 * the cache does not vouch for are checked on threads, a few at a time:
 * each is a bcrypt run the loop must not wait for.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <nettle/memops.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "htpasswd.h"
#include "http_auth.h"
#include "job.h"
#include "log.h"
#include "util.h"
#include "ratelimit.h"
#include "websec.h"

#define HTTP_AUTH_HOSTS_MAX	32
/*
 * Password checks on threads at once.  Each is a bcrypt run; four keep a
 * small machine's cores busy without queueing more work than a second can
 * finish.
 */
#define HTTP_AUTH_MAX		4
#define HTTP_AUTH_NICE		10	/* the loop comes before a hash */
/*
 * Shared fairly (issue 13: 220 LAN addresses guessing slowly kept every
 * slot busy, and every correct login got 503): one check in flight per
 * client (address or /64), and the last slot only for a client with no
 * failed login in the limiter's window, so that someone who is not
 * guessing gets through however many are.
 */
#define HTTP_AUTH_RESERVED	1

/* A password check that missed the cache, on a thread of its own. */
struct http_auth_run {
	struct htpasswd		*pw;	/* a reference of its own */
	char			 user[HTPASSWD_USER_MAX + 1];
	char			 pass[HTPASSWD_PASS_MAX + 1];
	int			 ok;	/* htpasswd_check's answer */
};

/*
 * A check in flight and the requests that wait for it: the first, and any
 * that came with the same user and password meanwhile (a browser sends its
 * first requests in parallel).  Failures count against each client when
 * the answer comes, the first's even when it has left.
 */
struct http_auth_slot {
	struct job		*job;		/* NULL: a free slot */
	struct http_auth_run	*run;
	struct http_auth_wait	*waiters;
	struct sockaddr_storage	 addr;		/* the first's client */
	bool			 has_addr;
	bool			 origin_left;
};

struct http_auth {
	struct htpasswd		*pw;		/* NULL: no passwords */
	char			 hostbuf[512];
	const char		*hosts[HTTP_AUTH_HOSTS_MAX];
	size_t			 nhosts;
	struct ratelimit	 rl;
	struct http_auth_slot	 slot[HTTP_AUTH_MAX];
	size_t			 nslots;	/* slots in use */
	int			 ep;		/* epoll: their job_fd()s */
	bool			 stopping;
};

bool
http_auth_busy(const struct http_auth *a, int64_t now)
{
	return a->nslots > 0 || ratelimit_expires(&a->rl) > now;
}

struct http_auth *
http_auth_new(const struct config_web *w)
{
	struct http_auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	ratelimit_init(&a->rl);
	a->ep = -1;
	if (http_auth_reload(a, w) == -1) {
		http_auth_free(a);
		return NULL;
	}
	if ((a->ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("web: epoll_create1");
		http_auth_free(a);
		return NULL;
	}
	return a;
}

int
http_auth_reload(struct http_auth *a, const struct config_web *w)
{
	struct htpasswd *pw = NULL;
	char err[512], buf[sizeof(a->hostbuf)];
	const char *hosts[HTTP_AUTH_HOSTS_MAX];
	int n;

	if (w->htpasswd[0] != '\0') {
		if ((pw = htpasswd_load(w->htpasswd, err, sizeof(err))) ==
		    NULL) {
			log_warnx("web: %s", err);
			return -1;
		}
	}
	n = websec_parse_hosts(w->allowed_hosts, buf, sizeof(buf), hosts,
	    HTTP_AUTH_HOSTS_MAX, err, sizeof(err));
	if (n == -1) {
		log_warnx("web: allowed_hosts: %s", err);
		htpasswd_free(pw);
		return -1;
	}
	htpasswd_free(a->pw);
	a->pw = pw;
	memcpy(a->hostbuf, buf, sizeof(buf));
	/* The pointers go into buf; move them to hostbuf. */
	for (a->nhosts = 0; a->nhosts < (size_t)n; a->nhosts++)
		a->hosts[a->nhosts] = a->hostbuf + (hosts[a->nhosts] - buf);
	return 0;
}

bool
http_auth_on(const struct http_auth *a)
{
	return a->pw != NULL;
}

static const char *
http_auth_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *p = sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;

	if (inet_ntop(sa->sa_family, p, buf, (socklen_t)len) == NULL)
		str_copy(buf, "?", len);
	return buf;
}

/* Counts a login against sa in the limiter; a failure is logged. */
static void
http_auth_count(struct http_auth *a, const struct sockaddr *sa,
    const char *user, bool ok, int64_t now)
{
	char ra[INET6_ADDRSTRLEN];

	/* A success clears nothing: see ratelimit_clean. */
	if (sa == NULL || ok)
		return;
	ratelimit_fail(&a->rl, sa, now);
	log_info("failed web login as \"%.64s\" from %s", user,
	    http_auth_addr_str(sa, ra, sizeof(ra)));
}

static enum api_rc
http_auth_unauthorized(struct api_response *r)
{
	enum api_rc rc;

	rc = api_error(r, 401, "unauthorized",
	    "a user name and password are needed");
	r->hname = "WWW-Authenticate";
	r->hvalue = "Basic realm=\"portkeeper\", charset=\"UTF-8\"";
	return rc;
}

/* The thread: the full check, bcrypt and all. */
static void
http_auth_thread(void *arg)
{
	struct http_auth_run *r = arg;

	/*
	 * Linux gives each thread its own nice value.  On a machine with
	 * fewer cores than checks in flight, the loop then still gets the
	 * CPU the moment it has something to do.
	 */
	setpriority(PRIO_PROCESS, (id_t)gettid(), HTTP_AUTH_NICE);
	r->ok = htpasswd_check(r->pw, r->user, r->pass);
}

/* Runs once both the thread and the loop are done with r. */
static void
http_auth_run_free(void *arg)
{
	struct http_auth_run *r = arg;

	htpasswd_free(r->pw);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

/* w waits for s's answer. */
static enum api_rc
http_auth_wait(struct http_auth_slot *s, struct http_auth_wait *w)
{
	w->state = HTTP_AUTH_WAIT;
	w->slot = s;
	w->next = s->waiters;
	s->waiters = w;
	return API_WAIT;
}

void
http_auth_leave(struct http_auth_wait *w)
{
	struct http_auth_slot *s = w->slot;
	struct http_auth_wait **pp;

	if (s == NULL)
		return;
	for (pp = &s->waiters; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	if (w->origin)
		s->origin_left = true;
	w->slot = NULL;
	w->next = NULL;
}

static void
http_auth_slot_clear(struct http_auth *a, struct http_auth_slot *s)
{
	epoll_ctl(a->ep, EPOLL_CTL_DEL, job_fd(s->job), NULL);
	job_release(s->job);
	memset(s, 0, sizeof(*s));
	a->nslots--;
}

/* A free slot, or one checking the same pair (which w then joins). */
static struct http_auth_slot *
http_auth_slot_find(struct http_auth *a, const char *user, const char *pass,
    bool *joined)
{
	struct http_auth_slot *s, *fs = NULL;
	size_t i;

	*joined = false;
	/*
	 * Both buffers are compared whole, in constant time: the pair in
	 * flight is someone's password.  A check of the file before a
	 * reload is not joined.
	 */
	for (i = 0; i < HTTP_AUTH_MAX; i++) {
		s = &a->slot[i];
		if (s->job == NULL) {
			if (fs == NULL)
				fs = s;
			continue;
		}
		if (s->run->pw == a->pw &&
		    memeql_sec(s->run->user, user, HTPASSWD_USER_MAX + 1) &
		    memeql_sec(s->run->pass, pass, HTPASSWD_PASS_MAX + 1)) {
			*joined = true;
			return s;
		}
	}
	return fs;
}

/* Whether w's client may take a free slot now (HTTP_AUTH_RESERVED). */
static bool
http_auth_fair(struct http_auth *a, const struct http_auth_wait *w)
{
	const struct sockaddr *sa = (const struct sockaddr *)&w->addr;
	size_t i;

	if (!w->has_addr)
		return a->nslots < HTTP_AUTH_MAX - HTTP_AUTH_RESERVED;
	for (i = 0; i < HTTP_AUTH_MAX; i++)
		if (a->slot[i].job != NULL && a->slot[i].has_addr &&
		    ratelimit_same_client((struct sockaddr *)&a->slot[i].addr,
		    sa))
			return false;
	return a->nslots < HTTP_AUTH_MAX - HTTP_AUTH_RESERVED ||
	    ratelimit_clean(&a->rl, sa, mono_ms());
}

/*
 * Starts the check of user and pass on a thread, or joins one of the same
 * pair in flight: API_WAIT, or API_ANSWER (503 busy when every slot is
 * taken).
 */
static enum api_rc
http_auth_start(struct http_auth *a, struct http_auth_wait *w,
    const char user[static HTPASSWD_USER_MAX + 1],
    const char pass[static HTPASSWD_PASS_MAX + 1], struct api_response *rs)
{
	struct http_auth_slot *fs;
	struct http_auth_run *r;
	struct epoll_event ev;
	bool joined;

	/* Nothing may wait when the transport stops. */
	if (a->stopping)
		return api_error(rs, 503, "stopping",
		    "portkeeperd is stopping");
	if ((fs = http_auth_slot_find(a, user, pass, &joined)) != NULL &&
	    joined)
		return http_auth_wait(fs, w);
	if (fs == NULL || !http_auth_fair(a, w))
		return api_error_retry(rs, 503, "busy", "too many passwords "
		    "are being checked; try again in a second", 1);
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return api_error(rs, 500, "internal", "out of memory");
	memcpy(r->user, user, sizeof(r->user));
	memcpy(r->pass, pass, sizeof(r->pass));
	r->pw = htpasswd_ref(a->pw);
	if ((fs->job = job_start(http_auth_thread, r,
	    http_auth_run_free)) == NULL) {
		http_auth_run_free(r);
		return api_error(rs, 500, "internal",
		    "cannot start a thread to check the password");
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	if (epoll_ctl(a->ep, EPOLL_CTL_ADD, job_fd(fs->job), &ev) == -1) {
		log_warn("web: epoll_ctl");
		job_release(fs->job);
		fs->job = NULL;
		return api_error(rs, 500, "internal",
		    "cannot wait for the password check");
	}
	a->nslots++;
	fs->run = r;
	fs->addr = w->addr;
	fs->has_addr = w->has_addr;
	w->origin = true;
	return http_auth_wait(fs, w);
}

enum api_rc
http_auth_host(struct http_auth *a, const char *host, struct api_response *r)
{
	if (websec_host_allowed(host, a->hosts, a->nhosts))
		return API_GO_ON;
	return api_error(r, 421, "misdirected", "this server does not answer "
	    "to the host name \"%.100s\"; add it to allowed_hosts in [web] if "
	    "it is yours", host != NULL ? host : "");
}

enum api_rc
http_auth_check(struct http_auth *a, const struct sockaddr *sa,
    const char *h, struct http_auth_wait *w, struct api_response *r)
{
	char user[HTPASSWD_USER_MAX + 1], pass[HTPASSWD_PASS_MAX + 1];
	int64_t now = mono_ms();
	unsigned wait;
	enum api_rc rc;

	if (a->pw == NULL)
		return API_GO_ON;
	if (sa != NULL && (wait = ratelimit_check(&a->rl, sa, now)) != 0)
		return api_error_retry(r, 429, "too_many_requests", "too many "
		    "failed logins from this address; try again later", wait);
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6)) {
		memcpy(&w->addr, sa, sa->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6));
		w->has_addr = true;
	}
	/* Zeroed whole: the slots compare the buffers, not the strings. */
	memset(user, 0, sizeof(user));
	memset(pass, 0, sizeof(pass));
	if (h != NULL && htpasswd_parse_basic(h, user, sizeof(user), pass,
	    sizeof(pass)) == 0) {
		/* A password that matched before: microseconds, here. */
		if (htpasswd_cached(a->pw, user, pass) == 1) {
			explicit_bzero(pass, sizeof(pass));
			http_auth_count(a, sa, user, true, now);
			return API_GO_ON;
		}
		rc = http_auth_start(a, w, user, pass, r);
		explicit_bzero(pass, sizeof(pass));
		return rc;
	}
	/* A browser's first request carries no password: not a failure. */
	if (h != NULL)
		http_auth_count(a, sa, user, false, now);
	explicit_bzero(pass, sizeof(pass));
	return http_auth_unauthorized(r);
}

enum api_rc
http_auth_resumed(struct http_auth *a, struct http_auth_wait *w,
    struct api_response *r)
{
	enum http_auth_state st = w->state;

	w->state = HTTP_AUTH_NONE;
	switch (st) {
	case HTTP_AUTH_WAIT:
		if (!a->stopping) {
			/* Not for us: keep waiting. */
			w->state = HTTP_AUTH_WAIT;
			return API_WAIT;
		}
		http_auth_leave(w);
		return api_error(r, 503, "stopping", "portkeeperd is stopping");
	case HTTP_AUTH_FAILED:
		return http_auth_unauthorized(r);
	case HTTP_AUTH_PASSED:
	case HTTP_AUTH_NONE:
		break;
	}
	return API_GO_ON;
}

int
http_auth_fd(const struct http_auth *a)
{
	return a->nslots > 0 ? a->ep : -1;
}

void
http_auth_run(struct http_auth *a, int64_t now)
{
	struct http_auth_slot *s;
	struct http_auth_wait *w, *next;
	bool ok;
	size_t i;

	for (i = 0; a->nslots > 0 && i < HTTP_AUTH_MAX; i++) {
		s = &a->slot[i];
		if (s->job == NULL || !job_done(s->job))
			continue;
		ok = s->run->ok == 1;
		if (s->origin_left && s->has_addr)
			http_auth_count(a, (struct sockaddr *)&s->addr,
			    s->run->user, ok, now);
		for (w = s->waiters; w != NULL; w = next) {
			next = w->next;
			if (w->has_addr)
				http_auth_count(a, (struct sockaddr *)&w->addr,
				    s->run->user, ok, now);
			w->state = ok ? HTTP_AUTH_PASSED : HTTP_AUTH_FAILED;
			w->slot = NULL;
			w->next = NULL;
			w->wake(w->ctx);
		}
		http_auth_slot_clear(a, s);
	}
}

void
http_auth_stop(struct http_auth *a, int64_t deadline)
{
	struct http_auth_wait *w;
	size_t k;

	a->stopping = true;
	for (k = 0; k < HTTP_AUTH_MAX; k++)
		if (a->slot[k].job != NULL)
			job_wait(a->slot[k].job, deadline);
	for (k = 0; k < HTTP_AUTH_MAX; k++)
		for (w = a->slot[k].waiters; w != NULL; w = w->next)
			w->wake(w->ctx);
}

void
http_auth_free(struct http_auth *a)
{
	size_t k;

	if (a == NULL)
		return;
	/* A thread that overran is abandoned: it frees its own at the end. */
	for (k = 0; k < HTTP_AUTH_MAX; k++)
		if (a->slot[k].job != NULL)
			http_auth_slot_clear(a, &a->slot[k]);
	if (a->ep != -1)
		close(a->ep);
	htpasswd_free(a->pw);
	free(a);
}

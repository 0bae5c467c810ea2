/*
 * The web and control sockets, served by a process of their own (front.h).
 *
 * Why: libmicrohttpd brings GnuTLS and its libraries with it, some 2.4 MB
 * of pages that nothing else maps on most machines, and parsing what the
 * LAN sends is the riskiest work the daemon does.  Here the daemon keeps
 * the listening sockets, its state and the router work; portkeeperd-web
 * accepts, checks (Host, password, origin) and hands each request over.
 * It ends when nobody has been connected for a while (web_main.c), and
 * the daemon, which polls the listening sockets meanwhile, starts it again
 * on the next connection: a connection waits in the socket's queue for
 * the few milliseconds that takes.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "chan.h"
#include "front.h"
#include "log.h"
#include "sse_cursor.h"
#include "util.h"

#define FRONT_PROGRAM	"portkeeperd-web"
/* How long start-up waits for the web process to listen. */
#define FRONT_READY_MS	10000
/* How long stopping waits for it to answer what is open and end. */
#define FRONT_STOP_MS	3000
/* How long stopping waits for forwards.conf to be saved (two fsyncs). */
#define FRONT_SAVE_STOP_MS	5000
/*
 * After a web process that failed, the next one waits this long, twice as
 * long after each failure in a row, up to FRONT_RESPAWN_MAX_MS: one that
 * cannot start (its program gone, say) is not tried again and again while
 * a connection waits.
 */
#define FRONT_RESPAWN_MS	1000
#define FRONT_RESPAWN_MAX_MS	60000
/* How long a web process that closed the channel may take to exit. */
#define FRONT_REAP_MS	1000
/* Requests in flight at once: libmicrohttpd's connection limits' sum. */
#define FRONT_REQ_MAX	1024

/* One request handed over, until the web process says it ended. */
struct front_req {
	uint32_t		 id;
	struct api_request	 ar;
	char			*hdr[CHAN_RQ_N];	/* owned; NULL: absent */
	bool			 waiting;	/* for its wake() */
	bool			 woken;
	bool			 stream;	/* GET /api/events, answered */
	bool			 pulled;	/* the stream wants more */
	struct sse_cursor	 cur;
	struct front_req	*next;
};

struct front {
	const struct config	*cfg;
	char			 cfg_path[PATH_MAX];
	struct status		*st;
	struct api		*api;
	int			 unix_fd, web_fd;	/* listening */
	char			 path[108];	/* the control socket's */
	pid_t			 pid;		/* the web process, or 0 */
	struct chan		 ch;		/* ch.fd -1: none */
	bool			 ready;		/* it listens */
	struct front_req	*reqs;
	size_t			 nreqs;
	int64_t			 respawn_at;
	int64_t			 respawn_ms;	/* the next wait after a failure */
	int64_t			 reap_at;	/* SIGKILL if not reaped */
	bool			 stopping;
};

/* Listeners. */

static int
front_unix_listen(struct front *f, const char *path)
{
	struct sockaddr_un sun;
	struct stat sb;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		log_warnx("socket path %s is too long", path);
		return -1;
	}
	/* A socket left by a daemon that died goes; anything else stays. */
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			log_warnx("%s exists and is not a socket; not "
			    "replacing it", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) == -1) {
		log_warn("socket");
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 16) == -1) {
		log_warn("cannot serve the API on %s", path);
		close(fd);
		return -1;
	}
	str_copy(f->path, path, sizeof(f->path));
	return fd;
}

static int
front_tcp_listen(const struct config_web *w)
{
	int fd, on = 1, off = 0;

	if ((fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1) {
		log_warn("web: socket");
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* [::] serves IPv4 too, whatever the system's default. */
	if (w->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	/* A backlog that holds what comes while the web process starts. */
	if (bind(fd, (const struct sockaddr *)&w->addr, w->addrlen) == -1 ||
	    listen(fd, 128) == -1) {
		log_warn("web: cannot listen on %s", w->listen);
		close(fd);
		return -1;
	}
	return fd;
}

/* The web process. */

/*
 * portkeeperd-web beside this program (the build tree), else in
 * ../libexec/portkeeper/ from it (an installed tree, whatever its prefix),
 * as portkeeper finds portkeeper-probe-server; never through PATH.
 */
static void
front_program(char *buf, size_t len)
{
	static const char *const where[] = { "", "/../libexec/portkeeper" };
	char self[PATH_MAX], *slash;
	ssize_t n;
	size_t i;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = '\0';
	if ((slash = strrchr(self, '/')) != NULL)
		*slash = '\0';
	for (i = 0; i < nitems(where); i++)
		if (snprintf(buf, len, "%s%s/%s", self, where[i],
		    FRONT_PROGRAM) < (int)len && access(buf, X_OK) == 0)
			return;
	/* Not found: the first, named in the error exec gives. */
	if (snprintf(buf, len, "%s/%s", self, FRONT_PROGRAM) >= (int)len)
		buf[0] = '\0';
}

/*
 * In the child: its descriptors at 3 (control socket), 4 ([web]) and 5
 * (the channel), -1 standing for one not open (argv says which are); every
 * signal back to its default and none blocked (the daemon blocks those it
 * reads from a signalfd).
 */
static void __attribute__((noreturn))
front_child(const char *prog, char *const argv[], const int fds[3])
{
	struct sigaction sa;
	sigset_t none;
	int i, sig, tmp[3];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Out of the way of 3-5 first, then into place. */
	for (i = 0; i < 3; i++)
		tmp[i] = fds[i] == -1 ? -1 : fcntl(fds[i], F_DUPFD, 10);
	for (i = 0; i < 3; i++)
		if (tmp[i] != -1 && dup2(tmp[i], 3 + i) == -1)
			_exit(127);
	if (close_range(6, ~0U, 0) == -1)
		for (i = 6; i < 1024; i++)
			close(i);
	for (i = 0; i < 3; i++)
		if (tmp[i] == -1)
			close(3 + i);
	execv(prog, argv);
	/*
	 * write(2) alone: the daemon has threads, and one of them may have
	 * held stdio's lock at the fork.  Its exit status, 127, is logged.
	 */
	(void)!write(STDERR_FILENO, "portkeeperd: cannot run ", 24);
	(void)!write(STDERR_FILENO, prog, strlen(prog));
	(void)!write(STDERR_FILENO, "\n", 1);
	_exit(127);
}

static int
front_spawn(struct front *f)
{
	char prog[PATH_MAX + 32], verb[8] = "-v";
	char *argv[10];
	int sv[2], fds[3], argc = 0, v;
	pid_t pid;

	front_program(prog, sizeof(prog));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sv) == -1) {
		log_warn("web: socketpair");
		return -1;
	}
	argv[argc++] = (char *)FRONT_PROGRAM;
	argv[argc++] = (char *)"-c";
	argv[argc++] = f->cfg_path;
	if (!log_is_syslog())
		argv[argc++] = (char *)"-f";
	for (v = 1; v < log_verbosity() && v < 4; v++)
		verb[v + 1] = 'v';
	verb[log_verbosity() < 5 ? log_verbosity() + 1 : 5] = '\0';
	if (log_verbosity() > 0)
		argv[argc++] = verb;
	if (f->unix_fd != -1)
		argv[argc++] = (char *)"-u";
	if (f->web_fd != -1)
		argv[argc++] = (char *)"-w";
	argv[argc] = NULL;
	fds[0] = f->unix_fd;
	fds[1] = f->web_fd;
	fds[2] = sv[1];
	if ((pid = fork()) == -1) {
		log_warn("web: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		front_child(prog, argv, fds);
	close(sv[1]);
	f->pid = pid;
	f->ready = false;
	chan_init(&f->ch, sv[0]);
	log_debug("web: started %s (pid %ld)", prog, (long)pid);
	return 0;
}

static void
front_req_free(struct front *f, struct front_req *r)
{
	struct front_req **pp;
	int i;

	for (pp = &f->reqs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			f->nreqs--;
			break;
		}
	}
	api_request_done(f->api, &r->ar);
	free(r->ar.body);
	free((char *)r->ar.method);
	free((char *)r->ar.url);
	for (i = 0; i < CHAN_RQ_N; i++)
		free(r->hdr[i]);
	free(r);
}

static void
front_backoff(struct front *f, int64_t now)
{
	if (f->respawn_ms < FRONT_RESPAWN_MS)
		f->respawn_ms = FRONT_RESPAWN_MS;
	f->respawn_at = now + f->respawn_ms;
	f->respawn_ms = f->respawn_ms * 2 > FRONT_RESPAWN_MAX_MS ?
	    FRONT_RESPAWN_MAX_MS : f->respawn_ms * 2;
}

/* What became of a web process that ended: logged, and reaped. */
static void
front_reaped(struct front *f, int status, int64_t now)
{
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		log_debug("web: %s ended (idle)", FRONT_PROGRAM);
	else {
		if (WIFSIGNALED(status))
			log_warnx("web: %s was killed by signal %d; it starts "
			    "again at the next connection", FRONT_PROGRAM,
			    WTERMSIG(status));
		else
			log_warnx("web: %s exited with status %d; it starts "
			    "again at the next connection", FRONT_PROGRAM,
			    WEXITSTATUS(status));
		front_backoff(f, now);
	}
	f->pid = 0;
}

/* Reaps the web process if it ended; one slow to end is killed. */
static void
front_reap(struct front *f, int64_t now)
{
	int status;
	pid_t r;

	if (f->pid == 0 || f->ch.fd != -1)
		return;
	while ((r = waitpid(f->pid, &status, WNOHANG)) == -1 && errno == EINTR)
		continue;
	if (r == f->pid)
		front_reaped(f, status, now);
	else if (r == -1) {
		log_warn("web: waitpid %ld", (long)f->pid);
		f->pid = 0;
	} else if (now >= f->reap_at) {
		kill(f->pid, SIGKILL);
		f->reap_at = now + FRONT_REAP_MS;
	}
}

/*
 * The web process closed the channel: it ended (idle, or stopped) or
 * died.  What it had in flight goes; the next connection starts another
 * once it is reaped (SIGCHLD wakes the loop).
 */
static void
front_lost(struct front *f, int64_t now)
{
	while (f->reqs != NULL)
		front_req_free(f, f->reqs);
	chan_close(&f->ch);
	f->ready = false;
	f->reap_at = now + FRONT_REAP_MS;
	front_reap(f, now);
}

/* Requests. */

static const char *
front_header(void *ctx, const char *name)
{
	static const struct {
		const char	*name;
		int		 field;
	} map[] = {
		{ "Origin", CHAN_RQ_ORIGIN },
		{ "Host", CHAN_RQ_HOST },
		{ "Sec-Fetch-Site", CHAN_RQ_FETCH_SITE },
		{ "Content-Type", CHAN_RQ_CONTENT_TYPE },
		{ "Content-Length", CHAN_RQ_CONTENT_LENGTH },
		{ "If-None-Match", CHAN_RQ_IF_NONE_MATCH },
		{ "Last-Event-ID", CHAN_RQ_LAST_EVENT_ID },
	};
	struct front_req *r = ctx;
	size_t i;

	for (i = 0; i < nitems(map); i++)
		if (strcasecmp(name, map[i].name) == 0)
			return r->hdr[map[i].field];
	return NULL;
}

static void
front_wake(void *ctx)
{
	((struct front_req *)ctx)->woken = true;
}

static void
front_send(struct front *f, const struct chan_msg *m)
{
	if (f->ch.fd != -1 && chan_send(&f->ch, m) == -1)
		log_warnx("web: cannot send to %s: %s", FRONT_PROGRAM,
		    errno == EPIPE || errno == ECONNRESET ? "it is gone" :
		    "out of memory or an answer too large");
}

static void
front_answer(struct front *f, struct front_req *r, enum api_rc rc,
    struct api_response *ar)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.type = CHAN_RESP;
	m.id = r->id;
	m.n = CHAN_RS_N;
	if (rc == API_ANSWER) {
		m.num = ar->status;
		chan_set(&m, CHAN_RS_TYPE, ar->type);
		m.f[CHAN_RS_BODY].p = ar->body != NULL ? ar->body : ar->data;
		m.f[CHAN_RS_BODY].len = (uint32_t)ar->len;
		if (m.f[CHAN_RS_BODY].p == NULL)
			m.f[CHAN_RS_BODY].p = "";
		chan_set(&m, CHAN_RS_ETAG, ar->etag);
		chan_set(&m, CHAN_RS_CACHE, ar->cache);
		chan_set(&m, CHAN_RS_HNAME, ar->hname);
		chan_set(&m, CHAN_RS_HVALUE, ar->hvalue);
		if (ar->stream) {
			m.num |= CHAN_RS_STREAM;
			r->stream = true;
			sse_cursor_init(&r->cur, f->st,
			    r->hdr[CHAN_RQ_LAST_EVENT_ID], mono_ms());
		}
	}
	front_send(f, &m);
	api_response_free(ar);
}

/* A call into the core, and what came of it. */
static void
front_handle(struct front *f, struct front_req *r)
{
	struct api_response ar;
	enum api_rc rc;

	memset(&ar, 0, sizeof(ar));
	r->waiting = false;
	r->woken = false;
	rc = api_handle(f->api, &r->ar, &ar);
	if (rc == API_WAIT || rc == API_GO_ON) {
		r->waiting = true;
		return;
	}
	front_answer(f, r, rc, &ar);
}

static int
front_new_req(struct front *f, const struct chan_msg *m)
{
	struct api_response ar;
	struct front_req *r;
	enum api_rc rc;
	int i;

	if (m->n < CHAN_RQ_N || f->nreqs >= FRONT_REQ_MAX)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	r->id = m->id;
	r->ar.method = chan_strdup(&m->f[CHAN_RQ_METHOD]);
	r->ar.url = chan_strdup(&m->f[CHAN_RQ_URL]);
	r->ar.body = chan_strdup(&m->f[CHAN_RQ_BODY]);
	r->ar.len = m->f[CHAN_RQ_BODY].p != NULL ? m->f[CHAN_RQ_BODY].len : 0;
	for (i = CHAN_RQ_ORIGIN; i < CHAN_RQ_N; i++)
		if (m->f[i].p != NULL)
			r->hdr[i] = chan_strdup(&m->f[i]);
	r->ar.web = (m->num & CHAN_RQ_WEB) != 0;
	r->ar.read_only = (m->num & CHAN_RQ_READ_ONLY) != 0;
	r->ar.too_large = (m->num & CHAN_RQ_TOO_LARGE) != 0;
	r->ar.header = front_header;
	r->ar.wake = front_wake;
	r->ar.ctx = r;
	r->next = f->reqs;
	f->reqs = r;
	f->nreqs++;
	if (r->ar.method == NULL || r->ar.url == NULL || r->ar.body == NULL)
		return -1;
	/*
	 * The web process checked the request (Host, password, origin); the
	 * checks that need no state are made again here, so that what this
	 * process does never rests on the other's word alone.
	 */
	memset(&ar, 0, sizeof(ar));
	api_route(&r->ar);
	if ((rc = api_check(f->api, &r->ar, &ar)) != API_GO_ON) {
		front_answer(f, r, rc, &ar);
		return 0;
	}
	front_handle(f, r);
	return 0;
}

static struct front_req *
front_find(struct front *f, uint32_t id)
{
	struct front_req *r;

	for (r = f->reqs; r != NULL; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

/* A stream's next bytes, if it wants them and they are due. */
static void
front_feed(struct front *f, struct front_req *r, int64_t now)
{
	struct chan_msg m;
	char *buf = NULL;
	size_t len = 0;

	if (!r->stream || !r->pulled)
		return;
	memset(&m, 0, sizeof(m));
	m.id = r->id;
	if (f->stopping) {
		m.type = CHAN_END;
		r->pulled = false;
		front_send(f, &m);
		return;
	}
	if (!sse_cursor_due(&r->cur, f->st, now))
		return;
	sse_cursor_fill(&r->cur, f->st, now, &buf, &len);
	if (len == 0) {
		free(buf);
		return;
	}
	m.type = CHAN_DATA;
	m.n = 1;
	m.f[0].p = buf;
	m.f[0].len = (uint32_t)len;
	r->pulled = false;
	front_send(f, &m);
	free(buf);
}

/* What the web process said; -1 when it broke the protocol. */
static int
front_dispatch(struct front *f, const struct chan_msg *m, int64_t now)
{
	struct front_req *r;

	switch (m->type) {
	case CHAN_READY:
		f->ready = true;
		f->respawn_ms = 0;
		return 0;
	case CHAN_REQ:
		if (front_find(f, m->id) != NULL)
			return -1;
		return front_new_req(f, m);
	case CHAN_DONE:
		if ((r = front_find(f, m->id)) != NULL)
			front_req_free(f, r);
		return 0;
	case CHAN_PULL:
		if ((r = front_find(f, m->id)) != NULL && r->stream) {
			r->pulled = true;
			front_feed(f, r, now);
		}
		return 0;
	default:
		return -1;
	}
}

/*
 * Answers waiting to be written past this, the daemon reads no more
 * requests: the web process reads the answers (a 40 KB status document
 * each, with 100 forwards) slower than the daemon makes them, and without
 * a bound the channel's buffer grew to hold 64 of them, and kept its size.
 */
#define FRONT_OUT_HIGH	(256 * 1024)

static bool
front_backlog(const struct front *f)
{
	return f->ch.out_len - f->ch.out_off > FRONT_OUT_HIGH;
}

/* Reads and handles what the web process sent; -1: it is gone. */
static int
front_read(struct front *f, int64_t now)
{
	struct chan_msg m;
	int rc = 0, got = 0;

	/* What was read before and left for a backlog goes first. */
	for (;;) {
		while (rc != -1 && !front_backlog(f) &&
		    (rc = chan_next(&f->ch, &m)) == 1)
			rc = front_dispatch(f, &m, now);
		if (rc == -1 || front_backlog(f) ||
		    (got = chan_read(&f->ch)) != 1)
			break;
	}
	if (rc == -1) {
		log_warnx("web: %s broke the channel's protocol; stopping it",
		    FRONT_PROGRAM);
		kill(f->pid, SIGTERM);
		return -1;
	}
	return got;
}

/* Waits until the web process listens, or ends: -1 for the latter. */
static int
front_wait_ready(struct front *f)
{
	int64_t deadline = mono_ms() + FRONT_READY_MS;
	struct pollfd p;

	while (!f->ready) {
		if (mono_ms() >= deadline) {
			log_warnx("web: %s did not start within %d ms",
			    FRONT_PROGRAM, FRONT_READY_MS);
			kill(f->pid, SIGKILL);
			return -1;
		}
		p.fd = f->ch.fd;
		p.events = POLLIN;
		if (poll(&p, 1, ms_until(deadline)) == -1 && errno != EINTR)
			return -1;
		if (front_read(f, mono_ms()) == -1 && !f->ready)
			return -1;
	}
	return 0;
}

struct front *
front_start(const struct config *cfg, const char *cfg_path,
    struct forwards *fw, struct status *st)
{
	struct front *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->cfg = cfg;
	str_copy(f->cfg_path, cfg_path, sizeof(f->cfg_path));
	f->st = st;
	f->unix_fd = f->web_fd = -1;
	chan_init(&f->ch, -1);
	if ((f->api = api_new(cfg, fw, st)) == NULL) {
		free(f);
		return NULL;
	}
	if ((f->unix_fd = front_unix_listen(f, cfg->socket)) == -1)
		log_warnx("continuing without the control socket");
	if (cfg->web.enabled && (f->web_fd = front_tcp_listen(&cfg->web)) ==
	    -1) {
		front_stop(f);
		return NULL;
	}
	if (f->unix_fd == -1 && f->web_fd == -1)
		return f;
	/*
	 * Started now, so that a [web] it cannot serve (a password file or
	 * TLS key it cannot read) fails the start, as it always did; it
	 * ends once idle.
	 */
	if (front_spawn(f) == -1 || front_wait_ready(f) == -1) {
		front_lost(f, mono_ms());
		while (f->pid != 0) {
			usleep(10000);
			front_reap(f, mono_ms());
		}
		if (cfg->web.enabled) {
			front_stop(f);
			return NULL;
		}
		log_warnx("continuing without the control socket");
	} else if (cfg->web.enabled)
		log_warnx("web UI on %s://%s/%s", cfg->web.tls_cert[0] != '\0' ?
		    "https" : "http", cfg->web.listen, cfg->web.htpasswd[0] !=
		    '\0' ? "" : " (loopback, no password)");
	return f;
}

void
front_reload(struct front *f, const struct config_web *old)
{
	const struct config_web *w;

	if (f == NULL)
		return;
	w = &f->cfg->web;
	if (w->enabled != old->enabled || strcmp(w->listen, old->listen) != 0 ||
	    strcmp(w->tls_cert, old->tls_cert) != 0 ||
	    strcmp(w->tls_key, old->tls_key) != 0)
		log_warnx("web: listen and TLS changes take effect at the "
		    "next start");
	/* A web process started later reads the file as it is then. */
	if (f->pid != 0)
		kill(f->pid, SIGHUP);
}

int
front_fds(struct front *f, int *fds, int max)
{
	int n = 0;

	if (f == NULL)
		return 0;
	if (f->ch.fd != -1) {
		if (n < max)
			fds[n++] = f->ch.fd;
	} else if (!f->stopping && f->pid == 0 &&
	    mono_ms() >= f->respawn_at) {
		/*
		 * Not while one ends or the next must wait: a connection
		 * waiting would make poll return at once, again and again.
		 */
		if (f->unix_fd != -1 && n < max)
			fds[n++] = f->unix_fd;
		if (f->web_fd != -1 && n < max)
			fds[n++] = f->web_fd;
	}
	if (api_fd(f->api) != -1 && n < max)
		fds[n++] = api_fd(f->api);
	return n;
}

short
front_events(const struct front *f, int fd)
{
	if (f == NULL || fd == -1 || fd != f->ch.fd)
		return POLLIN;
	if (!chan_want_write(&f->ch))
		return POLLIN;
	return front_backlog(f) ? POLLOUT : POLLIN | POLLOUT;
}

int64_t
front_deadline(struct front *f, int64_t now)
{
	struct front_req *r;
	int64_t next = INT64_MAX;

	(void)now;
	if (f == NULL)
		return next;
	for (r = f->reqs; r != NULL; r = r->next)
		if (r->stream && r->pulled)
			next = sse_cursor_deadline(&r->cur, f->st, next);
	if (f->ch.fd == -1 && f->respawn_at > now && f->respawn_at < next)
		next = f->respawn_at;
	if (f->ch.fd == -1 && f->pid != 0 && f->reap_at < next)
		next = f->reap_at;
	return next;
}

/* Whether a listening socket has a connection waiting. */
static bool
front_pending(const struct front *f)
{
	struct pollfd p[2];
	nfds_t n = 0;

	if (f->unix_fd != -1)
		p[n++] = (struct pollfd){ .fd = f->unix_fd, .events = POLLIN };
	if (f->web_fd != -1)
		p[n++] = (struct pollfd){ .fd = f->web_fd, .events = POLLIN };
	return n > 0 && poll(p, n, 0) > 0;
}

void
front_run(struct front *f, int64_t now)
{
	struct front_req *r, *next;

	if (f == NULL)
		return;
	api_run(f->api);
	if (f->ch.fd == -1) {
		front_reap(f, now);
		if (!f->stopping && f->pid == 0 && now >= f->respawn_at &&
		    front_pending(f) && front_spawn(f) == -1)
			front_backoff(f, now);
		return;
	}
	if (front_read(f, now) == -1) {
		front_lost(f, now);
		return;
	}
	for (r = f->reqs; r != NULL; r = next) {
		next = r->next;
		if (r->waiting && r->woken)
			front_handle(f, r);
		front_feed(f, r, now);
	}
	if (chan_flush(&f->ch) == -1)
		front_lost(f, now);
}

void
front_stop(struct front *f)
{
	int64_t deadline;
	struct pollfd p;

	if (f == NULL)
		return;
	/*
	 * What waits is answered: a diagnosis and a change of forwards.conf
	 * being saved are told the daemon stops (or answered once saved),
	 * and streams end.  Then the web process, told by the channel's end,
	 * answers what it still has and exits.
	 */
	f->stopping = true;
	api_stop(f->api, mono_ms() + FRONT_SAVE_STOP_MS);
	if (f->ch.fd != -1) {
		front_run(f, mono_ms());
		deadline = mono_ms() + FRONT_STOP_MS;
		while (f->ch.fd != -1 && chan_want_write(&f->ch) &&
		    mono_ms() < deadline) {
			p.fd = f->ch.fd;
			p.events = POLLOUT;
			poll(&p, 1, ms_until(deadline));
			if (chan_flush(&f->ch) == -1)
				break;
		}
		if (f->ch.fd != -1)
			shutdown(f->ch.fd, SHUT_WR);
		while (f->ch.fd != -1 && mono_ms() < deadline) {
			p.fd = f->ch.fd;
			p.events = POLLIN;
			poll(&p, 1, ms_until(deadline));
			if (front_read(f, mono_ms()) == -1)
				break;
		}
	}
	if (f->ch.fd != -1)
		front_lost(f, mono_ms());
	if (f->pid != 0)
		kill(f->pid, SIGTERM);
	deadline = mono_ms() + FRONT_REAP_MS;
	while (f->pid != 0) {
		f->reap_at = mono_ms() < deadline ? INT64_MAX : 0;
		front_reap(f, mono_ms());
		if (f->pid != 0)
			usleep(10000);
	}
	if (f->unix_fd != -1) {
		close(f->unix_fd);
		unlink(f->path);
	}
	if (f->web_fd != -1)
		close(f->web_fd);
	api_free(f->api);
	free(f);
}

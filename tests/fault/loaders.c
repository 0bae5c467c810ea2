/*
 * Allocation failures in the loaders: for every N, the Nth allocation of a
 * load fails (once, then from N on), counted from just before the call and
 * including those of libc (fopen, stdio buffers), cJSON and inih.  Every
 * run must return the loader's error with a message that says memory ran
 * out (or, where libc absorbs the failure, the very result of a normal
 * load), leave its result empty, leak nothing and not crash.  N grows until
 * a run asks for fewer than N allocations, which then must succeed.
 *
 * The runs go on in a child process (fork), so that a crash is one run's
 * verdict and not the end of the test: a new child goes on after it.
 * --nofork runs them in this process, for valgrind.
 *
 * usage: fault_loaders [--nofork] KIND:PATH...
 *          KIND: config (a file), state (a state_dir), htpasswd (a file),
 *                webapi (a file holding a POST /api/forwards body)
 *        fault_loaders mkstate DIR MAPPINGS HISTORY
 *          writes DIR/state.json with state_save, as portkeeperd would
 * Prints TAP ("ok - ...", "not ok - ...", "# ..."); exits 1 on a failure.
 */
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "htpasswd.h"
#include "log.h"
#include "state.h"
#include "util.h"
#include "webapi.h"

#include "failalloc.h"

#define RUNS_MAX	1000000UL	/* a loader that never finishes */
#define SHOW_MAX	5		/* bad runs described per check */
#define MSGS_MAX	8		/* distinct messages listed */

/* One loader, with what it loaded kept between load, dump and release. */
struct target {
	const char	*kind;
	const char	*path;
	char		*body;		/* webapi: the file's text */
	size_t		 bodylen;
	struct config	 cfg;
	struct state	 st;
	struct htpasswd	*hp;
	struct config_forward fwd;
};

/* What one run found; written by the child through a pipe. */
struct result {
	unsigned long	 n;		/* the allocation that was to fail */
	int		 rc;
	unsigned long	 count;		/* allocations asked for */
	bool		 injected;
	void		*site;		/* who asked for the failed one */
	long		 live_load;	/* left by a failed load */
	long		 live_end;	/* left after release */
	bool		 empty;		/* a failed load left its result empty */
	bool		 same;		/* a good load loaded the same */
	char		 err[512];
};

static char	*baseline;		/* the dump of a normal load */
static unsigned long baseline_count;

static int
load(struct target *t, char *err, size_t errlen)
{
	struct webapi_error we;

	err[0] = '\0';
	if (strcmp(t->kind, "config") == 0)
		return config_load(t->path, &t->cfg, err, errlen);
	if (strcmp(t->kind, "state") == 0)
		return state_load(t->path, &t->st, err, errlen);
	if (strcmp(t->kind, "htpasswd") == 0) {
		t->hp = htpasswd_load(t->path, err, errlen);
		return t->hp != NULL ? 0 : -1;
	}
	memset(&we, 0, sizeof(we));
	if (webapi_parse_forward(t->body, t->bodylen, &t->fwd, &we) == 0)
		return 0;
	snprintf(err, errlen, "%s: %s", we.code ? we.code : "(no code)",
	    we.msg);
	return -1;
}

/* Whether a failed load left nothing behind in its result. */
static bool
is_empty(const struct target *t)
{
	if (strcmp(t->kind, "config") == 0)
		return t->cfg.fwd == NULL && t->cfg.nfwd == 0;
	if (strcmp(t->kind, "state") == 0)
		return t->st.m == NULL && t->st.nm == 0 && t->st.nhist == 0;
	if (strcmp(t->kind, "htpasswd") == 0)
		return t->hp == NULL;
	return true;
}

/* What was loaded, as text to compare (malloc'd). */
static char *
dump(struct target *t)
{
	char *text = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = open_memstream(&text, &len)) == NULL)
		return NULL;
	if (strcmp(t->kind, "config") == 0) {
		fprintf(fp, "path %s\n", t->cfg.path);
		config_print(&t->cfg, fp);
	} else if (strcmp(t->kind, "state") == 0) {
		char *j = state_to_json(&t->st);

		fprintf(fp, "%s\n", j ? j : "(state_to_json failed)");
		free(j);
	} else if (strcmp(t->kind, "htpasswd") == 0)
		fprintf(fp, "%zu users\n", htpasswd_count(t->hp));
	else
		fprintf(fp, "%s %u %u %d\n", t->fwd.name, t->fwd.ext,
		    t->fwd.in, (int)t->fwd.proto);
	fclose(fp);
	return text;
}

static void
release(struct target *t)
{
	config_free(&t->cfg);
	state_free(&t->st);
	htpasswd_free(t->hp);
	t->hp = NULL;
	memset(&t->fwd, 0, sizeof(t->fwd));
}

/* One load with the nth allocation failing (none for 0). */
static void
run(struct target *t, unsigned long n, enum failalloc_mode mode,
    struct result *r)
{
	char *text;

	memset(r, 0, sizeof(*r));
	r->n = n;
	failalloc_arm(n, mode);
	r->rc = load(t, r->err, sizeof(r->err));
	r->count = failalloc_disarm();
	r->injected = failalloc_injected();
	r->site = failalloc_site();
	r->live_load = failalloc_live();
	r->empty = r->rc == 0 || is_empty(t);
	if (r->rc == 0 && baseline != NULL) {
		text = dump(t);
		r->same = text != NULL && strcmp(text, baseline) == 0;
		free(text);
	}
	release(t);
	r->live_end = failalloc_live();
}

static const char *
site_str(void *site, char *buf, size_t len)
{
	Dl_info di;

	if (site == NULL)
		return "?";
	if (dladdr(site, &di) == 0 || di.dli_fname == NULL)
		snprintf(buf, len, "%p", site);
	else if (di.dli_sname != NULL)
		snprintf(buf, len, "%s+%#lx", di.dli_sname,
		    (unsigned long)((char *)site - (char *)di.dli_saddr));
	else
		snprintf(buf, len, "%s+%#lx", strrchr(di.dli_fname, '/') ?
		    strrchr(di.dli_fname, '/') + 1 : di.dli_fname,
		    (unsigned long)((char *)site - (char *)di.dli_fbase));
	return buf;
}

static int
read_file(const char *path, char **text, size_t *len)
{
	FILE *fp;
	long n;

	if ((fp = fopen(path, "re")) == NULL || fseek(fp, 0, SEEK_END) == -1 ||
	    (n = ftell(fp)) < 0 || fseek(fp, 0, SEEK_SET) == -1 ||
	    (*text = malloc((size_t)n + 1)) == NULL ||
	    fread(*text, 1, (size_t)n, fp) != (size_t)n) {
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	(*text)[n] = '\0';
	*len = (size_t)n;
	fclose(fp);
	return 0;
}

/* A check: its failures are counted, the first few described. */
struct check {
	const char	*what;
	unsigned long	 bad;
};

/* What the runs of one loader found. */
struct verdict {
	const char	*name;
	struct check	 crash, clean, leak, done;
	unsigned long	 runs, absorbed;
	char		*msgs[MSGS_MAX];	/* distinct messages */
	size_t		 nmsgs;
};

static void __attribute__((format(printf, 5, 6)))
bad(struct verdict *v, struct check *c, unsigned long n,
    enum failalloc_mode mode, const char *fmt, ...)
{
	va_list ap;

	if (c->bad++ >= SHOW_MAX)
		return;
	printf("# %s, allocation %lu failing%s: ", v->name, n,
	    mode == FAILALLOC_ONCE ? "" : " and every later one");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static bool
says_memory(const char *s)
{
	return strstr(s, "out of memory") != NULL ||
	    strstr(s, strerror(ENOMEM)) != NULL;
}

/* Judges one run; returns false when it was the last (nothing failed). */
static bool
judge(struct verdict *v, enum failalloc_mode mode, const struct result *r)
{
	char site[128];
	size_t i;

	v->runs++;
	if (!r->injected) {
		/* Fewer than n allocations: a normal load. */
		if (r->rc != 0 || !r->same)
			bad(v, &v->done, r->n, mode, "no failure injected, yet "
			    "rc %d (%s)", r->rc, r->err);
		return false;
	}
	site_str(r->site, site, sizeof(site));
	if (r->rc == 0 && !r->same)
		bad(v, &v->clean, r->n, mode, "returned 0 but loaded something "
		    "else (failed allocation from %s)", site);
	else if (r->rc == 0)
		v->absorbed++;
	else if (r->err[0] == '\0' || strchr(r->err, '\n') != NULL)
		bad(v, &v->clean, r->n, mode, "returned -1 with %s message "
		    "(failed allocation from %s)", r->err[0] == '\0' ? "no" :
		    "a multi-line", site);
	else if (!says_memory(r->err))
		bad(v, &v->clean, r->n, mode, "the message does not say memory "
		    "ran out: \"%s\" (failed allocation from %s)", r->err,
		    site);
	else if (v->nmsgs < MSGS_MAX) {
		for (i = 0; i < v->nmsgs; i++)
			if (strcmp(v->msgs[i], r->err) == 0)
				break;
		if (i == v->nmsgs)
			v->msgs[v->nmsgs++] = strdup(r->err);
	}
	if (!r->empty)
		bad(v, &v->leak, r->n, mode, "failed but left a result behind "
		    "(failed allocation from %s)", site);
	if (r->live_load == -1 || r->live_end == -1)
		bad(v, &v->leak, r->n, mode, "too many allocations to track");
	else if (r->rc == -1 && r->live_load != 0)
		bad(v, &v->leak, r->n, mode, "leaked %ld allocation(s) (failed "
		    "allocation from %s): %s", r->live_load, site, r->err);
	else if (r->live_end != 0)
		bad(v, &v->leak, r->n, mode, "%ld allocation(s) left after the "
		    "free (failed allocation from %s)", r->live_end, site);
	return true;
}

/*
 * Every n from 1 in one child process, each result down a pipe, until a
 * run has no failure injected.  A child that dies is a crash at the run
 * after its last result; the next child goes on from the one after that.
 * (A child per run would be cleaner but costs milliseconds each on a busy
 * machine; a run that corrupts memory without crashing is valgrind's.)
 */
static void
sweep(struct target *t, struct verdict *v, enum failalloc_mode mode,
    bool nofork)
{
	struct result r;
	unsigned long from = 1, n;
	int fds[2], status;
	bool more = true;
	pid_t pid;

	if (nofork) {
		for (n = 1; n <= RUNS_MAX && more; n++) {
			run(t, n, mode, &r);
			more = judge(v, mode, &r);
		}
		if (more)
			bad(v, &v->done, n, mode, "still failing after %lu runs",
			    RUNS_MAX);
		return;
	}
	while (more && from <= RUNS_MAX) {
		if (pipe(fds) == -1 || (fflush(stdout), pid = fork()) == -1) {
			bad(v, &v->crash, from, mode, "pipe or fork: %s",
			    strerror(errno));
			return;
		}
		if (pid == 0) {
			close(fds[0]);
			for (n = from; n <= RUNS_MAX; n++) {
				run(t, n, mode, &r);
				if (write(fds[1], &r, sizeof(r)) !=
				    (ssize_t)sizeof(r))
					_exit(3);
				if (!r.injected)
					break;
			}
			_exit(0);
		}
		close(fds[1]);
		n = from;
		while (more && read(fds[0], &r, sizeof(r)) ==
		    (ssize_t)sizeof(r)) {
			more = judge(v, mode, &r);
			n = r.n + 1;
		}
		close(fds[0]);
		while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
			;
		if (more && WIFSIGNALED(status))
			bad(v, &v->crash, n, mode, "killed by signal %d (%s)",
			    WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (more)
			bad(v, &v->crash, n, mode, "the child exited with status "
			    "%d without a result", WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		from = n + 1;
	}
	if (more)
		bad(v, &v->done, from, mode, "still failing after %lu runs",
		    RUNS_MAX);
}

/* Every failure point of one loader; returns 0 when every check held. */
static int
test_target(const char *spec, bool nofork)
{
	struct target t;
	struct verdict v;
	struct result r;
	char name[256], kind[16];
	const char *colon = strchr(spec, ':');
	size_t i;

	memset(&t, 0, sizeof(t));
	memset(&v, 0, sizeof(v));
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(kind)) {
		printf("not ok - %s: expected KIND:PATH\n", spec);
		return 1;
	}
	memcpy(kind, spec, (size_t)(colon - spec));
	kind[colon - spec] = '\0';
	t.kind = kind;
	t.path = colon + 1;
	if (strcmp(t.kind, "config") != 0 && strcmp(t.kind, "state") != 0 &&
	    strcmp(t.kind, "htpasswd") != 0 && strcmp(t.kind, "webapi") != 0) {
		printf("not ok - %s: unknown kind %s\n", spec, t.kind);
		return 1;
	}
	if (strcmp(t.kind, "webapi") == 0 &&
	    read_file(t.path, &t.body, &t.bodylen) == -1) {
		printf("not ok - %s: cannot read %s\n", spec, t.path);
		return 1;
	}
	snprintf(name, sizeof(name), "%s %s", strcmp(t.kind, "config") == 0 ?
	    "config_load" : strcmp(t.kind, "state") == 0 ? "state_load" :
	    strcmp(t.kind, "htpasswd") == 0 ? "htpasswd_load" :
	    "webapi_parse_forward", t.path);
	v.name = name;
	v.crash.what = "no crash";
	v.clean.what = "clean error";
	v.leak.what = "no leak";
	v.done.what = "finishes";

	/*
	 * A normal load first, twice: the second is the baseline, after
	 * whatever libc allocates once and keeps (stdio, locale) is in place.
	 */
	for (i = 0; i < 2; i++) {
		free(baseline);
		baseline = NULL;
		run(&t, 0, FAILALLOC_ONCE, &r);
		failalloc_arm(0, FAILALLOC_ONCE);
		if (r.rc == 0)
			r.rc = load(&t, r.err, sizeof(r.err));
		baseline_count = failalloc_disarm();
		if (r.rc == 0)
			baseline = dump(&t);
		release(&t);
		if (r.rc == -1 || failalloc_live() != 0) {
			printf("not ok - %s: a normal load %s\n", name,
			    r.rc == -1 ? "fails" : "and free leaks");
			if (r.rc == -1)
				printf("# %s\n", r.err);
			free(t.body);
			free(baseline);
			baseline = NULL;
			return 1;
		}
	}

	sweep(&t, &v, FAILALLOC_ONCE, nofork);
	sweep(&t, &v, FAILALLOC_FROM, nofork);

	printf("# %s: %lu allocations in a normal load (libc, cJSON and "
	    "inih included), %lu runs%s; %lu failure(s) absorbed with the "
	    "same result\n", name, baseline_count, v.runs,
	    nofork ? " in one process" : "", v.absorbed);
	for (i = 0; i < v.nmsgs; i++) {
		printf("#   message: %s\n", v.msgs[i]);
		free(v.msgs[i]);
	}
	{
		struct check *all[] = { &v.crash, &v.clean, &v.leak, &v.done };
		const char *desc[] = {
		    "no crash at any failure point",
		    "every failure returns -1 with a one-line message that "
		    "says memory ran out (or the same result)",
		    "nothing leaks, and a failed load leaves its result empty",
		    "a run without an injected failure succeeds",
		};

		for (i = 0; i < nitems(all); i++)
			printf("%sok - %s: %s\n", all[i]->bad ? "not " : "",
			    name, desc[i]);
		for (i = 0; i < nitems(all); i++)
			if (all[i]->bad > SHOW_MAX)
				printf("# %s: %lu more bad run(s) for \"%s\"\n",
				    name, all[i]->bad - SHOW_MAX,
				    all[i]->what);
	}
	free(t.body);
	free(baseline);
	baseline = NULL;
	return v.crash.bad || v.clean.bad || v.leak.bad || v.done.bad;
}

/* A state like the daemon's after a while: mappings, address history. */
static int
mkstate(const char *dir, int nmap, int nhist)
{
	struct state st;
	struct state_mapping sm;
	char err[512], old[16], ip[16];
	int i;

	state_init(&st);
	str_copy(st.internal_ip, "192.168.77.10", sizeof(st.internal_ip));
	for (i = 0; i < nhist; i++) {
		snprintf(ip, sizeof(ip), "11.22.%d.%d", 33 + i / 200,
		    2 + i % 200);
		state_note_external_ip(&st, ip, 1790000000 + i * 86400, old);
	}
	for (i = 0; i < nmap; i++) {
		memset(&sm, 0, sizeof(sm));
		snprintf(sm.name, sizeof(sm.name), "fwd-%d.svc_%d", i, i * 7);
		sm.proto = i % 3 == 2 ? PM_UDP : PM_TCP;
		sm.ext = (uint16_t)(20000 + i);
		sm.in = (uint16_t)(8000 + i % 100);
		str_copy(sm.internal_ip, "192.168.77.10",
		    sizeof(sm.internal_ip));
		sm.method = i % 2 ? PM_UPNP : PM_NATPMP;
		sm.expires = 1790003600 + i;
		if (state_put(&st, &sm) == -1) {
			fprintf(stderr, "state_put: %s\n", strerror(errno));
			return 1;
		}
	}
	if (state_save(dir, &st, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	state_free(&st);
	return 0;
}

int
main(int argc, char **argv)
{
	bool nofork = false;
	int i, rc = 0;

	/* htpasswd_load's warnings (a weak hash) must not garble the TAP. */
	log_init("fault_loaders", 0);
	if (argc == 5 && strcmp(argv[1], "mkstate") == 0)
		return mkstate(argv[2], atoi(argv[3]), atoi(argv[4]));
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--nofork") == 0) {
			nofork = true;
			continue;
		}
		rc |= test_target(argv[i], nofork);
	}
	return rc;
}

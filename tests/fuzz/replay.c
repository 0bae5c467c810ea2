/*
 * Replays a fuzz target's corpus without a fuzzing engine: make check
 * links each fuzz_NAME.c with this main() and the sanitizers, and
 * tests/run.sh runs the result.
 *
 *   test_fuzz_NAME            replays every file of tests/fuzz/corpus/NAME/
 *                             (from the top of the tree) and prints one TAP
 *                             line: ok with the number of inputs, or not ok
 *                             naming the input that failed, followed by what
 *                             the sanitizer said about it
 *   test_fuzz_NAME PATH...    replays these files and directories with the
 *                             target's output shown (to look at a crash)
 *
 * The corpus runs in a child whose output goes to a temporary file, since a
 * target may log on every input (htpasswd warns about weak hashes) and a
 * sanitizer report ends the process that has it.  Only the failing input's
 * part of that output is shown.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define PREFIX		"test_fuzz_"	/* test_fuzz_NAME replays NAME */
#define CORPUS_DIR	"tests/fuzz/corpus"
#define MARK		"@@ replaying "
#define MARK_DONE	"@@ done"
#define SHOW_MAX	80	/* lines of a failing input's output shown */
#define INPUT_SECS	20	/* an input that takes longer hangs */

int	LLVMFuzzerInitialize(int *, char ***) __attribute__((weak));

struct list {
	char	**v;
	size_t	  n, cap;
};

static void
list_add(struct list *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		if ((l->v = realloc(l->v, l->cap * sizeof(*l->v))) == NULL) {
			perror("realloc");
			exit(2);
		}
	}
	l->v[l->n++] = s;
}

static void
list_free(struct list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Adds path, or every regular file in it (sorted, dot files left out). */
static int
collect(struct list *l, const char *path)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	char *s;
	size_t first = l->n;

	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		if ((s = strdup(path)) == NULL)
			return -1;
		list_add(l, s);
		return 0;
	}
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (asprintf(&s, "%s/%s", path, de->d_name) == -1)
			return -1;
		if (stat(s, &st) == 0 && S_ISREG(st.st_mode))
			list_add(l, s);
		else
			free(s);
	}
	closedir(d);
	qsort(l->v + first, l->n - first, sizeof(*l->v), cmp_str);
	return 0;
}

/*
 * Hands the file to the target in a buffer of exactly its size, as
 * libFuzzer does, so that a read one byte too far is caught.
 */
static int
replay_one(const char *path)
{
	FILE *fp;
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if ((fp = fopen(path, "rb")) == NULL)
		return -1;
	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			if ((buf = realloc(buf, cap)) == NULL)
				return -1;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp)) {
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	{
		uint8_t *exact = malloc(len > 0 ? len : 1);

		if (exact == NULL)
			return -1;
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return 0;
}

/* Replays every input, writing a mark before each to stderr. */
static int
replay_list(const struct list *l, bool marks)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (marks)
			dprintf(STDERR_FILENO, MARK "%s\n", l->v[i]);
		/* A hang is a failure too: SIGALRM ends the process. */
		alarm(INPUT_SECS);
		if (replay_one(l->v[i]) == -1) {
			dprintf(STDERR_FILENO, "%s: %s\n", l->v[i],
			    strerror(errno));
			return -1;
		}
	}
	alarm(0);
	if (marks)
		dprintf(STDERR_FILENO, MARK_DONE "\n");
	return 0;
}

/*
 * After a failure: names the input whose mark came last and shows what
 * followed it (a sanitizer report, a failed check), as TAP comments.
 */
static void
report_failure(const char *name, FILE *out, const char *status)
{
	char *line = NULL, *input = NULL;
	size_t cap = 0, shown = 0;
	long from = 0;
	ssize_t n;

	rewind(out);
	while ((n = getline(&line, &cap, out)) != -1) {
		if (strncmp(line, MARK, strlen(MARK)) == 0 ||
		    strncmp(line, MARK_DONE, strlen(MARK_DONE)) == 0) {
			free(input);
			input = strncmp(line, MARK, strlen(MARK)) == 0 ?
			    strndup(line + strlen(MARK), (size_t)n -
			    strlen(MARK) - 1) : NULL;
			from = ftell(out);
		}
	}
	if (input != NULL)
		printf("not ok 1 - fuzz_%s: %s: %s\n", name, input,
		    status);
	else
		printf("not ok 1 - fuzz_%s: %s after the last input (a leak?)\n",
		    name, status);
	fseek(out, from, SEEK_SET);
	while ((n = getline(&line, &cap, out)) != -1 && shown++ < SHOW_MAX)
		printf("# %s", line);
	if (n != -1)
		printf("# ...\n");
	free(line);
	free(input);
}

int
main(int argc, char **argv)
{
	struct list l = { NULL, 0, 0 };
	const char *name;
	char status[64], *dir = NULL;
	FILE *out = NULL;
	pid_t pid;
	int i, st, rc = 1;

	/* The program's name says which corpus. */
	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (strncmp(name, PREFIX, strlen(PREFIX)) == 0)
		name += strlen(PREFIX);
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	printf("1..1\n");
	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (collect(&l, argv[i]) == -1) {
				printf("not ok 1 - fuzz_%s: %s: %s\n", name,
				    argv[i], strerror(errno));
				goto out;
			}
		}
		if (replay_list(&l, true) == -1)
			goto out;
		printf("ok 1 - fuzz_%s: %zu inputs replayed\n", name, l.n);
		rc = 0;
		goto out;
	}

	if (asprintf(&dir, "%s/%s", CORPUS_DIR, name) == -1) {
		dir = NULL;
		goto out;
	}
	if (collect(&l, dir) == -1 || l.n == 0) {
		printf("not ok 1 - fuzz_%s: no inputs in %s (run from the top "
		    "of the tree)\n", name, dir);
		goto out;
	}
	if ((out = tmpfile()) == NULL) {
		printf("not ok 1 - fuzz_%s: tmpfile: %s\n", name,
		    strerror(errno));
		goto out;
	}
	fflush(stdout);
	if ((pid = fork()) == -1) {
		printf("not ok 1 - fuzz_%s: fork: %s\n", name,
		    strerror(errno));
		goto out;
	}
	if (pid == 0) {
		dup2(fileno(out), STDOUT_FILENO);
		dup2(fileno(out), STDERR_FILENO);
		setvbuf(stdout, NULL, _IONBF, 0);
		rc = replay_list(&l, true) == -1 ? 1 : 0;
		list_free(&l);
		free(dir);
		/* exit, not _exit: LeakSanitizer checks at exit. */
		exit(rc);
	}
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			printf("not ok 1 - fuzz_%s: waitpid: %s\n", name,
			    strerror(errno));
			goto out;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("ok 1 - fuzz_%s: %zu inputs replayed\n", name, l.n);
		rc = 0;
		goto out;
	}
	if (WIFSIGNALED(st))
		snprintf(status, sizeof(status), "killed by signal %d (%s)",
		    WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(status, sizeof(status), "exit status %d",
		    WEXITSTATUS(st));
	report_failure(name, out, status);
out:
	if (out != NULL)
		fclose(out);
	list_free(&l);
	free(dir);
	fflush(stdout);
	return rc;
}

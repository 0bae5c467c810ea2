/* The state writer (daemon/writer.c): its thread, on a real directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <poll.h>

/* The daemon's files are not in the library. */
#include "../../daemon/writer.c"

struct dir {
	char	path[64];
	char	file[96];
};

static int
setup(void **state)
{
	static struct dir d;

	snprintf(d.path, sizeof(d.path), "/tmp/pk-writer-XXXXXX");
	if (mkdtemp(d.path) == NULL)
		return -1;
	snprintf(d.file, sizeof(d.file), "%s/state.json", d.path);
	*state = &d;
	return 0;
}

static int
teardown(void **state)
{
	struct dir *d = *state;
	char tmp[128];

	unlink(d->file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", d->file);
	unlink(tmp);
	return rmdir(d->path);
}

/* The file's whole content, as a string (static buffer). */
static const char *
content(const char *path)
{
	static char buf[4096];
	FILE *fp;
	size_t n;

	if ((fp = fopen(path, "r")) == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

static char *
text(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static void
test_written(void **state)
{
	struct dir *d = *state;
	struct writer *w;
	struct pollfd pfd;
	struct stat sb;
	char err[256];

	assert_non_null(w = writer_start(d->path, "state.json", 0600));
	assert_int_equal(writer_collect(w, err, sizeof(err)), 0);
	writer_put(w, text("{\"a\":1}\n"), 8);
	/* The loop hears of it through the descriptor. */
	pfd.fd = writer_fd(w);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(writer_flush(w, mono_ms() + 10000), 0);
	assert_string_equal(content(d->file), "{\"a\":1}\n");
	assert_int_equal(stat(d->file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(writer_collect(w, err, sizeof(err)), 1);
	/* Reported once. */
	assert_int_equal(writer_collect(w, err, sizeof(err)), 0);
	writer_free(w);
}

static void
test_newest_wins(void **state)
{
	struct dir *d = *state;
	struct writer *w;
	char err[256], s[32];
	int i;

	assert_non_null(w = writer_start(d->path, "state.json", 0644));
	assert_true(writer_idle(w));
	for (i = 0; i < 200; i++) {
		snprintf(s, sizeof(s), "{\"n\":%d}\n", i);
		writer_put(w, text(s), strlen(s));
	}
	/* Idle only once the newest text is on disk, as the loop reads it. */
	for (i = 0; i < 10000 && !writer_idle(w); i++)
		poll(NULL, 0, 1);
	assert_string_equal(content(d->file), "{\"n\":199}\n");
	assert_int_equal(writer_flush(w, mono_ms() + 10000), 0);
	assert_string_equal(content(d->file), "{\"n\":199}\n");
	assert_int_equal(writer_collect(w, err, sizeof(err)), 1);
	writer_free(w);
}

static void
test_free_writes_the_last(void **state)
{
	struct dir *d = *state;
	struct writer *w;

	/* Stopping still writes what was handed over, never loses it. */
	assert_non_null(w = writer_start(d->path, "state.json", 0644));
	writer_put(w, text("{\"last\":true}\n"), 14);
	writer_free(w);
	assert_string_equal(content(d->file), "{\"last\":true}\n");
}

static void
test_failure(void **state)
{
	struct dir *d = *state;
	struct writer *w;
	char missing[128], err[256];

	/* A directory that is not there: the error names it, once. */
	snprintf(missing, sizeof(missing), "%s/gone", d->path);
	assert_non_null(w = writer_start(missing, "state.json", 0644));
	writer_put(w, text("{}\n"), 3);
	assert_int_equal(writer_flush(w, mono_ms() + 10000), 0);
	err[0] = '\0';
	assert_int_equal(writer_collect(w, err, sizeof(err)), -1);
	if (strstr(err, missing) == NULL)
		fail_msg("the error does not name %s: %s", missing, err);
	assert_int_equal(writer_collect(w, err, sizeof(err)), 0);
	writer_free(w);
	assert_null(content(d->file));
}

static void
test_names_too_long(void **state)
{
	char dir[PATH_MAX + 16];

	(void)state;
	memset(dir, 'd', sizeof(dir) - 1);
	dir[sizeof(dir) - 1] = '\0';
	errno = 0;
	assert_null(writer_start(dir, "state.json", 0644));
	assert_int_equal(errno, ENAMETOOLONG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newest_wins, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_writes_the_last,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure, setup, teardown),
		cmocka_unit_test(test_names_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

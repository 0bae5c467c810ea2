/*
 * portkeeper passwd: sets a user's password in the htpasswd file that
 * portkeeperd's web UI checks (nginx's auth_basic_user_file can share it).
 * Only the user's own line changes; every other line, comments included,
 * is written back byte for byte, and the file is replaced atomically.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "htpasswd.h"
#include "util.h"

#define DEFAULT_FILE	"/etc/portkeeper/htpasswd"
#define FILE_MAX	(1024 * 1024)	/* what htpasswd_load reads, too */
#define NEW_MODE	0640
/* The group portkeeperd runs as (packaging/portkeeper.service). */
#define DAEMON_GROUP	"portkeeper"
/* bcrypt ignores what follows the 72nd byte of a password. */
#define BCRYPT_PASS_MAX	72

static const char usage[] = "portkeeper passwd USER [--file FILE]";

static void
help(void)
{
	printf("usage: %s\n\n"
	    "Sets USER's password for portkeeperd's web UI: adds USER to the "
	    "htpasswd file,\nor replaces USER's password there, and keeps "
	    "every other line as it was.\nThe password is read twice from the "
	    "terminal, or as one line from standard\ninput when that is not a "
	    "terminal (echo PASSWORD | portkeeper passwd USER).\nIt is stored "
	    "as a bcrypt hash, which Apache's htpasswd and nginx read too.\n\n"
	    "  -f, --file FILE         the htpasswd file (default %s)\n"
	    "  --json                  print one JSON object\n"
	    "  -h, --help              show this help\n\n"
	    "A new file gets mode 0640 and, when root makes it, the group "
	    "%s, so\nthat portkeeperd can read it; a file that exists keeps "
	    "its mode, owner and\ngroup.  Exit status: 0 done, 1 an error, 2 "
	    "usage.\n", usage, DEFAULT_FILE, DAEMON_GROUP);
}

struct passwd_args {
	const char	*file;
};

static int
passwd_opt(int c, const char *arg, void *ctx, struct pm_error *err)
{
	struct passwd_args *a = ctx;

	(void)err;
	if (c == 'f') {
		a->file = arg;
		return 0;
	}
	return -1;
}

/* Why user cannot be in an htpasswd file, or NULL when it can. */
static const char *
user_problem(const char *user)
{
	const unsigned char *p;

	if (*user == '\0')
		return "the user name is empty";
	if (strlen(user) > HTPASSWD_USER_MAX)
		return "the user name is longer than 255 bytes";
	if (*user == '#')
		return "a user name may not start with '#': the line would be "
		    "a comment";
	for (p = (const unsigned char *)user; *p != '\0'; p++) {
		if (*p == ':')
			return "a user name may not contain ':', which "
			    "separates it from the password hash";
		if (*p < 0x20 || *p == 0x7f)
			return "a user name may not contain control characters";
	}
	return NULL;
}

/*
 * Reads the current file into *bufp and its status into st; *bufp is
 * NULL when there is no file yet.  Returns 0, or -1 with err set.
 */
static int
read_current(const char *file, char **bufp, size_t *lenp, struct stat *st,
    struct pm_error *err)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd;

	*bufp = NULL;
	*lenp = 0;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		pmerr_set(err, PME_INTERNAL, 0, "%s: %s", file,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, st) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "%s: %s", file,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st->st_mode)) {
		pmerr_set(err, PME_INTERNAL, 0, "%s: not a regular file", file);
		goto fail;
	}
	if (st->st_size > FILE_MAX) {
		pmerr_set(err, PME_INTERNAL, 0, "%s: larger than %d bytes",
		    file, FILE_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st->st_size + 1)) == NULL) {
		pmerr_set(err, PME_INTERNAL, 0, "%s", strerror(errno));
		goto fail;
	}
	/* Up to the size fstat saw; a file that grows meanwhile is cut. */
	while (len < (size_t)st->st_size) {
		if ((n = read(fd, buf + len, (size_t)st->st_size - len)) == -1) {
			if (errno == EINTR)
				continue;
			pmerr_set(err, PME_INTERNAL, 0, "%s: %s", file,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*bufp = buf;
	*lenp = len;
	return 0;
fail:
	free(buf);
	close(fd);
	return -1;
}

/*
 * Whether file can be written into dir: better said before the password
 * is typed than after.  0, or -1 with err set.
 */
static int
check_dir(const char *file, const char *dir, struct pm_error *err)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot create %s: %s: %s",
		    file, dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot create %s: %s is not "
		    "a directory", file, dir);
		return -1;
	}
	if (access(dir, W_OK) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot write %s: %s: %s",
		    file, dir, strerror(errno));
		return -1;
	}
	return 0;
}

static struct termios	saved_tio;

/* Gives the terminal its echo back before dying of the signal. */
static void
restore_tty(int sig)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line from standard input into buf, without its line end.
 * Byte by byte, so that nothing after the line is consumed.  Returns 0,
 * or -1 with err set.
 */
static int
read_line(char *buf, size_t size, struct pm_error *err)
{
	size_t len = 0;
	ssize_t n;
	char c;

	for (;;) {
		if ((n = read(STDIN_FILENO, &c, 1)) == -1) {
			if (errno == EINTR)
				continue;
			pmerr_set(err, PME_INTERNAL, 0, "cannot read the "
			    "password: %s", strerror(errno));
			return -1;
		}
		if (n == 0 || c == '\n')
			break;
		if (c == '\0') {
			pmerr_set(err, PME_INTERNAL, 0, "the password contains "
			    "a NUL byte");
			return -1;
		}
		if (len + 1 >= size) {
			pmerr_set(err, PME_INTERNAL, 0, "the password is longer "
			    "than %d bytes", HTPASSWD_PASS_MAX);
			return -1;
		}
		buf[len++] = c;
	}
	if (n == 0 && len == 0) {
		pmerr_set(err, PME_INTERNAL, 0, "no password on standard input");
		return -1;
	}
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	buf[len] = '\0';
	return 0;
}

/* Asks for the password on the terminal, without echo. */
static int
prompt(const char *what, char *buf, size_t size, struct pm_error *err)
{
	struct sigaction sa, old[4];
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct termios tio;
	size_t i;
	int rc;

	if (tcgetattr(STDIN_FILENO, &saved_tio) == -1) {
		pmerr_set(err, PME_INTERNAL, 0, "cannot read the terminal's "
		    "settings: %s", strerror(errno));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_tty;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < nitems(sigs); i++)
		sigaction(sigs[i], &sa, &old[i]);
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)ECHO;
	tio.c_lflag |= ECHONL;
	fprintf(stderr, "%s", what);
	fflush(stderr);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio);
	rc = read_line(buf, size, err);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	for (i = 0; i < nitems(sigs); i++)
		sigaction(sigs[i], &old[i], NULL);
	return rc;
}

static int
get_password(const char *user, char *pw, size_t size, struct pm_error *err)
{
	char again[HTPASSWD_PASS_MAX + 2], what[HTPASSWD_USER_MAX + 32];
	int rc = -1;

	if (!isatty(STDIN_FILENO))
		rc = read_line(pw, size, err);
	else {
		snprintf(what, sizeof(what), "New password for %s: ", user);
		if (prompt(what, pw, size, err) == 0 &&
		    prompt("Retype it: ", again, sizeof(again), err) == 0) {
			if (strcmp(pw, again) == 0)
				rc = 0;
			else
				pmerr_set(err, PME_INTERNAL, 0, "the passwords "
				    "do not match; nothing changed");
		}
		explicit_bzero(again, sizeof(again));
	}
	if (rc == 0 && pw[0] == '\0') {
		pmerr_set(err, PME_INTERNAL, 0, "empty password refused");
		rc = -1;
	}
	return rc;
}

/* Writes "user:hash" at out + n; returns the new length. */
static size_t
put_entry(char *out, size_t n, const char *user, const char *hash)
{
	size_t ulen = strlen(user), hlen = strlen(hash);

	memcpy(out + n, user, ulen);
	out[n + ulen] = ':';
	memcpy(out + n + ulen + 1, hash, hlen);
	return n + ulen + 1 + hlen;
}

/*
 * The new file: text with user's line given hash, or a line added for
 * user at the end.  The rest of the line after the hash (nginx's comment
 * field, a CR of a CRLF line end) is kept.  Later lines for the same user,
 * which portkeeperd would refuse as duplicates, are dropped and counted
 * in *dropped.  Returns the malloc'd text, or NULL.
 */
static char *
edit(const char *text, size_t len, const char *user, const char *hash,
    size_t *outlen, int *found, int *dropped)
{
	size_t ulen = strlen(user), hlen = strlen(hash), llen, n = 0;
	const char *p, *end = text + len, *nl, *rest, *eol;
	char *out;

	*found = *dropped = 0;
	if ((out = malloc(len + ulen + hlen + 8)) == NULL)
		return NULL;
	for (p = text; p < end; p = nl) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL)
			nl++;
		else
			nl = end;
		llen = (size_t)(nl - p);
		if (llen <= ulen || memcmp(p, user, ulen) != 0 ||
		    p[ulen] != ':') {
			memcpy(out + n, p, llen);
			n += llen;
			continue;
		}
		if (*found) {
			(*dropped)++;
			continue;
		}
		*found = 1;
		n = put_entry(out, n, user, hash);
		eol = nl > p && nl[-1] == '\n' ? nl - 1 : nl;
		if ((rest = memchr(p + ulen + 1, ':', (size_t)(eol -
		    (p + ulen + 1)))) == NULL)
			rest = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		memcpy(out + n, rest, (size_t)(nl - rest));
		n += (size_t)(nl - rest);
	}
	if (!*found) {
		if (n > 0 && out[n - 1] != '\n')
			out[n++] = '\n';
		n = put_entry(out, n, user, hash);
		out[n++] = '\n';
	}
	*outlen = n;
	return out;
}

/*
 * Gives path the owner and group the file it replaced had, or a new file
 * the daemon's group, so that portkeeperd can still read it.  For the
 * moment between the rename and this the file has the writer's; the
 * daemon reads the file only when it starts or reloads.
 */
static int
set_owner(const char *path, const struct stat *old, int existed,
    struct pm_error *err)
{
	const struct group *gr;
	uid_t uid;
	gid_t gid;

	if (existed) {
		uid = old->st_uid;
		gid = old->st_gid;
	} else if (geteuid() == 0 && (gr = getgrnam(DAEMON_GROUP)) != NULL) {
		uid = 0;
		gid = gr->gr_gid;
	} else
		return 0;
	if (fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW) == -1) {
		struct stat now;

		if (fstatat(AT_FDCWD, path, &now, AT_SYMLINK_NOFOLLOW) == 0 &&
		    now.st_uid == uid && now.st_gid == gid)
			return 0;
		pmerr_set(err, PME_INTERNAL, 0, "%s is written, but cannot get "
		    "back its owner %u:%u: %s", path, (unsigned)uid,
		    (unsigned)gid, strerror(errno));
		return -1;
	}
	return 0;
}

/* Splits file into its directory and name. */
static int
split_path(const char *file, char *dir, size_t dirlen, const char **name,
    struct pm_error *err)
{
	const char *slash = strrchr(file, '/');

	*name = slash != NULL ? slash + 1 : file;
	if (**name == '\0' || strcmp(*name, ".") == 0 ||
	    strcmp(*name, "..") == 0) {
		pmerr_set(err, PME_USAGE, 0, "--file %s names a directory, not "
		    "a file", file);
		return -1;
	}
	if (slash == NULL)
		return str_copy(dir, ".", dirlen);
	if (slash == file)
		return str_copy(dir, "/", dirlen);
	if ((size_t)(slash - file) >= dirlen) {
		pmerr_set(err, PME_USAGE, 0, "--file %s: name too long", file);
		return -1;
	}
	memcpy(dir, file, (size_t)(slash - file));
	dir[slash - file] = '\0';
	return 0;
}

int
cmd_passwd(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "file",	required_argument,	NULL,	'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct passwd_args a = { DEFAULT_FILE };
	const struct cli_spec cs = {
		usage, help, "f:", longopts, passwd_opt, &a, 1, 1,
		"whose password? give a user name, e.g. portkeeper passwd admin"
	};
	struct cli_opts o;
	struct pm_error err;
	struct stat st;
	struct htpasswd *h;
	char dir[PATH_MAX], pw[HTPASSWD_PASS_MAX + 2], hash[HTPASSWD_HASH_MAX];
	char ebuf[512], *old = NULL, *text = NULL;
	const char *user, *name, *why;
	size_t oldlen, textlen;
	int argi, rc, found, dropped;

	if ((argi = cli_parse(&cs, argc, argv, &o, &rc)) == -1)
		return rc;
	user = argv[argi];
	if ((why = user_problem(user)) != NULL)
		return cli_usage_error(&o, usage, "bad user name: %s", why);
	pmerr_clear(&err);
	memset(&st, 0, sizeof(st));
	if (split_path(a.file, dir, sizeof(dir), &name, &err) == -1)
		return cli_usage_error(&o, usage, "%s", err.msg);
	if (read_current(a.file, &old, &oldlen, &st, &err) == -1)
		return cli_fail(&o, &err);
	rc = 1;
	if (check_dir(a.file, dir, &err) == -1)
		goto out;

	if (get_password(user, pw, sizeof(pw), &err) == -1)
		goto out;
	if (strlen(pw) > BCRYPT_PASS_MAX)
		fprintf(stderr, "portkeeper: note: bcrypt uses only the first "
		    "%d bytes of the password\n", BCRYPT_PASS_MAX);
	if (htpasswd_hash(pw, 0, hash, sizeof(hash), ebuf, sizeof(ebuf)) ==
	    -1) {
		pmerr_set(&err, PME_INTERNAL, 0, "%s", ebuf);
		goto out;
	}
	if ((text = edit(old != NULL ? old : "", old != NULL ? oldlen : 0,
	    user, hash, &textlen, &found, &dropped)) == NULL) {
		pmerr_set(&err, PME_INTERNAL, 0, "%s", strerror(errno));
		goto out;
	}
	if (file_write_atomic(dir, name, text, textlen, old != NULL ?
	    st.st_mode & 07777 : NEW_MODE, ebuf, sizeof(ebuf)) == -1) {
		pmerr_set(&err, PME_INTERNAL, 0, "%s", ebuf);
		goto out;
	}
	if (set_owner(a.file, &st, old != NULL, &err) == -1)
		goto out;
	rc = 0;

	if (dropped > 0)
		fprintf(stderr, "portkeeper: removed %d more line%s for %s\n",
		    dropped, dropped == 1 ? "" : "s", user);
	/* Say now, not when the daemon starts, if another line is refused. */
	if ((h = htpasswd_load(a.file, ebuf, sizeof(ebuf))) == NULL)
		fprintf(stderr, "portkeeper: warning: portkeeperd will not "
		    "accept this file until that is fixed: %s\n", ebuf);
	htpasswd_free(h);
	if (o.json) {
		cJSON *obj = cJSON_CreateObject();

		cJSON_AddTrueToObject(obj, "ok");
		cJSON_AddStringToObject(obj, "user", user);
		cJSON_AddStringToObject(obj, "file", a.file);
		cJSON_AddStringToObject(obj, "action", found ? "updated" :
		    "added");
		cli_print_json(obj);
	} else
		printf("passwd: %s %s %s\n", user, found ? "updated in" :
		    "added to", a.file);
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(hash, sizeof(hash));
	free(old);
	free(text);
	return rc == 0 ? 0 : cli_fail(&o, &err);
}

/*
 * The forwards added through the web API: portkeeperd keeps them in
 * state_dir/forwards.conf, a file of [forward NAME] sections in the
 * configuration's own syntax, so that portkeeper.conf stays the
 * administrator's.  Everything that judges "is this forward ours" must read
 * both, as the daemon does.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

/* Whether f takes the name or the external port of one of cfg's. */
static bool
clashes(const struct config *cfg, const struct config_forward *f)
{
	size_t i;

	for (i = 0; i < cfg->nfwd; i++)
		if (strcmp(cfg->fwd[i].name, f->name) == 0 ||
		    (cfg->fwd[i].ext == f->ext && cfg->fwd[i].proto == f->proto))
			return true;
	return false;
}

int
config_webfwd_add(struct config *cfg, char *err, size_t errlen)
{
	struct config wc;
	struct config_forward *all;
	char path[PATH_MAX + 32];
	size_t i;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", cfg->state_dir,
	    CONFIG_WEBFWD_FILE);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	config_init(&wc);
	if (config_load(path, &wc, err, errlen) == -1)
		return -1;
	if (wc.web.enabled) {
		snprintf(err, errlen, "%.400s: holds a [web] section; it may "
		    "only hold [forward NAME] sections", path);
		config_free(&wc);
		return -1;
	}
	if ((all = realloc(cfg->fwd, (cfg->nfwd + wc.nfwd + 1) *
	    sizeof(*all))) == NULL) {
		snprintf(err, errlen, "%.400s: %s", path, strerror(ENOMEM));
		config_free(&wc);
		return -1;
	}
	cfg->fwd = all;
	/* As portkeeperd does: the configuration's own forward wins. */
	for (i = 0; i < wc.nfwd; i++) {
		if (clashes(cfg, &wc.fwd[i]))
			continue;
		cfg->fwd[cfg->nfwd] = wc.fwd[i];
		cfg->fwd[cfg->nfwd].web = true;
		cfg->nfwd++;
		n++;
	}
	config_free(&wc);
	return n;
}

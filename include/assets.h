/*
 * The web UI's files (webui/), embedded into portkeeperd at build time by
 * webui/embed.c, so that the binary and the package carry their own page.
 * The table is generated into $(BUILD)/gen/webui_assets.c.
 */
#ifndef PK_ASSETS_H
#define PK_ASSETS_H

#include <stddef.h>

struct asset {
	const char		*path;		/* "/index.html", "/app.js" */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
	const char		*etag;		/* quoted, from the content */
};

/* Every embedded file; the last entry has path NULL (api_asset_find). */
extern const struct asset assets[];

#endif

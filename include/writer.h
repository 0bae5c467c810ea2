/*
 * The state writer (writer.c): a thread that rewrites one file, off the loop.
 */
#ifndef PK_WRITER_H
#define PK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * writer_start starts a thread that writes the file name of dir
 * atomically (file_write_atomic), off the loop.  writer_start returns NULL
 * with errno when it cannot start.
 */
struct writer;
struct writer	*writer_start(const char *dir, const char *name,
		    unsigned int mode);
/* Hands over len bytes of text (malloc'd, now the writer's) to write. */
void		 writer_put(struct writer *, char *text, size_t len);
/* A descriptor that becomes readable when a write finished, for poll(). */
int		 writer_fd(const struct writer *);
/*
 * The outcome of the writes finished since the last call: 0 none, 1 all
 * written, -1 at least one failed (the last failure's "PATH: reason" in
 * err).
 */
int		 writer_collect(struct writer *, char *err, size_t errlen);
/*
 * Whether every text handed over has been written (or failed): what the
 * loop waits for, without blocking, before work that needs it on disk.
 */
bool		 writer_idle(struct writer *);
/* Waits until every text handed over is written: 0, or -1 at deadline. */
int		 writer_flush(struct writer *, int64_t deadline);
/* Stops the thread once it wrote what it was given, and frees it all. */
void		 writer_free(struct writer *);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: waiting for named segments to appear (waits.c). One inotify
 * descriptor on /dev/shm and one thread serve every wait; the thread
 * starts with the daemon and stops before it exits. Knows nothing of
 * sessions: a wait is an entry its owner embeds, and a callback.
 */
#ifndef WAITS_I_H
#define WAITS_I_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "pshm.h"

#define WAITS_FOREVER UINT64_MAX /* a deadline that never comes */

struct shmfs;
struct waits_entry;
/*
 * Called on the waits thread, outside every lock of waits.c, once: r is 0
 * (what was awaited happened), -ETIMEDOUT, or -EOVERFLOW (a created wait
 * after the kernel lost events: whether it was created cannot be known,
 * and it is not there now). After it returns the entry is the owner's
 * again (it may have freed it inside). Must not call waits_cancel.
 */
typedef void (*waits_done_fn)(struct waits_entry *e, int r);

/* What a wait waits for. */
struct waits_for {
	off_t min_size; /* the segment there with at least this size */
	/*
	 * Or: created, or renamed into place, at any moment since the wait
	 * began, even if it is gone again (min_size is then 0).
	 */
	bool created;
};

struct waits_entry {
	struct waits_entry *prev, *next; /* waits.c's, while pending */
	char name[PSHM_NAME_MAX + 1];    /* the segment's name in /dev/shm */
	uint64_t deadline_ms;            /* CLOCK_MONOTONIC, or WAITS_FOREVER */
	struct waits_for want;
	waits_done_fn done;
	bool pending; /* waits.c's */
	bool recheck; /* waits.c's: to look at again after an overflow */
	int outcome;  /* waits.c's: 0 while undecided, then 1 (answered 0) or -EOVERFLOW */
};

/* Makes fs->waits (0 or -ENOMEM); frees it, stopping its thread. */
int waits_new(struct shmfs *fs);
void waits_free(struct shmfs *fs);
/* At start: the inotify watch on /dev/shm and the thread. 0 or -errno. */
int waits_start(struct shmfs *fs);
/* At the end: stops the thread. Entries still pending stay so, until cancelled. */
void waits_stop(struct shmfs *fs);

/*
 * Waits for the regular file name (a segment's name, checked) in /dev/shm,
 * as want says, until deadline_ms; e is the caller's and must stay until
 * done is called or waits_cancel returns. The watch is in place before
 * the name is looked at, so a segment made meanwhile is never missed.
 * Returns 1 when the segment is there already (e is not registered, done
 * is never called), 0 when e waits (done will be called, maybe before
 * this returns), -ESHUTDOWN when the thread is not running.
 */
int waits_add(struct shmfs *fs, struct waits_entry *e, const char *name, uint64_t deadline_ms,
	      const struct waits_for *want, waits_done_fn done);

/*
 * The owner gives e up: returns true when e was still pending (done will
 * never be called), false when done was called or is running, in which
 * case this returns only once done has returned.
 */
bool waits_cancel(struct shmfs *fs, struct waits_entry *e);

/* Whether the regular file name is in /dev/shm now (lstat; never opens it). */
bool waits_segment_exists(const char *name);

#endif /* WAITS_I_H */

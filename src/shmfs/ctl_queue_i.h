/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the replies of one control file, waiting unread (ctl_queue.c).
 * A plain data structure: no FUSE, no locks (the caller locks), no limits
 * (each call returns the bytes the caller charges or gives back).
 *
 * Replies are kept in command order. A slot holds the place of a reply
 * that comes later (a wait's): what comes after it waits behind it, and
 * it never moves, so it may be filled from another thread while replies
 * are queued behind it. Bytes are counted three ways, and their sum, what
 * the file holds (ctl_queue_held), never passes max (plus error_room for
 * one last error line): unread text, bytes reserved for slots, and bytes
 * promised to replies still being written.
 */
#ifndef CTL_QUEUE_I_H
#define CTL_QUEUE_I_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_queue_entry;

struct ctl_queue {
	struct ctl_queue_entry *head, *tail; /* in command order; read from head */
	size_t max;                          /* held bytes, at most */
	size_t error_room;                   /* and past max, room for one last error line */
	size_t keep;                         /* a drained buffer larger than this is let go */
	size_t unread;                       /* text not read yet */
	size_t reserved;                     /* set aside for slots not filled */
	size_t promised;                     /* for replies being written (ctl_queue_promise) */
	size_t slots;                        /* slots not filled */
};

/* An empty queue holding at most max bytes (and error_room more for an error line). */
void ctl_queue_init(struct ctl_queue *q, size_t max, size_t error_room, size_t keep);
/*
 * Frees everything, slots not filled included. Returns the bytes q held
 * (unread, reserved and promised): the caller gives back their charge.
 */
size_t ctl_queue_free(struct ctl_queue *q);

/* What q holds, in bytes: unread, reserved and promised. */
size_t ctl_queue_held(const struct ctl_queue *q);
/* Whether some text may be read now (none is behind a slot not filled). */
bool ctl_queue_readable(const struct ctl_queue *q);
/* Whether a slot is not filled yet: a read may have to wait for it. */
bool ctl_queue_awaiting(const struct ctl_queue *q);
/* Bytes of memory q uses now (its buffers), for tests and bounds. */
size_t ctl_queue_footprint(const struct ctl_queue *q);

/*
 * Promises room for len more bytes of a reply being written (error: a
 * last error line, which may use error_room). 0, the caller charges len;
 * -ENOBUFS past max, nothing promised.
 */
int ctl_queue_promise(struct ctl_queue *q, size_t len, bool error);
/* Takes back len bytes promised: the caller gives back their charge. */
void ctl_queue_unpromise(struct ctl_queue *q, size_t len);
/*
 * Appends len bytes of text, promised before, after everything: 0; or
 * -ENOMEM, the promise taken back (the caller gives back len).
 */
int ctl_queue_append(struct ctl_queue *q, const char *text, size_t len);

/*
 * Reserves a slot of size bytes after everything, its memory allocated
 * now so that filling it within size never fails. 0 with *ret (the
 * caller charges size); -ENOBUFS past max, -ENOMEM; *ret untouched then.
 */
int ctl_queue_reserve(struct ctl_queue *q, size_t size, struct ctl_queue_entry **ret);
/*
 * Fills slot with len bytes of text, in its place: within its size, or
 * past it with the rest promised before (ctl_queue_promise). Returns the
 * bytes to give back: what the slot reserved and the text did not use. A
 * text past its size that finds no memory is lost whole (never half a
 * reply): the slot goes, and all of it (len) is given back.
 */
size_t ctl_queue_fill(struct ctl_queue *q, struct ctl_queue_entry *slot, const char *text,
		      size_t len);
/* Takes out a slot never filled: returns the bytes it reserved, to give back. */
size_t ctl_queue_drop(struct ctl_queue *q, struct ctl_queue_entry *slot);

/*
 * Copies up to size bytes of what may be read now into buf, and forgets
 * them: their count, whose charge the caller gives back. Stops at the
 * first slot not filled.
 */
size_t ctl_queue_read(struct ctl_queue *q, char *buf, size_t size);
/*
 * Moves the first reply's unread bytes to the start of its buffer, and
 * shrinks a large buffer to what is unread: q holds what waits unread,
 * never what was read before. Appends and reads compact by themselves.
 */
void ctl_queue_compact(struct ctl_queue *q);

#endif /* CTL_QUEUE_I_H */

/* SPDX-License-Identifier: MIT */
/* shmfs: a control file session (ctl_session.c), for the commands (ctl.c). */
#ifndef CTL_I_H
#define CTL_I_H

#include "shmfs_i.h"

/* Runs one complete line of s (NUL-terminable at len): 0, or -errno after replying. */
typedef int (*ctl_run_fn)(void *ctx, struct ctl_session *s, char *line, size_t len);
/* Emits the status summary into a fresh session. */
typedef void (*ctl_summary_fn)(void *ctx, struct ctl_session *s);

/*
 * Takes len bytes a client wrote: each complete line runs (run), one
 * reply at a time; for about CTL_WRITE_SLICE_MS, then the bytes taken are
 * returned (a short write). -errno of the first command that failed, or
 * -ENOBUFS when no reply would fit.
 */
ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len, ctl_run_fn run,
			  void *ctx);
/*
 * Replies to the read req of size bytes (flags: the file's, O_NONBLOCK
 * among them) with what may be read now (or, before any command, the
 * summary; or the end: nothing is awaited). When only an unfinished wait
 * is ahead, the request is kept and answered when its reply comes; EAGAIN
 * instead with O_NONBLOCK, EINTR when the reader gets a signal (the wait
 * goes on), EBUSY when another read is kept already, ENOTCONN when the
 * daemon stops.
 */
void ctl_session_read(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
		      ctl_summary_fn summary, void *ctx);
/*
 * Replies to a poll: readable when a read would not wait, always writable
 * (a write never waits; ENOBUFS tells when replies must be read first).
 * ph, when given, is kept (a previous one destroyed) and notified once
 * when a reply comes.
 */
void ctl_session_poll(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph);
/*
 * A reply that comes later, in this command's place: ok_line when the
 * segment (its name in /dev/shm) is there, at once if it is already,
 * late_line at deadline_ms (CLOCK_MONOTONIC; WAITS_FOREVER: only the
 * session's end ends it). Replies after it wait behind it. 0; -EDQUOT at
 * the opener's limit of waits, -ENOBUFS when its reply would not fit
 * what may wait unread, -ESHUTDOWN when the daemon stops, -ENOMEM.
 */
int ctl_reply_when(struct ctl_session *s, const char *segment, uint64_t deadline_ms,
		   const char *ok_line, const char *late_line);

/* A reply line (a newline is added); dropped, with the session overflowed, if it does not fit. */
__attribute__((format(printf, 2, 3))) void ctl_emit(struct ctl_session *s, const char *fmt, ...);
/* Replies "err ENAME message" and returns -code. */
__attribute__((format(printf, 3, 4))) int ctl_fail(struct ctl_session *s, int code, const char *fmt,
						   ...);
/* Whose rights the commands have: the opener's. */
const struct creds *ctl_opener(const struct ctl_session *s);
/* Whether the command being run had more to say than the room left. */
bool ctl_overflowed(const struct ctl_session *s);

#endif /* CTL_I_H */

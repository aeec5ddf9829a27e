/* SPDX-License-Identifier: MIT */
/* shmfs: the control file's sessions (ctl_session.c). */
#ifndef CTL_SESSION_I_H
#define CTL_SESSION_I_H

#include "shmfs_i.h"

/*
 * ctl_session.c: the control file's sessions, one per open (its commands:
 * ctl.c; its parser: ctl_parse_i.h; the rest: ctl_i.h, ctl_queue_i.h).
 */
#define CTL_OUTPUT_MAX (64 << 10) /* replies pending unread in one .ctl file, at most */
#define CTL_ERROR_ROOM 1024       /* and past it, room for one last error line */
/* One write runs commands for about this long, then returns short (the writer goes on). */
#define CTL_WRITE_SLICE_MS 20
/* A session for opener (whose rights every command has): 0, -EMFILE at the opener's limit. */
int ctl_session_open(struct shmfs *fs, const struct creds *opener, struct ctl_session **ret);
/* Ends s (NULL is fine): its waits end, a read kept gets ENOTCONN, its "hold" segments go. */
void ctl_session_close(struct ctl_session *s);
/* Makes fs->sessions (0 or -ENOMEM); frees it, closing the sessions still open. */
int ctl_sessions_new(struct shmfs *fs);
void ctl_sessions_free(struct shmfs *fs);
/* Closes the sessions still open (at exit): a read kept gets ENOTCONN. */
void ctl_sessions_close_all(struct shmfs *fs);
/*
 * Takes len bytes a client wrote: each complete line runs as the session's
 * opener (whoever writes), one reply at a time, for about
 * CTL_WRITE_SLICE_MS; then the bytes taken are returned (a short write).
 * -errno of the first command that failed, or -ENOBUFS when no reply
 * would fit. No lock of s is held while a command runs.
 */
ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len,
			  const struct ctl_context *context);
/*
 * Replies to the read req of size bytes (flags: the file's, O_NONBLOCK
 * among them) with what may be read now (or, before any command, the
 * status summary; or the end: nothing is awaited). When only an
 * unfinished wait is ahead, the request is kept and answered when its
 * reply comes; EAGAIN instead with O_NONBLOCK, EINTR when the reader gets
 * a signal (the wait goes on), EBUSY when another read is kept already,
 * ENOTCONN when the daemon stops.
 */
void ctl_session_read_reply(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
			    const struct ctl_context *context);
/*
 * Replies to a poll: readable when a read would not wait, always writable
 * (a write never waits; ENOBUFS tells when replies must be read first).
 * ph, when given, is kept (a previous one destroyed) and notified once
 * when a reply comes.
 */
void ctl_session_poll_reply(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph);

#endif /* CTL_SESSION_I_H */

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
/* What waits unread (or, before any command, the summary) into buf. */
ssize_t ctl_session_read(struct ctl_session *s, char *buf, size_t size, ctl_summary_fn summary,
			 void *ctx);

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

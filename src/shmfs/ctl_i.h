/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the control file below its sessions (ctl_session.c): the emit
 * context a command replies through (ctl_emit.c), and the commands
 * (ctl.c; usage in ctl_usage.c). Calls go one way: session -> commands ->
 * emit context; the emit context reaches the session only through the ops
 * it was given.
 */
#ifndef CTL_I_H
#define CTL_I_H

#include "shmfs_i.h"
#include "waits_i.h"

/* A drained reply buffer (an emit context's, a session's queue) larger than this is let go. */
#define CTL_BUFFER_KEEP 4096

struct ctl_emit;

/* A reply that comes later (ctl_emit_later): what it waits for, and its lines. */
struct ctl_later {
	const char *segment;  /* its name in /dev/shm */
	uint64_t deadline_ms; /* CLOCK_MONOTONIC; WAITS_FOREVER: only the file's end ends it */
	struct waits_for want;
	const char *ok_text;   /* when what it waits for happens, at once if it has */
	const char *late_text; /* at deadline_ms; NULL with WAITS_FOREVER */
	const char *lost_text; /* want.created, after the kernel lost events; else NULL */
};

/* What the session behind an emit context does for it; owner is the session, opaque here. */
struct ctl_emit_ops {
	/*
	 * Room for len more bytes of the reply (error: a last error line,
	 * which may pass the file's limit by CTL_ERROR_ROOM): 0, charged to
	 * the opener until taken or given back; -ENOBUFS past the file's or
	 * the opener's limit.
	 */
	int (*charge)(void *owner, size_t len, bool error);
	/* Gives back the charge of len bytes. */
	void (*uncharge)(void *owner, size_t len);
	/*
	 * ctl_emit_later, with its texts as lines, escaped and ended (copied,
	 * not kept): takes e's lines so far first, then holds the place of
	 * the reply that comes later.
	 */
	int (*later)(void *owner, struct ctl_emit *e, const struct ctl_later *later);
};

/*
 * One command's reply while it is written: made by the session, written
 * by the command, taken by the session when the command is done. Its
 * lines are charged as they come (ops->charge), so a reply too large for
 * what may wait unread is known before it is queued.
 */
struct ctl_emit {
	const struct ctl_emit_ops *ops;
	void *owner;                /* ops' */
	const struct creds *opener; /* whose rights the command has */
	char *text;                 /* the lines so far: text[0..len), charged */
	size_t len, cap;
	bool overflow; /* a line did not fit: the reply is to be dropped whole */
};

/* ctl_emit.c: for the session. */
void ctl_emit_init(struct ctl_emit *e, const struct ctl_emit_ops *ops, void *owner,
		   const struct creds *opener);
/* The session took e's lines with their charge: e is empty again. */
void ctl_emit_taken(struct ctl_emit *e);
/* Drops e's lines, giving back their charge, and the overflow. */
void ctl_emit_drop(struct ctl_emit *e);
/* Frees e's buffer (its lines taken or dropped before). */
void ctl_emit_free(struct ctl_emit *e);

/* ctl_emit.c: for the commands. */
/*
 * A reply line (a newline is added), every byte outside printable ASCII
 * written %XX; dropped, with e overflowed, when it does not fit.
 */
__attribute__((format(printf, 2, 3))) void ctl_emit_line(struct ctl_emit *e, const char *fmt, ...);
/* Replies "err ENAME message" (room kept for it past the file's limit) and returns -code. */
__attribute__((format(printf, 3, 4))) int ctl_emit_fail(struct ctl_emit *e, int code,
							const char *fmt, ...);
/*
 * A reply that comes later, in this command's place: later->ok_text when
 * the segment is there as later->want asks (waits_add), at once if it is
 * already, late_text at the deadline, lost_text when a created wait
 * cannot know. Replies after it wait behind it. 0; -EDQUOT at the
 * opener's limit of waits, -ENOBUFS when its reply would not fit what may
 * wait unread, -ESHUTDOWN when the daemon stops, -ENOMEM.
 */
int ctl_emit_later(struct ctl_emit *e, const struct ctl_later *later);
/* Whose rights the command has: the opener's. */
const struct creds *ctl_emit_opener(const struct ctl_emit *e);
/* What holds a "hold" segment (anon_create): the open file, opaque. */
const void *ctl_emit_holder(const struct ctl_emit *e);
/* Whether the command had more to say than the room left. */
bool ctl_emit_overflowed(const struct ctl_emit *e);
/*
 * Replies why a scan of /proc (holders_objects, holders_scan) returned r
 * < 0: EAGAIN (no scan slot), ETIMEDOUT, E2BIG, or what it was. Returns r.
 */
int ctl_emit_scan_refused(struct ctl_emit *e, int r);

/* ctl.c: the commands, as e's opener; they know nothing of sessions. */
/* Parses and runs one line (NUL-terminable at len): 0, or -errno after replying "err ...". */
int ctl_cmd_run(struct shmfs *fs, struct ctl_emit *e, char *line, size_t len,
		const struct ctl_context *context);
/* The status summary a fresh file answers with. */
void ctl_cmd_summary(struct shmfs *fs, struct ctl_emit *e, const struct ctl_context *context);

/* ctl_usage.c: usage [by-user|by-process|by-cgroup] (by: enum ctl_usage_by), the reply "usage 2". */
int ctl_usage_run(struct shmfs *fs, struct ctl_emit *e, int by);

#endif /* CTL_I_H */

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the control file. Plan 9 style: a client writes one command per
 * line and reads the reply, one line "ok ..." or "err ENAME message", from
 * the same open file; a failed command also fails the write(2).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ctl_parse_i.h"
#include "shmfs_i.h"

struct ctl_session {
	struct ctl_session *prev, *next; /* every open session, for the exit */
	pthread_mutex_t lock;
	char line[CTL_LINE_MAX + 1]; /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding; /* the rest of an over-long line is skipped */
	bool used;       /* a command was written: no status summary */
	char *out;       /* replies not read yet: out[out_pos..out_len) */
	size_t out_len, out_pos, out_cap;
};

/* Who is asking, for permission checks. */
struct ctl_caller {
	fuse_req_t req;
	uid_t uid;
	gid_t gid;
};

static struct {
	pthread_mutex_t lock;
	struct ctl_session *first;
} sessions = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct ctl_session *ctl_open(void)
{
	struct ctl_session *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_lock(&sessions.lock);
	s->next = sessions.first;
	if (s->next)
		s->next->prev = s;
	sessions.first = s;
	pthread_mutex_unlock(&sessions.lock);
	return s;
}

void ctl_close(struct ctl_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&sessions.lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions.first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&sessions.lock);
	/* Anonymous segments made with "hold" die with the descriptor that made them. */
	anon_release_holder(s);
	pthread_mutex_destroy(&s->lock);
	free(s->out);
	free(s);
}

void ctl_destroy_all(void)
{
	/* At exit the kernel may not have sent every release yet. */
	while (sessions.first)
		ctl_close(sessions.first);
}

/* Appends text to the pending output; false when it would pass CTL_OUTPUT_MAX. */
static bool emit_raw(struct ctl_session *s, const char *text, size_t len)
{
	if (s->out_pos == s->out_len)
		s->out_pos = s->out_len = 0;
	if (s->out_len - s->out_pos + len > CTL_OUTPUT_MAX)
		return false;
	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		char *out;

		while (cap < s->out_len + len)
			cap *= 2;
		out = realloc(s->out, cap);
		if (!out)
			return false;
		s->out = out;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, text, len);
	s->out_len += len;
	return true;
}

__attribute__((format(printf, 2, 3))) static void emit(struct ctl_session *s, const char *fmt, ...)
{
	char line[CTL_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit_raw(s, line, (size_t)n);
}

/* Replies "err ENAME message" and returns -code. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctl_session *s, int code,
						      const char *fmt, ...)
{
	char message[CTL_LINE_MAX];
	const char *name = strerrorname_np(code);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	emit(s, "err %s %s", name ? name : "EIO", message);
	return -code;
}

static void holders_emit(void *ctx, const char *line)
{
	emit(ctx, "%s", line);
}

/* Whether the caller may read a segment with status st, as the kernel would judge. */
static bool may_read(const struct ctl_caller *c, const struct stat *st)
{
	gid_t groups[64];
	int n;

	if (c->uid == 0)
		return true;
	if (c->uid == st->st_uid)
		return st->st_mode & S_IRUSR;
	if (c->gid == st->st_gid)
		return st->st_mode & S_IRGRP;
	n = fuse_req_getgroups(c->req, 64, groups);
	for (int i = 0; i < n && i < 64; i++)
		if (groups[i] == st->st_gid)
			return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}

static int run_anon(struct ctl_session *s, const struct ctl_caller *c,
		    const struct ctl_command *cmd)
{
	uint64_t id;
	int fd, r;

	r = anon_create(cmd->size, cmd->mode, c->uid, c->gid, cmd->hold ? s : NULL, &id, &fd);
	if (r == -EMFILE)
		return fail(s, EMFILE, "%d anonymous segments already (the limit)", ANON_MAX);
	if (r < 0)
		return fail(s, -r, "cannot create a segment of %jd bytes: %s", (intmax_t)cmd->size,
			    strerror(-r));
	emit(s, "ok %" PRIu64 " %jd " ANON_DIR_NAME "/%" PRIu64 " /proc/%ld/fd/%d", id,
	     (intmax_t)cmd->size, id, (long)getpid(), fd);
	return 0;
}

static int run_free(struct ctl_session *s, const struct ctl_caller *c,
		    const struct ctl_command *cmd)
{
	int r = anon_free(cmd->id, c->uid);

	if (r == -ENOENT)
		return fail(s, ENOENT, "no anonymous segment %" PRIu64, cmd->id);
	if (r == -EPERM)
		return fail(s, EPERM, "anonymous segment %" PRIu64 " is not yours", cmd->id);
	emit(s, "ok");
	return 0;
}

static void emit_anon(struct ctl_session *s, const struct anon_info *a, const char *lead)
{
	emit(s, "%s%" PRIu64 " %jd %04o %u " ANON_DIR_NAME "/%" PRIu64 " /proc/%ld/fd/%d%s", lead,
	     a->id, (intmax_t)a->st.st_size, a->st.st_mode & 07777, (unsigned)a->st.st_uid, a->id,
	     (long)getpid(), a->fd, a->held ? " hold" : "");
}

static struct anon_info anon_buffer[ANON_MAX];
static pthread_mutex_t anon_buffer_lock = PTHREAD_MUTEX_INITIALIZER;

static void emit_anons(struct ctl_session *s, uid_t caller, const char *lead)
{
	size_t n;

	pthread_mutex_lock(&anon_buffer_lock);
	n = anon_list(anon_buffer, ANON_MAX, caller);
	for (size_t i = 0; i < n; i++)
		emit_anon(s, &anon_buffer[i], lead);
	pthread_mutex_unlock(&anon_buffer_lock);
}

static int run_holders(struct ctl_session *s, const struct ctl_caller *c,
		       const struct ctl_command *cmd)
{
	char full[PSHM_NAME_MAX + 1];
	unsigned unreadable = 0;
	struct stat st;
	int r;

	if (cmd->id) {
		r = anon_stat(cmd->id, &st, NULL);
	} else {
		r = ops_segment_name(cmd->name, full);
		if (r == 0)
			r = pshm_stat_name(full, &st, NULL);
	}
	if (r < 0)
		return fail(s, -r, "%s: %s", cmd->name, strerror(-r));
	if (!may_read(c, &st))
		return fail(s, EACCES, "%s: not readable by uid %u", cmd->name, (unsigned)c->uid);
	r = holders_scan(st.st_dev, st.st_ino, holders_emit, s, &unreadable);
	if (r < 0)
		return fail(s, -r, "cannot scan /proc: %s", strerror(-r));
	if (unreadable)
		emit(s, "ok partial: %u processes could not be read", unreadable);
	else
		emit(s, "ok");
	return 0;
}

static void emit_help(struct ctl_session *s)
{
	emit(s, "anon SIZE [MODE] [hold]  create an anonymous segment (hold: freed when this "
		"file is closed)");
	emit(s, "free ID                   release anonymous segment ID");
	emit(s, "list                      your anonymous segments: ID SIZE MODE UID PATH "
		"PROC-PATH [hold]");
	emit(s, "holders NAME              who has NAME (or .anon/ID) open or mapped");
	emit(s, "help                      this text");
	emit(s, "ok");
}

/* Runs one complete line; returns 0, or -errno after replying "err ...". */
static int run_line(struct ctl_session *s, const struct ctl_caller *c, char *line, size_t len)
{
	char message[CTL_MESSAGE_MAX];
	struct ctl_command cmd;

	if (ctl_parse(line, len, &cmd, message, sizeof(message)) < 0)
		return fail(s, EINVAL, "%s", message);
	switch (cmd.verb) {
	case CTL_NONE:
		return 0; /* an empty line is no command */
	case CTL_ANON:
		return run_anon(s, c, &cmd);
	case CTL_FREE:
		return run_free(s, c, &cmd);
	case CTL_LIST:
		emit_anons(s, c->uid, "");
		emit(s, "ok");
		return 0;
	case CTL_HOLDERS:
		return run_holders(s, c, &cmd);
	case CTL_HELP:
		emit_help(s);
		return 0;
	}
	return fail(s, EINVAL, "unknown command");
}

ssize_t ctl_write(struct ctl_session *s, fuse_req_t req, const char *buf, size_t len)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ctl_caller caller = { .req = req, .uid = ctx->uid, .gid = ctx->gid };
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->used = true;
	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];

		/* The rest of an over-long line goes, up to its newline. */
		if (s->discarding) {
			if (ch == '\n')
				s->discarding = false;
			continue;
		}
		/* After a failed command the rest of this write is not run. */
		if (r < 0)
			break;
		if (ch != '\n') {
			if (s->line_len == CTL_LINE_MAX) {
				s->discarding = true;
				s->line_len = 0;
				r = fail(s, EINVAL, "line longer than %d bytes", CTL_LINE_MAX);
				continue;
			}
			s->line[s->line_len++] = ch;
			continue;
		}
		if (s->out_len - s->out_pos > CTL_OUTPUT_MAX - CTL_LINE_MAX) {
			s->line_len = 0;
			r = -ENOBUFS; /* no room even for an error reply: read the replies */
			break;
		}
		r = run_line(s, &caller, s->line, s->line_len);
		s->line_len = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : (ssize_t)len;
}

/* The status summary a fresh .ctl answers with. */
static void emit_summary(struct ctl_session *s, uid_t caller)
{
	uint64_t segments = 0, bytes = 0;
	char data_path[160];
	struct pshm_iter *it;
	struct statvfs sv;
	struct stat st;
	const char *name;

	emit(s, "version %s", SHMFS_VERSION);
	emit(s, "pid %ld", (long)getpid());
	emit(s, "prefix %s", shmfs_config.prefix[0] ? shmfs_config.prefix : "-");
	passthrough_status(data_path, sizeof(data_path));
	emit(s, "passthrough %s", data_path);
	if (statvfs(PSHM_DIR, &sv) == 0) {
		emit(s, "shm-size %" PRIu64, (uint64_t)sv.f_blocks * sv.f_frsize);
		emit(s, "shm-used %" PRIu64, (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		emit(s, "shm-free %" PRIu64, (uint64_t)sv.f_bavail * sv.f_frsize);
	}
	if (pshm_iter_open(shmfs_config.prefix, &it, NULL) == 0) {
		while (pshm_iter_next(it, &name, &st, NULL) > 0) {
			segments++;
			bytes += (uint64_t)st.st_size;
		}
		pshm_iter_free(it);
	}
	emit(s, "segments %" PRIu64, segments);
	emit(s, "segments-bytes %" PRIu64, bytes);
	pthread_mutex_lock(&anon_buffer_lock);
	size_t n = anon_list(anon_buffer, ANON_MAX, ANON_ALL);
	uint64_t anon_bytes = 0;
	for (size_t i = 0; i < n; i++)
		anon_bytes += (uint64_t)anon_buffer[i].st.st_size;
	emit(s, "anonymous %zu", n);
	emit(s, "anonymous-bytes %" PRIu64, anon_bytes);
	pthread_mutex_unlock(&anon_buffer_lock);
	/* The totals are everyone's; the segments listed only the caller's own. */
	emit_anons(s, caller, "anon ");
}

ssize_t ctl_read(struct ctl_session *s, fuse_req_t req, char *buf, size_t size)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	if (!s->used) {
		s->used = true;
		emit_summary(s, fuse_req_ctx(req)->uid);
	}
	n = s->out_len - s->out_pos;
	if (n > size)
		n = size;
	if (n)
		memcpy(buf, s->out + s->out_pos, n);
	s->out_pos += n;
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)n;
}

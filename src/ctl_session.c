/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a control file session: the line protocol and the replies that
 * wait unread. Plan 9 style: a client writes one command per line and
 * reads the reply, one line "ok ..." or "err ENAME message", from the same
 * open file; a failed command also fails the write(2). What runs a line is
 * ctl.c's, passed in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_i.h"
#include "ctl_parse_i.h"

struct ctl_session {
	struct ctl_session *prev, *next; /* every open session, for the exit */
	struct creds opener;             /* every command has the opener's rights */
	pthread_mutex_t lock;
	char line[CTL_LINE_MAX + 1]; /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding; /* the rest of an over-long line is skipped */
	bool used;       /* a command was written: no status summary */
	bool overflow;   /* the command being run had more to say than room */
	char *out;       /* replies not read yet: out[out_pos..out_len), compacted (compact) */
	size_t out_len, out_pos, out_cap;
	size_t charged; /* reply bytes charged to the opener (limits.c) */
};

static struct {
	pthread_mutex_t lock;
	struct ctl_session *first;
} sessions = { .lock = PTHREAD_MUTEX_INITIALIZER };

int ctl_session_open(const struct creds *opener, struct ctl_session **ret)
{
	struct ctl_session *s;
	int r = limits_take(opener->uid, LIMIT_CTL, 1);

	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		limits_give(opener->uid, LIMIT_CTL, 1);
		return -ENOMEM;
	}
	s->opener = *opener;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_lock(&sessions.lock);
	s->next = sessions.first;
	if (s->next)
		s->next->prev = s;
	sessions.first = s;
	pthread_mutex_unlock(&sessions.lock);
	*ret = s;
	return 0;
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
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, s->charged);
	limits_give(s->opener.uid, LIMIT_CTL, 1);
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

/* Gives back the charge of reply bytes read (or dropped). */
static void uncharge(struct ctl_session *s, size_t len)
{
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, len);
	s->charged -= len;
}

/*
 * Moves the replies not read yet to the start of the buffer, and lets a
 * large buffer go once everything is read: what a session holds is what
 * waits unread, never what was read before.
 */
static void compact(struct ctl_session *s)
{
	size_t pending = s->out_len - s->out_pos;

	if (pending == 0 && s->out_cap > CTL_BUFFER_KEEP) {
		free(s->out);
		s->out = NULL;
		s->out_cap = 0;
	} else if (s->out_pos) {
		memmove(s->out, s->out + s->out_pos, pending);
	}
	s->out_len = pending;
	s->out_pos = 0;
}

/*
 * Appends text to the pending output, charged to the opener; false (and
 * s->overflow) when it would pass CTL_OUTPUT_MAX or the opener's limit.
 * error: a last short error line, which may use the one line of room kept
 * past CTL_OUTPUT_MAX (still within the opener's limit: else it is
 * dropped, and the failed write(2) alone tells).
 */
static bool emit_raw(struct ctl_session *s, const char *text, size_t len, bool error)
{
	size_t room = CTL_OUTPUT_MAX + (error ? CTL_ERROR_ROOM : 0);

	if (s->out_len - s->out_pos + len > room ||
	    limits_take(s->opener.uid, LIMIT_CTL_BYTES, len) < 0) {
		s->overflow = !error;
		return false;
	}
	s->charged += len;
	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		char *out;

		while (cap < s->out_len + len)
			cap *= 2;
		out = realloc(s->out, cap);
		if (!out) {
			uncharge(s, len);
			s->overflow = true;
			return false;
		}
		s->out = out;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, text, len);
	s->out_len += len;
	return true;
}

__attribute__((format(printf, 2, 3))) void ctl_emit(struct ctl_session *s, const char *fmt, ...)
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
	emit_raw(s, line, (size_t)n, false);
}

/* Replies "err ENAME message" (always delivered) and returns -code. */
__attribute__((format(printf, 3, 4))) int ctl_fail(struct ctl_session *s, int code, const char *fmt,
						   ...)
{
	char message[CTL_MESSAGE_MAX], line[CTL_MESSAGE_MAX + 32];
	const char *name = strerrorname_np(code);
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line) - 1, "err %s %s", name ? name : "EIO", message);
	if (n < 0)
		return -code;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit_raw(s, line, (size_t)n, true);
	return -code;
}

const struct creds *ctl_opener(const struct ctl_session *s)
{
	return &s->opener;
}

bool ctl_overflowed(const struct ctl_session *s)
{
	return s->overflow;
}

/*
 * Runs one complete line; returns 0, or -errno after replying "err ...".
 * A reply that does not fit what may stay unread is dropped whole and
 * replaced by an ENOBUFS error: never half a reply.
 */
static int run_line(struct ctl_session *s, char *line, size_t len, ctl_run_fn run, void *ctx)
{
	size_t mark;
	int r;

	compact(s);
	mark = s->out_len;
	s->overflow = false;
	r = run(ctx, s, line, len);
	if (!s->overflow)
		return r;
	uncharge(s, s->out_len - mark);
	s->out_len = mark;
	s->overflow = false;
	return ctl_fail(
		s, ENOBUFS,
		"the reply does not fit in what may wait unread (%d bytes a file, %u a user): "
		"read the replies first",
		CTL_OUTPUT_MAX, LIMIT_CTL_USER_BYTES);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len, ctl_run_fn run,
			  void *ctx)
{
	uint64_t deadline = now_ms() + CTL_WRITE_SLICE_MS;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->used = true;
	for (i = 0; i < len; i++) {
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
				compact(s);
				r = ctl_fail(s, EINVAL, "line longer than %d bytes", CTL_LINE_MAX);
				continue;
			}
			s->line[s->line_len++] = ch;
			continue;
		}
		if (s->out_len - s->out_pos > CTL_OUTPUT_MAX - CTL_MESSAGE_MAX) {
			s->line_len = 0;
			r = -ENOBUFS; /* no room even for an error reply: read the replies */
			break;
		}
		r = run_line(s, s->line, s->line_len, run, ctx);
		s->line_len = 0;
		/*
		 * The time slice is over: take what ran, the writer writes the
		 * rest again. A thread never spends long on one client, and the
		 * kernel lets go of the file between the pieces.
		 */
		if (r == 0 && i + 1 < len && now_ms() >= deadline) {
			i++;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : (ssize_t)i;
}

ssize_t ctl_session_read(struct ctl_session *s, char *buf, size_t size, ctl_summary_fn summary,
			 void *ctx)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	if (!s->used) {
		s->used = true;
		summary(ctx, s);
	}
	n = s->out_len - s->out_pos;
	if (n > size)
		n = size;
	if (n)
		memcpy(buf, s->out + s->out_pos, n);
	s->out_pos += n;
	uncharge(s, n);
	if (s->out_pos == s->out_len)
		compact(s);
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)n;
}

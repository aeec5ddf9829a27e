/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a control file session: the line protocol and the replies that
 * wait unread. Plan 9 style: a client writes one command per line and
 * reads the reply, one line "ok ..." or "err ENAME message", from the same
 * open file; a failed command also fails the write(2). What runs a line is
 * ctl.c's, passed in.
 *
 * Replies are read in command order. A wait (ctl_reply_when) holds its
 * place in that order until its segment appears or its time is up: the
 * commands after it run at once, their replies wait behind it. A read
 * with nothing to read but an unfinished wait keeps its request and is
 * answered later (by the waits thread, an interrupt, or the end), so no
 * thread of the daemon ever waits for a client.
 *
 * Two locks: lock, held while a command runs (which may take long: a
 * scan), for the line being written and the running command's reply; and
 * out_lock, for bookkeeping only (what waits unread, the waits, the read
 * and poll handle kept), which the waits thread takes and never holds
 * over a system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_i.h"
#include "ctl_parse_i.h"
#include "waits_i.h"

struct ctl_wait {
	struct waits_entry entry;
	struct ctl_session *s;
	struct ctl_wait *next;     /* the session's unfinished waits, in command order */
	size_t pos;                /* where its reply goes in s->out (moves with it) */
	size_t reserved;           /* bytes set aside (and charged) for its longer reply */
	char *ok_line, *late_line; /* its replies, with their newlines */
};

struct ctl_session {
	struct ctl_session *prev, *next; /* every open session, for the exit */
	struct creds opener;             /* every command has the opener's rights */
	pthread_mutex_t lock;            /* the line being written, the command running */
	char line[CTL_LINE_MAX + 1];     /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding; /* the rest of an over-long line is skipped */
	bool overflow;   /* the command being run had more to say than room */
	char *stage;     /* the running command's reply, until it is done (commit) */
	size_t stage_len, stage_cap;

	pthread_mutex_t out_lock; /* the rest: bookkeeping only */
	bool used;                /* a command was written: no status summary */
	bool closing;             /* ctl_close took the waits */
	char *out; /* replies not read yet: out[out_pos..out_len), compacted (compact) */
	size_t out_len, out_pos, out_cap;
	struct ctl_wait *waits; /* unfinished, in command order: out[first's pos..] waits */
	size_t wait_count;
	size_t reserved;   /* bytes set aside for the waits' replies */
	size_t charged;    /* reply bytes charged to the opener (limits.c) */
	fuse_req_t reader; /* a read kept until a reply comes */
	size_t reader_size;
	struct fuse_pollhandle *poll; /* to tell when a reply comes */
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
	pthread_mutex_init(&s->out_lock, NULL);
	pthread_mutex_lock(&sessions.lock);
	s->next = sessions.first;
	if (s->next)
		s->next->prev = s;
	sessions.first = s;
	pthread_mutex_unlock(&sessions.lock);
	*ret = s;
	return 0;
}

static void wait_free(struct ctl_wait *w)
{
	free(w->ok_line);
	free(w->late_line);
	free(w);
}

/*
 * Answers a kept read request. Its interrupt function is taken away
 * first: that waits for one running on another thread (it holds the
 * request's lock), so none runs after the reply.
 */
static void answer(fuse_req_t req, const char *buf, size_t len, int err)
{
	fuse_req_interrupt_func(req, NULL, NULL);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, len);
}

static void close_session(struct ctl_session *s, int reader_err)
{
	struct ctl_wait *waits;
	struct fuse_pollhandle *ph;
	fuse_req_t reader;
	size_t wait_count;

	pthread_mutex_lock(&sessions.lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions.first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&sessions.lock);
	pthread_mutex_lock(&s->out_lock);
	s->closing = true;
	waits = s->waits;
	s->waits = NULL;
	wait_count = s->wait_count;
	reader = s->reader;
	s->reader = NULL;
	ph = s->poll;
	s->poll = NULL;
	pthread_mutex_unlock(&s->out_lock);
	while (waits) {
		struct ctl_wait *next = waits->next;

		/* Once it returns, the waits thread is done with it (and saw closing). */
		waits_cancel(&waits->entry);
		wait_free(waits);
		waits = next;
	}
	/*
	 * The kernel releases a file only once no read is in it: a kept read
	 * is left only when the daemon stops.
	 */
	if (reader)
		answer(reader, NULL, 0, reader_err);
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* Anonymous segments made with "hold" die with the descriptor that made them. */
	anon_release_holder(s);
	limits_give(s->opener.uid, LIMIT_WAITS, wait_count);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, s->charged);
	limits_give(s->opener.uid, LIMIT_CTL, 1);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->out_lock);
	free(s->stage);
	free(s->out);
	free(s);
}

void ctl_close(struct ctl_session *s)
{
	if (s)
		close_session(s, ENOTCONN);
}

void ctl_destroy_all(void)
{
	/* At exit the kernel may not have sent every release yet. */
	while (sessions.first)
		close_session(sessions.first, ENOTCONN);
}

/* With out_lock: gives back the charge of reply bytes read (or dropped). */
static void uncharge(struct ctl_session *s, size_t len)
{
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, len);
	s->charged -= len;
}

/* With out_lock: where the replies that may be read now end. */
static size_t ready_end(const struct ctl_session *s)
{
	return s->waits ? s->waits->pos : s->out_len;
}

/* With out_lock: all that waits unread or is set aside, in bytes. */
static size_t pending(const struct ctl_session *s)
{
	return s->out_len - s->out_pos + s->reserved;
}

/*
 * With out_lock: moves the replies not read yet to the start of the
 * buffer, and lets a large buffer go once everything is read and nothing
 * is awaited: what a session holds is what waits unread, never what was
 * read before.
 */
static void compact(struct ctl_session *s)
{
	size_t unread = s->out_len - s->out_pos;

	if (unread == 0 && !s->waits && s->out_cap > CTL_BUFFER_KEEP) {
		free(s->out);
		s->out = NULL;
		s->out_cap = 0;
	} else if (s->out_pos) {
		memmove(s->out, s->out + s->out_pos, unread);
		for (struct ctl_wait *w = s->waits; w; w = w->next)
			w->pos -= s->out_pos;
	}
	s->out_len = unread;
	s->out_pos = 0;
}

/*
 * With out_lock: room for extra more bytes besides the replies set aside,
 * so that a wait's reply always finds its room when it comes.
 */
static bool make_room(struct ctl_session *s, size_t extra)
{
	size_t need = s->out_len + extra + s->reserved, cap = s->out_cap ? s->out_cap : 4096;
	char *out;

	if (need <= s->out_cap)
		return true;
	while (cap < need)
		cap *= 2;
	out = realloc(s->out, cap);
	if (!out)
		return false;
	s->out = out;
	s->out_cap = cap;
	return true;
}

/*
 * Appends text to the running command's reply, charged to the opener;
 * false (and s->overflow) when it would pass CTL_OUTPUT_MAX or the
 * opener's limit. error: a last short error line, which may use the one
 * line of room kept past CTL_OUTPUT_MAX (still within the opener's limit:
 * else it is dropped, and the failed write(2) alone tells).
 */
static bool emit_raw(struct ctl_session *s, const char *text, size_t len, bool error)
{
	size_t room = CTL_OUTPUT_MAX + (error ? CTL_ERROR_ROOM : 0), held;
	int r;

	pthread_mutex_lock(&s->out_lock);
	held = pending(s);
	r = held + s->stage_len + len > room ? -ENOBUFS
					     : limits_take(s->opener.uid, LIMIT_CTL_BYTES, len);
	if (r == 0)
		s->charged += len;
	pthread_mutex_unlock(&s->out_lock);
	if (r < 0) {
		s->overflow = !error;
		return false;
	}
	if (s->stage_len + len > s->stage_cap) {
		size_t cap = s->stage_cap ? s->stage_cap : 1024;
		char *stage;

		while (cap < s->stage_len + len)
			cap *= 2;
		stage = realloc(s->stage, cap);
		if (!stage) {
			pthread_mutex_lock(&s->out_lock);
			uncharge(s, len);
			pthread_mutex_unlock(&s->out_lock);
			s->overflow = true;
			return false;
		}
		s->stage = stage;
		s->stage_cap = cap;
	}
	memcpy(s->stage + s->stage_len, text, len);
	s->stage_len += len;
	return true;
}

/* With lock: the running command's reply goes after everything before it. */
static void commit(struct ctl_session *s)
{
	pthread_mutex_lock(&s->out_lock);
	if (!s->stage_len) {
		/* nothing staged (a wait's reply comes later): no copy from nowhere */
	} else if (make_room(s, s->stage_len)) {
		memcpy(s->out + s->out_len, s->stage, s->stage_len);
		s->out_len += s->stage_len;
	} else {
		uncharge(s, s->stage_len);
	}
	pthread_mutex_unlock(&s->out_lock);
	s->stage_len = 0;
	/* A large reply's buffer goes with it. */
	if (s->stage_cap > CTL_BUFFER_KEEP) {
		free(s->stage);
		s->stage = NULL;
		s->stage_cap = 0;
	}
}

/*
 * Writes text into line as one reply line, without its newline: at most
 * room bytes, every byte outside printable ASCII 0x20..0x7e as %XX (the
 * spelling of the views' names). Commands are printable ASCII, so what a
 * command named comes back as it was written, usable in the next
 * command; whatever else a reply holds (the mount's prefix, a name that
 * got through), no control byte reaches the reader and one reply stays
 * one line. Cut before an escape that does not fit. Returns the length.
 */
static size_t one_line(char *line, size_t room, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool plain = *p >= 0x20 && *p <= 0x7e;

		if (n + (plain ? 1 : 3) > room)
			break;
		if (plain) {
			line[n++] = (char)*p;
			continue;
		}
		line[n++] = '%';
		line[n++] = hex[*p >> 4];
		line[n++] = hex[*p & 0xf];
	}
	return n;
}

__attribute__((format(printf, 2, 3))) void ctl_emit(struct ctl_session *s, const char *fmt, ...)
{
	char text[CTL_LINE_MAX + 64], line[CTL_LINE_MAX + 64];
	va_list ap;
	size_t n;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n = one_line(line, sizeof(line) - 1, text);
	line[n++] = '\n';
	emit_raw(s, line, n, false);
}

/* Replies "err ENAME message" (always delivered) and returns -code. */
__attribute__((format(printf, 3, 4))) int ctl_fail(struct ctl_session *s, int code, const char *fmt,
						   ...)
{
	char message[CTL_MESSAGE_MAX], text[CTL_MESSAGE_MAX + 32], line[CTL_MESSAGE_MAX + 32];
	const char *name = strerrorname_np(code);
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (snprintf(text, sizeof(text), "err %s %s", name ? name : "EIO", message) < 0)
		return -code;
	n = one_line(line, sizeof(line) - 1, text);
	line[n++] = '\n';
	emit_raw(s, line, n, true);
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

/* With out_lock: takes up to size readable bytes into a new buffer *ret; their count. */
static size_t take(struct ctl_session *s, size_t size, char **ret)
{
	size_t n = ready_end(s) - s->out_pos;

	if (n > size)
		n = size;
	*ret = n ? malloc(n) : NULL;
	if (n && !*ret)
		return 0; /* nothing taken: read again */
	if (n)
		memcpy(*ret, s->out + s->out_pos, n);
	s->out_pos += n;
	uncharge(s, n);
	if (s->out_pos == s->out_len)
		compact(s);
	return n;
}

/*
 * The waits thread: w's segment is there (r == 0) or its time is up. Its
 * reply takes its place; the replies up to the next unfinished wait may
 * be read now: a kept read gets them, a poller is told.
 */
static void wait_done(struct waits_entry *e, int r)
{
	struct ctl_wait *w = (struct ctl_wait *)e; /* entry is its first member */
	struct ctl_session *s = w->s;
	const char *line = r == 0 || !w->late_line ? w->ok_line : w->late_line;
	size_t len = strlen(line), n = 0;
	struct fuse_pollhandle *ph = NULL;
	fuse_req_t reader = NULL;
	char *buf = NULL;

	pthread_mutex_lock(&s->out_lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->out_lock);
		return; /* ctl_close has it, and frees it */
	}
	/* Its room was set aside (make_room): never fails. */
	memmove(s->out + w->pos + len, s->out + w->pos, s->out_len - w->pos);
	memcpy(s->out + w->pos, line, len);
	s->out_len += len;
	/* The waits after it (in command order) move with what follows it. */
	for (struct ctl_wait **p = &s->waits; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			for (struct ctl_wait *after = w->next; after; after = after->next)
				after->pos += len;
			break;
		}
	}
	s->reserved -= w->reserved;
	uncharge(s, w->reserved - len);
	s->wait_count--;
	limits_give(s->opener.uid, LIMIT_WAITS, 1);
	if (ready_end(s) > s->out_pos || !s->waits) {
		if (s->reader) {
			reader = s->reader;
			s->reader = NULL;
			n = take(s, s->reader_size, &buf);
		}
		ph = s->poll;
		s->poll = NULL;
	}
	pthread_mutex_unlock(&s->out_lock);
	wait_free(w);
	if (reader)
		answer(reader, buf, n, 0);
	free(buf);
	if (ph) {
		fuse_lowlevel_notify_poll(ph);
		fuse_pollhandle_destroy(ph);
	}
}

/* text as a reply line (one_line), with its newline, in a new string. */
static char *line_of(const char *text)
{
	size_t room = 3 * strlen(text), n;
	char *line = malloc(room + 2);

	if (line) {
		n = one_line(line, room, text);
		memcpy(line + n, "\n", 2);
	}
	return line;
}

int ctl_reply_when(struct ctl_session *s, const char *segment, uint64_t deadline_ms,
		   const char *ok_line, const char *late_line)
{
	struct ctl_wait *w = calloc(1, sizeof(*w));
	size_t reserved;
	int r;

	if (!w)
		return -ENOMEM;
	w->s = s;
	w->ok_line = line_of(ok_line);
	w->late_line = late_line && deadline_ms != WAITS_FOREVER ? line_of(late_line) : NULL;
	if (!w->ok_line || (late_line && deadline_ms != WAITS_FOREVER && !w->late_line)) {
		wait_free(w);
		return -ENOMEM;
	}
	reserved = strlen(w->ok_line);
	if (w->late_line && strlen(w->late_line) > reserved)
		reserved = strlen(w->late_line);
	w->reserved = reserved;
	r = limits_take(s->opener.uid, LIMIT_WAITS, 1);
	if (r < 0) {
		wait_free(w);
		return r;
	}
	/* What this command said before goes first; the wait's place is next. */
	commit(s);
	pthread_mutex_lock(&s->out_lock);
	r = pending(s) + reserved > CTL_OUTPUT_MAX
		    ? -ENOBUFS
		    : limits_take(s->opener.uid, LIMIT_CTL_BYTES, reserved);
	if (r == 0) {
		s->reserved += reserved;
		if (!make_room(s, 0)) {
			s->reserved -= reserved;
			limits_give(s->opener.uid, LIMIT_CTL_BYTES, reserved);
			r = -ENOMEM;
		}
	}
	if (r == 0) {
		struct ctl_wait **tail = &s->waits;

		s->charged += reserved;
		s->wait_count++;
		w->pos = s->out_len;
		while (*tail)
			tail = &(*tail)->next;
		*tail = w;
	}
	pthread_mutex_unlock(&s->out_lock);
	if (r < 0) {
		limits_give(s->opener.uid, LIMIT_WAITS, 1);
		wait_free(w);
		return r;
	}
	r = waits_add(&w->entry, segment, deadline_ms, wait_done);
	if (r == 0)
		return 0; /* the waits thread has it: w may be gone already */
	if (r == 1) {
		wait_done(&w->entry, 0); /* there already: the reply takes its place now */
		return 0;
	}
	/* Not waiting after all: nothing came after it (this command still runs). */
	pthread_mutex_lock(&s->out_lock);
	for (struct ctl_wait **p = &s->waits; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = NULL;
			break;
		}
	}
	s->reserved -= reserved;
	uncharge(s, reserved);
	s->wait_count--;
	pthread_mutex_unlock(&s->out_lock);
	limits_give(s->opener.uid, LIMIT_WAITS, 1);
	wait_free(w);
	return r;
}

/*
 * Runs one complete line; returns 0, or -errno after replying "err ...".
 * A reply that does not fit what may stay unread is dropped whole and
 * replaced by an ENOBUFS error: never half a reply.
 */
static int run_line(struct ctl_session *s, char *line, size_t len, ctl_run_fn run, void *ctx)
{
	int r;

	pthread_mutex_lock(&s->out_lock);
	compact(s);
	pthread_mutex_unlock(&s->out_lock);
	s->overflow = false;
	r = run(ctx, s, line, len);
	if (s->overflow) {
		pthread_mutex_lock(&s->out_lock);
		uncharge(s, s->stage_len);
		pthread_mutex_unlock(&s->out_lock);
		s->stage_len = 0;
		s->overflow = false;
		r = ctl_fail(
			s, ENOBUFS,
			"the reply does not fit in what may wait unread (%d bytes a file, %u a "
			"user): read the replies first",
			CTL_OUTPUT_MAX, LIMIT_CTL_USER_BYTES);
	}
	commit(s);
	return r;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Whether no room is left even for an error reply: read the replies first. */
static bool full(struct ctl_session *s)
{
	bool is_full;

	pthread_mutex_lock(&s->out_lock);
	is_full = pending(s) > CTL_OUTPUT_MAX - CTL_MESSAGE_MAX;
	pthread_mutex_unlock(&s->out_lock);
	return is_full;
}

ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len, ctl_run_fn run,
			  void *ctx)
{
	uint64_t deadline = now_ms() + CTL_WRITE_SLICE_MS;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	pthread_mutex_lock(&s->out_lock);
	s->used = true;
	pthread_mutex_unlock(&s->out_lock);
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
				r = ctl_fail(s, EINVAL, "line longer than %d bytes", CTL_LINE_MAX);
				commit(s);
				continue;
			}
			s->line[s->line_len++] = ch;
			continue;
		}
		if (full(s)) {
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

/* Set while this thread registers a read's interrupt function (see ctl_session_read). */
static __thread fuse_req_t registering;

/*
 * A signal came to the process whose read is kept: the read ends with
 * EINTR, the waits stay. Runs on a libfuse thread that holds the request's
 * lock, so it replies itself (never through answer(), which takes it).
 */
static void reader_interrupted(fuse_req_t req, void *data)
{
	struct ctl_session *s = data;
	bool mine;

	if (req == registering)
		return; /* called at once by fuse_req_interrupt_func: the reader sees to it */
	pthread_mutex_lock(&s->out_lock);
	mine = s->reader == req;
	if (mine)
		s->reader = NULL;
	pthread_mutex_unlock(&s->out_lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

/*
 * With out_lock: answers req now when it need not wait (returns true,
 * with *ret_buf, *ret_len and *ret_err to send once unlocked).
 */
static bool now_or_never(struct ctl_session *s, fuse_req_t req, size_t size, int flags,
			 char **ret_buf, size_t *ret_len, int *ret_err)
{
	*ret_buf = NULL;
	*ret_len = 0;
	*ret_err = 0;
	if (ready_end(s) > s->out_pos || !s->waits) {
		*ret_len = take(s, size, ret_buf);
		return true;
	}
	if (flags & O_NONBLOCK)
		*ret_err = EAGAIN;
	else if (s->reader)
		*ret_err = EBUSY;
	else if (req && fuse_req_interrupted(req))
		*ret_err = EINTR;
	return *ret_err != 0;
}

void ctl_session_read(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
		      ctl_summary_fn summary, void *ctx)
{
	char *buf;
	size_t len;
	bool fresh, now;
	int err;

	/*
	 * Only a fresh session's first read runs something (the summary), so
	 * only it takes the command lock: a read never waits for a command
	 * another thread runs on the same file (a usage, a scan), which would
	 * park a daemon thread per reader.
	 */
	pthread_mutex_lock(&s->out_lock);
	fresh = !s->used;
	s->used = true;
	pthread_mutex_unlock(&s->out_lock);
	if (fresh) {
		pthread_mutex_lock(&s->lock);
		summary(ctx, s);
		commit(s);
		pthread_mutex_unlock(&s->lock);
	}

	pthread_mutex_lock(&s->out_lock);
	now = now_or_never(s, NULL, size, flags, &buf, &len, &err);
	pthread_mutex_unlock(&s->out_lock);
	if (now) {
		if (err)
			fuse_reply_err(req, err);
		else
			fuse_reply_buf(req, buf, len);
		free(buf);
		return;
	}
	/*
	 * Kept until a reply comes. The interrupt function is in place
	 * before anyone else can see the request (and answer it); a signal
	 * that came earlier is seen just below.
	 */
	registering = req;
	fuse_req_interrupt_func(req, reader_interrupted, s);
	registering = NULL;
	pthread_mutex_lock(&s->out_lock);
	now = now_or_never(s, req, size, flags, &buf, &len, &err);
	if (!now) {
		s->reader = req;
		s->reader_size = size;
	}
	pthread_mutex_unlock(&s->out_lock);
	if (now)
		answer(req, buf, len, err);
	free(buf);
}

void ctl_session_poll(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph)
{
	struct fuse_pollhandle *old = NULL;
	bool readable;

	pthread_mutex_lock(&s->out_lock);
	/* A read would not wait: a reply, the summary, or the end (nothing awaited). */
	readable = !s->used || ready_end(s) > s->out_pos || !s->waits;
	if (ph && readable) {
		old = ph;
	} else if (ph) {
		old = s->poll;
		s->poll = ph;
	}
	pthread_mutex_unlock(&s->out_lock);
	if (old)
		fuse_pollhandle_destroy(old);
	fuse_reply_poll(req, (readable ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM);
}

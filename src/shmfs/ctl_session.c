/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a control file session: the line protocol, the replies that
 * wait unread (a ctl_queue), the reads kept for a wait, and poll. Plan 9
 * style: a client writes one command per line and reads the reply, one
 * line "ok ..." or "err ENAME message", from the same open file; a failed
 * command also fails the write(2). Each line runs through ctl.c's
 * ctl_cmd_run, handed an emit context whose ops lead back here.
 *
 * Replies are read in command order. A wait (session_later) holds its
 * place in that order with a slot of the queue until its segment appears
 * or its time is up: the commands after it run at once, their replies
 * wait behind it. A read with nothing to read but an unfinished wait
 * keeps its request and is answered later (by the waits thread, an
 * interrupt, or the end), so no thread of the daemon ever waits for a
 * client.
 *
 * One lock per session, for bookkeeping only: the line being written,
 * the queue, the waits, the read and poll handle kept. A command runs
 * without it (a scan of /proc may take a second): its reply grows in its
 * own emit context, charged line by line, and the lock is taken to append
 * it finished. A fresh file's summary holds its place with a slot too,
 * filled when the summary is done. The waits thread takes the lock and
 * never holds it over a system call.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "anon_i.h"
#include "ctl_i.h"
#include "ctl_parse_i.h"
#include "ctl_queue_i.h"
#include "ctl_session_i.h"
#include "waits_i.h"

struct ctl_wait {
	struct waits_entry entry; /* first: wait_done's cast */
	struct ctl_session *s;
	struct ctl_wait *prev, *next; /* the session's unfinished waits */
	struct ctl_queue_entry *slot; /* its reply's place, reserved for the longer line */
	const char *late_line;        /* in lines, after ok_line; NULL without a timeout */
	char lines[];                 /* ok_line, then late_line: with their newlines */
};

struct ctl_session {
	struct ctl_session *prev, *next; /* every open session, for the exit */
	struct creds opener;             /* every command has the opener's rights */
	pthread_mutex_t lock;            /* all below: bookkeeping only */
	char line[CTL_LINE_MAX + 1];     /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding;        /* the rest of an over-long line is skipped */
	bool used;              /* a command was written or the summary read */
	bool closing;           /* close_session took the waits */
	struct ctl_queue queue; /* the replies not read yet, and the places of those to come */
	struct ctl_wait *waits; /* unfinished */
	size_t wait_count;
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
	ctl_queue_init(&s->queue, CTL_OUTPUT_MAX, CTL_ERROR_ROOM, CTL_BUFFER_KEEP);
	pthread_mutex_lock(&sessions.lock);
	s->next = sessions.first;
	if (s->next)
		s->next->prev = s;
	sessions.first = s;
	pthread_mutex_unlock(&sessions.lock);
	*ret = s;
	return 0;
}

/*
 * Answers a kept read request. Its interrupt function is taken away
 * first: that waits for one running on another thread (it holds the
 * request's lock), so none runs after the reply.
 */
static void answer_reply(fuse_req_t req, const char *buf, size_t len, int err)
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
	pthread_mutex_lock(&s->lock);
	s->closing = true;
	waits = s->waits;
	s->waits = NULL;
	wait_count = s->wait_count;
	reader = s->reader;
	s->reader = NULL;
	ph = s->poll;
	s->poll = NULL;
	pthread_mutex_unlock(&s->lock);
	while (waits) {
		struct ctl_wait *next = waits->next;

		/* Once it returns, the waits thread is done with it (and saw closing). */
		waits_cancel(&waits->entry);
		free(waits);
		waits = next;
	}
	/*
	 * The kernel releases a file only once no read is in it: a kept read
	 * is left only when the daemon stops.
	 */
	if (reader)
		answer_reply(reader, NULL, 0, reader_err);
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* Anonymous segments made with "hold" die with the descriptor that made them. */
	anon_release_holder(s);
	limits_give(s->opener.uid, LIMIT_WAITS, wait_count);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, ctl_queue_free(&s->queue));
	limits_give(s->opener.uid, LIMIT_CTL, 1);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void ctl_session_close(struct ctl_session *s)
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

/* With lock: takes up to size readable bytes into a new buffer *ret; their count. */
static size_t take(struct ctl_session *s, size_t size, char **ret)
{
	size_t n = 0;

	*ret = NULL;
	if (size > s->queue.unread)
		size = s->queue.unread; /* what may be read now is no more */
	if (!ctl_queue_readable(&s->queue) || !(*ret = malloc(size)))
		return 0; /* nothing taken: read again */
	n = ctl_queue_read(&s->queue, *ret, size);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, n);
	return n;
}

/* With lock: whether a read would not wait (a reply is ready, or nothing is awaited). */
static bool ready(const struct ctl_session *s)
{
	return ctl_queue_readable(&s->queue) || !ctl_queue_awaiting(&s->queue);
}

/* What a filled slot lets happen, once the lock is let go. */
struct delivery {
	fuse_req_t reader; /* a kept read, answered with buf */
	char *buf;
	size_t len;
	struct fuse_pollhandle *ph; /* a poller, told */
};

/* With lock: when a read would not wait now, a kept read takes what it may, a poller is due. */
static void deliver_locked(struct ctl_session *s, struct delivery *d)
{
	*d = (struct delivery){ 0 };
	if (!ready(s))
		return;
	if (s->reader) {
		d->reader = s->reader;
		s->reader = NULL;
		d->len = take(s, s->reader_size, &d->buf);
	}
	d->ph = s->poll;
	s->poll = NULL;
}

static void deliver(struct delivery *d)
{
	if (d->reader)
		answer_reply(d->reader, d->buf, d->len, 0);
	free(d->buf);
	if (d->ph) {
		fuse_lowlevel_notify_poll(d->ph);
		fuse_pollhandle_destroy(d->ph);
	}
}

/* The emit context's ops: room for a reply's lines, in the file and the opener's charge. */
static int session_charge(void *owner, size_t len, bool error)
{
	struct ctl_session *s = owner;
	int r;

	pthread_mutex_lock(&s->lock);
	r = ctl_queue_promise(&s->queue, len, error);
	if (r == 0) {
		r = limits_take(s->opener.uid, LIMIT_CTL_BYTES, len);
		if (r < 0)
			ctl_queue_unpromise(&s->queue, len);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void session_uncharge(void *owner, size_t len)
{
	struct ctl_session *s = owner;

	pthread_mutex_lock(&s->lock);
	ctl_queue_unpromise(&s->queue, len);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, len);
	pthread_mutex_unlock(&s->lock);
}

/* With lock: e's finished lines go after everything before them. */
static void take_reply(struct ctl_session *s, struct ctl_emit *e)
{
	if (e->len && ctl_queue_append(&s->queue, e->text, e->len) < 0)
		limits_give(s->opener.uid, LIMIT_CTL_BYTES, e->len);
	ctl_emit_taken(e);
}

static void wait_unlink(struct ctl_session *s, struct ctl_wait *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		s->waits = w->next;
	if (w->next)
		w->next->prev = w->prev;
	s->wait_count--;
}

/*
 * The waits thread: w's segment is there (r == 0) or its time is up. Its
 * reply fills its slot; when that makes something readable, a kept read
 * gets it and a poller is told.
 */
static void wait_done(struct waits_entry *entry, int r)
{
	struct ctl_wait *w = (struct ctl_wait *)entry; /* entry is its first member */
	struct ctl_session *s = w->s;
	const char *line = r == 0 || !w->late_line ? w->lines : w->late_line;
	struct delivery d;

	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		return; /* close_session has it, and frees it */
	}
	/* Its room was reserved with the slot: never fails. */
	limits_give(s->opener.uid, LIMIT_CTL_BYTES,
		    ctl_queue_fill(&s->queue, w->slot, line, strlen(line)));
	wait_unlink(s, w);
	limits_give(s->opener.uid, LIMIT_WAITS, 1);
	deliver_locked(s, &d);
	pthread_mutex_unlock(&s->lock);
	free(w);
	deliver(&d);
}

/* The emit context's ops: a wait's reply, in its place (ctl_emit_later). */
static int session_later(void *owner, struct ctl_emit *e, const char *segment, uint64_t deadline_ms,
			 const char *ok_line, const char *late_line)
{
	struct ctl_session *s = owner;
	size_t ok_len = strlen(ok_line), late_len = late_line ? strlen(late_line) : 0;
	size_t size = ok_len > late_len ? ok_len : late_len;
	struct ctl_wait *w = calloc(1, sizeof(*w) + ok_len + late_len + 2);
	int r;

	if (!w)
		return -ENOMEM;
	w->s = s;
	memcpy(w->lines, ok_line, ok_len + 1);
	if (late_line)
		w->late_line = memcpy(w->lines + ok_len + 1, late_line, late_len + 1);
	r = limits_take(s->opener.uid, LIMIT_WAITS, 1);
	if (r < 0) {
		free(w);
		return r;
	}
	pthread_mutex_lock(&s->lock);
	/* What this command said before goes first; the wait's place is next. */
	take_reply(s, e);
	r = ctl_queue_reserve(&s->queue, size, &w->slot);
	if (r == 0) {
		r = limits_take(s->opener.uid, LIMIT_CTL_BYTES, size);
		if (r < 0)
			ctl_queue_drop(&s->queue, w->slot);
	}
	if (r == 0) {
		w->next = s->waits;
		if (w->next)
			w->next->prev = w;
		s->waits = w;
		s->wait_count++;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		limits_give(s->opener.uid, LIMIT_WAITS, 1);
		free(w);
		return r;
	}
	r = waits_add(&w->entry, segment, deadline_ms, wait_done);
	if (r == 0)
		return 0; /* the waits thread has it: w may be gone already */
	if (r == 1) {
		wait_done(&w->entry, 0); /* there already: the reply takes its place now */
		return 0;
	}
	/* Not waiting after all: its place goes (this command still runs). */
	pthread_mutex_lock(&s->lock);
	wait_unlink(s, w);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, ctl_queue_drop(&s->queue, w->slot));
	pthread_mutex_unlock(&s->lock);
	limits_give(s->opener.uid, LIMIT_WAITS, 1);
	free(w);
	return r;
}

static const struct ctl_emit_ops session_ops = {
	.charge = session_charge,
	.uncharge = session_uncharge,
	.later = session_later,
};

/*
 * Runs one complete line (or, line NULL, replies that it was too long),
 * without the lock; returns 0, or -errno after replying "err ...". A
 * reply that does not fit what may stay unread is dropped whole and
 * replaced by an ENOBUFS error: never half a reply.
 */
static int run_line(struct ctl_session *s, char *line, size_t len,
		    const struct ctl_context *context)
{
	struct ctl_emit e;
	int r;

	ctl_emit_init(&e, &session_ops, s, &s->opener);
	if (line)
		r = ctl_cmd_run(&e, line, len, context);
	else
		r = ctl_emit_fail(&e, EINVAL, "line longer than %d bytes", CTL_LINE_MAX);
	if (ctl_emit_overflowed(&e)) {
		ctl_emit_drop(&e);
		r = ctl_emit_fail(
			&e, ENOBUFS,
			"the reply does not fit in what may wait unread (%d bytes a file, %u a "
			"user): read the replies first",
			CTL_OUTPUT_MAX, LIMIT_CTL_USER_BYTES);
	}
	pthread_mutex_lock(&s->lock);
	take_reply(s, &e);
	pthread_mutex_unlock(&s->lock);
	ctl_emit_free(&e);
	return r;
}

/* With lock: whether no room is left even for an error reply: read the replies first. */
static bool full(const struct ctl_session *s)
{
	return ctl_queue_held(&s->queue) > CTL_OUTPUT_MAX - CTL_MESSAGE_MAX;
}

ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len,
			  const struct ctl_context *context)
{
	uint64_t deadline = waits_now_ms() + CTL_WRITE_SLICE_MS;
	char line[CTL_LINE_MAX + 1];
	size_t i, line_len = 0;
	int r = 0;

	/*
	 * The kernel serialises writes to one inode, so one file's lines run
	 * one at a time; were two writes to come at once, each line would
	 * still be one command and its reply one piece.
	 */
	pthread_mutex_lock(&s->lock);
	s->used = true;
	for (i = 0; i < len; i++) {
		char ch = buf[i];
		bool too_long = false;

		/* The rest of an over-long line goes, up to its newline. */
		if (s->discarding) {
			if (ch == '\n')
				s->discarding = false;
			continue;
		}
		/* After a failed command the rest of this write is not run. */
		if (r < 0)
			break;
		if (ch != '\n' && s->line_len < CTL_LINE_MAX) {
			s->line[s->line_len++] = ch;
			continue;
		}
		if (ch != '\n') {
			s->discarding = true;
			too_long = true;
		} else if (full(s)) {
			s->line_len = 0;
			r = -ENOBUFS; /* no room even for an error reply: read the replies */
			break;
		} else {
			line_len = s->line_len;
			memcpy(line, s->line, line_len);
		}
		s->line_len = 0;
		pthread_mutex_unlock(&s->lock);
		r = run_line(s, too_long ? NULL : line, line_len, context);
		pthread_mutex_lock(&s->lock);
		/*
		 * The time slice is over: take what ran, the writer writes the
		 * rest again. A thread never spends long on one client, and the
		 * kernel lets go of the file between the pieces.
		 */
		if (!too_long && r == 0 && i + 1 < len && waits_now_ms() >= deadline) {
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
 * lock, so it replies itself (never through answer_reply(), which takes it).
 */
static void reader_interrupted(fuse_req_t req, void *data)
{
	struct ctl_session *s = data;
	bool mine;

	if (req == registering)
		return; /* called at once by fuse_req_interrupt_func: the reader sees to it */
	pthread_mutex_lock(&s->lock);
	mine = s->reader == req;
	if (mine)
		s->reader = NULL;
	pthread_mutex_unlock(&s->lock);
	if (mine)
		fuse_reply_err(req, EINTR);
}

/*
 * With lock: answers req now when it need not wait (returns true, with
 * *ret_buf, *ret_len and *ret_err to send once unlocked).
 */
static bool now_or_never(struct ctl_session *s, fuse_req_t req, size_t size, int flags,
			 char **ret_buf, size_t *ret_len, int *ret_err)
{
	*ret_buf = NULL;
	*ret_len = 0;
	*ret_err = 0;
	if (ready(s)) {
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

/*
 * A fresh file's first read: the summary, in the place a slot keeps for
 * it, written without the lock (it reads /dev/shm and /proc whole).
 */
static void summarize(struct ctl_session *s, struct ctl_queue_entry *slot,
		      const struct ctl_context *context)
{
	struct delivery d;
	struct ctl_emit e;

	ctl_emit_init(&e, &session_ops, s, &s->opener);
	ctl_cmd_summary(&e, context);
	pthread_mutex_lock(&s->lock);
	/* Its lines were charged as they came: past the slot's nothing, promised. */
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, ctl_queue_fill(&s->queue, slot, e.text, e.len));
	deliver_locked(s, &d);
	pthread_mutex_unlock(&s->lock);
	ctl_emit_taken(&e);
	ctl_emit_free(&e);
	deliver(&d);
}

void ctl_session_read_reply(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
			    const struct ctl_context *context)
{
	struct ctl_queue_entry *slot = NULL;
	char *buf;
	size_t len;
	bool now;
	int err;

	pthread_mutex_lock(&s->lock);
	if (!s->used && ctl_queue_reserve(&s->queue, 0, &slot) < 0)
		slot = NULL;
	s->used = true;
	pthread_mutex_unlock(&s->lock);
	if (slot)
		summarize(s, slot, context);

	pthread_mutex_lock(&s->lock);
	now = now_or_never(s, NULL, size, flags, &buf, &len, &err);
	pthread_mutex_unlock(&s->lock);
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
	pthread_mutex_lock(&s->lock);
	now = now_or_never(s, req, size, flags, &buf, &len, &err);
	if (!now) {
		s->reader = req;
		s->reader_size = size;
	}
	pthread_mutex_unlock(&s->lock);
	if (now)
		answer_reply(req, buf, len, err);
	free(buf);
}

void ctl_session_poll_reply(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph)
{
	struct fuse_pollhandle *old = NULL;
	bool readable;

	pthread_mutex_lock(&s->lock);
	/* A read would not wait: a reply, the summary, or the end (nothing awaited). */
	readable = !s->used || ready(s);
	if (ph && readable) {
		old = ph;
	} else if (ph) {
		old = s->poll;
		s->poll = ph;
	}
	pthread_mutex_unlock(&s->lock);
	if (old)
		fuse_pollhandle_destroy(old);
	fuse_reply_poll(req, (readable ? POLLIN | POLLRDNORM : 0) | POLLOUT | POLLWRNORM);
}

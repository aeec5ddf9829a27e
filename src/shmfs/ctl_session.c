/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a control file session: the line protocol, the replies that
 * wait unread (a ctl_queue), the reads kept for a wait (their
 * mechanics in ctl_reader.c, below), and poll. Plan 9
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
#include "ctl_reader_i.h"
#include "ctl_session_i.h"
#include "list_i.h"
#include "waits_i.h"

struct ctl_wait {
	struct waits_entry entry; /* first: wait_done's cast */
	struct ctl_session *s;
	struct ctl_wait *prev, *next; /* the session's unfinished waits */
	struct ctl_queue_entry *slot; /* its reply's place, reserved for the longest line */
	const char *late_line;        /* in lines, after ok_line; NULL without a timeout */
	const char *lost_line; /* in lines, after them; NULL unless it waits for a creation */
	char lines[];          /* ok_line, late_line, lost_line: with their newlines */
};

struct ctl_sessions {
	pthread_mutex_t lock;
	struct ctl_session *first;
};

int ctl_session_open(struct shmfs *fs, const struct creds *opener, struct ctl_session **ret)
{
	struct ctl_session *s;
	int r = limits_take(fs, opener->uid, LIMIT_CTL, 1);

	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		limits_give(fs, opener->uid, LIMIT_CTL, 1);
		return -ENOMEM;
	}
	s->fs = fs;
	s->opener = *opener;
	pthread_mutex_init(&s->lock, NULL);
	ctl_queue_init(&s->queue, CTL_OUTPUT_MAX, CTL_ERROR_ROOM, CTL_BUFFER_KEEP);
	pthread_mutex_lock(&fs->sessions->lock);
	LIST_PREPEND(fs->sessions->first, s);
	pthread_mutex_unlock(&fs->sessions->lock);
	*ret = s;
	return 0;
}

static void close_session(struct ctl_session *s, int reader_err)
{
	struct shmfs *fs = s->fs;
	struct ctl_wait *waits;
	struct fuse_pollhandle *ph;
	fuse_req_t reader;
	size_t wait_count;

	pthread_mutex_lock(&fs->sessions->lock);
	LIST_REMOVE(fs->sessions->first, s);
	pthread_mutex_unlock(&fs->sessions->lock);
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
		waits_cancel(fs, &waits->entry);
		free(waits);
		waits = next;
	}
	/*
	 * The kernel releases a file only once no read is in it: a kept read
	 * is left only when the daemon stops.
	 */
	if (reader)
		ctl_reader_answer_reply(reader, NULL, 0, reader_err);
	if (ph)
		fuse_pollhandle_destroy(ph);
	/* Anonymous segments made with "hold" die with the descriptor that made them. */
	anon_release_holder(fs, s);
	limits_give(fs, s->opener.uid, LIMIT_WAITS, wait_count);
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES, ctl_queue_free(&s->queue));
	limits_give(fs, s->opener.uid, LIMIT_CTL, 1);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void ctl_session_close(struct ctl_session *s)
{
	if (s)
		close_session(s, ENOTCONN);
}

int ctl_sessions_new(struct shmfs *fs)
{
	fs->sessions = calloc(1, sizeof(*fs->sessions));
	if (!fs->sessions)
		return -ENOMEM;
	pthread_mutex_init(&fs->sessions->lock, NULL);
	return 0;
}

void ctl_sessions_close_all(struct shmfs *fs)
{
	/* At exit the kernel may not have sent every release yet. */
	while (fs->sessions && fs->sessions->first)
		close_session(fs->sessions->first, ENOTCONN);
}

void ctl_sessions_free(struct shmfs *fs)
{
	if (!fs->sessions)
		return;
	ctl_sessions_close_all(fs);
	pthread_mutex_destroy(&fs->sessions->lock);
	free(fs->sessions);
	fs->sessions = NULL;
}

/* The emit context's ops: room for a reply's lines, in the file and the opener's charge. */
static int session_charge(void *owner, size_t len, bool error)
{
	struct ctl_session *s = owner;
	struct shmfs *fs = s->fs;
	int r;

	pthread_mutex_lock(&s->lock);
	r = ctl_queue_promise(&s->queue, len, error);
	if (r == 0) {
		r = limits_take(fs, s->opener.uid, LIMIT_CTL_BYTES, len);
		if (r < 0)
			ctl_queue_unpromise(&s->queue, len);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void session_uncharge(void *owner, size_t len)
{
	struct ctl_session *s = owner;
	struct shmfs *fs = s->fs;

	pthread_mutex_lock(&s->lock);
	ctl_queue_unpromise(&s->queue, len);
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES, len);
	pthread_mutex_unlock(&s->lock);
}

/* With lock: e's finished lines go after everything before them. */
static void take_reply(struct ctl_session *s, struct ctl_emit *e)
{
	struct shmfs *fs = s->fs;

	if (e->len && ctl_queue_append(&s->queue, e->text, e->len) < 0)
		limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES, e->len);
	ctl_emit_taken(e);
}

static void wait_unlink(struct ctl_session *s, struct ctl_wait *w)
{
	LIST_REMOVE(s->waits, w);
	s->wait_count--;
}

/*
 * The waits thread: w's segment is there (r == 0), its time is up
 * (-ETIMEDOUT), or whether it came cannot be known (-EOVERFLOW). Its reply
 * fills its slot; when that makes something readable, a kept read gets it
 * and a poller is told.
 */
static void wait_done(struct waits_entry *entry, int r)
{
	struct ctl_wait *w = (struct ctl_wait *)entry; /* entry is its first member */
	struct ctl_session *s = w->s;
	struct shmfs *fs = s->fs;
	const char *line = r == -ETIMEDOUT && w->late_line   ? w->late_line
			   : r == -EOVERFLOW && w->lost_line ? w->lost_line
							     : w->lines;
	struct ctl_delivery d;

	pthread_mutex_lock(&s->lock);
	if (s->closing) {
		pthread_mutex_unlock(&s->lock);
		return; /* close_session has it, and frees it */
	}
	/* Its room was reserved with the slot: never fails. */
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES,
		    ctl_queue_fill(&s->queue, w->slot, line, strlen(line)));
	wait_unlink(s, w);
	limits_give(fs, s->opener.uid, LIMIT_WAITS, 1);
	ctl_reader_deliver_locked(s, &d);
	pthread_mutex_unlock(&s->lock);
	free(w);
	ctl_reader_deliver(&d);
}

/* The emit context's ops: a wait's reply, in its place (ctl_emit_later). */
static int session_later(void *owner, struct ctl_emit *e, const struct ctl_later *later)
{
	struct ctl_session *s = owner;
	struct shmfs *fs = s->fs;
	size_t ok_len = strlen(later->ok_text);
	size_t late_len = later->late_text ? strlen(later->late_text) : 0;
	size_t lost_len = later->lost_text ? strlen(later->lost_text) : 0;
	size_t size = ok_len > late_len ? ok_len : late_len;
	struct ctl_wait *w = calloc(1, sizeof(*w) + ok_len + late_len + lost_len + 3);
	int r;

	if (!w)
		return -ENOMEM;
	if (lost_len > size)
		size = lost_len;
	w->s = s;
	memcpy(w->lines, later->ok_text, ok_len + 1);
	if (later->late_text)
		w->late_line = memcpy(w->lines + ok_len + 1, later->late_text, late_len + 1);
	if (later->lost_text)
		w->lost_line =
			memcpy(w->lines + ok_len + late_len + 2, later->lost_text, lost_len + 1);
	r = limits_take(fs, s->opener.uid, LIMIT_WAITS, 1);
	if (r < 0) {
		free(w);
		return r;
	}
	pthread_mutex_lock(&s->lock);
	/* What this command said before goes first; the wait's place is next. */
	take_reply(s, e);
	r = ctl_queue_reserve(&s->queue, size, &w->slot);
	if (r == 0) {
		r = limits_take(fs, s->opener.uid, LIMIT_CTL_BYTES, size);
		if (r < 0)
			ctl_queue_drop(&s->queue, w->slot);
	}
	if (r == 0) {
		LIST_PREPEND(s->waits, w);
		s->wait_count++;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0) {
		limits_give(fs, s->opener.uid, LIMIT_WAITS, 1);
		free(w);
		return r;
	}
	r = waits_add(fs, &w->entry, later->segment, later->deadline_ms, &later->want, wait_done);
	if (r == 0)
		return 0; /* the waits thread has it: w may be gone already */
	if (r == 1) {
		wait_done(&w->entry, 0); /* there already: the reply takes its place now */
		return 0;
	}
	/* Not waiting after all: its place goes (this command still runs). */
	pthread_mutex_lock(&s->lock);
	wait_unlink(s, w);
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES, ctl_queue_drop(&s->queue, w->slot));
	pthread_mutex_unlock(&s->lock);
	limits_give(fs, s->opener.uid, LIMIT_WAITS, 1);
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
	struct shmfs *fs = s->fs;
	struct ctl_emit e;
	int r;

	ctl_emit_init(&e, &session_ops, s, &s->opener);
	if (line)
		r = ctl_cmd_run(fs, &e, line, len, context);
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
	uint64_t deadline = shmfs_now_ms() + CTL_WRITE_SLICE_MS;
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
		if (!too_long && r == 0 && i + 1 < len && shmfs_now_ms() >= deadline) {
			i++;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : (ssize_t)i;
}

/*
 * A fresh file's first read: the summary, in the place a slot keeps for
 * it, written without the lock (it reads /dev/shm and /proc whole).
 */
static void summarize(struct ctl_session *s, struct ctl_queue_entry *slot,
		      const struct ctl_context *context)
{
	struct shmfs *fs = s->fs;
	struct ctl_delivery d;
	struct ctl_emit e;

	ctl_emit_init(&e, &session_ops, s, &s->opener);
	ctl_cmd_summary(fs, &e, context);
	pthread_mutex_lock(&s->lock);
	/* Its lines were charged as they came: past the slot's nothing, promised. */
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES,
		    ctl_queue_fill(&s->queue, slot, e.text, e.len));
	ctl_reader_deliver_locked(s, &d);
	pthread_mutex_unlock(&s->lock);
	ctl_emit_taken(&e);
	ctl_emit_free(&e);
	ctl_reader_deliver(&d);
}

void ctl_session_read_reply(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
			    const struct ctl_context *context)
{
	struct ctl_queue_entry *slot = NULL;

	pthread_mutex_lock(&s->lock);
	if (!s->used && ctl_queue_reserve(&s->queue, 0, &slot) < 0)
		slot = NULL;
	s->used = true;
	pthread_mutex_unlock(&s->lock);
	if (slot)
		summarize(s, slot, context);

	ctl_reader_read_reply(req, s, size, flags);
}

void ctl_session_poll_reply(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph)
{
	struct fuse_pollhandle *old = NULL;
	bool readable;

	pthread_mutex_lock(&s->lock);
	/* A read would not wait: a reply, the summary, or the end (nothing awaited). */
	readable = !s->used || ctl_reader_ready(s);
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

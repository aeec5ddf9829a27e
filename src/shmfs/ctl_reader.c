/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a control file session's readers (ctl_session.c is above): a
 * read that finds nothing to read but an unfinished wait keeps its
 * request, to be answered when a reply comes (ctl_reader_deliver), a
 * signal comes (EINTR) or the session ends; a poller is told when a read
 * would no longer wait. Bookkeeping under the session's lock; every reply
 * is sent once it is let go.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>

#include "ctl_queue_i.h"
#include "ctl_reader_i.h"
#include "limits_i.h"

/*
 * Answers a kept read request. Its interrupt function is taken away
 * first: that waits for one running on another thread (it holds the
 * request's lock), so none runs after the reply.
 */
void ctl_reader_answer_reply(fuse_req_t req, const char *buf, size_t len, int err)
{
	fuse_req_interrupt_func(req, NULL, NULL);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, len);
}

/* With lock: takes up to size readable bytes into a new buffer *ret; their count. */
static size_t take(struct ctl_session *s, size_t size, char **ret)
{
	struct shmfs *fs = s->fs;
	size_t n = 0;

	*ret = NULL;
	if (size > s->queue.unread)
		size = s->queue.unread; /* what may be read now is no more */
	if (!ctl_queue_readable(&s->queue) || !(*ret = malloc(size)))
		return 0; /* nothing taken: read again */
	n = ctl_queue_read(&s->queue, *ret, size);
	limits_give(fs, s->opener.uid, LIMIT_CTL_BYTES, n);
	return n;
}

bool ctl_reader_ready(const struct ctl_session *s)
{
	return ctl_queue_readable(&s->queue) || !ctl_queue_awaiting(&s->queue);
}

/* With lock: when a read would not wait now, a kept read takes what it may, a poller is due. */
void ctl_reader_deliver_locked(struct ctl_session *s, struct ctl_delivery *d)
{
	*d = (struct ctl_delivery){ 0 };
	if (!ctl_reader_ready(s))
		return;
	if (s->reader) {
		d->reader = s->reader;
		s->reader = NULL;
		d->len = take(s, s->reader_size, &d->buf);
	}
	d->ph = s->poll;
	s->poll = NULL;
}

void ctl_reader_deliver(struct ctl_delivery *d)
{
	if (d->reader)
		ctl_reader_answer_reply(d->reader, d->buf, d->len, 0);
	free(d->buf);
	if (d->ph) {
		fuse_lowlevel_notify_poll(d->ph);
		fuse_pollhandle_destroy(d->ph);
	}
}

/* Set while this thread registers a read's interrupt function (see ctl_session_read). */
static __thread fuse_req_t registering;

/*
 * A signal came to the process whose read is kept: the read ends with
 * EINTR, the waits stay. Runs on a libfuse thread that holds the request's
 * lock, so it replies itself (never through ctl_reader_answer_reply(), which takes it).
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
	if (ctl_reader_ready(s)) {
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

void ctl_reader_read_reply(fuse_req_t req, struct ctl_session *s, size_t size, int flags)
{
	char *buf;
	size_t len;
	bool now;
	int err;

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
		ctl_reader_answer_reply(req, buf, len, err);
	free(buf);
}

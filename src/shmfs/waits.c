/* SPDX-License-Identifier: MIT */
/*
 * shmfs: waiting for named segments to appear. One inotify descriptor on
 * /dev/shm (IN_CREATE, IN_MOVED_TO; IN_MODIFY while a wait needs a size)
 * and one thread serve every wait, with the earliest deadline as its poll
 * timeout: no thread per wait, and no worker of libfuse ever waits here.
 * The lock is for bookkeeping only: names are looked at (lstat, never
 * open: a FIFO never blocks anything here) and owners called back after
 * it is released.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "list_i.h"
#include "shmfs_i.h"
#include "waits_i.h"

/* What the watch always asks for; IN_MODIFY (a truncate) is added while a wait needs a size. */
#define WATCH_MASK (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

struct waits {
	pthread_mutex_t lock;
	pthread_cond_t delivered;    /* current went back to its owner */
	struct waits_entry *first;   /* pending, newest first */
	struct waits_entry *current; /* being handed to its owner (done running) */
	int inotify_fd, wake_fd;
	pthread_t thread;
	bool running, stopping;
	/*
	 * The waits for a size, which need IN_MODIFY in the watch's mask, and
	 * the mask itself: the kernel's, so changed by a system call, under a
	 * lock of their own that nothing else is ever taken under.
	 */
	pthread_mutex_t mask_lock;
	unsigned long sized;
};

/* What has a name in /dev/shm now. */
enum look {
	LOOK_NOTHING, /* nothing: whatever had it is gone */
	LOOK_OTHER,   /* no segment: a FIFO, a directory, a link (or lstat failed) */
	LOOK_SEGMENT, /* a regular file, of *ret_size bytes */
};

static enum look look_at(const char *name, off_t *ret_size)
{
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];
	struct stat st;

	/* By path, holding nothing open: /dev/shm may be unmounted once the daemon is gone. */
	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? LOOK_NOTHING : LOOK_OTHER;
	*ret_size = st.st_size;
	return S_ISREG(st.st_mode) ? LOOK_SEGMENT : LOOK_OTHER;
}

bool waits_segment_exists(const char *name)
{
	off_t size;

	return look_at(name, &size) == LOOK_SEGMENT;
}

/*
 * Whether a look (after an event that gave the name to something, given)
 * ends e's wait. A creation counts even when the look finds nothing: it
 * happened, and a segment that lives for milliseconds is gone by then.
 * But not when what has the name now is no segment (a FIFO made there).
 */
static bool satisfied(const struct waits_for *want, enum look seen, off_t size, bool given)
{
	if (seen == LOOK_SEGMENT && size >= want->min_size)
		return true;
	return want->created && given && seen != LOOK_OTHER;
}

/*
 * A wait for a size comes (delta 1) or goes (-1). IN_MODIFY is in the
 * watch only while there is one: otherwise every write(2) to any segment
 * would wake the thread. A wait that comes has it in the mask before its
 * look, so a truncate after the look is an event. 0 or -errno (then the
 * count is unchanged).
 */
static int want_sizes(struct shmfs *fs, int delta)
{
	struct waits *w = fs->waits;
	unsigned long next;
	int r = 0;

	pthread_mutex_lock(&w->mask_lock);
	next = delta > 0 ? w->sized + 1 : w->sized - 1;
	if ((w->sized == 0) != (next == 0) && w->inotify_fd >= 0 &&
	    inotify_add_watch(w->inotify_fd, PSHM_DIR, WATCH_MASK | (next ? IN_MODIFY : 0)) < 0)
		r = -errno;
	/* A mask that keeps IN_MODIFY too long only wakes the thread in vain. */
	if (r == 0 || delta < 0)
		w->sized = next;
	pthread_mutex_unlock(&w->mask_lock);
	return r;
}

/* e, no longer pending, no longer needs the watch to tell sizes (if it did). */
static void sizes_done(struct shmfs *fs, const struct waits_for *want)
{
	if (want->min_size > 0)
		want_sizes(fs, -1);
}

/* With the lock held. */
static void unlink_entry(struct shmfs *fs, struct waits_entry *e)
{
	LIST_REMOVE(fs->waits->first, e);
	e->pending = false;
}

static void wake(struct shmfs *fs)
{
	uint64_t one = 1;

	(void)!write(fs->waits->wake_fd, &one, sizeof(one));
}

/*
 * Hands the entries that are decided, or due by now, back to their
 * owners, one at a time, each detached and made current under the lock
 * so that waits_cancel can wait for it.
 */
static void deliver(struct shmfs *fs, uint64_t now)
{
	for (;;) {
		struct waits_for want;
		struct waits_entry *e;
		int r;

		pthread_mutex_lock(&fs->waits->lock);
		for (e = fs->waits->first; e; e = e->next)
			if (e->outcome || e->deadline_ms <= now)
				break;
		if (!e) {
			pthread_mutex_unlock(&fs->waits->lock);
			return;
		}
		r = e->outcome == 1 ? 0 : e->outcome < 0 ? e->outcome : -ETIMEDOUT;
		want = e->want;
		unlink_entry(fs, e);
		fs->waits->current = e;
		pthread_mutex_unlock(&fs->waits->lock);
		sizes_done(fs, &want);
		e->done(e, r);
		pthread_mutex_lock(&fs->waits->lock);
		fs->waits->current = NULL;
		pthread_cond_broadcast(&fs->waits->delivered);
		pthread_mutex_unlock(&fs->waits->lock);
	}
}

static bool awaited(struct shmfs *fs, const char *name)
{
	struct waits_entry *e;

	pthread_mutex_lock(&fs->waits->lock);
	for (e = fs->waits->first; e; e = e->next)
		if (strcmp(e->name, name) == 0)
			break;
	pthread_mutex_unlock(&fs->waits->lock);
	return e != NULL;
}

/* An event about name (given: it gave the name to something): the waits it ends are decided. */
static void happened(struct shmfs *fs, const char *name, bool given)
{
	enum look seen;
	off_t size = 0;

	if (!awaited(fs, name))
		return;
	seen = look_at(name, &size);
	pthread_mutex_lock(&fs->waits->lock);
	for (struct waits_entry *e = fs->waits->first; e; e = e->next)
		if (!e->outcome && strcmp(e->name, name) == 0 &&
		    satisfied(&e->want, seen, size, given))
			e->outcome = 1;
	pthread_mutex_unlock(&fs->waits->lock);
}

/*
 * The inotify queue overflowed: every awaited name is looked at again.
 * What is there now ends its waits; a created wait whose name is not
 * there cannot know whether a lost event was its creation, and says so
 * (-EOVERFLOW) rather than guess either way.
 */
static void look_again(struct shmfs *fs)
{
	char name[PSHM_NAME_MAX + 1];
	struct waits_entry *e;

	/* Newest first: each pass takes the oldest not looked at, until none is left. */
	pthread_mutex_lock(&fs->waits->lock);
	for (e = fs->waits->first; e; e = e->next)
		e->recheck = true;
	for (;;) {
		enum look seen;
		off_t size = 0;

		for (e = fs->waits->first; e && !e->recheck; e = e->next)
			;
		if (!e)
			break;
		memcpy(name, e->name, sizeof(name));
		pthread_mutex_unlock(&fs->waits->lock);
		seen = look_at(name, &size);
		pthread_mutex_lock(&fs->waits->lock);
		for (e = fs->waits->first; e; e = e->next) {
			if (!e->recheck || strcmp(e->name, name) != 0)
				continue;
			e->recheck = false;
			if (e->outcome)
				continue;
			if (satisfied(&e->want, seen, size, false))
				e->outcome = 1;
			else if (e->want.created)
				e->outcome = -EOVERFLOW;
		}
	}
	pthread_mutex_unlock(&fs->waits->lock);
}

static void read_events(struct shmfs *fs)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n = read(fs->waits->inotify_fd, buf, sizeof(buf));
	bool overflow = false;

	for (ssize_t at = 0; n > 0 && at < n;) {
		const struct inotify_event *ev = (const struct inotify_event *)(buf + at);

		if (ev->mask & IN_Q_OVERFLOW)
			overflow = true;
		else if (ev->len && !(ev->mask & IN_ISDIR))
			happened(fs, ev->name, ev->mask & (IN_CREATE | IN_MOVED_TO));
		at += (ssize_t)(sizeof(*ev) + ev->len);
	}
	if (overflow)
		look_again(fs);
}

/* The poll timeout until the earliest deadline: -1 for none. */
static int timeout_ms(struct shmfs *fs)
{
	uint64_t earliest = WAITS_FOREVER, now;

	pthread_mutex_lock(&fs->waits->lock);
	for (struct waits_entry *e = fs->waits->first; e; e = e->next)
		if (e->deadline_ms < earliest)
			earliest = e->deadline_ms;
	pthread_mutex_unlock(&fs->waits->lock);
	if (earliest == WAITS_FOREVER)
		return -1;
	now = shmfs_now_ms();
	return earliest <= now ? 0 : earliest - now > INT_MAX ? INT_MAX : (int)(earliest - now);
}

static void *waits_main(void *arg)
{
	struct shmfs *fs = arg;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = fs->waits->inotify_fd, .events = POLLIN },
			{ .fd = fs->waits->wake_fd, .events = POLLIN },
		};
		uint64_t count;
		bool stopping;

		pthread_mutex_lock(&fs->waits->lock);
		stopping = fs->waits->stopping;
		pthread_mutex_unlock(&fs->waits->lock);
		if (stopping)
			break;
		if (poll(fds, 2, timeout_ms(fs)) < 0 && errno != EINTR)
			break;
		if (fds[1].revents & POLLIN)
			(void)!read(fs->waits->wake_fd, &count, sizeof(count));
		if (fds[0].revents & POLLIN)
			read_events(fs);
		deliver(fs, shmfs_now_ms());
	}
	return NULL;
}

int waits_new(struct shmfs *fs)
{
	fs->waits = calloc(1, sizeof(*fs->waits));
	if (!fs->waits)
		return -ENOMEM;
	pthread_mutex_init(&fs->waits->lock, NULL);
	pthread_mutex_init(&fs->waits->mask_lock, NULL);
	pthread_cond_init(&fs->waits->delivered, NULL);
	fs->waits->inotify_fd = fs->waits->wake_fd = -1;
	return 0;
}

void waits_free(struct shmfs *fs)
{
	if (!fs->waits)
		return;
	waits_stop(fs);
	pthread_cond_destroy(&fs->waits->delivered);
	pthread_mutex_destroy(&fs->waits->mask_lock);
	pthread_mutex_destroy(&fs->waits->lock);
	free(fs->waits);
	fs->waits = NULL;
}

int waits_start(struct shmfs *fs)
{
	sigset_t all, old;
	int r;

	fs->waits->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	fs->waits->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fs->waits->inotify_fd < 0 || fs->waits->wake_fd < 0 ||
	    inotify_add_watch(fs->waits->inotify_fd, PSHM_DIR, WATCH_MASK) < 0) {
		r = -errno;
		goto fail;
	}
	/* Signals are for libfuse's threads (SIGTERM ends the loop), never this one. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = -pthread_create(&fs->waits->thread, NULL, waits_main, fs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto fail;
	fs->waits->running = true;
	return 0;
fail:
	waits_stop(fs);
	return r;
}

void waits_stop(struct shmfs *fs)
{
	bool running;

	pthread_mutex_lock(&fs->waits->lock);
	running = fs->waits->running;
	fs->waits->running = false;
	fs->waits->stopping = true;
	pthread_mutex_unlock(&fs->waits->lock);
	if (running) {
		wake(fs);
		pthread_join(fs->waits->thread, NULL);
	}
	/* Under mask_lock: a wait cancelled meanwhile may change the mask, never of another fd. */
	pthread_mutex_lock(&fs->waits->mask_lock);
	if (fs->waits->inotify_fd >= 0)
		close(fs->waits->inotify_fd);
	fs->waits->inotify_fd = -1;
	pthread_mutex_unlock(&fs->waits->mask_lock);
	if (fs->waits->wake_fd >= 0)
		close(fs->waits->wake_fd);
	fs->waits->wake_fd = -1;
}

int waits_add(struct shmfs *fs, struct waits_entry *e, const char *name, uint64_t deadline_ms,
	      const struct waits_for *want, waits_done_fn done)
{
	size_t len = strlen(name);
	off_t size = 0;
	bool mine;
	int r;

	if (len > PSHM_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(e->name, name, len + 1);
	e->deadline_ms = deadline_ms;
	e->want = *want;
	e->done = done;
	e->recheck = false;
	e->outcome = 0;
	if (want->min_size > 0) {
		r = want_sizes(fs, 1);
		if (r < 0)
			return r;
	}
	pthread_mutex_lock(&fs->waits->lock);
	if (!fs->waits->running) {
		pthread_mutex_unlock(&fs->waits->lock);
		sizes_done(fs, want);
		return -ESHUTDOWN;
	}
	/* Watched first (the watch is the daemon's, from its start), then looked at. */
	LIST_PREPEND(fs->waits->first, e);
	e->pending = true;
	pthread_mutex_unlock(&fs->waits->lock);
	/* want, not e->want: once pending, e may be answered and freed by now. */
	if (!satisfied(want, look_at(name, &size), size, false)) {
		if (deadline_ms != WAITS_FOREVER)
			wake(fs); /* its deadline may be the earliest now */
		return 0;
	}
	pthread_mutex_lock(&fs->waits->lock);
	mine = e->pending;
	if (mine)
		unlink_entry(fs, e);
	pthread_mutex_unlock(&fs->waits->lock);
	if (!mine)
		return 0; /* the thread saw it first and calls done */
	sizes_done(fs, want);
	return 1;
}

bool waits_cancel(struct shmfs *fs, struct waits_entry *e)
{
	bool was_pending;

	pthread_mutex_lock(&fs->waits->lock);
	was_pending = e->pending;
	if (was_pending)
		unlink_entry(fs, e);
	while (fs->waits->current == e)
		pthread_cond_wait(&fs->waits->delivered, &fs->waits->lock);
	pthread_mutex_unlock(&fs->waits->lock);
	if (was_pending)
		sizes_done(fs, &e->want);
	return was_pending;
}

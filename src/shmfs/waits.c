/* SPDX-License-Identifier: MIT */
/*
 * shmfs: waiting for named segments to appear. One inotify descriptor on
 * /dev/shm (IN_CREATE, IN_MOVED_TO) and one thread serve every wait, with
 * the earliest deadline as its poll timeout: no thread per wait, and no
 * worker of libfuse ever fs->waits-> The lock is for bookkeeping only: names
 * are looked at (lstat, never open: a FIFO never blocks anything here)
 * and owners called back after it is released.
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

struct waits {
	pthread_mutex_t lock;
	pthread_cond_t delivered;    /* current went back to its owner */
	struct waits_entry *first;   /* pending, newest first */
	struct waits_entry *current; /* being handed to its owner (done running) */
	int inotify_fd, wake_fd;
	pthread_t thread;
	bool running, stopping;
};

bool waits_segment_exists(const char *name)
{
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];
	struct stat st;

	/* By path, holding nothing open: /dev/shm may be unmounted once the daemon is gone. */
	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
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
 * Hands the entries that match (name, or every one due by now when name
 * is NULL) back to their owners with r, one at a time, each detached and
 * made current under the lock so that waits_cancel can wait for it.
 */
static void deliver(struct shmfs *fs, const char *name, uint64_t now, int r)
{
	for (;;) {
		struct waits_entry *e;

		pthread_mutex_lock(&fs->waits->lock);
		for (e = fs->waits->first; e; e = e->next)
			if (name ? strcmp(e->name, name) == 0 : e->deadline_ms <= now)
				break;
		if (!e) {
			pthread_mutex_unlock(&fs->waits->lock);
			return;
		}
		unlink_entry(fs, e);
		fs->waits->current = e;
		pthread_mutex_unlock(&fs->waits->lock);
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

/* A name appeared: its waits end if it is a segment now. */
static void appeared(struct shmfs *fs, const char *name)
{
	if (awaited(fs, name) && waits_segment_exists(name))
		deliver(fs, name, 0, 0);
}

/* The inotify queue overflowed: every awaited name is looked at again. */
static void look_again(struct shmfs *fs)
{
	char name[PSHM_NAME_MAX + 1];
	struct waits_entry *e;

	/* Newest first: each pass takes the oldest not looked at, until none is left. */
	pthread_mutex_lock(&fs->waits->lock);
	for (e = fs->waits->first; e; e = e->next)
		e->recheck = true;
	for (;;) {
		for (e = fs->waits->first; e && !e->recheck; e = e->next)
			;
		if (!e)
			break;
		e->recheck = false;
		memcpy(name, e->name, sizeof(name));
		pthread_mutex_unlock(&fs->waits->lock);
		appeared(fs, name);
		pthread_mutex_lock(&fs->waits->lock);
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
		else if (ev->len && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			appeared(fs, ev->name);
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
		deliver(fs, NULL, shmfs_now_ms(), -ETIMEDOUT);
	}
	return NULL;
}

int waits_new(struct shmfs *fs)
{
	fs->waits = calloc(1, sizeof(*fs->waits));
	if (!fs->waits)
		return -ENOMEM;
	pthread_mutex_init(&fs->waits->lock, NULL);
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
	    inotify_add_watch(fs->waits->inotify_fd, PSHM_DIR,
			      IN_CREATE | IN_MOVED_TO | IN_ONLYDIR) < 0) {
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
	if (fs->waits->inotify_fd >= 0)
		close(fs->waits->inotify_fd);
	if (fs->waits->wake_fd >= 0)
		close(fs->waits->wake_fd);
	fs->waits->inotify_fd = fs->waits->wake_fd = -1;
}

int waits_add(struct shmfs *fs, struct waits_entry *e, const char *name, uint64_t deadline_ms,
	      waits_done_fn done)
{
	size_t len = strlen(name);

	if (len > PSHM_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(e->name, name, len + 1);
	e->deadline_ms = deadline_ms;
	e->done = done;
	e->recheck = false;
	pthread_mutex_lock(&fs->waits->lock);
	if (!fs->waits->running) {
		pthread_mutex_unlock(&fs->waits->lock);
		return -ESHUTDOWN;
	}
	/* Watched first (the watch is the daemon's, from its start), then looked at. */
	LIST_PREPEND(fs->waits->first, e);
	e->pending = true;
	pthread_mutex_unlock(&fs->waits->lock);
	if (waits_segment_exists(name)) {
		bool mine;

		pthread_mutex_lock(&fs->waits->lock);
		mine = e->pending;
		if (mine)
			unlink_entry(fs, e);
		pthread_mutex_unlock(&fs->waits->lock);
		/* Else the thread saw it first and calls done. */
		return mine ? 1 : 0;
	}
	if (deadline_ms != WAITS_FOREVER)
		wake(fs); /* its deadline may be the earliest now */
	return 0;
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
	return was_pending;
}

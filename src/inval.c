/* SPDX-License-Identifier: MIT */
/*
 * shmfs: telling the kernel to forget names it caches.
 *
 * In the default mode the kernel keeps a name's entry (which node it
 * means) for a while, and asks the daemon for the attributes on every stat;
 * the daemon checks each time that the name still means that segment (see
 * nodes.c). When the daemon learns that a cached name went stale (the
 * segment was renamed or replaced behind the mount's back, or a file on it
 * was just opened), it asks the kernel to drop the entry, so the next use
 * of the name looks it up again.
 *
 * The kernel takes the directory's lock to drop an entry, and a request
 * holding that lock may be waiting for a worker thread; so the requests are
 * sent by a thread of their own, and a worker waits for one only briefly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "shmfs_i.h"

#define WAIT_MS 20

struct inval_item {
	struct inval_item *next;
	uint64_t seq;
	size_t len;
	char name[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t work; /* items queued, or stop */
	pthread_cond_t done; /* sent advanced */
	struct inval_item *head, **tail;
	uint64_t queued, sent;
	struct fuse_session *se;
	pthread_t thread;
	bool running, stop;
} q = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
	.head = NULL,
	.tail = &q.head,
};

static void *inval_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&q.lock);
	for (;;) {
		struct inval_item *item;

		while (!q.head && !q.stop)
			pthread_cond_wait(&q.work, &q.lock);
		if (!q.head)
			break;
		item = q.head;
		q.head = item->next;
		if (!q.head)
			q.tail = &q.head;
		pthread_mutex_unlock(&q.lock);
		/* -ENOENT (nothing cached) and -ENOTCONN (unmounted) are fine. */
		fuse_lowlevel_notify_inval_entry(q.se, FUSE_ROOT_ID, item->name, item->len);
		pthread_mutex_lock(&q.lock);
		q.sent = item->seq;
		pthread_cond_broadcast(&q.done);
		free(item);
	}
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

int inval_start(struct fuse_session *se)
{
	int r;

	q.se = se;
	q.stop = false;
	r = pthread_create(&q.thread, NULL, inval_main, NULL);
	if (r != 0)
		return -r;
	q.running = true;
	return 0;
}

void inval_stop(void)
{
	struct inval_item *item;

	if (!q.running)
		return;
	pthread_mutex_lock(&q.lock);
	/* The kernel is gone: what is left would go nowhere. */
	while ((item = q.head)) {
		q.head = item->next;
		free(item);
	}
	q.tail = &q.head;
	q.stop = true;
	pthread_cond_signal(&q.work);
	pthread_mutex_unlock(&q.lock);
	pthread_join(q.thread, NULL);
	q.running = false;
}

void inval_entry(const char *segment_name, bool wait)
{
	struct inval_item *item;
	const char *name = segment_name + shmfs_config.prefix_len;
	size_t len = strlen(name);
	struct timespec deadline;
	uint64_t seq;

	if (!q.running || strlen(segment_name) < shmfs_config.prefix_len || !len)
		return;
	item = malloc(sizeof(*item) + len + 1);
	if (!item)
		return; /* the entry then expires on its own */
	memcpy(item->name, name, len + 1);
	item->len = len;
	item->next = NULL;
	pthread_mutex_lock(&q.lock);
	seq = item->seq = ++q.queued;
	*q.tail = item;
	q.tail = &item->next;
	pthread_cond_signal(&q.work);
	if (wait) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += WAIT_MS * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		while (q.sent < seq && !q.stop &&
		       pthread_cond_timedwait(&q.done, &q.lock, &deadline) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&q.lock);
}

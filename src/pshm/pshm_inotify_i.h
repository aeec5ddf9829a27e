/* SPDX-License-Identifier: MIT */
/*
 * pshm: inotify on PSHM_DIR, as wait (pshm_wait.c) and watch
 * (pshm_watch.c) read it (pshm_inotify.c): both watch before they look, so
 * that nothing that happens between the look and the watch is missed, and
 * read every event the kernel has queued before they look at a name.
 */
#ifndef PSHM_INOTIFY_I_H
#define PSHM_INOTIFY_I_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The room one event can take: the longest name, and its NUL. */
#define EVENT_MAX (sizeof(struct inotify_event) + NAME_MAX + 1)

/* What the kernel queues at most when /proc does not say (its default). */
#define QUEUE_DEFAULT 16384

/* Past this, a queue limit raised by the administrator gets a buffer of this many events. */
#define QUEUE_BUFFER_MAX (1u << 20)

/* The longest --timeout: about 68 years, far below what poll's milliseconds could overflow. */
#define TIMEOUT_MAX_SECONDS 2147483647.0

/* What wait and watch ask the kernel for. */
#define WAIT_EVENTS (IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB)
#define WATCH_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB)

/* Events that end the life of whatever had the name before. */
#define NAME_TAKEN (IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE)

/* Events that give the name to something new. */
#define NAME_GIVEN (IN_CREATE | IN_MOVED_TO)

static inline const struct inotify_event *event_at(const char *p)
{
	return (const struct inotify_event *)p;
}

#define FOR_EACH_EVENT(e, buf, len)                                              \
	for (const char *p_ = (buf); p_ < (buf) + (len) && ((e) = event_at(p_)); \
	     p_ += sizeof(*(e)) + (e)->len)

/* What is under a name of PSHM_DIR now. */
enum look {
	LOOK_NOTHING, /* nothing: whatever was there is gone */
	LOOK_OTHER,   /* something that is no segment: a FIFO, a directory, a link */
	LOOK_SEGMENT, /* a regular file: *st */
	LOOK_FAILED,  /* lstat failed otherwise */
};

int64_t now_ms(void);

/* A non-blocking watch on PSHM_DIR: the inotify descriptor, or the error line's status negated. */
int watch_dir(uint32_t mask);

/*
 * A buffer that holds every event the kernel may queue (its limit, from
 * /proc, and one more for the overflow event): one read takes the whole
 * queue, so no event waits in the kernel while an earlier one is looked
 * into. Its pages are touched only as events fill them. *ret_size is set.
 */
char *event_buffer(size_t *ret_size);

/*
 * Reads every event queued on the non-blocking fd into buf, after waiting
 * up to timeout_ms (-1: no limit) for the first: the bytes read, 0 when
 * the time passed first, or -errno.
 */
ssize_t read_events(int fd, char *buf, size_t size, int timeout_ms);

/* By path, never opened: a FIFO never blocks the look. LOOK_FAILED leaves errno set. */
enum look look_at(const char *name, struct stat *st);

bool is_semaphore(const char *name);

#endif /* PSHM_INOTIFY_I_H */

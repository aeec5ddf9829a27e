/* SPDX-License-Identifier: MIT */
/* pshm: inotify on PSHM_DIR, what wait and watch share (pshm_inotify_i.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"
#include "pshm_inotify_i.h"

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A non-blocking watch on PSHM_DIR: the inotify descriptor, or the error line's status negated. */
int watch_dir(uint32_t mask)
{
	int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	if (fd < 0)
		return -cli_fail(errno, "inotify_init1", NULL);
	if (inotify_add_watch(fd, PSHM_DIR, mask | IN_ONLYDIR) < 0) {
		int r = -cli_fail(errno, "inotify_add_watch", PSHM_DIR);

		close(fd);
		return r;
	}
	return fd;
}

/*
 * A buffer that holds every event the kernel may queue (its limit, from
 * /proc, and one more for the overflow event): one read takes the whole
 * queue, so no event waits in the kernel while an earlier one is looked
 * into. Its pages are touched only as events fill them. *ret_size is set.
 */
char *event_buffer(size_t *ret_size)
{
	unsigned long queued = QUEUE_DEFAULT;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
	char *buf;

	if (f) {
		if (fscanf(f, "%lu", &queued) != 1 || queued == 0)
			queued = QUEUE_DEFAULT;
		fclose(f);
	}
	if (queued > QUEUE_BUFFER_MAX)
		queued = QUEUE_BUFFER_MAX;
	*ret_size = (queued + 1) * EVENT_MAX;
	/* Aligned for struct inotify_event, as malloc's memory is. */
	buf = malloc(*ret_size);
	if (!buf)
		cli_fail(ENOMEM, "inotify", "event buffer");
	return buf;
}

/*
 * Reads every event queued on the non-blocking fd into buf, after waiting
 * up to timeout_ms (-1: no limit) for the first: the bytes read, 0 when
 * the time passed first, or -errno.
 */
ssize_t read_events(int fd, char *buf, size_t size, int timeout_ms)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;

		if (len == 0) {
			int r = poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, timeout_ms);

			if (r < 0)
				return errno == EINTR ? 0 : -errno;
			if (r == 0)
				return 0;
		}
		n = read(fd, buf + len, size - len);
		if (n > 0) {
			len += (size_t)n;
			/* read(2) fails with EINVAL when the next event does not fit. */
			if (size - len < EVENT_MAX)
				return (ssize_t)len;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return (ssize_t)len;
		return n < 0 ? -errno : -EIO;
	}
}

/* By path, never opened: a FIFO never blocks the look. LOOK_FAILED leaves errno set. */
enum look look_at(const char *name, struct stat *st)
{
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];

	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	if (lstat(path, st) < 0)
		return errno == ENOENT ? LOOK_NOTHING : LOOK_FAILED;
	return S_ISREG(st->st_mode) ? LOOK_SEGMENT : LOOK_OTHER;
}

bool is_semaphore(const char *name)
{
	return strncmp(name, PSHM_SEMAPHORE_PREFIX, strlen(PSHM_SEMAPHORE_PREFIX)) == 0;
}

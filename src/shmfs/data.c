/* SPDX-License-Identifier: MIT */
/*
 * shmfs: reading and writing an open segment file through the daemon,
 * when the kernel does not do it itself (passthrough off or refused):
 * spliced replies of the segment's pages, or a copy out of the daemon's
 * mapping under the SIGBUS guard, never trusting a cached size.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "data_i.h"
#include "guard_i.h"
#include "shmfs_i.h"
#include "splice_i.h"

/* A per-thread buffer for replies (fs->buffer_key), freed when the thread ends. */

struct thread_buffer {
	size_t size;
	char data[];
};

int data_new(struct shmfs *fs)
{
	int r = -pthread_key_create(&fs->buffer_key, free);

	fs->buffer_key_made = r == 0;
	return r;
}

void data_free(struct shmfs *fs)
{
	/* At exit: the workers are gone, and their buffers with them. */
	if (fs->buffer_key_made)
		pthread_key_delete(fs->buffer_key);
	fs->buffer_key_made = false;
}

char *data_buffer(struct shmfs *fs, size_t size)
{
	struct thread_buffer *b;

	b = pthread_getspecific(fs->buffer_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	b = malloc(sizeof(*b) + size);
	pthread_setspecific(fs->buffer_key, b);
	if (!b)
		return NULL;
	b->size = size;
	return b->data;
}

/*
 * libfuse reads each request whole into its worker thread's receive buffer
 * (1 MiB and a page), and a large write leaves as much of it touched for
 * as long as the thread lives. The kernel hands requests to the idle
 * workers in turn, so after a stream of 1 MiB writes every worker holds a
 * full buffer (measured in scripts/bench: 5 to 6 MiB of private memory
 * with cache=on or passthrough=off). Giving it back after each write
 * would cost a page fault per page on the next (measured: 1 MiB writes at
 * 1.25 GB/s instead of 2.1); so a thread gives back what lies past
 * RECEIVE_KEEP once it has served RECEIVE_QUIET requests in a row that
 * fit in RECEIVE_KEEP: after a stream of writes, never during one. Only
 * the bytes past the request just read are given back, and only within
 * the len bytes libfuse handed the read hook for it.
 */
#define RECEIVE_KEEP (64 * 1024)
#define RECEIVE_QUIET 64

static _Thread_local struct {
	const char *buf; /* the receive buffer this thread last read into */
	size_t touched;  /* how much of it may hold pages */
	unsigned quiet;  /* requests in a row since one that needed more than RECEIVE_KEEP */
} receive;

void data_received(void *buf, size_t len, size_t n)
{
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), start, end;

	if (receive.buf != buf) {
		/* A buffer new to this thread: what it held before is unknown. */
		receive.buf = buf;
		receive.touched = len;
		receive.quiet = 0;
	}
	if (n > RECEIVE_KEEP) {
		if (n > receive.touched)
			receive.touched = n;
		receive.quiet = 0;
		return;
	}
	if (receive.touched <= RECEIVE_KEEP || ++receive.quiet < RECEIVE_QUIET)
		return;
	/* This request lies below RECEIVE_KEEP; past it the buffer holds nothing libfuse reads. */
	start = ((uintptr_t)buf + RECEIVE_KEEP + page - 1) / page * page;
	end = ((uintptr_t)buf + (receive.touched < len ? receive.touched : len)) / page * page;
	if (end > start)
		madvise((void *)start, end - start, MADV_DONTNEED);
	receive.touched = RECEIVE_KEEP;
	receive.quiet = 0;
}

static size_t page_round_up(uint64_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (size_t)((n + page - 1) / page * page);
}

/*
 * Makes h's mapping cover at least end bytes, with h->map_lock held for
 * reading on return (0) and on error (-errno). The mapping grows in
 * doublings so a growing segment is not remapped on every read.
 */
static int map_covering(struct handle *h, uint64_t end)
{
	void *map;
	size_t len;
	int r;

	pthread_rwlock_rdlock(&h->map_lock);
	if (h->map_len >= end)
		return 0;
	pthread_rwlock_unlock(&h->map_lock);

	pthread_rwlock_wrlock(&h->map_lock);
	r = 0;
	if (h->map_len < end) {
		len = page_round_up(end > 2 * (uint64_t)h->map_len ? end
								   : 2 * (uint64_t)h->map_len);
		r = pshm_map(h->fd, NULL, len, PROT_READ, 0, &map, NULL);
		if (r == 0) {
			if (h->map)
				munmap(h->map, h->map_len);
			h->map = map;
			h->map_len = len;
		}
	}
	pthread_rwlock_unlock(&h->map_lock);
	pthread_rwlock_rdlock(&h->map_lock);
	return r < 0 ? r : (h->map_len >= end ? 0 : -ENOMEM);
}

#define RESIDENCY_CHUNK_PAGES 256

/*
 * Copies len bytes at off out of h's mapping (map_lock held) into buf.
 * Only pages that hold data are touched: a read fault on a hole of a tmpfs
 * mapping allocates a page, so reading a sparse segment through the mount
 * would fill it with zeros and use memory. mincore tells which pages exist;
 * the others (holes, or pages swapped out) are read with pread, which
 * allocates nothing. A page gone meanwhile (another process shrank the
 * segment) faults under the guard, and pread returns what exists instead.
 * Returns the bytes copied (short at the segment's current end) or -errno.
 */
static ssize_t copy_out(struct handle *h, char *buf, size_t len, off_t off)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), done = 0;
	unsigned char resident[RESIDENCY_CHUNK_PAGES];

	while (done < len) {
		uint64_t pos = (uint64_t)off + done;
		uint64_t first = pos / page * page;
		size_t span = len - done, pages, i = 0;

		if (span > RESIDENCY_CHUNK_PAGES * page - (pos - first))
			span = RESIDENCY_CHUNK_PAGES * page - (pos - first);
		pages = (size_t)((pos - first + span + page - 1) / page);
		if (mincore(h->map + first, pages * page, resident) < 0)
			memset(resident, 0, pages); /* unknown: read it all with pread */
		while (i < pages && done < len) {
			size_t run = 1, start, count;
			ssize_t n;

			while (i + run < pages && (resident[i + run] & 1) == (resident[i] & 1))
				run++;
			/* The part of pages [i, i + run) that this read covers. */
			start = i == 0 ? (size_t)(pos - first) : 0;
			count = run * page - start;
			if (count > len - done)
				count = len - done;
			if ((resident[i] & 1) &&
			    guard_copy(buf + done, h->map + off + done, count) == 0) {
				n = (ssize_t)count;
			} else {
				n = pread(h->fd, buf + done, count, off + (off_t)done);
				if (n < 0)
					return done ? (ssize_t)done : -errno;
			}
			done += (size_t)n;
			if ((size_t)n < count)
				return (ssize_t)done; /* the end moved in: a short read */
			i += run;
		}
	}
	return (ssize_t)done;
}

size_t data_span_or_reply(fuse_req_t req, int r, off_t size_now, size_t size, off_t off)
{
	if (r < 0) {
		fuse_reply_err(req, -r);
		return 0;
	}
	if (off < 0 || off >= size_now || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return 0;
	}
	return (uint64_t)(size_now - off) < size ? (size_t)(size_now - off) : size;
}

void data_read_reply(fuse_req_t req, struct handle *h, size_t size, off_t off)
{
	struct shmfs *fs = shmfs_of(req);
	struct stat st;
	size_t len;
	char *buf;
	ssize_t n;
	int r;

	/* Never trust a cached size: another process may have resized the segment. */
	r = pshm_stat(h->fd, &st, NULL);
	len = data_span_or_reply(req, r, r < 0 ? 0 : st.st_size, size, off);
	if (!len)
		return;
	/* Most reads: the kernel copies the segment's pages straight to the reader. */
	if (splice_reply(req, h->fd, len, off) == 0)
		return;
	/* Small ones: a copy out of the daemon's mapping costs less than a pipe. */
	r = map_covering(h, (uint64_t)off + len);
	buf = data_buffer(fs, len);
	if (!buf) {
		pthread_rwlock_unlock(&h->map_lock);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (r < 0) {
		n = pread(h->fd, buf, len, off);
		n = n < 0 ? -errno : n;
	} else {
		n = copy_out(h, buf, len, off);
	}
	pthread_rwlock_unlock(&h->map_lock);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

void data_write_reply(fuse_req_t req, struct handle *h, const char *buf, size_t size, off_t off)
{
	struct stat st;
	ssize_t n;

	if ((h->flags & O_ACCMODE) == O_RDONLY) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* The kernel's idea of the end may be stale: append at the real one. */
	if (h->flags & O_APPEND) {
		int r = pshm_stat(h->fd, &st, NULL);

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		off = st.st_size;
	}
	n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

/* SPDX-License-Identifier: MIT */
/* shmfs: reading and writing through the daemon (data.c). */
#ifndef DATA_I_H
#define DATA_I_H

#include "shmfs_i.h"

/* data.c: reading and writing an open segment file through the daemon. */
void data_read_reply(fuse_req_t req, struct handle *h, size_t size, off_t off);
void data_write_reply(fuse_req_t req, struct handle *h, const char *buf, size_t size, off_t off);
/*
 * The bytes a read of size at off gets from an object of size_now (or an
 * error r < 0 of finding it out): their count, or 0 once it replied itself
 * (the error, or an empty read at or past the end).
 */
size_t data_span_or_reply(fuse_req_t req, int r, off_t size_now, size_t size, off_t off);
/* A per-thread buffer of at least size bytes for replies (freed when the thread ends). */
/*
 * A request of n bytes was read into buf, the len bytes libfuse receives
 * into: gives back the part of the buffer past the first 64 KiB once it
 * has not been needed for a while (from the read hook, before the
 * request is processed).
 */
void data_received(void *buf, size_t len, size_t n);
char *data_buffer(struct shmfs *fs, size_t size);
/* Makes and deletes the key of the workers' reply buffers: 0 or -errno. */
int data_new(struct shmfs *fs);
void data_free(struct shmfs *fs);

#endif /* DATA_I_H */

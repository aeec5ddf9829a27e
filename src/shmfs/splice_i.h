/* SPDX-License-Identifier: MIT */
/* shmfs: spliced read replies (splice.c). */
#ifndef SPLICE_I_H
#define SPLICE_I_H

#include "shmfs_i.h"

/* splice.c: read replies that reference the segment's pages instead of copying them. */
/* Measures what a pipe may hold; returns the most data one spliced reply carries (0: none). */
size_t splice_max_reply(void);
/*
 * Replies to req with the len bytes at off of the segment open as fd: 0
 * once replied (short if the segment shrank meanwhile), or -EAGAIN, having
 * sent nothing, when the caller must reply itself (too small or too big).
 */
int splice_reply(fuse_req_t req, int fd, size_t len, off_t off);

#endif /* SPLICE_I_H */

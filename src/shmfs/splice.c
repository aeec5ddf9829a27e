/* SPDX-License-Identifier: MIT */
/*
 * shmfs: read replies that carry the segment's pages instead of a copy.
 *
 * libfuse splices the segment's descriptor into a pipe behind the reply
 * header and the pipe into /dev/fuse. Splicing out of tmpfs puts references
 * to the segment's pages in the pipe (the shared zero page for a hole, so
 * nothing is allocated), and the kernel then copies each byte once, from
 * the segment straight into the reader's buffer. Pages in the pipe stay
 * valid if another process shrinks the segment meanwhile; a shrink that
 * comes first makes the splice come up short, and libfuse answers with
 * what there is, a short read at the new end.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmfs_i.h"
#include "splice_i.h"

/*
 * libfuse's splice path wants room in its pipe for the data, the header
 * and three pages more (fuse_send_data_iov), and falls back to a copy
 * otherwise.
 */
#define LIBFUSE_PIPE_EXTRA (4 * 4096)
#define MIN_SPLICE_BYTES (2 * 4096) /* libfuse copies smaller replies anyway */

static long read_long(const char *path)
{
	char text[32];
	long value = -1;
	FILE *f = fopen(path, "re");

	if (f) {
		if (fgets(text, sizeof(text), f))
			value = strtol(text, NULL, 10);
		fclose(f);
	}
	return value;
}

size_t splice_max_reply(void)
{
	long max = read_long("/proc/sys/fs/pipe-max-size");
	size_t max_reply = 0;
	int fd[2];

	if (sysconf(_SC_PAGESIZE) != 4096 || pipe2(fd, O_CLOEXEC) < 0)
		return 0;
	if (fcntl(fd[0], F_SETPIPE_SZ, 2 << 20) >= 0)
		max_reply = 1 << 20; /* CAP_SYS_RESOURCE: libfuse's pipe grows as needed */
	else if (max >= 16 * 4096 && fcntl(fd[0], F_SETPIPE_SZ, (int)max) >= 0)
		max_reply = (size_t)(max - LIBFUSE_PIPE_EXTRA) / 4096 * 4096;
	if (max_reply > 1 << 20)
		max_reply = 1 << 20;
	close(fd[0]);
	close(fd[1]);
	return max_reply;
}

int splice_reply(fuse_req_t req, int fd, size_t len, off_t off)
{
	struct shmfs *fs = shmfs_of(req);
	struct fuse_bufvec bufv = FUSE_BUFVEC_INIT(len);

	if (len < MIN_SPLICE_BYTES || len > fs->config.splice_max)
		return -EAGAIN;
	bufv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bufv.buf[0].fd = fd;
	bufv.buf[0].pos = off;
	/* The request is answered (or dropped, if its caller went away) either way. */
	fuse_reply_data(req, &bufv, 0);
	return 0;
}

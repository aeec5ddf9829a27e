/* SPDX-License-Identifier: MIT */
/*
 * shmfs: .ctl, the control file, as a view: one inode per user (the
 * kernel serialises writes to an inode, so one user's long command never
 * delays another's), each open a session (ctl_session.c) with the opener's
 * rights.
 */
#include <errno.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <sys/uio.h>

#include "ctl_session_i.h"
#include "view_i.h"

/*
 * Node ids of .ctl: the user's uid with a tag in the low byte. Nodes'
 * ids are 16-byte aligned addresses (nodes_ino), and the root and .anon
 * are 1 and 3, so none of them has this low byte.
 */
#define CTL_INO_TAG 0x5

static struct ctl_session *session_of(const struct fuse_file_info *fi)
{
	return (struct ctl_session *)(uintptr_t)fi->fh;
}

static fuse_ino_t ctl_ino(fuse_req_t req)
{
	return ((fuse_ino_t)fuse_req_ctx(req)->uid << 8) | CTL_INO_TAG;
}

static bool ctl_is(fuse_ino_t ino)
{
	return (ino & 0xff) == CTL_INO_TAG;
}

/* Open to every user (0666): each command checks what the opener may do. */
static int ctl_getattr(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	return view_stat(req, ino, S_IFREG | 0666, 1, st);
}

static int ctl_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct ctl_session *s;
	struct creds opener;
	int r;

	(void)ino;
	creds_of_req(req, &opener);
	creds_groups(req, &opener); /* the session acts as its opener later, without a request */
	r = ctl_session_open(fs, &opener, &s);
	if (r < 0)
		return r;
	fi->fh = (uint64_t)(uintptr_t)s;
	/* Replies come from a per-open cursor: no seeking, no page cache. */
	fi->nonseekable = 1;
	fi->direct_io = 1;
	return 0;
}

/*
 * The reply to an open, with FOPEN_STREAM, which libfuse has no field
 * for: the kernel then opens the file as a stream (stream_open), with no
 * position and so no f_pos_lock. With a position, a write(2) on a
 * descriptor shared by threads or processes (a harness's background job)
 * waits in the kernel for a read kept on the same descriptor to end,
 * which for a wait may be never.
 */
static int ctl_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	struct fuse_open_out out = {
		.fh = fi->fh,
		.open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE | FOPEN_STREAM,
	};
	struct iovec iov = { .iov_base = &out, .iov_len = sizeof(out) };

	return fuse_reply_iov(req, &iov, 1);
}

/* fi->flags are the file's (O_NONBLOCK among them): the kernel sends them with each read. */
static void ctl_read_view(fuse_req_t req, struct fuse_file_info *fi, size_t size)
{
	ctl_session_read_reply(req, session_of(fi), size, fi->flags, &shmfs_of(req)->ctl);
}

static void ctl_poll_view(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	ctl_session_poll_reply(req, session_of(fi), ph);
}

static ssize_t ctl_write_view(fuse_req_t req, struct fuse_file_info *fi, const char *buf,
			      size_t size)
{
	return ctl_session_write(session_of(fi), buf, size, &shmfs_of(req)->ctl);
}

static void ctl_release(struct fuse_file_info *fi)
{
	ctl_session_close(session_of(fi));
}

/* "echo cmd > .ctl" truncates first: nothing to truncate (times may come along). */
static int ctl_setattr(fuse_req_t req, fuse_ino_t ino, int to_set)
{
	int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		    FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;

	(void)req;
	(void)ino;
	return (to_set & FUSE_SET_ATTR_SIZE) && !(to_set & ~(FUSE_SET_ATTR_SIZE | times)) ? 0
											  : -EPERM;
}

const struct view view_ctl = {
	.name = CTL_NAME,
	.type = S_IFREG,
	.ino = ctl_ino,
	.is = ctl_is,
	.getattr = ctl_getattr,
	.open = ctl_open,
	.reply_open = ctl_reply_open,
	.read = ctl_read_view,
	.poll = ctl_poll_view,
	.write = ctl_write_view,
	.release = ctl_release,
	.setattr = ctl_setattr,
};

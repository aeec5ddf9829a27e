/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the operations table. Each request is about a view (the root, a
 * directory or file of the mount's own, found once by views_of) or a node
 * of the node table (a segment file); each operation dispatches to it,
 * and refuses what neither offers.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/statvfs.h>

#include "data_i.h"
#include "dirs_i.h"
#include "inval_i.h"
#include "ops_i.h"
#include "passthrough_i.h"
#include "segments_i.h"
#include "view_i.h"
#include "xattr_i.h"

static struct node *node_of(fuse_ino_t ino)
{
	return node_of_ino(ino);
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* The directory view parent is, or NULL (then ENOTDIR: segments are files). */
static const struct view *dir_of(fuse_ino_t parent)
{
	const struct view *v = views_of(parent);

	return v && v->lookup ? v : NULL;
}

static void ops_init(void *userdata, struct fuse_conn_info *conn)
{
	struct shmfs *fs = userdata;

	clock_gettime(CLOCK_REALTIME, &fs->started);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* mtime-based invalidation misses stores through other processes' mmaps. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* The kernel applies the caller's umask to create modes, as for /dev/shm. */
	conn->want &= ~FUSE_CAP_DONT_MASK;
	/* Read replies carry the segment's pages (splice.c); must match -o max_read. */
	conn->max_read = fs->config.max_read;
	inval_init(fs, conn->proto_major, conn->proto_minor);
	if (fs->config.max_read && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	passthrough_init(fs, conn);
}

static void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct shmfs *fs = shmfs_of(req);
	const struct view *dir = dir_of(parent), *v;
	struct fuse_entry_param e;
	int r;

	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	v = views_named(dir, name);
	r = v ? views_entry(req, v, &e) : dir->lookup(req, dir, name, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_entry(req, &e) != 0 && !v)
		nodes_forget(fs, node_of(e.ino), 1); /* the kernel never got the reference */
}

static void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct shmfs *fs = shmfs_of(req);

	/* Views take no references: they are never forgotten. */
	if (!views_of(ino))
		nodes_forget(fs, node_of(ino), nlookup);
	fuse_reply_none(req);
}

static void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct shmfs *fs = shmfs_of(req);

	for (size_t i = 0; i < count; i++)
		if (!views_of(forgets[i].ino))
			nodes_forget(fs, node_of(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

static void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);
	struct stat st;
	int r;

	if (!v && node_view(node_of(ino))) {
		r = node_view(node_of(ino))->node_getattr(req, node_of(ino), &st);
	} else if (!v) {
		segments_getattr_reply(req, node_of(ino), fi);
		return;
	} else {
		r = v->getattr(req, ino, &st);
	}
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, shmfs_attr_timeout(shmfs_of(req)));
}

static void ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);
	struct stat st;
	int r;

	if (!v && node_view(node_of(ino))) {
		fuse_reply_err(req, EROFS); /* other shared memory is its holders' to change */
		return;
	}
	if (!v) {
		segments_setattr_reply(req, node_of(ino), attr, to_set, fi);
		return;
	}
	/* The shm directory itself, and the mount's own entries, are not ours to change. */
	r = v->setattr ? v->setattr(req, ino, to_set) : -EPERM;
	if (r == 0)
		r = v->getattr(req, ino, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, shmfs_attr_timeout(shmfs_of(req)));
}

/*
 * access(2) and faccessat(2): with a cached entry the kernel would answer
 * "exists" by itself, so the daemon checks the name as for a stat. Modes
 * are the kernel's business under default_permissions (then this is not
 * called); otherwise only the mounting user gets here, who is served with
 * the daemon's rights, as for every other call.
 */
static void ops_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct shmfs *fs = shmfs_of(req);
	struct stat st;

	(void)mask;
	if (views_of(ino))
		fuse_reply_err(req, 0);
	else if (node_view(node_of(ino)))
		fuse_reply_err(req, -node_view(node_of(ino))->node_getattr(req, node_of(ino), &st));
	else
		fuse_reply_err(req, -nodes_stat(fs, node_of(ino), &st));
}

static void ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);
	struct handle *h;
	int r;

	if (!v && node_view(node_of(ino))) {
		r = node_view(node_of(ino))->node_open(req, node_of(ino), fi, &h);
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			segments_reply_open(req, node_of(ino), h, fi);
		return;
	}
	if (!v) {
		segments_open_reply(req, node_of(ino), fi);
		return;
	}
	r = v->open ? v->open(req, ino, fi) : -EISDIR;
	if (r < 0)
		fuse_reply_err(req, -r);
	else if ((v->reply_open ? v->reply_open(req, fi) : fuse_reply_open(req, fi)) != 0)
		v->release(fi);
}

static void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);

	if (!v) {
		const struct view *nv = node_view(node_of(ino));

		if (!nv || !nv->node_read_reply(req, node_of(ino), handle_of(fi), size, off))
			data_read_reply(req, handle_of(fi), size, off);
		return;
	}
	v->read(req, fi, size);
}

/*
 * poll(2): .ctl says when a reply comes; everything else is always ready,
 * as the kernel would answer without a poll operation (which, once
 * refused, it never asks again, for any file of the mount).
 */
static void ops_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		     struct fuse_pollhandle *ph)
{
	const struct view *v = views_of(ino);

	if (v && v->poll) {
		v->poll(req, fi, ph);
		return;
	}
	if (ph)
		fuse_pollhandle_destroy(ph);
	fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
}

static void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);
	ssize_t n;

	if (!v) {
		data_write_reply(req, handle_of(fi), buf, size, off);
		return;
	}
	n = v->write(req, fi, buf, size);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct view *v = views_of(ino);

	if (!v) {
		segments_release_reply(req, node_of(ino), fi);
		return;
	}
	v->release(fi);
	fuse_reply_err(req, 0);
}

static void ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	const struct view *dir = dir_of(parent);

	if (!dir)
		fuse_reply_err(req, ENOTDIR);
	else if (views_named(dir, name))
		fuse_reply_err(req, EEXIST); /* a view shadows a segment of its name */
	else if (!dir->create_reply)
		fuse_reply_err(req, EPERM);
	else
		dir->create_reply(req, name, mode, fi);
}

static void ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct shmfs *fs = shmfs_of(req);
	const struct view *dir = dir_of(parent);
	struct fuse_entry_param e;
	int r;

	(void)rdev;
	if (!dir)
		r = -ENOTDIR;
	else if (views_named(dir, name))
		r = -EEXIST;
	else if (!S_ISREG(mode) || !dir->mknod)
		r = -EPERM; /* only segments live here */
	else
		r = dir->mknod(req, name, mode, &e);
	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_entry(req, &e) != 0)
		nodes_forget(fs, node_of(e.ino), 1);
}

static void ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	const struct view *dir = dir_of(parent);

	(void)mode;
	/* The shm namespace is flat. */
	fuse_reply_err(req, dir && views_named(dir, name) ? EEXIST : EPERM);
}

static void ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct view *dir = dir_of(parent);

	if (!dir)
		fuse_reply_err(req, ENOTDIR);
	else if (views_named(dir, name) || !dir->unlink)
		fuse_reply_err(req, EPERM);
	else
		fuse_reply_err(req, -dir->unlink(req, dir, name));
}

static void ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	const struct view *dir = dir_of(parent), *v;

	if (!dir) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	v = views_named(dir, name);
	if (v)
		fuse_reply_err(req, S_ISDIR(v->type) ? EBUSY : ENOTDIR);
	else
		fuse_reply_err(req, dir->rmdir ? -dir->rmdir(req, name) : ENOTDIR);
}

static void ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	const struct view *dir = dir_of(parent);

	/* Names move within one directory view; anything else crosses a boundary. */
	if (!dir || dir != dir_of(newparent) || !dir->rename)
		fuse_reply_err(req, EXDEV);
	else if (views_named(dir, name) || views_named(dir, newname))
		fuse_reply_err(req, EBUSY);
	else
		fuse_reply_err(req, -dir->rename(req, name, newname, flags));
}

static void ops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void ops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

static void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	const struct view *dir = dir_of(ino);

	if (!dir)
		fuse_reply_err(req, ENOTDIR);
	else
		dirs_open_reply(req, dir, ino, fi);
}

static void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	(void)ino;
	dirs_read_reply(req, size, off, fi);
}

static void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	(void)ino;
	dirs_readplus_reply(req, size, off, fi);
}

static void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dirs_release_reply(req, fi);
}

static void ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (statvfs(PSHM_DIR, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	xattr_get_reply(req, views_of(ino) ? NULL : node_of(ino), name, size);
}

static void ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_list_reply(req, views_of(ino) ? NULL : node_of(ino), size);
}

static void ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, ENOTSUP); /* the attributes are facts, not storage */
}

static void ops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

const struct fuse_lowlevel_ops shmfs_ops = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.setattr = ops_setattr,
	.access = ops_access,
	.mknod = ops_mknod,
	.mkdir = ops_mkdir,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.symlink = ops_symlink,
	.rename = ops_rename,
	.link = ops_link,
	.open = ops_open,
	.create = ops_create,
	.read = ops_read,
	.write = ops_write,
	.release = ops_release,
	.poll = ops_poll,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
	.statfs = ops_statfs,
	.getxattr = ops_getxattr,
	.listxattr = ops_listxattr,
	.setxattr = ops_setxattr,
	.removexattr = ops_removexattr,
};

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a segment's attributes and open files, for named and anonymous
 * segments alike. Whatever resolves a name or opens a segment for a
 * client runs as that client (creds.c), so the kernel decides.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anon_i.h"
#include "passthrough_i.h"
#include "segments_i.h"
#include "shmfs_i.h"

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

void segments_fill_entry(struct shmfs *fs, struct fuse_entry_param *e, struct node *node,
			 const struct stat *st)
{
	*e = (struct fuse_entry_param){
		.ino = nodes_ino(node),
		.generation = nodes_generation(node),
		.attr = *st,
		.attr_timeout = shmfs_attr_timeout(fs),
		.entry_timeout = nodes_lend_entry(fs, node),
	};
}

int segments_entry(struct shmfs *fs, const char *full, uint64_t anon_id, struct fuse_entry_param *e)
{
	struct node *node;
	struct stat st;
	int r;

	r = anon_id ? anon_stat(fs, anon_id, &st) : pshm_stat_name(full, &st, NULL);
	if (r < 0)
		return r;
	node = nodes_get(fs, anon_id ? NULL : full, anon_id, &st, 1);
	if (!node)
		return -ENOMEM;
	segments_fill_entry(fs, e, node, &st);
	return 0;
}

void segments_getattr_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct stat st;
	int r = fi ? pshm_stat(handle_of(fi)->fd, &st, NULL) : nodes_stat(fs, node, &st);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, shmfs_attr_timeout(shmfs_of(req)));
}

static struct timespec utime_of(int to_set, int set_bit, int now_bit, struct timespec value)
{
	if (to_set & now_bit)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (to_set & set_bit)
		return value;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int apply_setattr(int fd, const struct stat *attr, int to_set)
{
	int r = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		r = pshm_chmod(fd, attr->st_mode & 07777, NULL);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		r = pshm_chown(fd, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			       (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1, NULL);
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = pshm_truncate(fd, attr->st_size, NULL);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
				 FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
		struct timespec times[2] = {
			utime_of(to_set, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW,
				 attr->st_atim),
			utime_of(to_set, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW,
				 attr->st_mtim),
		};

		r = pshm_utimens(fd, times, NULL);
	}
	return r;
}

void segments_setattr_reply(fuse_req_t req, struct node *node, struct stat *attr, int to_set,
			    struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	bool resize = to_set & FUSE_SET_ATTR_SIZE;
	struct creds caller;
	struct stat st;
	int fd, r;

	creds_of_req(req, &caller);
	/* A chmod, chown or truncate keeps or drops the set-gid bit by the caller's groups. */
	creds_groups(req, &caller);
	if (fi) {
		fd = handle_of(fi)->fd;
	} else {
		/*
		 * A new size needs a descriptor open for writing, which the
		 * caller's own open must get (the kernel checks the mode).
		 * Mode, owner and times are checked by fchmod, fchown and
		 * futimens themselves, as the caller: a read-only descriptor
		 * of the daemon's does for them, even where the caller may not
		 * read. Gone: ENOENT; the name means another segment now:
		 * ESTALE (see nodes_stat).
		 */
		r = resize ? creds_enter(&caller) : 0;
		fd = r < 0 ? r : nodes_open(fs, node, resize ? O_RDWR : O_RDONLY);
		if (resize && r == 0)
			creds_leave();
		if (fd < 0) {
			fuse_reply_err(req, -fd);
			return;
		}
	}
	r = creds_enter(&caller);
	if (r == 0) {
		r = apply_setattr(fd, attr, to_set);
		creds_leave();
	}
	if (r == 0)
		r = pshm_stat(fd, &st, NULL);
	if (!fi)
		pshm_close(fd, NULL);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, shmfs_attr_timeout(shmfs_of(req)));
}

/* What shm_open can do for a client's open flags: no write-only segments. */
static int access_of(int flags)
{
	return (flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : O_RDWR;
}

/* An open whose reply could not carry its backing id: served by the daemon, not using it. */
struct open_reply {
	struct shmfs *fs;
	struct node *node;
	struct handle *h;
};

static void open_declined(void *ctx)
{
	struct open_reply *o = ctx;

	o->h->passthrough = false;
	nodes_backing_put(o->fs, o->node, NULL);
}

/*
 * How the kernel serves the data of h, a new open file of node, set in fi
 * before the reply. Coherent by default, and failing closed: direct I/O
 * (every read and write reaches the daemon, which reads the segment as it
 * is now; no page cache, no shared mmap for clients: ENODEV) unless the
 * reply really carries a backing id, and then the kernel reads, writes
 * and maps the segment itself. cache=on: the kernel's page cache. o lives
 * until the reply is sent.
 */
static void set_open_mode(fuse_req_t req, struct open_reply *o, struct fuse_file_info *fi)
{
	int id = shmfs_of(req)->config.cache || o->h->fd < 0
			 ? 0
			 : nodes_backing_get(o->fs, o->node, o->h->fd, req);

	fi->direct_io = !shmfs_of(req)->config.cache;
	fi->keep_cache = 0;
	o->h->passthrough = id != 0;
	if (id)
		passthrough_mark(fi, id, open_declined, o);
}

/*
 * Opens node for the caller, as the caller: one descriptor charged to
 * them (-EMFILE at their limit, before anything is opened).
 */
static int open_as_caller(fuse_req_t req, struct node *node, int oflags, uid_t *ret_uid)
{
	struct shmfs *fs = shmfs_of(req);
	struct creds caller;
	int fd, r;

	creds_of_req(req, &caller);
	r = limits_take(fs, caller.uid, LIMIT_FDS, 1);
	if (r < 0)
		return r;
	if (oflags & O_TRUNC)
		creds_groups(req, &caller); /* a truncation may drop the set-gid bit */
	do {
		r = creds_enter(&caller);
		fd = r < 0 ? r : nodes_open(fs, node, oflags);
		if (r == 0)
			creds_leave();
	} while (creds_retry(req, &caller, fd));
	if (fd < 0)
		limits_give(fs, caller.uid, LIMIT_FDS, 1);
	*ret_uid = caller.uid;
	return fd;
}

void segments_open_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct handle *h;
	uid_t uid;
	int fd;

	fd = open_as_caller(req, node, access_of(fi->flags) | (fi->flags & O_TRUNC), &uid);
	if (fd < 0) {
		/*
		 * The kernel strips O_CREAT from an open: ESTALE makes it look
		 * the name up again, and then create, or say ENOENT.
		 */
		fuse_reply_err(req, fd == -ENOENT ? ESTALE : -fd);
		return;
	}
	h = handle_new(fd, fi->flags, uid);
	if (!h) {
		pshm_close(fd, NULL);
		limits_give(fs, uid, LIMIT_FDS, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	segments_reply_open(req, node, h, fi);
}

void segments_reply_open(fuse_req_t req, struct node *node, struct handle *h,
			 struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);

	nodes_attach(fs, node, h);
	fi->fh = (uint64_t)(uintptr_t)h;
	set_open_mode(req, &(struct open_reply){ fs, node, h }, fi);
	/* From the reply on, h is the kernel's: a RELEASE may come at once. */
	if (fuse_reply_open(req, fi) != 0)
		nodes_release(fs, node, h, NULL);
}

/*
 * Opens or creates the segment full with mode as the caller: the kernel
 * checks the mode of an existing one, the sticky bit and
 * protected_regular, and a new one is the caller's, exactly as if they
 * had called shm_open themselves. A name that is not a segment (a FIFO,
 * a directory) is taken: -EEXIST. Returns the descriptor or -errno.
 */
static int create_segment(fuse_req_t req, struct creds *caller, const char *full, int oflags,
			  mode_t mode)
{
	int fd, r;

	if (oflags & O_TRUNC)
		creds_groups(req, caller); /* a truncation may drop the set-gid bit */
	do {
		r = creds_enter(caller);
		if (r < 0)
			return r;
		fd = pshm_open_ex(full, oflags, mode & 0777, NULL, NULL);
		creds_leave();
	} while (creds_retry(req, caller, fd));
	return fd == -ENXIO ? -EEXIST : fd;
}

void segments_create_reply(fuse_req_t req, const char *full, mode_t mode, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct fuse_entry_param e = { 0 };
	struct creds caller;
	struct node *node;
	struct handle *h;
	int fd, r;

	creds_of_req(req, &caller);
	r = limits_take(fs, caller.uid, LIMIT_FDS, 1);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fd = create_segment(req, &caller, full,
			    access_of(fi->flags) | O_CREAT | (fi->flags & (O_EXCL | O_TRUNC)),
			    mode);
	if (fd < 0) {
		limits_give(fs, caller.uid, LIMIT_FDS, 1);
		fuse_reply_err(req, -fd);
		return;
	}
	h = handle_new(fd, fi->flags, caller.uid);
	if (!h) {
		pshm_close(fd, NULL);
		limits_give(fs, caller.uid, LIMIT_FDS, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* From here on the handle owns fd and its charge. */
	r = pshm_stat(fd, &e.attr, NULL);
	node = r < 0 ? NULL : nodes_get(fs, full, 0, &e.attr, 1);
	if (!node) {
		handle_discard(fs, h);
		fuse_reply_err(req, r < 0 ? -r : ENOMEM);
		return;
	}
	nodes_attach(fs, node, h);
	e.ino = nodes_ino(node);
	e.generation = nodes_generation(node);
	e.attr_timeout = e.entry_timeout = shmfs_attr_timeout(fs);
	fi->fh = (uint64_t)(uintptr_t)h;
	set_open_mode(req, &(struct open_reply){ fs, node, h }, fi);
	if (fuse_reply_create(req, &e, fi) != 0) {
		nodes_release(fs, node, h, NULL);
		nodes_forget(fs, node, 1);
	}
}

int segments_mknod(fuse_req_t req, const char *full, mode_t mode, struct fuse_entry_param *e)
{
	struct shmfs *fs = shmfs_of(req);
	struct creds caller;
	struct node *node;
	struct stat st;
	int fd, r;

	creds_of_req(req, &caller);
	fd = create_segment(req, &caller, full, O_RDONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return fd;
	r = pshm_stat(fd, &st, NULL);
	pshm_close(fd, NULL);
	if (r < 0)
		return r;
	node = nodes_get(fs, full, 0, &st, 1);
	if (!node)
		return -ENOMEM;
	segments_fill_entry(shmfs_of(req), e, node, &st);
	return 0;
}

/*
 * No flush and no fsync: nothing is buffered in the daemon and memory has
 * nothing to sync, and leaving them out (ENOSYS) spares every close(2) and
 * fsync(2) a round trip, as the kernel then stops asking.
 */
void segments_release_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);

	nodes_release(fs, node, handle_of(fi), req);
	fuse_reply_err(req, 0);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the mount's top directory, the named segments of /dev/shm (after
 * the mount's prefix). Every change of a name runs as the caller, so the
 * kernel applies the sticky bit and the segments' modes; a name the kernel
 * caches is checked to mean the same segment first.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "names_i.h"
#include "segments_i.h"
#include "view_i.h"

/* /dev/shm's own attributes. */
static int root_getattr(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	(void)req;
	if (stat(PSHM_DIR, st) < 0)
		return -errno;
	st->st_ino = ino;
	return 0;
}

/* The segment name of an entry: prefix added, checked (names_segment). */
static int segment_name(fuse_req_t req, const char *name, char full[PSHM_NAME_MAX + 1])
{
	return names_segment(shmfs_of(req)->config.prefix, name, full);
}

static int root_lookup(fuse_req_t req, const struct view *v, const char *name,
		       struct fuse_entry_param *e)
{
	char full[PSHM_NAME_MAX + 1];
	int r = segment_name(req, name, full);

	(void)v;
	return r < 0 ? r : segments_entry(shmfs_of(req), full, 0, e);
}

static int root_list(fuse_req_t req, const struct view *v, struct dir_snapshot *d)
{
	struct shmfs *fs = shmfs_of(req);
	struct pshm_iter *it;
	const char *name;
	int r = pshm_iter_open(fs->config.prefix, &it, NULL);

	(void)v;
	if (r < 0)
		return r;
	while ((r = pshm_iter_next(it, &name, NULL, NULL)) > 0) {
		const char *shown = name + fs->config.prefix_len;

		/* The bare prefix has no name inside the mount. */
		if (!*shown)
			continue;
		r = dir_add(fs, d, shown, pshm_iter_ino(it), S_IFREG, NULL);
		if (r < 0)
			break;
	}
	pshm_iter_free(it);
	return r;
}

/* The segment name for a new entry: a sem.* one would be hidden, so it is refused. */
static int new_segment_name(fuse_req_t req, const char *name, char full[PSHM_NAME_MAX + 1])
{
	int r = segment_name(req, name, full);

	return r == -ENOENT ? -EINVAL : r;
}

static void root_create_reply(fuse_req_t req, const char *name, mode_t mode,
			      struct fuse_file_info *fi)
{
	char full[PSHM_NAME_MAX + 1];
	int r = new_segment_name(req, name, full);

	if (r < 0)
		fuse_reply_err(req, -r);
	else
		segments_create_reply(req, full, mode, fi);
}

static int root_mknod(fuse_req_t req, const char *name, mode_t mode, struct fuse_entry_param *e)
{
	char full[PSHM_NAME_MAX + 1];
	int r = new_segment_name(req, name, full);

	return r < 0 ? r : segments_mknod(req, full, mode, e);
}

static int root_unlink(fuse_req_t req, const struct view *v, const char *name)
{
	struct shmfs *fs = shmfs_of(req);
	char full[PSHM_NAME_MAX + 1];
	struct handle *keeper;
	struct creds caller;
	int r = segment_name(req, name, full);

	(void)v;
	/*
	 * The kernel checked the sticky bit on the segment its entry means;
	 * if the name means another one now, it looks again (ESTALE). The
	 * unlink itself runs as the caller, so whatever the name means at
	 * that instant, the kernel decides whether the caller may remove it.
	 */
	if (r == 0)
		r = nodes_check_name(fs, full);
	if (r < 0)
		return r;
	creds_of_req(req, &caller);
	keeper = nodes_keep(fs, full, caller.uid);
	do {
		r = creds_enter(&caller);
		if (r == 0) {
			r = pshm_unlink(full, NULL);
			creds_leave();
		}
	} while (creds_retry(req, &caller, r));
	nodes_kept(fs, keeper, r == 0);
	return r;
}

static int root_rmdir(fuse_req_t req, const char *name)
{
	char full[PSHM_NAME_MAX + 1];
	struct stat st;
	int r = segment_name(req, name, full);

	if (r == 0)
		r = pshm_stat_name(full, &st, NULL);
	return r == 0 ? -ENOTDIR : r;
}

/*
 * rename(2) inside the mount: renameat2 in /dev/shm, as the caller. The
 * segment keeps its inode, its holders and its mappings; the target is
 * replaced atomically. RENAME_NOREPLACE and RENAME_EXCHANGE are the
 * kernel's to honour.
 */
static int root_rename(fuse_req_t req, const char *name, const char *newname, unsigned flags)
{
	struct shmfs *fs = shmfs_of(req);
	char from[PSHM_NAME_MAX + 1], to[PSHM_NAME_MAX + 1];
	char from_path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];
	char to_path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];
	struct creds caller;
	struct stat st;
	int r;

	/* sem.*: not a segment, and not one of this mount's names. */
	r = segment_name(req, name, from);
	if (r == 0)
		r = segment_name(req, newname, to);
	if (r == -ENOENT)
		r = -EXDEV;
	if (r == 0)
		r = nodes_check_name(fs, from);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = nodes_check_name(fs, to);
	/* Only segments move, and only onto segments: a FIFO of that name is not ours. */
	if (r == 0 && pshm_stat_name(from, &st, NULL) < 0)
		r = -ENOENT;
	if (r < 0)
		return r;
	snprintf(from_path, sizeof(from_path), PSHM_DIR "/%s", from);
	snprintf(to_path, sizeof(to_path), PSHM_DIR "/%s", to);
	if (!(flags & RENAME_NOREPLACE) && lstat(to_path, &st) == 0 && !S_ISREG(st.st_mode))
		return -EEXIST;
	creds_of_req(req, &caller);
	do {
		r = creds_enter(&caller);
		if (r < 0)
			return r;
		r = renameat2(AT_FDCWD, from_path, AT_FDCWD, to_path, flags) < 0 ? -errno : 0;
		creds_leave();
	} while (creds_retry(req, &caller, r));
	if (r == 0 && (flags & RENAME_EXCHANGE))
		nodes_exchanged(fs, from, to);
	else if (r == 0)
		nodes_renamed(fs, from, to);
	return r;
}

const struct view view_root = {
	.name = NULL,
	.type = S_IFDIR,
	.fixed_ino = VIEW_INO_ROOT,
	.getattr = root_getattr,
	.lookup = root_lookup,
	.list = root_list,
	.create_reply = root_create_reply,
	.mknod = root_mknod,
	.unlink = root_unlink,
	.rmdir = root_rmdir,
	.rename = root_rename,
};

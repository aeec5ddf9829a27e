/* SPDX-License-Identifier: MIT */
/*
 * shmfs: directory listings, served. A listing is a snapshot taken at
 * opendir (a fresh scan each time: the views of the top directory, then
 * what the directory view lists) and served by offset; readdirplus gives
 * each entry's attributes and node as a lookup would now.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_i.h"
#include "dirs_i.h"
#include "listing_i.h"

static struct dir_snapshot *snapshot_of(const struct fuse_file_info *fi)
{
	return (struct dir_snapshot *)(uintptr_t)fi->fh;
}

void dirs_open_reply(fuse_req_t req, const struct view *dir, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct dir_snapshot *d = NULL;
	int r = snapshot_new(fs, dir, fuse_req_ctx(req)->uid, &d);

	if (r == 0)
		r = dir_add(fs, d, ".", ino, S_IFDIR, dir);
	if (r == 0)
		r = dir_add(fs, d, "..", VIEW_INO_ROOT, S_IFDIR, &view_root);
	if (r == 0)
		r = views_list(req, dir, d);
	if (r == 0)
		r = dir->list(req, dir, d);
	if (r < 0) {
		snapshot_free(fs, d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		snapshot_free(fs, d);
}

void dirs_read_reply(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct dir_snapshot *d = snapshot_of(fi);
	char *buf = data_buffer(fs, size);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->count; i++) {
		struct stat st = { .st_ino = d->entries[i].ino, .st_mode = d->entries[i].type };
		size_t n =
			fuse_add_direntry(req, buf + used, size - used,
					  d->names + d->entries[i].name_off, &st, (off_t)(i + 1));

		if (n > size - used)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

/*
 * One listed entry for readdirplus, as a lookup would give it now;
 * *ret_node gets the kernel reference it carries. An entry gone since the
 * listing gets no node (ino 0: the kernel looks it up when asked), not an
 * error. "." and "..": the kernel takes no reference for them.
 */
static void plus_entry(fuse_req_t req, const struct dir_snapshot *d, const struct dir_entry *de,
		       struct fuse_entry_param *e, struct node **ret_node)
{
	const char *name = d->names + de->name_off;
	bool dots = strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
	int r = -ENOENT;

	*ret_node = NULL;
	if (de->view && !dots)
		r = views_entry(req, de->view, e);
	else if (!dots && d->data && d->dir->lookup_listed)
		r = d->dir->lookup_listed(req, d->dir, d->data, name, e);
	else if (!dots)
		r = d->dir->lookup(req, d->dir, name, e);
	if (r < 0)
		*e = (struct fuse_entry_param){ .attr = { .st_ino = de->ino,
							  .st_mode = de->type } };
	else if (!de->view)
		*ret_node = node_of_ino(e->ino);
}

/*
 * readdir with each entry's attributes and node: the kernel then has the
 * entries, and ls -l asks only for each one's attributes (which are
 * checked then, see nodes_stat), not for a lookup first.
 */
void dirs_readplus_reply(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);
	struct dir_snapshot *d = snapshot_of(fi);
	/*
	 * Its own buffer, not the thread's (data_buffer): each entry is a
	 * lookup, which may one day need that one, and would free it under us.
	 */
	char *buf = calloc(1, size);
	/* An entry takes more than 64 bytes: room for every node one reply can carry. */
	struct node **sent = malloc((size / 64 + 1) * sizeof(*sent));
	size_t used = 0, count = 0;

	if (!buf || !sent) {
		free(buf);
		free(sent);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->count; i++) {
		const char *name = d->names + d->entries[i].name_off;
		struct fuse_entry_param e;
		struct node *node;
		size_t n;

		plus_entry(req, d, &d->entries[i], &e, &node);
		n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)(i + 1));
		if (n > size - used) {
			if (node)
				nodes_forget(fs, node,
					     1); /* not sent: the kernel holds no reference */
			break;
		}
		used += n;
		if (node)
			sent[count++] = node;
	}
	/* Interrupted: the kernel never got the references. */
	if (fuse_reply_buf(req, buf, used) != 0)
		while (count)
			nodes_forget(fs, sent[--count], 1);
	free(sent);
	free(buf);
}

void dirs_release_reply(fuse_req_t req, struct fuse_file_info *fi)
{
	struct shmfs *fs = shmfs_of(req);

	snapshot_free(fs, snapshot_of(fi));
	fuse_reply_err(req, 0);
}

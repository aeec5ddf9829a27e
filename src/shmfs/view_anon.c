/* SPDX-License-Identifier: MIT */
/*
 * shmfs: .anon/, the anonymous segments the daemon holds, one entry per
 * id. A sticky directory: a segment's mode decides who reads or writes
 * it, only its owner (or root) removes it. New ones come from the "anon"
 * command of .ctl, never from a create here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "anon_i.h"
#include "names_i.h"
#include "segments_i.h"
#include "view_i.h"

static int anon_getattr(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	return view_stat(req, ino, S_IFDIR | 01777, 2, st);
}

static int anon_lookup(fuse_req_t req, const struct view *v, const char *name,
		       struct fuse_entry_param *e)
{
	uint64_t id;

	(void)v;
	if (!names_anon_id(name, &id))
		return -ENOENT;
	return segments_entry(shmfs_of(req), NULL, id, e);
}

static int anon_list_entries(fuse_req_t req, const struct view *v, struct dir_snapshot *d)
{
	struct shmfs *fs = shmfs_of(req);
	struct anon_info *list = NULL;
	size_t n = 0;
	int r = anon_list(fs, ANON_ALL, &list, &n);

	(void)req;
	(void)v;
	for (size_t i = 0; i < n && r == 0; i++) {
		char name[24];

		snprintf(name, sizeof(name), "%" PRIu64, list[i].id);
		r = dir_add(fs, d, name, list[i].st.st_ino, S_IFREG, NULL);
	}
	free(list);
	return r;
}

static int anon_unlink(fuse_req_t req, const struct view *v, const char *name)
{
	struct shmfs *fs = shmfs_of(req);
	uint64_t id;

	(void)v;
	if (!names_anon_id(name, &id))
		return -ENOENT;
	return anon_free(fs, id, fuse_req_ctx(req)->uid);
}

/* Its entries are files. */
static int anon_rmdir(fuse_req_t req, const char *name)
{
	(void)req;
	(void)name;
	return -ENOTDIR;
}

const struct view view_anon = {
	.name = ANON_DIR_NAME,
	.type = S_IFDIR,
	.fixed_ino = VIEW_INO_ANON,
	.getattr = anon_getattr,
	.lookup = anon_lookup,
	.list = anon_list_entries,
	.unlink = anon_unlink,
	.rmdir = anon_rmdir,
};

/* SPDX-License-Identifier: MIT */
/* shmfs: the table of views (view_i.h), and what every view shares. */
#include <string.h>

#include "view_i.h"

/* The entries of the top directory that are views, in listing order. */
static const struct view *const top[] = {
	&view_ctl,  &view_anon,        &view_deleted, &view_memfd,
	&view_sysv, &view_shared_anon, &view_hugetlb,
};

#define TOP_COUNT (sizeof(top) / sizeof(top[0]))

/* The views of fixed node ids, by id. */
static const struct view *const by_ino[VIEW_INO_MAX + 1] = {
	[VIEW_INO_ROOT] = &view_root,       [VIEW_INO_ANON] = &view_anon,
	[VIEW_INO_DELETED] = &view_deleted, [VIEW_INO_MEMFD] = &view_memfd,
	[VIEW_INO_SYSV] = &view_sysv,       [VIEW_INO_SHARED_ANON] = &view_shared_anon,
	[VIEW_INO_HUGETLB] = &view_hugetlb,
};

const struct view *views_of(fuse_ino_t ino)
{
	/* First: root's .ctl is 5, inside the fixed ids' range. */
	if (view_ctl.is(ino))
		return &view_ctl;
	return ino <= VIEW_INO_MAX ? by_ino[ino] : NULL;
}

fuse_ino_t views_ino(const struct view *v, fuse_req_t req)
{
	return v->fixed_ino ? v->fixed_ino : v->ino(req);
}

const struct view *views_named(const struct view *dir, const char *name)
{
	if (dir != &view_root)
		return NULL;
	for (size_t i = 0; i < TOP_COUNT; i++)
		if (strcmp(name, top[i]->name) == 0)
			return top[i];
	return NULL;
}

bool views_own_entry(const char *name)
{
	return views_named(&view_root, name) != NULL;
}

int views_entry(fuse_req_t req, const struct view *v, struct fuse_entry_param *e)
{
	/* Timeouts 0: .ctl's node id depends on who looks, so the kernel asks each time. */
	*e = (struct fuse_entry_param){ .ino = views_ino(v, req), .generation = 1 };
	return v->getattr(req, e->ino, &e->attr);
}

int views_list(fuse_req_t req, const struct view *dir, struct dir_snapshot *d)
{
	struct shmfs *fs = shmfs_of(req);
	int r = 0;

	if (dir != &view_root)
		return 0;
	for (size_t i = 0; i < TOP_COUNT && r == 0; i++)
		r = dir_add(fs, d, top[i]->name, views_ino(top[i], req), top[i]->type, top[i]);
	return r;
}

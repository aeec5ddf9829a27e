/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a listing, the snapshot of a directory taken at opendir: what a
 * directory view fills (dir_add) and dirs.c serves by offset. An entry
 * that stands for a view shadows any later entry of the same name (a
 * segment called .ctl is not shown).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "limits_i.h"
#include "list_i.h"
#include "listing_i.h"
#include "shmfs_i.h"

struct snapshots {
	pthread_mutex_t lock;
	struct dir_snapshot *first;
};

/* Whether a view entry of d already has name: they are the first d->views entries. */
static bool shadowed(const struct dir_snapshot *d, const char *name)
{
	for (size_t i = 0; i < d->views; i++)
		if (strcmp(d->names + d->entries[i].name_off, name) == 0)
			return true;
	return false;
}

/* What a snapshot allocates is its owner's to hold: charged as it grows. */
int dir_charge(struct shmfs *fs, struct dir_snapshot *d, size_t bytes)
{
	int r = limits_take(fs, d->owner, LIMIT_DIR_BYTES, bytes);

	if (r == 0)
		d->charged += bytes;
	return r;
}

int dir_add(struct shmfs *fs, struct dir_snapshot *d, const char *name, ino_t ino, mode_t type,
	    const struct view *view)
{
	size_t len = strlen(name) + 1;

	/* View entries come first (a few); a node entry of the same name is not shown. */
	if (!view && shadowed(d, name))
		return 0;
	if (view && d->views != d->count)
		return -EINVAL; /* a view entry after node entries: a bug of the lister */
	if (d->count == d->capacity) {
		size_t capacity = d->capacity ? d->capacity * 2 : 64;
		struct dir_entry *e;

		if (dir_charge(fs, d, (capacity - d->capacity) * sizeof(*e)) < 0)
			return -EMFILE;
		e = realloc(d->entries, capacity * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->entries = e;
		d->capacity = capacity;
	}
	if (d->names_len + len > d->names_capacity) {
		size_t capacity = d->names_capacity ? d->names_capacity * 2 : 4096;
		char *names;

		while (capacity < d->names_len + len)
			capacity *= 2;
		if (dir_charge(fs, d, capacity - d->names_capacity) < 0)
			return -EMFILE;
		names = realloc(d->names, capacity);
		if (!names)
			return -ENOMEM;
		d->names = names;
		d->names_capacity = capacity;
	}
	memcpy(d->names + d->names_len, name, len);
	d->entries[d->count++] = (struct dir_entry){
		.ino = ino, .type = type, .view = view, .name_off = d->names_len
	};
	d->names_len += len;
	if (view)
		d->views++;
	return 0;
}

int snapshot_new(struct shmfs *fs, const struct view *dir, uid_t owner, struct dir_snapshot **ret)
{
	struct dir_snapshot *d;
	int r = limits_take(fs, owner, LIMIT_DIRS, 1);

	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d) {
		limits_give(fs, owner, LIMIT_DIRS, 1);
		return -ENOMEM;
	}
	d->dir = dir;
	d->owner = owner;
	pthread_mutex_lock(&fs->snapshots->lock);
	LIST_PREPEND(fs->snapshots->first, d);
	pthread_mutex_unlock(&fs->snapshots->lock);
	*ret = d;
	return 0;
}

void snapshot_free(struct shmfs *fs, struct dir_snapshot *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&fs->snapshots->lock);
	LIST_REMOVE(fs->snapshots->first, d);
	pthread_mutex_unlock(&fs->snapshots->lock);
	limits_give(fs, d->owner, LIMIT_DIR_BYTES, d->charged);
	limits_give(fs, d->owner, LIMIT_DIRS, 1);
	if (d->free_data)
		d->free_data(d->data);
	free(d->entries);
	free(d->names);
	free(d);
}

void dir_keep(struct dir_snapshot *d, void *data, void (*free_data)(void *data))
{
	if (d->free_data)
		d->free_data(d->data);
	d->data = data;
	d->free_data = free_data;
}

int snapshots_new(struct shmfs *fs)
{
	fs->snapshots = calloc(1, sizeof(*fs->snapshots));
	if (!fs->snapshots)
		return -ENOMEM;
	pthread_mutex_init(&fs->snapshots->lock, NULL);
	return 0;
}

void snapshots_free(struct shmfs *fs)
{
	if (!fs->snapshots)
		return;
	/* At exit the kernel may not have sent every releasedir yet. */
	while (fs->snapshots->first)
		snapshot_free(fs, fs->snapshots->first);
	pthread_mutex_destroy(&fs->snapshots->lock);
	free(fs->snapshots);
	fs->snapshots = NULL;
}

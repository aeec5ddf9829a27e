/* SPDX-License-Identifier: MIT */
/* shmfs: listings, the snapshots of directories (listing.c). */
#ifndef LISTING_I_H
#define LISTING_I_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct shmfs;
struct view;

struct dir_entry {
	ino_t ino;
	mode_t type;             /* S_IFDIR or S_IFREG */
	const struct view *view; /* the view it stands for, or NULL for a node inside */
	size_t name_off;
};

/* A snapshot of a directory, taken at opendir, served by offset (dirs.c). */
struct dir_snapshot {
	struct dir_snapshot *prev, *next; /* every open one, for the exit */
	const struct view *dir;           /* the directory listed */
	struct dir_entry *entries;
	size_t count, capacity;
	size_t views; /* entries that stand for views */
	uid_t owner;  /* whose opendir it is: charged for its memory (limits.c) */
	void *data;   /* what the lister kept with it (dir_keep), or NULL */
	void (*free_data)(void *data);
	size_t charged; /* bytes charged */
	char *names;
	size_t names_len, names_capacity;
};

/*
 * A new, empty snapshot of directory view dir for owner, who may hold
 * LIMIT_DIRS_USER open and LIMIT_DIR_USER_BYTES of listings at most: 0
 * with *ret, -EMFILE at the owner's limit, -ENOMEM.
 */
int snapshot_new(struct shmfs *fs, const struct view *dir, uid_t owner, struct dir_snapshot **ret);
void snapshot_free(struct shmfs *fs, struct dir_snapshot *d);
/*
 * Adds an entry; view is the view it stands for, NULL for a node inside
 * (left out when a view entry has its name). 0, -ENOMEM, or -EMFILE at
 * the owner's limit.
 */
int dir_add(struct shmfs *fs, struct dir_snapshot *d, const char *name, ino_t ino, mode_t type,
	    const struct view *view);
/* Charges bytes more to the owner's listings: 0, or -EMFILE at the limit. */
int dir_charge(struct shmfs *fs, struct dir_snapshot *d, size_t bytes);
/* Keeps data with the snapshot (for readdirplus), freed with it by free_data. */
void dir_keep(struct dir_snapshot *d, void *data, void (*free_data)(void *data));
/* Makes fs->snapshots (0 or -ENOMEM); frees it and the snapshots still open (at exit). */
int snapshots_new(struct shmfs *fs);
void snapshots_free(struct shmfs *fs);

#endif /* LISTING_I_H */

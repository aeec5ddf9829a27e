/* SPDX-License-Identifier: MIT */
/*
 * shmfs: an object of the views of other shared memory (object_refs.c):
 * what a node keeps to find it again, and finding it again, for its
 * caller, now. Below the views (view_objects.c) and their attributes
 * (view_objects_xattr.c).
 */
#ifndef OBJECT_REFS_I_H
#define OBJECT_REFS_I_H

#include <stddef.h>

#include "holders_i.h"
#include "view_i.h"

/* What a node of these views knows of its object (kept with the node, see nodes_get_object). */
struct object_ref {
	unsigned kind;
	unsigned made_as; /* PSHM_KIND_SYSV for a System V segment, on huge pages or not */
	unsigned long long page_size; /* on huge pages: their size; else 0 */
	unsigned long long ipc_ns;    /* System V: its IPC namespace (0: the daemon's), */
	pid_t ipc_pid;                /* and a process in it to act there */
	int shmid;
	key_t key;
	ino_t ino;
	dev_t dev;
	pid_t pid;                       /* the holder path leads through, or 0 */
	unsigned long long start_time;   /* and when it started */
	char path[64];                   /* a holder's /proc link to the object, or "" */
	char name[PSHM_OBJECT_NAME_MAX]; /* last: a listing keeps it cut to its length */
};

/*
 * Most of what a listing keeps of an object (LISTED_SIZE of it): all
 * that readdirplus and later lookups need to find it again.
 */
struct listed_object {
	struct stat st;
	struct object_ref ref;
};
#define LISTED_SIZE(name_len) (offsetof(struct listed_object, ref.name) + (name_len) + 1)

/*
 * The inode number an object shows: its own, but a System V segment's
 * (made_as PSHM_KIND_SYSV) is its id + 1 (0 is no entry).
 */
ino_t objects_shown_ino(unsigned made_as, ino_t ino);
/* The node table's key for an object of kind: a device no segment has. */
dev_t objects_key_of(unsigned kind);
/* A scan of one kind for the caller of req, bounded like every scan (-EAGAIN, -ETIMEDOUT). */
int objects_scan_kind(fuse_req_t req, unsigned kind, struct pshm_scan **ret);
/* The caller of req as a viewer of objects (pshm_object_visible). */
void objects_viewer_of(fuse_req_t req, struct holders_viewer *ret);
/* Where o is: its path, and the holder that path leads through. */
void object_ref_of(const struct pshm_object *o, struct object_ref *ret);
/* Whether viewer sees ref's object (status st) without a scan; false: maybe, only a scan tells. */
bool object_ref_visible(const struct holders_viewer *v, const struct object_ref *ref,
			const struct stat *st);
/* ref's object's status now, through the holder's link (System V: shmctl); -ENOENT when gone. */
int object_fresh_stat(const struct object_ref *ref, struct stat *st);
/*
 * The object's status now, through another holder found by a fresh scan
 * when the one it was found through let go (the node's reference is
 * updated); -ENOENT when no one holds it any more.
 */
int object_stat(fuse_req_t req, struct node *node, struct object_ref *ref, struct stat *st);
/* A fresh scan's record of ref's object (name and identity): 0 with both (free the scan), or -ENOENT. */
int object_scan(fuse_req_t req, const struct object_ref *ref, struct pshm_scan **ret_scan,
		const struct pshm_object **ret);
/* Whether the caller of req sees ref's object now, as a lookup decides: 0, -ENOENT, a scan's error. */
int object_check(fuse_req_t req, const struct object_ref *ref, const struct stat *st);

/* view_objects_xattr.c: an entry's user.shmfs.* attributes (struct view's node_xattr). */
int view_objects_xattr(fuse_req_t req, struct node *node, const char *name, char *buf, size_t size);

#endif /* OBJECT_REFS_I_H */

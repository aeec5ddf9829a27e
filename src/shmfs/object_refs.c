/* SPDX-License-Identifier: MIT */
/*
 * shmfs: finding an object of the views again, for its caller, now:
 * through the /proc link of the holder it was found through (System V:
 * shmctl), whether the caller may see it (the kernel's rule, through
 * libpshm), and through a fresh scan when that holder let go.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "holders_i.h"
#include "object_refs_i.h"

/*
 * The inode number an object shows: its own, but a System V segment's is
 * its id, which may be 0, which readdir takes for no entry at all.
 */
ino_t objects_shown_ino(unsigned made_as, ino_t ino)
{
	return made_as == PSHM_KIND_SYSV ? ino + 1 : ino;
}

/* The node table's key for an object of kind: a device no segment has. */
dev_t objects_key_of(unsigned kind)
{
	return makedev(0xfff, kind);
}

/*
 * A scan of one kind for the caller of req, leaving the daemon out (its
 * own are .anon's), bounded like every scan: one per user at a time
 * (-EAGAIN), a deadline (-ETIMEDOUT).
 */
int objects_scan_kind(fuse_req_t req, unsigned kind, struct pshm_scan **ret)
{
	struct shmfs *fs = shmfs_of(req);
	struct creds viewer = { .uid = fuse_req_ctx(req)->uid, .gid = fuse_req_ctx(req)->gid };

	return holders_objects(fs, &viewer, kind, ret);
}

/* The caller of req as a viewer of objects (pshm_object_visible). */
void objects_viewer_of(fuse_req_t req, struct holders_viewer *ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct creds caller = { .uid = ctx->uid, .gid = ctx->gid, .pid = ctx->pid };

	holders_viewer(ret, &caller);
}

/* Where o is: its path, and the holder that path leads through. */
void object_ref_of(const struct pshm_object *o, struct object_ref *ret)
{
	long pid;

	*ret = (struct object_ref){ .kind = o->kind,
				    .made_as = o->made_as,
				    .page_size = o->page_size,
				    .ipc_ns = o->ipc_ns,
				    .ipc_pid = o->ipc_pid,
				    .shmid = o->shmid,
				    .key = o->key,
				    .ino = o->st.st_ino,
				    .dev = o->st.st_dev };
	snprintf(ret->path, sizeof(ret->path), "%s", o->path);
	snprintf(ret->name, sizeof(ret->name), "%s", o->name);
	if (sscanf(o->path, "/proc/%ld/", &pid) != 1)
		return;
	for (size_t i = 0; i < o->holder_count; i++) {
		if (o->holders[i].pid == (pid_t)pid) {
			ret->pid = (pid_t)pid;
			ret->start_time = o->holders[i].start_time;
			return;
		}
	}
}

/*
 * Whether viewer sees ref's object, whose status is st, without a scan:
 * root; a System V segment's owner; anyone who may read the holder ref
 * leads through (pshm_object_visible's rule, for one holder). False:
 * maybe, through another holder; only a scan tells.
 */
bool object_ref_visible(const struct holders_viewer *v, const struct object_ref *ref,
			const struct stat *st)
{
	struct pshm_holder h = { .pid = ref->pid, .start_time = ref->start_time };

	if (v->pub.uid == 0 || (ref->made_as == PSHM_KIND_SYSV && st->st_uid == v->pub.uid))
		return true;
	return ref->pid > 0 && pshm_holder_visible(&h, &v->pub);
}

/*
 * The status of ref's object now, through the holder's /proc link it was
 * found through (System V: shmctl): -ENOENT when that holder let go.
 */
int object_fresh_stat(const struct object_ref *ref, struct stat *st)
{
	if (ref->made_as == PSHM_KIND_SYSV)
		return pshm_sysv_stat_in(ref->ipc_ns, ref->ipc_pid, ref->shmid, ref->key, st, NULL);
	/* Never stat(2): the holder may point its link into a FUSE mount, this one too. */
	if (ref->path[0] && pshm_link_stat(AT_FDCWD, ref->path, st) == 0 &&
	    st->st_ino == ref->ino && st->st_dev == ref->dev)
		return 0;
	return -ENOENT;
}

/*
 * The object's status now: through the holder's /proc link, and when
 * that holder let go, through another one found by a fresh scan (the
 * node's reference is updated); -ENOENT when no one holds it any more.
 */
int object_stat(fuse_req_t req, struct node *node, struct object_ref *ref, struct stat *st)
{
	struct shmfs *fs = shmfs_of(req);
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int r;

	nodes_object_data(fs, node, ref, sizeof(*ref));
	r = object_fresh_stat(ref, st);
	if (r == 0 || ref->made_as == PSHM_KIND_SYSV)
		return r;
	r = objects_scan_kind(req, ref->kind, &scan);
	if (r < 0)
		return r;
	o = pshm_scan_find(scan, ref->kind, ref->name);
	if (o && o->st.st_ino == ref->ino && o->st.st_dev == ref->dev) {
		*st = o->st;
		object_ref_of(o, ref);
		nodes_set_object_data(fs, node, ref, sizeof(*ref));
	} else {
		r = -ENOENT;
	}
	holders_scan_free(scan);
	return r;
}

/* A fresh scan's record of ref's object: 0 with *ret_scan (free it) and *ret, or -ENOENT. */
int object_scan(fuse_req_t req, const struct object_ref *ref, struct pshm_scan **ret_scan,
		const struct pshm_object **ret)
{
	int r = objects_scan_kind(req, ref->kind, ret_scan);

	if (r < 0)
		return r;
	/* The same object: its name, and its identity (another may have the name and inode). */
	*ret = pshm_scan_find(*ret_scan, ref->kind, ref->name);
	if (!*ret || (*ret)->st.st_ino != ref->ino || (*ret)->st.st_dev != ref->dev) {
		holders_scan_free(*ret_scan);
		return -ENOENT;
	}
	return 0;
}

/*
 * Whether the caller of req sees ref's object (status st) now, decided
 * as a lookup decides it: ref_visible, or else a fresh scan
 * (pshm_object_visible). 0, -ENOENT, or what the scan reports.
 */
int object_check(fuse_req_t req, const struct object_ref *ref, const struct stat *st)
{
	struct holders_viewer viewer;
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int r;

	objects_viewer_of(req, &viewer);
	if (object_ref_visible(&viewer, ref, st))
		return 0;
	r = object_scan(req, ref, &scan, &o);
	if (r < 0)
		return r;
	r = pshm_object_visible(o, &viewer.pub) ? 0 : -ENOENT;
	holders_scan_free(scan);
	return r;
}

/* SPDX-License-Identifier: MIT */
/* shmfs: the node table, from the kernel's node ids to segments and their open files. */
#ifndef NODES_I_H
#define NODES_I_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pshm.h"

struct view;
struct shmfs;

/*
 * A descriptor of a segment the daemon holds: an open file of a client,
 * or the one a node keeps after an unlink through the mount. The node
 * table owns it from nodes_attach (or nodes_keep) on and tears it down in
 * one place, outside its lock, when the last reference goes.
 */
struct handle {
	struct handle *next; /* in node->handles */
	struct node *node;
	int fd;
	int flags;        /* the client's open flags */
	uid_t uid;        /* charged one descriptor (limits.c) */
	bool passthrough; /* the kernel serves its data from the segment (backing id in use) */
	unsigned refs;    /* under the table lock: the file itself, and each borrower */
	pthread_rwlock_t map_lock; /* readers copy under rdlock; remap under wrlock */
	char *map;                 /* the daemon's mapping (data.c), or NULL */
	size_t map_len;
};

/* A node of the table: its fields are the table's (nodes_table_i.h). */
struct node;

/*
 * Node ids. A node of the table is known to the kernel by its address,
 * which malloc aligns to NODES_INO_ALIGN, so its low bits are 0; every
 * other id (a view's: the root 1, .anon 3, the object views 7 to 13,
 * .ctl UID << 8 | 5) has one of them set, so the two never meet. The one
 * place a node becomes an id and back.
 */
#define NODES_INO_ALIGN 16
_Static_assert(_Alignof(max_align_t) >= NODES_INO_ALIGN, "malloc must align nodes to 16");
static inline fuse_ino_t nodes_ino(const struct node *node)
{
	return (fuse_ino_t)(uintptr_t)node;
}
static inline struct node *node_of_ino(fuse_ino_t ino)
{
	return (struct node *)(uintptr_t)ino;
}

/* What the kernel checks with a node id; fixed for the node's life. */
uint64_t nodes_generation(const struct node *node);
/* The view of an object node (nodes_get_object), or NULL for a segment; fixed. */
const struct view *nodes_view(const struct node *node);

/* Makes fs->nodes: 0 or -ENOMEM. */
int nodes_new(struct shmfs *fs);
/* Frees every node and handle, and fs->nodes (at unmount; no other thread runs). */
void nodes_free(struct shmfs *fs);

/*
 * A handle for the descriptor fd a client's open got, charged to uid; the
 * handle owns fd from now on. NULL when out of memory (fd untouched).
 */
struct handle *handle_new(int fd, int flags, uid_t uid);
/* Tears down a handle never attached: closes fd, gives back the charge. */
void handle_discard(struct shmfs *fs, struct handle *h);

/*
 * Finds or adds the node for st's segment, records name (a named segment)
 * or anon_id (an anonymous one), adds nlookup references; name claims its
 * entry in the name index. NULL when out of memory.
 */
struct node *nodes_get(struct shmfs *fs, const char *name, uint64_t anon_id, const struct stat *st,
		       uint64_t nlookup);
/*
 * Finds or adds the node of an object of a view other than the segments'
 * (view_objects.c), keyed by (key, ino), with len bytes of data the view
 * keeps with it (copied; replaced by each lookup); adds nlookup references.
 */
struct node *nodes_get_object(struct shmfs *fs, const struct view *view, dev_t key, ino_t ino,
			      const void *data, size_t len, uint64_t nlookup);
/*
 * A copy of the data (len bytes) of the object node keyed by (key, ino),
 * when the kernel still knows that node: whether there was one. Takes no
 * reference: a lookup answered from it takes one through nodes_get_object.
 */
bool nodes_find_object(struct shmfs *fs, const struct view *view, dev_t key, ino_t ino, void *buf,
		       size_t len);
/* A copy of an object node's data (len bytes), and replacing it. */
void nodes_object_data(struct shmfs *fs, struct node *node, void *buf, size_t len);
void nodes_set_object_data(struct shmfs *fs, struct node *node, const void *data, size_t len);
/*
 * The entry timeout for a reply that hands node to the kernel, recording
 * that the kernel may now cache its name: a while when no file is open on
 * it (getattr still checks the name, see nodes_stat), 0 when one is (so
 * every path lookup asks again), the cache timeout with cache=on.
 */
double nodes_lend_entry(struct shmfs *fs, struct node *node);
/* Drops nlookup kernel references; the node goes when none and no open files remain. */
void nodes_forget(struct shmfs *fs, struct node *node, uint64_t nlookup);
/* An open file of node, just opened: the table owns h from now on. */
void nodes_attach(struct shmfs *fs, struct node *node, struct handle *h);
/*
 * The open file h of node is released (RELEASE, or its reply never
 * reached the kernel): detaches it and tears it down (descriptor,
 * mapping, its use of the backing id, its charge), and the node when
 * nothing uses it any more. req (the RELEASE, before its reply) or NULL.
 */
void nodes_release(struct shmfs *fs, struct node *node, struct handle *h, fuse_req_t req);

/*
 * The node's status now: from an open file when it has one (so an
 * unlinked segment stays usable), else by name, checking that every name
 * the kernel may have cached for it still means the same segment. When
 * one does not: -ESTALE if the name now means another segment, or another
 * name still means this one (the kernel then looks the name up again and
 * retries), -ENOENT when it is simply gone; with cache=on always -ESTALE.
 */
int nodes_stat(struct shmfs *fs, struct node *node, struct stat *ret);
/*
 * A new descriptor for the node's segment, opened with oflags (O_RDONLY or
 * O_RDWR, optionally O_TRUNC) with this thread's credentials: through an
 * open file of the node when it has one, else by name after the checks of
 * nodes_stat (and its errors).
 */
int nodes_open(struct shmfs *fs, struct node *node, int oflags);
/*
 * For an open file of node about to be replied to: the backing id the
 * kernel serves it from (registering the segment open as fd on the
 * node's first such open), or 0 when passthrough is off or failed. Every
 * open of a node uses the same id, as the kernel requires.
 */
int nodes_backing_get(struct shmfs *fs, struct node *node, int fd, fuse_req_t req);
/* An open that got a backing id and did not use it after all (the reply was not patched). */
void nodes_backing_put(struct shmfs *fs, struct node *node, fuse_req_t req);
/*
 * The node's segment name (prefix included) into name, or its anonymous id
 * into *ret_anon_id (name is then ""); *ret_anon_id is 0 for named ones.
 */
void nodes_identity(struct shmfs *fs, struct node *node, char name[PSHM_NAME_MAX + 1],
		    uint64_t *ret_anon_id);
/*
 * Before name is unlinked through the mount by uid: if the kernel knows
 * its node, the node keeps a descriptor of the segment (charged to uid, if
 * within their limit), so an open that looked the name up just before the
 * unlink still opens it, as on /dev/shm itself. Returns that keeper (or
 * NULL), to hand to nodes_kept once the unlink is done.
 */
struct handle *nodes_keep(struct shmfs *fs, const char *name, uid_t uid);
/* After the unlink: when it failed, the node does not keep the segment after all. */
void nodes_kept(struct shmfs *fs, struct handle *keeper, bool unlinked);
/*
 * Whether name, about to be unlinked or renamed by name, still means the
 * segment of the node the kernel last looked it up as: 0, or -ESTALE when
 * it now means another one (the kernel then looks the name up again and
 * retries the call).
 */
int nodes_check_name(struct shmfs *fs, const char *name);
/*
 * After a rename in /dev/shm through the mount: the node of the segment
 * now at to (if the kernel knows it) is known by that name; from no
 * longer names it.
 */
void nodes_renamed(struct shmfs *fs, const char *from, const char *to);
/* After a RENAME_EXCHANGE of a and b: each name means the other's segment now. */
void nodes_exchanged(struct shmfs *fs, const char *a, const char *b);
/* How many nodes the table holds (for tests and the status). */
size_t nodes_count(struct shmfs *fs);

#endif /* NODES_I_H */

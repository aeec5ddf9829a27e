/* SPDX-License-Identifier: MIT */
/*
 * shmfs: views. Everything the mount shows that is not a plain segment
 * file is a view: the root (the named segments), the control file, the
 * directory of anonymous segments, and each directory added later. A view
 * is one file that says how to look up, list, stat, open, read and refuse;
 * the operations (ops.c) find the view a request is about once, through
 * views_of(), and call it. Adding a view is one file and one line in the
 * table of views.c; no operation changes.
 *
 * The entries inside a directory view are nodes of the node table; today
 * they are all segments (named, or anonymous in .anon), whose file
 * operations are segments.c's.
 */
#ifndef VIEW_I_H
#define VIEW_I_H

#include <errno.h>
#include <unistd.h>

#include "listing_i.h"
#include "shmfs_i.h"

/*
 * The views' fixed node ids, all odd and small: a node of the table has
 * an even, 16-byte aligned one (nodes_ino), .ctl one per user whose low
 * byte is 5 (view_ctl.c; root's is 5 itself). views_of looks them up in
 * a table.
 */
#define VIEW_INO_ROOT FUSE_ROOT_ID /* 1 */
#define VIEW_INO_ANON 3
#define VIEW_INO_DELETED 7
#define VIEW_INO_MEMFD 9
#define VIEW_INO_SYSV 11
#define VIEW_INO_SHARED_ANON 13
#define VIEW_INO_HUGETLB 15
#define VIEW_INO_MAX 15

struct view {
	const char *name; /* its entry at the top of the mount (".ctl"), NULL for the root */
	mode_t type;      /* S_IFDIR or S_IFREG */
	/* Its node id (VIEW_INO_*), or 0 for one per user (.ctl): then ino and is. */
	fuse_ino_t fixed_ino;
	/* The node id for the caller of req, and whether ino is one of them. */
	fuse_ino_t (*ino)(fuse_req_t req);
	bool (*is)(fuse_ino_t ino);
	/* Its own attributes, for ino (one is() accepts). */
	int (*getattr)(fuse_req_t req, fuse_ino_t ino, struct stat *st);

	/* Directories; NULL in a file view. Each gets its view (one file may serve several). */
	/* An entry inside: 0 with *e filled and a kernel reference on its node, or -errno. */
	int (*lookup)(fuse_req_t req, const struct view *v, const char *name,
		      struct fuse_entry_param *e);
	/* Every entry inside into d (dirs.c adds "." and ".."; dir_keep keeps data with it). */
	int (*list)(fuse_req_t req, const struct view *v, struct dir_snapshot *d);
	/* Optional: lookup for readdirplus, from what list kept (dir_keep) instead of anew. */
	int (*lookup_listed)(fuse_req_t req, const struct view *v, void *data, const char *name,
			     struct fuse_entry_param *e);
	/*
	 * Changes inside; NULL where the view refuses (EPERM; EXDEV for rename).
	 * create_reply replies itself (a CREATE reply carries an open file); the
	 * others return 0 or -errno and ops.c replies.
	 */
	void (*create_reply)(fuse_req_t req, const char *name, mode_t mode,
			     struct fuse_file_info *fi);
	int (*mknod)(fuse_req_t req, const char *name, mode_t mode, struct fuse_entry_param *e);
	int (*unlink)(fuse_req_t req, const struct view *v, const char *name);
	int (*rmdir)(fuse_req_t req, const char *name);
	int (*rename)(fuse_req_t req, const char *name, const char *newname, unsigned flags);

	/*
	 * The file operations of a directory view's entries (nodes made with
	 * nodes_get_object), when they are not segments; NULL for segments,
	 * whose operations are segments.c's. Entries of such views are read-only.
	 */
	int (*node_getattr)(fuse_req_t req, struct node *node, struct stat *st);
	/* A handle for an open of node (its descriptor, or -1): 0, or -errno. */
	int (*node_open)(fuse_req_t req, struct node *node, struct fuse_file_info *fi,
			 struct handle **ret);
	/* Replies to a read itself (true), or leaves it to data.c (false). */
	bool (*node_read_reply)(fuse_req_t req, struct node *node, struct handle *h, size_t size,
				off_t off);
	/* user.shmfs.NAME into buf: 0, -ENODATA when the entry has none, or -errno. */
	int (*node_xattr)(fuse_req_t req, struct node *node, const char *name, char *buf,
			  size_t size);

	/* Files; NULL in a directory view. */
	int (*open)(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
	/* Optional: replies to an open that succeeded itself (0, or fuse_reply_*'s error). */
	int (*reply_open)(fuse_req_t req, const struct fuse_file_info *fi);
	/* Replies itself, now or later (.ctl keeps a read until a reply comes). */
	void (*read)(fuse_req_t req, struct fuse_file_info *fi, size_t size);
	/* Optional: replies to a poll itself (ph, when given, is the view's); NULL: always ready. */
	void (*poll)(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);
	ssize_t (*write)(fuse_req_t req, struct fuse_file_info *fi, const char *buf, size_t size);
	void (*release)(struct fuse_file_info *fi);
	/* setattr of the view itself: 0 to accept (the caller replies its attributes), or -errno. */
	int (*setattr)(fuse_req_t req, fuse_ino_t ino, int to_set);
};

/* view_*.c: the views. */
extern const struct view view_root; /* the named segments: the mount's top directory */
extern const struct view view_ctl;  /* .ctl, the control file */
extern const struct view view_anon; /* .anon/, the anonymous segments */
/* view_objects.c: other shared memory, read-only. */
extern const struct view view_deleted;     /* .deleted/: unlinked segments still held */
extern const struct view view_memfd;       /* .memfd/ */
extern const struct view view_sysv;        /* .sysv/: System V segments */
extern const struct view view_shared_anon; /* .shared-anon/ */
extern const struct view view_hugetlb;     /* .hugetlb/: huge pages of every kind */
/* Makes fs->hints, what the object views keep between requests (0 or -ENOMEM); frees it. */
int view_objects_new(struct shmfs *fs);
void view_objects_free(struct shmfs *fs);

/* The view of a node's entry when it is not a segment's, or NULL (fixed for its life). */
static inline const struct view *node_view(const struct node *node)
{
	return nodes_view(node);
}

/* views.c: the table of views and what the operations ask of it. */
/* The view whose own node id ino is, or NULL when ino is a node of the table. */
const struct view *views_of(fuse_ino_t ino);
/* v's node id for the caller of req: its fixed one, or .ctl's for them. */
fuse_ino_t views_ino(const struct view *v, fuse_req_t req);
/* The view that the entry name in directory view dir stands for, or NULL. */
const struct view *views_named(const struct view *dir, const char *name);
/* Whether name, at the top of the mount, is a view's entry (for the control file). */
bool views_own_entry(const char *name);
/* The entry of view v itself: 0 with *e filled (views take no kernel references). */
int views_entry(fuse_req_t req, const struct view *v, struct fuse_entry_param *e);
/* Adds the views that are entries of directory view dir to d (they come first). */
int views_list(fuse_req_t req, const struct view *dir, struct dir_snapshot *d);

/*
 * For the views themselves: the attributes of one of the mount's own
 * entries, /dev/shm's with these changes, owned by the daemon, with the
 * mount's start as their times.
 */
static inline int view_stat(fuse_req_t req, fuse_ino_t ino, mode_t mode, nlink_t nlink,
			    struct stat *st)
{
	if (stat(PSHM_DIR, st) < 0)
		return -errno;
	st->st_ino = ino;
	st->st_uid = geteuid();
	st->st_gid = getegid();
	st->st_atim = st->st_mtim = st->st_ctim = shmfs_of(req)->started;
	st->st_mode = mode;
	st->st_nlink = nlink;
	if (S_ISREG(mode))
		st->st_size = st->st_blocks = 0;
	return 0;
}

#endif /* VIEW_I_H */

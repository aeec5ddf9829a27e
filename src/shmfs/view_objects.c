/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the views of shared memory that is not a named segment, each a
 * read-only directory of objects found by libpshm's scan:
 *   .deleted/      segments unlinked but still open or mapped, NAME@INODE
 *   .memfd/        memfd_create objects, NAME@INODE
 *   .sysv/         System V segments, 0xKEY@SHMID
 *   .shared-anon/  shared anonymous mappings, INODE
 *
 * A user sees an object one of whose holders /proc lets them read (or a
 * System V segment they own); root sees all. A listing is a fresh scan,
 * of which it keeps only what its opener sees; a lookup or an open finds
 * the object again through object_refs.c, for its own caller, now. Reads
 * go to the object itself (passthrough where the kernel allows, else
 * through the daemon); a System V segment through its memory file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "data_i.h"
#include "guard_i.h"
#include "holders_i.h"
#include "object_refs_i.h"

/*
 * Seconds an object entry's attributes stay with the kernel after a
 * lookup: 10 ms, at least two jiffies at any HZ up to 250, enough for the
 * stat(2) that made the lookup and short enough that an fstat(2) of an
 * open entry is as fresh as a race allows. Measured: ls -l of 4000 entries
 * makes one round trip per entry instead of two.
 */
#define OBJECT_ATTR_TIMEOUT 0.01

static unsigned kind_of(const struct view *v);

/* The entry of the object ref, whose status is st: 0 with *e and a kernel reference. */
static int entry_for(struct shmfs *fs, const struct view *v, const struct object_ref *ref,
		     const struct stat *st, struct fuse_entry_param *e)
{
	struct node *node =
		nodes_get_object(fs, v, objects_key_of(ref->kind), ref->ino, ref, sizeof(*ref), 1);

	if (!node)
		return -ENOMEM;
	/*
	 * The name is never cached: each path walk looks again, for its own
	 * caller, so a vanished object or one the caller may not see is
	 * ENOENT. The attributes live just long enough (a few jiffies) to
	 * serve the stat that follows this lookup without a second round
	 * trip; any later stat by path gets them fresh from its own lookup.
	 */
	*e = (struct fuse_entry_param){ .ino = nodes_ino(node),
					.generation = nodes_generation(node),
					.attr = *st,
					.attr_timeout = OBJECT_ATTR_TIMEOUT };
	e->attr.st_mode = S_IFREG | (st->st_mode & 0777);
	e->attr.st_ino = objects_shown_ino(ref->made_as, st->st_ino);
	return 0;
}

/* The entry for object o, visible to the caller: 0 with *e and a kernel reference. */
static int entry_of(fuse_req_t req, const struct view *v, const struct pshm_object *o,
		    struct fuse_entry_param *e)
{
	struct shmfs *fs = shmfs_of(req);
	struct holders_viewer viewer;
	struct object_ref ref;

	objects_viewer_of(req, &viewer);
	if (!pshm_object_visible(o, &viewer.pub))
		return -ENOENT;
	object_ref_of(o, &ref);
	return entry_for(fs, v, &ref, &o->st, e);
}

/*
 * A lookup answered without a scan: the kernel still knows the object's
 * node (a listing or an earlier lookup gave it), the holder it was found
 * through still holds it, and the caller may see it without asking who
 * else holds it (ref_visible). False: scan.
 */
static bool lookup_known(fuse_req_t req, const struct view *v, const char *name,
			 struct fuse_entry_param *e, int *ret)
{
	struct shmfs *fs = shmfs_of(req);
	struct holders_viewer viewer;
	const char *digits = strrchr(name, '@');
	struct object_ref ref;
	unsigned long long ino;
	struct stat st;
	char *end;

	digits = digits ? digits + 1 : name;
	if (*digits < '0' || *digits > '9')
		return false;
	errno = 0;
	ino = strtoull(digits, &end, 10);
	if (*end || errno)
		return false;
	if (!nodes_find_object(fs, v, objects_key_of(kind_of(v)), (ino_t)ino, &ref, sizeof(ref)) ||
	    strcmp(ref.name, name) != 0 || object_fresh_stat(&ref, &st) < 0)
		return false;
	objects_viewer_of(req, &viewer);
	if (!object_ref_visible(&viewer, &ref, &st))
		return false;
	*ret = entry_for(fs, v, &ref, &st, e);
	return true;
}

/*
 * What a listing keeps: of each object it shows (to its owner alone),
 * where it is, so that readdirplus builds its entries without a scan and
 * later lookups know which holder's /proc link to try. Charged to the
 * owner's listings (dir_charge); the scan itself is freed at once, so an
 * open directory holds what its owner sees, never the machine's objects.
 * The latest listing of each view is also its view's hint, shared by
 * reference: only where an object was; what a lookup answers comes from
 * the object itself, now, for its own caller (ref_visible).
 */
struct listing {
	unsigned refs;
	uid_t owner;
	size_t count, capacity;
	size_t *offsets; /* into arena, of each listed_object, in name order */
	char *arena;
	size_t arena_len, arena_capacity;
};

/*
 * The most a view's hint may hold (LISTED_SIZE per object): bigger
 * listings serve their own readdirplus, and lookups elsewhere scan.
 */
#define HINT_BYTES_MAX (4u << 20)

struct view_hints {
	pthread_mutex_t lock;
	struct listing *latest[PSHM_KINDS];
};

static unsigned kind_index(unsigned kind)
{
	return (unsigned)__builtin_ctz(kind);
}

static size_t listing_bytes(const struct listing *l)
{
	return l->capacity * sizeof(*l->offsets) + l->arena_capacity;
}

static void listing_put(struct listing *l)
{
	if (l && __atomic_sub_fetch(&l->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(l->offsets);
		free(l->arena);
		free(l);
	}
}

/* Grows what l holds by one object of name_len, charged to d's owner: 0, -EMFILE, -ENOMEM. */
static int listing_reserve(struct shmfs *fs, struct listing *l, struct dir_snapshot *d,
			   size_t name_len)
{
	size_t need = (LISTED_SIZE(name_len) + 7) & ~(size_t)7;

	if (l->count == l->capacity) {
		size_t capacity = l->capacity ? l->capacity * 2 : 64;
		size_t *offsets;

		if (dir_charge(fs, d, (capacity - l->capacity) * sizeof(*offsets)) < 0)
			return -EMFILE;
		offsets = realloc(l->offsets, capacity * sizeof(*offsets));
		if (!offsets)
			return -ENOMEM;
		l->offsets = offsets;
		l->capacity = capacity;
	}
	if (l->arena_len + need > l->arena_capacity) {
		size_t capacity = l->arena_capacity ? l->arena_capacity * 2 : 16384;
		char *arena;

		while (capacity < l->arena_len + need)
			capacity *= 2;
		if (dir_charge(fs, d, capacity - l->arena_capacity) < 0)
			return -EMFILE;
		arena = realloc(l->arena, capacity);
		if (!arena)
			return -ENOMEM;
		l->arena = arena;
		l->arena_capacity = capacity;
	}
	return 0;
}

/* Adds o (listed in name order) to l: 0, -EMFILE, -ENOMEM. */
static int listing_add(struct shmfs *fs, struct listing *l, struct dir_snapshot *d,
		       const struct pshm_object *o)
{
	size_t name_len = strlen(o->name);
	struct listed_object *lo;
	struct object_ref ref;
	int r = listing_reserve(fs, l, d, name_len);

	if (r < 0)
		return r;
	object_ref_of(o, &ref);
	lo = (struct listed_object *)(l->arena + l->arena_len);
	lo->st = o->st;
	memcpy(&lo->ref, &ref, LISTED_SIZE(name_len) - offsetof(struct listed_object, ref));
	l->offsets[l->count++] = l->arena_len;
	l->arena_len += (LISTED_SIZE(name_len) + 7) & ~(size_t)7;
	return 0;
}

/* The listed object called name into *ret_ref and *ret_st: true, or false when not listed. */
static bool listing_find(const struct listing *l, const char *name, struct object_ref *ret_ref,
			 struct stat *ret_st)
{
	size_t lo = 0, hi = l->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct listed_object *o =
			(const struct listed_object *)(l->arena + l->offsets[mid]);
		int c = strcmp(o->ref.name, name);

		if (c == 0) {
			memcpy(ret_ref, &o->ref,
			       LISTED_SIZE(strlen(name)) - offsetof(struct listed_object, ref));
			*ret_st = o->st;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The latest listing of kind, with a reference, or NULL. */
static struct listing *hint_get(struct shmfs *fs, unsigned kind)
{
	struct listing *l;

	pthread_mutex_lock(&fs->hints->lock);
	l = fs->hints->latest[kind_index(kind)];
	if (l)
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&fs->hints->lock);
	return l;
}

/* l (with a reference for the hint, or NULL) is now the hint of kind. */
static void hint_set(struct shmfs *fs, unsigned kind, struct listing *l)
{
	struct listing *old;

	pthread_mutex_lock(&fs->hints->lock);
	old = fs->hints->latest[kind_index(kind)];
	fs->hints->latest[kind_index(kind)] = l;
	pthread_mutex_unlock(&fs->hints->lock);
	listing_put(old); /* maybe frees: memory only, outside the lock */
}

int view_objects_new(struct shmfs *fs)
{
	fs->hints = calloc(1, sizeof(*fs->hints));
	if (!fs->hints)
		return -ENOMEM;
	pthread_mutex_init(&fs->hints->lock, NULL);
	return 0;
}

void view_objects_free(struct shmfs *fs)
{
	if (!fs->hints)
		return;
	for (unsigned i = 0; i < PSHM_KINDS; i++)
		hint_set(fs, 1u << i, NULL);
	pthread_mutex_destroy(&fs->hints->lock);
	free(fs->hints);
	fs->hints = NULL;
}

/* Like lookup_known, with the latest listing for where the object was. */
static bool lookup_hinted(fuse_req_t req, const struct view *v, const char *name,
			  struct fuse_entry_param *e, int *ret)
{
	struct shmfs *fs = shmfs_of(req);
	struct listing *l = hint_get(fs, kind_of(v));
	struct holders_viewer viewer;
	struct object_ref ref;
	struct stat st;
	bool answered = false;

	if (l && listing_find(l, name, &ref, &st) && object_fresh_stat(&ref, &st) == 0) {
		objects_viewer_of(req, &viewer);
		if (object_ref_visible(&viewer, &ref, &st)) {
			*ret = entry_for(fs, v, &ref, &st, e);
			answered = true;
		}
	}
	listing_put(l);
	return answered;
}

static int objects_lookup(fuse_req_t req, const struct view *v, const char *name,
			  struct fuse_entry_param *e)
{
	struct pshm_scan *scan;
	const struct pshm_object *o;
	int r;

	if (lookup_known(req, v, name, e, &r) || lookup_hinted(req, v, name, e, &r))
		return r;
	r = objects_scan_kind(req, kind_of(v), &scan);
	if (r < 0)
		return r;
	o = pshm_scan_find(scan, kind_of(v), name);
	r = o ? entry_of(req, v, o, e) : -ENOENT;
	holders_scan_free(scan);
	return r;
}

static void free_listing(void *data)
{
	listing_put(data);
}

/* A fresh scan, of which the listing keeps what its opener may see, and nothing else. */
static int objects_list(fuse_req_t req, const struct view *v, struct dir_snapshot *d)
{
	struct shmfs *fs = shmfs_of(req);
	struct listing *l = calloc(1, sizeof(*l));
	struct holders_viewer viewer;
	const struct pshm_object *o;
	struct pshm_scan *scan = NULL;
	int r = l ? objects_scan_kind(req, kind_of(v), &scan) : -ENOMEM;

	if (l)
		l->refs = 1;
	objects_viewer_of(req, &viewer);
	while (r == 0 && pshm_scan_next(scan, &o) > 0) {
		if (!pshm_object_visible(o, &viewer.pub))
			continue;
		r = dir_add(fs, d, o->name, objects_shown_ino(o->made_as, o->st.st_ino), S_IFREG,
			    NULL);
		if (r == 0)
			r = listing_add(fs, l, d, o);
	}
	holders_scan_free(scan);
	if (r < 0) {
		listing_put(l);
		return r;
	}
	l->owner = viewer.pub.uid;
	dir_keep(d, l, free_listing);
	if (listing_bytes(l) <= HINT_BYTES_MAX) {
		__atomic_add_fetch(&l->refs, 1, __ATOMIC_ACQ_REL);
		hint_set(fs, kind_of(v), l);
	} else {
		hint_set(fs, kind_of(v), NULL);
	}
	return 0;
}

/* readdirplus's entry, from the listing, for its owner alone (others look up: their rights). */
static int objects_lookup_listed(fuse_req_t req, const struct view *v, void *data, const char *name,
				 struct fuse_entry_param *e)
{
	struct shmfs *fs = shmfs_of(req);
	const struct listing *l = data;
	struct object_ref ref;
	struct stat st;

	if (fuse_req_ctx(req)->uid != l->owner || !listing_find(l, name, &ref, &st))
		return -ENOENT;
	return entry_for(fs, v, &ref, &st, e);
}

static int objects_node_getattr(fuse_req_t req, struct node *node, struct stat *st)
{
	struct object_ref ref;
	int r = object_stat(req, node, &ref, st);

	(void)req;
	if (r == 0) {
		st->st_mode = S_IFREG | (st->st_mode & 0777);
		st->st_ino = objects_shown_ino(ref.made_as, st->st_ino);
	}
	return r;
}

/* Opens the object for reading: a handle on it (System V: none, see objects_node_read). */
static int objects_node_open(fuse_req_t req, struct node *node, struct fuse_file_info *fi,
			     struct handle **ret)
{
	struct shmfs *fs = shmfs_of(req);
	uid_t uid = fuse_req_ctx(req)->uid;
	struct object_ref ref;
	struct stat st;
	int fd = -1, r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC))
		return -EROFS; /* a view: the objects are their holders' to change */
	/*
	 * Decided for this opener, now, as a lookup is: a node the kernel
	 * still has (an O_PATH descriptor reopened through /proc/self/fd)
	 * proves nothing about who may see the object today.
	 */
	r = object_stat(req, node, &ref, &st);
	if (r == 0)
		r = object_check(req, &ref, &st);
	if (r < 0)
		return r;
	r = limits_take(fs, uid, LIMIT_FDS, 1);
	if (r < 0)
		return r;
	if (ref.made_as == PSHM_KIND_SYSV) {
		/*
		 * Its own memory file, so that reads allocate nothing (a read
		 * through an attach allocates every page of a hole it touches).
		 */
		fd = pshm_sysv_open_in(ref.ipc_ns, ref.ipc_pid, ref.shmid, ref.key, NULL);
		/* Another namespace's has no attach here to fall back on. */
		if (fd == -ENOENT || (fd < 0 && ref.ipc_ns)) {
			limits_give(fs, uid, LIMIT_FDS, 1);
			return fd;
		}
		fd = fd < 0 ? -1 : fd; /* then through attaches, sysv_read */
	} else {
		/*
		 * The daemon's own open: reaching another process's object takes
		 * root, so only that object is opened, whatever its holder puts
		 * behind the link meanwhile (pshm_link_open).
		 */
		fd = pshm_link_open(ref.path, O_RDONLY | O_NONBLOCK, ref.dev, ref.ino);
		if (fd < 0) {
			limits_give(fs, uid, LIMIT_FDS, 1);
			return fd == -ESTALE ? -ENOENT : fd;
		}
	}
	*ret = handle_new(fd, fi->flags, uid);
	if (!*ret) {
		if (fd >= 0)
			close(fd);
		limits_give(fs, uid, LIMIT_FDS, 1);
		return -ENOMEM;
	}
	return 0;
}

/*
 * A System V segment read through a read-only attach of the daemon's,
 * detached at once, when pshm_sysv_open cannot open it (a daemon without
 * CAP_SYS_ADMIN): nattch seen by others is back to what it was after
 * each read, and the copy is guarded against the segment going away, but
 * the pages of a hole it reads are allocated.
 */
static void sysv_read_reply(fuse_req_t req, int shmid, key_t key, size_t size, off_t off)
{
	struct shmfs *fs = shmfs_of(req);
	struct stat st;
	char *buf, *map;
	size_t len;
	int r = pshm_sysv_stat(shmid, key, &st, NULL);

	len = data_span_or_reply(req, r, r < 0 ? 0 : st.st_size, size, off);
	if (!len)
		return;
	/* The buffer first: an attach is never left behind when there is none. */
	buf = data_buffer(fs, len);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	map = shmat(shmid, NULL, SHM_RDONLY);
	if (map == (void *)-1) {
		fuse_reply_err(req, errno == EINVAL || errno == EIDRM ? ENOENT : errno);
		return;
	}
	r = guard_copy(buf, map + off, len);
	shmdt(map);
	if (r < 0)
		fuse_reply_err(req, EIO);
	else
		fuse_reply_buf(req, buf, len);
}

static bool objects_node_read_reply(fuse_req_t req, struct node *node, struct handle *h,
				    size_t size, off_t off)
{
	struct shmfs *fs = shmfs_of(req);
	struct object_ref ref;

	if (h->fd >= 0)
		return false; /* the object itself: the daemon's usual data path */
	nodes_object_data(fs, node, &ref, sizeof(ref));
	sysv_read_reply(req, ref.shmid, ref.key, size, off);
	return true;
}

/*
 * rm in .sysv (and of a System V segment in .hugetlb) is IPC_RMID, asked
 * with the caller's uid (pshm_sysv_remove), so the kernel decides as for
 * the caller's own ipcrm. Nothing else there has a name to remove: EPERM.
 */
static int sysv_unlink(fuse_req_t req, const struct view *v, const char *name)
{
	uid_t uid = fuse_req_ctx(req)->uid;
	struct holders_viewer viewer;
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int r = objects_scan_kind(req, kind_of(v), &scan);

	if (r < 0)
		return r;
	o = pshm_scan_find(scan, kind_of(v), name);
	objects_viewer_of(req, &viewer);
	if (!o || !pshm_object_visible(o, &viewer.pub))
		r = -ENOENT;
	else if (o->made_as != PSHM_KIND_SYSV)
		r = -EPERM;
	else /* in the segment's own IPC namespace, a container's too */
		r = pshm_sysv_remove(o->ipc_ns, o->ipc_pid, o->shmid, o->key, uid, NULL);
	holders_scan_free(scan);
	return r;
}

/*
 * Directories everyone may list (each sees what /proc lets them see),
 * read-only but for .sysv: writable by all, so that under
 * default_permissions the kernel lets an rm through to the daemon, which
 * asks the kernel as the caller (sysv_unlink); nothing can be created there.
 */
static int objects_getattr(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	bool removable = ino == VIEW_INO_SYSV || ino == VIEW_INO_HUGETLB;

	return view_stat(req, ino, S_IFDIR | (removable ? 0777 : 0555), 2, st);
}

#define OBJECT_VIEW(var, dir_name, view_ino, remove)        \
	const struct view var = {                           \
		.name = dir_name,                           \
		.type = S_IFDIR,                            \
		.fixed_ino = view_ino,                      \
		.getattr = objects_getattr,                 \
		.lookup = objects_lookup,                   \
		.list = objects_list,                       \
		.lookup_listed = objects_lookup_listed,     \
		.unlink = remove,                           \
		.node_getattr = objects_node_getattr,       \
		.node_open = objects_node_open,             \
		.node_read_reply = objects_node_read_reply, \
		.node_xattr = view_objects_xattr,           \
	}

OBJECT_VIEW(view_deleted, PSHM_KIND_DELETED_DIR, VIEW_INO_DELETED, NULL);
OBJECT_VIEW(view_memfd, PSHM_KIND_MEMFD_DIR, VIEW_INO_MEMFD, NULL);
OBJECT_VIEW(view_sysv, PSHM_KIND_SYSV_DIR, VIEW_INO_SYSV, sysv_unlink);
OBJECT_VIEW(view_shared_anon, PSHM_KIND_SHARED_ANON_DIR, VIEW_INO_SHARED_ANON, NULL);
OBJECT_VIEW(view_hugetlb, PSHM_KIND_HUGETLB_DIR, VIEW_INO_HUGETLB, sysv_unlink);

/* The kind a view shows: the one libpshm names its directory after. */
static unsigned kind_of(const struct view *v)
{
	for (unsigned kind = PSHM_KIND_DELETED; kind & PSHM_KIND_ALL; kind <<= 1)
		if (strcmp(v->name, pshm_kind_dir(kind)) == 0)
			return kind;
	return PSHM_KIND_SHARED_ANON;
}

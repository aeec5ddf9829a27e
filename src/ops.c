/* SPDX-License-Identifier: MIT */
/* shmfs: the filesystem operations, each translated onto libpshm. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "shmfs_i.h"

/* Named semaphores live in the same directory; they are not segments. */
#define SEMAPHORE_PREFIX "sem."

struct shmfs_config shmfs_config = { .prefix = NULL, .timeout = 1.0 };

static struct timespec started; /* the times of .ctl and .anon */

static double timeout(void)
{
	return shmfs_config.cache ? shmfs_config.timeout : 0.0;
}

static struct node *node_of(fuse_ino_t ino)
{
	return (struct node *)(uintptr_t)ino;
}

static struct handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

static struct ctl_session *session_of(const struct fuse_file_info *fi)
{
	return (struct ctl_session *)(uintptr_t)fi->fh;
}

/* The mount's own entries: not segments, and never forgotten. */
static bool is_special(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID || is_ctl_ino(ino) || ino == ANON_DIR_INO;
}

/* What the control file needs from here. */
static const struct ctl_context *ctl_context(void)
{
	static struct ctl_context context = { .segment_name = ops_segment_name };

	context.prefix = shmfs_config.prefix;
	return &context;
}

/*
 * Acts as the caller of req on this thread (see creds.c); *c receives who
 * that is. Every success is paired with creds_leave before the reply.
 */
static int act_as_caller(fuse_req_t req, struct creds *c)
{
	creds_of_req(req, c);
	return creds_enter(c);
}

/* Names at the top of the mount that shadow any segment of the same name. */
static bool is_reserved(fuse_ino_t parent, const char *name)
{
	return parent == FUSE_ROOT_ID &&
	       (strcmp(name, CTL_NAME) == 0 || strcmp(name, ANON_DIR_NAME) == 0);
}

/* Parses the name of an entry of .anon: a decimal id. */
static bool anon_id_of(const char *name, uint64_t *ret)
{
	char *end;

	if (name[0] < '1' || name[0] > '9')
		return false;
	errno = 0;
	*ret = strtoull(name, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * The segment name for an entry of the mount: prefix + name, checked.
 * Returns 0, -ENAMETOOLONG, or -EINVAL (a name shm cannot hold); semaphore
 * names are -ENOENT, since the mount never shows them.
 */
int ops_segment_name(const char *name, char buf[PSHM_NAME_MAX + 1])
{
	size_t len = strlen(name);
	int r;

	if (shmfs_config.prefix_len + len > PSHM_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, shmfs_config.prefix, shmfs_config.prefix_len);
	memcpy(buf + shmfs_config.prefix_len, name, len + 1);
	r = pshm_name_check(buf, NULL);
	if (r < 0)
		return r;
	if (strncmp(buf, SEMAPHORE_PREFIX, strlen(SEMAPHORE_PREFIX)) == 0)
		return -ENOENT;
	return 0;
}

static void fill_entry(struct fuse_entry_param *e, struct node *node, const struct stat *st)
{
	*e = (struct fuse_entry_param){
		.ino = (fuse_ino_t)(uintptr_t)node,
		.generation = node->generation,
		.attr = *st,
		.attr_timeout = timeout(),
		.entry_timeout = nodes_entry_timeout(node),
	};
}

static void reply_entry(fuse_req_t req, struct node *node, const struct stat *st)
{
	struct fuse_entry_param e;

	fill_entry(&e, node, st);
	if (fuse_reply_entry(req, &e) != 0)
		nodes_forget(node, 1); /* the kernel never got the reference */
}

static void ops_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	clock_gettime(CLOCK_REALTIME, &started);
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* mtime-based invalidation misses stores through other processes' mmaps. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* The kernel applies the caller's umask to create modes, as for /dev/shm. */
	conn->want &= ~FUSE_CAP_DONT_MASK;
	/* Read replies carry the segment's pages (splice.c); must match -o max_read. */
	conn->max_read = shmfs_config.max_read;
	inval_init(conn->proto_major, conn->proto_minor);
	if (shmfs_config.max_read && (conn->capable & FUSE_CAP_SPLICE_WRITE))
		conn->want |= FUSE_CAP_SPLICE_WRITE;
}

static int stat_special(fuse_ino_t ino, struct stat *st);

/*
 * .ctl and .anon at the top (the caller checked is_reserved): 0 with *e
 * filled, or -errno. .ctl is the caller's own inode; its entry is never
 * cached, so each lookup gets the looker's.
 */
static int special_entry(fuse_req_t req, const char *name, struct fuse_entry_param *e)
{
	*e = (struct fuse_entry_param){
		.ino = strcmp(name, CTL_NAME) == 0 ? ctl_ino(fuse_req_ctx(req)->uid) : ANON_DIR_INO,
		.generation = 1,
	};
	return stat_special(e->ino, &e->attr);
}

/*
 * The entry of name in dir, a segment (or an anonymous one, in .anon): 0
 * with *e filled and a kernel reference on its node, or -errno.
 */
static int segment_entry(fuse_ino_t dir, const char *name, struct fuse_entry_param *e)
{
	char full[PSHM_NAME_MAX + 1];
	struct node *node;
	struct stat st;
	uint64_t id = 0;
	int r;

	if (dir == ANON_DIR_INO)
		r = anon_id_of(name, &id) ? anon_stat(id, &st, NULL) : -ENOENT;
	else if (dir == FUSE_ROOT_ID)
		r = ops_segment_name(name, full);
	else
		r = -ENOTDIR;
	if (r == 0 && !id)
		r = pshm_stat_name(full, &st, NULL);
	if (r < 0)
		return r;
	node = nodes_get(id ? NULL : full, id, &st, 1);
	if (!node)
		return -ENOMEM;
	fill_entry(e, node, &st);
	return 0;
}

static void ops_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	bool special = is_reserved(parent, name);
	int r = special ? special_entry(req, name, &e) : segment_entry(parent, name, &e);

	if (r < 0)
		fuse_reply_err(req, -r);
	else if (fuse_reply_entry(req, &e) != 0 && !special)
		nodes_forget(node_of(e.ino), 1); /* the kernel never got the reference */
}

static void ops_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (!is_special(ino))
		nodes_forget(node_of(ino), nlookup);
	fuse_reply_none(req);
}

static void ops_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		if (!is_special(forgets[i].ino))
			nodes_forget(node_of(forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/*
 * The root shows /dev/shm's own attributes; .anon is a sticky directory
 * like it (only owners remove entries); .ctl is open to every user, and
 * each command checks what the caller may do.
 */
static int stat_special(fuse_ino_t ino, struct stat *st)
{
	if (stat(PSHM_DIR, st) < 0)
		return -errno;
	st->st_ino = ino;
	if (ino == FUSE_ROOT_ID)
		return 0;
	st->st_uid = geteuid();
	st->st_gid = getegid();
	st->st_atim = st->st_mtim = st->st_ctim = started;
	if (ino == ANON_DIR_INO) {
		st->st_mode = S_IFDIR | 01777;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
		st->st_size = 0;
		st->st_blocks = 0;
	}
	return 0;
}

static void ops_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;
	int r;

	if (is_special(ino))
		r = stat_special(ino, &st);
	else if (fi)
		r = pshm_stat(handle_of(fi)->fd, &st, NULL);
	else
		r = nodes_stat(node_of(ino), &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, timeout());
}

/*
 * access(2) and faccessat(2): with a cached entry the kernel would answer
 * "exists" by itself, so the daemon checks the name as for a stat. Modes
 * are the kernel's business under default_permissions (then this is not
 * called); otherwise only the mounting user gets here, who is served with
 * the daemon's rights, as for every other call.
 */
static void ops_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct stat st;
	int r;

	(void)mask;
	r = is_special(ino) ? 0 : nodes_stat(node_of(ino), &st);
	fuse_reply_err(req, -r);
}

static struct timespec utime_of(int to_set, int set_bit, int now_bit, struct timespec value)
{
	if (to_set & now_bit)
		return (struct timespec){ .tv_nsec = UTIME_NOW };
	if (to_set & set_bit)
		return value;
	return (struct timespec){ .tv_nsec = UTIME_OMIT };
}

static int apply_setattr(int fd, const struct stat *attr, int to_set)
{
	int r = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		r = pshm_chmod(fd, attr->st_mode & 07777, NULL);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		r = pshm_chown(fd, (to_set & FUSE_SET_ATTR_UID) ? attr->st_uid : (uid_t)-1,
			       (to_set & FUSE_SET_ATTR_GID) ? attr->st_gid : (gid_t)-1, NULL);
	if (r == 0 && (to_set & FUSE_SET_ATTR_SIZE))
		r = pshm_truncate(fd, attr->st_size, NULL);
	if (r == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
				 FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW))) {
		struct timespec times[2] = {
			utime_of(to_set, FUSE_SET_ATTR_ATIME, FUSE_SET_ATTR_ATIME_NOW,
				 attr->st_atim),
			utime_of(to_set, FUSE_SET_ATTR_MTIME, FUSE_SET_ATTR_MTIME_NOW,
				 attr->st_mtim),
		};

		r = pshm_utimens(fd, times, NULL);
	}
	return r;
}

static void ops_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			struct fuse_file_info *fi)
{
	bool resize = to_set & FUSE_SET_ATTR_SIZE;
	struct creds caller;
	struct stat st;
	int fd, r;

	if (is_ctl_ino(ino) && to_set == FUSE_SET_ATTR_SIZE) {
		/* "echo cmd > .ctl" truncates first: nothing to truncate. */
		stat_special(ino, &st);
		fuse_reply_attr(req, &st, timeout());
		return;
	}
	if (is_special(ino)) {
		fuse_reply_err(req, EPERM); /* the shm directory itself is not ours to change */
		return;
	}
	creds_of_req(req, &caller);
	if (fi) {
		fd = handle_of(fi)->fd;
	} else {
		/*
		 * A new size needs a descriptor open for writing, which the
		 * caller's own open must get (the kernel checks the mode).
		 * Mode, owner and times are checked by fchmod, fchown and
		 * futimens themselves, as the caller: a read-only descriptor
		 * of the daemon's does for them, even where the caller may not
		 * read. Gone: ENOENT; the name means another segment now:
		 * ESTALE (see nodes_stat).
		 */
		r = resize ? creds_enter(&caller) : 0;
		fd = r < 0 ? r : nodes_open(node_of(ino), resize ? O_RDWR : O_RDONLY);
		if (resize && r == 0)
			creds_leave();
		if (fd < 0) {
			fuse_reply_err(req, -fd);
			return;
		}
	}
	r = creds_enter(&caller);
	if (r == 0) {
		r = apply_setattr(fd, attr, to_set);
		creds_leave();
	}
	if (r == 0)
		r = pshm_stat(fd, &st, NULL);
	if (!fi)
		pshm_close(fd, NULL);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, timeout());
}

static struct handle *handle_new(int fd, int flags, uid_t uid)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_rwlock_init(&h->map_lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->fd = fd;
	h->flags = flags;
	h->uid = uid;
	return h;
}

static void handle_free(struct handle *h)
{
	if (h->map)
		munmap(h->map, h->map_len);
	pshm_close(h->fd, NULL);
	limits_give(h->uid, LIMIT_FDS, 1);
	pthread_rwlock_destroy(&h->map_lock);
	free(h);
}

/* What shm_open can do for a client's open flags: no write-only segments. */
static int access_of(int flags)
{
	return (flags & O_ACCMODE) == O_RDONLY ? O_RDONLY : O_RDWR;
}

/*
 * How the kernel serves the data of h, a new open file of node, set in fi
 * before the reply. Coherent by default: with passthrough, the kernel
 * reads, writes and maps the segment itself; without it, every read and
 * write reaches the daemon, which reads the segment as it is now (no page
 * cache, and no shared mmap for clients: ENODEV). cache=on: the kernel's
 * page cache.
 */
static void set_open_mode(struct node *node, struct handle *h, struct fuse_file_info *fi)
{
	int id = shmfs_config.cache ? 0 : nodes_backing_get(node, h->fd);

	fi->direct_io = !shmfs_config.cache && !id;
	fi->keep_cache = 0;
	h->passthrough = id != 0;
	if (id)
		passthrough_reply_with(id);
}

/* Undoes an open file: at release, or when its reply never reached the kernel. */
static void handle_close(struct node *node, struct handle *h)
{
	nodes_detach(node, h);
	handle_free(h);
}

/* A .ctl open: a session with the opener's rights, whoever writes to it later. */
static void ctl_open_file(fuse_req_t req, struct fuse_file_info *fi)
{
	struct ctl_session *s;
	struct creds opener;
	int r;

	creds_of_req(req, &opener);
	r = ctl_open(&opener, &s);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)s;
	/* Replies come from a per-open cursor: no seeking, no page cache. */
	fi->nonseekable = 1;
	fi->direct_io = 1;
	if (fuse_reply_open(req, fi) != 0)
		ctl_close(s);
}

/*
 * Opens node for the caller, as the caller: one descriptor charged to
 * them (-EMFILE at their limit, before anything is opened).
 */
static int open_as_caller(fuse_req_t req, struct node *node, int oflags, uid_t *ret_uid)
{
	struct creds caller;
	int fd, r;

	creds_of_req(req, &caller);
	r = limits_take(caller.uid, LIMIT_FDS, 1);
	if (r < 0)
		return r;
	r = creds_enter(&caller);
	fd = r < 0 ? r : nodes_open(node, oflags);
	if (r == 0)
		creds_leave();
	if (fd < 0)
		limits_give(caller.uid, LIMIT_FDS, 1);
	*ret_uid = caller.uid;
	return fd;
}

static void ops_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *node = node_of(ino);
	struct handle *h;
	uid_t uid;
	int fd;

	if (is_ctl_ino(ino)) {
		ctl_open_file(req, fi);
		return;
	}
	fd = open_as_caller(req, node, access_of(fi->flags) | (fi->flags & O_TRUNC), &uid);
	if (fd < 0) {
		/*
		 * The kernel strips O_CREAT from an open: ESTALE makes it look
		 * the name up again, and then create, or say ENOENT.
		 */
		fuse_reply_err(req, fd == -ENOENT ? ESTALE : -fd);
		return;
	}
	h = handle_new(fd, fi->flags, uid);
	if (!h) {
		pshm_close(fd, NULL);
		limits_give(uid, LIMIT_FDS, 1);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	nodes_attach(node, h);
	fi->fh = (uint64_t)(uintptr_t)h;
	set_open_mode(node, h, fi);
	if (fuse_reply_open(req, fi) != 0)
		handle_close(node, h);
}

/*
 * Opens or creates the segment full with mode as the caller: the kernel
 * checks the mode of an existing one, the sticky bit and
 * protected_regular, and a new one is the caller's, exactly as if they
 * had called shm_open themselves. A name that is not a segment (a FIFO,
 * a directory) is taken: -EEXIST. Returns the descriptor or -errno.
 */
static int create_segment(const struct creds *caller, const char *full, int oflags, mode_t mode)
{
	int fd, r;

	r = creds_enter(caller);
	if (r < 0)
		return r;
	fd = pshm_open_ex(full, oflags, mode & 0777, NULL, NULL);
	creds_leave();
	return fd == -ENXIO ? -EEXIST : fd;
}

/* Whether name may be created at parent; fills full with the segment name. */
static int create_check(fuse_ino_t parent, const char *name, char full[PSHM_NAME_MAX + 1])
{
	int r;

	if (parent == ANON_DIR_INO)
		return -EPERM; /* anonymous segments come from the "anon" command */
	if (is_reserved(parent, name))
		return -EEXIST;
	r = ops_segment_name(name, full);
	return r == -ENOENT ? -EINVAL : r; /* a segment named sem.* would be hidden */
}

static void ops_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		       struct fuse_file_info *fi)
{
	char full[PSHM_NAME_MAX + 1];
	struct fuse_entry_param e = { .attr_timeout = timeout(), .entry_timeout = timeout() };
	struct creds caller;
	struct node *node;
	struct handle *h;
	int fd, r;

	r = create_check(parent, name, full);
	creds_of_req(req, &caller);
	if (r == 0)
		r = limits_take(caller.uid, LIMIT_FDS, 1);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fd = create_segment(&caller, full,
			    access_of(fi->flags) | O_CREAT | (fi->flags & (O_EXCL | O_TRUNC)),
			    mode);
	if (fd < 0) {
		limits_give(caller.uid, LIMIT_FDS, 1);
		fuse_reply_err(req, -fd);
		return;
	}
	r = pshm_stat(fd, &e.attr, NULL);
	node = r < 0 ? NULL : nodes_get(full, 0, &e.attr, 1);
	h = node ? handle_new(fd, fi->flags, caller.uid) : NULL;
	if (!h) {
		if (node)
			nodes_forget(node, 1);
		pshm_close(fd, NULL);
		limits_give(caller.uid, LIMIT_FDS, 1);
		fuse_reply_err(req, r < 0 ? -r : ENOMEM);
		return;
	}
	nodes_attach(node, h);
	e.ino = (fuse_ino_t)(uintptr_t)node;
	e.generation = node->generation;
	fi->fh = (uint64_t)(uintptr_t)h;
	set_open_mode(node, h, fi);
	if (fuse_reply_create(req, &e, fi) != 0) {
		handle_close(node, h);
		nodes_forget(node, 1);
	}
}

static void ops_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	char full[PSHM_NAME_MAX + 1];
	struct creds caller;
	struct node *node;
	struct stat st;
	int fd, r;

	(void)rdev;
	if (!S_ISREG(mode)) {
		fuse_reply_err(req, EPERM); /* only segments live here */
		return;
	}
	r = create_check(parent, name, full);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	creds_of_req(req, &caller);
	fd = create_segment(&caller, full, O_RDONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0) {
		fuse_reply_err(req, -fd);
		return;
	}
	r = pshm_stat(fd, &st, NULL);
	pshm_close(fd, NULL);
	node = r < 0 ? NULL : nodes_get(full, 0, &st, 1);
	if (!node)
		fuse_reply_err(req, r < 0 ? -r : ENOMEM);
	else
		reply_entry(req, node, &st);
}

/*
 * No flush and no fsync: nothing is buffered in the daemon and memory has
 * nothing to sync, and leaving them out (ENOSYS) spares every close(2) and
 * fsync(2) a round trip, as the kernel then stops asking.
 */
static void ops_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	if (is_ctl_ino(ino)) {
		ctl_close(session_of(fi));
		fuse_reply_err(req, 0);
		return;
	}
	handle_close(node_of(ino), h);
	fuse_reply_err(req, 0);
}

/* A per-thread buffer for replies, freed when the thread ends. */
static pthread_key_t buffer_key;
static pthread_once_t buffer_once = PTHREAD_ONCE_INIT;

struct thread_buffer {
	size_t size;
	char data[];
};

static void make_buffer_key(void)
{
	pthread_key_create(&buffer_key, free);
}

static char *thread_buffer(size_t size)
{
	struct thread_buffer *b;

	pthread_once(&buffer_once, make_buffer_key);
	b = pthread_getspecific(buffer_key);
	if (b && b->size >= size)
		return b->data;
	free(b);
	b = malloc(sizeof(*b) + size);
	pthread_setspecific(buffer_key, b);
	if (!b)
		return NULL;
	b->size = size;
	return b->data;
}

static size_t page_round_up(uint64_t n)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);

	return (size_t)((n + page - 1) / page * page);
}

/*
 * Makes h's mapping cover at least end bytes, with h->map_lock held for
 * reading on return (0) and on error (-errno). The mapping grows in
 * doublings so a growing segment is not remapped on every read.
 */
static int map_covering(struct handle *h, uint64_t end)
{
	void *map;
	size_t len;
	int r;

	pthread_rwlock_rdlock(&h->map_lock);
	if (h->map_len >= end)
		return 0;
	pthread_rwlock_unlock(&h->map_lock);

	pthread_rwlock_wrlock(&h->map_lock);
	r = 0;
	if (h->map_len < end) {
		len = page_round_up(end > 2 * (uint64_t)h->map_len ? end
								   : 2 * (uint64_t)h->map_len);
		r = pshm_map(h->fd, NULL, len, PROT_READ, 0, &map, NULL);
		if (r == 0) {
			if (h->map)
				munmap(h->map, h->map_len);
			h->map = map;
			h->map_len = len;
		}
	}
	pthread_rwlock_unlock(&h->map_lock);
	pthread_rwlock_rdlock(&h->map_lock);
	return r < 0 ? r : (h->map_len >= end ? 0 : -ENOMEM);
}

#define RESIDENCY_CHUNK_PAGES 256

/*
 * Copies len bytes at off out of h's mapping (map_lock held) into buf.
 * Only pages that hold data are touched: a read fault on a hole of a tmpfs
 * mapping allocates a page, so reading a sparse segment through the mount
 * would fill it with zeros and use memory. mincore tells which pages exist;
 * the others (holes, or pages swapped out) are read with pread, which
 * allocates nothing. A page gone meanwhile (another process shrank the
 * segment) faults under the guard, and pread returns what exists instead.
 * Returns the bytes copied (short at the segment's current end) or -1.
 */
static ssize_t copy_out(struct handle *h, char *buf, size_t len, off_t off)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), done = 0;
	unsigned char resident[RESIDENCY_CHUNK_PAGES];

	while (done < len) {
		uint64_t pos = (uint64_t)off + done;
		uint64_t first = pos / page * page;
		size_t span = len - done, pages, i = 0;

		if (span > RESIDENCY_CHUNK_PAGES * page - (pos - first))
			span = RESIDENCY_CHUNK_PAGES * page - (pos - first);
		pages = (size_t)((pos - first + span + page - 1) / page);
		if (mincore(h->map + first, pages * page, resident) < 0)
			memset(resident, 0, pages); /* unknown: read it all with pread */
		while (i < pages && done < len) {
			size_t run = 1, start, count;
			ssize_t n;

			while (i + run < pages && (resident[i + run] & 1) == (resident[i] & 1))
				run++;
			/* The part of pages [i, i + run) that this read covers. */
			start = i == 0 ? (size_t)(pos - first) : 0;
			count = run * page - start;
			if (count > len - done)
				count = len - done;
			if ((resident[i] & 1) &&
			    guard_copy(buf + done, h->map + off + done, count) == 0) {
				n = (ssize_t)count;
			} else {
				n = pread(h->fd, buf + done, count, off + (off_t)done);
				if (n < 0)
					return done ? (ssize_t)done : -1;
			}
			done += (size_t)n;
			if ((size_t)n < count)
				return (ssize_t)done; /* the end moved in: a short read */
			i += run;
		}
	}
	return (ssize_t)done;
}

static void ops_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct stat st;
	size_t len;
	char *buf;
	ssize_t n;
	int r;

	if (is_ctl_ino(ino)) {
		buf = thread_buffer(size);
		n = buf ? ctl_read(session_of(fi), buf, size, ctl_context()) : -ENOMEM;
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_buf(req, buf, (size_t)n);
		return;
	}
	/* Never trust a cached size: another process may have resized the segment. */
	r = pshm_stat(h->fd, &st, NULL);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (off < 0 || off >= st.st_size || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	len = (uint64_t)(st.st_size - off) < size ? (size_t)(st.st_size - off) : size;
	/* Most reads: the kernel copies the segment's pages straight to the reader. */
	if (splice_reply(req, h->fd, len, off) == 0)
		return;
	/* Small ones: a copy out of the daemon's mapping costs less than a pipe. */
	r = map_covering(h, (uint64_t)off + len);
	buf = thread_buffer(len);
	if (!buf) {
		pthread_rwlock_unlock(&h->map_lock);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = r < 0 ? pread(h->fd, buf, len, off) : copy_out(h, buf, len, off);
	pthread_rwlock_unlock(&h->map_lock);
	if (n < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fuse_reply_buf(req, buf, (size_t)n);
}

static void ops_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	struct stat st;
	ssize_t n;

	if (is_ctl_ino(ino)) {
		n = ctl_write(session_of(fi), buf, size, ctl_context());
		if (n < 0)
			fuse_reply_err(req, (int)-n);
		else
			fuse_reply_write(req, (size_t)n);
		return;
	}
	if (access_of(h->flags) == O_RDONLY) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* The kernel's idea of the end may be stale: append at the real one. */
	if (h->flags & O_APPEND) {
		int r = pshm_stat(h->fd, &st, NULL);

		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		off = st.st_size;
	}
	n = pwrite(h->fd, buf, size, off);
	if (n < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_write(req, (size_t)n);
}

static void ops_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char full[PSHM_NAME_MAX + 1];
	struct creds caller;
	uint64_t id;
	int r;

	if (parent == ANON_DIR_INO) {
		r = anon_id_of(name, &id) ? anon_free(id, fuse_req_ctx(req)->uid) : -ENOENT;
		fuse_reply_err(req, -r);
		return;
	}
	if (is_reserved(parent, name)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	r = ops_segment_name(name, full);
	/*
	 * The kernel checked the sticky bit on the segment its entry means;
	 * if the name means another one now, it looks again (ESTALE). The
	 * unlink itself runs as the caller, so whatever the name means at
	 * that instant, the kernel decides whether the caller may remove it.
	 */
	if (r == 0)
		r = nodes_check_name(full);
	if (r == 0) {
		nodes_keep(full, fuse_req_ctx(req)->uid);
		r = act_as_caller(req, &caller);
	}
	if (r == 0) {
		r = pshm_unlink(full, NULL);
		creds_leave();
	}
	fuse_reply_err(req, -r);
}

/* The segment name for a rename's end: EXDEV outside the mount's segments. */
static int rename_end(fuse_ino_t dir, const char *name, char full[PSHM_NAME_MAX + 1])
{
	int r;

	if (dir != FUSE_ROOT_ID)
		return -EXDEV; /* .anon holds no names to move to or from */
	if (is_reserved(dir, name))
		return -EBUSY;
	r = ops_segment_name(name, full);
	return r == -ENOENT ? -EXDEV : r; /* sem.*: not a segment, not under this prefix */
}

/*
 * rename(2) inside the mount: renameat2 in /dev/shm, as the caller. The
 * segment keeps its inode, its holders and its mappings; the target is
 * replaced atomically. RENAME_NOREPLACE and RENAME_EXCHANGE are the
 * kernel's to honour.
 */
static void ops_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		       const char *newname, unsigned int flags)
{
	char from[PSHM_NAME_MAX + 1], to[PSHM_NAME_MAX + 1];
	char from_path[PSHM_NAME_MAX + sizeof(PSHM_DIR) + 1];
	char to_path[PSHM_NAME_MAX + sizeof(PSHM_DIR) + 1];
	struct creds caller;
	struct stat st;
	int r;

	r = rename_end(parent, name, from);
	if (r == 0)
		r = rename_end(newparent, newname, to);
	if (r == 0)
		r = nodes_check_name(from);
	if (r == 0 && (flags & RENAME_EXCHANGE))
		r = nodes_check_name(to);
	/* Only segments move, and only onto segments: a FIFO of that name is not ours. */
	if (r == 0 && pshm_stat_name(from, &st, NULL) < 0)
		r = -ENOENT;
	if (r == 0 && !(flags & RENAME_NOREPLACE)) {
		snprintf(to_path, sizeof(to_path), PSHM_DIR "/%s", to);
		if (lstat(to_path, &st) == 0 && !S_ISREG(st.st_mode))
			r = -EEXIST;
	}
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	snprintf(from_path, sizeof(from_path), PSHM_DIR "/%s", from);
	snprintf(to_path, sizeof(to_path), PSHM_DIR "/%s", to);
	r = act_as_caller(req, &caller);
	if (r == 0) {
		r = renameat2(AT_FDCWD, from_path, AT_FDCWD, to_path, flags) < 0 ? -errno : 0;
		creds_leave();
	}
	if (r == 0) {
		nodes_renamed(from, to);
		if (flags & RENAME_EXCHANGE)
			nodes_renamed(to, from);
	}
	fuse_reply_err(req, -r);
}

static void ops_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	(void)mode;
	/* The shm namespace is flat. */
	fuse_reply_err(req, is_reserved(parent, name) ? EEXIST : EPERM);
}

static void ops_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char full[PSHM_NAME_MAX + 1];
	int r;

	if (is_reserved(parent, name) || parent == ANON_DIR_INO) {
		fuse_reply_err(req, is_reserved(parent, name) && strcmp(name, ANON_DIR_NAME) == 0
					    ? EBUSY
					    : ENOTDIR);
		return;
	}
	r = ops_segment_name(name, full);
	if (r == 0) {
		struct stat st;

		r = pshm_stat_name(full, &st, NULL);
		if (r == 0)
			r = -ENOTDIR;
	}
	fuse_reply_err(req, -r);
}

static void ops_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EPERM);
}

static void ops_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EPERM);
}

/* A snapshot of the directory, taken at opendir, served by offset. */
struct dir_entry {
	ino_t ino;
	mode_t type; /* S_IFDIR or S_IFREG */
	size_t name_off;
};

struct dir_snapshot {
	struct dir_snapshot *prev, *next; /* every open one, for the exit */
	struct dir_entry *entries;
	size_t count, capacity;
	char *names;
	size_t names_len, names_capacity;
};

static int snapshot_add(struct dir_snapshot *d, const char *name, ino_t ino, mode_t type)
{
	size_t len = strlen(name) + 1;

	if (d->count == d->capacity) {
		size_t capacity = d->capacity ? d->capacity * 2 : 64;
		struct dir_entry *e = realloc(d->entries, capacity * sizeof(*e));

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
		names = realloc(d->names, capacity);
		if (!names)
			return -ENOMEM;
		d->names = names;
		d->names_capacity = capacity;
	}
	memcpy(d->names + d->names_len, name, len);
	d->entries[d->count++] =
		(struct dir_entry){ .ino = ino, .type = type, .name_off = d->names_len };
	d->names_len += len;
	return 0;
}

static struct {
	pthread_mutex_t lock;
	struct dir_snapshot *first;
} snapshots = { .lock = PTHREAD_MUTEX_INITIALIZER };

static struct dir_snapshot *snapshot_new(void)
{
	struct dir_snapshot *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	pthread_mutex_lock(&snapshots.lock);
	d->next = snapshots.first;
	if (d->next)
		d->next->prev = d;
	snapshots.first = d;
	pthread_mutex_unlock(&snapshots.lock);
	return d;
}

static void snapshot_free(struct dir_snapshot *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&snapshots.lock);
	if (d->prev)
		d->prev->next = d->next;
	else
		snapshots.first = d->next;
	if (d->next)
		d->next->prev = d->prev;
	pthread_mutex_unlock(&snapshots.lock);
	free(d->entries);
	free(d->names);
	free(d);
}

static int snapshot_anon(struct dir_snapshot *d)
{
	struct anon_info *list = NULL;
	size_t n = 0;
	int r = anon_list(ANON_ALL, &list, &n);

	for (size_t i = 0; i < n && r == 0; i++) {
		char name[24];

		snprintf(name, sizeof(name), "%" PRIu64, list[i].id);
		r = snapshot_add(d, name, list[i].st.st_ino, S_IFREG);
	}
	free(list);
	return r;
}

static int snapshot_take(struct dir_snapshot *d, fuse_ino_t ino, uid_t reader)
{
	struct pshm_iter *it;
	const char *name;
	int r;

	r = snapshot_add(d, ".", ino, S_IFDIR);
	if (r == 0)
		r = snapshot_add(d, "..", FUSE_ROOT_ID, S_IFDIR);
	if (r == 0 && ino == ANON_DIR_INO)
		return snapshot_anon(d);
	if (r == 0)
		r = snapshot_add(d, CTL_NAME, ctl_ino(reader), S_IFREG);
	if (r == 0)
		r = snapshot_add(d, ANON_DIR_NAME, ANON_DIR_INO, S_IFDIR);
	if (r == 0)
		r = pshm_iter_open(shmfs_config.prefix, &it, NULL);
	if (r < 0)
		return r;
	while ((r = pshm_iter_next(it, &name, NULL, NULL)) > 0) {
		const char *shown = name + shmfs_config.prefix_len;

		/* The bare prefix has no name inside the mount; .ctl and .anon shadow segments. */
		if (!*shown || is_reserved(FUSE_ROOT_ID, shown))
			continue;
		r = snapshot_add(d, shown, pshm_iter_ino(it), S_IFREG);
		if (r < 0)
			break;
	}
	pshm_iter_free(it);
	return r;
}

static void ops_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_snapshot *d;
	int r;

	if (ino != FUSE_ROOT_ID && ino != ANON_DIR_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	d = snapshot_new();
	r = d ? snapshot_take(d, ino, fuse_req_ctx(req)->uid) : -ENOMEM;
	if (r < 0) {
		snapshot_free(d);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	if (fuse_reply_open(req, fi) != 0)
		snapshot_free(d);
}

static void ops_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			struct fuse_file_info *fi)
{
	struct dir_snapshot *d = (struct dir_snapshot *)(uintptr_t)fi->fh;
	char *buf = thread_buffer(size);
	size_t used = 0;

	(void)ino;
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
 * One listed entry for readdirplus, as a lookup would give it now; *ret_node
 * gets the kernel reference it carries. An entry gone since the listing
 * gets no node (ino 0: the kernel looks it up when asked), not an error.
 */
static void plus_entry(fuse_req_t req, fuse_ino_t dir, const char *name, fuse_ino_t ino,
		       mode_t type, struct fuse_entry_param *e, struct node **ret_node)
{
	bool special = is_reserved(dir, name);
	int r = -ENOENT;

	*ret_node = NULL;
	/* . and ..: the kernel takes no reference for them. */
	if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
		/* By name: a segment's tmpfs inode number may well be 2 or 3 too. */
		r = special ? special_entry(req, name, e) : segment_entry(dir, name, e);
	if (r < 0)
		*e = (struct fuse_entry_param){ .attr = { .st_ino = ino, .st_mode = type } };
	else if (!special)
		*ret_node = node_of(e->ino);
}

/*
 * readdir with each entry's attributes and node: the kernel then has the
 * entries, and ls -l asks only for each one's attributes (which are
 * checked then, see nodes_stat), not for a lookup first.
 */
static void ops_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			    struct fuse_file_info *fi)
{
	struct dir_snapshot *d = (struct dir_snapshot *)(uintptr_t)fi->fh;
	char *buf = thread_buffer(size);
	/* An entry takes more than 64 bytes: room for every node one reply can carry. */
	struct node **sent = malloc((size / 64 + 1) * sizeof(*sent));
	size_t used = 0, count = 0;

	if (!buf || !sent) {
		free(sent);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->count; i++) {
		const char *name = d->names + d->entries[i].name_off;
		struct fuse_entry_param e;
		struct node *node;
		size_t n;

		plus_entry(req, ino, name, d->entries[i].ino, d->entries[i].type, &e, &node);
		n = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)(i + 1));
		if (n > size - used) {
			if (node)
				nodes_forget(node, 1); /* not sent: the kernel holds no reference */
			break;
		}
		used += n;
		if (node)
			sent[count++] = node;
	}
	/* Interrupted: the kernel never got the references. */
	if (fuse_reply_buf(req, buf, used) != 0)
		while (count)
			nodes_forget(sent[--count], 1);
	free(sent);
}

static void ops_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	snapshot_free((struct dir_snapshot *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void ops_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	(void)ino;
	if (statvfs(PSHM_DIR, &sv) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_statfs(req, &sv);
}

static void ops_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	xattr_get(req, is_special(ino) ? NULL : node_of(ino), name, size);
}

static void ops_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_list(req, is_special(ino) ? NULL : node_of(ino), size);
}

static void ops_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			 size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, ENOTSUP); /* the attributes are facts, not storage */
}

static void ops_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, ENOTSUP);
}

void ops_destroy_all(void)
{
	/* At exit the kernel may not have sent every releasedir yet. */
	while (snapshots.first)
		snapshot_free(snapshots.first);
}

const struct fuse_lowlevel_ops shmfs_ops = {
	.init = ops_init,
	.lookup = ops_lookup,
	.forget = ops_forget,
	.forget_multi = ops_forget_multi,
	.getattr = ops_getattr,
	.setattr = ops_setattr,
	.access = ops_access,
	.mknod = ops_mknod,
	.mkdir = ops_mkdir,
	.unlink = ops_unlink,
	.rmdir = ops_rmdir,
	.symlink = ops_symlink,
	.rename = ops_rename,
	.link = ops_link,
	.open = ops_open,
	.create = ops_create,
	.read = ops_read,
	.write = ops_write,
	.release = ops_release,
	.opendir = ops_opendir,
	.readdir = ops_readdir,
	.readdirplus = ops_readdirplus,
	.releasedir = ops_releasedir,
	.statfs = ops_statfs,
	.getxattr = ops_getxattr,
	.listxattr = ops_listxattr,
	.setxattr = ops_setxattr,
	.removexattr = ops_removexattr,
};

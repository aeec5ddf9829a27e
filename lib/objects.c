/* SPDX-License-Identifier: MIT */
/*
 * libpshm: every shared memory object on the machine and who holds it,
 * from /proc: named segments, segments unlinked but still open or mapped,
 * memfds, System V segments and shared anonymous mappings.
 *
 * One pass over /proc/PID/{fd,maps} finds the holders (status only of a
 * process that holds something, for its uid and command name). Only
 * descriptors whose link names a shared memory object are stat'ed (through
 * the /proc link, which reaches the object itself), so the scan never
 * waits on a FUSE file system, whatever other processes have open. Maps
 * lines are read whole and parsed strictly, so no path text can forge one.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pshm_i.h"

#define DELETED " (deleted)"
#define MEMFD_PREFIX "/memfd:"
#define SYSV_PREFIX "/SYSV"
#define ZERO_PATH "/dev/zero"
#define INITIAL_BUCKETS 256

struct object {
	struct pshm_object pub;
	struct object *next; /* in its hash bucket */
	dev_t dev;
	ino_t ino;
	size_t holder_capacity;
	struct pshm_holder *holders;
	char *text; /* pub.name and pub.path, one allocation of their own length */
};

struct pshm_scan {
	unsigned kinds;
	char ipc_ns[64]; /* this process's IPC namespace: System V ids are only unique in one */
	struct pshm_scan_options options;
	dev_t shm_dev; /* PSHM_DIR's device */
	struct object **buckets;
	size_t bucket_count, count;
	struct object **order; /* for pshm_scan_next, built at the end */
	size_t next;
	unsigned unreadable;
	char *buf; /* for whole files of /proc: maps, directories */
	size_t buf_size;
	/*
	 * A worker's part of a scan: its own table of what its processes
	 * hold; named and System V segments are the parent's, found there
	 * and copied in as they are held (merge_worker adds them up).
	 */
	const struct pshm_scan *parent;
	struct object *only; /* options.only's object, or NULL */
	size_t holder_total; /* holders added, for options.holders_max */
};

/* The process being scanned. */
struct process {
	long pid;
	unsigned long long start_time;
	uid_t uid;
	gid_t gid;
	char comm[16];
	int dir;          /* /proc/PID */
	bool status_read; /* uid and comm, read when it first holds something */
	bool gone;        /* its status could not be read: it exited */
};

static int read_status(struct process *p);

/*
 * Fills h's uid and comm from its process, whose status is read once and
 * only for processes that hold something (most hold nothing): false when
 * the process is gone.
 */
static bool owned_by(struct process *p, struct pshm_holder *h)
{
	if (!p->status_read) {
		p->gone = read_status(p) < 0;
		p->status_read = true;
	}
	h->uid = p->uid;
	h->start_time = p->start_time;
	memcpy(h->comm, p->comm, sizeof(h->comm));
	return !p->gone;
}

PSHM_EXPORT const char *pshm_kind_name(unsigned kind)
{
	switch (kind) {
	case PSHM_KIND_SEGMENT:
		return "segment";
	case PSHM_KIND_DELETED:
		return "deleted";
	case PSHM_KIND_MEMFD:
		return "memfd";
	case PSHM_KIND_SYSV:
		return "sysv";
	case PSHM_KIND_SHARED_ANON:
		return "shared-anon";
	}
	return NULL;
}

static size_t bucket_of(unsigned kind, dev_t dev, ino_t ino, size_t count)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)dev << 7) ^ kind;

	return (size_t)(h >> 29) & (count - 1);
}

static struct object *find(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino)
{
	struct object *o = s->buckets[bucket_of(kind, dev, ino, s->bucket_count)];

	while (o && !(o->pub.kind == kind && o->dev == dev && o->ino == ino))
		o = o->next;
	return o;
}

/*
 * The next object of o's identity after it, or NULL: a named segment with
 * several names (hard links) is one object per name, all in one bucket.
 */
static struct object *same_after(const struct object *o)
{
	struct object *next = o->next;

	while (next &&
	       !(next->pub.kind == o->pub.kind && next->dev == o->dev && next->ino == o->ino))
		next = next->next;
	return next;
}

static int grow(struct pshm_scan *s)
{
	size_t count = s->bucket_count * 2;
	struct object **buckets = calloc(count, sizeof(*buckets));

	if (!buckets)
		return -ENOMEM;
	for (size_t i = 0; i < s->bucket_count; i++) {
		while (s->buckets[i]) {
			struct object *o = s->buckets[i];
			size_t b = bucket_of(o->pub.kind, o->dev, o->ino, count);

			s->buckets[i] = o->next;
			o->next = buckets[b];
			buckets[b] = o;
		}
	}
	free(s->buckets);
	s->buckets = buckets;
	s->bucket_count = count;
	return 0;
}

/* Puts o into s's table: 0, or -ENOMEM. */
static int insert(struct pshm_scan *s, struct object *o)
{
	size_t b;

	if (s->count >= s->bucket_count && grow(s) < 0)
		return -ENOMEM;
	b = bucket_of(o->pub.kind, o->dev, o->ino, s->bucket_count);
	o->next = s->buckets[b];
	s->buckets[b] = o;
	s->count++;
	return 0;
}

/* A new object of kind with identity dev/ino and status st. NULL: out of memory. */
static struct object *object_new(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
				 const struct stat *st)
{
	struct object *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->pub.kind = kind;
	o->pub.name = o->pub.path = "";
	o->pub.st = *st;
	o->pub.shmid = -1;
	o->dev = dev;
	o->ino = ino;
	if (insert(s, o) < 0) {
		free(o);
		return NULL;
	}
	return o;
}

/* The object of kind with identity dev/ino, added with st when new. NULL: out of memory. */
static struct object *object_of(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
				const struct stat *st)
{
	struct object *o = find(s, kind, dev, ino);

	return o ? o : object_new(s, kind, dev, ino, st);
}

/*
 * An object the scan found before the processes (a named or System V
 * segment), or NULL; in a worker, its own copy of the parent's.
 */
static struct object *found_before(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino)
{
	const struct object *o;

	if (!(s->kinds & kind))
		return NULL;
	if (!s->parent)
		return find(s, kind, dev, ino);
	o = find((struct pshm_scan *)s->parent, kind, dev, ino);
	return o ? object_of(s, kind, dev, ino, &o->pub.st) : NULL;
}

static void object_free(struct object *o)
{
	free(o->holders);
	free(o->text);
	free(o);
}

/* Names o and gives the path that opens it: 0, or -ENOMEM. */
static int set_text(struct object *o, const char *name, const char *path)
{
	size_t name_len = strlen(name), path_len = strlen(path);
	char *text = malloc(name_len + path_len + 2);

	if (!text)
		return -ENOMEM;
	memcpy(text, name, name_len + 1);
	memcpy(text + name_len + 1, path, path_len + 1);
	free(o->text);
	o->text = text;
	o->pub.name = text;
	o->pub.path = text + name_len + 1;
	return 0;
}

static int add_holder(struct pshm_scan *s, struct object *o, const struct pshm_holder *h)
{
	if (s->options.holders_max && ++s->holder_total > s->options.holders_max)
		return -E2BIG;
	if (o->pub.holder_count == o->holder_capacity) {
		size_t capacity = o->holder_capacity ? o->holder_capacity * 2 : 4;
		struct pshm_holder *holders = realloc(o->holders, capacity * sizeof(*holders));

		if (!holders)
			return -ENOMEM;
		o->holders = holders;
		o->holder_capacity = capacity;
	}
	o->holders[o->pub.holder_count++] = *h;
	o->pub.holders = o->holders;
	return 0;
}

/*
 * Writes name into buf as a file name that is also one word of a .ctl
 * command: '/', '%' and space become %2F, %25 and %20, control bytes and
 * bytes above 0x7e %XX. A name from a maps line has its newlines as \012
 * (the kernel's escape there): decoded first, so that an object found
 * through a mapping has the name it has through a descriptor.
 */
static void escape_name(const char *name, size_t len, bool from_maps, char *buf, size_t size)
{
	size_t out = 0;

	for (size_t i = 0; i < len && out + 4 < size; i++) {
		unsigned char c = (unsigned char)name[i];

		if (from_maps && c == '\\' && i + 3 < len && memcmp(name + i + 1, "012", 3) == 0) {
			c = '\n';
			i += 3;
		}
		if (c == '/' || c == '%' || c == ' ' || c < 0x20 || c >= 0x7f)
			out += (size_t)snprintf(buf + out, size - out, "%%%02X", c);
		else
			buf[out++] = (char)c;
	}
	buf[out] = '\0';
}

/*
 * Names a deleted segment or a memfd NAME@INODE, its name escaped, and
 * gives the path that opens it: 0, or -ENOMEM.
 */
static int name_object(struct object *o, const char *name, size_t len, bool from_maps,
		       const char *path)
{
	char escaped[PSHM_OBJECT_NAME_MAX - 24], full[PSHM_OBJECT_NAME_MAX];

	escape_name(name, len, from_maps, escaped, sizeof(escaped));
	/* Fits: the escaped part leaves room for "@" and any inode number. */
	snprintf(full, sizeof(full), "%s@%ju", escaped, (uintmax_t)o->ino);
	return set_text(o, full, path);
}

/* Whether path ends with " (deleted)"; *ret_len is its length without it. */
static bool deleted(const char *path, size_t *ret_len)
{
	size_t len = strlen(path), suffix = strlen(DELETED);

	if (len < suffix || strcmp(path + len - suffix, DELETED) != 0)
		return false;
	*ret_len = len - suffix;
	return true;
}

/* Whether path is under this scan's shmfs mount (options.mount_path). */
static bool in_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;

	return len && strncmp(path, s->options.mount_path, len) == 0 && path[len] == '/' &&
	       !strchr(path + len + 1, '/');
}

/*
 * Whether path is a file of this scan's shmfs mount that may be a
 * segment: anything under it but its control file and .anon directory.
 */
static bool under_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;
	const char *rest = path + len + 1;

	return len && strncmp(path, s->options.mount_path, len) == 0 && path[len] == '/' &&
	       strcmp(rest, ".ctl") != 0 && strcmp(rest, ".anon") != 0;
}

/* fdinfo of a descriptor: its mount id and inode (-1/0 when unknown). */
static void fdinfo_of(int pid_dir, const char *fd_name, long *ret_mnt_id, ino_t *ret_ino)
{
	char path[300], info[1024];
	const char *p;
	ssize_t n;
	int fd;

	*ret_mnt_id = -1;
	*ret_ino = 0;
	snprintf(path, sizeof(path), "fdinfo/%s", fd_name);
	fd = openat(pid_dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, info, sizeof(info) - 1);
	close(fd);
	if (n <= 0)
		return;
	info[n] = '\0';
	p = strstr(info, "mnt_id:");
	if (p)
		*ret_mnt_id = strtol(p + 7, NULL, 10);
	p = strstr(info, "\nino:");
	if (p)
		*ret_ino = (ino_t)strtoull(p + 5, NULL, 10);
}

/*
 * A named segment's object by identity (found by pshm_iter first), or
 * NULL: the first of its names; hold_segment reaches them all.
 */
static struct object *segment_by_ino(struct pshm_scan *s, ino_t ino)
{
	return found_before(s, PSHM_KIND_SEGMENT, s->shm_dev, ino);
}

/*
 * Adds h to segment o (or nothing for NULL) under each of its names, so
 * that every name of a hard-linked file has the same holders. A worker
 * has one copy per inode: merge_part adds its holders to each name.
 */
static int hold_segment(struct pshm_scan *s, struct object *o, const struct pshm_holder *h)
{
	int r = 0;

	for (; o && r == 0; o = same_after(o))
		r = add_holder(s, o, h);
	return r;
}

/* A descriptor on target, for a scan of options.only: a holder of it, or not. */
static int fd_holds_only(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name,
			 const char *target, struct pshm_holder *h)
{
	struct stat st;

	if (under_mount(s, target)) {
		long mnt_id;
		ino_t ino;

		/* Through the mount: never stat'ed, that would ask its daemon. */
		fdinfo_of(p->dir, fd_name, &mnt_id, &ino);
		if (mnt_id != s->options.mount_id || ino != s->only->ino)
			return 0;
	} else if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) != 0 ||
		   fstatat(fd_dir, fd_name, &st, 0) < 0 || st.st_dev != s->only->dev ||
		   st.st_ino != s->only->ino) {
		return 0;
	}
	return owned_by(p, h) ? add_holder(s, s->only, h) : 0;
}

/*
 * The devices of the kernel's own mounts, where memfds, shared anonymous
 * memory and System V segments live: its internal tmpfs, and the internal
 * hugetlbfs of each huge page size. Learnt once from objects made here (a
 * memfd lives on the same internal mounts), never from a path: any
 * process can open or map a file whose path reads like one of these, with
 * any small inode number (a tmpfs of its own, pivot_root in a user
 * namespace), but not one on these devices.
 */
#define HUGE_PAGE_SIZES_MAX 8
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26 /* linux/memfd.h */
#endif
static struct {
	pthread_once_t once;
	dev_t shm;
	dev_t hugetlb[HUGE_PAGE_SIZES_MAX]; /* 0: none (no hugetlbfs, or fewer sizes) */
} kernel_mounts = { .once = PTHREAD_ONCE_INIT };

static dev_t memfd_device(unsigned flags)
{
	int fd = memfd_create("pshm-device", MFD_CLOEXEC | flags);
	struct stat st;
	dev_t dev = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0)
		dev = st.st_dev;
	close(fd);
	return dev;
}

static void learn_kernel_mounts(void)
{
	DIR *sizes = opendir("/sys/kernel/mm/hugepages");
	struct dirent *de;
	size_t n = 0;

	kernel_mounts.shm = memfd_device(0);
	kernel_mounts.hugetlb[n] = memfd_device(MFD_HUGETLB); /* the default size */
	n += kernel_mounts.hugetlb[n] != 0;
	/* Each size has its own internal mount: hugepages-2048kB is 1 << 21, MFD_HUGE_2MB. */
	while (sizes && n < HUGE_PAGE_SIZES_MAX && (de = readdir(sizes))) {
		unsigned long long kib;
		unsigned shift = 0;
		dev_t dev;
		bool known = false;

		if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1 || !kib)
			continue;
		while ((1ull << shift) < kib * 1024)
			shift++;
		dev = memfd_device(MFD_HUGETLB | (shift << MFD_HUGE_SHIFT));
		for (size_t i = 0; i < n; i++)
			known |= kernel_mounts.hugetlb[i] == dev;
		if (dev && !known)
			kernel_mounts.hugetlb[n++] = dev;
	}
	if (sizes)
		closedir(sizes);
}

/* Whether dev is one of the kernel's own shm or hugetlbfs mounts. */
static bool on_kernel_mount(dev_t dev)
{
	pthread_once(&kernel_mounts.once, learn_kernel_mounts);
	if (!dev)
		return false;
	if (dev == kernel_mounts.shm)
		return true;
	for (size_t i = 0; i < HUGE_PAGE_SIZES_MAX; i++)
		if (kernel_mounts.hugetlb[i] == dev)
			return true;
	return false;
}

static int scan_fd(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name)
{
	char target[PATH_MAX];
	struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = atoi(fd_name) };
	struct object *o = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n = readlinkat(fd_dir, fd_name, target, sizeof(target) - 1);
	unsigned kind;

	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (s->only)
		return fd_holds_only(s, p, fd_dir, fd_name, target, &h);
	if (in_mount(s, target)) {
		long mnt_id;
		ino_t ino;

		/* Through the mount: never stat'ed, that would ask its daemon. */
		fdinfo_of(p->dir, fd_name, &mnt_id, &ino);
		if (mnt_id != s->options.mount_id || !owned_by(p, &h))
			return 0;
		o = segment_by_ino(s, ino);
		return hold_segment(s, o, &h);
	}
	if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0)
		kind = deleted(target, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	else if (strncmp(target, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		kind = PSHM_KIND_MEMFD;
	else
		return 0;
	if (!(s->kinds & kind) || fstatat(fd_dir, fd_name, &st, 0) < 0 || !S_ISREG(st.st_mode) ||
	    !owned_by(p, &h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT || (kind == PSHM_KIND_DELETED && st.st_nlink > 0)) {
		/* " (deleted)" may be part of a real name: the link count decides. */
		o = st.st_dev == s->shm_dev ? segment_by_ino(s, st.st_ino) : NULL;
		return hold_segment(s, o, &h);
	}
	if (kind == PSHM_KIND_DELETED && st.st_dev != s->shm_dev)
		return 0; /* another tmpfs's file, not /dev/shm's */
	if (kind == PSHM_KIND_MEMFD && !on_kernel_mount(st.st_dev))
		return 0; /* a file of a tmpfs of someone's, named like a memfd */
	o = find(s, kind, st.st_dev, st.st_ino);
	if (!o) {
		char path[64];
		int r;

		o = object_of(s, kind, st.st_dev, st.st_ino, &st);
		if (!o)
			return -ENOMEM;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", p->pid, fd_name);
		if (kind == PSHM_KIND_DELETED)
			r = name_object(o, target + strlen(PSHM_DIR) + 1,
					len - strlen(PSHM_DIR) - 1, false, path);
		else
			r = name_object(o, target + strlen(MEMFD_PREFIX),
					(deleted(target, &len) ? len : (size_t)n) -
						strlen(MEMFD_PREFIX),
					false, path);
		if (r < 0)
			return r;
	}
	return add_holder(s, o, &h);
}

/* Room for at least size bytes in the scan's buffer. */
static int reserve(struct pshm_scan *s, size_t size)
{
	char *bigger;

	if (size <= s->buf_size)
		return 0;
	/* Doubling: /proc gives a few KiB per read, and a maps file may be megabytes. */
	if (size < s->buf_size * 2)
		size = s->buf_size * 2;
	bigger = realloc(s->buf, size);
	if (!bigger)
		return -ENOMEM;
	s->buf = bigger;
	s->buf_size = size;
	return 0;
}

static int scan_fds(struct pshm_scan *s, struct process *p)
{
	int fd_dir = openat(p->dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd_dir < 0 ? -errno : reserve(s, 16384);

	/* getdents64 itself: no stdio directory stream, one system call less per process. */
	while (r == 0) {
		long n = syscall(SYS_getdents64, fd_dir, s->buf, s->buf_size);

		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		for (long at = 0; at < n && r == 0;) {
			const struct dirent64 *de = (const struct dirent64 *)(s->buf + at);

			at += de->d_reclen;
			if (de->d_name[0] != '.')
				r = scan_fd(s, p, fd_dir, de->d_name);
		}
	}
	if (fd_dir >= 0)
		close(fd_dir);
	return r;
}

/* A hexadecimal or decimal field ending at sep: false when it is not one. */
static bool field(const char **at, int base, char sep, unsigned long long *ret)
{
	const char *p = *at;
	unsigned long long v = 0;

	if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		return false;
	for (; base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++) {
		unsigned d = isdigit((unsigned char)*p)
				     ? (unsigned)(*p - '0')
				     : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);

		if (v > (~0ULL - d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + d;
	}
	if (*p != sep)
		return false;
	*at = p + (sep ? 1 : 0);
	*ret = v;
	return true;
}

/*
 * One line of /proc/PID/maps, whole (NUL-terminated, no newline), parsed
 * strictly: "START-END PERMS OFFSET MAJOR:MINOR INODE", then the end or
 * spaces and the path.
 */
static bool parse_maps_line(const char *line, struct pshm_holder *h, unsigned *major_no,
			    unsigned *minor_no, unsigned long long *inode, const char **ret_path)
{
	unsigned long long offset, major_ull, minor_ull;
	const char *at = line;

	if (!field(&at, 16, '-', &h->start) || !field(&at, 16, ' ', &h->end))
		return false;
	for (int i = 0; i < 4; i++)
		if (!at[i] || at[i] == ' ')
			return false;
	if (at[4] != ' ')
		return false;
	memcpy(h->perms, at, 4);
	h->perms[4] = '\0';
	at += 5;
	if (!field(&at, 16, ' ', &offset) || !field(&at, 16, ':', &major_ull) ||
	    !field(&at, 16, ' ', &minor_ull) || major_ull > 0xfff || minor_ull > 0xfffff)
		return false;
	/* The inode ends the line, or spaces and the path follow. */
	if (!field(&at, 10, ' ', inode) && !field(&at, 10, '\0', inode))
		return false;
	while (*at == ' ')
		at++;
	*major_no = (unsigned)major_ull;
	*minor_no = (unsigned)minor_ull;
	*ret_path = at;
	return true;
}

/* Whether a System V mapping of this path is on the kernel's own mounts and of key. */
static bool sysv_mapping(dev_t dev, const char *path, key_t key)
{
	unsigned path_key;
	char end;

	if (!on_kernel_mount(dev))
		return false;
	return sscanf(path, SYSV_PREFIX "%8x%c", &path_key, &end) == 2 && end == ' ' &&
	       path_key == (unsigned)key;
}

/* The kind of a mapping by its path, or 0 for none of ours. */
static unsigned mapping_kind(const struct pshm_scan *s, const char *path, const char *perms,
			     dev_t dev)
{
	size_t len;

	if (strncmp(path, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0 && dev == s->shm_dev)
		return deleted(path, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	/* The others live on the kernel's own mounts: a path alone can be anyone's file. */
	if (!on_kernel_mount(dev))
		return 0;
	if (strncmp(path, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		return PSHM_KIND_MEMFD;
	if (strncmp(path, SYSV_PREFIX, strlen(SYSV_PREFIX)) == 0 && deleted(path, &len))
		return PSHM_KIND_SYSV;
	if (strcmp(path, ZERO_PATH DELETED) == 0 && perms[3] == 's')
		return PSHM_KIND_SHARED_ANON;
	return 0;
}

static int scan_mapping(struct pshm_scan *s, struct process *p, struct pshm_holder *h, dev_t dev,
			ino_t ino, const char *path)
{
	unsigned kind = mapping_kind(s, path, h->perms, dev);
	char files[48], opens[64], number[24];
	int r;
	struct object *o;
	struct stat st;
	size_t len;

	if (s->only) {
		/* Mapped directly, or through the mount (FUSE passthrough). */
		if (ino != s->only->ino ||
		    (dev != s->only->dev && !(s->options.mount_path &&
					      dev == s->options.mount_dev && under_mount(s, path))))
			return 0;
		return owned_by(p, h) ? add_holder(s, s->only, h) : 0;
	}
	if (s->options.mount_path && dev == s->options.mount_dev && in_mount(s, path)) {
		o = segment_by_ino(s, ino); /* mapped through the mount */
		return o && owned_by(p, h) ? hold_segment(s, o, h) : 0;
	}
	if (!kind || !(s->kinds & kind) || !owned_by(p, h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT) {
		o = segment_by_ino(s, ino);
		return hold_segment(s, o, h);
	}
	if (kind == PSHM_KIND_SYSV) {
		char ns[64];
		ssize_t n;

		/*
		 * The inode of a System V mapping is its id: its object comes
		 * from sysvipc, which is this IPC namespace's; the same id in
		 * another namespace is another segment.
		 */
		n = readlinkat(p->dir, "ns/ipc", ns, sizeof(ns) - 1);
		if (n <= 0 || (ns[n] = '\0', strcmp(ns, s->ipc_ns) != 0))
			return 0;
		o = find((struct pshm_scan *)(s->parent ? s->parent : s), PSHM_KIND_SYSV, 0, ino);
		if (!o || !sysv_mapping(dev, path, o->pub.key))
			return 0;
		o = found_before(s, PSHM_KIND_SYSV, 0, ino);
		return o ? add_holder(s, o, h) : 0;
	}
	o = find(s, kind, dev, ino);
	if (!o) {
		/* The object itself, through the mapping (root: CAP_SYS_ADMIN). */
		snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
		if (fstatat(p->dir, files, &st, 0) < 0 || st.st_ino != ino) {
			/* Not root: the mapping's length, and its holder as owner. */
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFREG | 0600;
			st.st_ino = ino;
			st.st_dev = dev;
			st.st_uid = p->uid;
			st.st_gid = p->gid;
			st.st_size = (off_t)(h->end - h->start);
		} else if (kind == PSHM_KIND_DELETED && st.st_nlink > 0) {
			o = segment_by_ino(s, ino); /* a real name that ends in " (deleted)" */
			return hold_segment(s, o, h);
		}
		o = object_of(s, kind, dev, ino, &st);
		if (!o)
			return -ENOMEM;
		snprintf(opens, sizeof(opens), "/proc/%ld/%s", p->pid, files);
		if (kind == PSHM_KIND_DELETED && deleted(path, &len))
			r = name_object(o, path + strlen(PSHM_DIR) + 1, len - strlen(PSHM_DIR) - 1,
					true, opens);
		else if (kind == PSHM_KIND_MEMFD)
			r = name_object(o, path + strlen(MEMFD_PREFIX),
					(deleted(path, &len) ? len : strlen(path)) -
						strlen(MEMFD_PREFIX),
					true, opens);
		else
			r = set_text(
				o,
				(snprintf(number, sizeof(number), "%ju", (uintmax_t)ino), number),
				opens);
		if (r < 0)
			return r;
	}
	if (h->perms[2] == 'x')
		o->pub.exec_mapped = true;
	return add_holder(s, o, h);
}

/* /proc/PID/maps whole into the scan's buffer, NUL-terminated: its length, or -errno. */
static ssize_t read_maps(struct pshm_scan *s, const struct process *p)
{
	int fd = openat(p->dir, "maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* The kernel fills a read with whole lines: read until it has no more. */
	do {
		if (reserve(s, len + 65536) < 0) {
			close(fd);
			return -ENOMEM;
		}
		n = read(fd, s->buf + len, s->buf_size - len - 1);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0);
	close(fd);
	if (n < 0)
		return -errno;
	s->buf[len] = '\0';
	return (ssize_t)len;
}

static int scan_maps(struct pshm_scan *s, struct process *p)
{
	ssize_t len = read_maps(s, p);
	char *line, *end;
	int r = 0;

	if (len < 0)
		return (int)len;
	for (line = s->buf; r == 0 && line < s->buf + len; line = end + 1) {
		struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = -1 };
		unsigned major_no, minor_no;
		unsigned long long inode;
		const char *path;

		end = memchr(line, '\n', (size_t)(s->buf + len - line));
		if (!end)
			end = s->buf + len;
		*end = '\0';
		/* Inode 0: no file, but a System V segment's inode is its id, which may be 0. */
		if (!parse_maps_line(line, &h, &major_no, &minor_no, &inode, &path) ||
		    (!inode && strncmp(path, SYSV_PREFIX, strlen(SYSV_PREFIX)) != 0))
			continue;
		r = scan_mapping(s, p, &h, makedev(major_no, minor_no), (ino_t)inode, path);
	}
	return r;
}

/*
 * When the process of the /proc/PID directory dir started (field 22 of
 * its stat, after the command name, which may hold spaces and ')'): 0
 * when it cannot be read.
 */
static unsigned long long start_time_at(int dir)
{
	char buf[1024];
	unsigned long long start = 0;
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *at;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	at = strrchr(buf, ')');
	/* The 20th space after it starts field 22. */
	for (int field = 0; at && field < 20; field++)
		at = strchr(at + 1, ' ');
	if (at && sscanf(at, " %llu", &start) != 1)
		start = 0;
	return start;
}

/* The process's real uid, gid, command name (from its status) and start time. */
static int read_status(struct process *p)
{
	char buf[2048], *line;
	int fd = openat(p->dir, "status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	line = strstr(buf, "\nUid:");
	if (!line || sscanf(line + 5, "%u", &p->uid) != 1)
		return -ENOENT;
	line = strstr(buf, "\nGid:");
	if (!line || sscanf(line + 5, "%u", &p->gid) != 1)
		return -ENOENT;
	snprintf(p->comm, sizeof(p->comm), "?");
	if (strncmp(buf, "Name:\t", 6) == 0) {
		size_t len = strcspn(buf + 6, "\n");

		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)len, buf + 6);
	}
	/* A command name is the process's to choose: keep it one word of text. */
	for (char *c = p->comm; *c; c++)
		if (!isgraph((unsigned char)*c))
			*c = '_';
	p->start_time = start_time_at(p->dir);
	return 0;
}

/* One process: its descriptors and mappings; 0, or -ENOMEM. */
static int scan_process(struct pshm_scan *s, int proc_dir, long pid, bool need_fds)
{
	char name[24];
	struct process p = { .pid = pid };
	int fds, maps;

	snprintf(name, sizeof(name), "%ld", pid);
	p.dir = openat(proc_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.dir < 0)
		return 0; /* exited meanwhile */
	fds = need_fds ? scan_fds(s, &p) : 0;
	maps = fds == -ENOMEM || fds == -E2BIG ? fds : scan_maps(s, &p);
	close(p.dir);
	if (fds == -ENOMEM || fds == -E2BIG)
		return fds;
	if (maps == -ENOMEM || maps == -E2BIG)
		return maps;
	if (fds == -EACCES || maps == -EACCES)
		s->unreadable++;
	return 0;
}

/* The processes, as /proc lists them now: their pids, ascending. */
static int list_processes(const struct pshm_scan *s, int proc_dir, long **ret, size_t *ret_count)
{
	long self = (long)getpid(), *pids = NULL;
	size_t count = 0, capacity = 0;
	struct dirent *de;
	int fd = dup(proc_dir);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);

	if (!dir) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || (s->options.skip_self && pid == self))
			continue;
		if (count == capacity) {
			long *bigger = realloc(pids, (capacity = capacity ? capacity * 2 : 256) *
							     sizeof(*pids));

			if (!bigger) {
				free(pids);
				closedir(dir);
				return -ENOMEM;
			}
			pids = bigger;
		}
		pids[count++] = pid;
	}
	closedir(dir);
	*ret = pids;
	*ret_count = count;
	return 0;
}

/* Processes are shared out among workers this many at a time. */
#define SCAN_BATCH 16
/* Workers of one scan at most, and processes per worker at least. */
#define SCAN_WORKERS_MAX 4
#define SCAN_PROCESSES_PER_WORKER 128

struct worker {
	struct pshm_scan *s; /* the worker's own part, or the scan itself */
	int proc_dir;
	bool need_fds;
	const long *pids;
	size_t count;
	size_t *next; /* the next batch to take, shared */
	int r;
	pthread_t thread;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	while (w->r == 0) {
		size_t at = __atomic_fetch_add(w->next, SCAN_BATCH, __ATOMIC_RELAXED);

		if (at >= w->count)
			break;
		for (size_t i = at; i < at + SCAN_BATCH && i < w->count && w->r == 0; i++) {
			const struct pshm_scan_options *o = &w->s->options;

			if (o->stop && o->stop(o->stop_ctx))
				w->r = -ETIMEDOUT;
			else
				w->r = scan_process(w->s, w->proc_dir, w->pids[i], w->need_fds);
		}
	}
	return NULL;
}

/* A worker's own part of s, empty: 0, or -ENOMEM. */
static int part_of(struct pshm_scan *s, struct pshm_scan **ret)
{
	struct pshm_scan *part = calloc(1, sizeof(*part));

	if (part)
		part->buckets = calloc(INITIAL_BUCKETS, sizeof(*part->buckets));
	if (!part || !part->buckets) {
		free(part);
		return -ENOMEM;
	}
	part->bucket_count = INITIAL_BUCKETS;
	part->kinds = s->kinds;
	memcpy(part->ipc_ns, s->ipc_ns, sizeof(part->ipc_ns));
	part->options = s->options;
	part->shm_dev = s->shm_dev;
	part->parent = s;
	if (s->only) {
		part->only = object_of(part, s->only->pub.kind, s->only->dev, s->only->ino,
				       &s->only->pub.st);
		if (!part->only) {
			pshm_scan_free(part);
			return -ENOMEM;
		}
	}
	*ret = part;
	return 0;
}

/*
 * Adds a worker's part into s and frees it: its objects move over, or
 * their holders join the same object's (another worker found it too).
 */
static int merge_part(struct pshm_scan *s, struct pshm_scan *part)
{
	int r = 0;

	for (size_t i = 0; i < part->bucket_count; i++) {
		while (part->buckets[i]) {
			struct object *o = part->buckets[i], *m;

			part->buckets[i] = o->next;
			m = find(s, o->pub.kind, o->dev, o->ino);
			if (!m && r == 0 && insert(s, o) == 0)
				continue;
			if (!m)
				r = -ENOMEM;
			/* Each object of that identity: every name of a hard-linked segment. */
			for (; m; m = same_after(m)) {
				for (size_t h = 0; r == 0 && h < o->pub.holder_count; h++)
					r = add_holder(s, m, &o->holders[h]);
				m->pub.exec_mapped |= o->pub.exec_mapped;
			}
			object_free(o);
		}
	}
	s->unreadable += part->unreadable;
	pshm_scan_free(part);
	return r;
}

static int by_process(const void *a, const void *b)
{
	const struct pshm_holder *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd > y->fd ? -1 : 1; /* descriptors first, then mappings */
	return x->start < y->start ? -1 : x->start > y->start;
}

/*
 * Every process, shared out among a few workers (one per CPU, at most
 * SCAN_WORKERS_MAX, and only for many processes): the cost of a scan is
 * the kernel's, once per process, and processes are independent.
 */
static int scan_processes(struct pshm_scan *s)
{
	/* Only mappings show System V segments and shared anonymous memory. */
	bool need_fds =
		s->only || (s->kinds & (PSHM_KIND_SEGMENT | PSHM_KIND_DELETED | PSHM_KIND_MEMFD));
	struct worker workers[SCAN_WORKERS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t count = 0, next = 0, n = 1;
	long *pids = NULL;
	int proc_dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (proc_dir < 0)
		return -errno;
	r = list_processes(s, proc_dir, &pids, &count);
	if (r < 0) {
		close(proc_dir);
		return r;
	}
	while (n < SCAN_WORKERS_MAX && (long)n < cpus &&
	       count / (n + 1) >= SCAN_PROCESSES_PER_WORKER)
		n++;
	for (size_t i = 0; i < n; i++)
		workers[i] = (struct worker){ .s = s,
					      .proc_dir = proc_dir,
					      .need_fds = need_fds,
					      .pids = pids,
					      .count = count,
					      .next = &next };
	/*
	 * One worker works on s itself; several each on a part of their own
	 * (s is only read meanwhile), added up at the end. Worker 0 is this
	 * thread; a worker that cannot start leaves its share to the others.
	 */
	for (size_t i = 0; n > 1 && i < n; i++) {
		if (part_of(s, &workers[i].s) < 0 ||
		    (i > 0 && pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0)) {
			if (workers[i].s != s)
				pshm_scan_free(workers[i].s);
			workers[i].s = s;
			n = i;
			break;
		}
	}
	if (n == 0) { /* not even worker 0's part: on s alone */
		workers[0].s = s;
		n = 1;
	}
	work(&workers[0]);
	r = workers[0].r;
	for (size_t i = 1; i < n; i++) {
		pthread_join(workers[i].thread, NULL);
		if (r == 0)
			r = workers[i].r;
	}
	for (size_t i = 0; i < n; i++) {
		if (workers[i].s != s) {
			int m = merge_part(s, workers[i].s);

			if (r == 0)
				r = m;
		}
	}
	free(pids);
	close(proc_dir);
	if (r < 0)
		return r;
	/* In process order, whichever worker found them. */
	for (size_t i = 0; i < s->bucket_count; i++)
		for (struct object *o = s->buckets[i]; o; o = o->next)
			if (o->pub.holder_count > 1)
				qsort(o->holders, o->pub.holder_count, sizeof(*o->holders),
				      by_process);
	return 0;
}

static int scan_segments(struct pshm_scan *s, struct pshm_error *err)
{
	struct pshm_iter *it;
	const char *name;
	struct stat st;
	int r = pshm_iter_open(NULL, &it, err);

	if (r < 0)
		return r;
	/* One object per name: the names of a hard-linked file share an inode. */
	while ((r = pshm_iter_next(it, &name, &st, err)) > 0) {
		struct object *o = object_new(s, PSHM_KIND_SEGMENT, st.st_dev, st.st_ino, &st);
		char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];

		snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
		if (!o || set_text(o, name, path) < 0) {
			r = pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
			break;
		}
	}
	pshm_iter_free(it);
	return r;
}

/* /proc/sysvipc/shm: one line per System V segment, with what shmctl(IPC_STAT) gives. */
static int scan_sysv(struct pshm_scan *s)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	char *line = NULL;
	size_t size = 0;
	int r = 0;

	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no System V IPC in this kernel */
	while (r == 0 && getline(&line, &size, f) > 0) {
		long long key, atime, dtime, ctime, rss, swap;
		unsigned long long bytes;
		unsigned long nattch;
		unsigned perms, uid, gid, cuid, cgid;
		int shmid, cpid, lpid;
		struct object *o;
		struct stat st = { 0 };
		char name[32];

		if (sscanf(line, "%lld %d %o %llu %d %d %lu %u %u %u %u %lld %lld %lld %lld %lld",
			   &key, &shmid, &perms, &bytes, &cpid, &lpid, &nattch, &uid, &gid, &cuid,
			   &cgid, &atime, &dtime, &ctime, &rss, &swap) != 16)
			continue; /* the header */
		st.st_mode = S_IFREG | (perms & 0777);
		st.st_ino = (ino_t)shmid;
		st.st_nlink = (nlink_t)nattch; /* its attachments, as a file's links */
		st.st_uid = uid;
		st.st_gid = gid;
		st.st_size = (off_t)bytes;
		st.st_blocks = (blkcnt_t)(rss / 512);
		st.st_blksize = 4096;
		st.st_atim.tv_sec = atime;                 /* the last attach */
		st.st_mtim.tv_sec = dtime ? dtime : ctime; /* the last detach, or creation */
		st.st_ctim.tv_sec = ctime;                 /* the last change */
		o = object_of(s, PSHM_KIND_SYSV, 0, (ino_t)shmid, &st);
		if (!o) {
			r = -ENOMEM;
			break;
		}
		o->pub.shmid = shmid;
		o->pub.key = (key_t)key;
		o->pub.nattch = nattch;
		snprintf(name, sizeof(name), "0x%08x@%d", (unsigned)key, shmid);
		if (set_text(o, name, "") < 0) {
			r = -ENOMEM;
			break;
		}
	}
	free(line);
	fclose(f);
	return r;
}

static int by_kind_and_name(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;

	if (x->pub.kind != y->pub.kind)
		return x->pub.kind < y->pub.kind ? -1 : 1;
	return strcmp(x->pub.name, y->pub.name);
}

PSHM_EXPORT int pshm_scan_open(unsigned kinds, const struct pshm_scan_options *options,
			       struct pshm_scan **ret, struct pshm_error *err)
{
	struct pshm_scan *s;
	struct stat dir;
	size_t n = 0;
	int r;

	if (!ret || !kinds || (kinds & ~PSHM_KIND_ALL))
		return pshm_fail(err, EINVAL, "scan", NULL, -1, "no or unknown kinds");
	if (stat(PSHM_DIR, &dir) < 0)
		return pshm_fail(err, errno, "stat", PSHM_DIR, -1, NULL);
	s = calloc(1, sizeof(*s));
	if (s)
		s->buckets = calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
	if (!s || !s->buckets) {
		free(s);
		return pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	}
	s->bucket_count = INITIAL_BUCKETS;
	s->kinds = kinds;
	if (readlink("/proc/self/ns/ipc", s->ipc_ns, sizeof(s->ipc_ns) - 1) <= 0)
		s->ipc_ns[0] = '\0';
	s->shm_dev = dir.st_dev;
	if (options)
		s->options = *options;
	if (s->options.only) {
		const struct stat *only = s->options.only;

		/* One known segment: its holders alone. */
		s->kinds = only->st_nlink > 0 ? PSHM_KIND_SEGMENT : PSHM_KIND_DELETED;
		s->only = object_of(s, s->kinds, only->st_dev, only->st_ino, only);
		r = s->only ? 0 : pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	} else {
		r = (kinds & PSHM_KIND_SEGMENT) ? scan_segments(s, err) : 0;
	}
	if (r == 0 && !s->only && (kinds & PSHM_KIND_SYSV)) {
		r = scan_sysv(s);
		if (r < 0)
			pshm_fail(err, -r, "read", "/proc/sysvipc/shm", -1, NULL);
	}
	/* Every kind needs the processes: for its holders, or to be found at all. */
	if (r == 0) {
		r = scan_processes(s);
		if (r < 0)
			pshm_fail(err, -r, "scan", "/proc", -1, NULL);
	}
	if (r == 0) {
		s->order = malloc((s->count ? s->count : 1) * sizeof(*s->order));
		if (!s->order)
			r = pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	}
	if (r < 0) {
		pshm_scan_free(s);
		return r;
	}
	for (size_t i = 0; i < s->bucket_count; i++)
		for (struct object *o = s->buckets[i]; o; o = o->next)
			s->order[n++] = o;
	qsort(s->order, n, sizeof(*s->order), by_kind_and_name);
	*ret = s;
	return 0;
}

PSHM_EXPORT int pshm_scan_next(struct pshm_scan *s, const struct pshm_object **ret)
{
	if (s->next >= s->count)
		return 0;
	*ret = &s->order[s->next++]->pub;
	return 1;
}

PSHM_EXPORT const struct pshm_object *pshm_scan_find(const struct pshm_scan *s, unsigned kind,
						     const char *name)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct object *o = s->order[mid];
		int c = o->pub.kind != kind ? (o->pub.kind < kind ? -1 : 1)
					    : strcmp(o->pub.name, name);

		if (c == 0)
			return &o->pub;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

PSHM_EXPORT unsigned pshm_scan_unreadable(const struct pshm_scan *s)
{
	return s->unreadable;
}

PSHM_EXPORT void pshm_scan_free(struct pshm_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->bucket_count; i++) {
		while (s->buckets[i]) {
			struct object *o = s->buckets[i];

			s->buckets[i] = o->next;
			object_free(o);
		}
	}
	free(s->buckets);
	free(s->order);
	free(s->buf);
	free(s);
}

PSHM_EXPORT bool pshm_process_readable(pid_t pid, unsigned long long start_time)
{
	char path[32];
	int dir, fd;
	bool same;

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return false;
	/*
	 * The directory stays that process's even if the pid is reused: once
	 * it is the one that started at start_time, fd below is its own.
	 */
	same = !start_time || start_time_at(dir) == start_time;
	/*
	 * What reading its descriptors takes: entering fd/ (its owner, the
	 * process's effective uid, or root when it is not dumpable; hidepid=)
	 * and ptrace_may_access(PTRACE_MODE_READ_FSCREDS), which each link
	 * asks and opening environ asks for any process, with or without
	 * descriptors: real, effective and saved ids, dumpable, capabilities.
	 */
	for (size_t i = 0; same && i < 2; i++) {
		fd = openat(dir, i == 0 ? "fd" : "environ",
			    O_RDONLY | O_CLOEXEC | (i == 0 ? O_DIRECTORY : 0));
		same = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	close(dir);
	return same;
}

PSHM_EXPORT bool pshm_holder_visible(const struct pshm_holder *h, const struct pshm_viewer *viewer)
{
	return !viewer->may_read || viewer->may_read(viewer->ctx, h->pid, h->start_time);
}

PSHM_EXPORT bool pshm_object_visible(const struct pshm_object *o, const struct pshm_viewer *viewer)
{
	pid_t last = -1;

	if (viewer->uid == 0)
		return true;
	if ((o->kind == PSHM_KIND_SEGMENT || o->kind == PSHM_KIND_SYSV) &&
	    o->st.st_uid == viewer->uid)
		return true;
	/* A process's holders come together: one question each. */
	for (size_t i = 0; i < o->holder_count; i++) {
		if (o->holders[i].pid == last)
			continue;
		last = o->holders[i].pid;
		if (pshm_holder_visible(&o->holders[i], viewer))
			return true;
	}
	return false;
}

PSHM_EXPORT int pshm_object_open(const struct pshm_object *o, int oflags, struct pshm_error *err)
{
	struct stat st;
	int fd;

	if ((oflags & ~O_ACCMODE) || (oflags & O_ACCMODE) == O_WRONLY)
		return pshm_fail(err, EINVAL, "open", o->path, -1, "O_RDONLY or O_RDWR only");
	if (!o->path[0])
		return pshm_fail(err, ENOENT, "open", o->name, -1,
				 "no path: an object no process has open or mapped");
	fd = open(o->path, oflags | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return pshm_fail(err, errno, "open", o->path, -1, NULL);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != o->st.st_ino ||
	    st.st_dev != o->st.st_dev) {
		close(fd);
		return pshm_fail(err, ESTALE, "open", o->path, -1,
				 "the path no longer reaches the object");
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

PSHM_EXPORT size_t pshm_scan_count(const struct pshm_scan *s)
{
	return s->count;
}

const struct pshm_object *pshm_scan_at(const struct pshm_scan *s, size_t i)
{
	return &s->order[i]->pub;
}

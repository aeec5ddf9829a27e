/* SPDX-License-Identifier: MIT */
/*
 * libpshm: a scan's table of objects (objects_i.h) and the public calls
 * that read a finished scan: its objects by kind and name, who may see
 * them, opening one. The scan itself runs in scan.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "objects_i.h"

#define INITIAL_BUCKETS 256

/* Each kind: its name, and the directory a shmfs mount shows its objects in. */
static const struct {
	unsigned kind;
	const char *name, *dir;
} kinds[] = {
	{ PSHM_KIND_SEGMENT, "segment", NULL },
	{ PSHM_KIND_DELETED, "deleted", PSHM_KIND_DELETED_DIR },
	{ PSHM_KIND_MEMFD, "memfd", PSHM_KIND_MEMFD_DIR },
	{ PSHM_KIND_SYSV, "sysv", PSHM_KIND_SYSV_DIR },
	{ PSHM_KIND_SHARED_ANON, "shared-anon", PSHM_KIND_SHARED_ANON_DIR },
	{ PSHM_KIND_HUGETLB, "hugetlb", PSHM_KIND_HUGETLB_DIR },
};

PSHM_EXPORT const char *pshm_kind_name(unsigned kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].name;
	return NULL;
}

PSHM_EXPORT const char *pshm_kind_dir(unsigned kind)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].kind == kind)
			return kinds[i].dir;
	return NULL;
}

struct pshm_scan *objects_scan_new(void)
{
	struct pshm_scan *s = calloc(1, sizeof(*s));

	if (s)
		s->buckets = calloc(INITIAL_BUCKETS, sizeof(*s->buckets));
	if (!s || !s->buckets) {
		free(s);
		return NULL;
	}
	s->bucket_count = INITIAL_BUCKETS;
	return s;
}

int objects_reserve(struct pshm_scan *s, size_t size)
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

static size_t bucket_of(unsigned kind, dev_t dev, ino_t ino, size_t count)
{
	uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)dev << 7) ^ kind;

	return (size_t)(h >> 29) & (count - 1);
}

struct object *objects_find(const struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino)
{
	struct object *o = s->buckets[bucket_of(kind, dev, ino, s->bucket_count)];

	while (o && !(o->kind == kind && o->dev == dev && o->ino == ino))
		o = o->next;
	return o;
}

struct object *objects_same_after(const struct object *o)
{
	struct object *next = o->next;

	while (next && !(next->kind == o->kind && next->dev == o->dev && next->ino == o->ino))
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
			size_t b = bucket_of(o->kind, o->dev, o->ino, count);

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

int objects_insert(struct pshm_scan *s, struct object *o)
{
	size_t b;

	if (s->count >= s->bucket_count && grow(s) < 0)
		return -ENOMEM;
	b = bucket_of(o->kind, o->dev, o->ino, s->bucket_count);
	o->next = s->buckets[b];
	s->buckets[b] = o;
	s->count++;
	return 0;
}

struct object *objects_new(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
			   const struct stat *st)
{
	struct object *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->kind = o->pub.kind = o->pub.made_as = kind;
	o->pub.name = o->pub.path = "";
	o->pub.st = *st;
	o->pub.shmid = -1;
	o->dev = dev;
	o->ino = ino;
	if (objects_insert(s, o) < 0) {
		free(o);
		return NULL;
	}
	return o;
}

struct object *objects_of(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
			  const struct stat *st)
{
	struct object *o = objects_find(s, kind, dev, ino);

	return o ? o : objects_new(s, kind, dev, ino, st);
}

struct object *objects_found_before(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino)
{
	const struct object *o;

	if (!(s->kinds & kind))
		return NULL;
	if (!s->parent)
		return objects_find(s, kind, dev, ino);
	o = objects_find(s->parent, kind, dev, ino);
	return o ? objects_of(s, kind, dev, ino, &o->pub.st) : NULL;
}

void objects_free(struct object *o)
{
	free(o->holders);
	free(o->text);
	free(o);
}

int objects_set_text(struct object *o, const char *name, const char *path)
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

int objects_count_holder(struct pshm_scan *s)
{
	if (s->options.holders_max && ++s->holder_total > s->options.holders_max)
		return -E2BIG;
	return 0;
}

int objects_append_holder(struct object *o, const struct pshm_holder *h)
{
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

void objects_drop_holders(struct pshm_scan *s, pid_t pid)
{
	for (size_t i = 0; i < s->bucket_count; i++) {
		for (struct object *o = s->buckets[i]; o; o = o->next) {
			size_t kept = 0;

			for (size_t h = 0; h < o->pub.holder_count; h++)
				if (o->holders[h].pid != pid)
					o->holders[kept++] = o->holders[h];
			s->holder_total -= o->pub.holder_count - kept;
			o->pub.holder_count = kept;
		}
	}
}

int objects_add_holder(struct pshm_scan *s, struct object *o, const struct pshm_holder *h)
{
	int r = objects_count_holder(s);

	return r < 0 ? r : objects_append_holder(o, h);
}

struct object *objects_segment(struct pshm_scan *s, ino_t ino)
{
	return objects_found_before(s, PSHM_KIND_SEGMENT, s->shm_dev, ino);
}

int objects_hold_segment(struct pshm_scan *s, struct object *o, const struct pshm_holder *h)
{
	int r = 0;

	for (; o && r == 0; o = objects_same_after(o))
		r = objects_add_holder(s, o, h);
	return r;
}

void objects_note_namespace(struct scan_namespace *list, size_t *count, size_t max,
			    unsigned long long ns, pid_t pid)
{
	size_t last = 0;

	for (size_t i = 0; i < *count; i++) {
		if (list[i].ns == ns) {
			if (pid < list[i].pid)
				list[i].pid = pid;
			return;
		}
		if (list[i].pid > list[last].pid)
			last = i;
	}
	if (*count < max)
		list[(*count)++] = (struct scan_namespace){ .ns = ns, .pid = pid };
	else if (max && pid < list[last].pid)
		list[last] = (struct scan_namespace){ .ns = ns, .pid = pid };
}

/*
 * Writes name into buf as a file name that is also one word of a line of
 * text: '/', '%' and space become %2F, %25 and %20, control bytes and
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

int objects_name(struct object *o, const char *name, size_t len, bool from_maps, const char *path)
{
	char escaped[PSHM_OBJECT_NAME_MAX - 24], full[PSHM_OBJECT_NAME_MAX];

	escape_name(name, len, from_maps, escaped, sizeof(escaped));
	/* Fits: the escaped part leaves room for "@" and any inode number. */
	snprintf(full, sizeof(full), "%s@%ju", escaped, (uintmax_t)o->ino);
	return objects_set_text(o, full, path);
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

PSHM_EXPORT unsigned pshm_scan_ipc_skipped(const struct pshm_scan *s)
{
	return s->ipc_skipped + s->ipc_unnoted;
}

/* Where u goes among s's named ones (the lowest pids), or -1 when it is not among them. */
static int unreadable_slot(const struct pshm_scan *s, pid_t pid)
{
	size_t highest = 0;

	if (s->unreadable_named < PSHM_UNREADABLE_NAMED)
		return (int)s->unreadable_named;
	for (size_t i = 1; i < s->unreadable_named; i++)
		if (s->unreadable_pids[i].pid > s->unreadable_pids[highest].pid)
			highest = i;
	return pid < s->unreadable_pids[highest].pid ? (int)highest : -1;
}

static void unreadable_add(struct pshm_scan *s, const struct pshm_unreadable *u)
{
	int slot = unreadable_slot(s, u->pid);

	if (slot < 0)
		return;
	if ((size_t)slot == s->unreadable_named)
		s->unreadable_named++;
	s->unreadable_pids[slot] = *u;
}

void objects_unreadable(struct pshm_scan *s, int proc_dir, long pid, int error)
{
	struct pshm_unreadable u = { .pid = (pid_t)pid, .error = error, .uid = (uid_t)-1 };
	char path[40];
	struct stat st;
	ssize_t n;
	int fd;

	s->unreadable++;
	if (unreadable_slot(s, u.pid) < 0)
		return;
	/* Who it is, as anyone may see it (ps): the owner of /proc/PID, its comm. */
	snprintf(path, sizeof(path), "%ld", pid);
	if (fstatat(proc_dir, path, &st, 0) == 0)
		u.uid = st.st_uid;
	snprintf(path, sizeof(path), "%ld/comm", pid);
	fd = openat(proc_dir, path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, u.comm, sizeof(u.comm) - 1);
	if (fd >= 0)
		close(fd);
	u.comm[n > 0 ? n : 0] = '\0';
	/* One printable word, as a holder's comm (process.c). */
	u.comm[strcspn(u.comm, "\n")] = '\0';
	for (char *c = u.comm; *c; c++)
		if (*c <= ' ' || *c > '~' || *c == '\\')
			*c = '_';
	if (!u.comm[0])
		snprintf(u.comm, sizeof(u.comm), "?");
	unreadable_add(s, &u);
}

void objects_merge_unreadable(struct pshm_scan *s, const struct pshm_scan *part)
{
	s->unreadable += part->unreadable;
	for (size_t i = 0; i < part->unreadable_named; i++)
		unreadable_add(s, &part->unreadable_pids[i]);
}

static int by_pid(const void *a, const void *b)
{
	const struct pshm_unreadable *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

PSHM_EXPORT size_t pshm_scan_unreadable_pids(const struct pshm_scan *s, struct pshm_unreadable *ret,
					     size_t max)
{
	struct pshm_unreadable sorted[PSHM_UNREADABLE_NAMED];
	size_t n = s->unreadable_named;

	memcpy(sorted, s->unreadable_pids, n * sizeof(sorted[0]));
	qsort(sorted, n, sizeof(sorted[0]), by_pid);
	if (n > max)
		n = max;
	if (n)
		memcpy(ret, sorted, n * sizeof(sorted[0]));
	return n;
}

PSHM_EXPORT void pshm_scan_free(struct pshm_scan *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->bucket_count; i++) {
		while (s->buckets[i]) {
			struct object *o = s->buckets[i];

			s->buckets[i] = o->next;
			objects_free(o);
		}
	}
	free(s->buckets);
	free(s->order);
	free(s->buf);
	free(s->pending);
	free(s->other_ipcs);
	free(s->task_cgroups);
	free(s);
}

unsigned long long pshm_scan_task_cgroup(const struct pshm_scan *s, pid_t pid, bool v2)
{
	size_t low = 0, high = s->task_cgroup_count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (s->task_cgroups[mid].pid == pid)
			return v2 ? s->task_cgroups[mid].v2 : s->task_cgroups[mid].memory;
		if (s->task_cgroups[mid].pid < pid)
			low = mid + 1;
		else
			high = mid;
	}
	return 0;
}

PSHM_EXPORT bool pshm_holder_visible(const struct pshm_holder *h, const struct pshm_viewer *viewer)
{
	return !viewer->may_read || viewer->may_read(viewer->ctx, h->pid, h->start_time);
}

PSHM_EXPORT bool pshm_object_visible(const struct pshm_object *o, const struct pshm_viewer *viewer)
{
	pid_t last = -1;

	/* Every name in PSHM_DIR is in its listing, which anyone may read. */
	if (viewer->uid == 0 || o->kind == PSHM_KIND_SEGMENT)
		return true;
	if (o->made_as == PSHM_KIND_SYSV && o->st.st_uid == viewer->uid)
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

/* The status of the file dir/path leads to, asking no file system (AT_STATX_DONT_SYNC). */
static int statx_no_sync(int dir, const char *path, int flags, struct stat *ret)
{
	struct statx sx;

	if (statx(dir, path, flags | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) < 0)
		return -errno;
	*ret = (struct stat){
		.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
		.st_ino = (ino_t)sx.stx_ino,
		.st_mode = sx.stx_mode,
		.st_nlink = sx.stx_nlink,
		.st_uid = sx.stx_uid,
		.st_gid = sx.stx_gid,
		.st_rdev = makedev(sx.stx_rdev_major, sx.stx_rdev_minor),
		.st_size = (off_t)sx.stx_size,
		.st_blksize = (blksize_t)sx.stx_blksize,
		.st_blocks = (blkcnt_t)sx.stx_blocks,
		.st_atim = { .tv_sec = sx.stx_atime.tv_sec, .tv_nsec = sx.stx_atime.tv_nsec },
		.st_mtim = { .tv_sec = sx.stx_mtime.tv_sec, .tv_nsec = sx.stx_mtime.tv_nsec },
		.st_ctim = { .tv_sec = sx.stx_ctime.tv_sec, .tv_nsec = sx.stx_ctime.tv_nsec },
	};
	return 0;
}

PSHM_EXPORT int pshm_link_stat(int dir, const char *path, struct stat *ret)
{
	return statx_no_sync(dir, path, 0, ret);
}

PSHM_EXPORT int pshm_link_open(const char *path, int oflags, dev_t dev, ino_t ino)
{
	char self[32];
	struct stat st;
	/* The link resolved once: O_PATH asks the file system nothing, opens nothing. */
	int at = open(path, O_PATH | O_CLOEXEC), fd, r;

	if (at < 0)
		return -errno;
	r = statx_no_sync(at, "", AT_EMPTY_PATH, &st);
	if (r == 0 && (!S_ISREG(st.st_mode) || st.st_dev != dev || st.st_ino != ino))
		r = -ESTALE; /* its process put another file there */
	if (r == 0) {
		/* That very file, opened again: whatever the process does to its link now. */
		snprintf(self, sizeof(self), "/proc/self/fd/%d", at);
		fd = open(self, oflags | O_CLOEXEC);
		r = fd < 0 ? -errno : fd;
	}
	close(at);
	return r;
}

PSHM_EXPORT int pshm_object_open(const struct pshm_object *o, int oflags, struct pshm_error *err)
{
	int fd;

	if ((oflags & ~O_ACCMODE) || (oflags & O_ACCMODE) == O_WRONLY)
		return pshm_fail(err, EINVAL, "open", o->path, -1, "O_RDONLY or O_RDWR only");
	if (!o->path[0])
		return pshm_fail(err, ENOENT, "open", o->name, -1,
				 "no path: an object no process has open or mapped");
	fd = pshm_link_open(o->path, oflags | O_NONBLOCK, o->st.st_dev, o->st.st_ino);
	if (fd == -ESTALE)
		return pshm_fail(err, ESTALE, "open", o->path, -1,
				 "the path no longer reaches the object");
	if (fd < 0)
		return pshm_fail(err, -fd, "open", o->path, -1, NULL);
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

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: mount tables, read from /proc/PID/mountinfo and never through
 * a mount (a FUSE mount could block any path walk into it): the tmpfs
 * mounts that hold shared memory, here and in other mount namespaces, and
 * a shmfs mount whose clients count as holders (pshm_scan_options).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "procs_i.h"

unsigned long long pshm_used_bytes(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return 0;
	return (unsigned long long)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* At most this many tmpfs mounts of other mount namespaces are measured (the rest is unexplained). */
#define OTHER_MOUNTS_MAX 128

/* One line of a mountinfo, pointing into it. */
struct mount_line {
	long id;
	unsigned major_no, minor_no;
	const char *point; /* escaped as mountinfo writes it */
	size_t point_len;
	const char *type;
	size_t type_len;
};

/* Parses the mountinfo line [line, end), of any length: false for a malformed one. */
static bool parse_mount(const char *line, const char *end, struct mount_line *m)
{
	const char *p = line, *q;
	char *num_end;

	m->id = strtol(p, &num_end, 10);
	if (num_end == p || *num_end != ' ')
		return false;
	(void)strtol(num_end + 1, &num_end, 10); /* the parent */
	if (*num_end != ' ')
		return false;
	m->major_no = (unsigned)strtoul(num_end + 1, &num_end, 10);
	if (*num_end != ':')
		return false;
	m->minor_no = (unsigned)strtoul(num_end + 1, &num_end, 10);
	if (*num_end != ' ')
		return false;
	p = memchr(num_end + 1, ' ', (size_t)(end - num_end - 1)); /* after the root */
	if (!p)
		return false;
	m->point = p + 1;
	q = memchr(m->point, ' ', (size_t)(end - m->point));
	if (!q)
		return false;
	m->point_len = (size_t)(q - m->point);
	p = memmem(q, (size_t)(end - q), " - ", 3);
	if (!p)
		return false;
	m->type = p + 3;
	q = memchr(m->type, ' ', (size_t)(end - m->type));
	m->type_len = (size_t)((q ? q : end) - m->type);
	return true;
}

static bool type_is(const struct mount_line *m, const char *type)
{
	return m->type_len == strlen(type) && memcmp(m->type, type, m->type_len) == 0;
}

static bool type_is_fuse(const struct mount_line *m)
{
	return m->type_len >= 4 && memcmp(m->type, "fuse", 4) == 0;
}

/* The mount point decoded (mountinfo writes space, tab, newline, backslash as \ooo); free it. */
static char *decode_point(const struct mount_line *m)
{
	char *out = malloc(m->point_len + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < m->point_len; i++) {
		const char *in = m->point + i;

		if (i + 3 < m->point_len && in[0] == '\\' && in[1] >= '0' && in[1] <= '3' &&
		    in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
			*o++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			i += 3;
		} else {
			*o++ = *in;
		}
	}
	*o = '\0';
	return out;
}

/* path as one printable word: space, backslash and control bytes as \ooo; free it. */
static char *shown_path(const char *path)
{
	char *out = malloc(strlen(path) * 4 + 1), *o = out;

	if (!out)
		return NULL;
	for (const unsigned char *c = (const unsigned char *)path; *c; c++)
		if (*c <= ' ' || *c == '\\' || *c == 0x7f)
			o += sprintf(o, "\\%03o", *c);
		else
			*o++ = (char)*c;
	*o = '\0';
	return out;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The FUSE mount points of one mountinfo, decoded and sorted. */
struct fuse_points {
	char **points;
	size_t count;
	bool unknown; /* one could not be read: nothing there is measured */
};

static void fuse_points_free(struct fuse_points *f)
{
	for (size_t i = 0; i < f->count; i++)
		free(f->points[i]);
	free(f->points);
}

static int fuse_points_of(const char *info, struct fuse_points *ret)
{
	struct fuse_points f = { 0 };
	size_t cap = 0;

	for (const char *line = info, *end; *line; line = end + (*end != '\0')) {
		struct mount_line m;
		char *point;

		end = strchrnul(line, '\n');
		if (!parse_mount(line, end, &m)) {
			f.unknown = true;
			continue;
		}
		if (!type_is_fuse(&m))
			continue;
		point = decode_point(&m);
		if (point && f.count == cap) {
			char **more = realloc(f.points, (cap ? cap * 2 : 8) * sizeof(*more));

			if (more) {
				f.points = more;
				cap = cap ? cap * 2 : 8;
			}
		}
		if (!point || f.count == cap) {
			free(point);
			fuse_points_free(&f);
			return -ENOMEM;
		}
		f.points[f.count++] = point;
	}
	if (f.count > 1)
		qsort(f.points, f.count, sizeof(*f.points), by_string);
	*ret = f;
	return 0;
}

/* Whether point lies strictly below one of f's FUSE mounts (a walk there could block). */
static bool under_fuse(const struct fuse_points *f, const char *point)
{
	size_t len = strlen(point);
	bool found = false;
	char *prefix;

	if (f->unknown)
		return true;
	if (!f->count || len <= 1)
		return false;
	prefix = malloc(len + 1);
	if (!prefix)
		return true;
	/* Each directory above point: "/", then "/a", "/a/b", ... */
	for (size_t i = 0; i < len && !found; i++) {
		size_t prefix_len = i == 0 ? 1 : i;

		if (point[i] != '/')
			continue;
		memcpy(prefix, point, prefix_len);
		prefix[prefix_len] = '\0';
		found = bsearch(&prefix, f->points, f->count, sizeof(*f->points), by_string) !=
			NULL;
	}
	free(prefix);
	return found;
}

struct mounts_walk {
	int (*fn)(void *ctx, const char *mount_point, unsigned long long used);
	void *ctx;
	dev_t *seen; /* each file system once */
	size_t seen_count, seen_cap;
	size_t other_count; /* measured in other namespaces */
	dev_t shm_dir;
	unsigned namespaces_max; /* other namespaces read at most */
	uint64_t deadline_ms;    /* CLOCK_MONOTONIC: no other namespace read after it */
	struct pshm_mounts_walked walked;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool seen_before(struct mounts_walk *w, dev_t dev)
{
	for (size_t i = 0; i < w->seen_count; i++)
		if (w->seen[i] == dev)
			return true;
	return false;
}

static int remember(struct mounts_walk *w, dev_t dev)
{
	if (w->seen_count == w->seen_cap) {
		size_t cap = w->seen_cap ? w->seen_cap * 2 : 16;
		dev_t *more = realloc(w->seen, cap * sizeof(*more));

		if (!more)
			return -ENOMEM;
		w->seen = more;
		w->seen_cap = cap;
	}
	w->seen[w->seen_count++] = dev;
	return 0;
}

/*
 * Whether the root directory of a namespace's process (root: "/", or
 * /proc/PID/root) is on a mount its mountinfo shows, and no FUSE one:
 * a process chrooted inside a FUSE mount sees no line for it. Asked
 * with AT_STATX_DONT_SYNC, which never waits on a FUSE daemon.
 */
static bool root_is_known(const char *root, const char *info)
{
	struct statx stx;

	if (statx(AT_FDCWD, root, AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) < 0 ||
	    !(stx.stx_mask & STATX_MNT_ID))
		return false;
	for (const char *line = info, *end; *line; line = end + (*end != '\0')) {
		struct mount_line m;

		end = strchrnul(line, '\n');
		if (parse_mount(line, end, &m) && m.id >= 0 &&
		    (unsigned long long)m.id == stx.stx_mnt_id)
			return !type_is_fuse(&m);
	}
	return false;
}

/*
 * Calls w->fn for each tmpfs of one mount namespace's mountinfo (info),
 * whose paths are reached under root ("" for this namespace's, or
 * /proc/PID/root): 0, or fn's first non-zero result (-ENOMEM).
 */
static int walk_mounts(struct mounts_walk *w, const char *root, const char *info)
{
	struct fuse_points fuse;
	int r = fuse_points_of(info, &fuse);

	if (r < 0)
		return r;
	/* Another namespace's process may be chrooted inside a FUSE mount. */
	if (*root && !root_is_known(root, info))
		fuse.unknown = true; /* nothing is measured */
	for (const char *line = info, *end; r == 0 && *line; line = end + (*end != '\0')) {
		char *point, *path, *shown = NULL;
		struct mount_line m;
		struct stat at;
		dev_t dev;

		end = strchrnul(line, '\n');
		if (!parse_mount(line, end, &m) ||
		    (!type_is(&m, "tmpfs") && !type_is(&m, "devtmpfs")))
			continue;
		dev = makedev(m.major_no, m.minor_no);
		if (dev == w->shm_dir || seen_before(w, dev))
			continue;
		if (*root && w->other_count >= OTHER_MOUNTS_MAX) {
			w->walked.partial = true; /* one more to measure, and no room */
			break;
		}
		point = decode_point(&m);
		if (!point) {
			r = -ENOMEM;
			break;
		}
		if (under_fuse(&fuse, point)) {
			free(point);
			continue;
		}
		if (asprintf(&path, "%s%s", root, strcmp(point, "/") == 0 && *root ? "" : point) <
		    0) {
			free(point);
			r = -ENOMEM;
			break;
		}
		/* A mount covered by another (the path reaches that one) cannot be measured. */
		if (stat(path, &at) == 0 && at.st_dev == dev) {
			shown = shown_path(path);
			r = shown ? remember(w, dev) : -ENOMEM;
			if (r == 0) {
				w->other_count += *root != '\0';
				r = w->fn(w->ctx, shown, pshm_used_bytes(path));
			}
		}
		free(shown);
		free(path);
		free(point);
	}
	fuse_points_free(&fuse);
	return r;
}

/* A whole file of /proc, NUL-terminated, into *ret (free it): 0, or -errno. */
static int read_whole(const char *path, char **ret)
{
	FILE *f = fopen(path, "re");
	size_t size = 0;
	char *buf = NULL;
	ssize_t n;

	if (!f)
		return -errno;
	n = getdelim(&buf, &size, '\0', f);
	fclose(f);
	if (n < 0) {
		free(buf);
		buf = strdup("");
		if (!buf)
			return -ENOMEM;
	}
	*ret = buf;
	return 0;
}

/*
 * Other mount namespaces, each with a process in it (in process order),
 * read until a bound stops the walk (w->walked.partial): as many
 * namespaces as w->namespaces_max, or w->deadline_ms. Each namespace
 * costs a whole mountinfo, and a machine may have thousands.
 */
static int walk_namespaces(struct mounts_walk *w, const struct scan_namespace *list, size_t count)
{
	char path[64], root[64];
	int r = 0;

	for (size_t i = 0; r == 0 && !w->walked.partial && i < count; i++) {
		long pid = (long)list[i].pid;
		char *info;

		if (now_ms() >= w->deadline_ms) {
			w->walked.partial = true; /* namespaces left unread */
			break;
		}
		if (w->walked.namespaces >= w->namespaces_max) {
			w->walked.partial = true; /* one namespace more than may be read */
			break;
		}
		snprintf(path, sizeof(path), "/proc/%ld/mountinfo", pid);
		if (read_whole(path, &info) < 0)
			continue; /* exited */
		w->walked.namespaces++;
		snprintf(root, sizeof(root), "/proc/%ld/root", pid);
		r = walk_mounts(w, root, info);
		free(info);
	}
	return r;
}

/*
 * Every other mount namespace a process of /proc is in, found by one
 * walk of the processes (procs.c: their links read in parallel), as many
 * as may be read and one more to tell there are more.
 */
static int walk_other_namespaces(struct mounts_walk *w)
{
	char self[64];
	unsigned long long own;
	struct scan_namespace *list;
	ssize_t n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1);
	bool partial = false;
	int r;

	if (n <= 0)
		return 0;
	self[n] = '\0';
	if (sscanf(self, "mnt:[%llu]", &own) != 1)
		own = 0;
	list = calloc((size_t)w->namespaces_max + 1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	n = procs_namespaces("mnt", own, list, (size_t)w->namespaces_max + 1, w->deadline_ms,
			     &partial);
	r = n < 0 ? (n == -ENOMEM ? -ENOMEM : 0) : walk_namespaces(w, list, (size_t)n);
	/* Processes left unlooked at: namespaces the walk may not have met. */
	if (r == 0 && partial)
		w->walked.partial = true;
	free(list);
	return r;
}

/* pshm_tmpfs_mounts_within, over the namespaces scan s noted when it has (s may be NULL). */
static int tmpfs_mounts(const struct pshm_scan *s,
			int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
			void *ctx, unsigned flags, unsigned namespaces_max, unsigned walk_ms,
			struct pshm_mounts_walked *ret_walked, struct pshm_error *err)
{
	struct mounts_walk w = { .fn = fn,
				 .ctx = ctx,
				 .namespaces_max = namespaces_max,
				 .deadline_ms = now_ms() + walk_ms };
	struct stat dir;
	char *info;
	int r;

	if (flags & ~PSHM_MOUNTS_ALL_NAMESPACES)
		return pshm_fail(err, EINVAL, "tmpfs mounts", NULL, -1, "unknown flags");
	r = read_whole("/proc/self/mountinfo", &info);
	if (r < 0)
		return pshm_fail(err, -r, "open", "/proc/self/mountinfo", -1, NULL);
	w.shm_dir = stat(PSHM_DIR, &dir) == 0 ? dir.st_dev : 0;
	r = walk_mounts(&w, "", info);
	free(info);
	if (r == 0 && (flags & PSHM_MOUNTS_ALL_NAMESPACES))
		r = s && s->mnt_noted ? walk_namespaces(&w, s->other_mnts, s->other_mnt_count)
				      : walk_other_namespaces(&w);
	free(w.seen);
	if (r == -ENOMEM)
		return pshm_fail(err, ENOMEM, "tmpfs mounts", NULL, -1, NULL);
	if (r == 0 && ret_walked)
		*ret_walked = w.walked;
	return r;
}

int pshm_tmpfs_mounts_within(int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
			     void *ctx, unsigned flags, unsigned namespaces_max, unsigned walk_ms,
			     struct pshm_mounts_walked *ret_walked, struct pshm_error *err)
{
	return tmpfs_mounts(NULL, fn, ctx, flags, namespaces_max, walk_ms, ret_walked, err);
}

PSHM_EXPORT int
pshm_scan_tmpfs_mounts(const struct pshm_scan *s,
		       int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
		       void *ctx, unsigned flags, struct pshm_mounts_walked *ret_walked,
		       struct pshm_error *err)
{
	return tmpfs_mounts(s, fn, ctx, flags, PSHM_MOUNTS_NAMESPACES_MAX, PSHM_MOUNTS_WALK_MS,
			    ret_walked, err);
}

PSHM_EXPORT int
pshm_tmpfs_mounts(int (*fn)(void *ctx, const char *mount_point, unsigned long long used), void *ctx,
		  unsigned flags, struct pshm_mounts_walked *ret_walked, struct pshm_error *err)
{
	return pshm_tmpfs_mounts_within(fn, ctx, flags, PSHM_MOUNTS_NAMESPACES_MAX,
					PSHM_MOUNTS_WALK_MS, ret_walked, err);
}

PSHM_EXPORT int pshm_shmfs_mount(const char *mount_point, struct pshm_scan_options *options,
				 char *path, size_t size)
{
	bool found = false;
	char *info;
	int r = read_whole("/proc/self/mountinfo", &info);

	if (r < 0)
		return r;
	/* At mount_point, the last FUSE mount is the one on top; else the first shmfs. */
	for (const char *line = info, *end; *line && !(found && !mount_point);
	     line = end + (*end != '\0')) {
		struct mount_line m;
		char *point;

		end = strchrnul(line, '\n');
		if (!parse_mount(line, end, &m) ||
		    !(mount_point ? type_is_fuse(&m) : type_is(&m, "fuse.shmfs")))
			continue;
		point = decode_point(&m);
		if (!point) {
			r = -ENOMEM;
			break;
		}
		if ((!mount_point || strcmp(point, mount_point) == 0) && strlen(point) < size) {
			memcpy(path, point, strlen(point) + 1);
			options->mount_path = path;
			options->mount_id = m.id;
			options->mount_dev = makedev(m.major_no, m.minor_no);
			found = true;
		}
		free(point);
	}
	free(info);
	return r < 0 ? r : found;
}

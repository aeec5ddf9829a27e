/* SPDX-License-Identifier: MIT */
/*
 * libpshm: where shared memory goes, from a scan (objects.c): by kind, by
 * owner or by holding process; the tmpfs mounts that hold memory; Shmem
 * of /proc/meminfo; and what nothing explains.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pshm_i.h"

/* The index of a kind bit (PSHM_KIND_SEGMENT is 0), or -1. */
static int kind_index(unsigned kind)
{
	for (int i = 0; i < PSHM_KINDS; i++)
		if (kind == 1u << i)
			return i;
	return -1;
}

static unsigned long long used_bytes(const char *path)
{
	struct statvfs sv;

	if (statvfs(path, &sv) < 0)
		return 0;
	return (unsigned long long)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

/* Decodes mountinfo's escapes (space, tab, newline and backslash as \ooo) in place. */
static void unescape(char *s)
{
	for (char *in = s, *out = s;; in++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 3;
		} else if (!(*out++ = *in)) {
			break;
		}
	}
}

/* One mountinfo line's device, mount point (decoded) and type; false for a malformed one. */
static bool parse_mount(const char *line, unsigned *major_no, unsigned *minor_no, char *point,
			char *type)
{
	const char *dash = strstr(line, " - ");

	if (!dash || sscanf(line, "%*d %*d %u:%u %*s %4095s", major_no, minor_no, point) != 3 ||
	    sscanf(dash + 3, "%31s", type) != 1)
		return false;
	unescape(point);
	return true;
}

/* Whether point lies strictly below a FUSE mount of this mountinfo (a walk there could block). */
static bool under_fuse(const char *info, const char *point)
{
	char line_point[PATH_MAX], type[32];
	unsigned major_no, minor_no;

	for (const char *line = info, *end; *line; line = end + (*end != '\0')) {
		char one[PATH_MAX + 512];
		size_t len;

		end = strchrnul(line, '\n');
		len = (size_t)(end - line);
		if (len >= sizeof(one))
			continue;
		memcpy(one, line, len);
		one[len] = '\0';
		if (!parse_mount(one, &major_no, &minor_no, line_point, type) ||
		    strncmp(type, "fuse", 4) != 0)
			continue;
		len = strlen(line_point);
		if (strcmp(line_point, "/") == 0 ||
		    (strncmp(point, line_point, len) == 0 && point[len] == '/'))
			return true;
	}
	return false;
}

struct mounts_walk {
	int (*fn)(void *ctx, const char *mount_point, unsigned long long used);
	void *ctx;
	dev_t seen[256]; /* each file system once */
	size_t seen_count;
	dev_t shm_dir;
};

/*
 * Calls w->fn for each tmpfs of one mount namespace's mountinfo (info),
 * whose paths are reached under root ("" for this namespace's, or
 * /proc/PID/root): 0, or fn's first non-zero result.
 */
static int walk_mounts(struct mounts_walk *w, const char *root, char *info)
{
	for (char *line = info, *end; *line; line = end + (*end != '\0')) {
		char point[PATH_MAX], type[32], path[PATH_MAX + 64];
		unsigned major_no, minor_no;
		bool again = false;
		struct stat at;
		dev_t dev;
		char saved;
		int r;

		end = strchrnul(line, '\n');
		saved = *end;
		*end = '\0';
		if (!parse_mount(line, &major_no, &minor_no, point, type) ||
		    (strcmp(type, "tmpfs") != 0 && strcmp(type, "devtmpfs") != 0)) {
			*end = saved;
			continue;
		}
		*end = saved;
		dev = makedev(major_no, minor_no);
		for (size_t i = 0; i < w->seen_count; i++)
			again |= w->seen[i] == dev;
		if (again || dev == w->shm_dir || under_fuse(info, point))
			continue;
		snprintf(path, sizeof(path), "%s%s", root,
			 strcmp(point, "/") == 0 && *root ? "" : point);
		/* A mount covered by another (the path reaches that one) cannot be measured. */
		if (stat(path, &at) < 0 || at.st_dev != dev)
			continue;
		if (w->seen_count < sizeof(w->seen) / sizeof(w->seen[0]))
			w->seen[w->seen_count++] = dev;
		r = w->fn(w->ctx, path, used_bytes(path));
		if (r != 0)
			return r;
	}
	return 0;
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

/* Every other mount namespace a process of /proc is in, each once, in process order. */
static int walk_other_namespaces(struct mounts_walk *w)
{
	char self[64], ns[64], path[64], root[64];
	unsigned long long *seen = NULL;
	size_t seen_count = 0;
	struct dirent *e;
	ssize_t n;
	DIR *proc;
	int r = 0;

	n = readlink("/proc/self/ns/mnt", self, sizeof(self) - 1);
	proc = n > 0 ? opendir("/proc") : NULL;
	if (!proc)
		return 0;
	self[n] = '\0';
	while (r == 0 && (e = readdir(proc))) {
		unsigned long long id;
		bool again = false;
		char *info;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/ns/mnt", e->d_name);
		n = readlink(path, ns, sizeof(ns) - 1);
		if (n <= 0 || (ns[n] = '\0', strcmp(ns, self) == 0) ||
		    sscanf(ns, "mnt:[%llu]", &id) != 1)
			continue;
		for (size_t i = 0; i < seen_count; i++)
			again |= seen[i] == id;
		if (again)
			continue;
		if (seen_count % 64 == 0) {
			unsigned long long *more = realloc(seen, (seen_count + 64) * sizeof(*seen));

			if (!more) {
				r = -ENOMEM;
				break;
			}
			seen = more;
		}
		seen[seen_count++] = id;
		snprintf(path, sizeof(path), "/proc/%.20s/mountinfo", e->d_name);
		if (read_whole(path, &info) < 0)
			continue; /* exited */
		snprintf(root, sizeof(root), "/proc/%.20s/root", e->d_name);
		r = walk_mounts(w, root, info);
		free(info);
	}
	closedir(proc);
	free(seen);
	return r;
}

PSHM_EXPORT int pshm_tmpfs_mounts(int (*fn)(void *ctx, const char *mount_point,
					    unsigned long long used),
				  void *ctx, unsigned flags, struct pshm_error *err)
{
	struct mounts_walk w = { .fn = fn, .ctx = ctx };
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
		r = walk_other_namespaces(&w);
	return r;
}

static int add_tmpfs(void *ctx, const char *mount_point, unsigned long long used)
{
	(void)mount_point;
	*(unsigned long long *)ctx += used;
	return 0;
}

PSHM_EXPORT int pshm_usage_of(const struct pshm_scan *s, uid_t uid, struct pshm_usage *ret,
			      struct pshm_error *err)
{
	struct pshm_usage u = { 0 };
	char line[256];
	FILE *meminfo;
	int r;

	for (size_t i = 0; i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		int k = kind_index(o->kind);

		if (k < 0 || !pshm_object_visible(o, uid))
			continue;
		u.count[k]++;
		u.bytes[k] += (unsigned long long)o->st.st_blocks * 512;
	}
	u.shm_dir_used = used_bytes(PSHM_DIR);
	/* Root sees everything: the tmpfs mounts of other mount namespaces too. */
	r = pshm_tmpfs_mounts(add_tmpfs, &u.tmpfs_used, uid == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0,
			      err);
	if (r < 0)
		return r;
	meminfo = fopen("/proc/meminfo", "re");
	if (!meminfo)
		return pshm_fail(err, errno, "open", "/proc/meminfo", -1, NULL);
	while (fgets(line, sizeof(line), meminfo))
		if (sscanf(line, "Shmem: %llu kB", &u.shmem) == 1)
			break;
	fclose(meminfo);
	u.shmem *= 1024;
	/* Segments, named and deleted, are in PSHM_DIR's tmpfs already. */
	u.unexplained = (long long)u.shmem - (long long)u.shm_dir_used - (long long)u.tmpfs_used -
			(long long)u.bytes[kind_index(PSHM_KIND_MEMFD)] -
			(long long)u.bytes[kind_index(PSHM_KIND_SYSV)] -
			(long long)u.bytes[kind_index(PSHM_KIND_SHARED_ANON)];
	*ret = u;
	return 0;
}

/* Adds one object's bytes to the row of (kind, who), new or not: 0, or -ENOMEM. */
static int usage_add(struct pshm_usage_row **rows, size_t *count, size_t *capacity, unsigned kind,
		     long who, const char *comm, unsigned long long bytes)
{
	struct pshm_usage_row *row;

	for (size_t i = 0; i < *count; i++) {
		row = &(*rows)[i];
		if (row->kind == kind && row->who == who) {
			row->count++;
			row->bytes += bytes;
			return 0;
		}
	}
	if (*count == *capacity) {
		size_t bigger = *capacity ? *capacity * 2 : 64;
		struct pshm_usage_row *more = realloc(*rows, bigger * sizeof(*more));

		if (!more)
			return -ENOMEM;
		*rows = more;
		*capacity = bigger;
	}
	row = &(*rows)[(*count)++];
	*row = (struct pshm_usage_row){ .kind = kind, .who = who, .count = 1, .bytes = bytes };
	snprintf(row->comm, sizeof(row->comm), "%s", comm ? comm : "");
	return 0;
}

PSHM_EXPORT ssize_t pshm_usage_by(const struct pshm_scan *s, uid_t uid, int by,
				  struct pshm_usage_row **ret, struct pshm_error *err)
{
	struct pshm_usage_row *rows = NULL;
	size_t count = 0, capacity = 0;
	int r = 0;

	if (!ret || (by != PSHM_USAGE_BY_OWNER && by != PSHM_USAGE_BY_PROCESS))
		return pshm_fail(err, EINVAL, "usage", NULL, -1, "by owner or by process");
	for (size_t i = 0; r == 0 && i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		unsigned long long bytes = (unsigned long long)o->st.st_blocks * 512;
		long last = -1;

		if (!pshm_object_visible(o, uid))
			continue;
		if (by == PSHM_USAGE_BY_OWNER) {
			r = usage_add(&rows, &count, &capacity, o->kind, (long)o->st.st_uid, NULL,
				      bytes);
			continue;
		}
		/* Holders come by process: an object counts once for each. */
		for (size_t h = 0; r == 0 && h < o->holder_count; h++) {
			if (o->holders[h].pid == last)
				continue;
			last = o->holders[h].pid;
			r = usage_add(&rows, &count, &capacity, o->kind, last, o->holders[h].comm,
				      bytes);
		}
	}
	if (r < 0) {
		free(rows);
		return pshm_fail(err, ENOMEM, "usage", NULL, -1, NULL);
	}
	*ret = rows;
	return (ssize_t)count;
}

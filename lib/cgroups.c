/* SPDX-License-Identifier: MIT */
/*
 * libpshm: where shared memory goes, by cgroup (which container holds
 * it): each object's bytes shared out among the cgroups of the processes
 * that hold it, other mount namespaces' tmpfs mounts given to the cgroup
 * of a process in that namespace, and each cgroup beside the kernel's own
 * count of its shmem (memory.stat), so what the objects do not explain is
 * visible per cgroup. The memory controller's hierarchy is the one read:
 * cgroup v2 where it has the memory controller, else v1's memory one.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups_i.h"

/* The memory controller's hierarchy, from this mount namespace's mountinfo; mount "" when none. */
void cgroups_find_hierarchy(struct hierarchy *h)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, v1[256] = "", v2[256] = "";
	size_t size = 0;

	while (f && getline(&line, &size, f) > 0) {
		const char *sep = strstr(line, " - ");
		char point[256];

		if (!sep || sscanf(line, "%*d %*d %*s %*s %255s", point) != 1)
			continue;
		if (strncmp(sep, " - cgroup2 ", 11) == 0 && !v2[0])
			snprintf(v2, sizeof(v2), "%s", point);
		else if (strncmp(sep, " - cgroup ", 10) == 0 && strstr(sep, ",memory") && !v1[0])
			snprintf(v1, sizeof(v1), "%s", point);
	}
	free(line);
	if (f)
		fclose(f);
	h->v2 = false;
	h->mount[0] = '\0';
	if (v2[0]) {
		char path[300], controllers[256] = "";
		FILE *c;

		snprintf(path, sizeof(path), "%s/cgroup.controllers", v2);
		c = fopen(path, "re");
		if (c) {
			if (!fgets(controllers, sizeof(controllers), c))
				controllers[0] = '\0';
			fclose(c);
		}
		if (strstr(controllers, "memory")) {
			snprintf(h->mount, sizeof(h->mount), "%s", v2);
			h->v2 = true;
			return;
		}
	}
	snprintf(h->mount, sizeof(h->mount), "%s", v1);
}

/* The cgroup's own count of shmem (memory.stat), or -1 when it cannot be read. */
static long long kernel_shmem(const struct hierarchy *h, const char *cgroup)
{
	char path[PSHM_CGROUP_PATH_MAX + 300], line[128];
	long long n = -1;
	FILE *f;

	if (!h->mount[0])
		return -1;
	snprintf(path, sizeof(path), "%s%s/memory.stat", h->mount, cgroup);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "shmem %lld", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* Whether text starts with len hex digits (a container id). */
static bool hex_id(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)text[i]))
			return false;
	return true;
}

/*
 * The container a cgroup path is, as its runtime names its cgroup:
 * Docker (/docker/ID, docker-ID.scope), containerd and CRI-O under
 * Kubernetes (cri-containerd-ID.scope, crio-ID.scope, /kubepods/.../ID,
 * with the pod's UID from podUID or kubepods-...-podUID.slice), Podman
 * (libpod-ID.scope), systemd-nspawn (machine-NAME.scope,
 * systemd-nspawn@NAME.service). Other paths are left as they are.
 */
static void recognise(struct pshm_cgroup_row *row)
{
	static const struct {
		const char *prefix, *runtime;
	} scopes[] = {
		{ "docker-", "docker" }, { "cri-containerd-", "containerd" }, { "crio-", "cri-o" },
		{ "libpod-", "podman" }, { "containerd-", "containerd" },
	};
	const char *path = row->path, *last = strrchr(path, '/'), *pod;
	size_t n;

	last = last ? last + 1 : path;
	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
		size_t len = strlen(scopes[i].prefix);

		if (strncmp(last, scopes[i].prefix, len) == 0 && hex_id(last + len, 64)) {
			snprintf(row->runtime, sizeof(row->runtime), "%s", scopes[i].runtime);
			snprintf(row->container, sizeof(row->container), "%.64s", last + len);
		}
	}
	if (!row->runtime[0] && hex_id(last, 64) && !last[64]) {
		/* cgroupfs drivers: /docker/ID, /kubepods/QOS/podUID/ID, /libpod_parent/... */
		snprintf(row->runtime, sizeof(row->runtime), "%s",
			 strstr(path, "/kubepods")           ? "kubernetes"
			 : strncmp(path, "/docker/", 8) == 0 ? "docker"
							     : "container");
		snprintf(row->container, sizeof(row->container), "%.64s", last);
	}
	if (!row->runtime[0] &&
	    (strncmp(last, "machine-", 8) == 0 || strncmp(last, "systemd-nspawn@", 15) == 0)) {
		const char *name = strchr(last, last[0] == 'm' ? '-' : '@') + 1;

		n = strcspn(name, ".");
		snprintf(row->runtime, sizeof(row->runtime), "nspawn");
		snprintf(row->container, sizeof(row->container), "%.*s", (int)n, name);
	}
	/* Kubernetes: the pod's UID, dashes or (systemd driver) underscores. */
	pod = strstr(path, "pod");
	while (pod && strstr(path, "kubepods")) {
		const char *uid = pod + 3;

		n = strspn(uid, "0123456789abcdef-_");
		if (n == 36) {
			for (size_t i = 0; i < n && i < sizeof(row->pod) - 1; i++)
				row->pod[i] = uid[i] == '_' ? '-' : uid[i];
			row->pod[n < sizeof(row->pod) ? n : sizeof(row->pod) - 1] = '\0';
			break;
		}
		pod = strstr(pod + 3, "pod");
	}
}

/* The row of cgroup path in rows, added when new: its index, or -ENOMEM. */
static ssize_t row_of(struct pshm_cgroup_row **rows, size_t *count, size_t *capacity,
		      const char *path)
{
	for (size_t i = 0; i < *count; i++)
		if (strcmp((*rows)[i].path, path) == 0)
			return (ssize_t)i;
	if (*count == *capacity) {
		size_t bigger = *capacity ? *capacity * 2 : 16;
		struct pshm_cgroup_row *more = realloc(*rows, bigger * sizeof(*more));

		if (!more)
			return -ENOMEM;
		*rows = more;
		*capacity = bigger;
	}
	memset(&(*rows)[*count], 0, sizeof(**rows));
	snprintf((*rows)[*count].path, sizeof((*rows)[*count].path), "%s", path);
	(*rows)[*count].kernel_shmem = -1;
	return (ssize_t)(*count)++;
}

/* The processes a usage by cgroup has asked the cgroup of, with the answer ("": unknown). */
/* Adds bytes of an object of kind index k to the row of path, a share of it: 0, or -ENOMEM. */
static int add_share(struct by_cgroup *b, const char *path, int k, unsigned long long bytes)
{
	ssize_t r = row_of(&b->rows, &b->count, &b->capacity, path);

	if (r < 0)
		return (int)r;
	b->rows[r].count[k]++;
	b->rows[r].bytes[k] += bytes;
	return 0;
}

/*
 * One object: its bytes (a segment of several names once, as usage counts
 * it) shared evenly among the distinct cgroups of the holders viewer may
 * read (the first gets what does not divide), each counting it once; one
 * nobody (visible) holds goes to the row "".
 */
static int add_object(struct by_cgroup *b, const struct pshm_object *o,
		      const struct pshm_viewer *viewer, int k, unsigned long long bytes)
{
	ssize_t cgroups[64];
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < o->holder_count && n < 64; i++) {
		bool known = false;
		ssize_t c;

		if (i > 0 && o->holders[i].pid == o->holders[i - 1].pid)
			continue;
		if (!pshm_holder_visible(&o->holders[i], viewer))
			continue;
		c = cgroups_index(b, o->holders[i].pid);
		if (c < 0)
			continue;
		for (size_t j = 0; j < n && !known; j++)
			known = strcmp(b->known[cgroups[j]].path, b->known[c].path) == 0;
		if (!known)
			cgroups[n++] = c;
	}
	if (!n)
		return add_share(b, "", k, bytes);
	for (size_t j = 0; r == 0 && j < n; j++)
		r = add_share(b, b->known[cgroups[j]].path, k,
			      bytes / n + (j == 0 ? bytes % n : 0));
	return r;
}

/* Another mount namespace's tmpfs (/proc/PID/root/...): to the cgroup of PID. */
static int add_tmpfs(void *ctx, const char *mount_point, unsigned long long used)
{
	struct by_cgroup *b = ctx;
	ssize_t c, r;
	long pid;

	if (sscanf(mount_point, "/proc/%ld/root/", &pid) != 1 || !used)
		return 0; /* this namespace's own (not a container's), or empty */
	c = cgroups_index(b, (pid_t)pid);
	r = row_of(&b->rows, &b->count, &b->capacity, c < 0 ? "" : b->known[c].path);
	if (r < 0)
		return (int)r;
	b->rows[r].tmpfs_bytes += used;
	return 0;
}

/* A row's bytes of every kind and its tmpfs: what it holds. */
static unsigned long long row_bytes(const struct pshm_cgroup_row *row)
{
	unsigned long long sum = row->tmpfs_bytes;

	for (int k = 0; k < PSHM_KINDS; k++)
		sum += row->bytes[k];
	return sum;
}

/* Largest first, then by path. */
static int by_size(const void *a, const void *b)
{
	const struct pshm_cgroup_row *x = a, *y = b;
	unsigned long long bx = row_bytes(x), by = row_bytes(y);

	return bx != by ? (bx > by ? -1 : 1) : strcmp(x->path, y->path);
}

PSHM_EXPORT ssize_t pshm_usage_by_cgroup(const struct pshm_scan *s,
					 const struct pshm_viewer *viewer,
					 struct pshm_cgroup_row **ret, struct pshm_error *err)
{
	struct by_cgroup b = { 0 };
	int r = 0;

	if (!ret)
		return pshm_fail(err, EINVAL, "usage", NULL, -1, "no rows to return");
	b.proc_dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cgroups_find_hierarchy(&b.h);
	r = cgroups_read_holders(&b, s, viewer);
	for (size_t i = 0; r == 0 && i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		int k = 0;

		while (k < PSHM_KINDS && o->kind != 1u << k)
			k++;
		if (k < PSHM_KINDS && pshm_object_visible(o, viewer))
			r = add_object(&b, o, viewer, k, pshm_usage_object_bytes(s, i, viewer));
	}
	/* Root sees other mount namespaces: a container's /dev/shm is its. */
	if (r == 0 && viewer->uid == 0)
		r = pshm_scan_tmpfs_mounts(s, add_tmpfs, &b, PSHM_MOUNTS_ALL_NAMESPACES, NULL, err);
	for (size_t i = 0; r == 0 && i < b.count; i++) {
		if (!b.rows[i].path[0])
			continue;
		b.rows[i].kernel_shmem = kernel_shmem(&b.h, b.rows[i].path);
		recognise(&b.rows[i]);
	}
	free(b.known);
	free(b.slots);
	free(b.buf);
	if (b.proc_dir >= 0)
		close(b.proc_dir);
	if (r < 0) {
		free(b.rows);
		return r == -ENOMEM ? pshm_fail(err, ENOMEM, "usage", NULL, -1, NULL) : r;
	}
	if (b.count)
		qsort(b.rows, b.count, sizeof(*b.rows), by_size);
	*ret = b.rows;
	return (ssize_t)b.count;
}

PSHM_EXPORT unsigned long long pshm_cgroup_shmem(const struct pshm_cgroup_row *row)
{
	unsigned long long sum = row->tmpfs_bytes;

	for (int k = 0; k < PSHM_KINDS; k++)
		if (1u << k != PSHM_KIND_HUGETLB)
			sum += row->bytes[k];
	return sum;
}

PSHM_EXPORT long long pshm_cgroup_unexplained(const struct pshm_cgroup_row *row)
{
	return row->kernel_shmem < 0 ? 0 : row->kernel_shmem - (long long)pshm_cgroup_shmem(row);
}

PSHM_EXPORT int pshm_cgroup_line(const struct pshm_cgroup_row *row, char *buf, size_t size)
{
	char path[PSHM_NAME_ESCAPED_SIZE(PSHM_CGROUP_PATH_MAX)], shmem[24] = "-",
								 unexplained[24] = "-";
	int n;

	if (pshm_name_escape(row->path[0] ? row->path : "-", path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (row->kernel_shmem >= 0) {
		snprintf(shmem, sizeof(shmem), "%lld", row->kernel_shmem);
		snprintf(unexplained, sizeof(unexplained), "%lld", pshm_cgroup_unexplained(row));
	}
	n = snprintf(buf, size, "%s container %s%s%s pod %s tmpfs %llu shmem %s unexplained %s",
		     path, row->runtime[0] ? row->runtime : "-", row->runtime[0] ? ":" : "",
		     row->container, row->pod[0] ? row->pod : "-", row->tmpfs_bytes, shmem,
		     unexplained);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

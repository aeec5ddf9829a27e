/* SPDX-License-Identifier: MIT */
/*
 * libpshm: where shared memory goes, from a scan (objects.c): by kind, by
 * owner or by holding process; the tmpfs mounts that hold memory; Shmem
 * of /proc/meminfo; each huge page pool; and what nothing explains.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pshm_i.h"

/* The index of a kind bit (PSHM_KIND_SEGMENT is 0), or -1. */
static int kind_index(unsigned kind)
{
	for (int i = 0; i < PSHM_KINDS; i++)
		if (kind == 1u << i)
			return i;
	return -1;
}

static int add_tmpfs(void *ctx, const char *mount_point, unsigned long long used)
{
	(void)mount_point;
	*(unsigned long long *)ctx += used;
	return 0;
}

static unsigned long long read_number(const char *dir, const char *name)
{
	char path[PATH_MAX], text[32];
	unsigned long long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/%s", dir, name);
	f = fopen(path, "re");
	if (f) {
		if (fgets(text, sizeof(text), f))
			n = strtoull(text, NULL, 10);
		fclose(f);
	}
	return n;
}

static int by_page_size(const void *a, const void *b)
{
	const struct pshm_huge_usage *x = a, *y = b;

	return x->page_size < y->page_size ? -1 : x->page_size > y->page_size;
}

/* Each huge page size's pool, smallest first (none without hugetlbfs). */
static void huge_pools(struct pshm_usage *u)
{
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *de;

	while (d && u->huge_sizes < PSHM_HUGE_SIZES_MAX && (de = readdir(d))) {
		struct pshm_huge_usage *h = &u->huge[u->huge_sizes];
		unsigned long long kib;

		if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1 || !kib)
			continue;
		*h = (struct pshm_huge_usage){
			.page_size = kib * 1024,
			.total = read_number(de->d_name, "nr_hugepages"),
			.free = read_number(de->d_name, "free_hugepages"),
			.reserved = read_number(de->d_name, "resv_hugepages"),
			.surplus = read_number(de->d_name, "surplus_hugepages"),
		};
		u->huge_sizes++;
	}
	if (d)
		closedir(d);
	qsort(u->huge, u->huge_sizes, sizeof(u->huge[0]), by_page_size);
}

PSHM_EXPORT int pshm_usage_of(const struct pshm_scan *s, const struct pshm_viewer *viewer,
			      struct pshm_usage *ret, struct pshm_error *err)
{
	struct pshm_usage u = { 0 };
	char line[256];
	FILE *meminfo;
	int r;

	huge_pools(&u);
	for (size_t i = 0; i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		unsigned long long bytes = (unsigned long long)o->st.st_blocks * 512;
		int k = kind_index(o->kind);

		if (k < 0 || !pshm_object_visible(o, viewer))
			continue;
		u.count[k]++;
		u.bytes[k] += bytes;
		for (unsigned h = 0; o->page_size && h < u.huge_sizes; h++) {
			if (u.huge[h].page_size == o->page_size) {
				u.huge[h].count++;
				u.huge[h].bytes += bytes;
			}
		}
	}
	for (unsigned h = 0; h < u.huge_sizes; h++)
		u.huge[h].unexplained =
			(long long)((u.huge[h].total - u.huge[h].free) * u.huge[h].page_size) -
			(long long)u.huge[h].bytes;
	u.shm_dir_used = pshm_used_bytes(PSHM_DIR);
	/* Root sees everything: the tmpfs mounts of other mount namespaces too. */
	r = pshm_tmpfs_mounts_of(s, add_tmpfs, &u.tmpfs_used,
				 viewer->uid == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0, NULL, err);
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
	/* Segments, named and deleted, are in PSHM_DIR's tmpfs already; huge pages never in Shmem. */
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

PSHM_EXPORT ssize_t pshm_usage_by(const struct pshm_scan *s, const struct pshm_viewer *viewer,
				  int by, struct pshm_usage_row **ret, struct pshm_error *err)
{
	struct pshm_usage_row *rows = NULL;
	size_t count = 0, capacity = 0;
	int r = 0;

	if (!ret || (by != PSHM_USAGE_BY_OWNER && by != PSHM_USAGE_BY_PROCESS))
		return pshm_fail(err, EINVAL, "usage", NULL, -1, "by owner or by process");
	for (size_t i = 0; r == 0 && i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		unsigned long long bytes = (unsigned long long)o->st.st_blocks * 512;
		bool hidden_counted = false;
		long last = -1;

		if (!pshm_object_visible(o, viewer))
			continue;
		if (by == PSHM_USAGE_BY_OWNER) {
			r = usage_add(&rows, &count, &capacity, o->kind, (long)o->st.st_uid, NULL,
				      bytes);
			continue;
		}
		/*
		 * Holders come by process: an object counts once for each, and
		 * those the viewer may not read once for all, unnamed.
		 */
		for (size_t h = 0; r == 0 && h < o->holder_count; h++) {
			bool shown;

			if (o->holders[h].pid == last)
				continue;
			last = o->holders[h].pid;
			shown = pshm_holder_visible(&o->holders[h], viewer);
			if (!shown && hidden_counted)
				continue;
			hidden_counted |= !shown;
			r = usage_add(&rows, &count, &capacity, o->kind, shown ? last : -1,
				      shown ? o->holders[h].comm : "-", bytes);
		}
	}
	if (r < 0) {
		free(rows);
		return pshm_fail(err, ENOMEM, "usage", NULL, -1, NULL);
	}
	*ret = rows;
	return (ssize_t)count;
}

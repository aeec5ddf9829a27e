/* SPDX-License-Identifier: MIT */
/*
 * libpshm: where shared memory goes, from a scan (objects.c): by kind, by
 * owner or by holding process; the tmpfs mounts that hold memory; Shmem
 * of /proc/meminfo; each huge page pool; and what nothing explains.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
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

unsigned long long pshm_usage_object_bytes(const struct pshm_scan *s, size_t i,
					   const struct pshm_viewer *viewer)
{
	const struct pshm_object *o = pshm_scan_at(s, i);

	if (o->kind == PSHM_KIND_SEGMENT && o->st.st_nlink > 1)
		for (size_t j = 0; j < i; j++) {
			const struct pshm_object *p = pshm_scan_at(s, j);

			if (p->kind == PSHM_KIND_SEGMENT && p->st.st_ino == o->st.st_ino &&
			    p->st.st_dev == o->st.st_dev && pshm_object_visible(p, viewer))
				return 0;
		}
	return (unsigned long long)o->st.st_blocks * 512;
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
		int k = kind_index(o->kind);
		unsigned long long bytes;

		if (k < 0 || !pshm_object_visible(o, viewer))
			continue;
		bytes = pshm_usage_object_bytes(s, i, viewer);
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
	u.shm_dir_other = (long long)u.shm_dir_used -
			  (long long)u.bytes[kind_index(PSHM_KIND_SEGMENT)] -
			  (long long)u.bytes[kind_index(PSHM_KIND_DELETED)];
	/* Root sees everything: the tmpfs mounts of other mount namespaces too. */
	r = pshm_scan_tmpfs_mounts(s, add_tmpfs, &u.tmpfs_used,
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

/* Rows being added up: one per (kind, who) an object gives to, merged at the end. */
struct rows {
	struct pshm_usage_row *row;
	size_t count, capacity;
};

/* Appends one object's part for (kind, who): 0, or -ENOMEM. */
static int rows_add(struct rows *r, unsigned kind, long who, const char *comm, bool mapped,
		    unsigned long long share, unsigned long long whole)
{
	struct pshm_usage_row *row;

	if (r->count == r->capacity) {
		size_t bigger = r->capacity ? r->capacity * 2 : 64;
		struct pshm_usage_row *more = realloc(r->row, bigger * sizeof(*more));

		if (!more)
			return -ENOMEM;
		r->row = more;
		r->capacity = bigger;
	}
	row = &r->row[r->count++];
	*row = (struct pshm_usage_row){ .kind = kind,
					.who = who,
					.count = 1,
					.mapped = mapped,
					.bytes = share,
					.whole = whole };
	snprintf(row->comm, sizeof(row->comm), "%s", comm);
	return 0;
}

static int by_kind_and_who(const void *a, const void *b)
{
	const struct pshm_usage_row *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->who < y->who ? -1 : x->who > y->who;
}

static int by_bytes(const void *a, const void *b)
{
	const struct pshm_usage_row *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return by_kind_and_who(a, b);
}

/* Merges the parts of one (kind, who) into one row, then sorts: the number of rows. */
static size_t rows_merge(struct rows *r)
{
	size_t n = 0;

	if (!r->count)
		return 0;
	qsort(r->row, r->count, sizeof(*r->row), by_kind_and_who);
	for (size_t i = 0; i < r->count; i++) {
		struct pshm_usage_row *last = n ? &r->row[n - 1] : NULL;

		if (last && by_kind_and_who(last, &r->row[i]) == 0) {
			last->count += r->row[i].count;
			last->mapped += r->row[i].mapped;
			last->bytes += r->row[i].bytes;
			last->whole += r->row[i].whole;
		} else {
			r->row[n++] = r->row[i];
		}
	}
	qsort(r->row, n, sizeof(*r->row), by_bytes);
	return n;
}

/*
 * Whether the process of o's holder h maps o (any of its holders, which
 * come together, is a mapping); *next is its next process's first holder.
 */
static bool process_maps(const struct pshm_object *o, size_t h, size_t *next)
{
	bool maps = false;
	size_t i = h;

	for (; i < o->holder_count && o->holders[i].pid == o->holders[h].pid; i++)
		maps |= o->holders[i].fd < 0;
	*next = i;
	return maps;
}

/* The distinct processes among o's holders, and those that map it. */
static void count_processes(const struct pshm_object *o, size_t *ret_holding, size_t *ret_mapping)
{
	size_t holding = 0, mapping = 0;

	for (size_t h = 0; h < o->holder_count; holding++)
		mapping += process_maps(o, h, &h);
	*ret_holding = holding;
	*ret_mapping = mapping;
}

/*
 * Object o's bytes shared among its processes (pshm_usage_by's rule):
 * a row part for each process viewer may read, one for those it may not.
 */
static int share_object(struct rows *r, const struct pshm_object *o, unsigned long long bytes,
			const struct pshm_viewer *viewer)
{
	unsigned long long hidden_share = 0, each, rest;
	size_t holding, mapping, sharers;
	bool hidden = false, hidden_maps = false;
	int ret = 0;

	count_processes(o, &holding, &mapping);
	if (!holding)
		return rows_add(r, o->kind, 0, "", false, bytes, bytes);
	sharers = mapping ? mapping : holding;
	each = bytes / sharers;
	rest = bytes % sharers; /* to the first sharer */
	for (size_t h = 0; ret == 0 && h < o->holder_count;) {
		const struct pshm_holder *first = &o->holders[h];
		unsigned long long share = 0;
		bool maps = process_maps(o, h, &h);

		if (maps || !mapping) {
			share = each + rest;
			rest = 0;
		}
		if (pshm_holder_visible(first, viewer)) {
			ret = rows_add(r, o->kind, first->pid, first->comm, maps, share, bytes);
		} else {
			hidden = true;
			hidden_maps |= maps;
			hidden_share += share;
		}
	}
	/* Those viewer may not read: once for them all, never named. */
	if (ret == 0 && hidden)
		ret = rows_add(r, o->kind, -1, "-", hidden_maps, hidden_share, bytes);
	return ret;
}

PSHM_EXPORT ssize_t pshm_usage_by(const struct pshm_scan *s, const struct pshm_viewer *viewer,
				  int by, struct pshm_usage_row **ret, struct pshm_error *err)
{
	struct rows rows = { 0 };
	int r = 0;

	if (!ret || (by != PSHM_USAGE_BY_OWNER && by != PSHM_USAGE_BY_PROCESS))
		return pshm_fail(err, EINVAL, "usage", NULL, -1, "by owner or by process");
	for (size_t i = 0; r == 0 && i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);
		unsigned long long bytes;

		if (!pshm_object_visible(o, viewer))
			continue;
		bytes = pshm_usage_object_bytes(s, i, viewer);
		if (by == PSHM_USAGE_BY_OWNER)
			r = rows_add(&rows, o->kind, (long)o->st.st_uid, "", false, bytes, bytes);
		else
			r = share_object(&rows, o, bytes, viewer);
	}
	if (r < 0) {
		free(rows.row);
		return pshm_fail(err, ENOMEM, "usage", NULL, -1, NULL);
	}
	*ret = rows.row;
	return (ssize_t)rows_merge(&rows);
}

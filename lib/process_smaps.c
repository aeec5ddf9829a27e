/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the huge pages of a mapping, for a caller who cannot follow
 * its /proc/PID/map_files link (that takes CAP_SYS_ADMIN): a shared
 * anonymous region on huge pages (MAP_HUGETLB), or a file of a hugetlbfs
 * mount, seen only through mappings, whose own status root reads there.
 * /proc/PID/smaps, which /proc lets anyone read who may read the process,
 * counts the huge pages each mapping has (Shared_Hugetlb and
 * Private_Hugetlb: by how many processes map them, never by the kind of
 * mapping), so the object is at least as large as its largest mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "process_i.h"

int process_huge_later(struct process *p, struct object *o, unsigned long long start)
{
	if (p->huge_count == p->huge_capacity) {
		size_t capacity = p->huge_capacity ? p->huge_capacity * 2 : 4;
		struct process_huge *more = realloc(p->huge, capacity * sizeof(*more));

		if (!more)
			return -ENOMEM;
		p->huge = more;
		p->huge_capacity = capacity;
	}
	p->huge[p->huge_count++] = (struct process_huge){ .o = o, .start = start };
	return 0;
}

static int by_start(const void *a, const void *b)
{
	const struct process_huge *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The object noted for the mapping that starts at start (p->huge sorted), or NULL. */
static struct object *noted(const struct process *p, unsigned long long start)
{
	const struct process_huge key = { .start = start };
	const struct process_huge *found =
		bsearch(&key, p->huge, p->huge_count, sizeof(*p->huge), by_start);

	return found ? found->o : NULL;
}

/* Makes o at least bytes large in allocated blocks: its largest mapping's pages. */
static void at_least(struct object *o, unsigned long long bytes)
{
	if (o && (blkcnt_t)(bytes / 512) > o->pub.st.st_blocks)
		o->pub.st.st_blocks = (blkcnt_t)(bytes / 512);
}

int process_huge_blocks(struct process *p)
{
	int fd = openat(p->dir, "smaps", O_RDONLY | O_CLOEXEC);
	unsigned long long start, end, kib, bytes = 0;
	struct object *o = NULL;
	char *line = NULL;
	size_t size = 0;
	FILE *f;

	if (fd < 0)
		return -errno;
	/* Thousands of such mappings in one process: each header found by a binary search. */
	qsort(p->huge, p->huge_count, sizeof(*p->huge), by_start);
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (getline(&line, &size, f) > 0) {
		char end_of_range;

		/* A mapping's first line: "START-END PERMS ...", in hex. */
		if (sscanf(line, "%llx-%llx%c", &start, &end, &end_of_range) == 3 &&
		    end_of_range == ' ') {
			at_least(o, bytes);
			o = noted(p, start);
			bytes = 0;
		} else if (o && (sscanf(line, "Shared_Hugetlb: %llu kB", &kib) == 1 ||
				 sscanf(line, "Private_Hugetlb: %llu kB", &kib) == 1)) {
			bytes += kib << 10;
		}
	}
	at_least(o, bytes);
	free(line);
	fclose(f);
	return 0;
}

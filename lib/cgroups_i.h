/* SPDX-License-Identifier: MIT */
/*
 * libpshm's usage by cgroup, inside: cgroups.c adds up the rows,
 * cgroups_read.c reads which cgroup each holder is in.
 */
#ifndef CGROUPS_I_H
#define CGROUPS_I_H

#include <stdbool.h>
#include <sys/types.h>

#include "pshm_i.h"

/* Where the memory controller is mounted, and whether that is cgroup v2. */
struct hierarchy {
	char mount[256];
	bool v2;
};

/* The memory controller's hierarchy, from this mount namespace's mountinfo; mount "" when none. */
void cgroups_find_hierarchy(struct hierarchy *h);

struct known {
	pid_t pid;
	/*
	 * Its cgroup's id as the kernel iterators saw it (0: unknown), and the
	 * first holder of that cgroup, whose path is this one's once checked
	 * (checked: 1 it still names that cgroup, -1 not, 0 not yet), or -1.
	 */
	unsigned long long id;
	ssize_t first;
	signed char checked;
	char path[PSHM_CGROUP_PATH_MAX];
};

struct by_cgroup {
	struct hierarchy h;
	int proc_dir;
	struct pshm_cgroup_row *rows;
	size_t count, capacity;
	struct known *known;
	size_t known_count, known_capacity;
	size_t *slots; /* indexes into known + 1 by pid (0: free), a power of two of them */
	size_t slot_count;
	char *buf; /* for /proc/PID/cgroup */
	size_t buf_size;
};

/* pid's cgroup, asked once per usage: its index in b->known, or -1 when unknown (gone, no memory). */
ssize_t cgroups_index(struct by_cgroup *b, pid_t pid);

/*
 * When viewer sees every holder (no may_read to ask): the cgroup of each
 * holder of an object it sees, read before they are added up. 0, or -ENOMEM.
 */
int cgroups_read_holders(struct by_cgroup *b, const struct pshm_scan *s,
			 const struct pshm_viewer *viewer);

#endif /* CGROUPS_I_H */

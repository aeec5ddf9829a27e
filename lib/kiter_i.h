/* SPDX-License-Identifier: MIT */
/*
 * libpshm's kernel iterators, inside: reading them (kiter.c; kiter_none.c
 * when libpshm is built without libbpf) and a scan made of what they
 * write (procs_kiter.c).
 */
#ifndef KITER_I_H
#define KITER_I_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "kiter_records.h"
#include "objects_i.h"

/* What one run of the three iterators wrote, each in pid order. */
struct kiter_run {
	char *tasks, *files, *vmas;
	size_t task_count, file_count, vma_count;
};

/*
 * Runs the iterators of it once, into run (kiter_run_free frees it): 0,
 * -ENOMEM, or what reading them says.
 */
int kiter_run(const struct pshm_kernel_iter *it, struct kiter_run *run);
void kiter_run_free(struct kiter_run *run);

static inline const struct kiter_task *kiter_task_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_task *)(run->tasks + i * sizeof(struct kiter_task));
}

static inline const struct kiter_file *kiter_file_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_file *)(run->files + i * sizeof(struct kiter_file));
}

static inline const struct kiter_vma *kiter_vma_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_vma *)(run->vmas + i * sizeof(struct kiter_vma));
}

/* A record's file status, as stat(2) of it gives it. */
void kiter_stat(const struct kiter_inode *in, struct stat *ret);

/*
 * Whether s may be made of the iterators' records instead of /proc: a
 * scan by root of everything (no readers_only, no only) from the initial
 * pid namespace, whose pids /proc and the iterators share.
 */
bool kiter_usable(const struct pshm_scan *s);

/*
 * Adds what every process holds to s, as procs_scan does, from one run
 * of the iterators; /proc only for the few processes whose records
 * cannot say all (a FUSE daemon, a file through the mount, a name cut):
 * 0, -ENOMEM, -E2BIG or -ETIMEDOUT; 1 when they could not be run at all
 * (s unchanged: the caller walks /proc instead).
 */
int procs_scan_kiter(struct pshm_scan *s);

#endif /* KITER_I_H */

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

/*
 * The most one run reads of the three iterators (16 MiB; about 130 bytes
 * a descriptor or mapping, 64 a process): past it the scan walks /proc,
 * so that what processes hold never makes a scan hold more than this.
 */
#define KITER_RUN_BYTES_MAX (16u << 20)

enum { KITER_TASKS, KITER_FILES, KITER_VMAS, KITER_KINDS };

/*
 * What one run of the three iterators wrote: each kind's records as read,
 * and where each record starts, in pid order.
 */
struct kiter_run {
	char *buf[KITER_KINDS];
	const void **at[KITER_KINDS];
	size_t count[KITER_KINDS];
};

/*
 * Runs the iterators of it once, into run (kiter_run_free frees it),
 * every record checked whole, asking o's stop (o may be NULL) between
 * reads: 0, -ETIMEDOUT, -ENOMEM, -E2BIG past KITER_RUN_BYTES_MAX,
 * -EPROTO for a record that is not whole, or what reading them says.
 */
int kiter_run(const struct pshm_kernel_iter *it, const struct pshm_scan_options *o,
	      struct kiter_run *run);
void kiter_run_free(struct kiter_run *run);

static inline const struct kiter_task *kiter_task_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_task *)run->at[KITER_TASKS][i];
}

static inline const struct kiter_file *kiter_file_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_file *)run->at[KITER_FILES][i];
}

static inline const struct kiter_vma *kiter_vma_at(const struct kiter_run *run, size_t i)
{
	return (const struct kiter_vma *)run->at[KITER_VMAS][i];
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
 * of the iterators and the pids /proc (proc_dir) listed (listed of them,
 * ascending); /proc only for the few processes whose records
 * cannot say all (a FUSE daemon, a file through the mount, a name cut):
 * 0, -ENOMEM, -E2BIG or -ETIMEDOUT; 1 when they could not be run at all
 * (s unchanged: the caller walks /proc instead).
 */
int procs_scan_kiter(struct pshm_scan *s, int proc_dir, const long *pids, size_t listed,
		     bool need_fds);

#endif /* KITER_I_H */

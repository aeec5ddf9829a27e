/* SPDX-License-Identifier: MIT */
/* libpshm built without libbpf: no kernel iterators, every scan walks /proc. */
#include <errno.h>

#include "kiter_i.h"

bool kiter_usable(const struct pshm_scan *s)
{
	return false;
}

int procs_scan_kiter(struct pshm_scan *s, int proc_dir, const long *pids, size_t listed,
		     bool need_fds)
{
	return 1;
}

void pshm_set_kernel_iter_bytes(size_t max)
{
}

PSHM_EXPORT int pshm_kernel_iter_load(struct pshm_kernel_iter **ret, struct pshm_error *err)
{
	return pshm_fail(err, EOPNOTSUPP, "kernel iterators", NULL, -1,
			 "libpshm was built without libbpf");
}

PSHM_EXPORT void pshm_kernel_iter_free(struct pshm_kernel_iter *it)
{
}

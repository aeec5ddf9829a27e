/* SPDX-License-Identifier: MIT */
/* shmfs: copying out of a mapping that may shrink (guard.c). */
#ifndef GUARD_I_H
#define GUARD_I_H

#include "shmfs_i.h"

/* guard.c: copying out of a mapping that another process may shrink. */
int guard_init(void);
/* memcpy that returns -EFAULT instead of dying when src faults (SIGBUS). */
int guard_copy(void *dst, const void *src, size_t len);

#endif /* GUARD_I_H */

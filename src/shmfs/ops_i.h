/* SPDX-License-Identifier: MIT */
/* shmfs: the operations table (ops.c). */
#ifndef OPS_I_H
#define OPS_I_H

#include "shmfs_i.h"

/* ops.c: the operations table, dispatching each request once. */
extern const struct fuse_lowlevel_ops shmfs_ops;

#endif /* OPS_I_H */

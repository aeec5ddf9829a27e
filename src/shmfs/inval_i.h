/* SPDX-License-Identifier: MIT */
/* shmfs: making the kernel drop cached names (inval.c). */
#ifndef INVAL_I_H
#define INVAL_I_H

#include "shmfs_i.h"

/* inval.c: making the kernel drop the names it caches (see there). */
/* At INIT: whether the kernel can be told (protocol 7.44 and up). */
void inval_init(struct shmfs *fs, unsigned proto_major, unsigned proto_minor);
/* Whether names may be cached: the kernel can be told to drop them. */
bool inval_available(struct shmfs *fs);
/* Makes the kernel drop every cached entry of the mount (never blocks). */
void inval_all(struct shmfs *fs);
/* epoch_*.c (one per libfuse): sends FUSE_NOTIFY_INC_EPOCH; 0 or -errno. */
int inval_send_epoch(struct fuse_session *se);

#endif /* INVAL_I_H */

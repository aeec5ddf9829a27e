/* SPDX-License-Identifier: MIT */
/* shmfs: the daemon's life: making, mounting, starting and tearing down (daemon.c). */
#ifndef DAEMON_I_H
#define DAEMON_I_H

#include "shmfs_i.h"

/*
 * A daemon with config (copied; config->prefix must outlive it), every
 * state made: 0, or -errno with *ret NULL.
 */
int shmfs_new(const struct shmfs_config *config, struct shmfs **ret);
/* Makes the session from args and mounts it: 0, or -1 once libfuse said why. */
int shmfs_mount(struct shmfs *fs, struct fuse_args *args, const char *mountpoint);
/* Starts the thread that watches /dev/shm (after fuse_daemonize): 0 or -errno. */
int shmfs_start(struct shmfs *fs);
/* Once the session loop ended: stops the thread, answers kept reads, unmounts. */
void shmfs_unmount(struct shmfs *fs);
/* Unmounts if need be and frees everything (NULL is fine). */
void shmfs_free(struct shmfs *fs);

#endif /* DAEMON_I_H */

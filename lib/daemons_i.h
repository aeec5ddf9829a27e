/* SPDX-License-Identifier: MIT */
/*
 * libpshm: which process is the daemon of a shmfs mount (daemons.c), for
 * the scan of one process (process.c), which leaves such a process out of
 * every object's holders.
 */
#ifndef DAEMONS_I_H
#define DAEMONS_I_H

#include <stdbool.h>
#include <sys/types.h>

/* The path a descriptor of a FUSE daemon links to. */
#define DAEMONS_FUSE_DEVICE "/dev/fuse"
#define DAEMONS_FUSE_MAJOR 10 /* the misc device it is */
#define DAEMONS_FUSE_MINOR 229

/*
 * Whether descriptor fd_name of the process of the /proc/PID directory
 * pid_dir, a descriptor of DAEMONS_FUSE_DEVICE, serves a shmfs mount (type
 * fuse.shmfs) of that process's mount namespace: the mount whose device is
 * the connection its fdinfo names (fuse_connection, on kernels that say);
 * on kernels that do not, any fuse.shmfs mount made by uid (user_id=),
 * the process's real uid. False when anything cannot be read.
 */
bool daemons_serves_shmfs(int pid_dir, const char *fd_name, uid_t uid);

/* The text of /proc/PID/fdinfo/FD: true with the FUSE connection it names, or false. */
bool daemons_parse_connection(const char *fdinfo, unsigned long long *ret);

/*
 * A line of /proc/PID/mountinfo (no newline): whether it is a fuse.shmfs
 * mount of connection (the kernel's device number), or with
 * any_connection of any connection, mounted by uid.
 */
bool daemons_parse_mount(const char *line, unsigned long long connection, bool any_connection,
			 uid_t uid);

#endif /* DAEMONS_I_H */

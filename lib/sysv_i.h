/* SPDX-License-Identifier: MIT */
/* libpshm's System V segments, inside: what the scan asks of sysv.c. */
#ifndef SYSV_I_H
#define SYSV_I_H

#include <stdbool.h>
#include <sys/types.h>

/* The inode number of an IPC namespace link ("ipc:[4026531839]"), or 0. */
unsigned long long sysv_ns_inode(const char *link);

#include "objects_i.h"

/* The most other IPC namespaces (containers') whose segments a scan reads. */
#define SYSV_NAMESPACES_MAX 256

/* How a System V segment's mapping starts its path in /proc/PID/maps: "/SYSV0000002a (deleted)". */
#define SYSV_PREFIX "/SYSV"

/*
 * Adds every System V segment of /proc/sysvipc/shm to s, with its status
 * as a file's: this IPC namespace's, and with s->other_ipc those of every
 * other namespace a process is in that the caller may enter (root), keyed
 * by the namespace's inode. 0, -ENOMEM, or what reading it reports (0
 * when the kernel has no System V IPC).
 */
int sysv_scan(struct pshm_scan *s);

/*
 * Whether dev is one of the kernel's own shm or hugetlbfs mounts, where
 * memfds, shared anonymous memory and System V segments live (learnt from
 * memfds made here, once per process).
 */
bool sysv_kernel_device(dev_t dev);

/*
 * The huge page size in bytes of dev when it is one of the kernel's own
 * hugetlbfs mounts (where SHM_HUGETLB segments, MFD_HUGETLB memfds and
 * MAP_HUGETLB mappings live), else 0.
 */
unsigned long long sysv_huge_page_size(dev_t dev);

/*
 * Whether a mapping of device dev and this path (from /proc/PID/maps) is
 * a System V segment's of key: on the kernel's own mounts, never a file
 * whose path only reads like one.
 */
bool sysv_mapping(dev_t dev, const char *path, key_t key);

#endif /* SYSV_I_H */

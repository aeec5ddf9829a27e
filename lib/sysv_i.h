/* SPDX-License-Identifier: MIT */
/*
 * libpshm's System V segments, inside: what the scan asks of sysv.c and
 * sysv_scan.c, and what sysv_scan.c shares with sysv.c.
 */
#ifndef SYSV_I_H
#define SYSV_I_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "objects_i.h"

/* How an IPC namespace's link (/proc/PID/ns/ipc, or a descriptor of it) reads. */
#define SYSV_NS_LINK "ipc:["

/* The inode number of an IPC namespace link ("ipc:[4026531839]"), or 0. */
unsigned long long sysv_ns_inode(const char *link);

/* How a System V segment's mapping starts its path in /proc/PID/maps: "/SYSV0000002a (deleted)". */
#define SYSV_PREFIX "/SYSV"

/* One segment as a line of /proc/sysvipc/shm gives it: shmctl(IPC_STAT)'s, and its resident bytes. */
struct sysv_segment {
	int shmid;
	struct shmid_ds ds;
	long long rss;
};

/* A line of /proc/sysvipc/shm: false for the header, or anything else. */
bool sysv_parse_line(const char *line, struct sysv_segment *ret);

/* A segment's status as a file's: the one mapping of shmid_ds onto struct stat. */
void sysv_stat_of(int shmid, const struct shmid_ds *ds, long long rss, struct stat *ret);

/*
 * A segment on huge pages whose rss /proc/sysvipc/shm inflates: its huge
 * page size, and its real resident bytes into *ret_rss; else 0.
 */
unsigned long long sysv_inflated_huge_pages(const struct sysv_segment *seg, long long *ret_rss);

/*
 * Opens IPC namespace ns through pid's link (/proc/PID/ns/ipc), or with
 * by_fd through its descriptor fd, checking it is still ns: the
 * descriptor, or -errno (-ENOENT: pid gone, or elsewhere).
 */
int sysv_open_namespace(unsigned long long ns, pid_t pid, bool by_fd, int fd);

/*
 * The owner of namespace fd's user namespace (NS_GET_USERNS, then
 * NS_GET_OWNER_UID): the user who made it, whatever uids it maps, as the
 * caller's user namespace sees them. 0, or -errno.
 */
int sysv_namespace_owner(int fd, uid_t *ret);

/*
 * Makes the calling thread enter IPC namespace ns through pid's link,
 * checking it is still ns: 0 or -errno (-ENOENT: pid gone, or elsewhere;
 * -EPERM: the caller may not enter it).
 */
int sysv_enter(unsigned long long ns, pid_t pid);

/*
 * What the namespaces of one owner (the uid that owns their user
 * namespace, NS_GET_OWNER_UID: the user who made them, however many uids
 * they map) may make a scan read, root's aside: at most this many
 * namespaces, and this many segments in all (the kernel's default shmmni,
 * one namespace's worth). Without them one user made every System V scan
 * read 24 namespaces of 32,768 segments (12-14 s, 1.1 GB).
 */
#define SYSV_OWNER_NAMESPACES_MAX 64
#define SYSV_OWNER_SEGMENTS_MAX 4096

/* The stack of a thread that enters an IPC namespace (sysv_thread). */
#define SYSV_THREAD_STACK (256 << 10)

/* pthread_create of a thread that enters an IPC namespace, with a small stack: 0 or an errno. */
int sysv_thread(pthread_t *ret, void *(*fn)(void *arg), void *arg);

/*
 * Adds the segments of this IPC namespace's /proc/sysvipc/shm to s, with
 * their status as a file's, keyed 0 (sysv_scan.c). 0, -ENOMEM, or what
 * reading it reports (0 when the kernel has no System V IPC).
 */
int sysv_scan(struct pshm_scan *s);

/*
 * Once the walk is done (procs.c): the segments of the other IPC
 * namespaces it found (s->other_ipcs), when s->other_ipc and the caller
 * may enter them (root), keyed and named by the namespace's inode, within
 * the bounds on what one user's namespaces may make a scan read
 * (SYSV_OWNER_NAMESPACES_MAX, SYSV_OWNER_SEGMENTS_MAX: those past them
 * are counted in s->ipc_skipped); then the mappings of them it saw
 * (s->pending) become their holders. 0, -ETIMEDOUT when options.stop
 * stopped it, or -ENOMEM.
 */
int sysv_scan_others(struct pshm_scan *s);

/*
 * A mapping (h, of process directory dir) of segment shmid of another IPC
 * namespace ns, on device dev with this path: kept in s->pending until
 * sysv_scan_others. 0, -E2BIG past options.holders_max, or -ENOMEM.
 */
int sysv_hold_later(struct pshm_scan *s, const struct pshm_holder *h, unsigned long long ns,
		    ino_t shmid, dev_t dev, const char *path, int dir, const struct stat *known);

/*
 * Notes that process pid is in IPC namespace ns, another than the scan's:
 * each namespace once, with the lowest pid seen in it. Past
 * SCAN_IPC_NAMESPACES_MAX distinct ones (or out of memory) the rest are
 * not noted, and the scan says it is partial (s->ipc_unnoted).
 */
void sysv_note_namespace(struct pshm_scan *s, unsigned long long ns, pid_t pid);

/*
 * Notes that process pid holds IPC namespace ns by its descriptor fd (an
 * nsfs file), which keeps a namespace with no process in it alive: read
 * as the others are, through /proc/PID/fd/FD, unless a process is in it.
 */
void sysv_note_namespace_fd(struct pshm_scan *s, unsigned long long ns, pid_t pid, int fd);

/* Adds what a worker's part found of other IPC namespaces into s: 0, or -ENOMEM. */
int sysv_scan_merge(struct pshm_scan *s, struct pshm_scan *part);

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

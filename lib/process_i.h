/* SPDX-License-Identifier: MIT */
/*
 * libpshm's scan of one process, for the walk of them all (procs.c):
 * process.c reads its descriptors, process_maps.c its mappings,
 * process_id.c who it is.
 */
#ifndef PROCESS_I_H
#define PROCESS_I_H

#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "objects_i.h"

#define DELETED " (deleted)"
#define MEMFD_PREFIX "/memfd:"

/* A mapping on huge pages whose object's own status could not be read. */
struct process_huge {
	struct object *o;
	unsigned long long start;
};

/* The process being scanned. */
struct process {
	long pid;
	unsigned long long start_time;
	uid_t uid, uids[3]; /* real; real, effective, saved */
	gid_t gid, gids[3];
	char comm[16];
	int dir;          /* /proc/PID */
	bool status_read; /* ids, comm and start time, read when it first holds something */
	bool gone;        /* they could not be read: it exited */
	bool ipc_known;   /* ipc_ns was read (scans of System V segments) */
	bool daemon;      /* it serves a shmfs mount (daemons.c): never a holder */
	unsigned long long ipc_ns; /* its IPC namespace's inode */
	/* Its mappings on huge pages to be counted from smaps (process_smaps.c). */
	struct process_huge *huge;
	size_t huge_count, huge_capacity;
};

/*
 * Adds what process pid (a directory of proc_dir) holds to s: its
 * descriptors when need_fds, and its mappings. 0 (a process that exited
 * meanwhile, or could not be read, counted in s->unreadable, too),
 * -ENOMEM, or -E2BIG past options.holders_max.
 */
int process_scan(struct pshm_scan *s, int proc_dir, long pid, bool need_fds);

/* The huge page size of a hugetlbfs mount of this namespace's with device dev, or 0 (process_maps.c). */
unsigned long long process_huge_mount_page(const struct pshm_scan *s, dev_t dev);

/* Adds what p's mappings hold to s (process_maps.c): 0, -ENOMEM, -E2BIG, or -errno. */
int process_scan_maps(struct pshm_scan *s, struct process *p);

/*
 * Adds p's descriptor fd_name to s, whose link says target (n bytes):
 * its file's status is known (the kernel iterators'), or NULL to stat it
 * through fd_dir. 0 (not a holder), -ENOMEM, or -E2BIG.
 */
int process_descriptor(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name,
		       const char *target, size_t n, const struct stat *known);

/*
 * Adds p's mapping h of the file dev/ino to s, whose maps line names
 * path: its file's status is known, or NULL to stat it through
 * p->dir's map_files/ (process_maps.c). 0, -ENOMEM, or -E2BIG.
 */
int process_mapping(struct pshm_scan *s, struct process *p, struct pshm_holder *h, dev_t dev,
		    ino_t ino, const char *path, const struct stat *known);

/*
 * Notes that process pid is in the IPC namespace ipc and the mount
 * namespace mnt (inodes; 0 for unknown), where s notes those.
 */
void process_note_namespaces(struct pshm_scan *s, long pid, unsigned long long ipc,
			     unsigned long long mnt);

/*
 * Sets p's command name from comm (at most 16 bytes, as the kernel keeps
 * it), written as the scan writes every name it reads (process_id.c).
 */
void process_set_comm(struct process *p, const char *comm);

/*
 * Notes that p's mapping at start is of object o, on huge pages, whose
 * own status could not be read (not root): its pages are counted from
 * smaps once the maps are read (process_smaps.c). 0, or -ENOMEM.
 */
int process_huge_later(struct process *p, struct object *o, unsigned long long start);

/*
 * Makes each object process_huge_later noted at least as large (st_blocks)
 * as the huge pages p's mapping of it has (/proc/PID/smaps). 0, or -errno.
 */
int process_huge_blocks(struct process *p);

/*
 * The lines of the open /proc/PID/maps fd, as its text has them, of the
 * file-backed mappings on a device for which wanted(s, dev) holds, asked
 * of the kernel one mapping at a time (PROCMAP_QUERY, Linux 6.11+), into
 * s->buf, NUL-terminated (process_query.c). Their length, or -errno (a
 * kernel without the query: -ENOTTY or -EINVAL; a name longer than
 * PATH_MAX: -ENAMETOOLONG; -ENOMEM...): then only the text can tell.
 */
ssize_t process_query_maps(struct pshm_scan *s, int fd,
			   bool (*wanted)(const struct pshm_scan *s, dev_t dev));

/*
 * Fills h's uid, start time and comm from its process, whose ids are read
 * once and only for processes that hold something (most hold nothing):
 * false when the process is gone (process_id.c).
 */
bool process_owned_by(struct pshm_scan *s, struct process *p, struct pshm_holder *h);

/*
 * Whether /proc could let the scan's reader read p at all: all its uids
 * and gids are the reader's (read once, kept for its holders).
 */
bool process_may_be_read(struct pshm_scan *s, struct process *p);

/*
 * When the process of the /proc/PID directory dir started (field 22 of
 * its stat, clock ticks): 0 when it cannot be read.
 */
unsigned long long process_start_time(int dir);

/* Whether the scan may ask processes' ids of a pidfd (pid numbers are /proc's). */
bool process_pidfd_usable(void);

/* Whether path ends with " (deleted)"; *ret_len is its length without it. */
static inline bool process_deleted(const char *path, size_t *ret_len)
{
	size_t len = strlen(path), suffix = strlen(DELETED);

	if (len < suffix || strcmp(path + len - suffix, DELETED) != 0)
		return false;
	*ret_len = len - suffix;
	return true;
}

/* Whether path is under this scan's shmfs mount (options.mount_path). */
static inline bool process_in_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;

	return len && strncmp(path, s->options.mount_path, len) == 0 && path[len] == '/' &&
	       !strchr(path + len + 1, '/');
}

/*
 * Whether path is a file of this scan's shmfs mount that may be a
 * segment: anything under it but the mount's own entries
 * (options.mount_skip).
 */
static inline bool process_under_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;
	const char *rest = path + len + 1;

	if (!len || strncmp(path, s->options.mount_path, len) != 0 || path[len] != '/')
		return false;
	for (const char *const *skip = s->options.mount_skip; skip && *skip; skip++)
		if (strcmp(rest, *skip) == 0)
			return false;
	return true;
}

#endif /* PROCESS_I_H */

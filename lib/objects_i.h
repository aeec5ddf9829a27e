/* SPDX-License-Identifier: MIT */
/*
 * libpshm's scan, inside: a scan's state and its table of objects
 * (objects.c), shared by the files that fill it: scan.c runs a scan,
 * sysv.c adds System V segments, procs.c walks the processes and
 * process.c reads one.
 */
#ifndef OBJECTS_I_H
#define OBJECTS_I_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pshm_i.h"

struct object {
	struct pshm_object pub;
	struct object *next; /* in its hash bucket */
	/*
	 * With dev and ino, its identity in the table: the kind it was found
	 * as. pub.kind may become PSHM_KIND_HUGETLB once the scan is done
	 * (scan.c), when it turned out to be on huge pages.
	 */
	unsigned kind;
	bool huge_blocks; /* pub.st.st_blocks is the huge pages' own (map_files), not sysvipc's */
	dev_t dev;
	ino_t ino;
	size_t holder_capacity;
	struct pshm_holder *holders;
	char *text; /* pub.name and pub.path, one allocation of their own length */
};

/* The most hugetlbfs mounts a scan tells apart (files of others' are not seen). */
#define SCAN_HUGE_MOUNTS_MAX 8

/*
 * The most other IPC namespaces (containers') a scan tells apart, 16 bytes
 * each: more than one user's processes can be (RLIMIT_NPROC), so that no
 * user crowds out another's containers by making namespaces; past it the
 * scan says it is partial (ipc_skipped). Which are read is sysv_scan.c's.
 */
#define SCAN_IPC_NAMESPACES_MAX (1 << 18)

/* Other mount namespaces noted: as many as pshm_tmpfs_mounts reads, and one more to tell there are more. */
#define SCAN_MNT_NAMESPACES_MAX (PSHM_MOUNTS_NAMESPACES_MAX + 1)

/*
 * A namespace other than the scan's own, and the first process (lowest
 * pid) seen in it; or, for an IPC namespace no process is in, the first
 * seen holding it by a descriptor of its nsfs file (by_fd: fd of pid's).
 */
struct scan_namespace {
	unsigned long long ns; /* its inode */
	pid_t pid;
	bool by_fd;
	int fd;
};

/*
 * A System V mapping of another IPC namespace, seen by the walk before
 * that namespace's segments are read: its holder, kept until they are
 * (sysv_scan.c confirms it as process.c would have: same id, same key).
 */
struct sysv_pending {
	struct pshm_holder holder;
	unsigned long long ns; /* its namespace's inode */
	ino_t shmid;           /* the mapping's inode: the segment's id there */
	dev_t dev;
	char path[32];        /* the mapping's path, as far as its key */
	blkcnt_t huge_blocks; /* on huge pages: map_files' own count, else -1 */
};

/* A process's cgroups by id (their kernfs inodes), as the kernel iterators saw them. */
struct scan_task_cgroup {
	pid_t pid;
	unsigned long long v2, memory;
};

struct pshm_scan {
	/*
	 * The kinds to look for: those asked for (wanted), and for huge pages
	 * the kinds they are made as, which only a closer look tells apart.
	 */
	unsigned kinds, wanted;
	char ipc_ns[64]; /* this process's IPC namespace: System V ids are only unique in one */
	unsigned long long own_ipc; /* its inode, 0 when unknown */
	bool other_ipc; /* read other IPC namespaces' System V segments too (sysv_scan.c) */
	/*
	 * Found by the walk: the other IPC namespaces (sysv_note_namespace),
	 * and the mappings of their segments, until sysv_scan_others reads
	 * them; the namespaces whose segments were not read, or not all
	 * (bounds, a namespace gone meanwhile), and whether the walk found
	 * more than it could tell apart.
	 */
	struct scan_namespace *other_ipcs;
	size_t other_ipc_count, other_ipc_capacity;
	unsigned ipc_skipped;
	bool ipc_unnoted;
	struct sysv_pending *pending;
	size_t pending_count, pending_capacity;
	/*
	 * With mnt_noted (a scan of every kind by root: what usage is made
	 * of), the other mount namespaces the walk found, the first
	 * SCAN_MNT_NAMESPACES_MAX by their first process, in process order
	 * once it is done: their tmpfs mounts are measured from this list
	 * (mounts.c) instead of another walk of /proc.
	 */
	bool mnt_noted;
	unsigned long long own_mnt;
	struct scan_namespace other_mnts[SCAN_MNT_NAMESPACES_MAX];
	size_t other_mnt_count;
	struct pshm_scan_options options;
	bool pidfd_ids; /* a process's ids are its pidfd's, not its status's (process_id.c) */
	dev_t shm_dev;  /* PSHM_DIR's device */
	int shm_mnt_id; /* and its mount's id (mountinfo's), 0 when unknown */
	/* This mount namespace's hugetlbfs mounts: their devices and page sizes. */
	size_t huge_mount_count;
	dev_t huge_mount_dev[SCAN_HUGE_MOUNTS_MAX];
	unsigned long long huge_mount_page[SCAN_HUGE_MOUNTS_MAX];
	struct object **buckets;
	size_t bucket_count, count;
	struct object **order; /* for pshm_scan_next, built at the end */
	size_t next;
	unsigned unreadable;
	/* The lowest pids of those, and why (objects_unreadable). */
	size_t unreadable_named;
	struct pshm_unreadable unreadable_pids[PSHM_UNREADABLE_NAMED];
	char *buf; /* for whole files of /proc: maps, directories */
	size_t buf_size;
	/*
	 * A worker's part of a scan: its own table of what its processes
	 * hold; named and System V segments are the parent's, found there
	 * and copied in as they are held (procs.c adds them up).
	 */
	const struct pshm_scan *parent;
	struct object *only;   /* options.only's object, or NULL */
	size_t holder_total;   /* holders added, for options.holders_max */
	bool kernel_iter_used; /* made of the kernel iterators' records (procs_kiter.c) */
	/*
	 * Then, each process's cgroups as the iterators saw them (their ids),
	 * in pid order, so that usage reads one cgroup file per cgroup.
	 */
	struct scan_task_cgroup *task_cgroups;
	size_t task_cgroup_count;
	/* Of those, the first processes read from /proc instead, for the unit tests. */
	pid_t kernel_iter_proc[16];
	size_t kernel_iter_proc_count;
};

/* A new scan with an empty table and nothing else set: NULL when out of memory. */
struct pshm_scan *objects_scan_new(void);

/* Room for at least size bytes in the scan's buffer: 0, or -ENOMEM. */
int objects_reserve(struct pshm_scan *s, size_t size);

/* The object of kind with identity dev/ino in s's table, or NULL. */
struct object *objects_find(const struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino);

/*
 * The next object of o's identity after it, or NULL: a named segment with
 * several names (hard links) is one object per name, all in one bucket.
 */
struct object *objects_same_after(const struct object *o);

/* Puts o into s's table: 0, or -ENOMEM. */
int objects_insert(struct pshm_scan *s, struct object *o);

/* A new object of kind with identity dev/ino and status st. NULL: out of memory. */
struct object *objects_new(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
			   const struct stat *st);

/* The object of kind with identity dev/ino, added with st when new. NULL: out of memory. */
struct object *objects_of(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino,
			  const struct stat *st);

/*
 * An object the scan found before the processes (a named or System V
 * segment), or NULL; in a worker, its own copy of the parent's.
 */
struct object *objects_found_before(struct pshm_scan *s, unsigned kind, dev_t dev, ino_t ino);

/* Frees o, which no table holds any more. */
void objects_free(struct object *o);

/* Names o and gives the path that opens it: 0, or -ENOMEM. */
int objects_set_text(struct object *o, const char *name, const char *path);

/*
 * Names a deleted segment or a memfd NAME@INODE, its name escaped (a name
 * from a maps line has its newlines as \012), and gives the path that
 * opens it: 0, or -ENOMEM.
 */
int objects_name(struct object *o, const char *name, size_t len, bool from_maps, const char *path);

/*
 * Counts process pid (a directory of proc_dir) as one the scan could not
 * read, for error (EACCES: /proc refused; ESRCH: it exited meanwhile), and
 * names it when its pid is among the PSHM_UNREADABLE_NAMED lowest.
 */
void objects_unreadable(struct pshm_scan *s, int proc_dir, long pid, int error);

/* Adds a worker's part's processes that could not be read into s. */
void objects_merge_unreadable(struct pshm_scan *s, const struct pshm_scan *part);

/* Adds h to o's holders: 0, -E2BIG past options.holders_max, or -ENOMEM. */
int objects_add_holder(struct pshm_scan *s, struct object *o, const struct pshm_holder *h);

/*
 * Takes process pid out of the holders of every object of s (a shmfs
 * daemon's, daemons.c); the objects stay: what it held still exists.
 */
void objects_drop_holders(struct pshm_scan *s, pid_t pid);

/* Counts one holder more against options.holders_max: 0, or -E2BIG past it. */
int objects_count_holder(struct pshm_scan *s);

/* Adds h to o's holders, already counted (objects_count_holder): 0, or -ENOMEM. */
int objects_append_holder(struct object *o, const struct pshm_holder *h);

/*
 * A named segment's object by inode (found by pshm_iter first), or NULL:
 * the first of its names; objects_hold_segment reaches them all.
 */
struct object *objects_segment(struct pshm_scan *s, ino_t ino);

/*
 * Adds h to segment o (or nothing for NULL) under each of its names, so
 * that every name of a hard-linked file has the same holders: 0, -E2BIG,
 * or -ENOMEM. A worker has one copy per inode: procs.c adds its holders
 * to each name.
 */
int objects_hold_segment(struct pshm_scan *s, struct object *o, const struct pshm_holder *h);

/*
 * Notes that process pid is in namespace ns, in list (count entries, at
 * most max): the lowest pid of each namespace is kept, and of a full
 * list the namespaces with the lowest first pids, as a walk of /proc in
 * process order meets them.
 */
void objects_note_namespace(struct scan_namespace *list, size_t *count, size_t max,
			    unsigned long long ns, pid_t pid);

#endif /* OBJECTS_I_H */

/* SPDX-License-Identifier: MIT */
/*
 * The records the kernel iterators (kiter.bpf.c) write and kiter.c reads,
 * the same on both sides: one per process (its leader), one per
 * descriptor and one per mapping of the files a scan may care about. Each
 * starts with its kind and its size in bytes: a file's record ends with
 * its name, written only as long as the name (NUL included), rounded up
 * to 8 bytes.
 */
#ifndef KITER_RECORDS_H
#define KITER_RECORDS_H

#ifdef __bpf__
typedef unsigned int kiter_u32;
typedef int kiter_s32;
typedef unsigned long long kiter_u64;
typedef long long kiter_s64;
#else
#include <stdint.h>
typedef uint32_t kiter_u32;
typedef int32_t kiter_s32;
typedef uint64_t kiter_u64;
typedef int64_t kiter_s64;
#endif

/* Changed with any record's layout: what was loaded must be what is read. */
#define KITER_VERSION 6

#define KITER_TASK 1
#define KITER_FILE 2
#define KITER_VMA 3

/* The file's name is a path's last part only: it is not at the top of its mount. */
#define KITER_NESTED 0x1
/* d_path would say " (deleted)": the name is gone. */
#define KITER_UNLINKED 0x2
/* An IPC namespace's nsfs file (ino is the namespace's inode). */
#define KITER_IPC_NS 0x4
/* The FUSE device (a daemon's). */
#define KITER_FUSE_DEVICE 0x8
/* A FUSE file system's file (maybe a shmfs mount's). */
#define KITER_FUSE 0x10
/* The name could not be read. */
#define KITER_NAME_CUT 0x20
/*
 * Maybe a backing file (FUSE passthrough, overlayfs): a mapping of one
 * shows in /proc/PID/maps under the path it was made through, not its own.
 */
#define KITER_BACKING 0x40

#define KITER_NAME_MAX 256

/* What the loader tells the programs (their config map's one entry). */
struct kiter_config {
	kiter_u32 backing_mode; /* FMODE_BACKING in this kernel, or 0 when it has none */
};

struct kiter_task {
	kiter_u32 kind, size;
	kiter_u32 pid, pad;
	kiter_u32 uids[3], gids[3]; /* real, effective, saved */
	kiter_u32 ipc_ns, mnt_ns;   /* inodes; 0: none (exiting) */
	kiter_u64 start_boottime;   /* ns */
	/* Its cgroups' ids (their kernfs inodes): v2's, v1's memory controller's; 0 unknown. */
	kiter_u64 cgroup_v2, cgroup_memory;
	char comm[16];
};

/* A file's identity and status, as stat(2) of it would give them. */
struct kiter_inode {
	kiter_u32 flags;
	kiter_u32 dev; /* the kernel's encoding: major << 20 | minor */
	kiter_u64 ino;
	kiter_u32 mode, nlink;
	kiter_u32 uid, gid;
	kiter_s64 size;
	kiter_u64 blocks;
	kiter_s64 atime_sec, mtime_sec, ctime_sec;
	kiter_u32 atime_nsec, mtime_nsec, ctime_nsec;
	kiter_u32 blkbits;
	kiter_s32 mnt_id; /* the mount it was opened or mapped through, as mountinfo numbers it */
	kiter_u32 pad;
	char name[KITER_NAME_MAX]; /* the dentry's name, NUL-terminated; the record's end */
};

/* A descriptor's and a mapping's process: start_boottime tells a pid reused between two runs. */
struct kiter_file {
	kiter_u32 kind, size;
	kiter_u32 pid;
	kiter_s32 fd;
	kiter_u64 start_boottime;
	struct kiter_inode inode;
};

struct kiter_vma {
	kiter_u32 kind, size;
	kiter_u32 pid, pad;
	kiter_u64 start_boottime;
	kiter_u64 start, end, flags;
	struct kiter_inode inode;
};

#endif /* KITER_RECORDS_H */

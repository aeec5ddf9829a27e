/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few kernel types kiter.bpf.c reads, by name only: each access is
 * relocated (CO-RE) to the running kernel's layout by libbpf when the
 * program is loaded, so these declare fields, not offsets. No vmlinux.h:
 * the build needs no kernel's BTF. Fields renamed across kernels have a
 * flavor each (TYPE___flavor), asked with bpf_core_field_exists.
 */
#ifndef KITER_KERNEL_H
#define KITER_KERNEL_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int s32;
typedef unsigned long long u64;
typedef long long s64;

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

typedef struct {
	u32 val;
} kuid_t;
typedef struct {
	u32 val;
} kgid_t;

struct timespec64 {
	s64 tv_sec;
	long tv_nsec;
};

struct ns_common {
	const struct proc_ns_operations *ops;
	unsigned int inum;
};
struct proc_ns_operations {
	const char *name;
};
struct ipc_namespace {
	struct ns_common ns;
};
struct mnt_namespace {
	struct ns_common ns;
};
struct nsproxy {
	struct ipc_namespace *ipc_ns;
	struct mnt_namespace *mnt_ns;
};

struct cred {
	kuid_t uid, suid, euid;
	kgid_t gid, sgid, egid;
};

struct kernfs_node {
	u64 id;
};
struct cgroup {
	struct kernfs_node *kn;
};
struct cgroup_subsys_state {
	struct cgroup *cgroup;
};
/* The controllers' number is the kernel's (CGROUP_SUBSYS_COUNT); 16 bounds any index read. */
struct css_set {
	struct cgroup_subsys_state *subsys[16];
	struct cgroup *dfl_cgrp;
};
enum cgroup_subsys_id {
	memory_cgrp_id = 4,
};

struct task_struct {
	int pid, tgid;
	const struct cred *real_cred;
	struct nsproxy *nsproxy;
	struct css_set *cgroups;
	u64 start_boottime;
	char comm[16];
};

struct super_block {
	u32 s_dev;
	unsigned long s_magic;
	struct dentry *s_root;
};

/* Linux 6.11+: the times as seconds and nanoseconds of their own. */
struct inode {
	u16 i_mode;
	kuid_t i_uid;
	kgid_t i_gid;
	unsigned long i_ino;
	u32 i_rdev;
	long long i_size;
	u64 i_blocks;
	unsigned int __i_nlink;
	u8 i_blkbits;
	struct super_block *i_sb;
	void *i_private;
	s64 i_atime_sec, i_mtime_sec, i_ctime_sec;
	u32 i_atime_nsec, i_mtime_nsec, i_ctime_nsec;
};
/* Linux 6.7-6.10. */
struct inode___v67 {
	struct timespec64 __i_atime, __i_mtime, __i_ctime;
};
/* Linux 6.6. */
struct inode___v66 {
	struct timespec64 i_atime, i_mtime, __i_ctime;
};
/* Before 6.6. */
struct inode___v51 {
	struct timespec64 i_atime, i_mtime, i_ctime;
};

struct qstr {
	const unsigned char *name;
};
struct hlist_bl_node {
	struct hlist_bl_node *next, **pprev;
};
struct dentry {
	struct hlist_bl_node d_hash;
	struct dentry *d_parent;
	struct qstr d_name;
};
struct vfsmount {
	struct dentry *mnt_root;
};
/* A mount: the vfsmount a path names is one of its fields (container_of). */
struct mount {
	struct vfsmount mnt;
	int mnt_id;
};
struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};
struct file {
	unsigned int f_mode;
	struct path f_path;
	struct inode *f_inode;
};

struct vm_area_struct {
	unsigned long vm_start, vm_end;
	unsigned long vm_flags;
	struct file *vm_file;
};

struct seq_file;
struct bpf_iter_meta {
	struct seq_file *seq;
};
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
};
struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	u32 fd;
	struct file *file;
};
struct bpf_iter__task_vma {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	struct vm_area_struct *vma;
};

#pragma clang attribute pop

#endif /* KITER_KERNEL_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libpshm's kernel iterators: what a scan of root's needs of every
 * process, written by the kernel as fixed records (kiter_records.h)
 * instead of read from /proc one file per process. Three programs, each
 * a pass over every task: who each process is (iter/task), the files of
 * its descriptors (iter/task_file) and of its mappings (iter/task_vma),
 * of those only the files a scan may care about. Threads are left out:
 * /proc/PID shows its leader's. Read only; nothing is kept between runs.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include "kiter_kernel.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "kiter_records.h"

char LICENSE[] SEC("license") = "GPL";

#define TMPFS_MAGIC 0x01021994
#define HUGETLBFS_MAGIC 0x958458f6
#define NSFS_MAGIC 0x6e736673
#define FUSE_SUPER_MAGIC 0x65735546

#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFCHR 0020000
#define FUSE_DEVICE ((10u << 20) | 229u) /* /dev/fuse, misc 229 */
/*
 * What the loader tells the programs of the running kernel (kiter.c):
 * the f_mode bit of a backing file (FMODE_BACKING moved between
 * releases, and is no type the kernel's BTF names).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct kiter_config);
} config SEC(".maps");

/* The iterators' own scratch: one record at a time, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct kiter_vma);
} scratch SEC(".maps");

static __always_inline void *record(void)
{
	u32 zero = 0;

	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void times_of(struct inode *i, struct kiter_inode *r)
{
	if (bpf_core_field_exists(i->i_mtime_sec)) {
		r->atime_sec = BPF_CORE_READ(i, i_atime_sec);
		r->mtime_sec = BPF_CORE_READ(i, i_mtime_sec);
		r->ctime_sec = BPF_CORE_READ(i, i_ctime_sec);
		r->atime_nsec = BPF_CORE_READ(i, i_atime_nsec);
		r->mtime_nsec = BPF_CORE_READ(i, i_mtime_nsec);
		/* The high bits of a multigrain ctime are flags (Linux 6.13+). */
		r->ctime_nsec = BPF_CORE_READ(i, i_ctime_nsec) & ((1u << 30) - 1);
	} else if (bpf_core_field_exists(((struct inode___v67 *)i)->__i_mtime)) {
		struct inode___v67 *v = (void *)i;

		r->atime_sec = BPF_CORE_READ(v, __i_atime.tv_sec);
		r->mtime_sec = BPF_CORE_READ(v, __i_mtime.tv_sec);
		r->ctime_sec = BPF_CORE_READ(v, __i_ctime.tv_sec);
		r->atime_nsec = BPF_CORE_READ(v, __i_atime.tv_nsec);
		r->mtime_nsec = BPF_CORE_READ(v, __i_mtime.tv_nsec);
		r->ctime_nsec = BPF_CORE_READ(v, __i_ctime.tv_nsec);
	} else if (bpf_core_field_exists(((struct inode___v66 *)i)->__i_ctime)) {
		struct inode___v66 *v = (void *)i;

		r->atime_sec = BPF_CORE_READ(v, i_atime.tv_sec);
		r->mtime_sec = BPF_CORE_READ(v, i_mtime.tv_sec);
		r->ctime_sec = BPF_CORE_READ(v, __i_ctime.tv_sec);
		r->atime_nsec = BPF_CORE_READ(v, i_atime.tv_nsec);
		r->mtime_nsec = BPF_CORE_READ(v, i_mtime.tv_nsec);
		r->ctime_nsec = BPF_CORE_READ(v, __i_ctime.tv_nsec);
	} else {
		struct inode___v51 *v = (void *)i;

		r->atime_sec = BPF_CORE_READ(v, i_atime.tv_sec);
		r->mtime_sec = BPF_CORE_READ(v, i_mtime.tv_sec);
		r->ctime_sec = BPF_CORE_READ(v, i_ctime.tv_sec);
		r->atime_nsec = BPF_CORE_READ(v, i_atime.tv_nsec);
		r->mtime_nsec = BPF_CORE_READ(v, i_mtime.tv_nsec);
		r->ctime_nsec = BPF_CORE_READ(v, i_ctime.tv_nsec);
	}
}

/*
 * How many bytes of a record whose name starts at head to write: up to
 * the name's NUL (n bytes with it), rounded up to 8; the whole record at
 * most.
 */
static __always_inline u32 written(u32 head, long n, u32 full)
{
	u32 len = head + (((u32)(n > 0 ? n : 1) + 7) & ~7u);

	return len > full ? full : len;
}

/* Writes the first size bytes of record r (at most full), bounded where the verifier sees it. */
static __always_inline void write_record(struct seq_file *seq, void *r, volatile u32 *size,
					 u32 full)
{
	u32 len = *size;

	if (len > full)
		return;
	bpf_seq_write(seq, r, len);
}

/*
 * The file's status and name into r when it is one a scan may care
 * about: a regular file of a tmpfs or hugetlbfs (named, deleted, a memfd,
 * System V, shared anonymous memory), an IPC namespace's nsfs file, the
 * FUSE device, a FUSE file. 0 when it is none of those.
 */
static __always_inline long inode_of(struct file *f, struct kiter_inode *r)
{
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct inode *i = BPF_CORE_READ(f, f_inode);
	struct vfsmount *mnt;
	struct super_block *sb;
	unsigned long magic;
	u32 mode, flags = 0;
	long n;

	if (!i || !d)
		return 0;
	sb = BPF_CORE_READ(i, i_sb);
	magic = BPF_CORE_READ(sb, s_magic);
	mode = BPF_CORE_READ(i, i_mode);
	if ((mode & S_IFMT) == S_IFCHR && BPF_CORE_READ(i, i_rdev) == FUSE_DEVICE) {
		flags = KITER_FUSE_DEVICE;
	} else if (magic == NSFS_MAGIC) {
		struct ns_common *ns = BPF_CORE_READ(i, i_private);
		const char *type = BPF_CORE_READ(ns, ops, name);
		char name[4] = {};

		bpf_probe_read_kernel_str(name, sizeof(name), type);
		if (name[0] != 'i' || name[1] != 'p' || name[2] != 'c' || name[3])
			return 0;
		flags = KITER_IPC_NS;
	} else if (magic == FUSE_SUPER_MAGIC) {
		flags = KITER_FUSE;
	} else if (magic != TMPFS_MAGIC && magic != HUGETLBFS_MAGIC) {
		return 0;
	} else if ((mode & S_IFMT) != S_IFREG) {
		return 0; /* devtmpfs shares tmpfs's magic: its devices are not ours */
	} else {
		u32 zero = 0;
		struct kiter_config *c = bpf_map_lookup_elem(&config, &zero);

		if (c && (BPF_CORE_READ(f, f_mode) & c->backing_mode))
			flags = KITER_BACKING;
	}
	mnt = BPF_CORE_READ(f, f_path.mnt);
	/*
	 * d_path's " (deleted)". A file of no directory (a memfd, System V,
	 * shared anonymous memory: alloc_file_pseudo) is its own parent, and
	 * simple_dname always says it; another is deleted once unhashed. Its
	 * name alone is its path in the mount when its parent is the mount's
	 * root (a mount of a subdirectory has another root than the file
	 * system's).
	 */
	if (BPF_CORE_READ(d, d_parent) == d) {
		if (d != BPF_CORE_READ(sb, s_root))
			flags |= KITER_UNLINKED;
	} else {
		if (!BPF_CORE_READ(d, d_hash.pprev))
			flags |= KITER_UNLINKED;
		if (!mnt || BPF_CORE_READ(d, d_parent) != BPF_CORE_READ(mnt, mnt_root))
			flags |= KITER_NESTED;
	}
	r->dev = BPF_CORE_READ(sb, s_dev);
	r->ino = BPF_CORE_READ(i, i_ino);
	r->mode = mode;
	r->nlink = BPF_CORE_READ(i, __i_nlink);
	r->uid = BPF_CORE_READ(i, i_uid.val);
	r->gid = BPF_CORE_READ(i, i_gid.val);
	r->size = BPF_CORE_READ(i, i_size);
	r->blocks = BPF_CORE_READ(i, i_blocks);
	r->blkbits = BPF_CORE_READ(i, i_blkbits);
	if (mnt) {
		struct mount *m = (void *)((char *)mnt - bpf_core_field_offset(struct mount, mnt));

		r->mnt_id = BPF_CORE_READ(m, mnt_id);
	}
	times_of(i, r);
	/* A name is at most NAME_MAX (255) bytes: it fits whole, or could not be read. */
	n = bpf_probe_read_kernel_str(r->name, sizeof(r->name), BPF_CORE_READ(d, d_name.name));
	if (n <= 0)
		flags |= KITER_NAME_CUT;
	r->flags = flags;
	return n > 0 ? n : 1;
}

/* The ids of t's cgroups: v2's, and the memory controller's (v1's where that is separate). */
static __always_inline void cgroups_of(struct task_struct *t, struct kiter_task *r)
{
	struct css_set *set = BPF_CORE_READ(t, cgroups);
	struct cgroup_subsys_state *css = NULL;
	int memory;

	if (!set)
		return;
	r->cgroup_v2 = BPF_CORE_READ(set, dfl_cgrp, kn, id);
	if (!bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		return;
	memory = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (memory < 0 || memory >= 16)
		return;
	bpf_core_read(&css, sizeof(css), &set->subsys[memory]);
	if (css)
		r->cgroup_memory = BPF_CORE_READ(css, cgroup, kn, id);
}

SEC("iter/task")
int kiter_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct kiter_task *r = record();
	const struct cred *c;
	struct nsproxy *ns;

	if (!t || !r || t->pid != t->tgid)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->kind = KITER_TASK;
	r->size = sizeof(*r);
	r->pid = t->tgid;
	c = t->real_cred;
	r->uids[0] = c->uid.val;
	r->uids[1] = c->euid.val;
	r->uids[2] = c->suid.val;
	r->gids[0] = c->gid.val;
	r->gids[1] = c->egid.val;
	r->gids[2] = c->sgid.val;
	ns = t->nsproxy;
	if (ns) {
		r->ipc_ns = BPF_CORE_READ(ns, ipc_ns, ns.inum);
		r->mnt_ns = BPF_CORE_READ(ns, mnt_ns, ns.inum);
	}
	r->start_boottime = t->start_boottime;
	cgroups_of(t, r);
	bpf_probe_read_kernel(r->comm, sizeof(r->comm), t->comm);
	bpf_seq_write(seq, r, sizeof(*r));
	return 0;
}

SEC("iter/task_file")
int kiter_file(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct file *file = ctx->file;
	struct kiter_file *r = record();
	long n;

	if (!t || !file || !r || t->pid != t->tgid)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	n = inode_of(file, &r->inode);
	if (!n)
		return 0;
	r->kind = KITER_FILE;
	r->size = written(__builtin_offsetof(struct kiter_file, inode.name), n, sizeof(*r));
	r->pid = t->tgid;
	r->start_boottime = t->start_boottime;
	r->fd = (s32)ctx->fd;
	write_record(seq, r, &r->size, sizeof(*r));
	return 0;
}

SEC("iter/task_vma")
int kiter_vma(struct bpf_iter__task_vma *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	struct vm_area_struct *v = ctx->vma;
	struct kiter_vma *r = record();
	struct file *f;
	long n;

	if (!t || !v || !r || t->pid != t->tgid)
		return 0;
	f = v->vm_file;
	if (!f)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	n = inode_of(f, &r->inode);
	if (!n)
		return 0;
	r->kind = KITER_VMA;
	r->size = written(__builtin_offsetof(struct kiter_vma, inode.name), n, sizeof(*r));
	r->pid = t->tgid;
	r->start_boottime = t->start_boottime;
	r->start = v->vm_start;
	r->end = v->vm_end;
	r->flags = v->vm_flags;
	write_record(seq, r, &r->size, sizeof(*r));
	return 0;
}

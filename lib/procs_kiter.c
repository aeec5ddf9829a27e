/* SPDX-License-Identifier: MIT */
/*
 * libpshm: a scan's walk of the processes made of one run of the kernel
 * iterators (kiter.c) instead of /proc: each record becomes what the walk
 * would have read (a descriptor's link, a maps line, the file's status,
 * who the process is) and goes through the same rules (process.c,
 * process_maps.c). A process whose records cannot say everything the
 * walk would read (the FUSE device: maybe a shmfs daemon; a file through
 * the mount; a name cut, or a deleted file below the top of /dev/shm) is
 * read from /proc as the walk reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "kiter_i.h"
#include "process_i.h"
#include "sysv_i.h"

#define VM_READ 0x1
#define VM_WRITE 0x2
#define VM_EXEC 0x4
#define VM_MAYSHARE 0x80

/* What a record's file is to a scan. */
enum use { USE_NONE, USE_PATH, USE_PROC };

static dev_t device_of(const struct kiter_inode *in)
{
	return makedev(in->dev >> 20, in->dev & 0xfffff);
}

/*
 * The path d_path gives a record's file, as a descriptor's link or a maps
 * line says it, into path (PATH_MAX): USE_PATH; USE_NONE for a file the
 * walk would pass over; USE_PROC when only /proc can say it.
 */
static enum use path_of(const struct pshm_scan *s, const struct kiter_inode *in, bool mapping,
			char *path)
{
	const char *deleted = in->flags & KITER_UNLINKED ? DELETED : "";
	dev_t dev = device_of(in);

	if (in->flags & KITER_FUSE_DEVICE)
		return mapping ? USE_NONE : USE_PROC; /* a FUSE daemon's: maybe a shmfs one */
	if (in->flags & KITER_BACKING)
		return USE_PROC; /* the walk sees the path it was made through */
	if (in->flags & KITER_FUSE)
		return s->options.mount_path && dev == s->options.mount_dev ? USE_PROC : USE_NONE;
	if (in->flags & KITER_IPC_NS) {
		snprintf(path, PATH_MAX, SYSV_NS_LINK "%llu]", (unsigned long long)in->ino);
		return mapping ? USE_NONE : USE_PATH;
	}
	if (dev == s->shm_dev) {
		/*
		 * The walk knows a file by the path /proc shows: one reached
		 * through another mount of that file system (a bind mount, a
		 * layer of an overlay) is its to judge. A deleted file's name
		 * is its path below /dev/shm; a named one's is never read.
		 */
		if (!s->shm_mnt_id || in->mnt_id != s->shm_mnt_id ||
		    ((in->flags & KITER_UNLINKED) && (in->flags & (KITER_NESTED | KITER_NAME_CUT))))
			return USE_PROC;
		snprintf(path, PATH_MAX, PSHM_DIR "/%s%s", in->name, deleted);
		return USE_PATH;
	}
	if (mapping && process_huge_mount_page(s, dev))
		return USE_PROC; /* named by its path in the mount */
	if (!sysv_kernel_device(dev))
		return USE_NONE;
	if (in->flags & (KITER_NESTED | KITER_NAME_CUT))
		return USE_PROC;
	snprintf(path, PATH_MAX, "/%s%s", in->name, deleted);
	return USE_PATH;
}

/* One process's records: where its descriptors' and its mappings' start and end. */
struct records {
	size_t file, file_end, vma, vma_end;
};

/*
 * Whether /proc lets this process read process pid, as the kernel
 * decides (ptrace_may_access, PTRACE_MODE_READ, the check behind every
 * file a scan reads there): kcmp(2) asks it, without reading anything.
 * Without kcmp, or when pid is gone, the walk tells.
 */
static bool readable(pid_t self, long pid)
{
	return syscall(SYS_kcmp, self, (pid_t)pid, KCMP_VM, 0, 0) >= 0;
}

/* What every process of one scan from the iterators' records shares. */
struct walk {
	struct pshm_scan *s;
	const struct kiter_run *run;
	pid_t self;
	unsigned long long ns_per_tick; /* of /proc/PID/stat's start (USER_HZ) */
	bool need_fds;
};

/*
 * Whether the records of process t can say all that the walk would read
 * of it: /proc would let the scan read it (one it would not is read by
 * the walk, which counts it as unreadable), they are all of that process
 * (not of a pid reused between two runs), and each names its file.
 */
static bool records_suffice(const struct walk *w, const struct kiter_task *t,
			    const struct records *r)
{
	const struct pshm_scan *s = w->s;
	const struct kiter_run *run = w->run;
	char path[PATH_MAX];

	if (!readable(w->self, t->pid))
		return false;
	for (size_t i = r->file; i < r->file_end; i++)
		if (kiter_file_at(run, i)->start_boottime != t->start_boottime ||
		    path_of(s, &kiter_file_at(run, i)->inode, false, path) == USE_PROC)
			return false;
	for (size_t i = r->vma; i < r->vma_end; i++)
		if (kiter_vma_at(run, i)->start_boottime != t->start_boottime ||
		    path_of(s, &kiter_vma_at(run, i)->inode, true, path) == USE_PROC)
			return false;
	return true;
}

/* Adds what process t's records r show it holds to s, as process_scan would. */
static int scan_records(const struct walk *w, const struct kiter_task *t, const struct records *r)
{
	struct pshm_scan *s = w->s;
	const struct kiter_run *run = w->run;
	struct process p = { .pid = t->pid, .dir = -1, .status_read = true };
	char path[PATH_MAX], fd_name[16];
	struct stat st;
	int e = 0;

	p.uid = p.uids[0] = t->uids[0];
	p.uids[1] = t->uids[1];
	p.uids[2] = t->uids[2];
	p.gid = p.gids[0] = t->gids[0];
	p.gids[1] = t->gids[1];
	p.gids[2] = t->gids[2];
	process_set_comm(&p, t->comm);
	p.start_time = w->ns_per_tick ? t->start_boottime / w->ns_per_tick : 0;
	p.ipc_known = t->ipc_ns != 0;
	p.ipc_ns = t->ipc_ns;
	process_note_namespaces(s, p.pid, t->ipc_ns, t->mnt_ns);
	for (size_t i = r->file; w->need_fds && e == 0 && i < r->file_end; i++) {
		const struct kiter_file *f = kiter_file_at(run, i);

		if (path_of(s, &f->inode, false, path) != USE_PATH)
			continue;
		kiter_stat(&f->inode, &st);
		snprintf(fd_name, sizeof(fd_name), "%d", f->fd);
		e = process_descriptor(s, &p, -1, fd_name, path, strlen(path), &st);
	}
	for (size_t i = r->vma; e == 0 && i < r->vma_end; i++) {
		const struct kiter_vma *v = kiter_vma_at(run, i);
		struct pshm_holder h = { .pid = (pid_t)p.pid, .fd = -1 };

		if (path_of(s, &v->inode, true, path) != USE_PATH)
			continue;
		h.start = v->start;
		h.end = v->end;
		h.perms[0] = v->flags & VM_READ ? 'r' : '-';
		h.perms[1] = v->flags & VM_WRITE ? 'w' : '-';
		h.perms[2] = v->flags & VM_EXEC ? 'x' : '-';
		h.perms[3] = v->flags & VM_MAYSHARE ? 's' : 'p';
		kiter_stat(&v->inode, &st);
		e = process_mapping(s, &p, &h, st.st_dev, st.st_ino, path, &st);
	}
	free(p.huge);
	return e;
}

static int by_pid_fd(const void *a, const void *b)
{
	const struct kiter_file *x = *(const struct kiter_file *const *)a,
				*y = *(const struct kiter_file *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->fd < y->fd ? -1 : x->fd > y->fd;
}

static int by_pid_start(const void *a, const void *b)
{
	const struct kiter_vma *x = *(const struct kiter_vma *const *)a,
			       *y = *(const struct kiter_vma *const *)b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int by_pid(const void *a, const void *b)
{
	const struct kiter_task *x = *(const struct kiter_task *const *)a,
				*y = *(const struct kiter_task *const *)b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * Each iterator writes in pid order; a pid reused between the runs of
 * two of them may not be: then sorted, each process's records in the
 * order /proc lists them (descriptors by number, mappings by address).
 */
static void order(struct kiter_run *run)
{
	static int (*const compare[KITER_KINDS])(const void *, const void *) = { by_pid, by_pid_fd,
										 by_pid_start };

	for (int k = 0; k < KITER_KINDS; k++)
		for (size_t i = 1; i < run->count[k]; i++)
			if (compare[k](&run->at[k][i], &run->at[k][i - 1]) <= 0) {
				qsort(run->at[k], run->count[k], sizeof(*run->at[k]), compare[k]);
				break;
			}
}

int procs_scan_kiter(struct pshm_scan *s, int proc_dir, const long *pids, size_t listed,
		     bool need_fds)
{
	const struct pshm_scan_options *o = &s->options;
	size_t t = 0, f = 0, v = 0, l = 0;
	long ticks = sysconf(_SC_CLK_TCK);
	struct kiter_run run;
	struct walk w = { .s = s,
			  .run = &run,
			  .self = getpid(),
			  .ns_per_tick = ticks > 0 ? 1000000000ULL / (unsigned long long)ticks : 0,
			  .need_fds = need_fds };
	int r = 0;

	r = kiter_run(o->kernel_iter, o, &run);
	if (r == -ETIMEDOUT)
		return r;
	if (r < 0)
		return 1;
	order(&run);
	s->kernel_iter_used = true;
	s->task_cgroups = malloc((run.count[KITER_TASKS] + 1) * sizeof(*s->task_cgroups));
	for (size_t i = 0; s->task_cgroups && i < run.count[KITER_TASKS]; i++) {
		const struct kiter_task *task = kiter_task_at(&run, i);

		s->task_cgroups[s->task_cgroup_count++] =
			(struct scan_task_cgroup){ .pid = (pid_t)task->pid,
						   .v2 = task->cgroup_v2,
						   .memory = task->cgroup_memory };
	}
	/*
	 * Every pid /proc lists or any record has, in order: one the
	 * iterators missed (born between two runs, or passed over) is read
	 * from /proc.
	 */
	while (r == 0 && (l < listed || t < run.count[KITER_TASKS] || f < run.count[KITER_FILES] ||
			  v < run.count[KITER_VMAS])) {
		long pid = LONG_MAX;
		struct records rec;
		const struct kiter_task *task = NULL;

		if (l < listed)
			pid = pids[l];
		if (t < run.count[KITER_TASKS] && kiter_task_at(&run, t)->pid < pid)
			pid = kiter_task_at(&run, t)->pid;
		if (f < run.count[KITER_FILES] && kiter_file_at(&run, f)->pid < pid)
			pid = kiter_file_at(&run, f)->pid;
		if (v < run.count[KITER_VMAS] && kiter_vma_at(&run, v)->pid < pid)
			pid = kiter_vma_at(&run, v)->pid;
		if (l < listed && pids[l] == pid)
			l++;
		if (t < run.count[KITER_TASKS] && kiter_task_at(&run, t)->pid == pid)
			task = kiter_task_at(&run, t++);
		rec.file = f;
		while (f < run.count[KITER_FILES] && kiter_file_at(&run, f)->pid == pid)
			f++;
		rec.file_end = f;
		rec.vma = v;
		while (v < run.count[KITER_VMAS] && kiter_vma_at(&run, v)->pid == pid)
			v++;
		rec.vma_end = v;
		if (o->skip_self && pid == w.self)
			continue;
		if (o->stop && o->stop(o->stop_ctx))
			r = -ETIMEDOUT;
		else if (task && records_suffice(&w, task, &rec))
			r = scan_records(&w, task, &rec);
		else if ((r = process_scan(s, proc_dir, pid, need_fds)) == 0 &&
			 s->kernel_iter_proc_count < sizeof(s->kernel_iter_proc) / sizeof(pid_t))
			s->kernel_iter_proc[s->kernel_iter_proc_count++] = (pid_t)pid;
	}
	kiter_run_free(&run);
	return r;
}

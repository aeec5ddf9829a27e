/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the kernel iterators (kiter.bpf.c), loaded from the object
 * built into the library, checked against what stat(2) and /proc say of
 * objects of the loader's own, and run once per scan: each run is a new
 * iterator file read to its end, so scans at the same time share nothing
 * but the loaded programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kiter_i.h"
#include "kiter_object.h"
#include "process_i.h"

/* /proc/self/ns/pid of the initial pid namespace (the kernel's PROC_PID_INIT_INO). */
#define INIT_PID_NS_INODE 0xEFFFFFFCu

#define KITER_PROGRAMS 3
static const char *const program_names[KITER_PROGRAMS] = { "kiter_task", "kiter_file",
							   "kiter_vma" };
static const size_t record_sizes[KITER_PROGRAMS] = { sizeof(struct kiter_task),
						     sizeof(struct kiter_file),
						     sizeof(struct kiter_vma) };

struct pshm_kernel_iter {
	struct bpf_object *obj;
	struct bpf_link *links[KITER_PROGRAMS];
};

void kiter_stat(const struct kiter_inode *in, struct stat *ret)
{
	*ret = (struct stat){
		.st_dev = makedev(in->dev >> 20, in->dev & 0xfffff),
		.st_ino = (ino_t)in->ino,
		.st_mode = in->mode,
		.st_nlink = in->nlink,
		.st_uid = in->uid,
		.st_gid = in->gid,
		.st_size = (off_t)in->size,
		.st_blksize = (blksize_t)1 << in->blkbits,
		.st_blocks = (blkcnt_t)in->blocks,
		.st_atim = { .tv_sec = in->atime_sec, .tv_nsec = in->atime_nsec },
		.st_mtim = { .tv_sec = in->mtime_sec, .tv_nsec = in->mtime_nsec },
		.st_ctim = { .tv_sec = in->ctime_sec, .tv_nsec = in->ctime_nsec },
	};
}

static bool in_initial_pid_namespace(void)
{
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 && st.st_ino == INIT_PID_NS_INODE &&
	       process_pidfd_usable();
}

bool kiter_usable(const struct pshm_scan *s)
{
	return s->options.kernel_iter && !s->options.readers_only && !s->only &&
	       in_initial_pid_namespace();
}

/*
 * Reads one iterator of it whole into *ret (its length in *ret_len), at
 * most budget bytes, asking o's stop between reads: 0, -E2BIG past them,
 * -ETIMEDOUT, or -errno.
 */
static int read_iterator(const struct pshm_kernel_iter *it, int which, size_t budget,
			 const struct pshm_scan_options *o, char **ret, size_t *ret_len)
{
	int fd = bpf_iter_create(bpf_link__fd(it->links[which]));
	size_t len = 0, capacity = 0;
	char *buf = NULL;
	ssize_t n = 0;
	int r = 0;

	if (fd < 0)
		return fd;
	while (r == 0) {
		if (len >= budget) {
			r = -E2BIG;
			break;
		}
		if (capacity - len < 65536) {
			char *bigger = realloc(buf, capacity = capacity ? capacity * 2 : 256 << 10);

			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			buf = bigger;
		}
		if (o && o->stop && o->stop(o->stop_ctx)) {
			r = -ETIMEDOUT;
			break;
		}
		/*
		 * EAGAIN: the kernel went through a million objects that wrote
		 * nothing (a process's many other descriptors), and goes on
		 * from there at the next read.
		 */
		n = read(fd, buf + len, capacity - len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			r = -errno;
		else if (n == 0)
			break;
		else if (n > 0)
			len += (size_t)n;
	}
	close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

/*
 * Where each record of kind which in buf (len bytes) starts, into
 * run->at[which]: each whole, of its kind, its name NUL-terminated within
 * it. 0, -EPROTO, or -ENOMEM.
 */
static int index_records(struct kiter_run *run, int which, size_t len)
{
	static const size_t name_at[KITER_KINDS] = { 0, offsetof(struct kiter_file, inode.name),
						     offsetof(struct kiter_vma, inode.name) };
	const char *buf = run->buf[which];
	size_t count = 0, capacity = len / 64 + 1;

	run->at[which] = malloc(capacity * sizeof(*run->at[which]));
	if (!run->at[which])
		return -ENOMEM;
	for (size_t at = 0; at < len;) {
		const kiter_u32 *head = (const kiter_u32 *)(buf + at);
		size_t size;

		if (len - at < 8 || head[0] != (unsigned)which + 1)
			return -EPROTO;
		size = head[1];
		if (size > len - at || size % 8 || size > record_sizes[which] ||
		    (which == KITER_TASKS
			     ? size != record_sizes[which]
			     : size <= name_at[which] || !memchr(buf + at + name_at[which], '\0',
								 size - name_at[which])))
			return -EPROTO;
		if (count == capacity) /* never: no record is under 64 bytes */
			return -EPROTO;
		run->at[which][count++] = buf + at;
		at += size;
	}
	run->count[which] = count;
	return 0;
}

/* KITER_RUN_BYTES_MAX, or less (pshm_set_kernel_iter_bytes: the unit tests). */
static size_t run_bytes_max = KITER_RUN_BYTES_MAX;

void pshm_set_kernel_iter_bytes(size_t max)
{
	run_bytes_max = max ? max : KITER_RUN_BYTES_MAX;
}

int kiter_run(const struct pshm_kernel_iter *it, const struct pshm_scan_options *o,
	      struct kiter_run *run)
{
	size_t budget = run_bytes_max;
	int r = 0;

	*run = (struct kiter_run){ 0 };
	for (int i = 0; r == 0 && i < KITER_KINDS; i++) {
		size_t len = 0;

		r = read_iterator(it, i, budget, o, &run->buf[i], &len);
		if (r == 0)
			r = index_records(run, i, len);
		budget -= len < budget ? len : budget;
	}
	if (r < 0)
		kiter_run_free(run);
	return r;
}

void kiter_run_free(struct kiter_run *run)
{
	for (int i = 0; i < KITER_KINDS; i++) {
		free(run->buf[i]);
		free(run->at[i]);
	}
	*run = (struct kiter_run){ 0 };
}

/*
 * FMODE_BACKING in the running kernel: a file embedded in a backing file
 * (FUSE passthrough, overlayfs), whose mappings /proc shows under the path
 * they were made through. Linux 6.5 brought it at bit 25; 6.14 moved it to
 * bit 24 (25 is FMODE_NONOTIFY there, set on most files). The check at
 * load refuses a guess that a memfd answers.
 */
static unsigned backing_mode(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	if (major > 6 || (major == 6 && minor >= 14))
		return 1u << 24;
	return major == 6 && minor >= 5 ? 1u << 25 : 0;
}

/* libbpf's own messages: the error returned says what failed. */
static int quiet(enum libbpf_print_level level, const char *format, va_list args)
{
	return 0;
}

/* What /proc/self/stat says this process's start is, in clock ticks: 0 when unknown. */
static unsigned long long own_start_time(void)
{
	int dir = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unsigned long long start = dir < 0 ? 0 : process_start_time(dir);

	if (dir >= 0)
		close(dir);
	return start;
}

static bool same_status(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_mode == b->st_mode &&
	       a->st_nlink == b->st_nlink && a->st_uid == b->st_uid && a->st_gid == b->st_gid &&
	       a->st_size == b->st_size && a->st_blocks == b->st_blocks &&
	       a->st_atim.tv_sec == b->st_atim.tv_sec && a->st_atim.tv_nsec == b->st_atim.tv_nsec &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

#define CHECK_NAME "pshm-kiter-check"

/* What a run says of this process, against what it knows of itself: NULL, or what differs. */
static const char *check_own(const struct kiter_run *run, int memfd, const struct stat *mst,
			     unsigned long addr, int nsfd, const struct stat *nst)
{
	pid_t pid = getpid();
	uid_t uids[3];
	gid_t gids[3];
	char comm[17] = "";
	long ticks = sysconf(_SC_CLK_TCK);
	struct stat mnt, st;
	bool task = false, file = false, ns = false, vma = false;

	if (getresuid(&uids[0], &uids[1], &uids[2]) < 0 ||
	    getresgid(&gids[0], &gids[1], &gids[2]) < 0 || prctl(PR_GET_NAME, comm) < 0 ||
	    stat("/proc/self/ns/mnt", &mnt) < 0 || ticks <= 0)
		return "the process's own status";
	for (size_t i = 0; i < run->count[KITER_TASKS]; i++) {
		const struct kiter_task *t = kiter_task_at(run, i);

		if ((pid_t)t->pid != pid)
			continue;
		task = true;
		for (int k = 0; k < 3; k++)
			if (t->uids[k] != uids[k] || t->gids[k] != gids[k])
				return "a process's ids";
		if (strncmp(t->comm, comm, sizeof(t->comm)) != 0)
			return "a process's name";
		if (t->ipc_ns != nst->st_ino || t->mnt_ns != mnt.st_ino)
			return "a process's namespaces";
		if (t->start_boottime / (1000000000ULL / (unsigned long long)ticks) !=
		    own_start_time())
			return "a process's start";
	}
	for (size_t i = 0; i < run->count[KITER_FILES]; i++) {
		const struct kiter_file *f = kiter_file_at(run, i);

		if ((pid_t)f->pid != pid)
			continue;
		if (f->fd == memfd) {
			file = true;
			kiter_stat(&f->inode, &st);
			if (!same_status(&st, mst))
				return "a descriptor's file status";
			if (strcmp(f->inode.name, "memfd:" CHECK_NAME) != 0 ||
			    f->inode.flags != KITER_UNLINKED)
				return "a descriptor's file name";
		} else if (f->fd == nsfd) {
			ns = f->inode.flags & KITER_IPC_NS && f->inode.ino == nst->st_ino;
		}
	}
	for (size_t i = 0; i < run->count[KITER_VMAS]; i++) {
		const struct kiter_vma *v = kiter_vma_at(run, i);

		if ((pid_t)v->pid != pid || v->start != addr)
			continue;
		kiter_stat(&v->inode, &st);
		vma = v->end == addr + (unsigned long)getpagesize() && same_status(&st, mst);
	}
	if (!task || !file)
		return "which processes and descriptors there are";
	if (!ns)
		return "an IPC namespace's descriptor";
	return vma ? NULL : "a mapping";
}

/*
 * Runs it over a memfd, its mapping and an IPC namespace descriptor of
 * this process's, and compares: 0, or -EPROTO with what they misread.
 */
static int check(const struct pshm_kernel_iter *it, const char **ret_what)
{
	int memfd = memfd_create(CHECK_NAME, MFD_CLOEXEC), nsfd = -1, r = -errno;
	size_t page = (size_t)getpagesize();
	struct kiter_run run;
	struct stat mst, nst;
	void *addr = MAP_FAILED;

	*ret_what = "making the objects to check them with";
	if (memfd < 0)
		return r;
	if (ftruncate(memfd, (off_t)page * 2) < 0 ||
	    (addr = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0)) == MAP_FAILED ||
	    (nsfd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC)) < 0 || fstat(nsfd, &nst) < 0) {
		r = -errno;
		goto out;
	}
	*(volatile char *)addr = 1; /* one page: blocks to compare */
	if (fstat(memfd, &mst) < 0) {
		r = -errno;
		goto out;
	}
	*ret_what = "running them";
	r = kiter_run(it, NULL, &run);
	if (r == 0) {
		*ret_what = check_own(&run, memfd, &mst, (unsigned long)addr, nsfd, &nst);
		r = *ret_what ? -EPROTO : 0;
		kiter_run_free(&run);
	}
out:
	if (addr != MAP_FAILED)
		munmap(addr, page);
	if (nsfd >= 0)
		close(nsfd);
	close(memfd);
	return r;
}

PSHM_EXPORT int pshm_kernel_iter_load(struct pshm_kernel_iter **ret, struct pshm_error *err)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "pshm_kiter");
	struct pshm_kernel_iter *it;
	const char *what = "not in the initial pid namespace";
	int r;

	if (!in_initial_pid_namespace())
		return pshm_fail(err, EOPNOTSUPP, "kernel iterators", NULL, -1, what);
	it = calloc(1, sizeof(*it));
	if (!it)
		return pshm_fail(err, ENOMEM, "kernel iterators", NULL, -1, NULL);
	libbpf_set_print(quiet);
	it->obj = bpf_object__open_mem(kiter_object, sizeof(kiter_object), &opts);
	if (!it->obj) {
		r = -errno;
		what = "opening the built-in object";
		goto fail;
	}
	what = "loading them (CAP_BPF, CAP_PERFMON and the kernel's BTF)";
	r = bpf_object__load(it->obj);
	if (r == 0) {
		struct bpf_map *map = bpf_object__find_map_by_name(it->obj, "config");
		struct kiter_config config = { .backing_mode = backing_mode() };
		unsigned zero = 0;

		what = "configuring them";
		r = map ? bpf_map_update_elem(bpf_map__fd(map), &zero, &config, BPF_ANY) : -ENOENT;
		if (r < 0 && map)
			r = -errno;
	}
	for (int i = 0; r == 0 && i < KITER_PROGRAMS; i++) {
		struct bpf_program *prog =
			bpf_object__find_program_by_name(it->obj, program_names[i]);

		what = "attaching them";
		it->links[i] = prog ? bpf_program__attach_iter(prog, NULL) : NULL;
		if (!it->links[i])
			r = prog ? -errno : -ENOENT;
	}
	if (r == 0)
		r = check(it, &what);
	if (r == 0) {
		*ret = it;
		return 0;
	}
fail:
	pshm_kernel_iter_free(it);
	return pshm_fail(err, r < 0 ? -r : EINVAL, "kernel iterators", NULL, -1, what);
}

PSHM_EXPORT void pshm_kernel_iter_free(struct pshm_kernel_iter *it)
{
	if (!it)
		return;
	for (int i = 0; i < KITER_PROGRAMS; i++)
		bpf_link__destroy(it->links[i]);
	bpf_object__close(it->obj);
	free(it);
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: System V shared memory (as util-linux keeps it in ipcutils.c):
 * a line of /proc/sysvipc/shm, a segment's status from shmid_ds (one
 * mapping onto struct stat, for the scan and pshm_sysv_stat alike), acting
 * in another IPC namespace, its own memory opened through an attach, and
 * which mappings are a segment's. What the scan reads of every namespace
 * is sysv_scan.c's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sysv_i.h"

bool sysv_parse_line(const char *line, struct sysv_segment *ret)
{
	long long key, atime, dtime, ctime, swap;
	unsigned long long bytes;
	unsigned long nattch;
	unsigned perms, uid, gid, cuid, cgid;
	int shmid, cpid, lpid;

	if (sscanf(line, "%lld %d %o %llu %d %d %lu %u %u %u %u %lld %lld %lld %lld %lld", &key,
		   &shmid, &perms, &bytes, &cpid, &lpid, &nattch, &uid, &gid, &cuid, &cgid, &atime,
		   &dtime, &ctime, &ret->rss, &swap) != 16)
		return false;
	ret->shmid = shmid;
	ret->ds = (struct shmid_ds){ .shm_segsz = (size_t)bytes,
				     .shm_atime = (time_t)atime,
				     .shm_dtime = (time_t)dtime,
				     .shm_ctime = (time_t)ctime,
				     .shm_cpid = (pid_t)cpid,
				     .shm_lpid = (pid_t)lpid,
				     .shm_nattch = (shmatt_t)nattch };
	ret->ds.shm_perm.__key = (key_t)key;
	ret->ds.shm_perm.mode = (unsigned short)perms;
	ret->ds.shm_perm.uid = uid;
	ret->ds.shm_perm.gid = gid;
	ret->ds.shm_perm.cuid = cuid;
	ret->ds.shm_perm.cgid = cgid;
	return true;
}

void sysv_stat_of(int shmid, const struct shmid_ds *ds, long long rss, struct stat *ret)
{
	*ret = (struct stat){ .st_mode = S_IFREG | (ds->shm_perm.mode & 0777),
			      .st_ino = (ino_t)shmid,
			      .st_nlink = (nlink_t)ds->shm_nattch, /* its attachments, as links */
			      .st_uid = ds->shm_perm.uid,
			      .st_gid = ds->shm_perm.gid,
			      .st_size = (off_t)ds->shm_segsz,
			      .st_blocks = (blkcnt_t)(rss / 512),
			      .st_blksize = 4096 };
	ret->st_atim.tv_sec = ds->shm_atime; /* the last attach */
	/* The last detach, or creation. */
	ret->st_mtim.tv_sec = ds->shm_dtime ? ds->shm_dtime : ds->shm_ctime;
	ret->st_ctim.tv_sec = ds->shm_ctime; /* the last change */
}

unsigned long long sysv_ns_inode(const char *link)
{
	unsigned long long n = 0;

	return sscanf(link, "ipc:[%llu]", &n) == 1 ? n : 0;
}

int sysv_open_namespace(unsigned long long ns, pid_t pid, bool by_fd, int fd)
{
	char path[64];
	struct stat st;
	int ns_fd;

	if (by_fd) {
		/*
		 * A descriptor may lead to any file, and its process may swap
		 * it at any moment: opened only if it is that namespace's nsfs
		 * file (never a device, never a FUSE file), as the views open
		 * their objects.
		 */
		if (stat("/proc/self/ns/ipc", &st) < 0)
			return -errno;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)pid, fd);
		ns_fd = pshm_link_open(path, O_RDONLY, st.st_dev, (ino_t)ns);
		if (ns_fd == -ESTALE || ns_fd == -ENOENT || ns_fd == -ESRCH)
			return -ENOENT;
		return ns_fd;
	}
	snprintf(path, sizeof(path), "/proc/%ld/ns/ipc", (long)pid);
	ns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (ns_fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	if (fstat(ns_fd, &st) < 0 || (unsigned long long)st.st_ino != ns) {
		close(ns_fd);
		return -ENOENT; /* pid went, and the namespace with it or not: not this one */
	}
	return ns_fd;
}

/*
 * Namespace ns held by a descriptor of pid's, not by pid being in it:
 * found again among its descriptors (an object's ipc_pid names the
 * process, not how it holds the namespace). The descriptor, or -ENOENT.
 */
static int open_held(unsigned long long ns, pid_t pid)
{
	char path[64], link[64], want[40];
	struct dirent *de;
	int r = -ENOENT, dir;
	DIR *fds;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	snprintf(want, sizeof(want), SYSV_NS_LINK "%llu]", ns);
	fds = opendir(path);
	dir = fds ? dirfd(fds) : -1;
	while (fds && r == -ENOENT && (de = readdir(fds))) {
		ssize_t n = readlinkat(dir, de->d_name, link, sizeof(link) - 1);

		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, want) == 0)
			r = sysv_open_namespace(ns, pid, true, atoi(de->d_name));
	}
	if (fds)
		closedir(fds);
	return r;
}

int sysv_namespace_owner(int fd, uid_t *ret)
{
	int user = ioctl(fd, NS_GET_USERNS);
	int r = 0;

	if (user < 0)
		return -errno;
	if (ioctl(user, NS_GET_OWNER_UID, ret) < 0)
		r = -errno;
	close(user);
	return r;
}

int sysv_enter(unsigned long long ns, pid_t pid)
{
	int fd = sysv_open_namespace(ns, pid, false, 0), r = 0;

	if (fd == -ENOENT)
		fd = open_held(ns, pid);
	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWIPC) < 0)
		r = -errno;
	close(fd);
	return r;
}

/* What an action in another namespace does there, on a thread of its own. */
struct in_ns {
	unsigned long long ns;
	pid_t pid;
	int (*fn)(void *ctx);
	void *ctx;
	int r;
};

static void *run_in_ns(void *arg)
{
	struct in_ns *a = arg;

	a->r = a->ns ? sysv_enter(a->ns, a->pid) : 0;
	if (a->r == 0)
		a->r = a->fn(a->ctx);
	return NULL;
}

/*
 * fn(ctx) in IPC namespace ns (a process in it: pid), or for ns 0 here
 * (on a thread of its own all the same with own_thread, for an fn that
 * changes its thread's ids): its result, or -errno.
 */
static int in_namespace(unsigned long long ns, pid_t pid, int (*fn)(void *ctx), void *ctx,
			bool own_thread)
{
	struct in_ns a = { .ns = ns, .pid = pid, .fn = fn, .ctx = ctx };
	pthread_t thread;
	int r;

	if (!ns && !own_thread)
		return fn(ctx);
	r = sysv_thread(&thread, run_in_ns, &a);
	if (r)
		return -r;
	pthread_join(thread, NULL);
	return a.r;
}

int sysv_thread(pthread_t *ret, void *(*fn)(void *arg), void *arg)
{
	pthread_attr_t attr;
	int r = pthread_attr_init(&attr);

	if (r)
		return r;
	/*
	 * A thread that enters a namespace does little there (a shmctl, a
	 * file of /proc read by stdio): a small stack, which its exit gives
	 * back quickly (glibc's madvise of a whole 8 MiB stack was an
	 * eighth of a stat's time).
	 */
	r = pthread_attr_setstacksize(&attr, SYSV_THREAD_STACK);
	if (r == 0)
		r = pthread_create(ret, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return r;
}

/*
 * A segment's resident bytes, as the scan counts them (shmctl has no such
 * field; /proc/sysvipc/shm has): 0 when it is not there.
 */
static long long resident(int shmid)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	struct sysv_segment seg = { 0 };
	char *line = NULL;
	size_t size = 0;
	bool found = false;

	if (!f)
		return 0;
	while (!found && getline(&line, &size, f) > 0) {
		char *at;

		/* The id is the second field: the others are parsed on its line only. */
		(void)strtoll(line, &at, 10);
		if (at == line || strtol(at, NULL, 10) != shmid)
			continue;
		found = sysv_parse_line(line, &seg) && seg.shmid == shmid;
	}
	free(line);
	fclose(f);
	if (!found)
		return 0;
	sysv_inflated_huge_pages(&seg, &seg.rss);
	return seg.rss;
}

/* shmctl(IPC_STAT) of shmid, as long as it is key's: 0, -ENOENT, or -errno. */
static int status(int shmid, key_t key, struct shmid_ds *ret)
{
	if (shmctl(shmid, IPC_STAT, ret) < 0)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
	if (ret->shm_perm.__key != key)
		return -ENOENT; /* removed, and its id given to another */
	return 0;
}

/* What pshm_sysv_*_in do, where they do it (in_namespace). */
struct sysv_call {
	int shmid;
	key_t key;
	uid_t caller;
	struct stat *st;
	const char *failed; /* the call that failed */
	char path[64];
};

static int stat_here(void *ctx)
{
	struct sysv_call *c = ctx;
	struct shmid_ds ds;
	int r = status(c->shmid, c->key, &ds);

	c->failed = "shmctl";
	if (r == 0)
		sysv_stat_of(c->shmid, &ds, resident(c->shmid), c->st);
	return r;
}

PSHM_EXPORT int pshm_sysv_stat_in(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key,
				  struct stat *ret, struct pshm_error *err)
{
	struct stat st;
	struct sysv_call c = { .shmid = shmid, .key = key, .st = &st, .failed = "setns" };
	int r = in_namespace(ipc_ns, pid, stat_here, &c, false);

	if (r < 0)
		return pshm_fail(err, -r, c.failed, NULL, -1,
				 r == -ENOENT ? "no segment of that id and key" : NULL);
	*ret = st;
	return 0;
}

PSHM_EXPORT int pshm_sysv_stat(int shmid, key_t key, struct stat *ret, struct pshm_error *err)
{
	return pshm_sysv_stat_in(0, 0, shmid, key, ret, err);
}

static int open_here(void *ctx)
{
	struct sysv_call *c = ctx;
	long page = sysconf(_SC_PAGESIZE);
	struct shmid_ds ds;
	char *map;
	int fd, e, r = status(c->shmid, c->key, &ds);

	c->failed = "shmctl";
	if (r < 0)
		return r;
	c->failed = "shmat";
	map = shmat(c->shmid, NULL, SHM_RDONLY);
	if (map == (void *)-1)
		return errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
	snprintf(c->path, sizeof(c->path), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map +
			 (ds.shm_segsz + (size_t)page - 1) / (size_t)page * (size_t)page);
	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	e = errno;
	shmdt(map);
	/*
	 * ENOENT here is no gone segment: the attach spans other than the
	 * pages counted (SHM_HUGETLB rounds to huge pages).
	 */
	c->failed = "open";
	if (fd < 0)
		return e == ENOENT ? -EOPNOTSUPP : -e;
	/* The id may have been removed and given to another segment meanwhile. */
	c->failed = "shmctl";
	r = status(c->shmid, c->key, &ds);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

PSHM_EXPORT int pshm_sysv_open_in(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key,
				  struct pshm_error *err)
{
	struct sysv_call c = { .shmid = shmid, .key = key, .failed = "setns" };
	int r = in_namespace(ipc_ns, pid, open_here, &c, false);

	if (r >= 0)
		return r;
	if (r == -EOPNOTSUPP)
		return pshm_fail(err, EOPNOTSUPP, "open", c.path, -1,
				 "the attach is not of the size counted");
	return pshm_fail(err, -r, c.failed, c.path[0] ? c.path : NULL, -1,
			 r == -ENOENT ? "no segment of that id and key" : NULL);
}

PSHM_EXPORT int pshm_sysv_open(int shmid, key_t key, struct pshm_error *err)
{
	return pshm_sysv_open_in(0, 0, shmid, key, err);
}

/*
 * IPC_RMID as the caller: with the caller's effective uid (this thread
 * alone, raw setresuid, which also clears its effective capabilities), so
 * the kernel decides as it would for the caller's own ipcrm: the owner,
 * the creator, or CAP_SYS_ADMIN over the namespace (a user namespace's
 * owner has it there). Never a check of the daemon's own followed by an
 * act as root: whatever the segment's owner became meanwhile, the kernel
 * judges the removal itself.
 */
static int remove_here(void *ctx)
{
	struct sysv_call *c = ctx;
	struct shmid_ds ds;
	int r = status(c->shmid, c->key, &ds);

	c->failed = "shmctl";
	if (r < 0)
		return r;
	if (c->caller != geteuid()) {
		c->failed = "setresuid";
		if (syscall(SYS_setresuid, c->caller, c->caller, c->caller) < 0)
			return -errno;
		c->failed = "shmctl";
	}
	if (shmctl(c->shmid, IPC_RMID, NULL) == 0)
		return 0;
	return errno == EINVAL || errno == EIDRM ? -ENOENT : -errno;
}

PSHM_EXPORT int pshm_sysv_remove(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key,
				 uid_t caller, struct pshm_error *err)
{
	struct sysv_call c = { .shmid = shmid, .key = key, .caller = caller, .failed = "setns" };
	/* Another's ids only ever on a thread that ends with the call. */
	int r = in_namespace(ipc_ns, pid, remove_here, &c, caller != geteuid());

	if (r < 0)
		return pshm_fail(err, -r, c.failed, NULL, -1,
				 r == -ENOENT ? "no segment of that id and key" : NULL);
	return 0;
}

/*
 * The devices of the kernel's own mounts, where memfds, shared anonymous
 * memory and System V segments live: its internal tmpfs, and the internal
 * hugetlbfs of each huge page size. Learnt once from objects made here (a
 * memfd lives on the same internal mounts), never from a path: any
 * process can open or map a file whose path reads like one of these, with
 * any small inode number (a tmpfs of its own, pivot_root in a user
 * namespace), but not one on these devices. Process-wide, as the
 * kernel's mounts are: written once, under pthread_once.
 */
#define HUGE_PAGE_SIZES_MAX 8
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26 /* linux/memfd.h */
#endif
static struct {
	pthread_once_t once;
	dev_t shm;
	dev_t hugetlb[HUGE_PAGE_SIZES_MAX]; /* 0: none (no hugetlbfs, or fewer sizes) */
	unsigned long long page_size[HUGE_PAGE_SIZES_MAX]; /* of each of them */
} kernel_mounts = { .once = PTHREAD_ONCE_INIT };

/* The device of a memfd made with flags, and its block size (a huge page's on hugetlbfs). */
static dev_t memfd_device(unsigned flags, unsigned long long *ret_block)
{
	int fd = memfd_create("pshm-device", MFD_CLOEXEC | flags);
	struct stat st;
	dev_t dev = 0;

	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0) {
		dev = st.st_dev;
		*ret_block = (unsigned long long)st.st_blksize;
	}
	close(fd);
	return dev;
}

static void learn_kernel_mounts(void)
{
	DIR *sizes = opendir("/sys/kernel/mm/hugepages");
	unsigned long long block = 0;
	struct dirent *de;
	size_t n = 0;

	kernel_mounts.shm = memfd_device(0, &block);
	/* The default size (a memfd needs no free huge page to be made). */
	kernel_mounts.hugetlb[n] = memfd_device(MFD_HUGETLB, &kernel_mounts.page_size[n]);
	n += kernel_mounts.hugetlb[n] != 0;
	/* Each size has its own internal mount: hugepages-2048kB is 1 << 21, MFD_HUGE_2MB. */
	while (sizes && n < HUGE_PAGE_SIZES_MAX && (de = readdir(sizes))) {
		unsigned long long kib;
		unsigned shift = 0;
		bool known = false;
		dev_t dev;

		if (sscanf(de->d_name, "hugepages-%llukB", &kib) != 1 || !kib)
			continue;
		while ((1ull << shift) < kib * 1024)
			shift++;
		dev = memfd_device(MFD_HUGETLB | (shift << MFD_HUGE_SHIFT), &block);
		for (size_t i = 0; i < n; i++)
			known |= kernel_mounts.hugetlb[i] == dev;
		if (dev && !known) {
			kernel_mounts.page_size[n] = block;
			kernel_mounts.hugetlb[n++] = dev;
		}
	}
	if (sizes)
		closedir(sizes);
}

bool sysv_kernel_device(dev_t dev)
{
	pthread_once(&kernel_mounts.once, learn_kernel_mounts);
	if (!dev)
		return false;
	if (dev == kernel_mounts.shm)
		return true;
	for (size_t i = 0; i < HUGE_PAGE_SIZES_MAX; i++)
		if (kernel_mounts.hugetlb[i] == dev)
			return true;
	return false;
}

unsigned long long sysv_huge_page_size(dev_t dev)
{
	pthread_once(&kernel_mounts.once, learn_kernel_mounts);
	for (size_t i = 0; dev && i < HUGE_PAGE_SIZES_MAX; i++)
		if (kernel_mounts.hugetlb[i] == dev)
			return kernel_mounts.page_size[i];
	return 0;
}

/*
 * A System V segment on huge pages, as /proc/sysvipc/shm tells: its rss
 * counts each huge page's base pages once per base page (pages_per_huge_page
 * times the page cache's pages, which count base pages too), so more than
 * its size can hold. Its huge page size (the one that divides rss into a
 * whole number of huge pages within its size) and its real resident bytes;
 * 0 when rss is not so inflated (not on huge pages, nothing resident, or a
 * kernel that counts right: then only a mapping tells, process.c).
 */
unsigned long long sysv_inflated_huge_pages(const struct sysv_segment *seg, long long *ret_rss)
{
	unsigned long long size = (unsigned long long)seg->ds.shm_segsz;

	if (seg->rss <= 0 || (unsigned long long)seg->rss <= (size + 4095) / 4096 * 4096)
		return 0;
	pthread_once(&kernel_mounts.once, learn_kernel_mounts);
	for (size_t i = 0; i < HUGE_PAGE_SIZES_MAX; i++) {
		unsigned long long page = kernel_mounts.page_size[i], base = page / 4096;
		unsigned long long real;

		if (!kernel_mounts.hugetlb[i] || page < 8192 || (unsigned long long)seg->rss % base)
			continue;
		real = (unsigned long long)seg->rss / base;
		if (real % page == 0 && real <= (size + page - 1) / page * page) {
			*ret_rss = (long long)real;
			return page;
		}
	}
	return 0;
}

bool sysv_mapping(dev_t dev, const char *path, key_t key)
{
	unsigned path_key;
	char end;

	if (!sysv_kernel_device(dev))
		return false;
	return sscanf(path, SYSV_PREFIX "%8x%c", &path_key, &end) == 2 && end == ' ' &&
	       path_key == (unsigned)key;
}

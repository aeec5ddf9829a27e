/* SPDX-License-Identifier: MIT */
/*
 * The kernel iterators against /proc: the same population of holders
 * (every kind of object, names that need escaping, another IPC namespace,
 * one held only by a descriptor, a deleted file below the top of
 * /dev/shm, a command name with spaces and a backslash, another uid),
 * scanned both ways, must give the same objects, status and holders, field
 * by field; and a scan the iterators must not make (a user's own, one
 * segment's holders) walks /proc whatever its options say.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups_i.h"
#include "pshm.h"
#include "pshm_i.h"
#include "testutil.h"

#define PAGE 4096
#define CHILDREN 6

static struct pshm_kernel_iter *iter;
static pid_t children[CHILDREN];
static size_t child_count;

/* Maps fd's first page shared (executable when exec), and touches it. */
static int map(int fd, bool exec)
{
	char *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE | (exec ? PROT_EXEC : 0), MAP_SHARED, fd,
		       0);

	if (p == MAP_FAILED)
		return -1;
	p[0] = 1;
	return 0;
}

/* A segment of PSHM_DIR, PAGE long, open (and mapped); unlinked when unlink. */
static int segment(const char *name, bool mapped, bool unlink)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || ftruncate(fd, PAGE) < 0 || (mapped && map(fd, false) < 0) ||
	    (unlink && unlinkat(AT_FDCWD, path, 0) < 0))
		return -1;
	return fd;
}

/* The first holder: a bit of everything, under a name that needs writing carefully. */
static int everything_setup(const void *arg)
{
	char long_name[250];
	int fd, id;

	if (segment("kiter-named", true, false) < 0 ||
	    link(PSHM_DIR "/kiter-named", PSHM_DIR "/kiter-link") < 0 ||
	    segment("kiter-deleted", true, true) < 0 || segment("kiter del\nx", false, true) < 0)
		return -1;
	fd = memfd_create("kiter-memfd", 0);
	if (fd < 0 || ftruncate(fd, 3 * PAGE) < 0 || map(fd, true) < 0 ||
	    mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, PAGE) == MAP_FAILED)
		return -1;
	fd = memfd_create("kiter-mapped-only", 0);
	if (fd < 0 || ftruncate(fd, PAGE) < 0 || map(fd, false) < 0)
		return -1;
	close(fd);
	memset(long_name, 'm', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	if (memfd_create(long_name, 0) < 0)
		return -1;
	if (mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0) ==
	    MAP_FAILED)
		return -1;
	id = shmget(0x6b697465, 2 * PAGE, IPC_CREAT | 0600);
	if (id < 0 || shmat(id, NULL, 0) == (void *)-1)
		return -1;
	prctl(PR_SET_NAME, "k a\\b\n", 0, 0, 0);
	return 0;
}

/* A container's: System V segments of an IPC namespace of its own, one attached. */
static int container_setup(const void *arg)
{
	int id;

	if (unshare(CLONE_NEWIPC) < 0)
		return -1;
	id = shmget(0x6b697466, 5 * PAGE, IPC_CREAT | 0600);
	if (id < 0 || shmat(id, NULL, 0) == (void *)-1 ||
	    shmget(0x6b697467, 7 * PAGE, IPC_CREAT | 0600) < 0)
		return -1;
	prctl(PR_SET_NAME, "kiter-container", 0, 0, 0);
	return 0;
}

/*
 * Keeps an IPC namespace no process is in by a descriptor of it: made,
 * given a segment, and left.
 */
static int keeper_setup(const void *arg)
{
	int own = open("/proc/self/ns/ipc", O_RDONLY);

	if (own < 0 || unshare(CLONE_NEWIPC) < 0 ||
	    shmget(0x6b697468, 11 * PAGE, IPC_CREAT | 0600) < 0 ||
	    open("/proc/self/ns/ipc", O_RDONLY) < 0 || setns(own, CLONE_NEWIPC) < 0)
		return -1;
	close(own);
	prctl(PR_SET_NAME, "kiter-keeper", 0, 0, 0);
	return 0;
}

/* A deleted file below the top of /dev/shm: its name is its path there, which /proc tells. */
static int below_setup(const void *arg)
{
	if (mkdir(PSHM_DIR "/kiter-dir", 0755) < 0 || segment("kiter-dir/below", true, true) < 0)
		return -1;
	prctl(PR_SET_NAME, "kiter-below", 0, 0, 0);
	return 0;
}

/*
 * Files of /dev/shm's file system through a bind mount of it, in a mount
 * namespace of its own: a named segment mapped, and a deleted one open.
 */
static int binder_setup(const void *arg)
{
	char dir[] = "/tmp/pshm-kiter-bind-XXXXXX", path[PATH_MAX];
	int fd;

	if (!mkdtemp(dir) || unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount(PSHM_DIR, dir, NULL, MS_BIND, NULL) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/kiter-named", dir);
	fd = open(path, O_RDONLY);
	if (fd < 0 || mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		return -1;
	close(fd);
	snprintf(path, sizeof(path), "%s/kiter-bound", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0 || ftruncate(fd, PAGE) < 0 || unlink(path) < 0)
		return -1;
	/* The directory is the machine's /tmp's: gone from it, kept as our mount. */
	umount2(dir, MNT_DETACH);
	rmdir(dir);
	prctl(PR_SET_NAME, "kiter-binder", 0, 0, 0);
	return 0;
}

/* Another user's memfd, mapped. */
static int other_user_setup(const void *arg)
{
	int fd = memfd_create("kiter-4242", 0);

	if (fd < 0 || ftruncate(fd, PAGE) < 0 || map(fd, false) < 0 ||
	    setresgid(4242, 4242, 4242) < 0 || setresuid(4242, 4242, 4242) < 0)
		return -1;
	prctl(PR_SET_NAME, "kiter-4242", 0, 0, 0);
	return 0;
}

/* The holders every test looks at, started by the first. */
static void start_children(void)
{
	if (child_count)
		return;
	children[child_count++] = test_child_ready(everything_setup, NULL);
	children[child_count] = test_child_ready(container_setup, NULL);
	child_count++;
	children[child_count] = test_child_ready(keeper_setup, NULL);
	child_count++;
	children[child_count] = test_child_ready(other_user_setup, NULL);
	child_count++;
	children[child_count] = test_child_ready(below_setup, NULL);
	child_count++;
	children[child_count] = test_child_ready(binder_setup, NULL);
	child_count++;
}

static bool ours(pid_t pid)
{
	for (size_t i = 0; i < child_count; i++)
		if (children[i] == pid)
			return true;
	return false;
}

/*
 * Appends one object as a line of every field a scan gives, with its
 * holders of ours, when it is ours: the rest of the machine may change
 * between two scans.
 */
static void describe(char **text, size_t *len, const struct pshm_object *o)
{
	const struct stat *st = &o->st;
	char *line = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&line, &size);
	bool any = false;

	CU_ASSERT_FATAL(f != NULL);
	fprintf(f, "%u %s dev %ju ino %ju mode %o nlink %ju ids %u:%u size %jd blocks %jd", o->kind,
		o->name, (uintmax_t)st->st_dev, (uintmax_t)st->st_ino, st->st_mode,
		(uintmax_t)st->st_nlink, st->st_uid, st->st_gid, (intmax_t)st->st_size,
		(intmax_t)st->st_blocks);
	fprintf(f, " times %jd.%09ld %jd.%09ld %jd.%09ld path %s shm %d key %d nattch %lu",
		(intmax_t)st->st_atim.tv_sec, st->st_atim.tv_nsec, (intmax_t)st->st_mtim.tv_sec,
		st->st_mtim.tv_nsec, (intmax_t)st->st_ctim.tv_sec, st->st_ctim.tv_nsec, o->path,
		o->shmid, (int)o->key, o->nattch);
	fprintf(f, " exec %d page %llu made-as %u\n", o->exec_mapped, o->page_size, o->made_as);
	for (size_t i = 0; i < o->holder_count; i++) {
		const struct pshm_holder *h = &o->holders[i];

		if (!ours(h->pid))
			continue;
		any = true;
		fprintf(f, "  pid %d start %llu uid %u comm %s fd %d map %llx-%llx %s\n", h->pid,
			h->start_time, h->uid, h->comm, h->fd, h->start, h->end, h->perms);
	}
	fclose(f);
	/* Ours too: one nobody holds, such as the container's detached segment. */
	if (!o->holder_count && (strstr(o->name, "kiter") || strstr(o->name, "0x6b6974")))
		any = true;
	if (any) {
		*text = realloc(*text, *len + size + 1);
		CU_ASSERT_FATAL(*text != NULL);
		memcpy(*text + *len, line, size + 1);
		*len += size;
	}
	free(line);
}

/* Appends the processes a scan could not read and the namespaces it left out. */
static void unreadable_text(char **text, size_t *len, const struct pshm_scan *scan)
{
	struct pshm_unreadable u[PSHM_UNREADABLE_NAMED];
	size_t n = pshm_scan_unreadable_pids(scan, u, PSHM_UNREADABLE_NAMED);
	char line[64];

	for (size_t i = 0; i <= n; i++) {
		if (i < n)
			snprintf(line, sizeof(line), " %d %d", u[i].pid, u[i].error);
		else
			snprintf(line, sizeof(line), " of %u; ipc skipped %u\n",
				 pshm_scan_unreadable(scan), pshm_scan_ipc_skipped(scan));
		*text = realloc(*text, *len + strlen(line) + 1);
		CU_ASSERT_FATAL(*text != NULL);
		memcpy(*text + *len, line, strlen(line) + 1);
		*len += strlen(line);
	}
}

/* Every object of kinds the children hold, described, in the scan's order. */
static char *scan_text(unsigned kinds, const struct pshm_kernel_iter *it, bool *ret_used)
{
	struct pshm_scan_options options = { .skip_self = true, .kernel_iter = it };
	const struct pshm_object *o;
	struct pshm_scan *scan;
	char *text = calloc(1, 1);
	size_t len = 0;

	start_children();
	CU_ASSERT_FATAL(pshm_scan_open(kinds, &options, &scan, NULL) == 0);
	while (pshm_scan_next(scan, &o) > 0)
		describe(&text, &len, o);
	*ret_used = pshm_scan_kernel_iter_used(scan);
	/* The processes /proc does not let the scan read (here too: a sandbox's init). */
	unreadable_text(&text, &len, scan);
	/*
	 * Only the deleted file below the top of /dev/shm, and the files
	 * through another mount (the walk judges them by their path), need
	 * /proc: the last two children.
	 */
	for (size_t i = 0; *ret_used && i < child_count; i++)
		CU_ASSERT_EQUAL(pshm_scan_kernel_iter_read_proc(scan, children[i]),
				i + 2 >= child_count);
	pshm_scan_free(scan);
	return text;
}

/* Prints where two descriptions part. */
static void show_difference(const char *walk, const char *iterated)
{
	size_t at = 0, line = 0;

	while (walk[at] && walk[at] == iterated[at])
		if (walk[at++] == '\n')
			line = at;
	printf("\n    /proc:     %.300s\n    iterators: %.300s\n", walk + line, iterated + line);
}

static void test_iterators_and_proc_give_the_same_scan(void)
{
	static const unsigned kinds[] = { PSHM_KIND_ALL, PSHM_KIND_DELETED | PSHM_KIND_MEMFD,
					  PSHM_KIND_SYSV, PSHM_KIND_SEGMENT };

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		bool walked, iterated;
		char *walk = scan_text(kinds[k], NULL, &walked);
		char *by_iter = scan_text(kinds[k], iter, &iterated);

		CU_ASSERT_FALSE(walked);
		CU_ASSERT_TRUE(iterated);
		CU_ASSERT_TRUE(strlen(walk) > 0);
		CU_ASSERT_STRING_EQUAL(walk, by_iter);
		if (strcmp(walk, by_iter) != 0)
			show_difference(walk, by_iter);
		free(walk);
		free(by_iter);
	}
}

static void test_iterators_see_every_kind_the_children_hold(void)
{
	bool used;
	char *text = scan_text(PSHM_KIND_ALL, iter, &used);
	static const char *const expected[] = {
		"kiter-named dev",
		"kiter-link dev",
		"kiter-deleted@",
		"kiter%20del%0Ax@",
		"kiter-memfd@",
		"kiter-mapped-only@",
		"mmmmmmmmmmmmmmmmmmmmmmmm",
		"0x6b697465@",
		"@0x6b697466@",
		"@0x6b697467@",
		"@0x6b697468@",
		"kiter-dir%2Fbelow@",
		"kiter-4242@",
		"comm k_a__b_n ",
		"comm kiter-container",
		"uid 4242 comm kiter-4242",
	};

	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(text, expected[i]));
		if (!strstr(text, expected[i]))
			printf("\n    missing: %s ", expected[i]);
	}
	free(text);
}

static bool stop_never(void *ctx)
{
	return false;
}

static void test_scans_the_iterators_must_not_make_walk_proc(void)
{
	struct stat st;
	struct pshm_scan_options user = { .kernel_iter = iter,
					  .readers_only = true,
					  .reader_uid = 4242,
					  .reader_gid = 4242 },
				 only = { .kernel_iter = iter, .only = &st },
				 stopped = { .kernel_iter = iter, .stop = stop_never };
	struct pshm_scan *scan;

	start_children();
	CU_ASSERT_FATAL(stat(PSHM_DIR "/kiter-named", &st) == 0);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_ALL, &user, &scan, NULL) == 0);
	CU_ASSERT_FALSE(pshm_scan_kernel_iter_used(scan));
	pshm_scan_free(scan);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT, &only, &scan, NULL) == 0);
	CU_ASSERT_FALSE(pshm_scan_kernel_iter_used(scan));
	CU_ASSERT_EQUAL(pshm_scan_count(scan), 1);
	pshm_scan_free(scan);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_ALL, &stopped, &scan, NULL) == 0);
	CU_ASSERT_TRUE(pshm_scan_kernel_iter_used(scan));
	pshm_scan_free(scan);
}

static void test_a_run_past_its_bound_walks_proc_instead(void)
{
	bool used_small, used_walk;
	char *small, *walk;

	/* 4 KiB: less than the processes alone (64 bytes each) take. */
	pshm_set_kernel_iter_bytes(4096);
	small = scan_text(PSHM_KIND_ALL, iter, &used_small);
	pshm_set_kernel_iter_bytes(0);
	walk = scan_text(PSHM_KIND_ALL, NULL, &used_walk);
	CU_ASSERT_FALSE(used_small);
	CU_ASSERT_STRING_EQUAL(small, walk);
	free(small);
	free(walk);
}

/* A memfd named arg, of 5 pages, written. */
static int memfd_setup(const void *arg)
{
	int fd = memfd_create(arg, 0);
	char page[PAGE] = { 1 };

	for (int i = 0; fd >= 0 && i < 5; i++)
		if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
			return -1;
	return fd < 0 ? -1 : 0;
}

/* Moves pid into the cgroup at path (of the hierarchy): true when it went. */
static bool move_to(const char *path, pid_t pid)
{
	char file[PATH_MAX + 16];
	FILE *f;
	bool ok;

	snprintf(file, sizeof(file), "%s/cgroup.procs", path);
	f = fopen(file, "w");
	if (!f)
		return false;
	ok = fprintf(f, "%ld\n", (long)pid) > 0;
	return fclose(f) == 0 && ok;
}

/* The bytes of memfds the row of the cgroup at path (below the hierarchy's top) has. */
static unsigned long long memfd_bytes(const struct pshm_cgroup_row *rows, ssize_t count,
				      const char *path)
{
	for (ssize_t i = 0; i < count; i++)
		if (strcmp(rows[i].path, path) == 0)
			return rows[i].bytes[__builtin_ctz(PSHM_KIND_MEMFD)];
	return 0;
}

static void test_usage_by_cgroup_reads_a_cgroup_once_and_follows_a_move(void)
{
	struct pshm_scan_options options = { .skip_self = true, .kernel_iter = iter };
	struct pshm_viewer root = { .uid = 0 };
	struct pshm_cgroup_row *rows = NULL;
	char a[PATH_MAX], b[PATH_MAX];
	struct hierarchy h;
	struct pshm_scan *scan;
	pid_t first, second;
	ssize_t n;

	cgroups_find_hierarchy(&h);
	snprintf(a, sizeof(a), "%s/pshm-kiter-a-%ld", h.mount, (long)getpid());
	snprintf(b, sizeof(b), "%s/pshm-kiter-b-%ld", h.mount, (long)getpid());
	if (!h.mount[0] || mkdir(a, 0755) < 0) {
		printf("\n    SKIP: no memory controller's hierarchy to make cgroups in ");
		return;
	}
	CU_ASSERT_FATAL(mkdir(b, 0755) == 0);
	/* The first holder's object sorts first: its path is read for both. */
	first = test_child_ready(memfd_setup, "kiter-cg-a");
	second = test_child_ready(memfd_setup, "kiter-cg-b");
	CU_ASSERT_TRUE(move_to(a, first) && move_to(a, second));
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_MEMFD, &options, &scan, NULL) == 0);
	CU_ASSERT_TRUE(pshm_scan_kernel_iter_used(scan));
	n = pshm_usage_by_cgroup(scan, &root, &rows, NULL);
	CU_ASSERT(n > 0);
	CU_ASSERT_EQUAL(memfd_bytes(rows, n, a + strlen(h.mount)), 10 * PAGE);
	free(rows);
	/* Moved after the scan: its path no longer names the cgroup the scan saw. */
	CU_ASSERT_TRUE(move_to(b, first));
	n = pshm_usage_by_cgroup(scan, &root, &rows, NULL);
	CU_ASSERT_EQUAL(memfd_bytes(rows, n, a + strlen(h.mount)), 5 * PAGE);
	CU_ASSERT_EQUAL(memfd_bytes(rows, n, b + strlen(h.mount)), 5 * PAGE);
	free(rows);
	pshm_scan_free(scan);
	kill(first, SIGKILL);
	kill(second, SIGKILL);
	waitpid(first, NULL, 0);
	waitpid(second, NULL, 0);
	CU_ASSERT_EQUAL(rmdir(a), 0);
	CU_ASSERT_EQUAL(rmdir(b), 0);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_iterators_and_proc_give_the_same_scan),
		TEST(test_iterators_see_every_kind_the_children_hold),
		TEST(test_scans_the_iterators_must_not_make_walk_proc),
		TEST(test_a_run_past_its_bound_walks_proc_instead),
		TEST(test_usage_by_cgroup_reads_a_cgroup_once_and_follows_a_move),
		TEST_END,
	};
	struct pshm_error err;
	char msg[256];
	int r;

	if (geteuid() != 0) {
		printf("SKIP: the kernel iterators are root's\n");
		return 77;
	}
	if (unshare(CLONE_NEWIPC) < 0) {
		perror("unshare(CLONE_NEWIPC)");
		return 1;
	}
	test_isolate_shm(16 << 20);
	r = pshm_kernel_iter_load(&iter, &err);
	if (r < 0) {
		/*
		 * Built with them (argv[1] "required"), they must load where the
		 * kernel has its types and lets root load BPF: a program the
		 * verifier refuses, or a load check that fails, is a failure.
		 */
		bool required = argc > 1 && strcmp(argv[1], "required") == 0 && r != -EPERM &&
				access("/sys/kernel/btf/vmlinux", R_OK) == 0;

		pshm_strerror(&err, msg, sizeof(msg));
		printf("%s: %s\n", required ? "FAIL" : "SKIP", msg);
		return required ? 1 : 77;
	}
	r = test_run_suite("kernel-iter", cases);
	for (size_t i = 0; i < child_count; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	pshm_kernel_iter_free(iter);
	return r;
}

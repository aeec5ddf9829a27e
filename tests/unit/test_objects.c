/* SPDX-License-Identifier: MIT */
/*
 * libpshm's scan of every kind of shared memory: real holders in child
 * processes (a segment unlinked while mapped, a memfd, a System V segment,
 * a shared anonymous mapping), found with their size, name and holders,
 * and gone once the holder exits.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include "pshm.h"
#include "pshm_i.h"
#include "testutil.h"

#define SIZE (3 << 20) /* not a size any other object here has */

struct holder {
	pid_t pid;
	int shmid;
};

/* Viewers: root; and uid 4242, told by the kernel it may read no process, or every one. */
static bool read_none(void *ctx, pid_t pid, unsigned long long start_time)
{
	(void)ctx, (void)pid, (void)start_time;
	return false;
}

static bool read_all(void *ctx, pid_t pid, unsigned long long start_time)
{
	(void)ctx, (void)pid, (void)start_time;
	return true;
}

static const struct pshm_viewer root = { .uid = 0 };
static const struct pshm_viewer blind_4242 = { .uid = 4242, .may_read = read_none };
static const struct pshm_viewer sighted_4242 = { .uid = 4242, .may_read = read_all };

/*
 * Starts a child that holds one object of kind (written "kind" at its
 * start) and waits; returns once the object exists.
 */
static struct holder hold(unsigned kind, const char *name)
{
	int ready[2], shmid = -1;
	struct holder h = { 0 };
	char c;

	CU_ASSERT_FATAL(pipe(ready) == 0);
	if (kind == PSHM_KIND_SYSV) {
		shmid = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0640);
		CU_ASSERT_FATAL(shmid >= 0);
	}
	fflush(NULL);
	h.pid = fork();
	CU_ASSERT_FATAL(h.pid >= 0);
	if (h.pid == 0) {
		char *map = MAP_FAILED;
		int fd;

		switch (kind) {
		case PSHM_KIND_DELETED:
			fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
			if (fd < 0 || ftruncate(fd, SIZE) < 0)
				_exit(1);
			map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			close(fd);
			pshm_unlink(name, NULL);
			break;
		case PSHM_KIND_MEMFD:
			fd = memfd_create(name, 0);
			if (fd < 0 || ftruncate(fd, SIZE) < 0)
				_exit(1);
			map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
			break; /* the descriptor stays open too */
		case PSHM_KIND_SYSV:
			map = shmat(shmid, NULL, 0);
			break;
		case PSHM_KIND_SHARED_ANON:
			map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				   -1, 0);
			break;
		}
		if (map == MAP_FAILED || map == (void *)-1)
			_exit(1);
		memcpy(map, pshm_kind_name(kind), strlen(pshm_kind_name(kind)));
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	h.shmid = shmid;
	return h;
}

static void release(struct holder h)
{
	kill(h.pid, SIGKILL);
	waitpid(h.pid, NULL, 0);
	if (h.shmid >= 0)
		shmctl(h.shmid, IPC_RMID, NULL);
}

/* The object of kind the scan finds held by pid, or NULL (*ret_scan to free). */
static const struct pshm_object *held_by(pid_t pid, unsigned kind, struct pshm_scan **ret_scan)
{
	const struct pshm_object *o;

	CU_ASSERT_FATAL(pshm_scan_open(kind, NULL, ret_scan, NULL) == 0);
	while (pshm_scan_next(*ret_scan, &o) > 0) {
		CU_ASSERT_EQUAL(o->kind, kind);
		for (size_t i = 0; i < o->holder_count; i++)
			if (o->holders[i].pid == pid)
				return o;
	}
	return NULL;
}

static void check_kind(unsigned kind, const char *name, const char *name_start)
{
	struct holder h = hold(kind, name);
	const struct pshm_object *o;
	struct pshm_scan *scan;
	char text[16] = "";
	bool mapped = false;
	int fd;

	o = held_by(h.pid, kind, &scan);
	if (!o) {
		release(h); /* no child left holding it, whatever the test says */
		pshm_scan_free(scan);
		CU_FAIL_FATAL("the scan did not find the object");
	}
	CU_ASSERT_EQUAL(o->st.st_size, SIZE);
	CU_ASSERT_EQUAL(strncmp(o->name, name_start, strlen(name_start)), 0);
	if (strncmp(o->name, name_start, strlen(name_start)) != 0)
		printf("\n    %s: %s", pshm_kind_name(kind), o->name);
	CU_ASSERT_PTR_EQUAL(pshm_scan_find(scan, kind, o->name), o);
	for (size_t i = 0; i < o->holder_count; i++) {
		CU_ASSERT_EQUAL(o->holders[i].pid, h.pid);
		CU_ASSERT_EQUAL(o->holders[i].uid, getuid());
		if (o->holders[i].fd < 0) {
			mapped = true;
			CU_ASSERT_EQUAL(o->holders[i].end - o->holders[i].start, SIZE);
			CU_ASSERT_STRING_EQUAL(o->holders[i].perms, "rw-s");
		}
	}
	CU_ASSERT_TRUE(mapped);
	CU_ASSERT_TRUE(pshm_object_visible(o, &(struct pshm_viewer){ .uid = 0 }));
	CU_ASSERT_TRUE(pshm_object_visible(o, &(struct pshm_viewer){ .uid = 4242 }));
	CU_ASSERT_FALSE(pshm_object_visible(o, &blind_4242));
	CU_ASSERT_TRUE(pshm_object_visible(o, &sighted_4242));
	/* The object itself, with what the holder wrote (System V has no path to open). */
	fd = pshm_object_open(o, O_RDONLY, NULL);
	if (kind == PSHM_KIND_SYSV) {
		CU_ASSERT_EQUAL(o->shmid, h.shmid);
		CU_ASSERT_EQUAL(o->nattch, 1);
		CU_ASSERT_EQUAL(o->st.st_mode & 0777, 0640);
		CU_ASSERT_EQUAL(fd, -ENOENT);
	} else {
		CU_ASSERT_FATAL(fd >= 0);
		CU_ASSERT(pread(fd, text, strlen(pshm_kind_name(kind)), 0) > 0);
		CU_ASSERT_STRING_EQUAL(text, pshm_kind_name(kind));
		close(fd);
	}
	pshm_scan_free(scan);
	/* The last holder gone, the object is gone. */
	release(h);
	CU_ASSERT_PTR_NULL(held_by(h.pid, kind, &scan));
	pshm_scan_free(scan);
}

static void test_scan_finds_a_segment_unlinked_while_mapped(void)
{
	const char *name = test_unique_name("del");

	check_kind(PSHM_KIND_DELETED, name, name);
}

static void test_scan_finds_a_memfd(void)
{
	check_kind(PSHM_KIND_MEMFD, "scan/mem fd", "scan%2Fmem%20fd@");
}

/*
 * A memfd named with UTF-8 and a newline, held by one process through a
 * descriptor and by another only through a mapping (where the kernel
 * writes the newline as \012): the same name both ways, bytes above 0x7e
 * and the newline as %XX, so a .ctl command can name it.
 */
static void test_scan_names_a_memfd_alike_through_fd_and_mapping(void)
{
	static const char name[] = "caf\xc3\xa9\nx";
	const char *want = "caf%C3%A9%0Ax@";
	struct holder by_fd = hold(PSHM_KIND_MEMFD, name), by_map;
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int ready[2];
	char c;

	CU_ASSERT_FATAL(pipe(ready) == 0);
	by_map.shmid = -1;
	by_map.pid = fork();
	CU_ASSERT_FATAL(by_map.pid >= 0);
	if (by_map.pid == 0) {
		int fd = memfd_create(name, 0);
		char *map = fd >= 0 && ftruncate(fd, SIZE) == 0
				    ? mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
				    : MAP_FAILED;

		if (map == MAP_FAILED)
			_exit(1);
		close(fd); /* held only through the mapping */
		(void)!write(ready[1], "x", 1);
		pause();
		_exit(0);
	}
	CU_ASSERT(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	close(ready[1]);
	o = held_by(by_fd.pid, PSHM_KIND_MEMFD, &scan);
	CU_ASSERT(o && strncmp(o->name, want, strlen(want)) == 0);
	pshm_scan_free(scan);
	o = held_by(by_map.pid, PSHM_KIND_MEMFD, &scan);
	CU_ASSERT(o && strncmp(o->name, want, strlen(want)) == 0);
	if (o && strncmp(o->name, want, strlen(want)) != 0)
		printf("\n  through the mapping: %s\n", o->name);
	pshm_scan_free(scan);
	release(by_map);
	release(by_fd);
}

static void test_scan_finds_a_system_v_segment(void)
{
	check_kind(PSHM_KIND_SYSV, NULL, "0x00000000@");
}

/* A System V segment's status by id is the scan's, and only while the id is its key's. */
static void test_sysv_stat_is_the_scans_status(void)
{
	struct holder h = hold(PSHM_KIND_SYSV, NULL);
	const struct pshm_object *o;
	struct pshm_scan *scan;
	struct pshm_error err;
	struct stat st;

	o = held_by(h.pid, PSHM_KIND_SYSV, &scan);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o) {
		CU_ASSERT_EQUAL(pshm_sysv_stat(h.shmid, o->key, &st, &err), 0);
		CU_ASSERT_EQUAL(st.st_mode, o->st.st_mode);
		CU_ASSERT_EQUAL(st.st_ino, o->st.st_ino);
		CU_ASSERT_EQUAL(st.st_nlink, 1);
		CU_ASSERT_EQUAL(st.st_nlink, o->st.st_nlink);
		CU_ASSERT_EQUAL(st.st_uid, o->st.st_uid);
		CU_ASSERT_EQUAL(st.st_gid, o->st.st_gid);
		CU_ASSERT_EQUAL(st.st_size, SIZE);
		CU_ASSERT_EQUAL(st.st_blocks, o->st.st_blocks);
		CU_ASSERT(st.st_blocks > 0); /* the holder wrote a page */
		CU_ASSERT_EQUAL(st.st_blksize, o->st.st_blksize);
		CU_ASSERT_EQUAL(st.st_atime, o->st.st_atime);
		CU_ASSERT_EQUAL(st.st_mtime, o->st.st_mtime);
		CU_ASSERT_EQUAL(st.st_ctime, o->st.st_ctime);
		/* Another key: the id was given to another segment. */
		CU_ASSERT_EQUAL(pshm_sysv_stat(h.shmid, o->key + 1, &st, &err), -ENOENT);
		CU_ASSERT_EQUAL(err.code, ENOENT);
	}
	pshm_scan_free(scan);
	release(h);
	CU_ASSERT_EQUAL(pshm_sysv_stat(h.shmid, 0, &st, NULL), -ENOENT);
	CU_ASSERT_EQUAL(pshm_sysv_stat(-1, 0, &st, NULL), -ENOENT);
}

/* A System V segment's own memory, opened without leaving an attachment behind. */
static void test_sysv_open_reads_its_memory_without_attaching(void)
{
	int shmid = shmget(IPC_PRIVATE, SIZE, IPC_CREAT | 0600), fd;
	struct shmid_ds ds;
	char text[5] = "";
	char *map;

	CU_ASSERT_FATAL(shmid >= 0);
	map = shmat(shmid, NULL, 0);
	CU_ASSERT_FATAL(map != (void *)-1);
	memcpy(map, "head", 4);
	memcpy(map + SIZE - 4, "tail", 4);
	shmdt(map);
	CU_ASSERT_EQUAL(pshm_sysv_open(shmid, 1, NULL), -ENOENT);
	fd = pshm_sysv_open(shmid, IPC_PRIVATE, NULL);
	CU_ASSERT(fd >= 0);
	if (fd >= 0) {
		CU_ASSERT_EQUAL(pread(fd, text, 4, 0), 4);
		CU_ASSERT_STRING_EQUAL(text, "head");
		CU_ASSERT_EQUAL(pread(fd, text, 4, SIZE - 4), 4);
		CU_ASSERT_STRING_EQUAL(text, "tail");
		CU_ASSERT(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		CU_ASSERT_EQUAL(write(fd, "x", 1), -1); /* read-only */
		close(fd);
	}
	CU_ASSERT_EQUAL(shmctl(shmid, IPC_STAT, &ds), 0);
	CU_ASSERT_EQUAL(ds.shm_nattch, 0);
	shmctl(shmid, IPC_RMID, NULL);
	CU_ASSERT_EQUAL(pshm_sysv_open(shmid, IPC_PRIVATE, NULL), -ENOENT);
}

static void test_scan_finds_a_shared_anonymous_mapping(void)
{
	check_kind(PSHM_KIND_SHARED_ANON, NULL, "");
}

static void test_scan_names_segments_and_their_holders(void)
{
	const char *name = test_unique_name("seg");
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0640, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT, NULL, &scan, NULL) == 0);
	o = pshm_scan_find(scan, PSHM_KIND_SEGMENT, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(o->holder_count, 1);
	CU_ASSERT_EQUAL(o->holders[0].pid, getpid());
	CU_ASSERT_EQUAL(o->holders[0].fd, fd);
	pshm_scan_free(scan);
	/* Left out on request: the scanning process itself. */
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT,
				       &(struct pshm_scan_options){ .skip_self = true }, &scan,
				       NULL) == 0);
	o = pshm_scan_find(scan, PSHM_KIND_SEGMENT, name);
	CU_ASSERT(o && o->holder_count == 0);
	pshm_scan_free(scan);
	close(fd);
	pshm_unlink(name, NULL);
}

/*
 * A segment with two names (a hard link): each name its own object, with
 * the one inode, each held by the process that holds the file under
 * either name; and a scan of that inode alone finds the same holders.
 */
static void test_scan_finds_each_name_of_a_hard_linked_segment(void)
{
	char first[128], second[128], path[2][160], c;
	const struct pshm_object *a, *b;
	struct pshm_scan *scan;
	struct stat st;
	int ready[2], fd;
	pid_t pid;

	snprintf(first, sizeof(first), "%s", test_unique_name("link-a"));
	snprintf(second, sizeof(second), "%s", test_unique_name("link-b"));
	snprintf(path[0], sizeof(path[0]), "/dev/shm/%s", first);
	snprintf(path[1], sizeof(path[1]), "/dev/shm/%s", second);
	fd = pshm_open(first, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, SIZE) == 0 && fstat(fd, &st) == 0);
	CU_ASSERT_FATAL(link(path[0], path[1]) == 0);
	CU_ASSERT_FATAL(pipe(ready) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		/* One descriptor, by the second name, and a mapping through it. */
		int other = close(fd) == 0 ? open(path[1], O_RDONLY) : -1;
		void *map =
			other < 0 ? MAP_FAILED : mmap(NULL, SIZE, PROT_READ, MAP_SHARED, other, 0);

		if (map == MAP_FAILED || write(ready[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1);
	close(ready[0]);

	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT,
				       &(struct pshm_scan_options){ .skip_self = true }, &scan,
				       NULL) == 0);
	a = pshm_scan_find(scan, PSHM_KIND_SEGMENT, first);
	b = pshm_scan_find(scan, PSHM_KIND_SEGMENT, second);
	CU_ASSERT_PTR_NOT_NULL(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT(a != b);
	if (a && b) {
		CU_ASSERT_STRING_EQUAL(a->name, first);
		CU_ASSERT_STRING_EQUAL(b->name, second);
		CU_ASSERT_STRING_EQUAL(a->path, path[0]);
		CU_ASSERT_STRING_EQUAL(b->path, path[1]);
		CU_ASSERT(a->st.st_ino == st.st_ino && b->st.st_ino == st.st_ino);
		/* The child's descriptor and its mapping, under each name. */
		CU_ASSERT_EQUAL(a->holder_count, 2);
		CU_ASSERT_EQUAL(b->holder_count, 2);
		for (size_t i = 0; i < a->holder_count; i++)
			CU_ASSERT_EQUAL(a->holders[i].pid, pid);
		for (size_t i = 0; i < b->holder_count; i++)
			CU_ASSERT_EQUAL(b->holders[i].pid, pid);
	}
	pshm_scan_free(scan);
	/* The scan of that inode alone: the same two holders, once. */
	CU_ASSERT_FATAL(
		pshm_scan_open(PSHM_KIND_SEGMENT,
			       &(struct pshm_scan_options){ .only = &st, .skip_self = true }, &scan,
			       NULL) == 0);
	CU_ASSERT_EQUAL(pshm_scan_next(scan, &a), 1);
	CU_ASSERT_EQUAL(a->holder_count, 2);
	CU_ASSERT_EQUAL(pshm_scan_next(scan, &a), 0);
	pshm_scan_free(scan);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
	pshm_unlink(first, NULL);
	pshm_unlink(second, NULL);
}

/* A name of the longest kind: the path that opens it is whole, not cut short. */
static void test_scan_opens_a_segment_of_the_longest_name(void)
{
	char name[PSHM_NAME_MAX + 1], path[sizeof("/dev/shm/") + PSHM_NAME_MAX];
	const struct pshm_object *o;
	struct pshm_scan *scan;
	struct stat st;
	int fd, opened;

	snprintf(name, sizeof(name), "%s", test_unique_name("long"));
	memset(name + strlen(name), 'x', PSHM_NAME_MAX - strlen(name));
	name[PSHM_NAME_MAX] = '\0';
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT, NULL, &scan, NULL) == 0);
	o = pshm_scan_find(scan, PSHM_KIND_SEGMENT, name);
	CU_ASSERT_PTR_NOT_NULL(o);
	if (o) {
		CU_ASSERT_STRING_EQUAL(o->name, name);
		CU_ASSERT_STRING_EQUAL(o->path, path);
		opened = pshm_object_open(o, O_RDONLY, NULL);
		CU_ASSERT(opened >= 0 && fstat(opened, &st) == 0 && st.st_ino == o->st.st_ino);
		if (opened >= 0)
			close(opened);
	}
	pshm_scan_free(scan);
	close(fd);
	pshm_unlink(name, NULL);
}

/*
 * Enough processes for the scan to share them out among its workers:
 * objects that processes of every worker hold come out once, with every
 * holder, in process order.
 */
#define MANY 600

static void test_scan_of_many_processes_adds_up_every_holder_once(void)
{
	const char *name = test_unique_name("many");
	char *anon = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), ready[2];
	const struct pshm_object *seg, *linked, *shared = NULL, *o;
	struct pshm_scan *scan;
	pid_t pids[MANY];
	char anon_name[32], path[2][160];
	size_t started = 0, ordered = 1;
	struct stat st;
	char c;

	CU_ASSERT_FATAL(anon != MAP_FAILED && fd >= 0 && pipe(ready) == 0);
	fflush(NULL);
	/* Each child holds the segment by its inherited descriptor and the mapping. */
	for (; started < MANY; started++) {
		pids[started] = fork();
		if (pids[started] < 0)
			break;
		if (pids[started] == 0) {
			close(ready[0]);
			if (write(ready[1], "y", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
	}
	close(ready[1]);
	for (size_t i = 0; i < started; i++)
		CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	close(ready[0]);
	CU_ASSERT_EQUAL_FATAL(started, MANY);

	CU_ASSERT_FATAL(fstat(fd, &st) == 0);
	/* A second name: every worker's holders reach both. */
	snprintf(path[0], sizeof(path[0]), "/dev/shm/%s", name);
	snprintf(path[1], sizeof(path[1]), "/dev/shm/%s-link", name);
	CU_ASSERT_FATAL(link(path[0], path[1]) == 0);
	CU_ASSERT_FATAL(
		pshm_scan_open(PSHM_KIND_SEGMENT | PSHM_KIND_SHARED_ANON, NULL, &scan, NULL) == 0);
	seg = pshm_scan_find(scan, PSHM_KIND_SEGMENT, name);
	CU_ASSERT_PTR_NOT_NULL_FATAL(seg);
	/* This process and each child: a descriptor each. */
	CU_ASSERT_EQUAL(seg->holder_count, MANY + 1);
	for (size_t i = 1; i < seg->holder_count; i++)
		ordered &= seg->holders[i - 1].pid < seg->holders[i].pid;
	CU_ASSERT_EQUAL(ordered, 1);
	linked = pshm_scan_find(scan, PSHM_KIND_SEGMENT, path[1] + strlen("/dev/shm/"));
	CU_ASSERT(linked && linked != seg && linked->holder_count == MANY + 1);
	while (pshm_scan_next(scan, &o) > 0)
		if (o->kind == PSHM_KIND_SHARED_ANON && o->st.st_size == SIZE) {
			CU_ASSERT_PTR_NULL(shared); /* one object, however many found it */
			shared = o;
		}
	CU_ASSERT_PTR_NOT_NULL_FATAL(shared);
	CU_ASSERT_EQUAL(shared->holder_count, MANY + 1);
	snprintf(anon_name, sizeof(anon_name), "%ju", (uintmax_t)shared->st.st_ino);
	CU_ASSERT_PTR_EQUAL(pshm_scan_find(scan, PSHM_KIND_SHARED_ANON, anon_name), shared);
	pshm_scan_free(scan);

	for (size_t i = 0; i < started; i++)
		kill(pids[i], SIGKILL);
	for (size_t i = 0; i < started; i++)
		waitpid(pids[i], NULL, 0);
	munmap(anon, SIZE);
	close(fd);
	pshm_unlink(name, NULL);
	unlink(path[1]);
}

/* A scan of one segment's holders: through its old name once unlinked, and bounded. */
static void test_scan_of_one_segment_finds_its_holders_alone(void)
{
	const char *name = test_unique_name("only");
	struct holder child = hold(PSHM_KIND_DELETED, name);
	const struct pshm_object *o = NULL, *next;
	struct pshm_scan *scan, *all;
	struct stat st;
	int fd = -1;

	/* The child's mapping is the segment: its status through /proc's map_files. */
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_DELETED, NULL, &all, NULL) == 0);
	while (pshm_scan_next(all, &next) > 0)
		for (size_t i = 0; i < next->holder_count; i++)
			if (next->holders[i].pid == child.pid && next->st.st_size == SIZE)
				o = next;
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	fd = pshm_object_open(o, O_RDONLY, NULL);
	pshm_scan_free(all);
	CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);

	CU_ASSERT_FATAL(
		pshm_scan_open(PSHM_KIND_SEGMENT,
			       &(struct pshm_scan_options){ .only = &st, .skip_self = true }, &scan,
			       NULL) == 0);
	CU_ASSERT_EQUAL_FATAL(pshm_scan_next(scan, &o), 1);
	CU_ASSERT_EQUAL(o->kind, PSHM_KIND_DELETED);
	CU_ASSERT_EQUAL(o->st.st_ino, st.st_ino);
	CU_ASSERT_EQUAL(o->holder_count, 1);
	CU_ASSERT(o->holder_count == 1 && o->holders[0].pid == child.pid && o->holders[0].fd == -1);
	CU_ASSERT_EQUAL(pshm_scan_next(scan, &o), 0); /* that one alone */
	pshm_scan_free(scan);
	/* This process holds it too now; at most one holder is too many. */
	CU_ASSERT_EQUAL(pshm_scan_open(PSHM_KIND_SEGMENT,
				       &(struct pshm_scan_options){ .only = &st, .holders_max = 1 },
				       &scan, NULL),
			-E2BIG);
	close(fd);
	release(child);
}

/* The holders of one segment through a mount (here a bind of /dev/shm), by the mount's id. */
static size_t holders_through(const char *mount_point, long mount_id, const struct stat *st,
			      const char *const *skip)
{
	struct pshm_scan_options options = { .mount_path = mount_point,
					     .mount_id = mount_id,
					     .mount_dev = st->st_dev,
					     .only = st,
					     .mount_skip = skip };
	const struct pshm_object *o = NULL;
	struct pshm_scan *scan;
	size_t count = 0;

	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT, &options, &scan, NULL) == 0);
	if (pshm_scan_next(scan, &o) > 0)
		count = o->holder_count;
	pshm_scan_free(scan);
	return count;
}

/* A name the scan's options say is the mount's own is never taken for the segment. */
static void test_scan_of_one_segment_skips_the_mounts_own_names(void)
{
	const char *name = test_unique_name("own");
	const char *const skip[] = { "other", name, NULL };
	char dir[] = "/tmp/pshm-own-XXXXXX", path[256], info[1024], *at;
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), info_fd;
	long mount_id = -1;
	struct stat st;
	ssize_t n;

	CU_ASSERT_FATAL(fd >= 0 && fstat(fd, &st) == 0);
	close(fd);
	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	CU_ASSERT_FATAL(mount("/dev/shm", dir, NULL, MS_BIND, NULL) == 0);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	info_fd = open(path, O_RDONLY | O_CLOEXEC);
	n = info_fd < 0 ? -1 : read(info_fd, info, sizeof(info) - 1);
	if (info_fd >= 0)
		close(info_fd);
	CU_ASSERT_FATAL(n > 0);
	info[n] = '\0';
	at = strstr(info, "mnt_id:");
	CU_ASSERT_FATAL(at != NULL);
	mount_id = strtol(at + 7, NULL, 10);
	/* Found through the mount by its id, unless its name is the mount's own. */
	CU_ASSERT_EQUAL(holders_through(dir, mount_id, &st, NULL), 1);
	CU_ASSERT_EQUAL(holders_through(dir, mount_id, &st, skip + 2), 1);
	CU_ASSERT_EQUAL(holders_through(dir, mount_id, &st, skip), 0);
	close(fd);
	CU_ASSERT_EQUAL(umount(dir), 0);
	rmdir(dir);
	pshm_unlink(name, NULL);
}

/* Usage by holding process and by owner: the memfd a child holds, to the page. */
static void test_usage_adds_up_by_process_and_by_owner(void)
{
	struct holder child = hold(PSHM_KIND_MEMFD, "usage-by");
	struct pshm_usage_row *rows = NULL;
	unsigned long long total_count = 0, total_bytes = 0;
	struct pshm_scan *scan;
	struct pshm_usage u;
	ssize_t count;
	bool found = false;

	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_MEMFD, NULL, &scan, NULL) == 0);
	count = pshm_usage_by(scan, &root, PSHM_USAGE_BY_PROCESS, &rows, NULL);
	CU_ASSERT(count > 0);
	for (ssize_t i = 0; i < count; i++)
		if (rows[i].who == child.pid) {
			found = true;
			CU_ASSERT_EQUAL(rows[i].kind, PSHM_KIND_MEMFD);
			CU_ASSERT_EQUAL(rows[i].count, 1);
			/* Written one page's worth of bytes: one page allocated. */
			CU_ASSERT_EQUAL(rows[i].bytes, (unsigned long long)sysconf(_SC_PAGESIZE));
			CU_ASSERT_STRING_EQUAL(rows[i].comm, "test_objects");
		}
	CU_ASSERT(found);
	free(rows);
	/* By owner: the rows add up to what usage_of counts for the kind, each once. */
	CU_ASSERT_FATAL(pshm_usage_of(scan, &root, &u, NULL) == 0);
	count = pshm_usage_by(scan, &root, PSHM_USAGE_BY_OWNER, &rows, NULL);
	CU_ASSERT(count > 0);
	for (ssize_t i = 0; i < count; i++) {
		total_count += rows[i].count;
		total_bytes += rows[i].bytes;
		for (ssize_t j = 0; j < i; j++)
			CU_ASSERT(rows[j].who != rows[i].who);
	}
	CU_ASSERT_EQUAL(total_count, u.count[2]);
	CU_ASSERT_EQUAL(total_bytes, u.bytes[2]);
	free(rows);
	CU_ASSERT_EQUAL(pshm_usage_by(scan, &root, 0, &rows, NULL), -EINVAL);
	/* Holders the viewer may not read: counted in one row per kind, never named. */
	count = pshm_usage_by(scan, &(struct pshm_viewer){ .uid = 0, .may_read = read_none },
			      PSHM_USAGE_BY_PROCESS, &rows, NULL);
	found = false;
	for (ssize_t i = 0; i < count; i++) {
		CU_ASSERT(rows[i].who == -1);
		if (rows[i].who == -1 && rows[i].kind == PSHM_KIND_MEMFD) {
			found = true;
			CU_ASSERT_STRING_EQUAL(rows[i].comm, "-");
			CU_ASSERT(rows[i].count >= 1);
		}
	}
	CU_ASSERT(count > 0 && found);
	free(rows);
	pshm_scan_free(scan);
	release(child);
}

struct mount_seen {
	const char *want;
	unsigned long long used;
	int found;
};

static int find_mount(void *ctx, const char *point, unsigned long long used)
{
	struct mount_seen *m = ctx;

	if (strcmp(point, m->want) == 0) {
		m->found++;
		m->used = used;
	}
	return 0;
}

/* A tmpfs only another mount namespace has (a container's /dev/shm): root finds and measures it. */
static void test_tmpfs_mounts_of_other_namespaces(void)
{
	static char chunk[64 << 10];
	char top[] = "/tmp/pshm-ns-XXXXXX", dir[64], want[128], c;
	struct mount_seen m = { .want = want };
	int ready[2];
	pid_t pid;

	/* A name that must not break a line of usage: shown as one word. */
	CU_ASSERT_FATAL(mkdtemp(top) != NULL && pipe(ready) == 0);
	snprintf(dir, sizeof(dir), "%s/a b\nc", top);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		char path[128];
		int fd;

		close(ready[0]);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount("tmpfs", dir, "tmpfs", 0, "size=4m") < 0)
			_exit(1);
		snprintf(path, sizeof(path), "%s/kept", dir);
		fd = open(path, O_WRONLY | O_CREAT, 0600);
		memset(chunk, 'k', sizeof(chunk));
		for (int i = 0; fd >= 0 && i < 16; i++)
			if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
				_exit(1);
		if (fd < 0 || write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	CU_ASSERT(read(ready[0], &c, 1) == 1);
	snprintf(want, sizeof(want), "/proc/%d/root%s/a\\040b\\012c", (int)pid, top);
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts(find_mount, &m, 0, NULL, NULL), 0);
	CU_ASSERT_EQUAL(m.found, 0); /* not this namespace's */
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts(find_mount, &m, PSHM_MOUNTS_ALL_NAMESPACES, NULL, NULL),
			0);
	CU_ASSERT_EQUAL(m.found, 1);
	CU_ASSERT_EQUAL(m.used, 1u << 20);
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts(find_mount, &m, 2, NULL, NULL), -EINVAL);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(ready[0]);
	rmdir(dir);
	rmdir(top);
}

static int no_mount(void *ctx, const char *point, unsigned long long used)
{
	(void)ctx;
	(void)point;
	(void)used;
	return 0;
}

/* Children each in a mount namespace of its own, until killed: how many started. */
static size_t namespaces_held(pid_t *pids, size_t count)
{
	size_t started = 0;
	int ready[2];
	char c;

	CU_ASSERT_FATAL(pipe(ready) == 0);
	fflush(NULL);
	for (; started < count; started++) {
		pids[started] = fork();
		if (pids[started] < 0)
			break;
		if (pids[started] == 0) {
			close(ready[0]);
			if (unshare(CLONE_NEWNS) < 0 || write(ready[1], "n", 1) != 1)
				_exit(1);
			pause();
			_exit(0);
		}
	}
	close(ready[1]);
	for (size_t i = 0; i < started; i++)
		CU_ASSERT_EQUAL(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return started;
}

static void namespaces_release(const pid_t *pids, size_t count)
{
	for (size_t i = 0; i < count; i++)
		kill(pids[i], SIGKILL);
	for (size_t i = 0; i < count; i++)
		waitpid(pids[i], NULL, 0);
}

/*
 * Root's walk of other mount namespaces is bounded by a count and a time,
 * and says when a bound stopped it: complete in the normal case, partial
 * past PSHM_MOUNTS_NAMESPACES_MAX namespaces, and at any lowered bound.
 */
static void test_tmpfs_mounts_walk_of_namespaces_is_bounded(void)
{
	pid_t pids[PSHM_MOUNTS_NAMESPACES_MAX + 1];
	struct pshm_mounts_walked walked = { .namespaces = 7, .partial = true };
	size_t held = namespaces_held(pids, 3);

	CU_ASSERT_EQUAL_FATAL(held, 3);
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts(no_mount, NULL, 0, &walked, NULL), 0);
	CU_ASSERT(walked.namespaces == 0 && !walked.partial); /* none asked for */
	CU_ASSERT_EQUAL(
		pshm_tmpfs_mounts(no_mount, NULL, PSHM_MOUNTS_ALL_NAMESPACES, &walked, NULL), 0);
	CU_ASSERT_FALSE(walked.partial);
	CU_ASSERT(walked.namespaces >= 3);
	/* Two may be read of at least three: two are, and it says it stopped. */
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts_within(no_mount, NULL, PSHM_MOUNTS_ALL_NAMESPACES, 2,
						 60000, &walked, NULL),
			0);
	CU_ASSERT(walked.namespaces == 2 && walked.partial);
	/* No time at all: none read, and it says so. */
	CU_ASSERT_EQUAL(pshm_tmpfs_mounts_within(no_mount, NULL, PSHM_MOUNTS_ALL_NAMESPACES, 1000,
						 0, &walked, NULL),
			0);
	CU_ASSERT(walked.namespaces == 0 && walked.partial);

	/* One namespace more than the public bound: partial, at most that many read. */
	held += namespaces_held(pids + held, PSHM_MOUNTS_NAMESPACES_MAX + 1 - held);
	CU_ASSERT_EQUAL(held, PSHM_MOUNTS_NAMESPACES_MAX + 1);
	CU_ASSERT_EQUAL(
		pshm_tmpfs_mounts(no_mount, NULL, PSHM_MOUNTS_ALL_NAMESPACES, &walked, NULL), 0);
	CU_ASSERT_TRUE(walked.partial);
	CU_ASSERT(walked.namespaces <= PSHM_MOUNTS_NAMESPACES_MAX);
	if (walked.namespaces < PSHM_MOUNTS_NAMESPACES_MAX)
		printf("\n    the time bound came first: %u namespaces read", walked.namespaces);
	namespaces_release(pids, held);
}

/* No FUSE mount at a path: not found, and the options are left as they were. */
static void test_shmfs_mount_not_found_leaves_options_alone(void)
{
	struct pshm_scan_options options = { .skip_self = true, .mount_id = -7 };
	char path[64] = "untouched";

	CU_ASSERT_EQUAL(pshm_shmfs_mount("/proc", &options, path, sizeof(path)), 0);
	CU_ASSERT_PTR_NULL(options.mount_path);
	CU_ASSERT_EQUAL(options.mount_id, -7);
	CU_ASSERT_STRING_EQUAL(path, "untouched");
}

static void test_scan_refuses_unknown_kinds(void)
{
	struct pshm_scan *scan = NULL;
	struct pshm_error err;

	CU_ASSERT_EQUAL(pshm_scan_open(0, NULL, &scan, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_scan_open(1u << 9, NULL, &scan, &err), -EINVAL);
	CU_ASSERT_PTR_NULL(scan);
	CU_ASSERT_STRING_EQUAL(pshm_kind_name(PSHM_KIND_SHARED_ANON), "shared-anon");
	CU_ASSERT_PTR_NULL(pshm_kind_name(3));
	/* The mount's directories, one per kind but the named segments (the top itself). */
	CU_ASSERT_PTR_NULL(pshm_kind_dir(PSHM_KIND_SEGMENT));
	CU_ASSERT_STRING_EQUAL(pshm_kind_dir(PSHM_KIND_DELETED), ".deleted");
	CU_ASSERT_STRING_EQUAL(pshm_kind_dir(PSHM_KIND_MEMFD), ".memfd");
	CU_ASSERT_STRING_EQUAL(pshm_kind_dir(PSHM_KIND_SYSV), PSHM_KIND_SYSV_DIR);
	CU_ASSERT_STRING_EQUAL(pshm_kind_dir(PSHM_KIND_SHARED_ANON), ".shared-anon");
	CU_ASSERT_PTR_NULL(pshm_kind_dir(3));
	CU_ASSERT_PTR_NULL(pshm_kind_dir(1u << PSHM_KINDS));
	pshm_scan_free(NULL);
}

/* A child that sleeps until killed, non-dumpable when asked: its pid. */
static pid_t sleeper(bool dumpable)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* A process that changed its uid is not dumpable, nor what it forks: say which. */
		prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		pause();
		_exit(0);
	}
	return pid;
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * As uid 4242: root's process (arg) is not readable; its own is, unless
 * non-dumpable. Returns a bit per wrong answer.
 */
static int readable_as_another_user(const void *arg)
{
	pid_t root_pid = *(const pid_t *)arg;
	pid_t own = sleeper(true), hidden = sleeper(false);
	int wrong = 0;

	usleep(20000); /* the non-dumpable one has made itself so */
	wrong |= pshm_process_readable(root_pid, 0) << 0;
	wrong |= !pshm_process_readable(own, 0) << 1;
	wrong |= pshm_process_readable(hidden, 0) << 2;
	stop(own);
	stop(hidden);
	return wrong;
}

/* Whether a process may be read is the kernel's answer, for the process that started then. */
static void test_process_readable_is_the_kernels_answer(void)
{
	pid_t child = sleeper(true), gone = sleeper(true);

	CU_ASSERT_FATAL(child > 0 && gone > 0);
	stop(gone);
	CU_ASSERT_TRUE(pshm_process_readable(child, 0));
	CU_ASSERT_FALSE(pshm_process_readable(gone, 0));
	/* Another start time: the pid is someone else's now. */
	CU_ASSERT_FALSE(pshm_process_readable(child, 1));
	if (getuid() == 0)
		CU_ASSERT_EQUAL(test_as_user(4242, 4242, readable_as_another_user, &child), 0);
	stop(child);
}

/*
 * A child that holds, by a descriptor and a shared mapping each, files of
 * a tmpfs of its own whose paths read like a memfd's and a shared
 * anonymous mapping's ("/memfd:fake (deleted)", "/dev/zero (deleted)"):
 * the tmpfs detached, so the paths are from its root. Writes what its
 * descriptor's link reads to fd, then waits.
 */
static int hold_look_alikes(int fd)
{
	char dir[] = "/tmp/pshm-fake-XXXXXX", path[PATH_MAX], link[PATH_MAX] = "";
	int memfd, zero;
	ssize_t n;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    !mkdtemp(dir) || mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/memfd:fake", dir);
	memfd = open(path, O_RDWR | O_CREAT, 0600);
	snprintf(path, sizeof(path), "%s/dev", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/dev/zero", dir);
	zero = open(path, O_RDWR | O_CREAT, 0600);
	if (memfd < 0 || zero < 0 || ftruncate(memfd, 4096) < 0 || ftruncate(zero, 4096) < 0 ||
	    mmap(NULL, 4096, PROT_READ, MAP_SHARED, memfd, 0) == MAP_FAILED ||
	    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, zero, 0) == MAP_FAILED)
		return 1;
	unlink(path);
	snprintf(path, sizeof(path), "%s/memfd:fake", dir);
	unlink(path);
	umount2(dir, MNT_DETACH);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0)
		link[n] = '\0';
	if (write(fd, link, strlen(link) + 1) < 0)
		return 1;
	pause();
	return 0;
}

/* Only the kernel's own objects are memfds and shared anonymous memory, whatever a path says. */
static void test_scan_ignores_files_named_like_kernel_objects(void)
{
	const struct pshm_object *o;
	struct pshm_scan *scan;
	char link[PATH_MAX] = "";
	int pipe_fds[2];
	pid_t child;
	ssize_t n;

	if (getuid() != 0) {
		printf("\n    skipped: mounting a tmpfs takes root ");
		return;
	}
	CU_ASSERT_FATAL(pipe(pipe_fds) == 0);
	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0) {
		close(pipe_fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(hold_look_alikes(pipe_fds[1]));
	}
	close(pipe_fds[1]);
	n = read(pipe_fds[0], link, sizeof(link) - 1);
	close(pipe_fds[0]);
	/* The look-alike reads like a memfd, or the test proves nothing. */
	CU_ASSERT(n > 0 && strcmp(link, "/memfd:fake (deleted)") == 0);
	if (n <= 0 || strcmp(link, "/memfd:fake (deleted)") != 0)
		printf("\n    the look-alike's link reads \"%s\" ", link);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_MEMFD | PSHM_KIND_SHARED_ANON | PSHM_KIND_SYSV,
				       NULL, &scan, NULL) == 0);
	while (pshm_scan_next(scan, &o) > 0)
		for (size_t i = 0; i < o->holder_count; i++)
			CU_ASSERT_NOT_EQUAL(o->holders[i].pid, child);
	pshm_scan_free(scan);
	stop(child);
}

/* With "maps-text": every scan reads mappings as text, the way kernels before 6.11 need. */
int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_scan_finds_a_segment_unlinked_while_mapped),
		TEST(test_scan_finds_a_memfd),
		TEST(test_scan_names_a_memfd_alike_through_fd_and_mapping),
		TEST(test_scan_finds_a_system_v_segment),
		TEST(test_sysv_stat_is_the_scans_status),
		TEST(test_sysv_open_reads_its_memory_without_attaching),
		TEST(test_scan_finds_a_shared_anonymous_mapping),
		TEST(test_scan_names_segments_and_their_holders),
		TEST(test_scan_finds_each_name_of_a_hard_linked_segment),
		TEST(test_scan_opens_a_segment_of_the_longest_name),
		TEST(test_scan_of_many_processes_adds_up_every_holder_once),
		TEST(test_scan_of_one_segment_finds_its_holders_alone),
		TEST(test_scan_of_one_segment_skips_the_mounts_own_names),
		TEST(test_usage_adds_up_by_process_and_by_owner),
		TEST(test_tmpfs_mounts_of_other_namespaces),
		TEST(test_tmpfs_mounts_walk_of_namespaces_is_bounded),
		TEST(test_shmfs_mount_not_found_leaves_options_alone),
		TEST(test_scan_refuses_unknown_kinds),
		TEST(test_process_readable_is_the_kernels_answer),
		TEST(test_scan_ignores_files_named_like_kernel_objects),
		TEST_END,
	};

	if (geteuid() != 0) {
		printf("SKIP: needs root to read map_files and a private IPC namespace\n");
		return 77;
	}
	/* System V segments are per IPC namespace: a private one, like /dev/shm. */
	if (unshare(CLONE_NEWIPC) < 0) {
		perror("unshare(CLONE_NEWIPC)");
		return 1;
	}
	test_isolate_shm(64 << 20);
	if (argc > 1 && strcmp(argv[1], "maps-text") == 0)
		pshm_set_maps_query(false);
	if (argc > 1 && strcmp(argv[1], "kernel-iter") == 0) {
		struct pshm_kernel_iter *it = NULL;
		struct pshm_error err;
		char msg[256];
		int r = pshm_kernel_iter_load(&it, &err);

		if (r < 0) {
			/* As test_kiter: no BTF or no BPF for root is no fault of the code. */
			bool skip = r == -EOPNOTSUPP || r == -EPERM ||
				    access("/sys/kernel/btf/vmlinux", R_OK) != 0;

			pshm_strerror(&err, msg, sizeof(msg));
			printf("%s: %s\n", skip ? "SKIP" : "FAIL", msg);
			return skip ? 77 : 1;
		}
		pshm_set_kernel_iter(it);
		r = test_run_suite("objects", cases);
		pshm_set_kernel_iter(NULL);
		pshm_kernel_iter_free(it);
		return r;
	}
	return test_run_suite("objects", cases);
}

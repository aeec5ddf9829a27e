/* SPDX-License-Identifier: MIT */
/*
 * libpshm's usage: by-process shares of one object (three processes map
 * it, a fourth holds its descriptor alone) that add up to it, as smaps
 * Pss shares pages; the terms of pshm_usage_of's sum; a segment of two
 * names counted once in bytes; the processes a scan could not read,
 * named lowest first with why.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pshm.h"
#include "testutil.h"

#define PAGES 5

static const struct pshm_viewer root = { .uid = 0 };

/* A child that pauses until killed, holding what it inherited. */
static pid_t child(int ready)
{
	pid_t pid = fork();

	if (pid == 0) {
		(void)!write(ready, "r", 1);
		for (;;)
			pause();
	}
	return pid;
}

/* The row of (kind, pid), or NULL. */
static const struct pshm_usage_row *row_of(const struct pshm_usage_row *rows, ssize_t count,
					   unsigned kind, long pid)
{
	for (ssize_t i = 0; i < count; i++)
		if (rows[i].kind == kind && rows[i].who == pid)
			return &rows[i];
	return NULL;
}

static void test_shares_add_up_to_the_object(void)
{
	size_t size = PAGES * (size_t)sysconf(_SC_PAGESIZE);
	int fd = memfd_create("usage-shares", 0), ready[2];
	char *map = MAP_FAILED, *again = MAP_FAILED, c;
	pid_t kids[3] = { -1, -1, -1 };
	const struct pshm_usage_row *rows = NULL, *r;
	unsigned long long sum = 0, each, first_share;
	struct pshm_scan *scan = NULL;
	ssize_t count = 0;
	long lowest;

	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, (off_t)size) == 0 && pipe(ready) == 0);
	kids[2] = child(ready[1]); /* the descriptor alone */
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(map != MAP_FAILED);
	memset(map, 'x', size);
	/* Each process maps it twice: one process, one share. */
	again = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	CU_ASSERT_FATAL(again != MAP_FAILED);
	kids[0] = child(ready[1]);
	kids[1] = child(ready[1]);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(read(ready[0], &c, 1) == 1);
	CU_ASSERT(pshm_scan_open(PSHM_KIND_MEMFD, NULL, &scan, NULL) == 0);
	if (scan)
		count = pshm_usage_by(scan, &root, PSHM_USAGE_BY_PROCESS,
				      (struct pshm_usage_row **)&rows, NULL);
	CU_ASSERT(count > 0);
	/* The first in process order, the lowest pid, gets what does not divide. */
	lowest = getpid();
	for (int i = 0; i < 2; i++)
		if (kids[i] < lowest)
			lowest = kids[i];
	each = size / 3;
	first_share = each + size % 3;
	r = row_of(rows, count, PSHM_KIND_MEMFD, getpid());
	CU_ASSERT(r && r->count == 1 && r->mapped == 1 && r->whole == size);
	for (int i = -1; i < 2; i++) {
		long pid = i < 0 ? getpid() : kids[i];

		r = row_of(rows, count, PSHM_KIND_MEMFD, pid);
		CU_ASSERT_PTR_NOT_NULL(r);
		if (r) {
			CU_ASSERT_EQUAL(r->bytes, pid == lowest ? first_share : each);
			sum += r->bytes;
		}
	}
	CU_ASSERT_EQUAL(sum, size);
	r = row_of(rows, count, PSHM_KIND_MEMFD, kids[2]);
	CU_ASSERT(r && r->count == 1 && r->mapped == 0 && r->bytes == 0 && r->whole == size);
	/* Largest first. */
	for (ssize_t i = 1; i < count; i++)
		CU_ASSERT(rows[i - 1].bytes >= rows[i].bytes);
	free((void *)rows);
	pshm_scan_free(scan);
	for (int i = 0; i < 3; i++)
		if (kids[i] > 0) {
			kill(kids[i], SIGKILL);
			waitpid(kids[i], NULL, 0);
		}
	munmap(map, size);
	munmap(again, size);
	close(fd);
	close(ready[0]);
	close(ready[1]);
}

/* An object no process maps: those that hold it open share it. */
static void test_an_object_nobody_maps_is_its_holders(void)
{
	size_t size = PAGES * (size_t)sysconf(_SC_PAGESIZE);
	int fd = memfd_create("usage-unmapped", 0);
	struct pshm_usage_row *rows = NULL;
	const struct pshm_usage_row *r;
	struct pshm_scan *scan = NULL;
	ssize_t count = 0;
	char *buf = malloc(size);

	CU_ASSERT_FATAL(fd >= 0 && buf);
	memset(buf, 'u', size);
	CU_ASSERT_FATAL(write(fd, buf, size) == (ssize_t)size);
	free(buf);
	CU_ASSERT(pshm_scan_open(PSHM_KIND_MEMFD, NULL, &scan, NULL) == 0);
	if (scan)
		count = pshm_usage_by(scan, &root, PSHM_USAGE_BY_PROCESS, &rows, NULL);
	r = row_of(rows, count, PSHM_KIND_MEMFD, getpid());
	CU_ASSERT(r && r->count == 1 && r->mapped == 0 && r->bytes == size);
	free(rows);
	pshm_scan_free(scan);
	close(fd);
}

/* pshm_usage_of's terms add up to Shmem; a segment's two names count twice, its bytes once. */
static void test_usage_terms_add_up_and_links_count_once(void)
{
	const char *name = test_unique_name("linked");
	char path[256], link_path[300];
	struct pshm_usage before, after;
	struct pshm_scan *scan = NULL;
	long page = sysconf(_SC_PAGESIZE);
	int fd;

	CU_ASSERT(pshm_scan_open(PSHM_KIND_SEGMENT, NULL, &scan, NULL) == 0);
	CU_ASSERT(scan && pshm_usage_of(scan, &root, &before, NULL) == 0);
	pshm_scan_free(scan);
	fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, page) == 0 && pwrite(fd, "l", 1, 0) == 1);
	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	snprintf(link_path, sizeof(link_path), "%s-2", path);
	CU_ASSERT_FATAL(link(path, link_path) == 0);
	CU_ASSERT(pshm_scan_open(PSHM_KIND_SEGMENT, NULL, &scan, NULL) == 0);
	CU_ASSERT(scan && pshm_usage_of(scan, &root, &after, NULL) == 0);
	pshm_scan_free(scan);
	CU_ASSERT_EQUAL(after.count[0] - before.count[0], 2);
	CU_ASSERT_EQUAL(after.bytes[0] - before.bytes[0], (unsigned long long)page);
	CU_ASSERT_EQUAL(after.shm_dir_other, (long long)after.shm_dir_used -
						     (long long)after.bytes[0] -
						     (long long)after.bytes[1]);
	CU_ASSERT_EQUAL((long long)after.shmem,
			(long long)after.shm_dir_used + (long long)after.tmpfs_used +
				(long long)after.bytes[2] + (long long)after.bytes[3] +
				(long long)after.bytes[4] + after.unexplained);
	unlink(link_path);
	pshm_unlink(name, NULL);
	close(fd);
}

/* A reader no process belongs to: every process is unreadable, the lowest named, with why. */
static void test_unreadable_processes_are_named(void)
{
	const struct pshm_scan_options options = { .readers_only = true,
						   .reader_uid = 4242,
						   .reader_gid = 4242 };
	struct pshm_unreadable named[PSHM_UNREADABLE_NAMED + 1], few[3];
	struct pshm_scan *scan = NULL;
	size_t n = 0;
	unsigned total = 0;

	CU_ASSERT(pshm_scan_open(PSHM_KIND_ALL, &options, &scan, NULL) == 0);
	if (scan) {
		total = pshm_scan_unreadable(scan);
		n = pshm_scan_unreadable_pids(scan, named, PSHM_UNREADABLE_NAMED + 1);
		CU_ASSERT_EQUAL(pshm_scan_unreadable_pids(scan, few, 3), 3);
		CU_ASSERT(n >= 3 && memcmp(few, named, sizeof(few)) == 0);
	}
	CU_ASSERT(total > 1);
	CU_ASSERT_EQUAL(n, total < PSHM_UNREADABLE_NAMED ? total : PSHM_UNREADABLE_NAMED);
	for (size_t i = 0; i < n; i++) {
		CU_ASSERT(i == 0 || named[i - 1].pid < named[i].pid);
		CU_ASSERT(named[i].error == EACCES || named[i].error == ESRCH);
		CU_ASSERT(named[i].comm[0] && !strchr(named[i].comm, ' '));
	}
	/* Pid 1 is there, root's, and the lowest. */
	CU_ASSERT(n && named[0].pid == 1 && named[0].uid == 0 && named[0].error == EACCES);
	pshm_scan_free(scan);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_shares_add_up_to_the_object),
		TEST(test_an_object_nobody_maps_is_its_holders),
		TEST(test_usage_terms_add_up_and_links_count_once),
		TEST(test_unreadable_processes_are_named),
		TEST_END,
	};

	if (geteuid() != 0) {
		printf("SKIP: needs root to read every process's descriptors and maps\n");
		return 77;
	}
	test_isolate_shm(16 << 20);
	return test_run_suite("usage", cases);
}

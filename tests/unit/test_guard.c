/* SPDX-License-Identifier: MIT */
/* The daemon's SIGBUS guard: a copy from a mapping past the segment's end fails, not kills. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "guard_i.h"
#include "shmfs_i.h"
#include "testutil.h"

static void test_guard_copy_survives_a_shrunk_segment(void)
{
	const char *name = test_unique_name("guard");
	char buf[8192];
	char *map;
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(guard_init() == 0);
	CU_ASSERT_FATAL(pshm_truncate(fd, 3 * 4096, NULL) == 0);
	CU_ASSERT_FATAL(
		pshm_map(fd, NULL, 3 * 4096, PROT_READ | PROT_WRITE, 0, (void **)&map, NULL) == 0);
	memset(map, 'a', 3 * 4096);
	CU_ASSERT_EQUAL(guard_copy(buf, map + 4096, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(buf[8191], 'a');
	/* Shrunk behind the mapping's back: the second page is gone. */
	CU_ASSERT_FATAL(pshm_truncate(fd, 4096, NULL) == 0);
	CU_ASSERT_EQUAL(guard_copy(buf, map + 4096, sizeof(buf)), -EFAULT);
	CU_ASSERT_EQUAL(guard_copy(buf, map, 4096), 0);
	/* And again: the guard is re-armed after a fault. */
	CU_ASSERT_EQUAL(guard_copy(buf, map + 2 * 4096, 10), -EFAULT);
	pshm_unmap(map, 3 * 4096, NULL);
	pshm_close(fd, NULL);
	pshm_unlink(name, NULL);
}

static void *copy_in_thread(void *arg)
{
	char buf[16];

	return (void *)(intptr_t)guard_copy(buf, arg, sizeof(buf));
}

static void test_guard_copy_is_per_thread(void)
{
	const char *name = test_unique_name("guard-thread");
	pthread_t thread;
	void *result;
	char *map;
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pshm_map(fd, NULL, 4096, PROT_READ, 0, (void **)&map, NULL) == 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, copy_in_thread, map) == 0);
	pthread_join(thread, &result);
	CU_ASSERT_EQUAL((intptr_t)result, -EFAULT);
	pshm_unmap(map, 4096, NULL);
	pshm_close(fd, NULL);
	pshm_unlink(name, NULL);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_guard_copy_survives_a_shrunk_segment),
		TEST(test_guard_copy_is_per_thread),
		TEST_END,
	};

	test_isolate_shm(16 << 20);
	return test_run_suite("guard", cases);
}

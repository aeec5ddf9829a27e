/* SPDX-License-Identifier: MIT */
/*
 * libpshm: which process is the daemon of a shmfs mount (lib/daemons.c),
 * from the text /proc gives: a /dev/fuse descriptor's fdinfo and the
 * process's mountinfo.
 */
#include <CUnit/CUnit.h>

#include "daemons_i.h"
#include "testutil.h"

/* A fuse.shmfs mount of device 0:51 by root, and a FUSE mount of another kind, 0:52. */
#define SHMFS_LINE                                                                         \
	"120 27 0:51 / /mnt/shm rw,nosuid,nodev,relatime - fuse.shmfs shmfs rw,user_id=0," \
	"group_id=0,max_read=1032192"
#define SSHFS_LINE "121 27 0:52 / /mnt/ssh rw - fuse.sshfs host: rw,user_id=0,group_id=0"

static void test_fdinfo_names_the_connection(void)
{
	unsigned long long connection = 0;

	CU_ASSERT_TRUE(daemons_parse_connection(
		"pos:\t0\nflags:\t02100002\nmnt_id:\t24\nino:\t89\nfuse_connection:\t51\n",
		&connection));
	CU_ASSERT_EQUAL(connection, 51);
	/* Older kernels do not say. */
	CU_ASSERT_FALSE(
		daemons_parse_connection("pos:\t0\nflags:\t02100002\nmnt_id:\t24\n", &connection));
	CU_ASSERT_FALSE(daemons_parse_connection("pos:\t0\nfuse_connection:\tx\n", &connection));
}

static void test_the_connection_is_the_mounts_device(void)
{
	CU_ASSERT_TRUE(daemons_parse_mount(SHMFS_LINE, 51, false, 1000));
	CU_ASSERT_FALSE(daemons_parse_mount(SHMFS_LINE, 52, false, 0));
	/* Another kind of FUSE file system is no shmfs, whatever its device. */
	CU_ASSERT_FALSE(daemons_parse_mount(SSHFS_LINE, 52, false, 0));
	/* A major number beyond 0, as the kernel encodes it (20 bits of minor). */
	CU_ASSERT_TRUE(daemons_parse_mount("1 2 3:4 / /m rw - fuse.shmfs shmfs rw,user_id=0",
					   (3ull << 20) | 4, false, 0));
}

static void test_without_the_connection_a_mount_of_the_same_user(void)
{
	CU_ASSERT_TRUE(daemons_parse_mount(SHMFS_LINE, 0, true, 0));
	CU_ASSERT_FALSE(daemons_parse_mount(SHMFS_LINE, 0, true, 1000));
	CU_ASSERT_FALSE(daemons_parse_mount(SSHFS_LINE, 0, true, 0));
	/* user_id=10 is not user_id=1, nor a source that says it. */
	CU_ASSERT_FALSE(daemons_parse_mount("1 2 0:9 / /m rw - fuse.shmfs shmfs rw,user_id=10", 0,
					    true, 1));
	CU_ASSERT_FALSE(daemons_parse_mount("1 2 0:9 / /m rw - fuse.shmfs user_id=1 rw,user_id=10",
					    0, true, 1));
	CU_ASSERT_TRUE(
		daemons_parse_mount("1 2 0:9 / /m rw - fuse.shmfs x rw,user_id=1", 0, true, 1));
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_fdinfo_names_the_connection),
		TEST(test_the_connection_is_the_mounts_device),
		TEST(test_without_the_connection_a_mount_of_the_same_user),
		TEST_END,
	};

	return test_run_suite("daemons", cases);
}

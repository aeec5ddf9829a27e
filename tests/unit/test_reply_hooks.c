/* SPDX-License-Identifier: MIT */
/*
 * The passthrough reply hooks for libfuse 3.14 without a mount: requests
 * and replies fed as bytes through pipes, the patched bytes read back.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon_i.h"
#include "passthrough_i.h"
#include "testutil.h"

/* The uapi values of protocol 7.40 that Debian 12's headers lack. */
#define PASSTHROUGH_FLAGS2 (1u << 5)
#define OPEN_PASSTHROUGH (1u << 7)

static int requests[2], replies[2]; /* pipes: we write requests, the hooks write replies */
static uint64_t next_unique = 1;
/* A daemon made as shmfs makes it, whose session's "device" is a pipe. */
static struct shmfs *fs;

/* Feeds one request through the read hook; returns its unique id. */
static uint64_t request(uint32_t opcode, const void *arg, size_t len)
{
	char buf[512];
	struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len),
				    .opcode = opcode,
				    .unique = next_unique++ };

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), arg, len);
	CU_ASSERT_FATAL(write(requests[1], buf, h.len) == (ssize_t)h.len);
	CU_ASSERT_FATAL(passthrough_hook_read(requests[0], buf, sizeof(buf), fs) == (ssize_t)h.len);
	return h.unique;
}

/* Sends a reply through the writev hook and reads back what reached the "device". */
static size_t reply(uint64_t unique, int error, const void *arg, size_t len, void *out,
		    size_t out_size)
{
	struct fuse_out_header h = { .len = (uint32_t)(sizeof(h) + len),
				     .error = error,
				     .unique = unique };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)arg, len } };
	char buf[512];
	ssize_t n;

	CU_ASSERT_FATAL(passthrough_hook_writev(replies[1], iov, len ? 2 : 1, fs) ==
			(ssize_t)h.len);
	n = read(replies[0], buf, sizeof(buf));
	CU_ASSERT_FATAL(n == (ssize_t)h.len);
	CU_ASSERT_FATAL((size_t)n - sizeof(h) <= out_size);
	memcpy(out, buf + sizeof(h), (size_t)n - sizeof(h));
	return (size_t)n - sizeof(h);
}

static struct fuse_init_in init_in(bool offer)
{
	return (struct fuse_init_in){
		.major = 7,
		.minor = 44,
		.flags = FUSE_INIT_EXT,
		.flags2 = offer ? PASSTHROUGH_FLAGS2 : 0,
	};
}

static struct fuse_init_out init_out(void)
{
	return (struct fuse_init_out){ .major = 7, .minor = 38, .flags = FUSE_INIT_EXT };
}

static void status_is(const char *expect)
{
	char status[160];

	passthrough_status(fs, status, sizeof(status));
	CU_ASSERT_STRING_EQUAL(status, expect);
}

static int declines;
static void declined(void *ctx)
{
	(void)ctx;
	declines++;
}

static void test_init_without_the_kernels_offer_is_left_alone(void)
{
	struct fuse_init_in in = init_in(false);
	struct fuse_init_out out = init_out(), back;
	uint64_t unique = request(FUSE_INIT, &in, sizeof(in));

	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), &back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(memcmp(&back, &out, sizeof(out)), 0);
	CU_ASSERT_FALSE(passthrough_active(fs));
	status_is("off: the kernel does not offer it (Linux 6.9+)");
}

static void test_init_asks_for_passthrough_when_offered(void)
{
	struct fuse_init_in in = init_in(true);
	struct fuse_init_out out = init_out(), back;
	uint64_t unique = request(FUSE_INIT, &in, sizeof(in));

	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), &back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(back.flags2 & PASSTHROUGH_FLAGS2, PASSTHROUGH_FLAGS2);
	CU_ASSERT_EQUAL(back.unused[0], 1); /* max_stack_depth */
	CU_ASSERT_EQUAL(back.max_write, out.max_write);
	CU_ASSERT_TRUE(passthrough_active(fs));
	status_is("on");
}

static void test_a_marked_open_reply_names_the_id_without_direct_io(void)
{
	struct fuse_open_in in = { .flags = O_RDWR };
	struct fuse_open_out out = { .fh = 42, .open_flags = FOPEN_DIRECT_IO | FOPEN_NONSEEKABLE },
			     back;
	struct fuse_file_info fi = { 0 };
	uint64_t unique = request(FUSE_OPEN, &in, sizeof(in));

	declines = 0;
	passthrough_mark(&fi, 7, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), &back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(back.fh, 42);
	CU_ASSERT_EQUAL(back.open_flags, OPEN_PASSTHROUGH | FOPEN_NONSEEKABLE);
	CU_ASSERT_EQUAL(back.padding, 7); /* backing_id */
	CU_ASSERT_EQUAL(declines, 0);
}

static void test_a_marked_create_reply_is_patched_after_the_entry(void)
{
	struct {
		struct fuse_entry_out entry;
		struct fuse_open_out open;
	} out = { .entry = { .nodeid = 99 }, .open = { .fh = 5, .open_flags = FOPEN_DIRECT_IO } },
	  back;
	struct fuse_create_in in = { .flags = O_RDWR | O_CREAT };
	struct fuse_file_info fi = { 0 };
	uint64_t unique = request(FUSE_CREATE, &in, sizeof(in));

	declines = 0;
	passthrough_mark(&fi, 9, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), &back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(memcmp(&back.entry, &out.entry, sizeof(out.entry)), 0);
	CU_ASSERT_EQUAL(back.open.open_flags, OPEN_PASSTHROUGH);
	CU_ASSERT_EQUAL(back.open.padding, 9);
	CU_ASSERT_EQUAL(declines, 0);
}

static void test_unmarked_and_foreign_replies_are_left_alone(void)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct fuse_open_out out = { .fh = 1, .open_flags = FOPEN_DIRECT_IO }, back;
	struct fuse_file_info fi = { 0 };
	uint64_t unique = request(FUSE_OPEN, &in, sizeof(in));

	/* Not marked: a file served by the daemon. */
	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), &back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(memcmp(&back, &out, sizeof(out)), 0);
	/* Marked, but the reply is another request's: not touched. */
	unique = request(FUSE_OPEN, &in, sizeof(in));
	declines = 0;
	passthrough_mark(&fi, 3, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique + 1000, 0, &out, sizeof(out), &back, sizeof(back)),
			sizeof(out));
	CU_ASSERT_EQUAL(memcmp(&back, &out, sizeof(out)), 0);
}

/* Fails closed: a marked reply that cannot carry the id keeps direct I/O, and says so first. */
static void test_a_reply_that_cannot_carry_the_id_declines(void)
{
	struct fuse_open_in in = { .flags = O_RDONLY };
	struct fuse_open_out out = { .fh = 1, .open_flags = FOPEN_DIRECT_IO };
	struct fuse_file_info fi = { 0 };
	char back[64], odd[8] = { 0 };
	uint64_t unique;

	/* An error reply. */
	unique = request(FUSE_OPEN, &in, sizeof(in));
	declines = 0;
	passthrough_mark(&fi, 4, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique, -ENOENT, NULL, 0, back, sizeof(back)), 0);
	CU_ASSERT_EQUAL(declines, 1);
	/* A reply shorter than fuse_open_out: not libfuse 3.14's. */
	unique = request(FUSE_OPEN, &in, sizeof(in));
	passthrough_mark(&fi, 4, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique, 0, odd, sizeof(odd), back, sizeof(back)), sizeof(odd));
	CU_ASSERT_EQUAL(memcmp(back, odd, sizeof(odd)), 0);
	CU_ASSERT_EQUAL(declines, 2);
	/* A marked reply to something that is not an open. */
	unique = request(FUSE_GETATTR, &in, sizeof(in));
	passthrough_mark(&fi, 4, declined, NULL);
	CU_ASSERT_EQUAL(reply(unique, 0, &out, sizeof(out), back, sizeof(back)), sizeof(out));
	CU_ASSERT_EQUAL(memcmp(back, &out, sizeof(out)), 0);
	CU_ASSERT_EQUAL(declines, 3);
}

/*
 * A file outside /dev/shm's file system that the kernel will not take (a
 * view's hugetlb memfd, say; here a pipe): that open goes without, and
 * passthrough stays on for everyone else.
 */
static void test_a_registration_refused_for_a_foreign_file_leaves_passthrough_on(void)
{
	CU_ASSERT_TRUE_FATAL(passthrough_active(fs));
	CU_ASSERT_EQUAL(passthrough_register(fs, NULL, requests[0]), -ENOTTY);
	CU_ASSERT_TRUE(passthrough_active(fs));
	status_is("on");
}

/* Registering a segment of /dev/shm on a descriptor that is no FUSE device: off for good, and why. */
static void test_a_registration_that_cannot_work_turns_passthrough_off(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "/%s", test_unique_name("backing"));
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	shm_unlink(name);
	CU_ASSERT_TRUE_FATAL(passthrough_active(fs));
	CU_ASSERT_EQUAL(passthrough_register(fs, NULL, fd), -ENOTTY);
	close(fd);
	CU_ASSERT_FALSE(passthrough_active(fs));
	status_is("off: registering a backing file failed: Inappropriate ioctl for device");
	CU_ASSERT_EQUAL(passthrough_register(fs, NULL, requests[0]), -EOPNOTSUPP);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_init_without_the_kernels_offer_is_left_alone),
		TEST(test_init_asks_for_passthrough_when_offered),
		TEST(test_a_marked_open_reply_names_the_id_without_direct_io),
		TEST(test_a_marked_create_reply_is_patched_after_the_entry),
		TEST(test_unmarked_and_foreign_replies_are_left_alone),
		TEST(test_a_reply_that_cannot_carry_the_id_declines),
		TEST(test_a_registration_refused_for_a_foreign_file_leaves_passthrough_on),
		TEST(test_a_registration_that_cannot_work_turns_passthrough_off),
		TEST_END,
	};
	static const struct fuse_lowlevel_ops no_ops = { 0 };
	char *argv[] = { "test_reply_hooks", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	int status;

	if (pipe(requests) < 0 || pipe(replies) < 0)
		return 1;
	/* A session never mounted: its "device" is a pipe, enough for the hooks to install. */
	if (shmfs_new(&(struct shmfs_config){ .prefix = "", .passthrough = true }, &fs) < 0)
		return 1;
	fs->se = fuse_session_new(&args, &no_ops, sizeof(no_ops), fs);
	if (!fs->se || passthrough_hooks_install(fs, requests[0]) < 0) {
		fprintf(stderr, "cannot set up a session for the hooks\n");
		return 1;
	}
	status = test_run_suite("reply hooks", cases);
	shmfs_free(fs);
	return status;
}

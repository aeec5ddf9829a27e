/* SPDX-License-Identifier: MIT */
/*
 * The control file, anonymous segments and the introspection xattrs,
 * through a real mount in a private mount namespace.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mount.h"
#include "pshm.h"
#include "testutil.h"

#define NOBODY 65534
#define LINE_MAX_BYTES 4096 /* the daemon's documented command line limit */

static const char *daemon_path;
static struct test_mount mnt;

static const char *in_mnt(const char *name)
{
	return mount_path(&mnt, name);
}

static int ctl_open_at(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/.ctl", dir);
	return open(path, O_RDWR);
}

struct anon_reply {
	uint64_t id;
	long long size;
	char path[64];
	char proc_path[64];
};

static bool parse_anon(const char *reply, struct anon_reply *a)
{
	return sscanf(reply, "ok %" SCNu64 " %lld %63s %63s", &a->id, &a->size, a->path,
		      a->proc_path) == 4;
}

/*
 * The kernel sends a file's release to the daemon after close(2) returns, so
 * what a closed .ctl held goes a moment later: wait for it, 5 s at most.
 */
static bool gone_soon(const char *path)
{
	for (int i = 0; i < 500; i++) {
		if (access(path, F_OK) < 0 && errno == ENOENT)
			return true;
		usleep(10000);
	}
	return false;
}

static uint64_t shm_used(void)
{
	struct statvfs sv;

	CU_ASSERT_FATAL(statvfs(mnt.dir, &sv) == 0);
	return (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize;
}

static void test_fresh_ctl_reads_a_status_summary(void)
{
	char buf[4096], expect[64];
	ssize_t n;
	int fd = ctl_open_at(mnt.dir);

	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
	snprintf(expect, sizeof(expect), "pid %ld\n", (long)mnt.pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "version 0.1.0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, expect));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "shm-size 67108864\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "anonymous 0\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "segments 0\n"));
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 0); /* then end of file */
	close(fd);
}

static void test_anon_creates_a_usable_segment(void)
{
	static const struct {
		const char *command;
		long long size;
		mode_t mode;
	} cases[] = {
		{ "anon 4096", 4096, 0600 },
		{ "anon 64K 0640", 65536, 0640 },
		{ "anon 1M read-user,write-user,read-other", 1 << 20, 0604 },
		{ "anon 2G hold", 2LL << 30, 0600 },
		{ "anon 0 hold 0400", 0, 0400 },
	};
	char reply[512], expect_path[64], text[16] = "";
	struct anon_reply a;
	struct stat st;
	int fd = ctl_open_at(mnt.dir), seg;

	CU_ASSERT_FATAL(fd >= 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CU_ASSERT_EQUAL(mount_ctl(fd, cases[i].command, reply, sizeof(reply)), 0);
		CU_ASSERT_FATAL(parse_anon(reply, &a));
		CU_ASSERT_EQUAL(a.size, cases[i].size);
		snprintf(expect_path, sizeof(expect_path), ".anon/%" PRIu64, a.id);
		CU_ASSERT_STRING_EQUAL(a.path, expect_path);
		CU_ASSERT_FATAL(stat(in_mnt(a.path), &st) == 0);
		CU_ASSERT_EQUAL(st.st_size, cases[i].size);
		CU_ASSERT_EQUAL(st.st_mode & 07777, cases[i].mode);
		CU_ASSERT_EQUAL(st.st_nlink, 0);
		/* The /proc path reaches the same segment. */
		struct stat real;
		CU_ASSERT_FATAL(stat(a.proc_path, &real) == 0);
		CU_ASSERT_EQUAL(real.st_ino, st.st_ino);
	}
	/* A segment like any other: chmod, write, read, truncate. */
	CU_ASSERT_EQUAL(chmod(in_mnt(a.path), 0600), 0);
	CU_ASSERT(stat(in_mnt(a.path), &st) == 0 && (st.st_mode & 07777) == 0600);
	seg = open(in_mnt(a.path), O_RDWR);
	CU_ASSERT_FATAL(seg >= 0);
	CU_ASSERT_EQUAL(write(seg, "anonymous", 9), 9);
	CU_ASSERT_EQUAL(pread(seg, text, 9, 0), 9);
	CU_ASSERT(memcmp(text, "anonymous", 9) == 0);
	CU_ASSERT_EQUAL(ftruncate(seg, 4), 0);
	CU_ASSERT(fstat(seg, &st) == 0 && st.st_size == 4);
	close(seg);
	/* Named segments only in a plain listing: nothing anonymous lands in /dev/shm. */
	struct pshm_iter *it;
	CU_ASSERT_FATAL(pshm_iter_open(NULL, &it, NULL) == 0);
	CU_ASSERT_EQUAL(pshm_iter_next(it, NULL, NULL, NULL), 0);
	pshm_iter_free(it);
	close(fd); /* the held ones go; the others stay until freed */
	CU_ASSERT(gone_soon(in_mnt(a.path)));
	fd = ctl_open_at(mnt.dir);
	CU_ASSERT_EQUAL(mount_ctl(fd, "list", reply, sizeof(reply)), 0);
	unsigned ids[3];
	CU_ASSERT_EQUAL(sscanf(reply, "%u %*s %*s %*s %*s %*s\n%u %*s %*s %*s %*s %*s\n%u", &ids[0],
			       &ids[1], &ids[2]),
			3);
	for (int i = 0; i < 3; i++) {
		char command[32];

		snprintf(command, sizeof(command), "free %u", ids[i]);
		CU_ASSERT_EQUAL(mount_ctl(fd, command, reply, sizeof(reply)), 0);
		CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	}
	CU_ASSERT_EQUAL(mount_ctl(fd, "list", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	close(fd);
}

static void assert_refused(int fd, const char *command, int err, const char *reply_start)
{
	char reply[8192];

	CU_ASSERT_EQUAL(mount_ctl(fd, command, reply, sizeof(reply)), err);
	CU_ASSERT_EQUAL(strncmp(reply, reply_start, strlen(reply_start)), 0);
	if (strncmp(reply, reply_start, strlen(reply_start)) != 0)
		printf("\n    %s -> %s", command, reply);
	/* Exactly one line. */
	CU_ASSERT(strchr(reply, '\n') && strchr(reply, '\n') == reply + strlen(reply) - 1);
}

static void test_bad_commands_fail_the_write_and_change_nothing(void)
{
	char reply[256];
	int fd = ctl_open_at(mnt.dir);

	CU_ASSERT_FATAL(fd >= 0);
	assert_refused(fd, "bogus", EINVAL, "err EINVAL unknown command \"bogus\"");
	assert_refused(fd, "anon", EINVAL, "err EINVAL usage: anon SIZE [MODE] [hold]");
	assert_refused(fd, "anon 1M 0600 hold extra", EINVAL, "err EINVAL usage");
	assert_refused(fd, "anon 1M hold hold", EINVAL, "err EINVAL usage");
	assert_refused(fd, "anon 1M 0600 0644", EINVAL, "err EINVAL usage");
	assert_refused(fd, "anon 99999999999999999999", EINVAL, "err EINVAL size");
	assert_refused(fd, "anon 9000000T", EINVAL, "err EINVAL size");
	assert_refused(fd, "anon -1", EINVAL, "err EINVAL size");
	assert_refused(fd, "anon 1.5M", EINVAL, "err EINVAL size");
	assert_refused(fd, "anon 1M read-everyone", EINVAL, "err EINVAL mode");
	assert_refused(fd, "anon 1M 0800", EINVAL, "err EINVAL mode");
	assert_refused(fd, "free", EINVAL, "err EINVAL usage: free ID");
	assert_refused(fd, "free 0", EINVAL, "err EINVAL usage: free ID");
	assert_refused(fd, "free abc", EINVAL, "err EINVAL usage: free ID");
	assert_refused(fd, "free 123456", ENOENT, "err ENOENT no anonymous segment 123456");
	assert_refused(fd, "free 99999999999999999999999", EINVAL, "err EINVAL usage: free ID");
	assert_refused(fd, "list extra", EINVAL, "err EINVAL usage: list");
	assert_refused(fd, "holders", EINVAL, "err EINVAL usage: holders NAME");
	assert_refused(fd, "holders missing", ENOENT, "err ENOENT missing");
	assert_refused(fd, "holders .anon/77", ENOENT, "err ENOENT .anon/77");
	assert_refused(fd, "holders .anon/x", EINVAL, "err EINVAL");
	assert_refused(fd, "a b c d e f g h i", EINVAL, "err EINVAL more than 8 words");
	assert_refused(fd, "\x80\xff\xfe garbage \xc3\x28", EINVAL,
		       "err EINVAL the line holds byte 0x80");
	assert_refused(fd, "list\x01", EINVAL, "err EINVAL the line holds byte 0x01");
	/* Nothing was created by any of it. */
	CU_ASSERT_EQUAL(mount_ctl(fd, "list", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	/* An empty line is no command: no reply, no error. */
	CU_ASSERT_EQUAL(mount_ctl(fd, "", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "");
	close(fd);
}

static void test_line_limits_nul_bytes_and_pieces(void)
{
	static char line[LINE_MAX_BYTES + 2];
	char reply[512];
	int fd = ctl_open_at(mnt.dir);

	CU_ASSERT_FATAL(fd >= 0);
	/* Exactly the limit: read as a command (an unknown one). */
	memset(line, 'x', LINE_MAX_BYTES);
	line[LINE_MAX_BYTES] = '\0';
	CU_ASSERT_EQUAL(mount_ctl(fd, line, reply, sizeof(reply)), EINVAL);
	CU_ASSERT_EQUAL(strncmp(reply, "err EINVAL unknown command", 26), 0);
	/* One byte more: refused by length, and the rest of the line is skipped. */
	memset(line, 'x', LINE_MAX_BYTES + 1);
	line[LINE_MAX_BYTES + 1] = '\0';
	CU_ASSERT_EQUAL(mount_ctl(fd, line, reply, sizeof(reply)), EINVAL);
	CU_ASSERT_STRING_EQUAL(reply, "err EINVAL line longer than 4096 bytes\n");
	CU_ASSERT_EQUAL(mount_ctl(fd, "list", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	/* A NUL byte inside a line. */
	CU_ASSERT_EQUAL(write(fd, "li\0st\n", 6), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT(read(fd, reply, sizeof(reply)) > 0);
	CU_ASSERT_EQUAL(strncmp(reply, "err EINVAL the line holds byte 0x00", 35), 0);
	/* One command in one-byte pieces. */
	for (const char *p = "list\n"; *p; p++)
		CU_ASSERT_EQUAL(write(fd, p, 1), 1);
	ssize_t n = read(fd, reply, sizeof(reply) - 1);
	CU_ASSERT_EQUAL(n, 3);
	/* Thousands of commands on one descriptor, replies read as they come. */
	for (int i = 0; i < 5000; i++) {
		char command[64];

		snprintf(command, sizeof(command), "anon %d", 4096 + i);
		if (mount_ctl(fd, command, reply, sizeof(reply)) != 0)
			break;
		struct anon_reply a;
		CU_ASSERT_FATAL(parse_anon(reply, &a));
		snprintf(command, sizeof(command), "free %" PRIu64, a.id);
		CU_ASSERT_FATAL(mount_ctl(fd, command, reply, sizeof(reply)) == 0);
	}
	CU_ASSERT_EQUAL(mount_ctl(fd, "list", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	/* Two commands in one write: both answered, in order. */
	CU_ASSERT_EQUAL(write(fd, "list\nlist\n", 10), 10);
	n = read(fd, reply, sizeof(reply) - 1);
	CU_ASSERT_EQUAL(n, 6);
	close(fd);
}

static void test_hold_frees_on_close_and_df_sees_it(void)
{
	static char chunk[1 << 20];
	char reply[256], path[64];
	struct anon_reply a;
	uint64_t before, during;
	int fd = ctl_open_at(mnt.dir), seg;

	CU_ASSERT_FATAL(fd >= 0);
	before = shm_used();
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 8M hold", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	snprintf(path, sizeof(path), "%s", in_mnt(a.path));
	seg = open(path, O_WRONLY);
	CU_ASSERT_FATAL(seg >= 0);
	memset(chunk, 'h', sizeof(chunk));
	for (int i = 0; i < 8; i++)
		CU_ASSERT_EQUAL(write(seg, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(seg);
	during = shm_used();
	CU_ASSERT(during >= before + (8 << 20));
	close(fd);
	CU_ASSERT(gone_soon(path));
	CU_ASSERT(shm_used() <= before);
}

static void test_free_and_rm_release_segments(void)
{
	char reply[256], command[64];
	struct anon_reply a;
	int fd = ctl_open_at(mnt.dir);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 1M", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	CU_ASSERT_EQUAL(unlink(in_mnt(a.path)), 0);
	CU_ASSERT_EQUAL(access(in_mnt(a.path), F_OK), -1);
	snprintf(command, sizeof(command), "free %" PRIu64, a.id);
	CU_ASSERT_EQUAL(mount_ctl(fd, command, reply, sizeof(reply)), ENOENT);
	CU_ASSERT_EQUAL(unlink(in_mnt(a.path)), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_EQUAL(unlink(in_mnt(".anon/junk")), -1);
	CU_ASSERT_EQUAL(errno, ENOENT);
	/* An open file keeps a freed segment alive, like unlink. */
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	int seg = open(in_mnt(a.path), O_RDWR);
	CU_ASSERT_FATAL(seg >= 0);
	snprintf(command, sizeof(command), "free %" PRIu64, a.id);
	CU_ASSERT_EQUAL(mount_ctl(fd, command, reply, sizeof(reply)), 0);
	CU_ASSERT_EQUAL(write(seg, "alive", 5), 5);
	struct stat st;
	CU_ASSERT(fstat(seg, &st) == 0 && st.st_size == 4096);
	close(seg);
	close(fd);
}

/* Another process opens the /proc path, reads what the mount wrote, writes through its mmap. */
static void test_proc_path_reaches_the_segment_from_another_process(void)
{
	char reply[256], got[8] = "";
	struct anon_reply a;
	int fd = ctl_open_at(mnt.dir), seg, pipefd[2];
	pid_t pid;

	CU_ASSERT_FATAL(fd >= 0 && pipe(pipefd) == 0);
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096 hold", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	seg = open(in_mnt(a.path), O_RDWR);
	CU_ASSERT_FATAL(seg >= 0);
	CU_ASSERT_EQUAL(write(seg, "first", 5), 5);
	pid = fork();
	if (pid == 0) {
		int other = open(a.proc_path, O_RDWR);
		char buf[5];
		char *map;

		if (other < 0 || pread(other, buf, 5, 0) != 5)
			_exit(1);
		if (write(pipefd[1], buf, 5) != 5)
			_exit(2);
		/* and writes back through its own mapping */
		map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, other, 0);
		if (map == MAP_FAILED)
			_exit(3);
		memcpy(map + 100, "child", 5);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(read(pipefd[0], got, 5), 5);
	CU_ASSERT_STRING_EQUAL(got, "first");
	CU_ASSERT_EQUAL(pread(seg, got, 5, 100), 5);
	CU_ASSERT_STRING_EQUAL(got, "child");
	close(pipefd[0]);
	close(pipefd[1]);
	close(seg);
	close(fd);
}

struct holder_child {
	pid_t pid;
	int fd_number; /* what the child holds as a plain descriptor, or -1 */
};

/* Starts a child that opens path, maps it when map is true, and waits to be killed. */
static struct holder_child start_holder(const char *path, bool map)
{
	struct holder_child h = { .fd_number = -1 };
	int ready[2];

	CU_ASSERT_FATAL(pipe(ready) == 0);
	h.pid = fork();
	if (h.pid == 0) {
		int fd = open(path, O_RDWR);

		if (fd < 0)
			_exit(1);
		if (map) {
			if (mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
				_exit(2);
			close(fd);
			fd = -1;
		}
		if (write(ready[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(3);
		pause();
		_exit(0);
	}
	CU_ASSERT_EQUAL(read(ready[0], &h.fd_number, sizeof(h.fd_number)),
			(ssize_t)sizeof(h.fd_number));
	close(ready[0]);
	close(ready[1]);
	return h;
}

static void stop_holder(struct holder_child *h)
{
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
}

static void test_holders_shows_mappers_and_fd_holders(void)
{
	char reply[8192], expect[128];
	struct holder_child mapper, opener;
	int fd = ctl_open_at(mnt.dir), seg = pshm_open("watched", O_RDWR | O_CREAT, 0600, NULL);

	CU_ASSERT_FATAL(fd >= 0 && seg >= 0);
	CU_ASSERT_EQUAL(pshm_truncate(seg, 4096, NULL), 0);
	mapper = start_holder(PSHM_DIR "/watched", true);
	opener = start_holder(PSHM_DIR "/watched", false);
	CU_ASSERT_EQUAL(mount_ctl(fd, "holders watched", reply, sizeof(reply)), 0);
	snprintf(expect, sizeof(expect), "%ld test_ctl map ", (long)mapper.pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	snprintf(expect, sizeof(expect), "%ld test_ctl fd %d\n", (long)opener.pid,
		 opener.fd_number);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	/* This test process holds it too (seg), the daemon is never listed. */
	snprintf(expect, sizeof(expect), "%ld test_ctl fd %d\n", (long)getpid(), seg);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	snprintf(expect, sizeof(expect), "\n%ld ", (long)mnt.pid);
	CU_ASSERT_PTR_NULL(strstr(reply, expect));
	CU_ASSERT(strncmp(reply + strlen(reply) - 3, "ok\n", 3) == 0 ||
		  strstr(reply, "ok partial: ") != NULL);
	/* The same through the xattr. */
	char value[8192];
	ssize_t n = getxattr(in_mnt("watched"), "user.shmfs.holders", value, sizeof(value) - 1);
	CU_ASSERT_FATAL(n > 0);
	value[n] = '\0';
	snprintf(expect, sizeof(expect), "%ld test_ctl map ", (long)mapper.pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(value, expect));
	stop_holder(&mapper);
	stop_holder(&opener);
	CU_ASSERT_EQUAL(mount_ctl(fd, "holders watched", reply, sizeof(reply)), 0);
	snprintf(expect, sizeof(expect), "%ld ", (long)mapper.pid);
	CU_ASSERT_PTR_NULL(strstr(reply, expect));

	/*
	 * Through the mount: a descriptor counts (found by the mount's id and
	 * the inode in fdinfo), and so does a shared mapping where passthrough
	 * allows one; this process's .ctl descriptor is not a holder.
	 */
	char status[160] = "";
	bool passthrough =
		mount_passthrough(&mnt, status, sizeof(status)) == 0 && strcmp(status, "on") == 0;
	opener = start_holder(in_mnt("watched"), false);
	if (passthrough)
		mapper = start_holder(in_mnt("watched"), true);
	CU_ASSERT_EQUAL(mount_ctl(fd, "holders watched", reply, sizeof(reply)), 0);
	snprintf(expect, sizeof(expect), "%ld test_ctl fd %d\n", (long)opener.pid,
		 opener.fd_number);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	if (passthrough) {
		snprintf(expect, sizeof(expect), "%ld test_ctl map ", (long)mapper.pid);
		CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
		stop_holder(&mapper);
	}
	snprintf(expect, sizeof(expect), "%ld test_ctl fd %d\n", (long)getpid(), fd);
	CU_ASSERT_PTR_NULL(strstr(reply, expect));
	stop_holder(&opener);

	/* An anonymous segment, mapped by a child through its /proc path. */
	struct anon_reply a;
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096 hold", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	mapper = start_holder(a.proc_path, true);
	snprintf(expect, sizeof(expect), "holders %s", a.path);
	CU_ASSERT_EQUAL(mount_ctl(fd, expect, reply, sizeof(reply)), 0);
	snprintf(expect, sizeof(expect), "%ld test_ctl map ", (long)mapper.pid);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	stop_holder(&mapper);
	close(seg);
	pshm_unlink("watched", NULL);
	close(fd);
}

static void test_xattrs_tell_path_mode_and_size(void)
{
	char value[512], reply[256];
	struct anon_reply a;
	ssize_t n;
	int fd = ctl_open_at(mnt.dir), seg = pshm_open("facts", O_RDWR | O_CREAT, 0640, NULL);

	CU_ASSERT_FATAL(fd >= 0 && seg >= 0);
	CU_ASSERT_EQUAL(pwrite(seg, "x", 1, 8191), 1);
	n = getxattr(in_mnt("facts"), "user.shmfs.path", value, sizeof(value));
	CU_ASSERT_EQUAL(n, (ssize_t)strlen("/dev/shm/facts"));
	CU_ASSERT(n > 0 && memcmp(value, "/dev/shm/facts", (size_t)n) == 0);
	n = getxattr(in_mnt("facts"), "user.shmfs.mode", value, sizeof(value));
	CU_ASSERT(n > 0 && memcmp(value, "read-user,write-user,read-group", (size_t)n) == 0);
	n = getxattr(in_mnt("facts"), "user.shmfs.allocated", value, sizeof(value) - 1);
	CU_ASSERT(n > 0);
	value[n > 0 ? n : 0] = '\0';
	CU_ASSERT_STRING_EQUAL(value, "4096");
	CU_ASSERT_EQUAL(getxattr(in_mnt("facts"), "user.shmfs.anon-id", value, sizeof(value)), -1);
	CU_ASSERT_EQUAL(errno, ENODATA);
	CU_ASSERT_EQUAL(getxattr(in_mnt("facts"), "user.shmfs.path", value, 3), -1);
	CU_ASSERT_EQUAL(errno, ERANGE);
	CU_ASSERT_EQUAL(setxattr(in_mnt("facts"), "user.shmfs.path", "x", 1, 0), -1);
	CU_ASSERT_EQUAL(errno, ENOTSUP);
	n = listxattr(in_mnt("facts"), value, sizeof(value));
	CU_ASSERT(n > 0 && memmem(value, (size_t)n, "user.shmfs.holders", 19) != NULL);

	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096 hold", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	n = getxattr(in_mnt(a.path), "user.shmfs.path", value, sizeof(value) - 1);
	CU_ASSERT_FATAL(n > 0);
	value[n] = '\0';
	CU_ASSERT_STRING_EQUAL(value, a.proc_path);
	n = getxattr(in_mnt(a.path), "user.shmfs.anon-id", value, sizeof(value) - 1);
	CU_ASSERT(n > 0);
	CU_ASSERT_EQUAL(strtoull(value, NULL, 10), a.id);
	close(seg);
	pshm_unlink("facts", NULL);
	close(fd);
}

static void test_ctl_and_anon_names_are_reserved(void)
{
	char listing[256] = "";
	struct stat st;
	int seg;

	/* A real segment named .ctl is shadowed by the control file. */
	seg = pshm_open(".ctl", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT_FATAL(seg >= 0);
	CU_ASSERT_EQUAL(pshm_truncate(seg, 777, NULL), 0);
	CU_ASSERT(stat(in_mnt(".ctl"), &st) == 0 && st.st_size == 0 && (st.st_mode & 0777) == 0666);
	FILE *ls;
	char cmd[PATH_MAX];
	snprintf(cmd, sizeof(cmd), "ls -a %s | grep -c '^.ctl$'", mnt.dir);
	ls = popen(cmd, "r");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
	CU_ASSERT_PTR_NOT_NULL(fgets(listing, sizeof(listing), ls));
	pclose(ls);
	CU_ASSERT_STRING_EQUAL(listing, "1\n");
	/* ls without -a shows only named segments. */
	snprintf(cmd, sizeof(cmd), "ls %s", mnt.dir);
	ls = popen(cmd, "r");
	listing[0] = '\0';
	CU_ASSERT_PTR_NULL(fgets(listing, sizeof(listing), ls));
	pclose(ls);
	CU_ASSERT_EQUAL(open(in_mnt(".ctl"), O_RDWR | O_CREAT | O_EXCL, 0600), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(open(in_mnt(".anon"), O_RDWR | O_CREAT | O_EXCL, 0600), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(mkdir(in_mnt(".anon"), 0700), -1);
	CU_ASSERT_EQUAL(errno, EEXIST);
	CU_ASSERT_EQUAL(unlink(in_mnt(".ctl")), -1);
	CU_ASSERT_EQUAL(errno, EPERM);
	CU_ASSERT_EQUAL(rmdir(in_mnt(".anon")), -1);
	CU_ASSERT_EQUAL(errno, EBUSY);
	CU_ASSERT_EQUAL(open(in_mnt(".anon/new"), O_RDWR | O_CREAT, 0600), -1);
	CU_ASSERT_EQUAL(errno, EPERM);
	CU_ASSERT(stat(PSHM_DIR "/.ctl", &st) == 0 && st.st_size == 777); /* untouched */
	close(seg);
	pshm_unlink(".ctl", NULL);
}

/* Several clients at once: each gets its own replies. */
static void *client(void *arg)
{
	long failures = 0;
	char reply[256], command[64];
	int fd = ctl_open_at(mnt.dir);

	(void)arg;
	if (fd < 0)
		return (void *)1L;
	for (int i = 0; i < 200; i++) {
		struct anon_reply a;
		long long size = 4096 * (1 + (long long)(i % 7)) + (long long)(intptr_t)arg;

		snprintf(command, sizeof(command), "anon %lld", size);
		if (mount_ctl(fd, command, reply, sizeof(reply)) != 0 || !parse_anon(reply, &a) ||
		    a.size != size) {
			failures++;
			continue;
		}
		snprintf(command, sizeof(command), "free %" PRIu64, a.id);
		if (mount_ctl(fd, command, reply, sizeof(reply)) != 0 || strcmp(reply, "ok\n") != 0)
			failures++;
	}
	close(fd);
	return (void *)failures;
}

static void test_clients_at_once_get_their_own_replies(void)
{
	pthread_t threads[8];
	void *failures;

	for (intptr_t i = 0; i < 8; i++)
		CU_ASSERT_FATAL(pthread_create(&threads[i], NULL, client, (void *)i) == 0);
	for (int i = 0; i < 8; i++) {
		pthread_join(threads[i], &failures);
		CU_ASSERT_EQUAL((long)failures, 0);
	}
}

/* What a second user tries; each returns the errno it got, or 0. */
static int nobody_reads(const void *path)
{
	int fd = open(path, O_RDONLY);

	return fd < 0 ? errno : (close(fd), 0);
}

static int nobody_removes(const void *path)
{
	return unlink(path) < 0 ? errno : 0;
}

static const char *shared_dir;

static int nobody_ctl(const void *command)
{
	char reply[8192], path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/.ctl", shared_dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return 100 + errno;
	err = mount_ctl(fd, command, reply, sizeof(reply));
	/* "list" succeeds; its output must not name another user's segment. */
	if (err == 0 && strcmp(command, "list") == 0 && strcmp(reply, "ok\n") != 0)
		return 200;
	close(fd);
	return err;
}

static void test_second_user_cannot_touch_anothers_segments(void)
{
	static const char *const args[] = { "-o", "allow_other", NULL };
	char reply[256], command[128], path[PATH_MAX];
	struct test_mount shared;
	struct anon_reply a;
	int fd, seg;

	CU_ASSERT_FATAL(mount_start(&shared, daemon_path, args) == 0);
	shared_dir = shared.dir;
	fd = ctl_open_at(shared.dir);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096", reply, sizeof(reply)), 0);
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	seg = pshm_open("rootonly", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT_FATAL(seg >= 0);

	snprintf(path, sizeof(path), "%s/%s", shared.dir, a.path);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_reads, path), EACCES);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_removes, path), EPERM);
	snprintf(command, sizeof(command), "free %" PRIu64, a.id);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_ctl, command), EPERM);
	snprintf(command, sizeof(command), "holders %s", a.path);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_ctl, command), EACCES);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_ctl, "holders rootonly"), EACCES);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_ctl, "list"), 0);
	/* What nobody may do: create their own, owned by them. */
	CU_ASSERT_EQUAL(test_as_nobody(nobody_ctl, "anon 4096 hold"), 0);
	CU_ASSERT_EQUAL(access(path, F_OK), 0); /* root's is still there */
	snprintf(command, sizeof(command), "free %" PRIu64, a.id);
	CU_ASSERT_EQUAL(mount_ctl(fd, command, reply, sizeof(reply)), 0);
	close(seg);
	pshm_unlink("rootonly", NULL);
	close(fd);
	CU_ASSERT_EQUAL(mount_stop(&shared), 0);
}

static int nobody_creates_anon(const void *dir)
{
	char reply[256], path[PATH_MAX];
	struct anon_reply a;
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/.ctl", (const char *)dir);
	fd = open(path, O_RDWR);
	if (fd < 0 || mount_ctl(fd, "anon 4096", reply, sizeof(reply)) != 0 ||
	    !parse_anon(reply, &a))
		return 1;
	snprintf(path, sizeof(path), "%s/%s", (const char *)dir, a.path);
	if (stat(path, &st) < 0 || st.st_uid != NOBODY || st.st_gid != NOBODY)
		return 2;
	if (unlink(path) < 0) /* and may remove it */
		return 3;
	close(fd);
	return 0;
}

static void test_anon_of_a_second_user_is_theirs(void)
{
	static const char *const args[] = { "-o", "allow_other", NULL };
	struct test_mount shared;

	CU_ASSERT_FATAL(mount_start(&shared, daemon_path, args) == 0);
	CU_ASSERT_EQUAL(test_as_nobody(nobody_creates_anon, shared.dir), 0);
	CU_ASSERT_EQUAL(mount_stop(&shared), 0);
}

static void test_daemon_exit_releases_anonymous_segments(void)
{
	struct test_mount m;
	char reply[256];
	uint64_t before;
	int fd;

	CU_ASSERT_FATAL(mount_start(&m, daemon_path, NULL) == 0);
	before = shm_used();
	fd = ctl_open_at(m.dir);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4M", reply, sizeof(reply)), 0);
	struct anon_reply a;
	CU_ASSERT_FATAL(parse_anon(reply, &a));
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", m.dir, a.path);
	int seg = open(path, O_WRONLY);
	static char chunk[4 << 20];
	CU_ASSERT_EQUAL(write(seg, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(seg);
	close(fd);
	CU_ASSERT(shm_used() >= before + (4 << 20));
	CU_ASSERT_EQUAL(kill(m.pid, SIGTERM), 0);
	int status = mount_wait_exit(&m);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(shm_used() <= before);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_fresh_ctl_reads_a_status_summary),
		TEST(test_anon_creates_a_usable_segment),
		TEST(test_bad_commands_fail_the_write_and_change_nothing),
		TEST(test_line_limits_nul_bytes_and_pieces),
		TEST(test_hold_frees_on_close_and_df_sees_it),
		TEST(test_free_and_rm_release_segments),
		TEST(test_proc_path_reaches_the_segment_from_another_process),
		TEST(test_holders_shows_mappers_and_fd_holders),
		TEST(test_xattrs_tell_path_mode_and_size),
		TEST(test_ctl_and_anon_names_are_reserved),
		TEST(test_clients_at_once_get_their_own_replies),
		TEST(test_second_user_cannot_touch_anothers_segments),
		TEST(test_anon_of_a_second_user_is_theirs),
		TEST(test_daemon_exit_releases_anonymous_segments),
		TEST_END,
	};
	return mount_suite_main(argc, argv, "control file", cases, 64 << 20, &mnt, &daemon_path);
}

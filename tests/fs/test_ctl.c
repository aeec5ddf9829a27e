/* SPDX-License-Identifier: MIT */
/*
 * The control file, anonymous segments and the introspection xattrs,
 * through a real mount in a private mount namespace.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
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

/*
 * Whether /dev/shm's use falls to at most bytes within 5 s: the kernel
 * sends a file's RELEASE after close(2) returns, so the daemon's last
 * descriptor on a segment goes a moment later.
 */
static bool used_at_most_soon(uint64_t bytes)
{
	for (int i = 0; i < 500; i++) {
		if (shm_used() <= bytes)
			return true;
		usleep(10000);
	}
	return false;
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
	CU_ASSERT(used_at_most_soon(before));
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
	/* And one held through the mount's .anon/ID. */
	opener = start_holder(in_mnt(a.path), false);
	snprintf(expect, sizeof(expect), "holders %s", a.path);
	CU_ASSERT_EQUAL(mount_ctl(fd, expect, reply, sizeof(reply)), 0);
	snprintf(expect, sizeof(expect), "%ld test_ctl fd %d\n", (long)opener.pid,
		 opener.fd_number);
	CU_ASSERT_PTR_NOT_NULL(strstr(reply, expect));
	stop_holder(&opener);
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
	CU_ASSERT_EQUAL(getxattr(in_mnt("facts"), "user.other", value, sizeof(value)), -1);
	CU_ASSERT_EQUAL(errno, ENODATA);
	/* Namespaces shmfs has no attributes in: unsupported, so tools stop asking. */
	CU_ASSERT_EQUAL(getxattr(in_mnt("facts"), "security.selinux", value, sizeof(value)), -1);
	CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
	CU_ASSERT_EQUAL(getxattr(in_mnt("facts"), "system.posix_acl_access", value, sizeof(value)),
			-1);
	CU_ASSERT_EQUAL(errno, EOPNOTSUPP);
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

/* ---- wait NAME [TIMEOUT] and poll ---- */

static long elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - since->tv_sec) * 1000 + (now.tv_nsec - since->tv_nsec) / 1000000;
}

/* Writes command and a newline: the write's errno, 0 when it succeeded. */
static int ctl_write_line(int fd, const char *command)
{
	char line[512];
	int n = snprintf(line, sizeof(line), "%s\n", command);

	return write(fd, line, (size_t)n) == n ? 0 : errno;
}

/* One read into reply (NUL-terminated): its length, or -errno. */
static ssize_t ctl_read_once(int fd, char *reply, size_t size)
{
	ssize_t n = read(fd, reply, size - 1);

	reply[n > 0 ? n : 0] = '\0';
	return n < 0 ? -errno : n;
}

/* Creates segment name (a regular file in /dev/shm) after delay_ms, in a child. */
static pid_t produce_later(const char *name, long delay_ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd;

		usleep((useconds_t)delay_ms * 1000);
		fd = pshm_open(name, O_RDWR | O_CREAT, 0644, NULL);
		_exit(fd < 0 ? 1 : 0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_wait_is_answered_when_a_producer_creates_the_segment(void)
{
	struct timespec start;
	char reply[256];
	int fd = ctl_open_at(mnt.dir);
	pid_t producer;
	long ms;

	CU_ASSERT_FATAL(fd >= 0);
	/* The write returns at once: only the read waits. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait jobs 5"), 0);
	CU_ASSERT(elapsed_ms(&start) < 1000);
	producer = produce_later("jobs", 200);
	clock_gettime(CLOCK_MONOTONIC, &start);
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), 8);
	ms = elapsed_ms(&start);
	printf("\n    woken %ld ms after a producer started 200 ms ahead ", ms);
	CU_ASSERT_STRING_EQUAL(reply, "ok jobs\n");
	CU_ASSERT(ms >= 150 && ms < 2000);
	reap(producer);
	/* Already there: at once, and then the end of the replies. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	CU_ASSERT_EQUAL(mount_ctl(fd, "wait jobs", reply, sizeof(reply)), 0);
	CU_ASSERT_STRING_EQUAL(reply, "ok jobs\n");
	CU_ASSERT(elapsed_ms(&start) < 1000);
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), 0);
	/* Renamed into place counts too. */
	int tmp = pshm_open("jobs-tmp", O_RDWR | O_CREAT, 0644, NULL);
	CU_ASSERT_FATAL(tmp >= 0);
	close(tmp);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait renamed 5"), 0);
	CU_ASSERT_EQUAL(rename(PSHM_DIR "/jobs-tmp", PSHM_DIR "/renamed"), 0);
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), 11);
	CU_ASSERT_STRING_EQUAL(reply, "ok renamed\n");
	pshm_unlink("jobs", NULL);
	pshm_unlink("renamed", NULL);
	close(fd);
}

static void test_wait_times_out_and_only_segments_end_it(void)
{
	struct timespec start;
	char reply[256];
	int fd = ctl_open_at(mnt.dir);
	long ms;

	CU_ASSERT_FATAL(fd >= 0);
	/* A FIFO or a directory of that name is no segment: never opened, still waited for. */
	CU_ASSERT_EQUAL(mkfifo(PSHM_DIR "/fifo", 0644), 0);
	CU_ASSERT_EQUAL(mkdir(PSHM_DIR "/dir", 0755), 0);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait fifo 0.3"), 0);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait dir 0.3"), 0);
	/* From before the write: the daemon's clock starts while it runs. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait x 0.3"), 0);
	reply[0] = '\0';
	for (size_t got = 0; got < 3 * 46 && elapsed_ms(&start) < 5000;) {
		ssize_t n = ctl_read_once(fd, reply + got, sizeof(reply) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ms = elapsed_ms(&start);
	printf("\n    timed out after %ld ms ", ms);
	CU_ASSERT_STRING_EQUAL(reply, "err ETIMEDOUT fifo did not appear within 0.300 s\n"
				      "err ETIMEDOUT dir did not appear within 0.300 s\n"
				      "err ETIMEDOUT x did not appear within 0.300 s\n");
	CU_ASSERT(ms >= 300 && ms < 2000);
	/* 0: a look, no wait. */
	CU_ASSERT_EQUAL(mount_ctl(fd, "wait x 0", reply, sizeof(reply)), 0);
	if (reply[0] == '\0')
		ctl_read_once(fd, reply, sizeof(reply));
	CU_ASSERT_STRING_EQUAL(reply, "err ETIMEDOUT x did not appear within 0.000 s\n");
	unlink(PSHM_DIR "/fifo");
	rmdir(PSHM_DIR "/dir");
	close(fd);
}

static void test_wait_refuses_bad_names_and_timeouts(void)
{
	int fd = ctl_open_at(mnt.dir);

	CU_ASSERT_FATAL(fd >= 0);
	assert_refused(fd, "wait", EINVAL, "err EINVAL usage: wait NAME [TIMEOUT]");
	assert_refused(fd, "wait a 1 2", EINVAL, "err EINVAL usage: wait NAME [TIMEOUT]");
	assert_refused(fd, "wait a -1", EINVAL, "err EINVAL timeout \"-1\"");
	assert_refused(fd, "wait a 86401", EINVAL, "err EINVAL timeout \"86401\"");
	assert_refused(fd, "wait a 86400.001", EINVAL, "err EINVAL timeout");
	assert_refused(fd, "wait a 1.", EINVAL, "err EINVAL timeout");
	assert_refused(fd, "wait a .5", EINVAL, "err EINVAL timeout");
	assert_refused(fd, "wait a 1e3", EINVAL, "err EINVAL timeout");
	assert_refused(fd, "wait a/b", EINVAL, "err EINVAL a/b");
	assert_refused(fd, "wait sem.x", EINVAL, "err EINVAL sem.x: a semaphore's name");
	assert_refused(fd, "wait .ctl", EINVAL, "err EINVAL .ctl is the mount's own entry");
	assert_refused(fd, "wait .anon", EINVAL, "err EINVAL .anon is the mount's own entry");
	close(fd);
}

/* How many anonymous segments .anon lists. */
static int count_anon(void)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(in_mnt(".anon"));

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_wait_keeps_replies_in_command_order(void)
{
	struct pollfd p;
	char reply[256];
	int fd = ctl_open_at(mnt.dir), seg;

	CU_ASSERT_FATAL(fd >= 0);
	/* The later commands run at once; their replies come after the wait's. */
	CU_ASSERT_EQUAL(write(fd, "wait first 5\nwait second 5\nanon 4096 hold\n", 42), 42);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 0);
	CU_ASSERT(count_anon() == 1); /* ran already */
	seg = pshm_open("second", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(seg >= 0);
	close(seg);
	usleep(200000);
	CU_ASSERT_EQUAL(poll(&p, 1, 0), 0); /* second is there, first is not: nothing to read */
	/* O_NONBLOCK set later counts: the kernel sends the file's flags with each read. */
	CU_ASSERT_EQUAL(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	CU_ASSERT_EQUAL(read(fd, reply, sizeof(reply)), -1);
	CU_ASSERT_EQUAL(errno, EAGAIN);
	CU_ASSERT_EQUAL(fcntl(fd, F_SETFL, 0), 0);
	seg = pshm_open("first", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(seg >= 0);
	close(seg);
	CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
	reply[0] = '\0';
	for (size_t got = 0; got < 21 || !strstr(reply, ".anon/");) {
		ssize_t n = ctl_read_once(fd, reply + got, sizeof(reply) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	CU_ASSERT_EQUAL(strncmp(reply, "ok first\nok second\nok ", 22), 0);
	pshm_unlink("first", NULL);
	pshm_unlink("second", NULL);
	close(fd);
}

static void test_nonblocking_read_of_an_unfinished_wait_is_eagain(void)
{
	char reply[256];
	int fd = open(in_mnt(".ctl"), O_RDWR | O_NONBLOCK), seg;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ctl_write_line(fd, "wait later 5"), 0);
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), -EAGAIN);
	seg = pshm_open("later", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(seg >= 0);
	close(seg);
	/* Readable once it is there; then the end, still without waiting. */
	struct pollfd p = { .fd = fd, .events = POLLIN };
	CU_ASSERT_EQUAL(poll(&p, 1, 2000), 1);
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), 9);
	CU_ASSERT_STRING_EQUAL(reply, "ok later\n");
	CU_ASSERT_EQUAL(ctl_read_once(fd, reply, sizeof(reply)), 0);
	pshm_unlink("later", NULL);
	close(fd);
}

static void test_poll_wakes_for_the_descriptor_whose_segment_came(void)
{
	struct pollfd p[3];
	struct timespec start;
	char reply[256], command[64];
	pid_t producer;
	int ready;

	for (int i = 0; i < 3; i++) {
		p[i] = (struct pollfd){ .fd = ctl_open_at(mnt.dir), .events = POLLIN };
		CU_ASSERT_FATAL(p[i].fd >= 0);
		snprintf(command, sizeof(command), "wait polled-%d 5", i);
		CU_ASSERT_EQUAL(ctl_write_line(p[i].fd, command), 0);
	}
	/* Nothing to read yet; always writable. */
	CU_ASSERT_EQUAL(poll(p, 3, 0), 0);
	p[0].events = POLLIN | POLLOUT;
	CU_ASSERT(poll(p, 1, 0) == 1 && p[0].revents == POLLOUT);
	p[0].events = POLLIN;
	producer = produce_later("polled-1", 200);
	clock_gettime(CLOCK_MONOTONIC, &start);
	ready = poll(p, 3, 2000);
	printf("\n    poll woke after %ld ms ", elapsed_ms(&start));
	CU_ASSERT_EQUAL(ready, 1);
	CU_ASSERT_EQUAL(p[0].revents, 0);
	CU_ASSERT_EQUAL(p[1].revents, POLLIN);
	CU_ASSERT_EQUAL(p[2].revents, 0);
	CU_ASSERT(elapsed_ms(&start) < 2000);
	CU_ASSERT_EQUAL(ctl_read_once(p[1].fd, reply, sizeof(reply)), 12);
	CU_ASSERT_STRING_EQUAL(reply, "ok polled-1\n");
	reap(producer);
	/* select(2) and a second round, on the descriptor that waits longest. */
	producer = produce_later("polled-2", 100);
	fd_set set;
	FD_ZERO(&set);
	FD_SET(p[0].fd, &set);
	FD_SET(p[2].fd, &set);
	struct timeval tv = { .tv_sec = 2 };
	CU_ASSERT_EQUAL(select((p[0].fd > p[2].fd ? p[0].fd : p[2].fd) + 1, &set, NULL, NULL, &tv),
			1);
	CU_ASSERT(!FD_ISSET(p[0].fd, &set) && FD_ISSET(p[2].fd, &set));
	reap(producer);
	for (int i = 0; i < 3; i++)
		close(p[i].fd);
	pshm_unlink("polled-1", NULL);
	pshm_unlink("polled-2", NULL);
}

static void on_signal(int sig)
{
	(void)sig;
}

struct reader {
	int fd;
	ssize_t n;
	int err;
	char reply[256];
	struct timespec done;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;

	r->n = read(r->fd, r->reply, sizeof(r->reply) - 1);
	r->err = r->n < 0 ? errno : 0;
	r->reply[r->n > 0 ? r->n : 0] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &r->done);
	return NULL;
}

static void test_a_signal_ends_a_waiting_read_and_the_wait_goes_on(void)
{
	struct sigaction sa = { .sa_handler = on_signal }, old;
	struct reader r = { .fd = ctl_open_at(mnt.dir) };
	struct timespec start;
	pthread_t thread;
	char reply[256];
	int seg;

	CU_ASSERT_FATAL(r.fd >= 0);
	CU_ASSERT_EQUAL(sigaction(SIGUSR1, &sa, &old), 0); /* no SA_RESTART */
	CU_ASSERT_EQUAL(ctl_write_line(r.fd, "wait signalled 10"), 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, read_thread, &r) == 0);
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &start);
	pthread_kill(thread, SIGUSR1);
	pthread_join(thread, NULL);
	printf("\n    read ended %ld ms after the signal ",
	       (r.done.tv_sec - start.tv_sec) * 1000 + (r.done.tv_nsec - start.tv_nsec) / 1000000);
	CU_ASSERT_EQUAL(r.n, -1);
	CU_ASSERT_EQUAL(r.err, EINTR);
	CU_ASSERT(elapsed_ms(&start) < 2000);
	/* The wait is still there. */
	seg = pshm_open("signalled", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(seg >= 0);
	close(seg);
	CU_ASSERT_EQUAL(ctl_read_once(r.fd, reply, sizeof(reply)), 13);
	CU_ASSERT_STRING_EQUAL(reply, "ok signalled\n");
	sigaction(SIGUSR1, &old, NULL);
	pshm_unlink("signalled", NULL);
	close(r.fd);

	/* A reader killed (timeout 1 cat, Ctrl-C) dies at once, never stuck in the read. */
	pid_t child = fork();
	if (child == 0) {
		int fd = ctl_open_at(mnt.dir);
		char buf[64];

		if (fd < 0 || ctl_write_line(fd, "wait killed") != 0)
			_exit(1);
		(void)!read(fd, buf, sizeof(buf));
		_exit(2);
	}
	usleep(300000);
	clock_gettime(CLOCK_MONOTONIC, &start);
	kill(child, SIGKILL);
	int status;
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CU_ASSERT(elapsed_ms(&start) < 2000);
}

/* A write on the descriptor a read waits on: the kernel lets it through at once. */
static void test_a_command_written_while_a_read_waits_runs_at_once(void)
{
	struct reader r = { .fd = ctl_open_at(mnt.dir) };
	struct timespec start;
	pthread_t thread;
	char reply[256] = "";
	int seg;
	long ms;

	CU_ASSERT_FATAL(r.fd >= 0);
	CU_ASSERT_EQUAL(ctl_write_line(r.fd, "wait meanwhile 10"), 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, read_thread, &r) == 0);
	usleep(200000);
	clock_gettime(CLOCK_MONOTONIC, &start);
	CU_ASSERT_EQUAL(ctl_write_line(r.fd, "list"), 0);
	CU_ASSERT_EQUAL(ctl_write_line(r.fd, "bogus"), EINVAL);
	ms = elapsed_ms(&start);
	printf("\n    two writes took %ld ms with a read waiting ", ms);
	CU_ASSERT(ms < 1000);
	seg = pshm_open("meanwhile", O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(seg >= 0);
	close(seg);
	pthread_join(thread, NULL);
	/* The wait's reply first, then the others, in the order written. */
	snprintf(reply, sizeof(reply), "%s", r.reply);
	while (!strstr(reply, "err EINVAL")) {
		size_t got = strlen(reply);

		if (ctl_read_once(r.fd, reply + got, sizeof(reply) - got) <= 0)
			break;
	}
	CU_ASSERT_STRING_EQUAL(
		reply, "ok meanwhile\nok\nerr EINVAL unknown command \"bogus\" (try help)\n");
	pshm_unlink("meanwhile", NULL);
	close(r.fd);
}

static const char *limited_dir;

/* As nobody: waits up to the limit, one more, then closes and waits again. */
static int nobody_waits(const void *unused)
{
	char path[PATH_MAX], reply[512];
	int fd, err;

	(void)unused;
	snprintf(path, sizeof(path), "%s/.ctl", limited_dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return 100;
	if (ctl_write_line(fd, "wait a") || ctl_write_line(fd, "wait b 60"))
		return 101;
	err = ctl_write_line(fd, "wait c 60");
	if (err != EDQUOT)
		return 102;
	close(fd); /* frees both: the release follows close within milliseconds */
	for (int i = 0; i < 200; i++) {
		fd = open(path, O_RDWR | O_NONBLOCK);
		if (fd < 0)
			return 103;
		err = ctl_write_line(fd, "wait a") || ctl_write_line(fd, "wait b");
		if (!err) {
			/* Its reply said which limit. */
			if (ctl_write_line(fd, "wait c") != EDQUOT)
				return 104;
			close(fd);
			return 0;
		}
		(void)!read(fd, reply, sizeof(reply));
		close(fd);
		usleep(10000);
	}
	return 105;
}

static void test_closing_the_file_frees_its_waits(void)
{
	static const char *const args[] = { "-o", "allow_other,wait_max=2", NULL };
	struct test_mount limited;

	CU_ASSERT_FATAL(mount_start(&limited, daemon_path, args) == 0);
	limited_dir = limited.dir;
	CU_ASSERT_EQUAL(test_as_nobody(nobody_waits, NULL), 0);
	CU_ASSERT_EQUAL(mount_stop(&limited), 0);
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
		TEST(test_wait_is_answered_when_a_producer_creates_the_segment),
		TEST(test_wait_times_out_and_only_segments_end_it),
		TEST(test_wait_refuses_bad_names_and_timeouts),
		TEST(test_wait_keeps_replies_in_command_order),
		TEST(test_nonblocking_read_of_an_unfinished_wait_is_eagain),
		TEST(test_poll_wakes_for_the_descriptor_whose_segment_came),
		TEST(test_a_signal_ends_a_waiting_read_and_the_wait_goes_on),
		TEST(test_a_command_written_while_a_read_waits_runs_at_once),
		TEST(test_closing_the_file_frees_its_waits),
		TEST_END,
	};
	return mount_suite_main(argc, argv, "control file", cases, 64 << 20, &mnt, &daemon_path);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs under load, faults and hostile input, through a real mount in a
 * private mount namespace. Bounded in time: STRESS_SECONDS (default 20)
 * for the concurrent clients, half of it for the shrinking segment.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"
#include "pshm.h"
#include "testutil.h"

#define CLIENTS 8
#define SHARED 4
#define SEGMENT_MAX (256 * 1024)

static const char *daemon_path;
static struct test_mount mnt;
static int stress_seconds = 20;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Every writer of segment `salt` writes byte pattern(salt, offset) at each
 * offset, so any byte read must be that byte or zero (after a truncate):
 * anything else is data from the wrong place.
 */
static unsigned char pattern(unsigned salt, off_t offset)
{
	return (unsigned char)(1 + ((unsigned long long)offset * 7 + salt * 13) % 251);
}

static void fill(unsigned char *buf, size_t len, unsigned salt, off_t offset)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern(salt, offset + (off_t)i);
}

/* Offset of the first byte that is neither the pattern nor zero, or -1. */
static long first_bad(const unsigned char *buf, size_t len, unsigned salt, off_t offset)
{
	for (size_t i = 0; i < len; i++)
		if (buf[i] != 0 && buf[i] != pattern(salt, offset + (off_t)i))
			return (long)i;
	return -1;
}

static const char *in_mnt(const char *name)
{
	return mount_path(&mnt, name);
}

/* Counts of what a process saw, reported through a pipe. */
struct tally {
	long ops;
	long bad_bytes;
	long unexpected_errno;
	int last_errno;
	char last_op[32];
};

static void unexpected(struct tally *t, const char *op)
{
	t->unexpected_errno++;
	t->last_errno = errno;
	snprintf(t->last_op, sizeof(t->last_op), "%s", op);
}

/* ENOENT is expected on shared segments: other clients remove and recreate them. */
static bool expected_errno(bool shared)
{
	return shared && errno == ENOENT;
}

static void client(int id, int out)
{
	static unsigned char buf[SEGMENT_MAX];
	unsigned seed = (unsigned)id * 7919u + 1;
	struct tally t = { 0 };
	double end = now() + stress_seconds;
	char name[64];

	while (now() < end) {
		bool shared = rand_r(&seed) % 2;
		unsigned salt = shared ? (unsigned)(rand_r(&seed) % SHARED) : 100u + (unsigned)id;
		int op = rand_r(&seed) % 8, fd;
		off_t off = rand_r(&seed) % SEGMENT_MAX;
		size_t len = 1 + (size_t)(rand_r(&seed) % (SEGMENT_MAX / 4));
		struct stat st;

		if (shared)
			snprintf(name, sizeof(name), "shared.%u", salt);
		else
			snprintf(name, sizeof(name), "private.%d", id);
		if (off + (off_t)len > SEGMENT_MAX)
			len = (size_t)(SEGMENT_MAX - off);
		t.ops++;
		switch (op) {
		case 0: /* create (or open), write the pattern */
		case 1:
			fd = open(in_mnt(name), O_RDWR | O_CREAT, 0600);
			if (fd < 0) {
				if (!expected_errno(shared))
					unexpected(&t, "create");
				break;
			}
			fill(buf, len, salt, off);
			if (pwrite(fd, buf, len, off) < 0 && !expected_errno(shared))
				unexpected(&t, "write");
			close(fd);
			break;
		case 2: /* read, check every byte */
		case 3:
			fd = open(in_mnt(name), O_RDONLY);
			if (fd < 0) {
				if (errno != ENOENT)
					unexpected(&t, "open");
				break;
			}
			ssize_t n = pread(fd, buf, len, off);
			if (n < 0)
				unexpected(&t, "read");
			else if (first_bad(buf, (size_t)n, salt, off) >= 0)
				t.bad_bytes++;
			close(fd);
			break;
		case 4:
			if (truncate(in_mnt(name), rand_r(&seed) % SEGMENT_MAX) < 0 &&
			    errno != ENOENT)
				unexpected(&t, "truncate");
			break;
		case 5:
			if (chmod(in_mnt(name), rand_r(&seed) % 2 ? 0600 : 0644) < 0 &&
			    errno != ENOENT)
				unexpected(&t, "chmod");
			if (stat(in_mnt(name), &st) < 0 && errno != ENOENT)
				unexpected(&t, "stat");
			break;
		case 6: {
			DIR *dir = opendir(mnt.dir);
			struct dirent *de;

			if (!dir) {
				unexpected(&t, "opendir");
				break;
			}
			while ((de = readdir(dir)))
				;
			closedir(dir);
			break;
		}
		case 7:
			if (unlink(in_mnt(name)) < 0 && errno != ENOENT)
				unexpected(&t, "unlink");
			break;
		}
	}
	(void)!write(out, &t, sizeof(t));
}

static sigjmp_buf outsider_jump;

static void outsider_sigbus(int sig)
{
	(void)sig;
	siglongjmp(outsider_jump, 1);
}

/* Stores the pattern through a mapping; a store past the end (a client truncated) faults: stop. */
static void store_through_map(volatile unsigned char *map, unsigned salt, off_t off, size_t len)
{
	volatile size_t i = 0;

	if (sigsetjmp(outsider_jump, 0) != 0)
		return;
	for (; i < len; i++)
		map[off + (off_t)i] = pattern(salt, off + (off_t)i);
}

/* Behind the mount's back: pwrite, ftruncate and stores through its own mmaps. */
static void outsider(int out)
{
	static unsigned char buf[SEGMENT_MAX];
	struct sigaction sa = { .sa_handler = outsider_sigbus, .sa_flags = SA_NODEFER };
	unsigned seed = 4242;
	struct tally t = { 0 };
	double end = now() + stress_seconds;

	sigaction(SIGBUS, &sa, NULL);
	while (now() < end) {
		unsigned salt = (unsigned)(rand_r(&seed) % SHARED);
		char name[64];
		off_t off = rand_r(&seed) % SEGMENT_MAX;
		size_t len = 1 + (size_t)(rand_r(&seed) % (SEGMENT_MAX / 8));
		volatile unsigned char *map;
		int fd;

		snprintf(name, sizeof(name), "shared.%u", salt);
		fd = pshm_open(name, O_RDWR | O_CREAT, 0644, NULL);
		if (fd < 0)
			continue;
		if (off + (off_t)len > SEGMENT_MAX)
			len = (size_t)(SEGMENT_MAX - off);
		t.ops++;
		switch (rand_r(&seed) % 3) {
		case 0:
			fill(buf, len, salt, off);
			(void)!pwrite(fd, buf, len, off);
			break;
		case 1:
			(void)!ftruncate(fd, rand_r(&seed) % SEGMENT_MAX);
			break;
		case 2:
			if (pshm_map(fd, NULL, SEGMENT_MAX, PROT_READ | PROT_WRITE, 0,
				     (void **)&map, NULL) < 0)
				break;
			store_through_map(map, salt, off, len);
			munmap((void *)map, SEGMENT_MAX);
			break;
		}
		close(fd);
	}
	(void)!write(out, &t, sizeof(t));
}

static pid_t spawn(void (*fn)(int, int), int id, int out)
{
	pid_t pid = fork();

	if (pid == 0) {
		fn(id, out);
		_exit(0);
	}
	return pid;
}

static void outsider_entry(int id, int out)
{
	(void)id;
	outsider(out);
}

static void test_concurrent_clients_and_an_outside_writer(void)
{
	struct tally total = { 0 }, t;
	pid_t pids[CLIENTS + 1];
	int pipefd[2];

	CU_ASSERT_FATAL(pipe(pipefd) == 0);
	for (int i = 0; i < CLIENTS; i++)
		pids[i] = spawn(client, i, pipefd[1]);
	pids[CLIENTS] = spawn(outsider_entry, 0, pipefd[1]);
	for (int i = 0; i <= CLIENTS; i++) {
		int status;

		CU_ASSERT(waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
			  WEXITSTATUS(status) == 0);
		if (read(pipefd[0], &t, sizeof(t)) != sizeof(t))
			continue;
		total.ops += t.ops;
		total.bad_bytes += t.bad_bytes;
		total.unexpected_errno += t.unexpected_errno;
		if (t.unexpected_errno)
			printf("\n    unexpected errno %d (%s) on %s", t.last_errno,
			       strerror(t.last_errno), t.last_op);
	}
	close(pipefd[0]);
	close(pipefd[1]);
	printf("\n    %ld operations by %d clients and an outside writer in %d s, %ld bad reads, "
	       "%ld unexpected errors\n    ",
	       total.ops, CLIENTS, stress_seconds, total.bad_bytes, total.unexpected_errno);
	CU_ASSERT_EQUAL(total.bad_bytes, 0);
	CU_ASSERT_EQUAL(total.unexpected_errno, 0);
	CU_ASSERT(total.ops > 1000);
	CU_ASSERT(mount_alive(&mnt));
	for (int i = 0; i < SHARED; i++) {
		char name[32];

		snprintf(name, sizeof(name), "shared.%d", i);
		pshm_unlink(name, NULL);
	}
	for (int i = 0; i < CLIENTS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "private.%d", i);
		pshm_unlink(name, NULL);
	}
}

static void reader(int id, int out)
{
	static unsigned char buf[1 << 20];
	struct tally t = { 0 };
	double end = now() + stress_seconds / 2.0;
	int fd = open(in_mnt("shrinking"), O_RDONLY);

	(void)id;
	if (fd < 0) {
		unexpected(&t, "open");
		end = 0;
	}
	while (now() < end) {
		ssize_t n = pread(fd, buf, sizeof(buf), 0);

		t.ops++;
		if (n < 0)
			unexpected(&t, "read");
		else if (first_bad(buf, (size_t)n, 7, 0) >= 0)
			t.bad_bytes++;
	}
	if (fd >= 0)
		close(fd);
	(void)!write(out, &t, sizeof(t));
}

static void test_segment_shrinking_under_four_readers(void)
{
	static unsigned char data[1 << 20];
	struct tally total = { 0 }, t;
	unsigned seed = 1;
	long resizes = 0;
	pid_t pids[4];
	int pipefd[2], fd = pshm_open("shrinking", O_RDWR | O_CREAT, 0644, NULL);
	double end;

	CU_ASSERT_FATAL(fd >= 0 && pipe(pipefd) == 0);
	fill(data, sizeof(data), 7, 0);
	CU_ASSERT(pwrite(fd, data, sizeof(data), 0) == sizeof(data));
	for (int i = 0; i < 4; i++)
		pids[i] = spawn(reader, i, pipefd[1]);
	end = now() + stress_seconds / 2.0;
	while (now() < end) {
		(void)!ftruncate(fd, rand_r(&seed) % (1 << 20));
		(void)!ftruncate(fd, 1 << 20);
		(void)!pwrite(fd, data, (size_t)(rand_r(&seed) % (1 << 20)), 0);
		resizes += 2;
	}
	for (int i = 0; i < 4; i++) {
		waitpid(pids[i], NULL, 0);
		if (read(pipefd[0], &t, sizeof(t)) == sizeof(t)) {
			total.ops += t.ops;
			total.bad_bytes += t.bad_bytes;
			total.unexpected_errno += t.unexpected_errno;
		}
	}
	printf("\n    %ld reads of 1 MiB while the segment was resized %ld times: %ld bad, %ld "
	       "errors\n    ",
	       total.ops, resizes, total.bad_bytes, total.unexpected_errno);
	CU_ASSERT_EQUAL(total.bad_bytes, 0);
	CU_ASSERT_EQUAL(total.unexpected_errno, 0);
	CU_ASSERT(mount_alive(&mnt));
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
	pshm_unlink("shrinking", NULL);
}

static long count_entries(const char *path)
{
	struct dirent *de;
	long n = 0;
	DIR *dir = opendir(path);

	if (!dir)
		return -1;
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n;
}

struct footprint {
	long fds, segment_fds, segment_maps, rss_kib;
};

static struct footprint footprint(void)
{
	char path[PATH_MAX], target[PATH_MAX], line[512];
	struct footprint f = { 0 };
	struct dirent *de;
	DIR *dir;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)mnt.pid);
	dir = opendir(path);
	while (dir && (de = readdir(dir))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		f.fds++;
		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n > 0 && strncmp(target, PSHM_DIR "/", 9) == 0)
			f.segment_fds++;
	}
	if (dir)
		closedir(dir);
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)mnt.pid);
	maps = fopen(path, "r");
	while (maps && fgets(line, sizeof(line), maps))
		if (strstr(line, " " PSHM_DIR "/"))
			f.segment_maps++;
	if (maps)
		fclose(maps);
	f.rss_kib = test_rss_kib(mnt.pid);
	return f;
}

/* The kernel releases files after close(2) returns: wait (5 s at most) for the baseline. */
static struct footprint settled(const struct footprint *base)
{
	struct footprint f = footprint();

	for (int i = 0; i < 500 && (f.fds > base->fds || f.segment_fds > base->segment_fds ||
				    f.segment_maps > base->segment_maps);
	     i++) {
		usleep(10000);
		f = footprint();
	}
	return f;
}

#define RSS_GROWTH_MAX_KIB (16 * 1024)

static void test_no_descriptor_or_memory_leaks(void)
{
	long cycles = 50000, anon_cycles = 5000;
	struct footprint base, after;
	char reply[256], name[64];
	double start = now();
	int ctl;

	/* A first round warms the daemon's threads and tables. */
	for (int i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "warm.%d", i);
		int fd = open(in_mnt(name), O_RDWR | O_CREAT, 0600);
		close(fd);
		unlink(in_mnt(name));
	}
	base = settled(&(struct footprint){ .fds = 1 << 30 });
	for (long i = 0; i < cycles; i++) {
		char byte = 0;

		snprintf(name, sizeof(name), "cycle.%ld", i % 64);
		int fd = open(in_mnt(name), O_RDWR | O_CREAT, 0600);
		if (fd < 0 || pwrite(fd, "x", 1, 0) != 1 || pread(fd, &byte, 1, 0) != 1 ||
		    byte != 'x') {
			CU_FAIL("create/write/read cycle failed");
			if (fd >= 0)
				close(fd);
			break;
		}
		close(fd);
		if (unlink(in_mnt(name)) < 0) {
			CU_FAIL("unlink failed");
			break;
		}
	}
	ctl = open(in_mnt(".ctl"), O_RDWR);
	CU_ASSERT_FATAL(ctl >= 0);
	for (long i = 0; i < anon_cycles; i++) {
		unsigned long id;
		ssize_t n;

		if (write(ctl, "anon 64K\n", 9) != 9 ||
		    (n = read(ctl, reply, sizeof(reply) - 1)) <= 0) {
			CU_FAIL("anon failed");
			break;
		}
		reply[n] = '\0';
		if (sscanf(reply, "ok %lu", &id) != 1) {
			CU_FAIL("anon reply");
			break;
		}
		snprintf(name, sizeof(name), "free %lu\n", id);
		if (write(ctl, name, strlen(name)) != (ssize_t)strlen(name) ||
		    read(ctl, reply, sizeof(reply)) != 3) {
			CU_FAIL("free failed");
			break;
		}
	}
	close(ctl);
	after = settled(&base);
	printf("\n    %ld create/write/read/close/unlink cycles and %ld anon/free cycles in %.1f "
	       "s: "
	       "fds %ld -> %ld (segments %ld -> %ld), segment maps %ld -> %ld, RSS %ld -> %ld "
	       "KiB\n    ",
	       cycles, anon_cycles, now() - start, base.fds, after.fds, base.segment_fds,
	       after.segment_fds, base.segment_maps, after.segment_maps, base.rss_kib,
	       after.rss_kib);
	CU_ASSERT(after.fds <= base.fds);
	CU_ASSERT_EQUAL(after.segment_fds, 0);
	CU_ASSERT_EQUAL(after.segment_maps, 0);
	/* ASan keeps freed memory in quarantine: RSS says nothing about leaks there. */
	if (!getenv("SHMFS_SANITIZED") || strcmp(getenv("SHMFS_SANITIZED"), "none") == 0)
		CU_ASSERT(after.rss_kib - base.rss_kib < RSS_GROWTH_MAX_KIB);
}

/* A client killed mid-command and mid-read leaves the daemon serving the others. */
static void test_clients_killed_mid_transaction(void)
{
	char reply[256];
	int fd, status;
	pid_t pid;

	/* Half a command line, a held segment, then SIGKILL. */
	pid = fork();
	if (pid == 0) {
		int c = open(in_mnt(".ctl"), O_RDWR);

		if (c < 0 || write(c, "anon 1M hold\n", 13) != 13 ||
		    read(c, reply, sizeof(reply)) <= 0)
			_exit(1);
		(void)!write(c, "anon 4", 6);
		pause();
		_exit(0);
	}
	usleep(200000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFSIGNALED(status));

	/* A large read in flight, then SIGKILL. */
	int seg = pshm_open("big", O_RDWR | O_CREAT, 0644, NULL);
	CU_ASSERT_FATAL(seg >= 0);
	CU_ASSERT(pshm_truncate(seg, 64 << 20, NULL) == 0);
	pid = fork();
	if (pid == 0) {
		static char buf[1 << 20];
		int r = open(in_mnt("big"), O_RDONLY);

		for (;;)
			(void)!pread(r, buf, sizeof(buf), 0);
	}
	usleep(200000);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(seg);
	pshm_unlink("big", NULL);

	/* Others are served normally; the killed client's held segment is gone. */
	fd = open(in_mnt(".ctl"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < 500; i++) {
		CU_ASSERT(write(fd, "list\n", 5) == 5);
		ssize_t n = read(fd, reply, sizeof(reply) - 1);
		reply[n > 0 ? n : 0] = '\0';
		if (strcmp(reply, "ok\n") == 0)
			break;
		usleep(10000);
	}
	CU_ASSERT_STRING_EQUAL(reply, "ok\n");
	close(fd);
	CU_ASSERT(mount_alive(&mnt));
}

/* Names with control and high bytes: the mount answers as /dev/shm does. */
static void test_hostile_names_get_the_kernel_errno(void)
{
	char name[300], through_path[PATH_MAX], direct_path[PATH_MAX];
	int mismatches = 0;

	for (int b = 1; b < 256; b++) {
		int through, direct, fd;

		if (b == '/' || b == '.')
			continue;
		snprintf(name, sizeof(name), "x%cy", b);
		snprintf(through_path, sizeof(through_path), "%s/%s", mnt.dir, name);
		snprintf(direct_path, sizeof(direct_path), PSHM_DIR "/%s", name);
		fd = open(through_path, O_RDWR | O_CREAT | O_EXCL, 0600);
		through = fd < 0 ? errno : 0;
		if (fd >= 0) {
			close(fd);
			unlink(direct_path); /* it must be there */
		}
		fd = open(direct_path, O_RDWR | O_CREAT | O_EXCL, 0600);
		direct = fd < 0 ? errno : 0;
		if (fd >= 0) {
			close(fd);
			unlink(direct_path);
		}
		if (through != direct) {
			mismatches++;
			printf("\n    byte 0x%02x: through the mount %d, directly %d", b, through,
			       direct);
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* Dots and lengths. */
	CU_ASSERT_EQUAL(mkdir(in_mnt("."), 0700) < 0 ? errno : 0, EEXIST);
	CU_ASSERT_EQUAL(open(in_mnt(".."), O_RDWR | O_CREAT, 0600) < 0 ? errno : 0, EISDIR);
	memset(name, 'n', 256);
	name[256] = '\0';
	CU_ASSERT_EQUAL(open(in_mnt(name), O_RDWR | O_CREAT, 0600) < 0 ? errno : 0, ENAMETOOLONG);
	name[255] = '\0';
	int fd = open(in_mnt(name), O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(unlink(in_mnt(name)), 0);
	CU_ASSERT(mount_alive(&mnt));
}

/* hundreds of .ctl descriptors at once */
static void test_hundreds_of_ctl_descriptors(void)
{
	int fds[300];
	char reply[64];
	int ok = 0;

	for (int i = 0; i < 300; i++)
		fds[i] = open(in_mnt(".ctl"), O_RDWR);
	for (int i = 0; i < 300; i++) {
		if (fds[i] < 0)
			continue;
		if (write(fds[i], "anon 4096 hold\n", 15) == 15 &&
		    read(fds[i], reply, sizeof(reply)) > 3 && strncmp(reply, "ok ", 3) == 0)
			ok++;
	}
	for (int i = 0; i < 300; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	CU_ASSERT_EQUAL(ok, 300);
	/* All 300 held segments go with their descriptors. */
	long left = -1;
	for (int i = 0; i < 500 && left != 0; i++) {
		left = count_entries(in_mnt(".anon"));
		usleep(10000);
	}
	CU_ASSERT_EQUAL(left, 0);
}

/* SIGTERM with a file open and reads in flight: exit 0, anonymous segments released. */
static void test_sigterm_under_load_releases_everything(void)
{
	struct test_mount m;
	char path[PATH_MAX], reply[256];
	struct statvfs before, after;
	int seg, ctl, status;
	pid_t pid;

	seg = pshm_open("loaded", O_RDWR | O_CREAT, 0644, NULL);
	CU_ASSERT_FATAL(seg >= 0 && pshm_truncate(seg, 16 << 20, NULL) == 0);
	CU_ASSERT_FATAL(mount_start(&m, daemon_path, NULL) == 0);
	statvfs(PSHM_DIR, &before);
	snprintf(path, sizeof(path), "%s/.ctl", m.dir);
	ctl = open(path, O_RDWR);
	CU_ASSERT_FATAL(ctl >= 0);
	CU_ASSERT(write(ctl, "anon 8M\n", 8) == 8 && read(ctl, reply, sizeof(reply)) > 0);
	unsigned long id = 0;
	CU_ASSERT(sscanf(reply, "ok %lu", &id) == 1);
	snprintf(path, sizeof(path), "%s/.anon/%lu", m.dir, id);
	int anon = open(path, O_WRONLY);
	static char chunk[8 << 20];
	CU_ASSERT(anon >= 0 && write(anon, chunk, sizeof(chunk)) == (ssize_t)sizeof(chunk));
	close(anon);
	snprintf(path, sizeof(path), "%s/loaded", m.dir);
	pid = fork();
	if (pid == 0) {
		static char buf[1 << 20];
		int r = open(path, O_RDONLY);

		/*
		 * Until the mount goes away, when reads through the daemon
		 * fail; reads the kernel serves from the segment itself
		 * (passthrough) go on, and the reader is killed.
		 */
		while (r >= 0 && pread(r, buf, sizeof(buf), 0) >= 0)
			;
		_exit(0);
	}
	usleep(200000);
	CU_ASSERT_EQUAL(kill(m.pid, SIGTERM), 0);
	status = mount_wait_exit(&m);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int reader_status;
	kill(pid, SIGKILL);
	CU_ASSERT(waitpid(pid, &reader_status, 0) == pid);
	close(ctl);
	statvfs(PSHM_DIR, &after);
	/* The anonymous segment's 8 MiB are free again; no stray segment is left. */
	CU_ASSERT(after.f_bfree >= before.f_bfree);
	CU_ASSERT_EQUAL(count_entries(PSHM_DIR), 1);
	close(seg);
	pshm_unlink("loaded", NULL);
}

/* fusermount3 -u refuses while a file is open (the daemon keeps serving), then works. */
static void test_fusermount_with_files_open(void)
{
	struct test_mount m;
	char path[PATH_MAX], cmd[PATH_MAX + 64], byte;
	int fd, status;

	fd = pshm_open("held", O_RDWR | O_CREAT, 0644, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_FATAL(mount_start(&m, daemon_path, NULL) == 0);
	snprintf(path, sizeof(path), "%s/held", m.dir);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	snprintf(cmd, sizeof(cmd), "fusermount3 -u %s 2>/dev/null", m.dir);
	CU_ASSERT_NOT_EQUAL(system(cmd), 0); /* busy */
	CU_ASSERT(mount_alive(&m));
	CU_ASSERT_EQUAL(pwrite(fd, "z", 1, 0), 1);
	CU_ASSERT_EQUAL(pread(fd, &byte, 1, 0), 1);
	CU_ASSERT_EQUAL(byte, 'z');
	close(fd);
	/* The release reaches the daemon a moment after close(2). */
	int r = -1;
	for (int i = 0; i < 200 && r != 0; i++) {
		r = system(cmd);
		if (r != 0)
			usleep(10000);
	}
	CU_ASSERT_EQUAL(r, 0);
	status = mount_wait_exit(&m);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	pshm_unlink("held", NULL);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_concurrent_clients_and_an_outside_writer),
		TEST(test_segment_shrinking_under_four_readers),
		TEST(test_no_descriptor_or_memory_leaks),
		TEST(test_clients_killed_mid_transaction),
		TEST(test_hostile_names_get_the_kernel_errno),
		TEST(test_hundreds_of_ctl_descriptors),
		TEST(test_sigterm_under_load_releases_everything),
		TEST(test_fusermount_with_files_open),
		TEST_END,
	};
	if (getenv("STRESS_SECONDS"))
		stress_seconds = atoi(getenv("STRESS_SECONDS"));
	if (stress_seconds < 1)
		stress_seconds = 1;
	return mount_suite_main(argc, argv, "stress", cases, 256 << 20, &mnt, &daemon_path);
}

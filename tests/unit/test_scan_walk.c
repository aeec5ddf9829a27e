/* SPDX-License-Identifier: MIT */
/*
 * libpshm's one walk of /proc, checked against what /proc says when read
 * the long way: a holder's command name, ids and start as its status and
 * stat give them (however they are read now), and the tmpfs mounts of
 * other mount namespaces measured from the namespaces the walk noted the
 * same as from a walk of their own.
 */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pshm.h"
#include "pshm_i.h"
#include "testutil.h"

#define SIZE (5 << 20) /* no other object here has it */

struct holder {
	const char *name;
	uid_t uid;
};

/* Holds a memfd of SIZE, mapped, as h->uid, named h->name (prctl). */
static int memfd_setup(const void *arg)
{
	const struct holder *h = arg;
	int fd = memfd_create("scan-walk", 0);

	if (fd < 0 || ftruncate(fd, SIZE) < 0 ||
	    mmap(NULL, SIZE, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED)
		return -1;
	if (h->uid && (setresgid(h->uid, h->uid, h->uid) < 0 || setresuid(h->uid, 0, h->uid) < 0))
		return -1;
	prctl(PR_SET_NAME, h->name, 0, 0, 0);
	return 0;
}

/* A child named name holding a memfd of SIZE, mapped; waits until killed. */
static pid_t hold_memfd(const char *name, uid_t uid)
{
	const struct holder h = { .name = name, .uid = uid };

	return test_child_ready(memfd_setup, &h);
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A process's file of /proc whole, NUL-terminated, in buf. */
static void read_proc(pid_t pid, const char *file, char *buf, size_t size)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, file);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	CU_ASSERT_FATAL(n > 0);
	buf[n] = '\0';
}

/* What a holder of pid must say, from its status and stat: comm (as the scan cleans it), uid, start. */
static void expected(pid_t pid, char *comm, uid_t *uid, unsigned long long *start)
{
	char status[4096], stat[1024];
	const char *at;
	size_t len;

	read_proc(pid, "status", status, sizeof(status));
	len = strcspn(status + 6, "\n");
	snprintf(comm, 16, "%.*s", (int)len, status + 6);
	for (char *c = comm; *c; c++)
		if (!isgraph((unsigned char)*c) || *c == '\\')
			*c = '_';
	CU_ASSERT_FATAL(sscanf(strstr(status, "\nUid:") + 5, "%u", uid) == 1);
	read_proc(pid, "stat", stat, sizeof(stat));
	at = strrchr(stat, ')');
	for (int field = 0; at && field < 20; field++)
		at = strchr(at + 1, ' ');
	CU_ASSERT_FATAL(at && sscanf(at, " %llu", start) == 1);
}

/* The first holder of pid in a scan of every memfd: 0 when there is none. */
static bool holder_of(pid_t pid, struct pshm_holder *ret)
{
	const struct pshm_object *o;
	struct pshm_scan *scan;
	bool found = false;

	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_MEMFD, NULL, &scan, NULL) == 0);
	while (!found && pshm_scan_next(scan, &o) > 0)
		for (size_t i = 0; !found && i < o->holder_count; i++)
			if (o->holders[i].pid == pid) {
				*ret = o->holders[i];
				found = true;
			}
	pshm_scan_free(scan);
	return found;
}

/*
 * Command names the kernel escapes in status (newline, backslash) or
 * not (tab, space): the scan's is status's, cleaned, whatever it reads.
 */
static void test_holder_is_who_status_and_stat_say(void)
{
	static const char *const names[] = { "plain", "a\\b\nc\td e", "\\\\\\\\\\\\\\\\",
					     "\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n", "x)(y) z" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pid_t pid = hold_memfd(names[i], i == 1 ? 4242 : 0);
		unsigned long long start = 0;
		struct pshm_holder h;
		char comm[16] = "";
		uid_t uid = 0;

		expected(pid, comm, &uid, &start);
		CU_ASSERT_FATAL(holder_of(pid, &h));
		CU_ASSERT_STRING_EQUAL(h.comm, comm);
		CU_ASSERT_EQUAL(h.uid, uid);
		CU_ASSERT_EQUAL(h.start_time, start);
		if (strcmp(h.comm, comm) != 0)
			printf("\n    scan: \"%s\", status: \"%s\"", h.comm, comm);
		stop(pid);
	}
}

/* What pshm_tmpfs_mounts reports, one "POINT USED" line each. */
struct mounts {
	char text[8192];
	size_t len;
};

static int add_mount(void *ctx, const char *mount_point, unsigned long long used)
{
	struct mounts *m = ctx;

	m->len += (size_t)snprintf(m->text + m->len, sizeof(m->text) - m->len, "%s %llu\n",
				   mount_point, used);
	return m->len < sizeof(m->text) ? 0 : -ENOMEM;
}

/* In an IPC namespace of its own, with one segment there. */
static int ipc_setup(const void *arg)
{
	return unshare(CLONE_NEWIPC) < 0 || shmget(IPC_PRIVATE, 4096, 0600) < 0 ? -1 : 0;
}

/* Stops a scan once it is asked from a thread in another IPC namespace than the caller's. */
static bool stop_elsewhere(void *ctx)
{
	char link[64] = "";

	if (readlink("/proc/thread-self/ns/ipc", link, sizeof(link) - 1) < 0)
		return false;
	return strcmp(link, ctx) != 0;
}

/*
 * A scan stopped while it reads other IPC namespaces' segments (the
 * daemon's deadline) fails with ETIMEDOUT, as one stopped in its walk
 * does, never with another error: the reader of those namespaces asks
 * options.stop before each, so the second sees it from the first.
 */
static void test_a_scan_stopped_among_namespaces_times_out(void)
{
	pid_t a = test_child_ready(ipc_setup, NULL), b = test_child_ready(ipc_setup, NULL);
	struct pshm_scan_options options = { .stop = stop_elsewhere };
	char own[64] = "";
	struct pshm_error err = { 0 };
	struct pshm_scan *scan = NULL;

	CU_ASSERT_FATAL(readlink("/proc/thread-self/ns/ipc", own, sizeof(own) - 1) > 0);
	options.stop_ctx = own;
	CU_ASSERT_EQUAL(pshm_scan_open(PSHM_KIND_SYSV, &options, &scan, &err), -ETIMEDOUT);
	CU_ASSERT_EQUAL(err.code, ETIMEDOUT);
	CU_ASSERT_PTR_NULL(scan);
	stop(a);
	stop(b);
}

/* In a mount namespace of its own, with a tmpfs on /mnt holding 4 bytes. */
static int tmpfs_setup(const void *arg)
{
	int fd;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("scan-walk", "/mnt", "tmpfs", 0, "size=4m") < 0)
		return -1;
	fd = open("/mnt/data", O_WRONLY | O_CREAT, 0600);
	if (fd < 0 || write(fd, "data", 4) != 4)
		return -1;
	close(fd);
	return 0;
}

/*
 * A mount namespace of its own with a tmpfs holding data: measured the
 * same from a scan of every kind (the namespaces its walk noted) as by a
 * walk of /proc of its own.
 */
static void test_tmpfs_mounts_of_a_scan_are_a_walks(void)
{
	struct mounts walked = { 0 }, scanned = { 0 };
	struct pshm_mounts_walked how = { 0 };
	struct pshm_scan *scan;
	pid_t child = test_child_ready(tmpfs_setup, NULL);

	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_ALL, NULL, &scan, NULL) == 0);
	CU_ASSERT_EQUAL(
		pshm_tmpfs_mounts(add_mount, &walked, PSHM_MOUNTS_ALL_NAMESPACES, &how, NULL), 0);
	CU_ASSERT_EQUAL(pshm_scan_tmpfs_mounts(scan, add_mount, &scanned,
					       PSHM_MOUNTS_ALL_NAMESPACES, NULL, NULL),
			0);
	CU_ASSERT_STRING_EQUAL(scanned.text, walked.text);
	CU_ASSERT_TRUE(how.namespaces >= 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(walked.text, "/mnt 4096\n"));
	pshm_scan_free(scan);
	stop(child);
}

/*
 * Holds a segment mapped, then, in a mount namespace of its own with a
 * (dead) fuse.shmfs mount of root's on the directory arg, keeps open a
 * regular file it made at /dev/fuse on a tmpfs: what a shmfs daemon
 * looks like by name only.
 */
static int fake_daemon_setup(const void *arg)
{
	const char *dir = arg;
	int seg = open(PSHM_DIR "/fake-fuse-held", O_RDWR | O_CREAT, 0600), fuse;
	char options[128];

	if (seg < 0 || ftruncate(seg, 4096) < 0 ||
	    mmap(NULL, 4096, PROT_READ, MAP_SHARED, seg, 0) == MAP_FAILED)
		return -1;
	close(seg);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    (fuse = open("/dev/fuse", O_RDWR | O_CLOEXEC)) < 0)
		return -1;
	snprintf(options, sizeof(options), "fd=%d,rootmode=40000,user_id=0,group_id=0", fuse);
	if (mount("shmfs", dir, "fuse.shmfs", MS_NOSUID | MS_NODEV, options) < 0)
		return -1;
	close(fuse); /* the connection dies; the mount stays, in this namespace only */
	if (mount("tmpfs", "/dev", "tmpfs", 0, "size=64k") < 0 ||
	    open("/dev/fuse", O_RDWR | O_CREAT, 0600) < 0)
		return -1;
	return 0;
}

static void test_a_file_named_dev_fuse_is_no_daemon(void)
{
	char dir[] = "/tmp/pshm-fake-fuse-XXXXXX";
	const struct pshm_object *o;
	struct pshm_scan *scan;
	bool held = false;
	pid_t child;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	child = test_child_ready(fake_daemon_setup, dir);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_SEGMENT, NULL, &scan, NULL) == 0);
	o = pshm_scan_find(scan, PSHM_KIND_SEGMENT, "fake-fuse-held");
	for (size_t i = 0; o && i < o->holder_count; i++)
		held |= o->holders[i].pid == child;
	CU_ASSERT_TRUE(held);
	pshm_scan_free(scan);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	unlink(PSHM_DIR "/fake-fuse-held");
	CU_ASSERT_EQUAL(rmdir(dir), 0); /* its mount went with its namespace */
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_holder_is_who_status_and_stat_say),
		TEST(test_tmpfs_mounts_of_a_scan_are_a_walks),
		TEST(test_a_scan_stopped_among_namespaces_times_out),
		TEST(test_a_file_named_dev_fuse_is_no_daemon),
		TEST_END,
	};

	if (geteuid() != 0) {
		printf("SKIP: needs root to hold as another user and make a mount namespace\n");
		return 77;
	}
	test_isolate_shm(64 << 20);
	return test_run_suite("scan-walk", cases);
}

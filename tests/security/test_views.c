/* SPDX-License-Identifier: MIT */
/*
 * The views of other shared memory (.memfd, .shared-anon, .sysv) and the
 * .ctl commands over them (holders, usage by-process), attacked by uid
 * 4242 against a root daemon serving every user (-o allow_other), in a
 * private mount and IPC namespace: one test per finding of issue 19. A
 * user sees a holder's objects only where /proc lets them read the
 * holder; what a user holds open is bounded; an open decides again; a
 * System V holder cannot be forged. Every child is bounded by alarm()
 * and killed and reaped in each test's cleanup.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "mount.h"
#include "testutil.h"

#define ATTACKER 4242 /* uid and gid */
#define VICTIM 4243   /* another user: uid and gid */
#define NOBODY TEST_NOBODY

#define SHM_SIZE (64u << 20)
#define REPLY_MAX 65536

static const char *daemon_path;
static struct test_mount mnt;

/* The copies of view_holder the tests run: plain, set-uid root, set-gid root. */
static struct {
	char dir[64];
	char plain[PATH_MAX], setuid[PATH_MAX], setgid[PATH_MAX];
} holder_copies;

/*
 * A failed step the rest of a test depends on: a failed assertion, then
 * the test's cleanup (label out).
 */
#define REQUIRE(cond)                                                                      \
	do {                                                                               \
		bool ok_ = (cond);                                                         \
		CU_assertImplementation(ok_, __LINE__, "REQUIRE(" #cond ")", __FILE__, "", \
					CU_FALSE);                                         \
		if (!ok_)                                                                  \
			goto out;                                                          \
	} while (0)

/* ---- children, bounded in time ---- */

/*
 * Whether memory figures mean anything here: under the sanitizers the
 * daemon's RSS is mostly shadow memory and quarantine.
 */
static bool rss_meaningful(void)
{
	const char *sanitized = getenv("SHMFS_SANITIZED");

	return !sanitized || !*sanitized || strcmp(sanitized, "none") == 0;
}

/* ---- replies ---- */

static int ctl_open_in(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/.ctl", dir);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Runs one .ctl command in dir: the errno of the write (0), reply into reply; -1: no .ctl. */
static int ctl_command(const char *dir, const char *command, char *reply, size_t size)
{
	int fd = ctl_open_in(dir), err;

	reply[0] = '\0';
	if (fd < 0)
		return -1;
	err = mount_ctl(fd, command, reply, size);
	close(fd);
	return err;
}

static const char *next_line(const char *line)
{
	const char *newline = strchr(line, '\n');

	return newline ? newline + 1 : NULL;
}

/* Whether a line of text starts with "PID ". */
static bool names_pid(const char *text, pid_t pid)
{
	char lead[32];
	int n = snprintf(lead, sizeof(lead), "%ld ", (long)pid);

	for (const char *line = text; line && *line; line = next_line(line))
		if (strncmp(line, lead, (size_t)n) == 0)
			return true;
	return false;
}

/*
 * Whether a "usage by-process" row (process KIND PID COMMAND COUNT MAPPED
 * BYTES in KIND) of kind ("" any) gives pid a share of something. An
 * "unreadable-process PID ..." line names a process without anything it
 * holds, as ps would: it is not such a row.
 */
static bool usage_names_pid(const char *text, const char *kind, long pid)
{
	for (const char *line = text; line && *line; line = next_line(line)) {
		char line_kind[32];
		long who;

		if (sscanf(line, "process %31s %ld", line_kind, &who) == 2 && who == pid &&
		    (!*kind || strcmp(kind, line_kind) == 0))
			return true;
	}
	return false;
}

/* Whether some line of text starts with prefix. */
static bool has_line_starting(const char *text, const char *prefix)
{
	for (const char *line = text; line && *line; line = next_line(line))
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* Whether text ends with a line "ok" or "ok ...": a command that ran to its end. */
static bool ends_ok(const char *text)
{
	size_t len = strlen(text);
	const char *start;

	if (len == 0 || text[len - 1] != '\n')
		return false;
	start = text + len - 1;
	while (start > text && start[-1] != '\n')
		start--;
	return strncmp(start, "ok", 2) == 0 && (start[2] == '\n' || start[2] == ' ');
}

/* Whether the directory path lists name: 1, 0, or -errno when it cannot be listed. */
static int dir_lists(const char *path, const char *name)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (!d)
		return -errno;
	while (!found && (de = readdir(d)))
		found = strcmp(de->d_name, name) == 0;
	closedir(d);
	return found;
}

/* ---- the view_holder program, in its three copies ---- */

/* Copies source to path, owned by root, with mode (set-uid, set-gid bits too). */
static bool install_copy(const char *source, const char *path, mode_t mode)
{
	char buf[65536];
	bool ok = true;
	ssize_t n;
	int in = open(source, O_RDONLY | O_CLOEXEC);
	int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);

	while (ok && in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	ok = ok && in >= 0 && out >= 0 && fchown(out, 0, 0) == 0 && fchmod(out, mode) == 0;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

static bool install_holder_copies(const char *source)
{
	snprintf(holder_copies.dir, sizeof(holder_copies.dir), "/tmp/shmfs-views-XXXXXX");
	if (!mkdtemp(holder_copies.dir)) {
		holder_copies.dir[0] = '\0';
		return false;
	}
	snprintf(holder_copies.plain, sizeof(holder_copies.plain), "%s/view_holder",
		 holder_copies.dir);
	snprintf(holder_copies.setuid, sizeof(holder_copies.setuid), "%s/view_holder-setuid",
		 holder_copies.dir);
	snprintf(holder_copies.setgid, sizeof(holder_copies.setgid), "%s/view_holder-setgid",
		 holder_copies.dir);
	return chmod(holder_copies.dir, 0755) == 0 &&
	       install_copy(source, holder_copies.plain, 0755) &&
	       install_copy(source, holder_copies.setuid, 04755) &&
	       install_copy(source, holder_copies.setgid, 02755);
}

static void remove_holder_copies(void)
{
	if (!holder_copies.dir[0])
		return;
	unlink(holder_copies.plain);
	unlink(holder_copies.setuid);
	unlink(holder_copies.setgid);
	rmdir(holder_copies.dir);
}

/* What a view_holder reported: see view_holder.c. */
struct holder {
	pid_t pid;       /* our child: the holder itself, after exec */
	int stdin_write; /* closing it ends the holder */
	long ruid, euid, suid, rgid, egid;
	int dumpable, memfd_fd, private_fd;
	unsigned long memfd_ino, anon_ino, private_ino;
	char tag[32];
};

struct holder_exec {
	const char *program;
	const char *argv[8];
	int stdin_read, stdout_write;
};

static int exec_holder(const void *arg)
{
	const struct holder_exec *x = arg;

	if (dup2(x->stdin_read, STDIN_FILENO) < 0 || dup2(x->stdout_write, STDOUT_FILENO) < 0)
		return 126;
	execv(x->program, (char *const *)x->argv);
	return 127;
}

/*
 * Starts program (a view_holder copy) as uid with "TAG DUMPABLE [RUID
 * EUID SUID]" (ids NULL for none) and reads its report into *h: true when
 * it holds its objects within 5 s.
 */
static bool start_holder(uid_t uid, const char *program, const char *tag, const char *dumpable,
			 const char *const *ids, struct holder *h)
{
	struct holder_exec x = { .program = program };
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	char line[512] = "";
	size_t len = 0, n = 0;
	struct pollfd ready;
	long deadline;

	memset(h, 0, sizeof(*h));
	h->pid = -1;
	h->stdin_write = -1;
	snprintf(h->tag, sizeof(h->tag), "%s", tag);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		goto fail;
	x.argv[n++] = program;
	x.argv[n++] = tag;
	x.argv[n++] = dumpable;
	for (size_t i = 0; ids && i < 3; i++)
		x.argv[n++] = ids[i];
	x.argv[n] = NULL;
	x.stdin_read = in[0];
	x.stdout_write = out[1];
	h->pid = spawn_as(uid, 60, exec_holder, &x);
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	h->stdin_write = in[1];
	in[1] = -1;
	if (h->pid < 0)
		goto fail;
	ready = (struct pollfd){ .fd = out[0], .events = POLLIN };
	for (deadline = now_ms() + 5000; !memchr(line, '\n', len) && len < sizeof(line) - 1;) {
		ssize_t got;

		if (poll(&ready, 1, (int)(deadline - now_ms())) != 1)
			goto fail;
		got = read(out[0], line + len, sizeof(line) - 1 - len);
		if (got <= 0)
			goto fail;
		len += (size_t)got;
		line[len] = '\0';
	}
	close(out[0]);
	out[0] = -1;
	if (sscanf(line, "%*d %ld %ld %ld %ld %ld %d %d %lu %lu %d %lu", &h->ruid, &h->euid,
		   &h->suid, &h->rgid, &h->egid, &h->dumpable, &h->memfd_fd, &h->memfd_ino,
		   &h->anon_ino, &h->private_fd, &h->private_ino) != 11)
		goto fail;
	return true;
fail:
	printf("\n    holder %s (%s) did not report: \"%s\" ", tag, program, line);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return false;
}

/* Ends a holder (its stdin closes, then SIGKILL) and reaps it. */
static void stop_holder(struct holder *h)
{
	if (h->stdin_write >= 0)
		close(h->stdin_write);
	h->stdin_write = -1;
	if (!wait_for(&h->pid, 2000, NULL))
		finish(&h->pid);
}

/* ---- 1. visibility by the kernel's rule ---- */

enum { OBJ_MEMFD, OBJ_PRIVATE, OBJ_ANON, OBJECTS };
static const char *const object_names[OBJECTS] = { "memfd", "private memfd", "shared-anon" };

/* What one user finds of a holder's objects, through the views and .ctl. */
struct peek {
	char dir[sizeof(mnt.dir)];
	pid_t pid;
	int fd_number; /* one of the holder's descriptors */
	char secret[64];
	char view[OBJECTS][16];   /* ".memfd", ".shared-anon" */
	char entry[OBJECTS][128]; /* NAME@INODE, INODE */
	/* What the child found. */
	int proc_fd_err, proc_link_err, proc_fd_entries;
	int listed[OBJECTS]; /* 1, 0, or -errno of the listing */
	int stat_err[OBJECTS], open_err[OBJECTS];
	bool read_secret[OBJECTS];
	int holders_err;
	char holders[REPLY_MAX];
	char usage[REPLY_MAX];
};

static int peek_objects(const void *arg)
{
	struct peek *p = (struct peek *)arg;
	char path[PATH_MAX], buf[64], command[256];
	struct dirent *de;
	DIR *d;

	/* What /proc itself lets this user see of the holder: ls /proc/PID/fd, ls -l. */
	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)p->pid);
	d = opendir(path);
	p->proc_fd_err = d ? 0 : errno;
	while (d && (de = readdir(d)))
		p->proc_fd_entries += de->d_name[0] != '.';
	if (d)
		closedir(d);
	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)p->pid, p->fd_number);
	p->proc_link_err = readlink(path, buf, sizeof(buf)) < 0 ? errno : 0;

	for (int i = 0; i < OBJECTS; i++) {
		struct stat st;
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", p->dir, p->view[i]);
		p->listed[i] = dir_lists(path, p->entry[i]);
		snprintf(path, sizeof(path), "%s/%s/%s", p->dir, p->view[i], p->entry[i]);
		p->stat_err[i] = stat(path, &st) < 0 ? errno : 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		p->open_err[i] = fd < 0 ? errno : 0;
		n = fd < 0 ? -1 : pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		p->read_secret[i] = n > 0 && strstr(buf, p->secret) != NULL;
		if (fd >= 0)
			close(fd);
	}
	snprintf(command, sizeof(command), "holders %s/%s", p->view[OBJ_MEMFD],
		 p->entry[OBJ_MEMFD]);
	p->holders_err = ctl_command(p->dir, command, p->holders, sizeof(p->holders));
	if (ctl_command(p->dir, "usage by-process", p->usage, sizeof(p->usage)) < 0)
		return 10;
	return 0;
}

static void peek_set(struct peek *p, const struct holder *h)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", mnt.dir);
	p->pid = h->pid;
	p->fd_number = h->memfd_fd;
	snprintf(p->secret, sizeof(p->secret), "secret-%s", h->tag);
	snprintf(p->view[OBJ_MEMFD], sizeof(p->view[0]), ".memfd");
	snprintf(p->view[OBJ_PRIVATE], sizeof(p->view[0]), ".memfd");
	snprintf(p->view[OBJ_ANON], sizeof(p->view[0]), ".shared-anon");
	snprintf(p->entry[OBJ_MEMFD], sizeof(p->entry[0]), "%s-memfd@%lu", h->tag, h->memfd_ino);
	snprintf(p->entry[OBJ_PRIVATE], sizeof(p->entry[0]), "%s-private@%lu", h->tag,
		 h->private_ino);
	snprintf(p->entry[OBJ_ANON], sizeof(p->entry[0]), "%lu", h->anon_ino);
}

static void peek_print(const char *who, const struct peek *p)
{
	char last[256];

	printf("\n    %s: ls /proc/%ld/fd: %s (%d entries), readlink fd/%d: %s", who, (long)p->pid,
	       p->proc_fd_err ? strerror(p->proc_fd_err) : "ok", p->proc_fd_entries, p->fd_number,
	       p->proc_link_err ? strerror(p->proc_link_err) : "ok");
	for (int i = 0; i < OBJECTS; i++)
		printf("\n      %-13s %s/%s: listed %d, stat %s, open %s, secret %s",
		       object_names[i], p->view[i], p->entry[i], p->listed[i],
		       p->stat_err[i] ? strerror(p->stat_err[i]) : "ok",
		       p->open_err[i] ? strerror(p->open_err[i]) : "ok",
		       p->read_secret[i] ? "READ" : "not read");
	reply_last_line(p->holders, last, sizeof(last));
	printf("\n      holders: %s%s (%s); usage by-process names it: %s ",
	       names_pid(p->holders, p->pid) ? "NAMES IT, " : "", last, strerror(p->holders_err),
	       usage_names_pid(p->usage, "", p->pid) ? "YES" : "no");
}

/*
 * Starts a holder (see start_holder), checks that root sees its three
 * objects, then what the attacker (uid 4242) finds: everything when
 * visible (and /proc lets it read the holder's descriptors), nothing
 * otherwise (and /proc refuses it: readlink of /proc/PID/fd/N, EACCES).
 */
static void holder_case(uid_t starter, const char *program, const char *dumpable,
			const char *const *ids, bool visible, const char *tag)
{
	struct peek *p = shared_new(sizeof(*p));
	struct holder h = { .pid = -1, .stdin_write = -1 };

	REQUIRE(p != NULL);
	REQUIRE(start_holder(starter, program, tag, dumpable, ids, &h));
	printf("\n    %s: holder %ld, uids %ld/%ld/%ld, gids %ld/%ld, dumpable %d", tag,
	       (long)h.pid, h.ruid, h.euid, h.suid, h.rgid, h.egid, h.dumpable);
	/* Root sees all three, by the names the attacker will try: the test means something. */
	peek_set(p, &h);
	REQUIRE(run_as(0, 10, peek_objects, p) == 0);
	for (int i = 0; i < OBJECTS; i++)
		REQUIRE(p->listed[i] == 1 && p->read_secret[i]);
	REQUIRE(usage_names_pid(p->usage, "memfd", h.pid));

	peek_set(p, &h);
	REQUIRE(run_as(ATTACKER, 10, peek_objects, p) == 0);
	peek_print("uid 4242", p);
	CU_ASSERT(ends_ok(p->usage));
	if (visible) {
		CU_ASSERT_EQUAL(p->proc_fd_err, 0);
		CU_ASSERT_EQUAL(p->proc_link_err, 0);
		for (int i = 0; i < OBJECTS; i++) {
			CU_ASSERT_EQUAL(p->listed[i], 1);
			CU_ASSERT_EQUAL(p->stat_err[i], 0);
			CU_ASSERT(p->read_secret[i]);
		}
		CU_ASSERT(names_pid(p->holders, h.pid));
		CU_ASSERT(usage_names_pid(p->usage, "memfd", h.pid));
		CU_ASSERT(usage_names_pid(p->usage, "shared-anon", h.pid));
	} else {
		/* The kernel refuses the attacker the holder's descriptors: the daemon must too. */
		CU_ASSERT_EQUAL(p->proc_link_err, EACCES);
		for (int i = 0; i < OBJECTS; i++) {
			CU_ASSERT_EQUAL(p->listed[i], 0);
			CU_ASSERT_EQUAL(p->stat_err[i], ENOENT);
			CU_ASSERT_NOT_EQUAL(p->open_err[i], 0);
			CU_ASSERT_FALSE(p->read_secret[i]);
		}
		CU_ASSERT_FALSE(names_pid(p->holders, h.pid));
		CU_ASSERT_FALSE(usage_names_pid(p->usage, "", h.pid));
	}
out:
	stop_holder(&h);
	shared_free(p, sizeof(*p));
}

/* The control: a plain, dumpable holder of uid 4242 is the attacker's own to see and read. */
static void test_views_show_a_plain_holder_of_ones_own(void)
{
	holder_case(ATTACKER, holder_copies.plain, "keep", NULL, true, "plain");
}

/*
 * (a) A set-uid-root program 4242 started (real uid 4242, effective and
 * saved 0): not dumpable, so /proc/PID/fd is root's (ls: Permission
 * denied), and ptrace_may_access refuses on the uids anyway.
 */
static void test_views_hide_a_setuid_root_holder(void)
{
	holder_case(ATTACKER, holder_copies.setuid, "keep", NULL, false, "setuid");
}

/*
 * (b) A set-gid-root program 4242 started (mode 2755: uids 4242, gids
 * 4242/0/0): not dumpable either (ls /proc/PID/fd: Permission denied),
 * and the gids differ.
 */
static void test_views_hide_a_setgid_holder(void)
{
	holder_case(ATTACKER, holder_copies.setgid, "keep", NULL, false, "setgid");
}

/*
 * (c) Started by root, setresuid(4242, 4243, 4243): real uid 4242 only,
 * and not dumpable after the change of effective uid (ls /proc/PID/fd:
 * Permission denied).
 */
static void test_views_hide_a_holder_of_another_effective_uid(void)
{
	static const char *const ids[] = { "4242", "4243", "4243" };

	holder_case(0, holder_copies.plain, "keep", ids, false, "reuid");
}

/*
 * (c') The tricky one: setresuid(4243, 4242, 4243), then dumpable again.
 * /proc/PID and its fd/ are owned by 4242, so ls /proc/PID/fd lists the
 * numbers, but readlink of each (ls -l) is Permission denied:
 * ptrace_may_access wants the real and saved uids to be 4242 too.
 */
static void test_views_hide_a_holder_of_another_saved_uid(void)
{
	static const char *const ids[] = { "4243", "4242", "4243" };

	holder_case(0, holder_copies.plain, "1", ids, false, "euid");
}

/* (d) uid 4242 itself, prctl(PR_SET_DUMPABLE, 0): fd/ is root's (ls: Permission denied). */
static void test_views_hide_an_undumpable_holder(void)
{
	holder_case(ATTACKER, holder_copies.plain, "0", NULL, false, "nodump");
}

/* ---- 2. open view directories are bounded ---- */

#define ANON_MAPPINGS 30000
#define DIR_OPENERS 60
#define DIRS_PER_USER 128 /* LIMIT_DIRS_USER */

struct mappings {
	int ready;
	long maps_lines;
	int err;
};

/* Keeps ANON_MAPPINGS one-page shared anonymous mappings, each its own, until killed. */
static int hold_mappings(const void *arg)
{
	struct mappings *m = (struct mappings *)arg;
	char buf[65536];
	ssize_t n;
	int fd;

	for (int i = 0; i < ANON_MAPPINGS; i++) {
		/* Alternating protections: neighbours never merge, whatever the kernel does. */
		int prot = i % 2 ? PROT_READ : PROT_READ | PROT_WRITE;

		if (mmap(NULL, 4096, prot, MAP_SHARED | MAP_ANONYMOUS, -1, 0) == MAP_FAILED) {
			m->err = errno;
			return 10;
		}
	}
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			m->maps_lines += buf[i] == '\n';
	if (fd >= 0)
		close(fd);
	set_flag(&m->ready, 1);
	for (;;)
		pause();
}

struct dir_opens {
	char path[PATH_MAX];
	int count; /* how many to open */
	int release_fd, release_write;
	int opened, err, holding;
	long entries; /* what the first getdents64 of each gave, in bytes */
	int timeouts; /* opens that failed with ETIMEDOUT, and were tried again */
	long slowest_ms;
	int read_err;
	int reopen_err; /* after closing one at the limit: 0 when an open succeeded again */
};

/* Opens path count times, reading each once, holds them until released. */
static int hold_dirs(const void *arg)
{
	struct dir_opens *o = (struct dir_opens *)arg;
	static int fds[1024];
	static char buf[32768];
	char byte;

	close(o->release_write);
	for (o->opened = 0; o->opened < o->count && o->opened < 1024; o->opened++) {
		long n;

		long start = now_ms();

		/* A view's scan gives up after 1 s (ETIMEDOUT): on a busy machine, again. */
		for (int tries = 0; tries < 5; tries++) {
			fds[o->opened] = open(o->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fds[o->opened] >= 0 || errno != ETIMEDOUT)
				break;
			o->timeouts++;
		}
		if (now_ms() - start > o->slowest_ms)
			o->slowest_ms = now_ms() - start;
		if (fds[o->opened] < 0) {
			o->err = errno;
			break;
		}
		n = syscall(SYS_getdents64, fds[o->opened], buf, sizeof(buf));
		if (n < 0)
			o->read_err = errno;
		else
			o->entries += n;
	}
	/* At the limit: one closed, the next open succeeds once the daemon has the release. */
	o->reopen_err = -1;
	if (o->opened > 0 && o->err) {
		close(fds[--o->opened]);
		for (long deadline = now_ms() + 2000;;) {
			int fd = open(o->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			o->reopen_err = fd < 0 ? errno : 0;
			if (fd >= 0) {
				fds[o->opened++] = fd;
				break;
			}
			if (now_ms() > deadline)
				break;
			usleep(10000);
		}
	}
	set_flag(&o->holding, 1);
	(void)!read(o->release_fd, &byte, 1);
	for (int i = 0; i < o->opened; i++)
		close(fds[i]);
	return 0;
}

static int open_dir_once(const void *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Starts hold_dirs as uid on path (count opens) and waits until it holds them. */
static pid_t start_dir_holder(uid_t uid, struct dir_opens *o, const char *path, int count,
			      int pipefd[2])
{
	pid_t pid;

	memset(o, 0, sizeof(*o));
	snprintf(o->path, sizeof(o->path), "%s", path);
	o->count = count;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	o->release_fd = pipefd[0];
	o->release_write = pipefd[1];
	/* 60 scans of 30,000 mappings: about 25 s under ASan alone, more on a busy machine. */
	pid = spawn_as(uid, 150, hold_dirs, o);
	if (pid > 0 && !wait_flag(&o->holding, 1, 120000))
		finish(&pid);
	return pid;
}

/* Lets a dir holder go, and reaps it. */
static void release_dir_holder(pid_t *pid, int pipefd[2])
{
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	pipefd[0] = pipefd[1] = -1;
	if (!wait_for(pid, 5000, NULL))
		finish(pid);
	usleep(200000); /* the releases reach the daemon after close */
}

static void test_a_user_holds_at_most_128_open_directories(void)
{
	struct dir_opens *o = shared_new(sizeof(*o));
	int pipefd[2] = { -1, -1 };
	pid_t child = -1;

	REQUIRE(o != NULL);
	child = start_dir_holder(NOBODY, o, mnt.dir, DIRS_PER_USER + 40, pipefd);
	REQUIRE(child > 0);
	printf("\n    nobody opened %d directories of the mount, then %s; after closing one: %s ",
	       o->opened, o->err ? strerror(o->err) : "no error",
	       o->reopen_err < 0 ? "not tried"
	       : o->reopen_err   ? strerror(o->reopen_err)
				 : "ok");
	CU_ASSERT_EQUAL(o->opened, DIRS_PER_USER);
	CU_ASSERT_EQUAL(o->err, EMFILE);
	CU_ASSERT_EQUAL(o->reopen_err, 0);
	/* Another user is not affected. */
	CU_ASSERT_EQUAL(run_as(ATTACKER, 5, open_dir_once, mnt.dir), 0);
out:
	release_dir_holder(&child, pipefd);
	finish(&child);
	shared_free(o, sizeof(*o));
}

static void test_open_view_directories_keep_only_what_their_opener_sees(void)
{
	struct mappings *m = shared_new(sizeof(*m));
	struct dir_opens *o = shared_new(sizeof(*o));
	int pipefd[2] = { -1, -1 };
	pid_t holder = -1, opener = -1;
	char path[PATH_MAX];
	long before, after;

	REQUIRE(m && o);
	holder = spawn_as(VICTIM, 180, hold_mappings, m);
	REQUIRE(holder > 0);
	REQUIRE(wait_flag(&m->ready, 1, 20000));
	REQUIRE(m->maps_lines >= ANON_MAPPINGS);
	before = test_rss_kib(mnt.pid);
	snprintf(path, sizeof(path), "%s/.shared-anon", mnt.dir);
	opener = start_dir_holder(NOBODY, o, path, DIR_OPENERS, pipefd);
	REQUIRE(opener > 0);
	after = test_rss_kib(mnt.pid);
	printf("\n    4243 holds %ld mappings; nobody opened .shared-anon %d times (%s; %d "
	       "ETIMEDOUT tried again, slowest %ld ms), read %ld bytes of entries (%s); daemon "
	       "VmRSS %ld -> %ld KiB ",
	       m->maps_lines, o->opened, o->err ? strerror(o->err) : "no error", o->timeouts,
	       o->slowest_ms, o->entries, o->read_err ? strerror(o->read_err) : "ok", before,
	       after);
	CU_ASSERT_EQUAL(o->opened, DIR_OPENERS);
	CU_ASSERT_EQUAL(o->err, 0);
	CU_ASSERT_EQUAL(o->read_err, 0);
	if (rss_meaningful())
		CU_ASSERT(before > 0 && after > 0 && after - before < 64 * 1024);
out:
	if (opener > 0)
		release_dir_holder(&opener, pipefd);
	for (int i = 0; i < 2; i++)
		if (pipefd[i] >= 0)
			close(pipefd[i]);
	finish(&opener);
	finish(&holder);
	shared_free(m, sizeof(*m));
	shared_free(o, sizeof(*o));
}

/* ---- 4. usage by-process hides what holders hides ---- */

#define BANKING "views-banking"

struct victim {
	char path[PATH_MAX];
	int ready;
};

/* As 4243, called victim-banking: maps the segment and writes a page of it. */
static int victim_banking(const void *arg)
{
	struct victim *v = (struct victim *)arg;
	int fd = open(v->path, O_RDWR | O_CLOEXEC);
	char *map;

	prctl(PR_SET_NAME, "victim-banking");
	if (fd < 0)
		return 10;
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 11;
	close(fd);
	memcpy(map, "account 1234", 12);
	set_flag(&v->ready, 1);
	for (;;)
		pause();
}

struct asked {
	char dir[sizeof(mnt.dir)];
	char holders_command[128];
	int holders_err, usage_err;
	char holders[REPLY_MAX], usage[REPLY_MAX];
};

static int ask_holders_and_usage(const void *arg)
{
	struct asked *a = (struct asked *)arg;

	a->holders_err = ctl_command(a->dir, a->holders_command, a->holders, sizeof(a->holders));
	a->usage_err = ctl_command(a->dir, "usage by-process", a->usage, sizeof(a->usage));
	return a->holders_err < 0 || a->usage_err < 0 ? 10 : 0;
}

static void test_usage_by_process_hides_what_holders_hides(void)
{
	struct victim *v = shared_new(sizeof(*v));
	struct asked *a = shared_new(sizeof(*a));
	char last[256], pid_text[32];
	pid_t victim = -1;
	int fd = -1;

	REQUIRE(v && a);
	/* 4242's own segment, open to all. */
	fd = open("/dev/shm/" BANKING, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	REQUIRE(fd >= 0);
	REQUIRE(fchown(fd, ATTACKER, ATTACKER) == 0 && fchmod(fd, 0666) == 0 &&
		ftruncate(fd, 4096) == 0);
	/* Closed before any child: they would inherit it, and hold the segment too. */
	close(fd);
	fd = -1;
	snprintf(v->path, sizeof(v->path), "/dev/shm/" BANKING);
	victim = spawn_as(VICTIM, 30, victim_banking, v);
	REQUIRE(victim > 0);
	REQUIRE(wait_flag(&v->ready, 1, 5000));
	snprintf(pid_text, sizeof(pid_text), "%ld", (long)victim);

	snprintf(a->dir, sizeof(a->dir), "%s", mnt.dir);
	snprintf(a->holders_command, sizeof(a->holders_command), "holders " BANKING);
	/* Root sees the victim by name: the test means something. */
	REQUIRE(run_as(0, 10, ask_holders_and_usage, a) == 0);
	REQUIRE(names_pid(a->holders, victim));
	REQUIRE(usage_names_pid(a->usage, "segment", victim) && strstr(a->usage, "victim-banking"));

	memset(a->holders, 0, sizeof(a->holders));
	memset(a->usage, 0, sizeof(a->usage));
	REQUIRE(run_as(ATTACKER, 10, ask_holders_and_usage, a) == 0);
	printf("\n    4242's holders " BANKING " (victim %ld):\n%s    4242's usage by-process:\n%s",
	       (long)victim, a->holders, a->usage);
	CU_ASSERT_EQUAL(a->holders_err, 0);
	CU_ASSERT_FALSE(names_pid(a->holders, victim));
	reply_last_line(a->holders, last, sizeof(last));
	CU_ASSERT(reply_is_hidden_count(last, "ok ", 1));
	CU_ASSERT_EQUAL(a->usage_err, 0);
	CU_ASSERT(ends_ok(a->usage));
	CU_ASSERT_PTR_NULL(strstr(a->usage, "victim-banking"));
	CU_ASSERT_FALSE(usage_names_pid(a->usage, "", victim));
	/*
	 * Not even counted: the views and usage read only the processes the
	 * caller could be let read, so another user's never reach a reply.
	 */
	CU_ASSERT_FALSE(has_line_starting(a->usage, "segment -1 - "));
out:
	finish(&victim);
	if (fd >= 0)
		close(fd);
	unlink("/dev/shm/" BANKING);
	shared_free(v, sizeof(*v));
	shared_free(a, sizeof(*a));
}

/* ---- 6. an open decides visibility again ---- */

struct reopen {
	char memfd_dir[sizeof(mnt.dir) + 8]; /* MOUNT/.memfd */
	char entry[128];                     /* NAME@INODE */
	char path[PATH_MAX];                 /* MOUNT/.memfd/NAME@INODE */
	char secret[64];                     /* what the holder wrote */
	char later[64];                      /* what root writes once the holder is gone */
	int step;                            /* the parent's: 1 reopen now, 2 read now */
	int done;                            /* the child's: 1 O_PATH taken, 2 reopened, 3 read */
	int opath_err, before_err, reopen_err;
	bool before_secret, read_later, read_secret;
	/* The root child keeping the memfd. */
	char keep_path[64];
	int keeper_fd, kept;
};

static bool read_has(int fd, const char *text)
{
	char buf[64];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return n > 0 && strstr(buf, text) != NULL;
}

/* As 4242: an O_PATH descriptor of its own holder's memfd, reopened after the holder left. */
static int reopen_later(const void *arg)
{
	struct reopen *r = (struct reopen *)arg;
	char self[64];
	int path_fd = open(r->path, O_PATH | O_CLOEXEC), fd;

	r->opath_err = path_fd < 0 ? errno : 0;
	if (path_fd < 0) {
		set_flag(&r->done, 1);
		return 10;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", path_fd);
	/* While its own holder holds it, the reopen works: the control. */
	fd = open(self, O_RDONLY | O_CLOEXEC);
	r->before_err = fd < 0 ? errno : 0;
	r->before_secret = fd >= 0 && read_has(fd, r->secret);
	if (fd >= 0)
		close(fd);
	set_flag(&r->done, 1);
	if (!wait_flag(&r->step, 1, 20000))
		return 11;
	fd = open(self, O_RDONLY | O_CLOEXEC);
	r->reopen_err = fd < 0 ? errno : 0;
	set_flag(&r->done, 2);
	if (!wait_flag(&r->step, 2, 20000))
		return 12;
	r->read_secret = fd >= 0 && read_has(fd, r->secret);
	r->read_later = fd >= 0 && read_has(fd, r->later);
	set_flag(&r->done, 3);
	return 0;
}

/* As root: keeps the memfd open (through the holder's /proc link) until killed. */
static int keep_memfd(const void *arg)
{
	struct reopen *r = (struct reopen *)arg;

	r->keeper_fd = open(r->keep_path, O_RDWR | O_CLOEXEC);
	if (r->keeper_fd < 0)
		return 10;
	set_flag(&r->kept, 1);
	for (;;)
		pause();
}

/* As root: whether .memfd still lists the entry. */
static int list_memfd(const void *arg)
{
	const struct reopen *r = arg;

	return dir_lists(r->memfd_dir, r->entry) == 1 ? 0 : 10;
}

static void test_an_open_decides_visibility_again(void)
{
	struct reopen *r = shared_new(sizeof(*r));
	struct holder h = { .pid = -1, .stdin_write = -1 };
	pid_t attacker = -1, keeper = -1;
	char path[64];
	int fd;

	REQUIRE(r != NULL);
	REQUIRE(start_holder(ATTACKER, holder_copies.plain, "reopen", "keep", NULL, &h));
	snprintf(r->memfd_dir, sizeof(r->memfd_dir), "%s/.memfd", mnt.dir);
	snprintf(r->entry, sizeof(r->entry), "reopen-memfd@%lu", h.memfd_ino);
	snprintf(r->path, sizeof(r->path), "%s/%s", r->memfd_dir, r->entry);
	snprintf(r->secret, sizeof(r->secret), "secret-reopen");
	snprintf(r->later, sizeof(r->later), "written-by-root-later");
	attacker = spawn_as(ATTACKER, 30, reopen_later, r);
	REQUIRE(attacker > 0);
	REQUIRE(wait_flag(&r->done, 1, 10000));
	REQUIRE(r->opath_err == 0);
	CU_ASSERT_EQUAL(r->before_err, 0);
	CU_ASSERT(r->before_secret);

	/* Root keeps the memfd alive in a process of its own, and 4242's holder goes. */
	snprintf(r->keep_path, sizeof(r->keep_path), "/proc/%ld/fd/%d", (long)h.pid, h.memfd_fd);
	keeper = spawn_as(0, 30, keep_memfd, r);
	REQUIRE(keeper > 0);
	REQUIRE(wait_flag(&r->kept, 1, 5000));
	stop_holder(&h);
	REQUIRE(h.pid < 0);
	REQUIRE(run_as(0, 10, list_memfd, r) == 0); /* the object lives on, for root */

	set_flag(&r->step, 1);
	REQUIRE(wait_flag(&r->done, 2, 10000));
	/* Root writes into it now: a reopened descriptor must not show it to 4242. */
	snprintf(path, sizeof(path), "/proc/%ld/fd/%d", (long)keeper, r->keeper_fd);
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	CU_ASSERT(pwrite(fd, r->later, strlen(r->later), 0) == (ssize_t)strlen(r->later));
	close(fd);
	set_flag(&r->step, 2);
	REQUIRE(wait_flag(&r->done, 3, 10000));
	printf("\n    4242 reopened its O_PATH descriptor while its holder held the memfd: %s; "
	       "after, with only root's process holding it: %s; read root's later bytes: %s ",
	       r->before_err ? strerror(r->before_err) : "ok",
	       r->reopen_err ? strerror(r->reopen_err) : "ok", r->read_later ? "YES" : "no");
	CU_ASSERT(r->reopen_err == ENOENT || r->reopen_err == EACCES);
	CU_ASSERT_FALSE(r->read_later);
	CU_ASSERT_FALSE(r->read_secret);
out:
	stop_holder(&h);
	finish(&attacker);
	finish(&keeper);
	shared_free(r, sizeof(*r));
}

/* ---- 7. a forged System V holder ---- */

#define FORGED_KEY 0x2a
#define FORGED_NAME "SYSV0000002a"

struct forge {
	char base[64]; /* where the forger's tmpfs goes, in its own mount namespace */
	int step, done;
	unsigned long ino;
};

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : write(fd, text, strlen(text));

	if (fd >= 0)
		close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/*
 * As 4242: in a user and mount namespace of its own, a tmpfs made the
 * root (pivot_root), so that a file there mapped and unlinked reads
 * "/SYSV0000002a (deleted)" in its maps, with the tmpfs's inode.
 */
static int forge_sysv_mapping(const void *arg)
{
	struct forge *f = (struct forge *)arg;
	struct stat st;
	void *map;
	int fd;

	f->step = 1;
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return 10;
	f->step = 2;
	if (write_file("/proc/self/uid_map", "0 4242 1") < 0 ||
	    write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/gid_map", "0 4242 1") < 0)
		return 11;
	f->step = 3;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", f->base, "tmpfs", 0, "size=1m,mode=0755") < 0 || chdir(f->base) < 0)
		return 12;
	f->step = 4;
	fd = open("forged", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 4096) < 0 || fstat(fd, &st) < 0)
		return 13;
	close(fd);
	f->ino = st.st_ino;
	f->step = 5;
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return 14;
	f->step = 6;
	if (rename("/forged", "/" FORGED_NAME) < 0)
		return 15;
	fd = open("/" FORGED_NAME, O_RDONLY | O_CLOEXEC);
	map = fd < 0 ? MAP_FAILED : mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED || unlink("/" FORGED_NAME) < 0)
		return 16;
	close(fd);
	f->step = 7;
	set_flag(&f->done, 1);
	for (;;)
		pause();
}

/* Whether /proc/PID/maps has a shared mapping of path with inode ino. */
static bool maps_show(pid_t pid, const char *path, unsigned long ino)
{
	char maps[64], line[1024], perms[8], name[512];
	unsigned long inode;
	bool found = false;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%ld/maps", (long)pid);
	f = fopen(maps, "re");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %7s %*s %*s %lu %511[^\n]", perms, &inode, name) != 3)
			continue;
		found = inode == ino && perms[3] == 's' && strcmp(name, path) == 0;
		if (found)
			printf("\n    the forger's maps: %s", line);
	}
	fclose(f);
	return found;
}

struct sysv_look {
	char dir[sizeof(mnt.dir)];
	char entry[64]; /* 0xKEY@ID */
	int listed, stat_err;
	char usage[REPLY_MAX];
};

static int look_at_sysv(const void *arg)
{
	struct sysv_look *l = (struct sysv_look *)arg;
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/.sysv", l->dir);
	l->listed = dir_lists(path, l->entry);
	snprintf(path, sizeof(path), "%s/.sysv/%s", l->dir, l->entry);
	l->stat_err = stat(path, &st) < 0 ? errno : 0;
	return ctl_command(l->dir, "usage by-process", l->usage, sizeof(l->usage)) == 0 ? 0 : 10;
}

static void test_a_forged_sysv_mapping_holds_no_segment(void)
{
	struct forge *f = shared_new(sizeof(*f));
	struct sysv_look *l = shared_new(sizeof(*l));
	char next_id[32];
	pid_t forger = -1;
	int shmid = -1, r;

	REQUIRE(f && l);
	snprintf(f->base, sizeof(f->base), "/tmp/shmfs-forge-XXXXXX");
	if (!mkdtemp(f->base)) {
		f->base[0] = '\0';
		REQUIRE(false);
	}
	REQUIRE(chmod(f->base, 0755) == 0);
	forger = spawn_as(ATTACKER, 30, forge_sysv_mapping, f);
	REQUIRE(forger > 0);
	if (!wait_flag(&f->done, 1, 5000)) {
		r = -1;
		wait_for(&forger, 100, &r);
		printf("\n    the forger stopped at step %d (status %d) ", f->step, r);
		REQUIRE(false);
	}
	REQUIRE(maps_show(forger, "/" FORGED_NAME " (deleted)", f->ino));
	/* Root's segment, never attached by 4242, whose id is the forged inode. */
	snprintf(next_id, sizeof(next_id), "%lu", f->ino);
	REQUIRE(write_file("/proc/sys/kernel/shm_next_id", next_id) == 0);
	shmid = shmget(FORGED_KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
	REQUIRE(shmid >= 0);
	REQUIRE((unsigned long)shmid == f->ino);
	snprintf(l->dir, sizeof(l->dir), "%s", mnt.dir);
	snprintf(l->entry, sizeof(l->entry), "0x%08x@%d", FORGED_KEY, shmid);
	REQUIRE(run_as(0, 10, look_at_sysv, l) == 0);
	REQUIRE(l->listed == 1); /* root sees it: the test means something */

	memset(l->usage, 0, sizeof(l->usage));
	REQUIRE(run_as(ATTACKER, 10, look_at_sysv, l) == 0);
	printf("\n    4242 (forger %ld) lists .sysv/%s: %d, stat %s; usage by-process:\n%s",
	       (long)forger, l->entry, l->listed, l->stat_err ? strerror(l->stat_err) : "ok",
	       l->usage);
	CU_ASSERT_EQUAL(l->listed, 0);
	CU_ASSERT_EQUAL(l->stat_err, ENOENT);
	CU_ASSERT(ends_ok(l->usage));
	CU_ASSERT_FALSE(usage_names_pid(l->usage, "sysv", forger));
out:
	finish(&forger);
	if (shmid >= 0)
		shmctl(shmid, IPC_RMID, NULL);
	if (f && f->base[0])
		rmdir(f->base);
	shared_free(f, sizeof(*f));
	shared_free(l, sizeof(*l));
}

/* As a user with one shared mapping of their own: lists .shared-anon, finds it there. */
static int list_own_mapping(const void *dir)
{
	char path[PATH_MAX], want[32];
	struct stat st;
	struct dirent *de;
	bool found = false;
	void *own = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	DIR *d;

	if (own == MAP_FAILED)
		return 100;
	/* Its inode, as its maps line gives it. */
	{
		FILE *f = fopen("/proc/self/maps", "re");
		char line[512];
		unsigned long start, ino = 0;

		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "%lx-%*x %*s %*s %*s %lu", &start, &ino) == 2 &&
			    start == (unsigned long)own)
				break;
		if (f)
			fclose(f);
		snprintf(want, sizeof(want), "%lu", ino);
	}
	snprintf(path, sizeof(path), "%s/.shared-anon", (const char *)dir);
	d = opendir(path);
	if (!d)
		return errno;
	while ((de = readdir(d)))
		found |= strcmp(de->d_name, want) == 0;
	closedir(d);
	if (!found)
		return 101;
	snprintf(path, sizeof(path), "%s/.shared-anon/%s", (const char *)dir, want);
	return stat(path, &st) < 0 ? errno : 0;
}

/*
 * Another user's processes, however many mappings they hold (more than a
 * scan may collect, HOLDERS_MAX), neither stop nor slow a user's listing
 * and lookup of their own: the views read only the processes the caller
 * could be let read.
 */
static void test_other_users_mappings_never_stop_a_listing(void)
{
	struct mappings *m[3] = { NULL };
	pid_t holders[3] = { -1, -1, -1 };
	long before;
	int r;

	for (int i = 0; i < 3; i++) {
		m[i] = shared_new(sizeof(*m[i]));
		REQUIRE(m[i]);
		holders[i] = spawn_as(VICTIM, 180, hold_mappings, m[i]);
		REQUIRE(holders[i] > 0);
	}
	for (int i = 0; i < 3; i++)
		REQUIRE(wait_flag(&m[i]->ready, 1, 30000));
	/* 90,000 holders of .shared-anon: past what one scan collects. */
	before = now_ms();
	r = run_as(ATTACKER, 20, list_own_mapping, mnt.dir);
	printf("\n    4243 holds 3 x %ld mappings; 4242 lists and finds its own: %s (%ld ms) ",
	       m[0]->maps_lines, r ? strerror(r > 99 ? ENOENT : r) : "ok", now_ms() - before);
	CU_ASSERT_EQUAL(r, 0);
out:
	for (int i = 0; i < 3; i++) {
		finish(&holders[i]);
		shared_free(m[i], sizeof(*m[i]));
	}
}

/* What a holder in a user namespace of root's reports to the test. */
struct userns_holder {
	int ready, mapped;
	unsigned long ino;
	char name[64];
};

/*
 * In a user namespace root made, its uid and gid 0 mapped to 4242: its
 * ids are all 4242's outside, yet root owns the namespace, so the kernel
 * lets 4242 read none of it (ptrace's rule: no capability 4242 lacks).
 * Holds a memfd with a secret.
 */
static int hold_in_roots_userns(const void *arg)
{
	struct userns_holder *u = (struct userns_holder *)arg;
	struct stat st;
	int fd;

	if (unshare(CLONE_NEWUSER) < 0)
		return 10;
	set_flag(&u->ready, 1);
	if (!wait_flag(&u->mapped, 1, 10000) || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return 11;
	prctl(PR_SET_DUMPABLE, 1);
	fd = memfd_create("rootns-secret", 0);
	if (fd < 0 || write(fd, "ROOTNS-SECRET", 13) != 13 || fstat(fd, &st) < 0)
		return 12;
	u->ino = (unsigned long)st.st_ino;
	snprintf(u->name, sizeof(u->name), "rootns-secret@%lu", u->ino);
	set_flag(&u->ready, 2);
	for (;;)
		pause();
}

/* As 4242: whether /proc lets it read pid (environ), and whether the view lists name. */
static int look_at_userns_holder(const void *arg)
{
	const struct userns_holder *u = arg;
	char path[PATH_MAX];
	int fd, listed;

	snprintf(path, sizeof(path), "/proc/%d/environ", u->ready); /* pid stored below */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return 20; /* the kernel lets 4242 read it: the case proves nothing */
	}
	snprintf(path, sizeof(path), "%s/.memfd", mnt.dir);
	listed = dir_lists(path, u->name);
	if (listed < 0)
		return 21;
	snprintf(path, sizeof(path), "%s/.memfd/%s", mnt.dir, u->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return listed ? 1 : fd >= 0 ? 2 : 0;
}

static int write_map(pid_t pid, const char *file, const char *text)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return r;
}

/*
 * A holder whose ids are all 4242's, in a user namespace root owns: the
 * daemon asks the kernel with the caller's effective ids too, not root's
 * (root's would have every capability in that namespace).
 */
static void test_views_hide_a_holder_in_a_user_namespace_of_roots(void)
{
	struct userns_holder *u = shared_new(sizeof(*u));
	struct userns_holder seen;
	pid_t pid = -1;
	int r;

	REQUIRE(u != NULL);
	pid = spawn_as(0, 30, hold_in_roots_userns, u);
	REQUIRE(pid > 0);
	REQUIRE(wait_flag(&u->ready, 1, 5000));
	REQUIRE(write_map(pid, "uid_map", "0 4242 1\n") == 0);
	REQUIRE(write_map(pid, "gid_map", "0 4242 1\n") == 0);
	set_flag(&u->mapped, 1);
	REQUIRE(wait_flag(&u->ready, 2, 5000));
	/* Root sees it, so a hidden answer means hiding. */
	REQUIRE(dir_lists(mount_path(&mnt, ".memfd"), u->name) == 1);
	seen = *u;
	seen.ready = pid; /* look_at_userns_holder's pid */
	r = run_as(ATTACKER, 10, look_at_userns_holder, &seen);
	printf("\n    holder %d in root's user namespace (ids 4242 outside): %s ", (int)pid,
	       r == 0    ? "hidden from 4242"
	       : r == 1  ? "LISTED to 4242"
	       : r == 2  ? "OPENED by 4242"
	       : r == 20 ? "readable by 4242 through /proc (no case)"
			 : "error");
	CU_ASSERT_EQUAL(r, 0);
out:
	finish(&pid);
	shared_free(u, sizeof(*u));
}

int main(int argc, char **argv)
{
	static const char *const args[] = { "-o", "allow_other", NULL };
	static const struct test_case cases[] = {
		TEST(test_views_show_a_plain_holder_of_ones_own),
		TEST(test_views_hide_a_setuid_root_holder),
		TEST(test_views_hide_a_setgid_holder),
		TEST(test_views_hide_a_holder_of_another_effective_uid),
		TEST(test_views_hide_a_holder_of_another_saved_uid),
		TEST(test_views_hide_an_undumpable_holder),
		TEST(test_views_hide_a_holder_in_a_user_namespace_of_roots),
		TEST(test_a_user_holds_at_most_128_open_directories),
		TEST(test_open_view_directories_keep_only_what_their_opener_sees),
		TEST(test_other_users_mappings_never_stop_a_listing),
		TEST(test_usage_by_process_hides_what_holders_hides),
		TEST(test_an_open_decides_visibility_again),
		TEST(test_a_forged_sysv_mapping_holds_no_segment),
		TEST_END,
	};
	int status;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PATH-TO-SHMFS PATH-TO-VIEW-HOLDER\n", argv[0]);
		return 2;
	}
	if (geteuid() != 0) {
		printf("SKIP: needs root for set-uid holders, namespaces and other uids\n");
		return 77;
	}
	/* System V ids, and shm_next_id, of this suite alone. */
	if (unshare(CLONE_NEWIPC) < 0) {
		fprintf(stderr, "cannot make a private IPC namespace: %s\n", strerror(errno));
		return 1;
	}
	if (!install_holder_copies(argv[2])) {
		fprintf(stderr, "cannot install the copies of %s: %s\n", argv[2], strerror(errno));
		remove_holder_copies();
		return 1;
	}
	status = mount_suite_main_args(argc, argv, "security-views", cases, SHM_SIZE, &mnt,
				       &daemon_path, args);
	remove_holder_copies();
	return status;
}

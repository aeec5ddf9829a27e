/* SPDX-License-Identifier: MIT */
/*
 * An attacker's suite: a root shmfs daemon serving every user (-o
 * allow_other, with per-user limits), attacked by nobody and by a second,
 * unnamed uid. One test per finding. Every child and every loop has a
 * deadline, and a watchdog aborts the mounts of a daemon that hangs, so the
 * suite always ends.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "children.h"
#include "mount.h"
#include "testutil.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define NOBODY TEST_NOBODY /* 65534, and gid 65534 */
#define OTHER 4242         /* a second user, with no name: uid and gid 4242 */

/* The daemon's options; SECURITY_TEST_OLD_DAEMON=1 runs it with OLD_DAEMON_OPTIONS instead. */
#define DAEMON_OPTIONS "allow_other,anon_max=8,anon_bytes=64M,ctl_max=16,user_fds=64,wait_max=8"
#define OLD_DAEMON_OPTIONS "allow_other"
#define ANON_PER_USER 8
#define CTL_PER_USER 16
#define FDS_PER_USER 64
#define WAITS_PER_USER 8

#define SHM_SIZE (256u << 20)
#define REPLY_MAX 65536

static const char *daemon_path, *deputy_path;
static const char *const *daemon_args;
static struct test_mount mnt;

/*
 * A failed step the rest of a test depends on: a failed assertion, then
 * the test's cleanup (label out). No FATAL assertions here: they would skip
 * the cleanup.
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

/* ---- mounts that may hang: the watchdog ---- */

static struct {
	pthread_mutex_t lock;
	bool started, fired;
	long deadline; /* 0: disarmed */
	struct test_mount *mounts[4];
} watchdog = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The fusectl name of the connection behind the mount on dir, from mountinfo alone. */
static bool connection_of(const char *dir, char *buf, size_t size)
{
	char line[4096], point[PATH_MAX];
	unsigned major_no, minor_no;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *dash = strstr(line, " - ");

		if (sscanf(line, "%*s %*s %u:%u %*s %4095s", &major_no, &minor_no, point) == 3 &&
		    strcmp(point, dir) == 0 && dash && strncmp(dash + 3, "fuse", 4) == 0) {
			snprintf(buf, size, "%u", major_no << 20 | minor_no);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * Ends a daemon that may hang, never waiting and never touching the mount:
 * aborts its connection (every request waiting on it fails), kills it,
 * detaches the mount.
 */
static void abort_mount(const struct test_mount *m)
{
	char conn[32], path[96];
	pid_t pid = m->pid;
	int fd;

	if (pid <= 0)
		return;
	if (connection_of(m->dir, conn, sizeof(conn))) {
		snprintf(path, sizeof(path), "/sys/fs/fuse/connections/%s/abort", conn);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			(void)!write(fd, "1", 1);
			close(fd);
		}
	}
	kill(pid, SIGKILL);
	umount2(m->dir, MNT_DETACH);
}

/* abort_mount, then reaps the daemon and removes the mount point. */
static void mount_kill(struct test_mount *m)
{
	if (m->pid > 0) {
		abort_mount(m);
		wait_for(&m->pid, 5000, NULL);
	}
	if (m->dir[0]) {
		umount2(m->dir, MNT_DETACH);
		rmdir(m->dir);
	}
	m->pid = 0;
}

static void *watchdog_main(void *unused)
{
	(void)unused;
	for (;;) {
		usleep(100000);
		pthread_mutex_lock(&watchdog.lock);
		if (watchdog.deadline && now_ms() > watchdog.deadline) {
			watchdog.deadline = 0;
			watchdog.fired = true;
			fprintf(stderr, "\nwatchdog: the test ran too long; aborting its mounts\n");
			for (size_t i = 0; i < sizeof(watchdog.mounts) / sizeof(watchdog.mounts[0]);
			     i++)
				if (watchdog.mounts[i])
					abort_mount(watchdog.mounts[i]);
		}
		pthread_mutex_unlock(&watchdog.lock);
	}
	return NULL;
}

static void watch_mount(struct test_mount *m, bool watch)
{
	pthread_mutex_lock(&watchdog.lock);
	for (size_t i = 1; i < sizeof(watchdog.mounts) / sizeof(watchdog.mounts[0]); i++) {
		if (watch && !watchdog.mounts[i]) {
			watchdog.mounts[i] = m;
			break;
		}
		if (!watch && watchdog.mounts[i] == m)
			watchdog.mounts[i] = NULL;
	}
	pthread_mutex_unlock(&watchdog.lock);
}

static int stat_path(const void *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? errno : 0;
}

static bool daemon_alive(struct test_mount *m)
{
	if (m->pid <= 0)
		return false;
	if (waitpid(m->pid, NULL, WNOHANG) == 0)
		return true;
	m->pid = 0; /* reaped: never signal that number again */
	return false;
}

/* After a test: the main daemon must still serve, or it is replaced for the next tests. */
static void ensure_main_mount(void)
{
	if (daemon_alive(&mnt) && run_as(0, 2, stat_path, mnt.dir) == 0)
		return;
	fprintf(stderr, "\n    the main daemon died or hangs: starting a new one\n");
	CU_FAIL("the main daemon died or hung");
	pthread_mutex_lock(&watchdog.lock);
	mount_kill(&mnt);
	pthread_mutex_unlock(&watchdog.lock);
	if (mount_start(&mnt, daemon_path, daemon_args) < 0)
		CU_FAIL("cannot start a new main daemon");
}

/* At the start of every test: arms the watchdog for seconds. */
static void begin(unsigned seconds)
{
	if (!watchdog.started) {
		pthread_t thread;

		/* For abort_mount, in this private mount namespace; best effort. */
		mount("fusectl", "/sys/fs/fuse/connections", "fusectl", 0, NULL);
		watchdog.mounts[0] = &mnt;
		watchdog.started = pthread_create(&thread, NULL, watchdog_main, NULL) == 0;
		if (watchdog.started)
			pthread_detach(thread);
	}
	pthread_mutex_lock(&watchdog.lock);
	watchdog.fired = false;
	watchdog.deadline = now_ms() + seconds * 1000L;
	pthread_mutex_unlock(&watchdog.lock);
}

/* At the end of every test, whatever happened. */
static void end(void)
{
	bool fired;

	pthread_mutex_lock(&watchdog.lock);
	watchdog.deadline = 0;
	fired = watchdog.fired;
	watchdog.fired = false;
	pthread_mutex_unlock(&watchdog.lock);
	if (fired)
		CU_FAIL("the watchdog aborted a mount that hung");
	reap_stragglers();
	ensure_main_mount();
	reap_stragglers();
}

/* ---- segments, the control file, replies ---- */

/* Creates /dev/shm/NAME as root with exactly mode and size: 0 or -errno. */
static int make_segment(const char *name, mode_t mode, off_t size)
{
	char shm_name[NAME_MAX + 2];
	int fd, r = 0;

	snprintf(shm_name, sizeof(shm_name), "/%s", name);
	fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || ftruncate(fd, size) < 0) {
		r = -errno;
		shm_unlink(shm_name);
	}
	close(fd);
	return r;
}

static void remove_segment(const char *name)
{
	char shm_name[NAME_MAX + 2];

	snprintf(shm_name, sizeof(shm_name), "/%s", name);
	shm_unlink(shm_name);
}

/* stat of /dev/shm/NAME: 0 or -errno. */
static int segment_stat(const char *name, struct stat *st)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	return stat(path, st) < 0 ? -errno : 0;
}

static int ctl_open_in(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/.ctl", dir);
	return open(path, O_RDWR | O_CLOEXEC);
}

/* As root: frees every anonymous segment the daemon on dir holds. */
static void free_all_anon(const char *dir)
{
	static char reply[REPLY_MAX];
	int fd = ctl_open_in(dir);

	if (fd < 0)
		return;
	if (mount_ctl(fd, "list", reply, sizeof(reply)) == 0) {
		char *line = reply;

		while (*line) {
			char *next = strchr(line, '\n'), command[64], done[256];
			unsigned long long id;

			if (next)
				*next++ = '\0';
			else
				next = line + strlen(line);
			if (sscanf(line, "%llu ", &id) == 1) {
				snprintf(command, sizeof(command), "free %llu", id);
				mount_ctl(fd, command, done, sizeof(done));
			}
			line = next;
		}
	}
	close(fd);
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

/* Whether some line of text passes is_hidden_count with no lead. */
static bool has_hidden_count_line(const char *text, unsigned hidden)
{
	for (const char *line = text; line && *line; line = next_line(line)) {
		char one[256];

		snprintf(one, sizeof(one), "%.*s", (int)strcspn(line, "\n"), line);
		if (reply_is_hidden_count(one, "", hidden))
			return true;
	}
	return false;
}

/* Whether number appears in text as a whole number, not inside a longer one. */
static bool mentions_number(const char *text, const char *number)
{
	size_t len = strlen(number);

	for (const char *p = strstr(text, number); p; p = strstr(p + 1, number))
		if ((p == text || p[-1] < '0' || p[-1] > '9') && (p[len] < '0' || p[len] > '9'))
			return true;
	return false;
}

/*
 * Whether memory figures mean anything here: under the sanitizers the
 * daemon's RSS is mostly shadow memory and quarantine.
 */
static bool rss_meaningful(void)
{
	const char *sanitized = getenv("SHMFS_SANITIZED");

	return !sanitized || !*sanitized || strcmp(sanitized, "none") == 0;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%ld/fd", (long)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* A reader stuck opening the FIFO at path (the daemon, today) goes on once a writer opens it. */
static void unblock_fifo(const char *path)
{
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (dir[0])
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int make_fifo(const void *path)
{
	return mkfifo(path, 0644) < 0 ? errno : 0;
}

static int make_dir(const void *path)
{
	return mkdir(path, 0755) < 0 ? errno : 0;
}

/* ---- 1. create racing another user's create ---- */

struct create_race {
	char path[PATH_MAX]; /* in the mount */
	char name[NAME_MAX]; /* the same, for shm_open: "/NAME" */
	int flags;
	long deadline;
	long tries, own, hits;        /* the attacker's counts */
	long cycles, busy, truncated; /* the victim's */
};

static int race_attacker(const void *arg)
{
	struct create_race *r = (struct create_race *)arg;

	while (now_ms() < r->deadline) {
		struct stat st;
		int fd = open(r->path, r->flags, 0600);

		r->tries++;
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0 && st.st_uid == OTHER) {
			r->hits++;
		} else {
			r->own++;
			unlink(r->path); /* its own segment only */
		}
		close(fd);
	}
	return 0;
}

static int race_victim(const void *arg)
{
	static const char marker[] = "the victim's marker";
	struct create_race *r = (struct create_race *)arg;

	while (now_ms() < r->deadline) {
		char got[sizeof(marker)] = "";
		int fd = shm_open(r->name, O_RDWR | O_CREAT | O_EXCL, 0600);

		if (fd < 0) {
			r->busy++; /* the attacker's own segment has the name now */
			continue;
		}
		if (pwrite(fd, marker, sizeof(marker), 0) != (ssize_t)sizeof(marker) ||
		    pread(fd, got, sizeof(got), 0) != (ssize_t)sizeof(got) ||
		    memcmp(got, marker, sizeof(marker)) != 0)
			r->truncated++;
		close(fd);
		shm_unlink(r->name);
		r->cycles++;
	}
	return 0;
}

static void create_race(const char *tag, int flags)
{
	struct create_race *r = shared_new(sizeof(*r));
	pid_t victim = -1, attacker = -1;
	int status;

	REQUIRE(r != NULL);
	snprintf(r->path, sizeof(r->path), "%s/%s", mnt.dir, tag);
	snprintf(r->name, sizeof(r->name), "/%s", tag);
	r->flags = flags;
	r->deadline = now_ms() + 2000;
	victim = spawn_as(OTHER, 10, race_victim, r);
	attacker = spawn_as(NOBODY, 10, race_attacker, r);
	REQUIRE(victim > 0 && attacker > 0);
	CU_ASSERT(wait_for(&victim, 6000, &status) && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	CU_ASSERT(wait_for(&attacker, 6000, &status) && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	printf("\n    %s: attacker %ld opens, %ld own, %ld HITS; victim %ld cycles, %ld busy, %ld "
	       "truncated ",
	       tag, r->tries, r->own, r->hits, r->cycles, r->busy, r->truncated);
	CU_ASSERT_EQUAL(r->hits, 0);
	CU_ASSERT_EQUAL(r->truncated, 0);
	CU_ASSERT(r->tries > 0 && r->own > 0);
	CU_ASSERT(r->cycles > 0);
out:
	finish(&victim);
	finish(&attacker);
	remove_segment(tag);
	shared_free(r, sizeof(*r));
}

static void test_create_never_opens_another_users_racing_segment(void)
{
	begin(15);
	create_race("race-create", O_RDWR | O_CREAT);
	create_race("race-trunc", O_RDWR | O_CREAT | O_TRUNC);
	end();
}

/* ---- 2. unlink through a stale cached name ---- */

struct stale {
	char path[PATH_MAX];
	char name[NAME_MAX];
	ino_t victim_ino;
};

static int stale_create_and_stat(const void *arg)
{
	const struct stale *s = arg;
	struct stat st;
	int fd = open(s->path, O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return 10;
	close(fd);
	/* The release reaches the daemon after close; then a lookup caches the name (60 s). */
	usleep(100000);
	return stat(s->path, &st) < 0 ? 11 : 0;
}

static int stale_remove_directly(const void *arg)
{
	const struct stale *s = arg;

	return shm_unlink(s->name) < 0 ? errno : 0;
}

static int stale_victim_creates(const void *arg)
{
	struct stale *s = (struct stale *)arg;
	struct stat st;
	int fd = shm_open(s->name, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return errno;
	if (fstat(fd, &st) == 0)
		s->victim_ino = st.st_ino;
	close(fd);
	return 0;
}

static int stale_unlink_through_mount(const void *arg)
{
	const struct stale *s = arg;

	return unlink(s->path) < 0 ? errno : 0;
}

static void test_unlink_through_a_stale_name_spares_the_new_owner(void)
{
	struct stale *s = shared_new(sizeof(*s));
	struct stat st;
	int err;

	begin(10);
	REQUIRE(s != NULL);
	snprintf(s->path, sizeof(s->path), "%s/stale", mnt.dir);
	snprintf(s->name, sizeof(s->name), "/stale");
	REQUIRE(run_as(NOBODY, 5, stale_create_and_stat, s) == 0);
	REQUIRE(run_as(NOBODY, 5, stale_remove_directly, s) == 0);
	REQUIRE(run_as(OTHER, 5, stale_victim_creates, s) == 0);
	err = run_as(NOBODY, 5, stale_unlink_through_mount, s);
	if (err != EPERM && err != EACCES)
		printf("\n    unlink through the stale name: %d (%s) ", err, strerror(err));
	CU_ASSERT(err == EPERM || err == EACCES);
	CU_ASSERT(segment_stat("stale", &st) == 0 && st.st_uid == OTHER &&
		  st.st_ino == s->victim_ino);
out:
	remove_segment("stale");
	shared_free(s, sizeof(*s));
	end();
}

/* ---- 3. .ctl judged by its opener, not by a setuid deputy that writes ---- */

struct deputy {
	char ctl_path[PATH_MAX];
	char helper[PATH_MAX];
	char command[128];
	int helper_status;
	char reply[4096];
};

/* Opens .ctl and has the setuid helper write the command to it as descriptor 3. */
static int through_deputy(const void *arg)
{
	struct deputy *d = (struct deputy *)arg;
	int fd = open(d->ctl_path, O_RDWR), status;
	ssize_t n;
	pid_t pid;

	if (fd < 0)
		return 10;
	pid = fork();
	if (pid == 0) {
		if (dup2(fd, 3) < 0)
			_exit(126);
		execl(d->helper, d->helper, d->command, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 11;
	d->helper_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	n = read(fd, d->reply, sizeof(d->reply) - 1);
	d->reply[n > 0 ? n : 0] = '\0';
	close(fd);
	return 0;
}

/* Copies the helper into a fresh directory (dir) as path, setuid root. */
static bool install_setuid_copy(const char *source, char *dir, size_t dir_size, char *path,
				size_t path_size)
{
	char buf[65536];
	bool ok = true;
	ssize_t n;
	int in, out;

	snprintf(dir, dir_size, "/tmp/shmfs-deputy-XXXXXX");
	if (!mkdtemp(dir)) {
		dir[0] = '\0';
		return false;
	}
	snprintf(path, path_size, "%s/ctl_deputy", dir);
	in = open(source, O_RDONLY | O_CLOEXEC);
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	while (ok && in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		ok = write(out, buf, (size_t)n) == n;
	ok = ok && in >= 0 && out >= 0 && chmod(dir, 0755) == 0 && fchown(out, 0, 0) == 0 &&
	     fchmod(out, 04755) == 0;
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return ok;
}

static void test_ctl_is_judged_by_its_opener(void)
{
	struct deputy *d = shared_new(sizeof(*d));
	char reply[REPLY_MAX], command[64], dir[64] = "", helper[PATH_MAX] = "", lead[32];
	unsigned long long id = 0;
	bool listed = false;
	int root_ctl = -1;

	begin(10);
	REQUIRE(d != NULL);
	REQUIRE(deputy_path != NULL); /* argv[2]: the ctl_deputy program */
	REQUIRE(install_setuid_copy(deputy_path, dir, sizeof(dir), helper, sizeof(helper)));
	root_ctl = ctl_open_in(mnt.dir);
	REQUIRE(root_ctl >= 0);
	REQUIRE(mount_ctl(root_ctl, "anon 4096", reply, sizeof(reply)) == 0 &&
		sscanf(reply, "ok %llu", &id) == 1);

	snprintf(d->ctl_path, sizeof(d->ctl_path), "%s/.ctl", mnt.dir);
	snprintf(d->helper, sizeof(d->helper), "%s", helper);
	snprintf(d->command, sizeof(d->command), "free %llu\n", id);
	REQUIRE(run_as(NOBODY, 10, through_deputy, d) == 0);
	/* 125: the copy did not run as root (a nosuid /tmp?): the test would mean nothing. */
	REQUIRE(d->helper_status != 125);
	if (d->helper_status != EPERM)
		printf("\n    deputy \"free %llu\": %d, reply %s", id, d->helper_status, d->reply);
	CU_ASSERT_EQUAL(d->helper_status, EPERM);
	CU_ASSERT_EQUAL(mount_ctl(root_ctl, "list", reply, sizeof(reply)), 0);
	snprintf(lead, sizeof(lead), "%llu ", id);
	for (const char *line = reply; line && *line; line = next_line(line))
		listed = listed || strncmp(line, lead, strlen(lead)) == 0;
	CU_ASSERT(listed);

	REQUIRE(make_segment("deputy-secret", 0600, 4096) == 0);
	snprintf(d->command, sizeof(d->command), "holders deputy-secret\n");
	REQUIRE(run_as(NOBODY, 10, through_deputy, d) == 0);
	if (d->helper_status != EACCES)
		printf("\n    deputy \"holders deputy-secret\": %d, reply %s", d->helper_status,
		       d->reply);
	CU_ASSERT_EQUAL(d->helper_status, EACCES);
out:
	if (root_ctl >= 0 && id) {
		snprintf(command, sizeof(command), "free %llu", id);
		mount_ctl(root_ctl, command, reply, sizeof(reply));
	}
	if (root_ctl >= 0)
		close(root_ctl);
	if (helper[0])
		unlink(helper);
	if (dir[0])
		rmdir(dir);
	remove_segment("deputy-secret");
	shared_free(d, sizeof(*d));
	end();
}

/* ---- 4. a FIFO in /dev/shm never freezes the mount ---- */

#define FIFO_NAME "fifo"
#define FIFO_PATH "/dev/shm/" FIFO_NAME

struct fifo_try {
	char path[PATH_MAX];
	int flags;
	long deadline; /* fifo_open_loop */
	int fd, err;
	long elapsed, attempts;
	int done;
};

static int fifo_open_once(const void *arg)
{
	struct fifo_try *f = (struct fifo_try *)arg;
	long start = now_ms();
	int fd = open(f->path, f->flags, 0600);

	f->err = fd < 0 ? errno : 0;
	f->fd = fd;
	f->elapsed = now_ms() - start;
	f->done = 1;
	if (fd >= 0)
		close(fd);
	return 0;
}

static int fifo_open_loop(const void *arg)
{
	struct fifo_try *f = (struct fifo_try *)arg;

	while (now_ms() < f->deadline) {
		int fd = open(f->path, O_RDONLY | O_CREAT, 0600);

		f->attempts++;
		if (fd >= 0)
			close(fd);
	}
	return 0;
}

struct probe {
	char dir[sizeof(mnt.dir)];
	char other[PATH_MAX]; /* a segment never looked up through the mount before */
	int entries, stat_err;
	long elapsed;
	int done;
};

static int list_and_stat(const void *arg)
{
	struct probe *p = (struct probe *)arg;
	long start = now_ms();
	DIR *d = opendir(p->dir);
	struct stat st;

	if (d) {
		while (readdir(d))
			p->entries++;
		closedir(d);
	}
	p->stat_err = stat(p->other, &st) < 0 ? errno : 0;
	p->elapsed = now_ms() - start;
	p->done = 1;
	return 0;
}

/* Lists the mount and stats a fresh segment in a child: whether that took under 2 s. */
static bool mount_answers(const char *dir, const char *fresh, struct probe *p)
{
	pid_t pid;

	memset(p, 0, sizeof(*p));
	snprintf(p->dir, sizeof(p->dir), "%s", dir);
	snprintf(p->other, sizeof(p->other), "%s/%s", dir, fresh);
	if (make_segment(fresh, 0644, 4096) < 0)
		return false;
	pid = spawn_as(0, 2, list_and_stat, p);
	if (!wait_for(&pid, 2000, NULL))
		finish(&pid);
	if (!p->done)
		printf("\n    listing and stat of %s: no answer within 2 s ", fresh);
	return p->done && p->elapsed < 2000 && p->entries >= 4 && p->stat_err == 0;
}

static void fifo_on_the_main_mount(void)
{
	struct fifo_try *f = shared_new(sizeof(*f)), *plain = shared_new(sizeof(*plain));
	struct probe *p = shared_new(sizeof(*p));
	pid_t opener = -1;
	int r;

	REQUIRE(f && plain && p);
	snprintf(f->path, sizeof(f->path), "%s/" FIFO_NAME, mnt.dir);
	f->flags = O_RDONLY | O_CREAT;
	opener = spawn_as(NOBODY, 3, fifo_open_once, f);
	REQUIRE(opener > 0);
	usleep(200000); /* its create is in flight, or done */
	CU_ASSERT(mount_answers(mnt.dir, "fifo-during", p));
	wait_for(&opener, 1000, NULL);
	if (!f->done || f->err != EEXIST)
		printf("\n    open(O_RDONLY|O_CREAT) of the FIFO: %s ",
		       f->done ? strerror(f->err) : "still blocked");
	CU_ASSERT(f->done && f->fd == -1 && f->err == EEXIST && f->elapsed < 1000);
	CU_ASSERT(mount_answers(mnt.dir, "fifo-after", p));
	/* Without O_CREAT: what is not a segment is not there. */
	snprintf(plain->path, sizeof(plain->path), "%s/" FIFO_NAME, mnt.dir);
	plain->flags = O_RDONLY;
	r = run_as(NOBODY, 3, fifo_open_once, plain);
	CU_ASSERT(r == 0 && plain->done && plain->fd == -1 && plain->err == ENOENT);
out:
	/* A daemon stuck opening the FIFO goes on once a writer comes. */
	for (long deadline = now_ms() + 2000; opener > 0 && now_ms() < deadline;) {
		unblock_fifo(FIFO_PATH);
		wait_for(&opener, 50, NULL);
	}
	finish(&opener);
	remove_segment("fifo-during");
	remove_segment("fifo-after");
	shared_free(f, sizeof(*f));
	shared_free(plain, sizeof(*plain));
	shared_free(p, sizeof(*p));
}

struct busy_ctl {
	char dir[sizeof(mnt.dir)];
	char command[64];
};

/* Keeps a .ctl busy with command, batch after batch, until killed. */
static int ctl_keeps_busy(const void *arg)
{
	const struct busy_ctl *b = arg;
	static char batch[50 * 64], reply[REPLY_MAX];
	size_t len = 0;
	int fd = ctl_open_in(b->dir);

	if (fd < 0)
		return 10;
	for (int i = 0; i < 50; i++)
		len += (size_t)snprintf(batch + len, sizeof(batch) - len, "%s\n", b->command);
	for (;;) {
		(void)!write(fd, batch, len);
		while (read(fd, reply, sizeof(reply)) > 0)
			;
	}
}

static int fusermount_unmount(const void *dir)
{
	execlp("fusermount3", "fusermount3", "-u", (const char *)dir, (char *)NULL);
	return 127;
}

/* The same, again: "busy" is expected until the children are gone, and not worth a line. */
static int fusermount_unmount_quietly(const void *dir)
{
	int null = open("/dev/null", O_WRONLY);

	if (null >= 0)
		dup2(null, STDERR_FILENO);
	return fusermount_unmount(dir);
}

/*
 * A second mount (-o allow_other) with a nobody child opening the FIFO
 * through it and another keeping a .ctl busy: stopped by SIGTERM, or by
 * fusermount3 -u, the daemon exits 0 within 2 s.
 */
static void fifo_then_stop(bool by_signal)
{
	static const char *const args[] = { "-o", "allow_other", NULL };
	struct test_mount m = { 0 };
	struct fifo_try *f = shared_new(sizeof(*f));
	struct busy_ctl busy;
	pid_t opener = -1, keeper = -1;
	int status = -1, r;
	long deadline;
	bool exited;

	REQUIRE(f != NULL);
	REQUIRE(mount_start(&m, daemon_path, args) == 0);
	watch_mount(&m, true);
	snprintf(f->path, sizeof(f->path), "%s/" FIFO_NAME, m.dir);
	f->deadline = now_ms() + 10000;
	snprintf(busy.dir, sizeof(busy.dir), "%s", m.dir);
	snprintf(busy.command, sizeof(busy.command), "holders fifo-other");
	opener = spawn_as(NOBODY, 12, fifo_open_loop, f);
	keeper = spawn_as(NOBODY, 12, ctl_keeps_busy, &busy);
	REQUIRE(opener > 0 && keeper > 0);
	usleep(300000);
	deadline = now_ms() + 2000;
	if (by_signal) {
		kill(m.pid, SIGTERM);
	} else {
		r = run_as(0, 2, fusermount_unmount, m.dir);
		/*
		 * While any process has a file open on it, a mount is busy
		 * whatever the daemon does: the children go, then again.
		 */
		if (r != 0) {
			kill(opener, SIGKILL);
			kill(keeper, SIGKILL);
		}
		while (r != 0 && now_ms() < deadline) {
			usleep(50000);
			r = run_as(0, 1, fusermount_unmount_quietly, m.dir);
		}
	}
	exited = wait_for(&m.pid, deadline - now_ms(), &status);
	printf("\n    %s: daemon %s (status %d), FIFO opens tried: %ld ",
	       by_signal ? "SIGTERM" : "fusermount3 -u", exited ? "exited" : "still running",
	       status, f->attempts);
	CU_ASSERT(exited && WIFEXITED(status) && WEXITSTATUS(status) == 0);
out:
	watch_mount(&m, false);
	if (m.pid > 0) {
		mount_kill(&m);
	} else if (m.dir[0]) {
		umount2(m.dir, MNT_DETACH);
		rmdir(m.dir);
	}
	finish(&opener);
	finish(&keeper);
	shared_free(f, sizeof(*f));
}

static void test_fifo_in_dev_shm_never_freezes_the_mount(void)
{
	begin(30);
	REQUIRE(test_as_nobody(make_fifo, FIFO_PATH) == 0);
	REQUIRE(make_segment("fifo-other", 0644, 4096) == 0);
	fifo_on_the_main_mount();
	fifo_then_stop(false);
	fifo_then_stop(true);
out:
	unlink(FIFO_PATH);
	remove_segment("fifo-other");
	end();
}

/* ---- 5. no descriptor leak on files that are not segments ---- */

#define ODD_DIR "/dev/shm/odd-dir"
#define ODD_FIFO "/dev/shm/odd-fifo"
#define ODD_ATTEMPTS 10000

struct odd_opens {
	char dir_path[PATH_MAX], fifo_path[PATH_MAX];
	long deadline;
	long attempts, eexist, opened, other;
	int other_err;
};

static int open_odd_files(const void *arg)
{
	struct odd_opens *o = (struct odd_opens *)arg;

	for (int i = 0; i < 2 * ODD_ATTEMPTS && now_ms() < o->deadline; i++) {
		int fd = open(i < ODD_ATTEMPTS ? o->dir_path : o->fifo_path, O_RDONLY | O_CREAT,
			      0600);

		if (fd >= 0) {
			o->opened++;
			close(fd);
		} else if (errno == EEXIST) {
			o->eexist++;
		} else {
			o->other++;
			o->other_err = errno;
		}
		o->attempts++;
	}
	return 0;
}

static int create_through_mount(const void *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);

	if (fd < 0)
		return errno;
	close(fd);
	return unlink(path) < 0 ? errno : 0;
}

static void test_files_that_are_not_segments_leak_no_descriptor(void)
{
	struct odd_opens *o = shared_new(sizeof(*o));
	char path[PATH_MAX];
	long last = -1, last_change, stop;
	int before, after, stalls = 0;
	pid_t child = -1;

	begin(35);
	REQUIRE(o != NULL);
	REQUIRE(test_as_nobody(make_dir, ODD_DIR) == 0);
	REQUIRE(test_as_nobody(make_fifo, ODD_FIFO) == 0);
	snprintf(o->dir_path, sizeof(o->dir_path), "%s/odd-dir", mnt.dir);
	snprintf(o->fifo_path, sizeof(o->fifo_path), "%s/odd-fifo", mnt.dir);
	before = count_fds(mnt.pid);
	o->deadline = now_ms() + 12000;
	child = spawn_as(NOBODY, 20, open_odd_files, o);
	REQUIRE(child > 0);
	/* A daemon stuck opening the FIFO is let go (and counted): the test goes on. */
	last_change = now_ms();
	stop = now_ms() + 15000;
	while (!wait_for(&child, 50, NULL) && now_ms() < stop) {
		if (o->attempts != last) {
			last = o->attempts;
			last_change = now_ms();
		} else if (now_ms() - last_change > 300) {
			unblock_fifo(ODD_FIFO);
			stalls++;
			last_change = now_ms();
		}
	}
	usleep(200000); /* releases, if any, reach the daemon */
	after = count_fds(mnt.pid);
	printf("\n    %ld opens: %ld EEXIST, %ld opened, %ld other (last: %s); %d stalls; daemon "
	       "descriptors %d -> %d ",
	       o->attempts, o->eexist, o->opened, o->other, strerror(o->other_err), stalls, before,
	       after);
	CU_ASSERT_EQUAL(o->attempts, 2 * ODD_ATTEMPTS);
	CU_ASSERT_EQUAL(o->eexist, 2 * ODD_ATTEMPTS);
	CU_ASSERT_EQUAL(stalls, 0);
	CU_ASSERT(before > 0 && after >= 0 && after <= before + 2);
	/* Creating segments still works, for root and for nobody. */
	snprintf(path, sizeof(path), "%s/odd-root", mnt.dir);
	CU_ASSERT_EQUAL(run_as(0, 5, create_through_mount, path), 0);
	snprintf(path, sizeof(path), "%s/odd-nobody", mnt.dir);
	CU_ASSERT_EQUAL(run_as(NOBODY, 5, create_through_mount, path), 0);
out:
	for (long deadline = now_ms() + 2000; child > 0 && now_ms() < deadline;) {
		unblock_fifo(ODD_FIFO);
		kill(child, SIGKILL);
		wait_for(&child, 50, NULL);
	}
	finish(&child);
	rmdir(ODD_DIR);
	unlink(ODD_FIFO);
	remove_segment("odd-root");
	remove_segment("odd-nobody");
	shared_free(o, sizeof(*o));
	end();
}

/* ---- 6. holders shows a caller only what /proc would show it ---- */

struct holder {
	char path[PATH_MAX];
	bool writable; /* map read-write and keep the descriptor too */
	int ready_fd;
};

static int hold_segment(const void *arg)
{
	const struct holder *h = arg;
	int fd = open(h->path, h->writable ? O_RDWR : O_RDONLY);

	if (fd < 0)
		return 10;
	if (mmap(NULL, 4096, h->writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0) ==
	    MAP_FAILED)
		return 11;
	if (!h->writable)
		close(fd);
	if (write(h->ready_fd, "r", 1) != 1)
		return 12;
	for (;;)
		pause(); /* until killed */
}

/* Starts a child of uid holding path (see struct holder); -1 unless it holds it within 3 s. */
static pid_t start_holder(uid_t uid, const char *path, bool writable)
{
	struct holder h = { .writable = writable };
	struct pollfd ready;
	int pipefd[2];
	char byte;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -1;
	snprintf(h.path, sizeof(h.path), "%s", path);
	h.ready_fd = pipefd[1];
	pid = spawn_as(uid, 60, hold_segment, &h);
	ready = (struct pollfd){ .fd = pipefd[0], .events = POLLIN };
	if (pid > 0 && (poll(&ready, 1, 3000) != 1 || read(pipefd[0], &byte, 1) != 1))
		finish(&pid);
	close(pipefd[0]);
	close(pipefd[1]);
	return pid;
}

struct ask {
	char dir[sizeof(mnt.dir)];
	char command[128];
	char xattr_path[PATH_MAX]; /* "" for none */
	int err, xattr_err;
	char reply[REPLY_MAX];
	char xattr[REPLY_MAX];
};

static int ask_holders(const void *arg)
{
	struct ask *a = (struct ask *)arg;
	int fd = ctl_open_in(a->dir);
	ssize_t n;

	if (fd < 0)
		return 10;
	a->err = mount_ctl(fd, a->command, a->reply, sizeof(a->reply));
	close(fd);
	if (a->xattr_path[0]) {
		n = getxattr(a->xattr_path, "user.shmfs.holders", a->xattr, sizeof(a->xattr) - 1);
		a->xattr_err = n < 0 ? errno : 0;
		a->xattr[n > 0 ? n : 0] = '\0';
	}
	return 0;
}

static void test_holders_shows_only_what_proc_would_show(void)
{
	struct ask *a = shared_new(sizeof(*a));
	pid_t root_holder = -1, nobody_holder = -1;
	char last[256];

	begin(10);
	REQUIRE(a != NULL);
	REQUIRE(make_segment("pub", 0644, 4096) == 0);
	root_holder = start_holder(0, "/dev/shm/pub", true);
	nobody_holder = start_holder(NOBODY, "/dev/shm/pub", false);
	REQUIRE(root_holder > 0 && nobody_holder > 0);
	snprintf(a->dir, sizeof(a->dir), "%s", mnt.dir);
	snprintf(a->command, sizeof(a->command), "holders pub");
	snprintf(a->xattr_path, sizeof(a->xattr_path), "%s/pub", mnt.dir);

	REQUIRE(run_as(NOBODY, 10, ask_holders, a) == 0);
	printf("\n    nobody's holders (root %ld, nobody %ld):\n%s    xattr:\n%s",
	       (long)root_holder, (long)nobody_holder, a->reply, a->xattr);
	CU_ASSERT_EQUAL(a->err, 0);
	CU_ASSERT(names_pid(a->reply, nobody_holder));
	CU_ASSERT_FALSE(names_pid(a->reply, root_holder));
	reply_last_line(a->reply, last, sizeof(last));
	CU_ASSERT(reply_is_hidden_count(last, "ok ", 1));
	CU_ASSERT_EQUAL(a->xattr_err, 0);
	CU_ASSERT_FALSE(names_pid(a->xattr, root_holder));
	CU_ASSERT(has_hidden_count_line(a->xattr, 1));

	/* Root sees both, and nothing hidden. */
	memset(a->reply, 0, sizeof(a->reply));
	memset(a->xattr, 0, sizeof(a->xattr));
	REQUIRE(run_as(0, 10, ask_holders, a) == 0);
	CU_ASSERT_EQUAL(a->err, 0);
	CU_ASSERT(names_pid(a->reply, nobody_holder) && names_pid(a->reply, root_holder));
	CU_ASSERT_PTR_NULL(strstr(a->reply, "other processes"));
	CU_ASSERT(names_pid(a->xattr, nobody_holder) && names_pid(a->xattr, root_holder));
	CU_ASSERT_PTR_NULL(strstr(a->xattr, "other processes"));
out:
	finish(&root_holder);
	finish(&nobody_holder);
	remove_segment("pub");
	shared_free(a, sizeof(*a));
	end();
}

/* ---- 7. holders cannot be forged by a long line of /proc/PID/maps ---- */

#define MAPS_CHUNK 1023 /* the daemon's fgets reads 1023 bytes of a line at a time */

struct forge {
	char base[64];             /* a directory of nobody's */
	char dir[sizeof(mnt.dir)]; /* the mount */
	char forged[128];          /* what the maps line must read from byte MAPS_CHUNK on */
	pid_t pid;                 /* of the child that maps and asks */
	int path_column, err, step;
	bool verified;
	char reply[REPLY_MAX];
};

/* The line of /proc/self/maps that contains needle, into line. */
static bool maps_line_of(const char *needle, char *line, size_t size)
{
	size_t len = 0, cap = 1 << 16;
	char *buf = malloc(cap), *hit, *start;
	bool found = false;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	while (buf && fd >= 0 && (n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 4096) {
			char *bigger = realloc(buf, cap * 2);

			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
	}
	if (fd >= 0)
		close(fd);
	if (buf) {
		buf[len] = '\0';
		hit = strstr(buf, needle);
		if (hit) {
			start = hit;
			while (start > buf && start[-1] != '\n')
				start--;
			snprintf(line, size, "%.*s", (int)strcspn(start, "\n"), start);
			found = true;
		}
	}
	free(buf);
	return found;
}

/* Creates path as a 4096-byte file and maps it shared, read-only; the mapping stays. */
static void *map_new_file(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0644);
	void *map;

	if (fd < 0)
		return NULL;
	map = ftruncate(fd, 4096) == 0 ? mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0)
				       : MAP_FAILED;
	close(fd);
	return map == MAP_FAILED ? NULL : map;
}

static int forge_holders(const void *arg)
{
	struct forge *f = (struct forge *)arg;
	static char path[PATH_MAX], line[8192];
	size_t at, len;
	void *map;
	int fd;

	f->pid = getpid();
	/* Where the path starts in a maps line: from a probe file beside. */
	f->step = 1;
	snprintf(path, sizeof(path), "%s/probe", f->base);
	map = map_new_file(path);
	if (!map || !maps_line_of(path, line, sizeof(line)))
		return 11;
	f->path_column = (int)(strstr(line, path) - line);
	munmap(map, 4096);
	unlink(path);

	/* Directories of 200 bytes, then one whose name ends with the forged text up to "/x". */
	f->step = 2;
	at = MAPS_CHUNK - (size_t)f->path_column;
	len = (size_t)snprintf(path, sizeof(path), "%s", f->base);
	if (at < len + 2)
		return 12;
	while (at - (len + 1) > 200) {
		path[len++] = '/';
		memset(path + len, 'a', 200);
		len += 200;
		path[len] = '\0';
		if (mkdir(path, 0755) < 0)
			return 13;
	}
	path[len++] = '/';
	memset(path + len, 'a', at - len);
	len = at;
	len += (size_t)snprintf(path + len, sizeof(path) - len, "%.*s",
				(int)(strlen(f->forged) - 2), f->forged);
	if (mkdir(path, 0755) < 0)
		return 14;
	snprintf(path + len, sizeof(path) - len, "/x");
	f->step = 3;
	if (!map_new_file(path) || !maps_line_of(path, line, sizeof(line)))
		return 15;
	f->verified = strlen(line) > MAPS_CHUNK &&
		      strcmp(line + MAPS_CHUNK, f->forged) == 0; /* the line ends there */

	f->step = 4;
	fd = ctl_open_in(f->dir);
	if (fd < 0)
		return 16;
	f->err = mount_ctl(fd, "holders victim", f->reply, sizeof(f->reply));
	close(fd);
	return 0;
}

static void test_holders_cannot_be_forged_through_proc_maps(void)
{
	struct forge *f = shared_new(sizeof(*f));
	struct stat st;
	int r;

	begin(10);
	REQUIRE(f != NULL);
	REQUIRE(make_segment("victim", 0644, 4096) == 0);
	REQUIRE(segment_stat("victim", &st) == 0);
	snprintf(f->forged, sizeof(f->forged), "00001000-00002000 rw-s 00000000 %02x:%02x %llu /x",
		 major(st.st_dev), minor(st.st_dev), (unsigned long long)st.st_ino);
	snprintf(f->dir, sizeof(f->dir), "%s", mnt.dir);
	snprintf(f->base, sizeof(f->base), "/tmp/shmfs-forge-XXXXXX");
	if (!mkdtemp(f->base)) {
		f->base[0] = '\0';
		REQUIRE(false);
	}
	REQUIRE(chown(f->base, NOBODY, NOBODY) == 0 && chmod(f->base, 0777) == 0);
	r = run_as(NOBODY, 10, forge_holders, f);
	if (r != 0 || !f->verified)
		printf("\n    setup: child %d at step %d, path column %d ", r, f->step,
		       f->path_column);
	REQUIRE(r == 0);
	REQUIRE(f->verified); /* the crafted line reads as forged: the test means something */
	printf("\n    holders victim, asked by %ld (which maps only its crafted file):\n%s",
	       (long)f->pid, f->reply);
	CU_ASSERT_EQUAL(f->err, 0);
	CU_ASSERT_FALSE(names_pid(f->reply, f->pid));
out:
	if (f)
		remove_tree(f->base);
	remove_segment("victim");
	shared_free(f, sizeof(*f));
	end();
}

/* ---- 8. per-user limits on anonymous segments ---- */

#define SCRIPT_MAX 12

struct script {
	char dir[sizeof(mnt.dir)];
	int count, open_err;
	char commands[SCRIPT_MAX][64];
	int errs[SCRIPT_MAX];
	char replies[SCRIPT_MAX][512];
};

static void script_set(struct script *s, const char *dir, int count, const char *command)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	s->count = count;
	for (int i = 0; i < count; i++)
		snprintf(s->commands[i], sizeof(s->commands[i]), "%s", command);
}

/* Runs a script's commands on one .ctl, recording each write's errno and reply. */
static int run_script(const void *arg)
{
	struct script *s = (struct script *)arg;
	int fd = ctl_open_in(s->dir);

	if (fd < 0) {
		s->open_err = errno;
		return 10;
	}
	for (int i = 0; i < s->count; i++)
		s->errs[i] = mount_ctl(fd, s->commands[i], s->replies[i], sizeof(s->replies[i]));
	close(fd);
	return 0;
}

static void test_anonymous_segments_are_limited_per_user(void)
{
	struct script *s = shared_new(sizeof(*s));
	unsigned long long id = 0;

	begin(10);
	REQUIRE(s != NULL);
	free_all_anon(mnt.dir);
	/* nobody: ANON_PER_USER, then one more. */
	script_set(s, mnt.dir, ANON_PER_USER + 1, "anon 4096");
	REQUIRE(run_as(NOBODY, 10, run_script, s) == 0);
	for (int i = 0; i < ANON_PER_USER; i++)
		CU_ASSERT_EQUAL(s->errs[i], 0);
	printf("\n    nobody's anon #%d: %s", ANON_PER_USER + 1, s->replies[ANON_PER_USER]);
	CU_ASSERT_EQUAL(s->errs[ANON_PER_USER], EDQUOT);
	CU_ASSERT_EQUAL(strncmp(s->replies[ANON_PER_USER], "err EDQUOT", 10), 0);
	CU_ASSERT(mentions_number(s->replies[ANON_PER_USER], "8"));

	/* Another user is not affected; bytes are limited too (64M, sparse). */
	script_set(s, mnt.dir, 1, "anon 4096");
	REQUIRE(run_as(OTHER, 10, run_script, s) == 0);
	CU_ASSERT_EQUAL(s->errs[0], 0);
	REQUIRE(sscanf(s->replies[0], "ok %llu", &id) == 1);
	script_set(s, mnt.dir, 3, "");
	snprintf(s->commands[0], sizeof(s->commands[0]), "free %llu", id);
	snprintf(s->commands[1], sizeof(s->commands[1]), "anon 64M");
	snprintf(s->commands[2], sizeof(s->commands[2]), "anon 1");
	REQUIRE(run_as(OTHER, 10, run_script, s) == 0);
	CU_ASSERT_EQUAL(s->errs[0], 0);
	CU_ASSERT_EQUAL(s->errs[1], 0);
	printf("    4242's anon 1 after 64M: %s", s->replies[2]);
	CU_ASSERT_EQUAL(s->errs[2], EDQUOT);
	CU_ASSERT_EQUAL(strncmp(s->replies[2], "err EDQUOT", 10), 0);
	CU_ASSERT(mentions_number(s->replies[2], "67108864") || strstr(s->replies[2], "64M") ||
		  strstr(s->replies[2], "64 MiB") || strstr(s->replies[2], "64MiB"));

	/* Root is not limited. */
	script_set(s, mnt.dir, ANON_PER_USER + 1, "anon 4096");
	REQUIRE(run_as(0, 10, run_script, s) == 0);
	for (int i = 0; i <= ANON_PER_USER; i++)
		CU_ASSERT_EQUAL(s->errs[i], 0);
out:
	free_all_anon(mnt.dir);
	shared_free(s, sizeof(*s));
	end();
}

/* ---- 9. bounded memory per user for .ctl ---- */

#define CTL_OPEN_TRIES 40

struct ctl_flood {
	char dir[sizeof(mnt.dir)];
	int release_fd, release_write; /* the child waits on release_fd */
	int opened, open_err, filled, other_err, reopen_err;
	long bytes_written;
	int holding;
};

static int flood_ctl(const void *arg)
{
	struct ctl_flood *c = (struct ctl_flood *)arg;
	static char batch[200 * 5];
	int fds[CTL_OPEN_TRIES];
	char byte;

	close(c->release_write);
	for (int i = 0; i < 200; i++)
		memcpy(batch + 5 * i, "help\n", 5);
	for (c->opened = 0; c->opened < CTL_OPEN_TRIES; c->opened++) {
		fds[c->opened] = ctl_open_in(c->dir);
		if (fds[c->opened] < 0) {
			c->open_err = errno;
			break;
		}
	}
	/* Replies never read: 10 MB of commands at most per file, far past any limit. */
	for (int i = 0; i < c->opened && i < CTL_PER_USER; i++) {
		for (int w = 0; w < 10000; w++) {
			if (write(fds[i], batch, sizeof(batch)) < 0) {
				if (errno == ENOBUFS)
					c->filled++;
				else if (!c->other_err)
					c->other_err = errno;
				break;
			}
			c->bytes_written += (long)sizeof(batch);
		}
	}
	c->holding = 1;
	(void)!read(c->release_fd, &byte, 1); /* until the parent lets go */
	for (int i = 0; i < c->opened; i++)
		close(fds[i]);
	/* The releases reach the daemon after close: 2 s to open one again. */
	c->reopen_err = -1;
	for (long deadline = now_ms() + 2000;;) {
		int fd = ctl_open_in(c->dir);

		if (fd >= 0) {
			close(fd);
			c->reopen_err = 0;
			break;
		}
		c->reopen_err = errno;
		if (now_ms() > deadline)
			break;
		usleep(20000);
	}
	return 0;
}

static void test_ctl_memory_is_bounded_per_user(void)
{
	struct ctl_flood *c = shared_new(sizeof(*c));
	struct script *s = shared_new(sizeof(*s));
	int pipefd[2] = { -1, -1 };
	long rss_before, rss_after = -1;
	pid_t child = -1;

	begin(25);
	REQUIRE(c && s);
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	snprintf(c->dir, sizeof(c->dir), "%s", mnt.dir);
	c->release_fd = pipefd[0];
	c->release_write = pipefd[1];
	rss_before = test_rss_kib(mnt.pid);
	child = spawn_as(NOBODY, 40, flood_ctl, c);
	REQUIRE(child > 0);
	for (long deadline = now_ms() + 30000; !c->holding && now_ms() < deadline;)
		if (wait_for(&child, 20, NULL))
			break;
	REQUIRE(c->holding);
	rss_after = test_rss_kib(mnt.pid);
	printf("\n    nobody opened %d .ctl (then %s), %d reached ENOBUFS after %ld bytes of "
	       "commands; daemon VmRSS %ld -> %ld KiB ",
	       c->opened, strerror(c->open_err), c->filled, c->bytes_written, rss_before,
	       rss_after);
	CU_ASSERT_EQUAL(c->opened, CTL_PER_USER);
	CU_ASSERT_EQUAL(c->open_err, EMFILE);
	CU_ASSERT_EQUAL(c->filled, CTL_PER_USER);
	CU_ASSERT_EQUAL(c->other_err, 0);
	if (rss_meaningful())
		CU_ASSERT(rss_before > 0 && rss_after > 0 && rss_after - rss_before < 8 * 1024);
	/* Another user still gets a .ctl. */
	script_set(s, mnt.dir, 1, "list");
	CU_ASSERT_EQUAL(run_as(OTHER, 5, run_script, s), 0);
	CU_ASSERT(s->errs[0] == 0 && strcmp(s->replies[0], "ok\n") == 0);
	close(pipefd[1]);
	pipefd[1] = -1;
	CU_ASSERT(wait_for(&child, 6000, NULL));
	CU_ASSERT_EQUAL(c->reopen_err, 0);
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	finish(&child);
	shared_free(c, sizeof(*c));
	shared_free(s, sizeof(*s));
	end();
}

/* ---- 10. the /proc path of an anonymous segment ---- */

struct anon_path {
	char dir[sizeof(mnt.dir)];
	char reply[512];
	unsigned long long id;
	int err, open_err, xattr_err, xattr_open_err;
	bool read_back;
	char xattr[PATH_MAX];
};

static int anon_and_reach_it(const void *arg)
{
	struct anon_path *a = (struct anon_path *)arg;
	char path[PATH_MAX], got[8] = "";
	int fd = ctl_open_in(a->dir), seg;
	ssize_t n;

	if (fd < 0)
		return 10;
	a->err = mount_ctl(fd, "anon 4096", a->reply, sizeof(a->reply));
	close(fd);
	if (sscanf(a->reply, "ok %llu", &a->id) != 1)
		return 11;
	snprintf(path, sizeof(path), "%s/.anon/%llu", a->dir, a->id);
	seg = open(path, O_RDWR);
	a->open_err = seg < 0 ? errno : 0;
	if (seg >= 0) {
		a->read_back = pwrite(seg, "nobody", 6, 0) == 6 && pread(seg, got, 6, 0) == 6 &&
			       memcmp(got, "nobody", 6) == 0;
		close(seg);
	}
	n = getxattr(path, "user.shmfs.path", a->xattr, sizeof(a->xattr) - 1);
	a->xattr_err = n < 0 ? errno : 0;
	a->xattr[n > 0 ? n : 0] = '\0';
	a->xattr_open_err = -1;
	if (n > 0) {
		seg = open(a->xattr, O_RDWR);
		a->xattr_open_err = seg < 0 ? errno : 0;
		if (seg >= 0)
			close(seg);
	}
	return 0;
}

static void test_anon_paths_are_ones_the_caller_can_open(void)
{
	struct anon_path *a = shared_new(sizeof(*a));
	char expect[PATH_MAX], reply[512], proc_path[128] = "", lead[64];
	unsigned long long id;
	int fd = -1, seg;

	begin(10);
	REQUIRE(a != NULL);
	snprintf(a->dir, sizeof(a->dir), "%s", mnt.dir);
	REQUIRE(run_as(NOBODY, 10, anon_and_reach_it, a) == 0);
	snprintf(expect, sizeof(expect), "ok %llu 4096 .anon/%llu -\n", a->id, a->id);
	printf("\n    nobody: %s    user.shmfs.path: %s ", a->reply, a->xattr);
	CU_ASSERT_EQUAL(a->err, 0);
	CU_ASSERT_STRING_EQUAL(a->reply, expect);
	CU_ASSERT_EQUAL(a->open_err, 0);
	CU_ASSERT(a->read_back);
	snprintf(expect, sizeof(expect), "%s/.anon/%llu", mnt.dir, a->id);
	CU_ASSERT_EQUAL(a->xattr_err, 0);
	CU_ASSERT_STRING_EQUAL(a->xattr, expect);
	CU_ASSERT_EQUAL(a->xattr_open_err, 0);

	/* Root gets the /proc path, and can open it. */
	fd = ctl_open_in(mnt.dir);
	REQUIRE(fd >= 0);
	CU_ASSERT_EQUAL(mount_ctl(fd, "anon 4096", reply, sizeof(reply)), 0);
	REQUIRE(sscanf(reply, "ok %llu 4096 %*s %127s", &id, proc_path) == 2);
	snprintf(lead, sizeof(lead), "/proc/%ld/fd/", (long)mnt.pid);
	CU_ASSERT_EQUAL(strncmp(proc_path, lead, strlen(lead)), 0);
	seg = open(proc_path, O_RDWR);
	CU_ASSERT(seg >= 0);
	if (seg >= 0)
		close(seg);
out:
	if (fd >= 0)
		close(fd);
	free_all_anon(mnt.dir);
	shared_free(a, sizeof(*a));
	end();
}

/* ---- 11. one user's long .ctl command does not delay another's reply ---- */

#define FLOOD_LINES 10000

struct flood {
	char dir[sizeof(mnt.dir)];
	long replies, writes;
	int last_err, started, done;
};

/* Counts replies' final lines ("ok..." or "err...") in buf, across reads. */
static long count_final_lines(const char *buf, size_t len, bool *at_line_start)
{
	long n = 0;

	for (size_t i = 0; i < len; i++) {
		if (*at_line_start && (buf[i] == 'o' || buf[i] == 'e'))
			n++;
		*at_line_start = buf[i] == '\n';
	}
	return n;
}

/*
 * Writes FLOOD_LINES "holders pub" lines as one stream: short writes
 * go on from where they stopped; on ENOBUFS the replies are read and the
 * stream goes on after the last command answered.
 */
static int holders_flood(const void *arg)
{
	static const char line[] = "holders pub\n";
	struct flood *h = (struct flood *)arg;
	size_t line_len = strlen(line), total = line_len * FLOOD_LINES, pos = 0;
	static char reply[REPLY_MAX];
	char *buf = malloc(total);
	bool at_line_start = true;
	int fd = ctl_open_in(h->dir);

	if (!buf || fd < 0)
		return 10;
	for (size_t i = 0; i < FLOOD_LINES; i++)
		memcpy(buf + i * line_len, line, line_len);
	h->started = 1;
	while (pos < total && h->writes < 100000) {
		ssize_t n = write(fd, buf + pos, total - pos);

		h->writes++;
		if (n >= 0) {
			pos += (size_t)n;
			continue;
		}
		h->last_err = errno;
		while ((n = read(fd, reply, sizeof(reply))) > 0)
			h->replies += count_final_lines(reply, (size_t)n, &at_line_start);
		pos = (size_t)h->replies * line_len;
	}
	h->done = 1;
	return 0;
}

struct round_trips {
	char dir[sizeof(mnt.dir)];
	long ms[5];
	int count, err;
};

static int time_lists(const void *arg)
{
	struct round_trips *t = (struct round_trips *)arg;
	char reply[4096];
	int fd = ctl_open_in(t->dir);

	if (fd < 0) {
		t->err = errno;
		return 10;
	}
	for (int i = 0; i < 5; i++) {
		long start = now_ms();

		if (write(fd, "list\n", 5) != 5 || read(fd, reply, sizeof(reply)) <= 0) {
			t->err = errno;
			break;
		}
		t->ms[i] = now_ms() - start;
		t->count++;
	}
	close(fd);
	return 0;
}

static int compare_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void test_a_long_command_does_not_delay_other_users(void)
{
	struct test_mount m = { 0 };
	struct flood *h = shared_new(sizeof(*h));
	struct round_trips *t = shared_new(sizeof(*t));
	pid_t flooder = -1, timer = -1;
	bool running_before, running_after;

	begin(40);
	REQUIRE(h && t);
	REQUIRE(make_segment("pub", 0644, 4096) == 0);
	/* Its own daemon, with the same options: killed at the end if still busy. */
	REQUIRE(mount_start(&m, daemon_path, daemon_args) == 0);
	watch_mount(&m, true);
	snprintf(h->dir, sizeof(h->dir), "%s", m.dir);
	snprintf(t->dir, sizeof(t->dir), "%s", m.dir);
	flooder = spawn_as(NOBODY, 60, holders_flood, h);
	REQUIRE(flooder > 0);
	for (long deadline = now_ms() + 2000; !h->started && now_ms() < deadline;)
		usleep(5000);
	usleep(300000); /* its long write is in the daemon now */
	running_before = !wait_for(&flooder, 0, NULL);
	timer = spawn_as(OTHER, 10, time_lists, t);
	REQUIRE(timer > 0);
	CU_ASSERT(wait_for(&timer, 12000, NULL));
	running_after = !wait_for(&flooder, 0, NULL);
	qsort(t->ms, (size_t)t->count, sizeof(t->ms[0]), compare_long);
	printf("\n    flooder running before %d, after %d (%ld writes, %ld replies); 4242's %d "
	       "round trips, median %ld ms ",
	       running_before, running_after, h->writes, h->replies, t->count,
	       t->count == 5 ? t->ms[2] : -1L);
	CU_ASSERT(running_before && running_after);
	CU_ASSERT_EQUAL(t->count, 5);
	CU_ASSERT(t->count == 5 && t->ms[2] < 100);
out:
	watch_mount(&m, false);
	if (flooder > 0)
		kill(flooder, SIGKILL);
	if (timer > 0)
		kill(timer, SIGKILL);
	/* Still busy with the flood: the daemon goes, and so does the wait. */
	if (!wait_for(&flooder, 1000, NULL) || !wait_for(&timer, 1000, NULL))
		mount_kill(&m);
	else if (m.pid > 0)
		mount_stop(&m);
	finish(&flooder);
	finish(&timer);
	remove_segment("pub");
	shared_free(h, sizeof(*h));
	shared_free(t, sizeof(*t));
	end();
}

/* ---- 12. limits on descriptors the daemon holds for a user ---- */

#define HOG_SEGMENTS 8
#define HOG_TRIES 256

struct fd_hog {
	char dir[sizeof(mnt.dir)];
	int release_fd, release_write;
	int created, opened, fail_err, holding;
};

static int hog_fds(const void *arg)
{
	struct fd_hog *h = (struct fd_hog *)arg;
	char path[PATH_MAX], byte;
	int fds[HOG_TRIES];

	close(h->release_write);
	for (int i = 0; i < HOG_SEGMENTS; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/hog-%d", h->dir, i);
		fd = open(path, O_RDWR | O_CREAT, 0644);
		if (fd < 0)
			break;
		close(fd);
		h->created++;
	}
	usleep(300000); /* the releases of those reach the daemon */
	for (h->opened = 0; h->opened < HOG_TRIES; h->opened++) {
		snprintf(path, sizeof(path), "%s/hog-%d", h->dir, h->opened % HOG_SEGMENTS);
		fds[h->opened] = open(path, O_RDONLY);
		if (fds[h->opened] < 0) {
			h->fail_err = errno;
			break;
		}
	}
	h->holding = 1;
	(void)!read(h->release_fd, &byte, 1);
	for (int i = 0; i < h->opened; i++)
		close(fds[i]);
	return 0;
}

static int open_own_file(const void *dir)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/hog-other", (const char *)dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return errno;
	if (write(fd, "mine", 4) != 4) {
		close(fd);
		return EIO;
	}
	close(fd);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno;
	close(fd);
	return unlink(path) < 0 ? errno : 0;
}

static void test_descriptors_held_for_a_user_are_limited(void)
{
	struct fd_hog *h = shared_new(sizeof(*h));
	int pipefd[2] = { -1, -1 };
	pid_t child = -1;
	char name[32];

	begin(15);
	REQUIRE(h != NULL);
	free_all_anon(mnt.dir);
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	snprintf(h->dir, sizeof(h->dir), "%s", mnt.dir);
	h->release_fd = pipefd[0];
	h->release_write = pipefd[1];
	child = spawn_as(NOBODY, 20, hog_fds, h);
	REQUIRE(child > 0);
	for (long deadline = now_ms() + 15000; !h->holding && now_ms() < deadline;)
		if (wait_for(&child, 20, NULL))
			break;
	REQUIRE(h->holding);
	printf("\n    nobody created %d, then opened %d (then %s) ", h->created, h->opened,
	       strerror(h->fail_err));
	CU_ASSERT_EQUAL(h->created, HOG_SEGMENTS);
	CU_ASSERT_EQUAL(h->opened, FDS_PER_USER);
	CU_ASSERT_EQUAL(h->fail_err, EMFILE);
	/* Meanwhile another user opens files as usual. */
	CU_ASSERT_EQUAL(run_as(OTHER, 5, open_own_file, mnt.dir), 0);
	close(pipefd[1]);
	pipefd[1] = -1;
	CU_ASSERT(wait_for(&child, 5000, NULL));
out:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	finish(&child);
	for (int i = 0; i < HOG_SEGMENTS; i++) {
		snprintf(name, sizeof(name), "hog-%d", i);
		remove_segment(name);
	}
	remove_segment("hog-other");
	shared_free(h, sizeof(*h));
	end();
}

/* ---- 13. rename: renameat2 in /dev/shm, as the caller ---- */

struct rename_pair {
	char from[PATH_MAX], to[PATH_MAX];
};

static int rename_as_caller(const void *arg)
{
	const struct rename_pair *p = arg;

	return rename(p->from, p->to) < 0 ? errno : 0;
}

static long renameat2_in(const char *dir, const char *from, const char *to, unsigned flags)
{
	char a[PATH_MAX], b[PATH_MAX];

	snprintf(a, sizeof(a), "%s/%s", dir, from);
	snprintf(b, sizeof(b), "%s/%s", dir, to);
	return syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static ino_t ino_of(const char *name)
{
	struct stat st;

	return segment_stat(name, &st) == 0 ? st.st_ino : 0;
}

static void test_rename_moves_segments_as_the_caller(void)
{
	static const char *const names[] = { "ren-a",     "ren-b", "ren-c", "ren-root",
					     "ren-root2", "ren-m", "ren-n" };
	struct rename_pair pair;
	ino_t a, c, m, root_ino;
	char command[2 * PATH_MAX + 16];
	char *map = MAP_FAILED;
	struct stat st;
	long r;
	int fd, err;

	begin(10);
	REQUIRE(make_segment("ren-a", 0644, 4096) == 0);
	a = ino_of("ren-a");
	fd = open("/dev/shm/ren-a", O_RDWR);
	REQUIRE(fd >= 0);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	REQUIRE(map != MAP_FAILED);

	/* The same segment under its new name, mapped as before. */
	r = renameat2_in(mnt.dir, "ren-a", "ren-b", 0);
	if (r < 0)
		printf("\n    rename: %s ", strerror(errno));
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT_EQUAL(ino_of("ren-b"), a);
	CU_ASSERT(segment_stat("ren-a", &st) == -ENOENT);
	fd = open("/dev/shm/ren-b", O_RDWR);
	CU_ASSERT(fd >= 0 && pwrite(fd, "renamed", 7, 0) == 7);
	if (fd >= 0)
		close(fd);
	CU_ASSERT(memcmp(map, "renamed", 7) == 0);

	/* RENAME_NOREPLACE onto an existing name: EEXIST, nothing changes. */
	REQUIRE(make_segment("ren-c", 0644, 4096) == 0);
	c = ino_of("ren-c");
	r = renameat2_in(mnt.dir, "ren-b", "ren-c", RENAME_NOREPLACE);
	CU_ASSERT(r == -1 && errno == EEXIST);
	CU_ASSERT(ino_of("ren-b") == a && ino_of("ren-c") == c);

	/* RENAME_EXCHANGE swaps them. */
	r = renameat2_in(mnt.dir, "ren-b", "ren-c", RENAME_EXCHANGE);
	if (r < 0)
		printf("\n    RENAME_EXCHANGE: %s ", strerror(errno));
	CU_ASSERT_EQUAL(r, 0);
	CU_ASSERT(ino_of("ren-b") == c && ino_of("ren-c") == a);

	/* Anonymous segments come from "anon" only. */
	r = renameat2_in(mnt.dir, "ren-b", ".anon/ren-b", 0);
	CU_ASSERT(r == -1 && errno == EXDEV);
	CU_ASSERT_EQUAL(ino_of("ren-b"), c);

	/* nobody may not move root's segment, even a writable one: /dev/shm is sticky. */
	REQUIRE(make_segment("ren-root", 0666, 4096) == 0);
	root_ino = ino_of("ren-root");
	snprintf(pair.from, sizeof(pair.from), "%s/ren-root", mnt.dir);
	snprintf(pair.to, sizeof(pair.to), "%s/ren-root2", mnt.dir);
	err = run_as(NOBODY, 5, rename_as_caller, &pair);
	CU_ASSERT_EQUAL(err, EPERM);
	CU_ASSERT_EQUAL(ino_of("ren-root"), root_ino);
	CU_ASSERT(segment_stat("ren-root2", &st) == -ENOENT);

	/* mv renames: the same inode under the new name. */
	REQUIRE(make_segment("ren-m", 0644, 4096) == 0);
	m = ino_of("ren-m");
	snprintf(command, sizeof(command), "mv '%s/ren-m' '%s/ren-n'", mnt.dir, mnt.dir);
	CU_ASSERT_EQUAL(system(command), 0);
	CU_ASSERT(segment_stat("ren-m", &st) == -ENOENT);
	CU_ASSERT_EQUAL(ino_of("ren-n"), m);
out:
	if (map != MAP_FAILED)
		munmap(map, 4096);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		remove_segment(names[i]);
	end();
}

/* ---- 14-17. the second attack: what an attacker could make the daemon hold ---- */

struct churn {
	char dir[sizeof(mnt.dir)];
	pid_t daemon;
	int rounds, err;
	long rss_holding; /* the daemon's, with the session still open */
};

/* Writes all of buf: a .ctl write may be short (its time slice ran out). */
static bool write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Keeps one byte of reply unread while reading everything else, round
 * after round: the daemon's buffer must not grow with what was read.
 */
static int churn_replies(const void *arg)
{
	struct churn *c = (struct churn *)arg;
	/* 50 helps a round: their replies (about 33 KiB) well within the 64 KiB a file keeps unread. */
	static char batch[50 * 5 + 1], buf[1 << 17];
	size_t reply_len = 0;
	ssize_t n;
	int fd = ctl_open_in(c->dir);

	if (fd < 0)
		return 10;
	for (int i = 0; i < 50; i++)
		memcpy(batch + i * 5, "help\n", 5);
	/* One round to learn a reply's length. */
	if (!write_all(fd, batch, 250))
		return 11;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		reply_len += (size_t)n;
	if (!write_all(fd, batch, 250) || read(fd, buf, reply_len - 1) != (ssize_t)reply_len - 1)
		return 12;
	for (c->rounds = 0; c->rounds < 3000; c->rounds++) {
		size_t got = 0;

		if (!write_all(fd, batch, 250)) {
			c->err = errno;
			return 13;
		}
		while (got < reply_len && (n = read(fd, buf, reply_len - got)) > 0)
			got += (size_t)n;
	}
	/* Measured before the close: the session's buffer goes with it. */
	c->rss_holding = test_rss_kib(c->daemon);
	close(fd);
	return 0;
}

static void test_a_reply_buffer_holds_what_is_unread_not_what_was_read(void)
{
	struct churn *c = shared_new(sizeof(*c));
	long before, after;

	begin(20);
	REQUIRE(c != NULL);
	snprintf(c->dir, sizeof(c->dir), "%s", mnt.dir);
	c->daemon = mnt.pid;
	before = test_rss_kib(mnt.pid);
	CU_ASSERT_EQUAL(run_as(NOBODY, 15, churn_replies, c), 0);
	after = c->rss_holding;
	printf("\n    %d rounds with one byte unread; daemon VmRSS %ld -> %ld KiB ", c->rounds,
	       before, after);
	CU_ASSERT_EQUAL(c->rounds, 3000);
	if (rss_meaningful())
		CU_ASSERT(before > 0 && after > 0 && after - before < 8 * 1024);
out:
	shared_free(c, sizeof(*c));
	end();
}

struct long_lines {
	char dir[sizeof(mnt.dir)];
	long writes, einval, enobufs;
	size_t unread;
};

/* Over-long lines for 2 s without reading: their error replies are bounded like any. */
static int flood_long_lines(const void *arg)
{
	struct long_lines *l = (struct long_lines *)arg;
	static char line[4097 + 1], buf[1 << 16];
	long deadline = now_ms() + 2000;
	ssize_t n;
	int fd = ctl_open_in(l->dir);

	if (fd < 0)
		return 10;
	memset(line, 'A', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	while (now_ms() < deadline) {
		if (write(fd, line, sizeof(line)) < 0) {
			if (errno == EINVAL)
				l->einval++;
			else if (errno == ENOBUFS)
				l->enobufs++;
			else
				return 11;
		}
		l->writes++;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		l->unread += (size_t)n;
	close(fd);
	return 0;
}

static void test_errors_for_long_lines_stay_within_the_limits(void)
{
	struct long_lines *l = shared_new(sizeof(*l));
	long before, after;

	begin(15);
	REQUIRE(l != NULL);
	snprintf(l->dir, sizeof(l->dir), "%s", mnt.dir);
	before = test_rss_kib(mnt.pid);
	CU_ASSERT_EQUAL(run_as(NOBODY, 10, flood_long_lines, l), 0);
	after = test_rss_kib(mnt.pid);
	printf("\n    %ld over-long lines (EINVAL %ld, ENOBUFS %ld), %zu bytes of replies waited; "
	       "daemon VmRSS %ld -> %ld KiB ",
	       l->writes, l->einval, l->enobufs, l->unread, before, after);
	CU_ASSERT(l->writes > 100);
	CU_ASSERT(l->unread <= 65536 + 1024); /* one file's unread replies, and one error line */
	if (rss_meaningful())
		CU_ASSERT(after - before < 8 * 1024);
out:
	shared_free(l, sizeof(*l));
	end();
}

#define MAPPED_PAGES 40000

struct many_maps {
	char path[PATH_MAX];
	volatile int ready;
};

/* Maps the segment at path page by page, every other page a mapping of its own. */
static int hold_many_mappings(const void *arg)
{
	struct many_maps *m = (struct many_maps *)arg;
	long page = sysconf(_SC_PAGESIZE);
	int fd = open(m->path, O_RDWR | O_CLOEXEC);
	char *map;

	if (fd < 0)
		return 10;
	map = mmap(NULL, (size_t)page * MAPPED_PAGES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 11;
	for (long i = 0; i < MAPPED_PAGES; i += 2)
		mprotect(map + i * page, (size_t)page, PROT_READ);
	m->ready = 1;
	pause();
	return 0;
}

struct scans {
	char path[PATH_MAX];
	int e2big, eagain, other, done;
	long slowest_ms;
};

static int scan_holders(const void *arg)
{
	struct scans *sc = (struct scans *)arg;
	static char value[1 << 16];
	long start = now_ms(), took;
	ssize_t n = getxattr(sc->path, "user.shmfs.holders", value, sizeof(value));

	took = now_ms() - start;
	if (n < 0 && errno == E2BIG)
		__atomic_add_fetch(&sc->e2big, 1, __ATOMIC_SEQ_CST);
	else if (n < 0 && errno == EAGAIN)
		__atomic_add_fetch(&sc->eagain, 1, __ATOMIC_SEQ_CST);
	else if (n < 0)
		__atomic_add_fetch(&sc->other, 1, __ATOMIC_SEQ_CST);
	if (took > __atomic_load_n(&sc->slowest_ms, __ATOMIC_SEQ_CST))
		__atomic_store_n(&sc->slowest_ms, took, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&sc->done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int read_victim(const void *arg)
{
	char buf[16];
	int fd = open(arg, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 10;
	if (read(fd, buf, sizeof(buf)) < 0)
		return 11;
	close(fd);
	return 0;
}

static void test_holders_scans_are_bounded_per_user(void)
{
	struct many_maps *m = shared_new(sizeof(*m));
	struct scans *sc = shared_new(sizeof(*sc));
	pid_t holder = -1, scanners[8];
	long before, after, start, took;
	size_t count = sizeof(scanners) / sizeof(scanners[0]);

	for (size_t i = 0; i < count; i++)
		scanners[i] = -1;
	begin(30);
	REQUIRE(m && sc);
	REQUIRE(make_segment("many", 0666, (off_t)sysconf(_SC_PAGESIZE) * MAPPED_PAGES) == 0);
	REQUIRE(make_segment("victim", 0644, 16) == 0);
	snprintf(m->path, sizeof(m->path), "/dev/shm/many");
	holder = spawn_as(NOBODY, 30, hold_many_mappings, m);
	for (long deadline = now_ms() + 10000; !m->ready && now_ms() < deadline;)
		usleep(10000);
	REQUIRE(m->ready);
	snprintf(sc->path, sizeof(sc->path), "%s/many", mnt.dir);
	before = test_rss_kib(mnt.pid);
	for (size_t i = 0; i < count; i++)
		scanners[i] = spawn_as(NOBODY, 20, scan_holders, sc);
	/* Meanwhile another user is served at once. */
	start = now_ms();
	CU_ASSERT_EQUAL(run_as(OTHER, 5, read_victim, mount_path(&mnt, "victim")), 0);
	took = now_ms() - start;
	for (size_t i = 0; i < count; i++)
		CU_ASSERT(wait_for(&scanners[i], 15000, NULL));
	after = test_rss_kib(mnt.pid);
	printf("\n    %zu scans of %d mappings: E2BIG %d, EAGAIN %d, other %d, slowest %ld ms; "
	       "another user read in %ld ms; daemon VmRSS %ld -> %ld KiB ",
	       count, MAPPED_PAGES / 2, sc->e2big, sc->eagain, sc->other, sc->slowest_ms, took,
	       before, after);
	CU_ASSERT_EQUAL(sc->done, (int)count);
	CU_ASSERT(sc->eagain > 0); /* one scan of a user's at a time */
	CU_ASSERT(sc->e2big > 0);  /* more holders than an attribute holds */
	CU_ASSERT_EQUAL(sc->other, 0);
	CU_ASSERT(sc->slowest_ms < 3000);
	CU_ASSERT(took < 1000);
	if (rss_meaningful())
		CU_ASSERT(after - before < 16 * 1024);
out:
	for (size_t i = 0; i < count; i++)
		finish(&scanners[i]);
	finish(&holder);
	remove_segment("many");
	remove_segment("victim");
	shared_free(m, sizeof(*m));
	shared_free(sc, sizeof(*sc));
	end();
}

#define LISTED_SEGMENTS 2000

struct listings {
	char dir[sizeof(mnt.dir)];
	int opened, err;
};

/* Opens the mount's top directory again and again, keeping every listing. */
static int hold_listings(const void *arg)
{
	struct listings *l = (struct listings *)arg;

	for (l->opened = 0; l->opened < 2000; l->opened++) {
		if (open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) < 0) {
			l->err = errno;
			break;
		}
	}
	return 0;
}

static int list_once(const void *dir)
{
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return 10;
	while (readdir(d))
		n++;
	closedir(d);
	return n > LISTED_SEGMENTS ? 0 : 11;
}

static void test_directory_listings_are_charged_to_their_opener(void)
{
	struct listings *l = shared_new(sizeof(*l));
	char name[256];
	long before, after;
	int made = 0;

	begin(40);
	REQUIRE(l != NULL);
	for (int i = 0; i < LISTED_SEGMENTS; i++) {
		snprintf(name, sizeof(name), "listed-%04d-%0200d", i, 0);
		made += make_segment(name, 0600, 0) == 0;
	}
	REQUIRE(made == LISTED_SEGMENTS);
	snprintf(l->dir, sizeof(l->dir), "%s", mnt.dir);
	before = test_rss_kib(mnt.pid);
	CU_ASSERT_EQUAL(run_as(NOBODY, 30, hold_listings, l), 0);
	after = test_rss_kib(mnt.pid);
	printf("\n    nobody held %d listings of %d names, then %s; daemon VmRSS %ld -> %ld KiB ",
	       l->opened, LISTED_SEGMENTS, strerror(l->err), before, after);
	CU_ASSERT_EQUAL(l->err, EMFILE);
	CU_ASSERT(l->opened > 10 && l->opened < 2000);
	/* The 64 MiB a user's listings may hold, and slack. */
	if (rss_meaningful())
		CU_ASSERT(after - before < 96 * 1024);
	/* Released with the files, and other users list as before. */
	CU_ASSERT_EQUAL(run_as(OTHER, 10, list_once, mnt.dir), 0);
out:
	for (int i = 0; i < LISTED_SEGMENTS; i++) {
		snprintf(name, sizeof(name), "listed-%04d-%0200d", i, 0);
		remove_segment(name);
	}
	shared_free(l, sizeof(*l));
	end();
}

/* ---- 17. waits for segments: limited per user, never holding a thread ---- */

/* write_all, and the errno when it fails. */
static int write_all_err(int fd, const char *text, size_t len)
{
	errno = 0;
	return write_all(fd, text, len) ? 0 : errno ? errno : EIO;
}

struct waiter {
	char dir[sizeof(mnt.dir)];
	int release_fd, release_write;
	int first_errs[WAITS_PER_USER], extra_err, holding;
	char extra_reply[512];
};

/* As nobody: WAITS_PER_USER waits on one file, one more on another, then holds them. */
static int wait_to_the_limit(const void *arg)
{
	struct waiter *w = (struct waiter *)arg;
	int fd = ctl_open_in(w->dir), extra = ctl_open_in(w->dir);
	char byte;

	close(w->release_write);
	if (fd < 0 || extra < 0)
		return 10;
	for (int i = 0; i < WAITS_PER_USER; i++) {
		char line[64];
		int n = snprintf(line, sizeof(line), "wait limited-%d 60\n", i);

		w->first_errs[i] = write_all_err(fd, line, (size_t)n);
	}
	/* The write tells at once; on a file with no wait ahead, so does the reply. */
	w->extra_err =
		mount_ctl(extra, "wait limited-extra 60", w->extra_reply, sizeof(w->extra_reply));
	w->holding = 1;
	(void)!read(w->release_fd, &byte, 1);
	close(fd);
	close(extra);
	return 0;
}

/* As another user: a wait for a segment that is there: the reply, or the errno. */
static int wait_for_pub(const void *dir)
{
	char reply[256];
	int fd = ctl_open_in(dir), err;

	if (fd < 0)
		return 100 + errno;
	err = mount_ctl(fd, "wait pub 5", reply, sizeof(reply));
	close(fd);
	return err ? err : strcmp(reply, "ok pub\n") == 0 ? 0 : 200;
}

static void test_waits_are_limited_per_user(void)
{
	struct waiter *w = shared_new(sizeof(*w));
	int pipefd[2] = { -1, -1 };
	pid_t child = -1;

	begin(20);
	REQUIRE(w != NULL);
	REQUIRE(make_segment("pub", 0644, 4096) == 0);
	REQUIRE(pipe2(pipefd, O_CLOEXEC) == 0);
	snprintf(w->dir, sizeof(w->dir), "%s", mnt.dir);
	w->release_fd = pipefd[0];
	w->release_write = pipefd[1];
	child = spawn_as(NOBODY, 20, wait_to_the_limit, w);
	REQUIRE(child > 0);
	for (long deadline = now_ms() + 5000; !w->holding && now_ms() < deadline;)
		usleep(5000);
	REQUIRE(w->holding);
	for (int i = 0; i < WAITS_PER_USER; i++)
		CU_ASSERT_EQUAL(w->first_errs[i], 0);
	printf("\n    nobody's wait #%d: %s", WAITS_PER_USER + 1, w->extra_reply);
	CU_ASSERT_EQUAL(w->extra_err, EDQUOT);
	CU_ASSERT_EQUAL(strncmp(w->extra_reply, "err EDQUOT", 10), 0);
	CU_ASSERT(mentions_number(w->extra_reply, "8") && strstr(w->extra_reply, "wait_max"));
	/* Another user, and root, are not affected. */
	CU_ASSERT_EQUAL(run_as(OTHER, 5, wait_for_pub, mnt.dir), 0);
	CU_ASSERT_EQUAL(run_as(0, 5, wait_for_pub, mnt.dir), 0);
out:
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	CU_ASSERT(wait_for(&child, 5000, NULL));
	finish(&child);
	remove_segment("pub");
	shared_free(w, sizeof(*w));
	end();
}

#define WAIT_SESSIONS 4
#define WAIT_NAMES 250 /* each session waits for all: 1000 waits */

struct many_waits {
	char dir[sizeof(mnt.dir)];
	int written_err, holding, kept_started;
	long kept_n;
	int kept_err;
	long kept_ended_ms;
};

/* As root (no per-user limit): 1000 waits over four files, then a read kept by the daemon. */
static int thousand_waits(const void *arg)
{
	struct many_waits *m = (struct many_waits *)arg;
	static char batch[WAIT_NAMES * 32];
	size_t len = 0;
	int fds[WAIT_SESSIONS], kept;
	char reply[256];

	for (int k = 0; k < WAIT_NAMES; k++)
		len += (size_t)snprintf(batch + len, sizeof(batch) - len, "wait many-%d 60\n", k);
	for (int i = 0; i < WAIT_SESSIONS; i++) {
		fds[i] = ctl_open_in(m->dir);
		if (fds[i] < 0)
			return 10;
		m->written_err = write_all_err(fds[i], batch, len);
		if (m->written_err)
			return 11;
	}
	kept = ctl_open_in(m->dir);
	if (kept < 0 || write_all_err(kept, "wait never 60\n", 14))
		return 12;
	m->holding = 1;
	m->kept_started = 1;
	m->kept_n = read(kept, reply, sizeof(reply));
	m->kept_err = m->kept_n < 0 ? errno : 0;
	m->kept_ended_ms = now_ms();
	return 0;
}

static long median_round_trip(struct round_trips *t, const char *dir)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->dir, sizeof(t->dir), "%s", dir);
	if (run_as(OTHER, 10, time_lists, t) != 0 || t->count != 5)
		return -1;
	qsort(t->ms, 5, sizeof(t->ms[0]), compare_long);
	return t->ms[2];
}

/* ---- readers and summaries of one user park no daemon thread ---- */

#define BUSY_READERS 40
#define SUMMARY_OPENERS 16
#define BUSY_SECONDS 3
#define SHM_FILES 20000

struct busy {
	char dir[sizeof(mnt.dir)];
	bool summaries_phase; /* else readers of a file running usage */
	int fd;
	long until_ms;
	int started;
	long reads, summaries, usages;
};

static void *busy_reader(void *arg)
{
	struct busy *b = arg;
	char buf[256];

	while (now_ms() < b->until_ms)
		if (read(b->fd, buf, sizeof(buf)) >= 0)
			__atomic_add_fetch(&b->reads, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void *summary_opener(void *arg)
{
	struct busy *b = arg;
	char buf[100];

	while (now_ms() < b->until_ms) {
		int fd = ctl_open_in(b->dir);

		if (fd >= 0 && read(fd, buf, sizeof(buf)) > 0)
			__atomic_add_fetch(&b->summaries, 1, __ATOMIC_RELAXED);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/*
 * As nobody: one thread runs usage on a file again and again while forty
 * read that same file, and sixteen open fresh files for their summaries
 * (each a walk of /dev/shm's many files and a scan of /proc).
 */
static int busy_user(const void *arg)
{
	struct busy *b = (struct busy *)arg;
	pthread_t threads[BUSY_READERS + SUMMARY_OPENERS];
	size_t n = 0;

	b->fd = ctl_open_in(b->dir);
	if (b->fd < 0)
		return 10;
	b->until_ms = now_ms() + BUSY_SECONDS * 1000;
	for (int i = 0; !b->summaries_phase && i < BUSY_READERS; i++)
		if (pthread_create(&threads[n], NULL, busy_reader, b) == 0)
			n++;
	for (int i = 0; b->summaries_phase && i < SUMMARY_OPENERS; i++)
		if (pthread_create(&threads[n], NULL, summary_opener, b) == 0)
			n++;
	b->started = 1;
	/* Each usage holds the file's command lock while it scans, done or not (ETIMEDOUT). */
	while (!b->summaries_phase && now_ms() < b->until_ms) {
		(void)!write(b->fd, "usage\n", 6);
		b->usages++;
	}
	for (size_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	close(b->fd);
	return n == (b->summaries_phase ? SUMMARY_OPENERS : BUSY_READERS) ? 0 : 11;
}

static void test_readers_and_summaries_of_one_user_park_no_thread(void)
{
	struct busy *b = shared_new(sizeof(*b));
	struct round_trips *t = shared_new(sizeof(*t));
	char name[32];
	long during = -1;
	pid_t busy = -1;
	int fd;

	begin(60);
	REQUIRE(b && t);
	/* Many files make each summary's walk of /dev/shm long. */
	for (int i = 0; i < SHM_FILES; i++) {
		snprintf(name, sizeof(name), "/dev/shm/busy-%05d", i);
		fd = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		REQUIRE(fd >= 0);
		close(fd);
	}
	for (int phase = 0; phase < 2; phase++) {
		memset(b, 0, sizeof(*b));
		snprintf(b->dir, sizeof(b->dir), "%s", mnt.dir);
		b->summaries_phase = phase == 1;
		busy = spawn_as(NOBODY, 30, busy_user, b);
		REQUIRE(busy > 0);
		for (long deadline = now_ms() + 5000; !b->started && now_ms() < deadline;)
			usleep(5000);
		REQUIRE(b->started);
		usleep(500000); /* every thread of it is at work now */
		during = median_round_trip(t, mnt.dir);
		CU_ASSERT(wait_for(&busy, 20000, NULL));
		printf("\n    nobody: %ld reads of a file running %ld usage commands, %ld "
		       "summaries; "
		       "4242's median round trip meanwhile %ld ms ",
		       b->reads, b->usages, b->summaries, during);
		CU_ASSERT(phase == 1 ? b->summaries > 0 : b->reads > 0 && b->usages > 0);
		CU_ASSERT(during >= 0 && during < 200);
	}
out:
	finish(&busy);
	for (int i = 0; i < SHM_FILES; i++) {
		snprintf(name, sizeof(name), "/dev/shm/busy-%05d", i);
		unlink(name);
	}
	shared_free(b, sizeof(*b));
	shared_free(t, sizeof(*t));
	end();
}

static void test_a_thousand_waits_and_a_kept_read_delay_no_one(void)
{
	struct test_mount m = { 0 };
	struct many_waits *w = shared_new(sizeof(*w));
	struct round_trips *t = shared_new(sizeof(*t));
	long before, after, stop_started, exit_ms = -1;
	pid_t child = -1;
	int status = -1;

	begin(40);
	REQUIRE(w && t);
	REQUIRE(mount_start(&m, daemon_path, daemon_args) == 0);
	watch_mount(&m, true);
	snprintf(w->dir, sizeof(w->dir), "%s", m.dir);
	child = spawn_as(0, 30, thousand_waits, w);
	REQUIRE(child > 0);
	for (long deadline = now_ms() + 10000; !w->holding && now_ms() < deadline;)
		usleep(5000);
	REQUIRE(w->holding);
	usleep(200000); /* the kept read is in the daemon now */
	before = median_round_trip(t, m.dir);
	/* All 1000 end at once: 250 segments, each awaited by four files. */
	for (int k = 0; k < WAIT_NAMES; k++) {
		char name[32];

		snprintf(name, sizeof(name), "many-%d", k);
		CU_ASSERT(make_segment(name, 0644, 0) == 0);
	}
	after = median_round_trip(t, m.dir);
	printf("\n    4242's median round trip with 1000 waits and a kept read: %ld ms; after "
	       "they ended: %ld ms ",
	       before, after);
	CU_ASSERT(before >= 0 && before < 100);
	CU_ASSERT(after >= 0 && after < 100);
	CU_ASSERT(!wait_for(&child, 0, NULL)); /* its read is still kept */
	/* SIGTERM with the read kept: the daemon answers it and exits 0, within 2 s. */
	stop_started = now_ms();
	kill(m.pid, SIGTERM);
	for (;;) {
		if (waitpid(m.pid, &status, WNOHANG) == m.pid) {
			exit_ms = now_ms() - stop_started;
			m.pid = 0;
			break;
		}
		if (now_ms() - stop_started > 5000)
			break;
		usleep(5000);
	}
	printf("exited %ld ms after SIGTERM; the kept read got %s ", exit_ms,
	       strerror(w->kept_err));
	CU_ASSERT(exit_ms >= 0 && exit_ms < 2000);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT(wait_for(&child, 2000, NULL));
	CU_ASSERT_EQUAL(w->kept_n, -1);
	CU_ASSERT_EQUAL(w->kept_err, ENOTCONN);
out:
	watch_mount(&m, false);
	finish(&child);
	if (m.pid > 0)
		mount_kill(&m);
	else if (m.dir[0]) {
		umount2(m.dir, MNT_DETACH);
		rmdir(m.dir);
	}
	for (int k = 0; k < WAIT_NAMES; k++) {
		char name[32];

		snprintf(name, sizeof(name), "many-%d", k);
		remove_segment(name);
	}
	shared_free(w, sizeof(*w));
	shared_free(t, sizeof(*t));
	end();
}

/*
 * A caller in a group: the child is root with fsuid and fsgid 4242, so
 * its requests come as uid 4242, and it can change its own supplementary
 * groups between them (a raw setgroups: this thread alone). Returns a
 * bit per open that succeeded: with the group, without, with again.
 */
static int open_with_and_without_group(const void *path)
{
	const gid_t group = 4300;
	int result = 0;

	setfsgid(OTHER);
	setfsuid(OTHER);
	for (int i = 0; i < 3; i++) {
		int fd;

		if (syscall(SYS_setgroups, i == 1 ? 0 : 1, &group) < 0)
			return 100;
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			result |= 1 << i;
			close(fd);
		} else if (errno != EACCES) {
			return 101;
		}
	}
	return result;
}

static void test_a_callers_groups_count_as_they_are_at_each_request(void)
{
	const char *path = mount_path(&mnt, "grp-shared");
	int r;

	begin(10);
	/* Owned by root and group 4300, writable by that group alone. */
	REQUIRE(make_segment("grp-shared", 0660, 4096) == 0);
	REQUIRE(chown("/dev/shm/grp-shared", 0, 4300) == 0);
	r = run_as(0, 5, open_with_and_without_group, path);
	/* Allowed in the group; refused at the very next request out of it; allowed again. */
	CU_ASSERT_EQUAL(r, 1 << 0 | 1 << 2);
	if (r != (1 << 0 | 1 << 2))
		printf("\n    opens allowed: %#x (want 0x5) ", r);
out:
	remove_segment("grp-shared");
	end();
}

int main(int argc, char **argv)
{
	static const char *const full_args[] = { "-o", DAEMON_OPTIONS, NULL };
	static const char *const old_args[] = { "-o", OLD_DAEMON_OPTIONS, NULL };
	static const struct test_case cases[] = {
		TEST(test_create_never_opens_another_users_racing_segment),
		TEST(test_unlink_through_a_stale_name_spares_the_new_owner),
		TEST(test_ctl_is_judged_by_its_opener),
		TEST(test_fifo_in_dev_shm_never_freezes_the_mount),
		TEST(test_files_that_are_not_segments_leak_no_descriptor),
		TEST(test_holders_shows_only_what_proc_would_show),
		TEST(test_holders_cannot_be_forged_through_proc_maps),
		TEST(test_anonymous_segments_are_limited_per_user),
		TEST(test_ctl_memory_is_bounded_per_user),
		TEST(test_anon_paths_are_ones_the_caller_can_open),
		TEST(test_a_long_command_does_not_delay_other_users),
		TEST(test_descriptors_held_for_a_user_are_limited),
		TEST(test_rename_moves_segments_as_the_caller),
		TEST(test_a_reply_buffer_holds_what_is_unread_not_what_was_read),
		TEST(test_errors_for_long_lines_stay_within_the_limits),
		TEST(test_holders_scans_are_bounded_per_user),
		TEST(test_directory_listings_are_charged_to_their_opener),
		TEST(test_waits_are_limited_per_user),
		TEST(test_a_thousand_waits_and_a_kept_read_delay_no_one),
		TEST(test_readers_and_summaries_of_one_user_park_no_thread),
		TEST(test_a_callers_groups_count_as_they_are_at_each_request),
		TEST_END,
	};
	const char *old = getenv("SECURITY_TEST_OLD_DAEMON");

	/* For checking against a daemon that predates the per-user limits (it refuses them). */
	daemon_args = old && strcmp(old, "1") == 0 ? old_args : full_args;
	if (daemon_args == old_args)
		printf("SECURITY_TEST_OLD_DAEMON=1: the daemon runs with -o %s only\n",
		       OLD_DAEMON_OPTIONS);
	deputy_path = argc > 2 ? argv[2] : NULL;
	return mount_suite_main_args(argc, argv, "security", cases, SHM_SIZE, &mnt, &daemon_path,
				     daemon_args);
}

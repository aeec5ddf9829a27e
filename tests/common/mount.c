/* SPDX-License-Identifier: MIT */
/* Test helpers for a real shmfs mount: start it, wait for it, stop it. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

#define DEADLINE_MS 10000

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_mounted(const char *dir)
{
	char line[4096], point[PATH_MAX], *dash;
	bool found = false;
	FILE *f = fopen("/proc/self/mountinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		/* id parent major:minor root mountpoint ... - fstype source options */
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		dash = strstr(line, " - ");
		found = strcmp(point, dir) == 0 && dash && strncmp(dash + 3, "fuse.", 5) == 0;
	}
	fclose(f);
	return found;
}

bool mount_possible(const char **why)
{
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		*why = "/dev/fuse cannot be opened";
		return false;
	}
	close(fd);
	if (access("/usr/bin/fusermount3", X_OK) != 0 && geteuid() != 0) {
		*why = "fusermount3 is missing";
		return false;
	}
	return true;
}

int mount_start(struct test_mount *m, const char *daemon, const char *const *args)
{
	const char *argv[32];
	size_t n = 0;
	long deadline;

	snprintf(m->dir, sizeof(m->dir), "/tmp/shmfs-test-XXXXXX");
	if (!mkdtemp(m->dir) || chmod(m->dir, 0755) < 0) {
		fprintf(stderr, "mount_start: mkdtemp: %s\n", strerror(errno));
		return -1;
	}
	argv[n++] = daemon;
	argv[n++] = "-f";
	/* A suite run again in another mode: SHMFS_TEST_OPTIONS=passthrough=off. */
	if (getenv("SHMFS_TEST_OPTIONS") && *getenv("SHMFS_TEST_OPTIONS")) {
		argv[n++] = "-o";
		argv[n++] = getenv("SHMFS_TEST_OPTIONS");
	}
	for (; args && *args && n < 29; args++)
		argv[n++] = *args;
	argv[n++] = m->dir;
	argv[n] = NULL;

	fflush(NULL);
	m->pid = fork();
	if (m->pid < 0)
		return -1;
	if (m->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(daemon, (char *const *)argv);
		fprintf(stderr, "mount_start: exec %s: %s\n", daemon, strerror(errno));
		_exit(127);
	}
	deadline = now_ms() + DEADLINE_MS;
	while (!is_mounted(m->dir)) {
		int status;

		if (waitpid(m->pid, &status, WNOHANG) == m->pid) {
			fprintf(stderr, "mount_start: %s died before mounting (status %d)\n",
				daemon, status);
			rmdir(m->dir);
			m->pid = 0;
			return -1;
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "mount_start: %s did not mount within %d ms\n", daemon,
				DEADLINE_MS);
			kill(m->pid, SIGKILL);
			waitpid(m->pid, NULL, 0);
			rmdir(m->dir);
			m->pid = 0;
			return -1;
		}
		usleep(5000);
	}
	return 0;
}

bool mount_alive(const struct test_mount *m)
{
	return m->pid > 0 && waitpid(m->pid, NULL, WNOHANG) == 0;
}

int mount_stop(struct test_mount *m)
{
	long deadline = now_ms() + DEADLINE_MS;
	int status = -1;

	if (m->pid <= 0)
		return -1;
	if (geteuid() == 0) {
		/* Releases of files just closed reach the daemon a moment later: busy meanwhile. */
		int r;

		while ((r = umount2(m->dir, 0)) < 0 && errno == EBUSY && now_ms() < deadline)
			usleep(5000);
		if (r < 0 && errno != EINVAL) {
			fprintf(stderr, "mount_stop: umount %s: %s; detaching\n", m->dir,
				strerror(errno));
			umount2(m->dir, MNT_DETACH);
		}
	} else {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "fusermount3 -u %s", m->dir);
		if (system(cmd) != 0) {
			snprintf(cmd, sizeof(cmd), "fusermount3 -u -z %s", m->dir);
			(void)!system(cmd);
		}
	}
	while (waitpid(m->pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			fprintf(stderr, "mount_stop: daemon %ld did not exit; killing it\n",
				(long)m->pid);
			kill(m->pid, SIGKILL);
			waitpid(m->pid, &status, 0);
			status = -1;
			break;
		}
		usleep(5000);
	}
	m->pid = 0;
	rmdir(m->dir);
	return status;
}

int mount_wait_exit(struct test_mount *m)
{
	long deadline = now_ms() + DEADLINE_MS;
	int status;

	while (waitpid(m->pid, &status, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			fprintf(stderr, "mount_wait_exit: daemon %ld still running\n",
				(long)m->pid);
			return mount_stop(m), -1;
		}
		usleep(5000);
	}
	m->pid = 0;
	if (is_mounted(m->dir)) {
		fprintf(stderr, "mount_wait_exit: the daemon left %s mounted\n", m->dir);
		umount2(m->dir, MNT_DETACH);
		status = -1;
	}
	rmdir(m->dir);
	return status;
}

const char *mount_path(const struct test_mount *m, const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX, "%s/%s", m->dir, name);
	return p;
}

int mount_passthrough(const struct test_mount *m, char *buf, size_t size)
{
	char status[4096], *line;
	int fd = open(mount_path(m, ".ctl"), O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, status, sizeof(status) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	status[n] = '\0';
	line = strstr(status, "\npassthrough ");
	if (!line)
		return -1;
	line += strlen("\npassthrough ");
	snprintf(buf, size, "%.*s", (int)strcspn(line, "\n"), line);
	return 0;
}

int mount_ctl(int fd, const char *command, char *reply, size_t size)
{
	char line[8192];
	int err = 0;
	ssize_t n;

	snprintf(line, sizeof(line), "%s\n", command);
	if (write(fd, line, strlen(line)) < 0)
		err = errno;
	n = read(fd, reply, size - 1);
	reply[n > 0 ? n : 0] = '\0';
	return err;
}

int mount_suite_main(int argc, char **argv, const char *suite, const struct test_case *cases,
		     size_t shm_size, struct test_mount *m, const char **ret_daemon)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PATH-TO-SHMFS\n", argv[0]);
		return 2;
	}
	return mount_suite_main_args(argc, argv, suite, cases, shm_size, m, ret_daemon, NULL);
}

int mount_suite_main_args(int argc, char **argv, const char *suite, const struct test_case *cases,
			  size_t shm_size, struct test_mount *m, const char **ret_daemon,
			  const char *const *args)
{
	struct rlimit limit;
	const char *why;
	int status, daemon_status;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH-TO-SHMFS [ARGS...]\n", argv[0]);
		return 2;
	}
	*ret_daemon = argv[1];
	if (geteuid() != 0) {
		printf("SKIP: needs root for a private mount namespace and a second uid\n");
		return 77;
	}
	if (!mount_possible(&why)) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	test_isolate_shm(shm_size);
	/* The daemon must cope with the usual soft limit, whatever this shell set. */
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_max >= 1024) {
		limit.rlim_cur = 1024;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	if (mount_start(m, argv[1], args) < 0)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
	status = test_run_suite(suite, cases);
	daemon_status = mount_stop(m);
	if (!WIFEXITED(daemon_status) || WEXITSTATUS(daemon_status) != 0) {
		fprintf(stderr, "the daemon did not exit cleanly (status %d)\n", daemon_status);
		status = 1;
	}
	return status;
}

/* The last line of text, without its newline. */
void reply_last_line(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text);
	const char *start;

	if (len && text[len - 1] == '\n')
		len--;
	start = text + len;
	while (start > text && start[-1] != '\n')
		start--;
	snprintf(buf, size, "%.*s", (int)(text + len - start), start);
}

/*
 * Whether line is lead + "N other processes", optionally followed by
 * "; partial: M processes could not be read" (in this sandbox even root
 * cannot read /proc/1/maps).
 */
bool reply_is_hidden_count(const char *line, const char *lead, unsigned hidden)
{
	char expect[64];
	unsigned unreadable;
	size_t len;
	int end = 0;

	len = (size_t)snprintf(expect, sizeof(expect), "%s%u other processes", lead, hidden);
	if (strncmp(line, expect, len) != 0)
		return false;
	if (line[len] == '\0')
		return true;
	return sscanf(line + len, "; partial: %u processes could not be read%n", &unreadable,
		      &end) == 1 &&
	       end > 0 && line[len + (size_t)end] == '\0';
}

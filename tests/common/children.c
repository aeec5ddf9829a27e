/* SPDX-License-Identifier: MIT */
/* Test helpers for children acting as other users (children.h). */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "children.h"

#define STRAGGLERS_MAX 64

static pid_t stragglers[STRAGGLERS_MAX]; /* killed, but stuck in a mount: reaped later */
static size_t straggler_count;

long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Memory the children write their results into. */
void *shared_new(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void shared_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

/*
 * Runs fn(arg) in a child as uid (and gid uid; root stays root), without
 * supplementary groups, killed by SIGALRM after alarm_s seconds. The child
 * is dumpable, as any process the user would start, so its /proc entries
 * are the user's own.
 */
pid_t spawn_as(uid_t uid, unsigned alarm_s, int (*fn)(const void *), const void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	if (uid != 0 && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
		_exit(CHILD_SETUP_FAILED);
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	umask(022);
	alarm(alarm_s);
	_exit(fn(arg));
}

/*
 * Waits up to ms for *pid to end; true (*pid then -1, *status its status
 * when wanted) when it did, or is no child of ours.
 */
bool wait_for(pid_t *pid, long ms, int *status)
{
	long deadline = now_ms() + ms;
	int st = -1;

	if (*pid <= 0)
		return true;
	for (;;) {
		pid_t r = waitpid(*pid, &st, WNOHANG);

		if (r == *pid || r < 0) {
			if (status)
				*status = r < 0 ? -1 : st;
			*pid = -1;
			return true;
		}
		if (now_ms() >= deadline)
			return false;
		usleep(2000);
	}
}

/* Kills *pid and reaps it; a child stuck in a mount is reaped later. */
void finish(pid_t *pid)
{
	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	if (!wait_for(pid, 3000, NULL) && straggler_count < STRAGGLERS_MAX) {
		stragglers[straggler_count++] = *pid;
		*pid = -1;
	}
}

void reap_stragglers(void)
{
	for (size_t i = 0; i < straggler_count;) {
		pid_t r = waitpid(stragglers[i], NULL, WNOHANG);

		if (r == stragglers[i] || r < 0)
			stragglers[i] = stragglers[--straggler_count];
		else
			i++;
	}
}

/* spawn_as, then waits: fn's exit code, RUN_TIMEOUT or RUN_KILLED. */
int run_as(uid_t uid, unsigned alarm_s, int (*fn)(const void *), const void *arg)
{
	pid_t pid = spawn_as(uid, alarm_s, fn, arg);
	int status;

	if (pid < 0)
		return -1;
	if (!wait_for(&pid, alarm_s * 1000L + 2000, &status)) {
		finish(&pid);
		return RUN_TIMEOUT;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : RUN_KILLED;
}

bool wait_flag(const int *flag, int value, long ms)
{
	for (long deadline = now_ms() + ms; __atomic_load_n(flag, __ATOMIC_ACQUIRE) < value;) {
		if (now_ms() > deadline)
			return false;
		usleep(2000);
	}
	return true;
}

void set_flag(int *flag, int value)
{
	__atomic_store_n(flag, value, __ATOMIC_RELEASE);
}

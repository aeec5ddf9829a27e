/* SPDX-License-Identifier: MIT */
/*
 * shmfs: acting as the caller. A root daemon serving other users resolves
 * names in /dev/shm with the caller's filesystem uid, gid and
 * supplementary groups, switched on the worker thread for the time of one
 * operation, so the kernel itself applies modes, the sticky bit and
 * protected_regular, and new segments belong to their creator.
 *
 * setfsuid, setfsgid and the raw setgroups system call change only the
 * calling thread. glibc's setgroups() changes every thread of the process
 * (it broadcasts, as POSIX wants), so it must not be used here. A thread
 * whose fsuid is not 0 loses CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN and the
 * other file capabilities until it switches back.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "creds_i.h"

static struct {
	bool can_switch; /* the daemon runs as root */
	uid_t uid;
	gid_t gid;
	int group_count;
	gid_t groups[CREDS_GROUPS_MAX];
} self; /* process scope: the ids this process runs as, read once at start */

/*
 * Thread scope: what creds_enter changed on this thread (fsuid, groups,
 * effective ids and capabilities are each per thread), for creds_leave.
 */
static _Thread_local struct {
	bool switched;   /* for creds_leave and the assertion in creds_enter */
	bool groups_set; /* creds_enter set the groups: set them back */
	bool viewer_ids; /* creds_enter_viewer made the effective ids the caller's */
	/* The effective capabilities before creds_enter_viewer lowered them all. */
	bool caps_lowered;
	struct __user_cap_data_struct caps_saved[2];
} thread;

/* This thread's capabilities, kept to be raised again by creds_leave. */
static int save_capabilities(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3,
						   .pid = 0 };

	return syscall(SYS_capget, &header, thread.caps_saved) < 0 ? -errno : 0;
}

static int lower_capabilities(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3,
						   .pid = 0 };
	struct __user_cap_data_struct data[2];

	memcpy(data, thread.caps_saved, sizeof(data));
	data[0].effective = data[1].effective = 0;
	thread.caps_lowered = true; /* raised again whatever capset did */
	if (syscall(SYS_capset, &header, data) < 0)
		return -errno;
	return 0;
}

static int raise_capabilities(void)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3,
						   .pid = 0 };

	if (syscall(SYS_capset, &header, thread.caps_saved) < 0)
		return -errno;
	thread.caps_lowered = false;
	return 0;
}

int creds_init(void)
{
	int n;

	self.uid = geteuid();
	self.gid = getegid();
	self.can_switch = self.uid == 0;
	/*
	 * Root needs no supplementary groups, and without them a caller
	 * without any (most requests, see creds_of_req) is entered and left
	 * without two setgroups calls. Before any thread: glibc's setgroups
	 * sets every thread's anyway.
	 */
	if (self.can_switch)
		(void)setgroups(0, NULL);
	n = getgroups(CREDS_GROUPS_MAX, self.groups);
	if (n < 0)
		return -errno;
	self.group_count = n;
	return 0;
}

bool creds_switching(void)
{
	return self.can_switch;
}

bool creds_is_daemon(uid_t uid)
{
	return uid == 0 || uid == self.uid;
}

void creds_of_req(fuse_req_t req, struct creds *ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	ret->uid = ctx->uid;
	ret->gid = ctx->gid;
	ret->pid = ctx->pid;
	ret->group_count = 0;
	/* Not needed: nothing to switch, or root's rights anyway. */
	ret->groups_read = !self.can_switch || ret->uid == 0;
}

void creds_groups(fuse_req_t req, struct creds *c)
{
	int n;

	if (c->groups_read)
		return;
	/*
	 * The kernel sends no supplementary groups; libfuse reads them from
	 * /proc/PID/task/PID/status, now. A caller gone meanwhile gets none:
	 * fewer rights, never more.
	 */
	n = fuse_req_getgroups(req, CREDS_GROUPS_MAX, c->groups);
	c->group_count = n < 0 ? 0 : (n > CREDS_GROUPS_MAX ? CREDS_GROUPS_MAX : n);
	c->groups_read = true;
}

bool creds_retry(fuse_req_t req, struct creds *c, int r)
{
	if ((r != -EACCES && r != -EPERM) || c->groups_read)
		return false;
	creds_groups(req, c);
	return c->group_count > 0;
}

static int set_groups(int count, const gid_t *groups)
{
	return syscall(SYS_setgroups, (size_t)count, groups) < 0 ? -errno : 0;
}

int creds_enter(const struct creds *c)
{
	int r;

	if (!self.can_switch || (c->uid == self.uid && c->gid == self.gid))
		return 0;
	if (thread.switched)
		return -EDEADLK; /* a bug: every enter has its leave */
	/* The daemon has no supplementary groups (creds_init): none to set for none. */
	thread.groups_set = c->group_count || self.group_count;
	r = thread.groups_set ? set_groups(c->group_count, c->groups) : 0;
	if (r < 0)
		return r;
	thread.switched = true;
	setfsgid(c->gid);
	setfsuid(c->uid);
	/* setfsuid reports no errors: ask what is in force now. */
	if ((uid_t)setfsuid((uid_t)-1) != c->uid || (gid_t)setfsgid((gid_t)-1) != c->gid) {
		creds_leave();
		return -EPERM;
	}
	return 0;
}

int creds_enter_viewer(const struct creds *c)
{
	int r;

	if (!self.can_switch || c->uid == 0)
		return 0;
	/*
	 * The daemon's own capabilities, before the fsuid switch drops the
	 * file ones: what creds_leave raises again (once the effective ids
	 * are root's, a later fsuid switch to root would not).
	 */
	r = save_capabilities();
	if (r < 0)
		return r;
	r = creds_enter(c);
	if (r < 0 || !thread.switched)
		return r;
	/*
	 * The fsuid switch keeps the effective ids root's, and with them
	 * CAP_SYS_PTRACE, CAP_SYS_ADMIN and CAP_PERFMON (each enough for
	 * /proc to let a thread read any process) and the capabilities root
	 * has in every user namespace it owns. An unprivileged caller has
	 * none of them: the effective ids become the caller's too (raw system
	 * calls: this thread alone; the saved ids stay root's, to come back),
	 * which also clears the effective capabilities, cleared once more.
	 */
	thread.viewer_ids = true;
	if (syscall(SYS_setresgid, (gid_t)-1, c->gid, (gid_t)-1) < 0 ||
	    syscall(SYS_setresuid, (uid_t)-1, c->uid, (uid_t)-1) < 0)
		r = -errno;
	if (r == 0)
		r = lower_capabilities();
	if (r < 0)
		creds_leave();
	return r;
}

void creds_leave(void)
{
	/* Effective ids first: back to root's, the capabilities can be raised. */
	if (thread.viewer_ids && (syscall(SYS_setresuid, (uid_t)-1, self.uid, (uid_t)-1) < 0 ||
				  syscall(SYS_setresgid, (gid_t)-1, self.gid, (gid_t)-1) < 0)) {
		fuse_log(FUSE_LOG_ERR, "shmfs: cannot restore the daemon's ids: %s\n",
			 strerror(errno));
		abort();
	}
	thread.viewer_ids = false;
	if (thread.caps_lowered && raise_capabilities() < 0) {
		fuse_log(FUSE_LOG_ERR, "shmfs: cannot restore the daemon's capabilities: %s\n",
			 strerror(errno));
		abort();
	}
	if (!thread.switched)
		return;
	setfsuid(self.uid);
	setfsgid(self.gid);
	if ((thread.groups_set && set_groups(self.group_count, self.groups) < 0) ||
	    (uid_t)setfsuid((uid_t)-1) != self.uid) {
		/* A thread that cannot become the daemon again must not serve anyone. */
		fuse_log(FUSE_LOG_ERR, "shmfs: cannot restore the daemon's credentials: %s\n",
			 strerror(errno));
		abort();
	}
	thread.switched = false;
}

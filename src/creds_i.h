/* SPDX-License-Identifier: MIT */
/* shmfs: acting as the caller (per-thread fsuid, fsgid and groups), see creds.c. */
#ifndef CREDS_I_H
#define CREDS_I_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <sys/types.h>

/* Supplementary groups taken into account; a caller in more acts with the first ones. */
#define CREDS_GROUPS_MAX 256

/* Who a request acts for. */
struct creds {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int group_count;
	gid_t groups[CREDS_GROUPS_MAX];
};

/* At start: records the daemon's own credentials. 0 or -errno. */
int creds_init(void);
/* Whether the daemon can act as another user (it runs as root). */
bool creds_switching(void);
/* Whether uid has the daemon's own rights (root, or the user running it). */
bool creds_is_daemon(uid_t uid);
/* The caller of req, with supplementary groups when they matter. */
void creds_of_req(fuse_req_t req, struct creds *ret);
/*
 * Makes this thread act as c for file access (nothing to do when the
 * daemon cannot switch, or c is the daemon). 0, or -errno with nothing
 * changed. Every successful call is paired with creds_leave on the same
 * thread before the thread replies.
 */
int creds_enter(const struct creds *c);
/*
 * creds_enter for a caller other than root, and also without any
 * effective capability (the fsuid switch keeps CAP_SYS_PTRACE,
 * CAP_SYS_ADMIN and CAP_PERFMON, each enough for /proc), so that /proc
 * judges this thread as it would judge c: opening /proc/PID/maps then
 * succeeds only where c's own would.
 */
int creds_enter_viewer(const struct creds *c);
/* Back to the daemon's own credentials (aborts if that fails: never serve as someone else). */
void creds_leave(void);

#endif /* CREDS_I_H */

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
	bool groups_read; /* groups is the caller's (creds_groups), not yet empty */
	int group_count;
	gid_t groups[CREDS_GROUPS_MAX];
};

/* At start: records the daemon's own credentials. 0 or -errno. */
int creds_init(void);
/* Whether the daemon can act as another user (it runs as root). */
bool creds_switching(void);
/* Whether uid has the daemon's own rights (root, or the user running it). */
bool creds_is_daemon(uid_t uid);
/*
 * The caller of req, without supplementary groups yet: an operation runs
 * first as the caller's fsuid and fsgid alone, and again with the groups
 * only when that was refused (creds_retry). Groups only ever add rights,
 * so what is allowed without them is allowed, and does the same, with
 * them; reading them costs a /proc read per request, which most requests
 * do not need. Where groups change an outcome without an error (the
 * set-gid bit kept or dropped on chmod, truncate, create), read them
 * first: creds_groups.
 */
void creds_of_req(fuse_req_t req, struct creds *ret);
/* Reads the caller's supplementary groups now, as the kernel has them for this request. */
void creds_groups(fuse_req_t req, struct creds *c);
/*
 * After an operation as c that returned r: true when it was refused
 * (-EACCES, -EPERM) before c's groups were read and the caller has some:
 * they are read now, and the operation is to be run again.
 */
bool creds_retry(fuse_req_t req, struct creds *c, int r);
/*
 * Makes this thread act as c for file access (nothing to do when the
 * daemon cannot switch, or c is the daemon). 0, or -errno with nothing
 * changed. Every successful call is paired with creds_leave on the same
 * thread before the thread replies.
 */
int creds_enter(const struct creds *c);
/*
 * creds_enter for a caller other than root, with the caller's effective
 * uid and gid too (raw setresuid/setresgid: this thread alone; the saved
 * ids stay root's) and without any effective capability, so that /proc
 * judges this thread as it would judge the caller's own process: root's
 * effective uid keeps every capability in the user namespaces root owns,
 * and the fsuid switch keeps CAP_SYS_PTRACE, CAP_SYS_ADMIN and CAP_PERFMON.
 */
int creds_enter_viewer(const struct creds *c);
/* Back to the daemon's own credentials (aborts if that fails: never serve as someone else). */
void creds_leave(void);

#endif /* CREDS_I_H */

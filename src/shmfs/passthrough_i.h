/* SPDX-License-Identifier: MIT */
/*
 * shmfs: passthrough's pieces, between its common part (passthrough.c)
 * and the one implementation a build has: passthrough_hooks.c (libfuse
 * before 3.17: reply patching) or passthrough_libfuse.c (libfuse's API).
 */
#ifndef PASSTHROUGH_I_H
#define PASSTHROUGH_I_H

#include <sys/uio.h>

#include "shmfs_i.h"

/* The common part, which the implementation calls: set up on or off (and why). */
void passthrough_state_init(bool on, const char *why_off);
/* Whether setup turned it on (-o passthrough=auto, no cache=on, hooks in place). */
bool passthrough_enabled(void);
/* The kernel accepted it. */
void passthrough_set_active(void);
/* Off, and why (for the status line). */
void passthrough_set_off(const char *why);
/*
 * Registering fd as a backing file failed with err: off for good when it
 * never will work, which a file of PSHM_DIR's own file system tells; a
 * file elsewhere (a view's object: a hugetlb memfd, say) only goes
 * without passthrough itself.
 */
void passthrough_registration_failed(int err, int fd);

/*
 * The reply hooks (passthrough_hooks.c only), apart from libfuse for the
 * unit tests: the read hook notes each request, the writev hook patches
 * the INIT reply and the OPEN or CREATE reply that passthrough_mark marked.
 */
ssize_t passthrough_hook_read(int fd, void *buf, size_t len, void *userdata);
ssize_t passthrough_hook_writev(int fd, struct iovec *iov, int count, void *userdata);
/* Installs the hooks on se for its device fd (the mounted session's own, or a test's). */
int passthrough_hooks_install(struct fuse_session *se, int fd);

#endif /* PASSTHROUGH_I_H */

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

/* The implementation: what setup does on the mounted session. 0 or -errno. */
int passthrough_impl_setup(struct fuse_session *se);

/* The common part: the kernel accepted it. */
void passthrough_set_active(void);
/* Off, and why (for the status line). */
void passthrough_set_off(const char *why);
/* Registering a backing file failed with err: off for good when it never will work. */
void passthrough_registration_failed(int err);

/*
 * The reply hooks (passthrough_hooks.c only), apart from libfuse for the
 * unit tests: the read hook notes each request, the writev hook patches
 * the INIT reply and the OPEN or CREATE reply that passthrough_mark marked.
 */
ssize_t passthrough_hook_read(int fd, void *buf, size_t len, void *userdata);
ssize_t passthrough_hook_writev(int fd, struct iovec *iov, int count, void *userdata);

#endif /* PASSTHROUGH_I_H */

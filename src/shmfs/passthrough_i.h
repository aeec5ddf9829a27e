/* SPDX-License-Identifier: MIT */
/*
 * shmfs: passthrough: what the rest of the daemon calls, then its pieces,
 * between its common part (passthrough.c) and the one implementation a
 * build has: passthrough_hooks.c (libfuse
 * before 3.17: reply patching) or passthrough_libfuse.c (libfuse's API).
 */
#ifndef PASSTHROUGH_I_H
#define PASSTHROUGH_I_H

#include <stdatomic.h>
#include <sys/uio.h>

#include "shmfs_i.h"

/* passthrough*.c: the kernel serving open files' data from the segment (see there). */
/*
 * On the mounted session, before the loop: enabled, or why not (for the
 * status line). 0 or -errno (passthrough is then off).
 */
int passthrough_setup(struct shmfs *fs, bool enabled, const char *why_off);
/* At INIT: asks for passthrough when the kernel offers it. */
void passthrough_init(struct shmfs *fs, struct fuse_conn_info *conn);
/* Whether the kernel accepted passthrough and registering still works. */
bool passthrough_active(struct shmfs *fs);
/* "on", or "off: " and why, for the status summary. */
void passthrough_status(struct shmfs *fs, char *buf, size_t size);
/* Which implementation this build has: "native" (libfuse 3.17+) or "hooks" (before). */
const char *passthrough_implementation(void);
/* Registers the segment open as fd as a backing file: its id, or -errno. */
int passthrough_register(struct shmfs *fs, fuse_req_t req, int fd);
/* Closes a backing id; req, the request being handled, or NULL once it has been replied to. */
void passthrough_unregister(struct shmfs *fs, fuse_req_t req, int id);
/*
 * The OPEN or CREATE reply this thread sends next (with fi) is to name
 * backing_id. If it cannot (the reply is not one the hooks know), it keeps
 * direct I/O and declined(ctx) is called before it is sent, while the open
 * file is still the handler's: passthrough fails closed.
 */
void passthrough_mark(struct fuse_file_info *fi, int backing_id, void (*declined)(void *ctx),
		      void *ctx);

/* The daemon's passthrough state (fs->passthrough): passthrough*.c's own. */
struct passthrough {
	atomic_bool enabled; /* -o passthrough=auto, and the hooks are in */
	atomic_bool active;  /* the kernel accepted it, and registering still works */
	atomic_bool offered; /* the kernel's INIT offered it (passthrough_hooks.c) */
	pthread_mutex_t why_lock;
	char why_not[128]; /* under why_lock */
};
/* Makes and frees fs->passthrough (off, "not set up"): 0 or -ENOMEM. */
int passthrough_new(struct shmfs *fs);
void passthrough_free(struct shmfs *fs);

/* The common part, which the implementation calls: set up on or off (and why). */
void passthrough_state_init(struct shmfs *fs, bool on, const char *why_off);
/* Whether setup turned it on (-o passthrough=auto, no cache=on, hooks in place). */
bool passthrough_enabled(struct shmfs *fs);
/* The kernel accepted it. */
void passthrough_set_active(struct shmfs *fs);
/* Off, and why (for the status line). */
void passthrough_set_off(struct shmfs *fs, const char *why);
/*
 * Registering fd as a backing file failed with err: off for good when it
 * never will work, which a file of PSHM_DIR's own file system tells; a
 * file elsewhere (a view's object: a hugetlb memfd, say) only goes
 * without passthrough itself.
 */
void passthrough_registration_failed(struct shmfs *fs, int err, int fd);

/*
 * The reply hooks (passthrough_hooks.c only), apart from libfuse for the
 * unit tests: the read hook notes each request, the writev hook patches
 * the INIT reply and the OPEN or CREATE reply that passthrough_mark marked.
 */
ssize_t passthrough_hook_read(int fd, void *buf, size_t len, void *userdata);
ssize_t passthrough_hook_writev(int fd, struct iovec *iov, int count, void *userdata);
/* Installs the hooks on se for its device fd (the mounted session's own, or a test's). */
int passthrough_hooks_install(struct shmfs *fs, int fd);

#endif /* PASSTHROUGH_I_H */

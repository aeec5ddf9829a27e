/* SPDX-License-Identifier: MIT */
/* shmfs: the anonymous segments (anon.c). */
#ifndef ANON_I_H
#define ANON_I_H

#include "shmfs_i.h"

/* anon.c: the anonymous segments the daemon holds. */
#define ANON_NAME_PREFIX "shmfs-anon-" /* after the mount's prefix, for an instant */
#define ANON_ALL ((uid_t)-1)           /* anon_list: every user's */

struct anon_info {
	uint64_t id;
	struct stat st;
	bool held; /* freed when the .ctl descriptor that made it closes */
};

/*
 * Makes fs->anons (0 or -ENOMEM); the instant names of new segments stay
 * inside the mount's prefix. Frees it with every segment left (at exit).
 */
int anons_new(struct shmfs *fs);
void anons_free(struct shmfs *fs);
/*
 * Creates an anonymous segment of size bytes and mode as owner (who owns
 * it then, and is charged for it); holder (a .ctl session) or NULL.
 * Returns 0 with its id and the daemon's descriptor; -EDQUOT at the
 * owner's count or bytes limit; -EMFILE when the owner (or the daemon) is
 * out of descriptors; or what libpshm reports, with its account in *err.
 */
int anon_create(struct shmfs *fs, off_t size, mode_t mode, const struct creds *owner,
		const void *holder, uint64_t *ret_id, int *ret_fd, struct pshm_error *err);
/* Releases id: -ENOENT, or -EPERM unless caller owns it or is root. */
int anon_free(struct shmfs *fs, uint64_t id, uid_t caller);
/* Releases every segment that holder holds. */
void anon_release_holder(struct shmfs *fs, const void *holder);
/* Status of id; -ENOENT when gone. */
int anon_stat(struct shmfs *fs, uint64_t id, struct stat *ret);
/* "/proc/PID/fd/N", the daemon's path of id's segment, into buf; -ENOENT when gone. */
int anon_proc_path(struct shmfs *fs, uint64_t id, char *buf, size_t size);
/* A new descriptor for id with oflags (access mode, O_TRUNC), with this thread's rights. */
int anon_reopen(struct shmfs *fs, uint64_t id, int oflags);
/*
 * caller's segments (all for root or ANON_ALL) into a new array *ret (the
 * caller frees it) of *ret_count. 0 or -ENOMEM.
 */
int anon_list(struct shmfs *fs, uid_t caller, struct anon_info **ret, size_t *ret_count);

#endif /* ANON_I_H */

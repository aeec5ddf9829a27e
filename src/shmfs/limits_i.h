/* SPDX-License-Identifier: MIT */
/* shmfs: per-user limits on what a user can make the daemon hold, see limits.c. */
#ifndef LIMITS_I_H
#define LIMITS_I_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct shmfs;

/* Defaults of the -o options (shmfs(8)). */
#define LIMIT_USER_FDS_DEFAULT 4096 /* user_fds=: descriptors held for one user */
#define LIMIT_ANON_MAX_DEFAULT 256  /* anon_max=: anonymous segments of one user */
#define LIMIT_CTL_MAX_DEFAULT 64    /* ctl_max=: open .ctl files of one user */
#define LIMIT_WAIT_MAX_DEFAULT 256  /* wait_max=: unfinished .ctl waits of one user */
/* anon_bytes= defaults to the size of /dev/shm. */

/* Fixed limits. */
#define LIMIT_CTL_USER_BYTES (1u << 20)  /* unread .ctl replies of one user, all files */
#define LIMIT_SCANS_USER 1               /* holders scans of one user at once */
#define LIMIT_DIR_USER_BYTES (64u << 20) /* listings one user holds open (opendir) */
#define LIMIT_DIRS_USER 128              /* directories one user holds open */
/* Descriptors only the daemon's own work may use (scans, reopening). */
#define LIMIT_FD_RESERVE_DAEMON 64
/* And below that, descriptors only root (and the daemon's own user) may use. */
#define LIMIT_FD_RESERVE_ROOT 64

enum limit_kind {
	LIMIT_FDS,       /* descriptors held (open files, anonymous segments, kept segments) */
	LIMIT_ANON,      /* anonymous segments */
	LIMIT_CTL,       /* open .ctl files */
	LIMIT_CTL_BYTES, /* unread .ctl reply bytes */
	LIMIT_SCANS,     /* holders scans running */
	LIMIT_DIR_BYTES, /* directory listings held open */
	LIMIT_DIRS,      /* directories held open */
	LIMIT_WAITS,     /* unfinished .ctl waits */
	LIMIT_KINDS
};

struct limits_config {
	uint64_t user_fds, anon_max, ctl_max, wait_max;
	uint64_t anon_bytes; /* checked by anon.c against the segments' sizes now */
	uint64_t fd_ceiling; /* the daemon's descriptor limit: the reserves above are kept back */
};

/* Makes fs->limits from fs->config.limits: 0 or -ENOMEM. */
int limits_new(struct shmfs *fs);
/* Frees fs->limits (at exit: whatever is still charged goes with it). */
void limits_free(struct shmfs *fs);
/*
 * Charges amount of kind to uid: 0, or the errno that names the limit:
 * -EMFILE (descriptors, .ctl files), -EDQUOT (anonymous segments, waits),
 * -ENOBUFS (reply bytes); nothing is charged then. Root and the daemon's
 * own user have no per-user limit but still leave LIMIT_FD_RESERVE_DAEMON.
 */
int limits_take(struct shmfs *fs, uid_t uid, enum limit_kind kind, uint64_t amount);
/* Gives back what limits_take charged. */
void limits_give(struct shmfs *fs, uid_t uid, enum limit_kind kind, uint64_t amount);
/* The per-user limit of kind (for messages). */
uint64_t limits_max(struct shmfs *fs, enum limit_kind kind);
/* The anonymous bytes limit of one user. */
uint64_t limits_anon_bytes(struct shmfs *fs);
/* What uid holds of kind now. */
uint64_t limits_held(struct shmfs *fs, uid_t uid, enum limit_kind kind);

#endif /* LIMITS_I_H */

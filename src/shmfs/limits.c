/* SPDX-License-Identifier: MIT */
/*
 * shmfs: per-user limits. Everything a client can make the daemon hold
 * (descriptors of open files and anonymous segments, .ctl files, unread
 * replies, waits) is charged to a user, so one user at a limit gets a clear
 * errno and every other user goes on as before. Descriptors also have a
 * global ceiling below the daemon's own limit, with reserves for the
 * daemon's work and for root.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "creds_i.h"
#include "limits_i.h"
#include "shmfs_i.h"

#define BUCKETS 64

struct account {
	struct account *next;
	uid_t uid;
	uint64_t held[LIMIT_KINDS];
};

struct limits {
	pthread_mutex_t lock;
	struct account *buckets[BUCKETS];
	uint64_t max[LIMIT_KINDS];
	uint64_t anon_bytes;
	uint64_t fds_total;      /* descriptors held for all users */
	uint64_t fds_for_users;  /* the most users other than root may make it */
	uint64_t fds_for_anyone; /* the most root may make it */
};

static const int limit_errno[LIMIT_KINDS] = {
	[LIMIT_FDS] = EMFILE,        [LIMIT_ANON] = EDQUOT,  [LIMIT_CTL] = EMFILE,
	[LIMIT_CTL_BYTES] = ENOBUFS, [LIMIT_SCANS] = EAGAIN, [LIMIT_DIR_BYTES] = EMFILE,
	[LIMIT_WAITS] = EDQUOT,      [LIMIT_DIRS] = EMFILE,
};

int limits_new(struct shmfs *fs)
{
	const struct limits_config *config = &fs->config.limits;
	uint64_t fd_ceiling = config->fd_ceiling;
	uint64_t reserve = LIMIT_FD_RESERVE_DAEMON + LIMIT_FD_RESERVE_ROOT;

	fs->limits = calloc(1, sizeof(*fs->limits));
	if (!fs->limits)
		return -ENOMEM;
	pthread_mutex_init(&fs->limits->lock, NULL);

	fs->limits->max[LIMIT_FDS] = config->user_fds;
	fs->limits->max[LIMIT_ANON] = config->anon_max;
	fs->limits->max[LIMIT_CTL] = config->ctl_max;
	fs->limits->max[LIMIT_CTL_BYTES] = LIMIT_CTL_USER_BYTES;
	fs->limits->max[LIMIT_SCANS] = LIMIT_SCANS_USER;
	fs->limits->max[LIMIT_DIR_BYTES] = LIMIT_DIR_USER_BYTES;
	fs->limits->max[LIMIT_WAITS] = config->wait_max;
	fs->limits->max[LIMIT_DIRS] = LIMIT_DIRS_USER;
	fs->limits->anon_bytes = config->anon_bytes;
	fs->limits->fds_for_anyone =
		fd_ceiling > LIMIT_FD_RESERVE_DAEMON ? fd_ceiling - LIMIT_FD_RESERVE_DAEMON : 0;
	fs->limits->fds_for_users = fd_ceiling > reserve ? fd_ceiling - reserve : 0;
	return 0;
}

void limits_free(struct shmfs *fs)
{
	if (!fs->limits)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		while (fs->limits->buckets[i]) {
			struct account *a = fs->limits->buckets[i];

			fs->limits->buckets[i] = a->next;
			free(a);
		}
	}
	pthread_mutex_destroy(&fs->limits->lock);
	free(fs->limits);
	fs->limits = NULL;
}

/* With the lock held: uid's account, made when create; NULL when out of memory. */
static struct account *account_of(struct shmfs *fs, uid_t uid, bool create)
{
	struct account **p = &fs->limits->buckets[uid % BUCKETS];

	for (; *p; p = &(*p)->next)
		if ((*p)->uid == uid)
			return *p;
	if (!create)
		return NULL;
	*p = calloc(1, sizeof(**p));
	if (*p)
		(*p)->uid = uid;
	return *p;
}

/* With the lock held: frees an account that holds nothing. */
static void account_drop_if_empty(struct shmfs *fs, struct account *a)
{
	struct account **p = &fs->limits->buckets[a->uid % BUCKETS];

	for (int k = 0; k < LIMIT_KINDS; k++)
		if (a->held[k])
			return;
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	free(a);
}

int limits_take(struct shmfs *fs, uid_t uid, enum limit_kind kind, uint64_t amount)
{
	bool privileged = creds_is_daemon(uid);
	struct account *a;
	int r = 0;

	pthread_mutex_lock(&fs->limits->lock);
	if (kind == LIMIT_FDS &&
	    fs->limits->fds_total + amount >
		    (privileged ? fs->limits->fds_for_anyone : fs->limits->fds_for_users)) {
		r = -EMFILE;
		goto out;
	}
	a = account_of(fs, uid, true);
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	if (!privileged && a->held[kind] + amount > fs->limits->max[kind]) {
		r = -limit_errno[kind];
		account_drop_if_empty(fs, a);
		goto out;
	}
	a->held[kind] += amount;
	if (kind == LIMIT_FDS)
		fs->limits->fds_total += amount;
out:
	pthread_mutex_unlock(&fs->limits->lock);
	return r;
}

void limits_give(struct shmfs *fs, uid_t uid, enum limit_kind kind, uint64_t amount)
{
	struct account *a;

	if (!amount)
		return;
	pthread_mutex_lock(&fs->limits->lock);
	a = account_of(fs, uid, false);
	assert(a && a->held[kind] >= amount);
	if (a) {
		a->held[kind] -= amount < a->held[kind] ? amount : a->held[kind];
		account_drop_if_empty(fs, a);
	}
	if (kind == LIMIT_FDS)
		fs->limits->fds_total -=
			amount < fs->limits->fds_total ? amount : fs->limits->fds_total;
	pthread_mutex_unlock(&fs->limits->lock);
}

uint64_t limits_max(struct shmfs *fs, enum limit_kind kind)
{
	return fs->limits->max[kind];
}

uint64_t limits_anon_bytes(struct shmfs *fs)
{
	return fs->limits->anon_bytes;
}

uint64_t limits_held(struct shmfs *fs, uid_t uid, enum limit_kind kind)
{
	struct account *a;
	uint64_t held;

	pthread_mutex_lock(&fs->limits->lock);
	a = account_of(fs, uid, false);
	held = a ? a->held[kind] : 0;
	pthread_mutex_unlock(&fs->limits->lock);
	return held;
}

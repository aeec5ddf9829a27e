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

#define BUCKETS 64

struct account {
	struct account *next;
	uid_t uid;
	uint64_t held[LIMIT_KINDS];
};

static struct {
	pthread_mutex_t lock;
	struct account *buckets[BUCKETS];
	uint64_t max[LIMIT_KINDS];
	uint64_t anon_bytes;
	uint64_t fds_total;      /* descriptors held for all users */
	uint64_t fds_for_users;  /* the most users other than root may make it */
	uint64_t fds_for_anyone; /* the most root may make it */
} limits = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const int limit_errno[LIMIT_KINDS] = {
	[LIMIT_FDS] = EMFILE,        [LIMIT_ANON] = EDQUOT,  [LIMIT_CTL] = EMFILE,
	[LIMIT_CTL_BYTES] = ENOBUFS, [LIMIT_SCANS] = EAGAIN, [LIMIT_DIR_BYTES] = EMFILE,
	[LIMIT_WAITS] = EDQUOT,      [LIMIT_DIRS] = EMFILE,
};

void limits_init(const struct limits_config *config, uint64_t fd_ceiling)
{
	uint64_t reserve = LIMIT_FD_RESERVE_DAEMON + LIMIT_FD_RESERVE_ROOT;

	limits.max[LIMIT_FDS] = config->user_fds;
	limits.max[LIMIT_ANON] = config->anon_max;
	limits.max[LIMIT_CTL] = config->ctl_max;
	limits.max[LIMIT_CTL_BYTES] = LIMIT_CTL_USER_BYTES;
	limits.max[LIMIT_SCANS] = LIMIT_SCANS_USER;
	limits.max[LIMIT_DIR_BYTES] = LIMIT_DIR_USER_BYTES;
	limits.max[LIMIT_WAITS] = config->wait_max;
	limits.max[LIMIT_DIRS] = LIMIT_DIRS_USER;
	limits.anon_bytes = config->anon_bytes;
	limits.fds_for_anyone =
		fd_ceiling > LIMIT_FD_RESERVE_DAEMON ? fd_ceiling - LIMIT_FD_RESERVE_DAEMON : 0;
	limits.fds_for_users = fd_ceiling > reserve ? fd_ceiling - reserve : 0;
}

/* With the lock held: uid's account, made when create; NULL when out of memory. */
static struct account *account_of(uid_t uid, bool create)
{
	struct account **p = &limits.buckets[uid % BUCKETS];

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
static void account_drop_if_empty(struct account *a)
{
	struct account **p = &limits.buckets[a->uid % BUCKETS];

	for (int k = 0; k < LIMIT_KINDS; k++)
		if (a->held[k])
			return;
	while (*p != a)
		p = &(*p)->next;
	*p = a->next;
	free(a);
}

int limits_take(uid_t uid, enum limit_kind kind, uint64_t amount)
{
	bool privileged = creds_is_daemon(uid);
	struct account *a;
	int r = 0;

	pthread_mutex_lock(&limits.lock);
	if (kind == LIMIT_FDS && limits.fds_total + amount > (privileged ? limits.fds_for_anyone
									 : limits.fds_for_users)) {
		r = -EMFILE;
		goto out;
	}
	a = account_of(uid, true);
	if (!a) {
		r = -ENOMEM;
		goto out;
	}
	if (!privileged && a->held[kind] + amount > limits.max[kind]) {
		r = -limit_errno[kind];
		account_drop_if_empty(a);
		goto out;
	}
	a->held[kind] += amount;
	if (kind == LIMIT_FDS)
		limits.fds_total += amount;
out:
	pthread_mutex_unlock(&limits.lock);
	return r;
}

void limits_give(uid_t uid, enum limit_kind kind, uint64_t amount)
{
	struct account *a;

	if (!amount)
		return;
	pthread_mutex_lock(&limits.lock);
	a = account_of(uid, false);
	assert(a && a->held[kind] >= amount);
	if (a) {
		a->held[kind] -= amount < a->held[kind] ? amount : a->held[kind];
		account_drop_if_empty(a);
	}
	if (kind == LIMIT_FDS)
		limits.fds_total -= amount < limits.fds_total ? amount : limits.fds_total;
	pthread_mutex_unlock(&limits.lock);
}

uint64_t limits_max(enum limit_kind kind)
{
	return limits.max[kind];
}

uint64_t limits_anon_bytes(void)
{
	return limits.anon_bytes;
}

uint64_t limits_held(uid_t uid, enum limit_kind kind)
{
	struct account *a;
	uint64_t held;

	pthread_mutex_lock(&limits.lock);
	a = account_of(uid, false);
	held = a ? a->held[kind] : 0;
	pthread_mutex_unlock(&limits.lock);
	return held;
}

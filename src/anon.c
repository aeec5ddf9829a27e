/* SPDX-License-Identifier: MIT */
/* shmfs: the anonymous segments the daemon holds for its clients. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs_i.h"

struct anon {
	uint64_t id;
	int fd;
	uid_t owner;        /* charged for it (limits.c) */
	const void *holder; /* the .ctl session that holds it, or NULL */
};

static char mount_prefix[PSHM_NAME_MAX + 1];

void anon_init(const char *prefix)
{
	snprintf(mount_prefix, sizeof(mount_prefix), "%s", prefix);
}

static struct {
	pthread_mutex_t lock;
	struct anon *items;
	size_t count, capacity;
	uint64_t next_id;
} anons = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1 };

/* With the lock held: the slot of id, or NULL. */
static struct anon *find(uint64_t id)
{
	for (size_t i = 0; i < anons.count; i++)
		if (anons.items[i].id == id)
			return &anons.items[i];
	return NULL;
}

/*
 * With the lock held: removes the slot; its descriptor goes into *ret_fd
 * for the caller to close after unlocking.
 */
static void drop(struct anon *a, int *ret_fd)
{
	*ret_fd = a->fd;
	limits_give(a->owner, LIMIT_ANON, 1);
	limits_give(a->owner, LIMIT_FDS, 1);
	*a = anons.items[--anons.count];
}

/* With the lock held: the bytes owner's segments take now (their sizes, as they are). */
static uint64_t bytes_of(uid_t owner)
{
	uint64_t total = 0;
	struct stat st;

	for (size_t i = 0; i < anons.count; i++)
		if (anons.items[i].owner == owner && fstat(anons.items[i].fd, &st) == 0)
			total += (uint64_t)st.st_size;
	return total;
}

/* Creates the segment as owner: the kernel makes it theirs, as their own shm_open would. */
static int make_segment(off_t size, mode_t mode, const struct creds *owner, struct pshm_error *err)
{
	char prefix[PSHM_NAME_MAX + sizeof(ANON_NAME_PREFIX)];
	int fd, r;

	/* The name lives for an instant; keep it inside the mount's prefix. */
	snprintf(prefix, sizeof(prefix), "%s" ANON_NAME_PREFIX, mount_prefix);
	r = creds_enter(owner);
	if (r < 0)
		return r;
	fd = pshm_open_anon(prefix, O_RDWR, mode, PSHM_ANON_ATTEMPTS, err);
	r = fd < 0 ? fd : pshm_truncate(fd, size, err);
	creds_leave();
	if (r < 0 && fd >= 0)
		pshm_close(fd, NULL);
	return r < 0 ? r : fd;
}

int anon_create(off_t size, mode_t mode, const struct creds *owner, const void *holder,
		uint64_t *ret_id, int *ret_fd, struct pshm_error *err)
{
	bool privileged = creds_is_daemon(owner->uid);
	struct anon *a;
	uint64_t id;
	int fd, r;

	r = limits_take(owner->uid, LIMIT_ANON, 1);
	if (r < 0)
		return r;
	r = limits_take(owner->uid, LIMIT_FDS, 1);
	if (r < 0) {
		limits_give(owner->uid, LIMIT_ANON, 1);
		return r;
	}
	pthread_mutex_lock(&anons.lock);
	if (!privileged && bytes_of(owner->uid) + (uint64_t)size > limits_anon_bytes())
		r = -EDQUOT;
	if (r == 0 && anons.count == anons.capacity) {
		size_t capacity = anons.capacity ? anons.capacity * 2 : 64;
		struct anon *items = realloc(anons.items, capacity * sizeof(*items));

		if (items) {
			anons.items = items;
			anons.capacity = capacity;
		} else {
			r = -ENOMEM;
		}
	}
	/*
	 * The bytes check and the insertion below are not one step; a user's
	 * commands come through that user's one .ctl inode, whose writes the
	 * kernel serialises, so the same owner does not race it.
	 */
	id = anons.next_id++;
	pthread_mutex_unlock(&anons.lock);
	fd = r < 0 ? r : make_segment(size, mode, owner, err);
	if (fd < 0) {
		limits_give(owner->uid, LIMIT_FDS, 1);
		limits_give(owner->uid, LIMIT_ANON, 1);
		return fd;
	}
	pthread_mutex_lock(&anons.lock);
	if (anons.count == anons.capacity) {
		/* Another create took the room meanwhile: grow again, or give up. */
		size_t capacity = anons.capacity * 2;
		struct anon *items = realloc(anons.items, capacity * sizeof(*items));

		if (!items) {
			pthread_mutex_unlock(&anons.lock);
			pshm_close(fd, NULL);
			limits_give(owner->uid, LIMIT_FDS, 1);
			limits_give(owner->uid, LIMIT_ANON, 1);
			return -ENOMEM;
		}
		anons.items = items;
		anons.capacity = capacity;
	}
	a = &anons.items[anons.count++];
	*a = (struct anon){ .id = id, .fd = fd, .owner = owner->uid, .holder = holder };
	pthread_mutex_unlock(&anons.lock);
	*ret_id = id;
	if (ret_fd)
		*ret_fd = fd;
	return 0;
}

/* Who may free or inspect: the owner, and root. */
static bool owns(int fd, uid_t caller)
{
	struct stat st;

	return caller == 0 || (fstat(fd, &st) == 0 && st.st_uid == caller);
}

int anon_free(uint64_t id, uid_t caller)
{
	struct anon *a;
	int r = 0, fd = -1;

	pthread_mutex_lock(&anons.lock);
	a = find(id);
	if (!a)
		r = -ENOENT;
	else if (!owns(a->fd, caller))
		r = -EPERM;
	else
		drop(a, &fd);
	pthread_mutex_unlock(&anons.lock);
	if (fd >= 0)
		close(fd);
	return r;
}

void anon_release_holder(const void *holder)
{
	int *fds = NULL;
	size_t count = 0;

	pthread_mutex_lock(&anons.lock);
	for (size_t i = 0; i < anons.count; i++)
		if (anons.items[i].holder == holder)
			count++;
	fds = count ? malloc(count * sizeof(*fds)) : NULL;
	count = 0;
	for (size_t i = 0; i < anons.count;) {
		int fd;

		if (anons.items[i].holder != holder) {
			i++;
			continue;
		}
		drop(&anons.items[i], &fd); /* the last one moved here: look again */
		if (fds)
			fds[count++] = fd;
		else
			close(fd); /* no memory for the list: close here, rarely */
	}
	pthread_mutex_unlock(&anons.lock);
	while (count)
		close(fds[--count]);
	free(fds);
}

int anon_stat(uint64_t id, struct stat *ret, int *ret_fd)
{
	struct anon *a;
	int r;

	pthread_mutex_lock(&anons.lock);
	a = find(id);
	r = a ? pshm_stat(a->fd, ret, NULL) : -ENOENT;
	if (a && ret_fd)
		*ret_fd = a->fd;
	pthread_mutex_unlock(&anons.lock);
	return r;
}

int anon_reopen(uint64_t id, int oflags)
{
	char path[64];
	struct anon *a;
	int fd;

	pthread_mutex_lock(&anons.lock);
	a = find(id);
	if (!a) {
		pthread_mutex_unlock(&anons.lock);
		return -ENOENT;
	}
	/*
	 * Through /proc, as whoever the thread acts for: the kernel checks
	 * the segment's mode. The lock keeps the descriptor from being
	 * closed and reused meanwhile.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a->fd);
	fd = open(path, (oflags & (O_ACCMODE | O_TRUNC)) | O_CLOEXEC);
	pthread_mutex_unlock(&anons.lock);
	return fd < 0 ? -errno : fd;
}

int anon_list(uid_t caller, struct anon_info **ret, size_t *ret_count)
{
	struct anon_info *out;
	size_t n = 0;

	pthread_mutex_lock(&anons.lock);
	out = malloc((anons.count ? anons.count : 1) * sizeof(*out));
	if (!out) {
		pthread_mutex_unlock(&anons.lock);
		return -ENOMEM;
	}
	for (size_t i = 0; i < anons.count; i++) {
		struct anon *a = &anons.items[i];
		struct stat st;

		if (fstat(a->fd, &st) < 0)
			continue;
		if (caller != ANON_ALL && caller != 0 && st.st_uid != caller)
			continue;
		out[n++] = (struct anon_info){
			.id = a->id, .fd = a->fd, .st = st, .held = a->holder != NULL
		};
	}
	pthread_mutex_unlock(&anons.lock);
	*ret = out;
	*ret_count = n;
	return 0;
}

void anon_destroy(void)
{
	pthread_mutex_lock(&anons.lock);
	while (anons.count)
		close(anons.items[--anons.count].fd);
	free(anons.items);
	anons.items = NULL;
	anons.capacity = 0;
	pthread_mutex_unlock(&anons.lock);
}

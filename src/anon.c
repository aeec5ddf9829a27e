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
	const void *holder; /* the .ctl session that holds it, or NULL */
};

static struct {
	pthread_mutex_t lock;
	struct anon items[ANON_MAX];
	size_t count;
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

/* With the lock held: removes the slot and closes its descriptor. */
static void drop(struct anon *a)
{
	close(a->fd);
	*a = anons.items[--anons.count];
}

int anon_create(off_t size, mode_t mode, uid_t uid, gid_t gid, const void *holder, uint64_t *ret_id,
		int *ret_fd)
{
	char prefix[PSHM_NAME_MAX + 1];
	struct anon *a;
	int fd, r;

	/* The name lives for an instant; keep it inside the mount's prefix. */
	snprintf(prefix, sizeof(prefix), "%s" ANON_NAME_PREFIX, shmfs_config.prefix);
	pthread_mutex_lock(&anons.lock);
	if (anons.count == ANON_MAX) {
		pthread_mutex_unlock(&anons.lock);
		return -EMFILE;
	}
	fd = pshm_open_anon(prefix, O_RDWR, mode, PSHM_ANON_ATTEMPTS, NULL);
	r = fd < 0 ? fd : pshm_truncate(fd, size, NULL);
	if (r == 0 && shmfs_config.chown_to_caller && (uid != geteuid() || gid != getegid()))
		r = pshm_chown(fd, uid, gid, NULL);
	if (r < 0) {
		if (fd >= 0)
			pshm_close(fd, NULL);
		pthread_mutex_unlock(&anons.lock);
		return r;
	}
	a = &anons.items[anons.count++];
	*a = (struct anon){ .id = anons.next_id++, .fd = fd, .holder = holder };
	*ret_id = a->id;
	if (ret_fd)
		*ret_fd = fd;
	pthread_mutex_unlock(&anons.lock);
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
	int r = 0;

	pthread_mutex_lock(&anons.lock);
	a = find(id);
	if (!a)
		r = -ENOENT;
	else if (!owns(a->fd, caller))
		r = -EPERM;
	else
		drop(a);
	pthread_mutex_unlock(&anons.lock);
	return r;
}

void anon_release_holder(const void *holder)
{
	pthread_mutex_lock(&anons.lock);
	for (size_t i = 0; i < anons.count;) {
		if (anons.items[i].holder == holder)
			drop(&anons.items[i]); /* the last one moved here: look again */
		else
			i++;
	}
	pthread_mutex_unlock(&anons.lock);
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
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a->fd);
	fd = open(path, (oflags & (O_ACCMODE | O_TRUNC)) | O_CLOEXEC);
	pthread_mutex_unlock(&anons.lock);
	return fd < 0 ? -errno : fd;
}

size_t anon_list(struct anon_info *out, size_t max, uid_t caller)
{
	size_t n = 0;

	pthread_mutex_lock(&anons.lock);
	for (size_t i = 0; i < anons.count && n < max; i++) {
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
	return n;
}

void anon_destroy(void)
{
	pthread_mutex_lock(&anons.lock);
	while (anons.count)
		drop(&anons.items[anons.count - 1]);
	pthread_mutex_unlock(&anons.lock);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the anonymous segments the daemon holds for its clients.
 *
 * The lock guards the table only. An entry used outside it (an fstat, an
 * open through /proc) is borrowed: a reference keeps its descriptor open;
 * the last reference closes it, after the lock is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anon_i.h"
#include "shmfs_i.h"

struct anon {
	uint64_t id;
	int fd;
	uid_t owner;        /* charged for it (limits.c) */
	const void *holder; /* the .ctl session that holds it, or NULL */
	unsigned refs;      /* the table's, and each borrower's */
};

static char mount_prefix[PSHM_NAME_MAX + 1];

static struct {
	pthread_mutex_t lock;
	struct anon **items;
	size_t count, capacity;
	uint64_t next_id;
} anons = { .lock = PTHREAD_MUTEX_INITIALIZER, .next_id = 1 };

void anon_init(const char *prefix)
{
	snprintf(mount_prefix, sizeof(mount_prefix), "%s", prefix);
}

/* With the lock held: the index of id, or anons.count. */
static size_t index_of(uint64_t id)
{
	size_t i = 0;

	while (i < anons.count && anons.items[i]->id != id)
		i++;
	return i;
}

/* The last reference: the segment goes (unless a file is open on it). */
static void destroy(struct anon *a)
{
	close(a->fd);
	limits_give(a->owner, LIMIT_ANON, 1);
	limits_give(a->owner, LIMIT_FDS, 1);
	free(a);
}

/* With the lock held: one reference less; the last one is returned to destroy unlocked. */
static struct anon *unref(struct anon *a)
{
	return --a->refs == 0 ? a : NULL;
}

static struct anon *borrow(uint64_t id)
{
	struct anon *a = NULL;
	size_t i;

	pthread_mutex_lock(&anons.lock);
	i = index_of(id);
	if (i < anons.count) {
		a = anons.items[i];
		a->refs++;
	}
	pthread_mutex_unlock(&anons.lock);
	return a;
}

static void give_back(struct anon *a)
{
	pthread_mutex_lock(&anons.lock);
	a = unref(a);
	pthread_mutex_unlock(&anons.lock);
	if (a)
		destroy(a);
}

/* With the lock held: takes entry i out of the table; its reference goes to the caller. */
static struct anon *take_out(size_t i)
{
	struct anon *a = anons.items[i];

	anons.items[i] = anons.items[--anons.count];
	return a;
}

/*
 * The bytes owner's segments take now (their sizes as they are, which
 * writes and truncates through the mount may have changed).
 */
static int bytes_of(uid_t owner, uint64_t *ret)
{
	struct anon **mine;
	size_t n = 0;
	uint64_t total = 0;
	struct stat st;

	pthread_mutex_lock(&anons.lock);
	mine = malloc((anons.count ? anons.count : 1) * sizeof(*mine));
	for (size_t i = 0; mine && i < anons.count; i++) {
		if (anons.items[i]->owner == owner) {
			anons.items[i]->refs++;
			mine[n++] = anons.items[i];
		}
	}
	pthread_mutex_unlock(&anons.lock);
	if (!mine)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (fstat(mine[i]->fd, &st) == 0)
			total += (uint64_t)st.st_size;
		give_back(mine[i]);
	}
	free(mine);
	*ret = total;
	return 0;
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

/* With the lock held: room for one more entry. */
static int make_room(void)
{
	size_t capacity;
	struct anon **items;

	if (anons.count < anons.capacity)
		return 0;
	capacity = anons.capacity ? anons.capacity * 2 : 64;
	items = realloc(anons.items, capacity * sizeof(*items));
	if (!items)
		return -ENOMEM;
	anons.items = items;
	anons.capacity = capacity;
	return 0;
}

int anon_create(off_t size, mode_t mode, const struct creds *owner, const void *holder,
		uint64_t *ret_id, int *ret_fd, struct pshm_error *err)
{
	struct anon *a;
	uint64_t bytes = 0;
	int fd, r;

	r = limits_take(owner->uid, LIMIT_ANON, 1);
	if (r < 0)
		return r;
	r = limits_take(owner->uid, LIMIT_FDS, 1);
	if (r < 0) {
		limits_give(owner->uid, LIMIT_ANON, 1);
		return r;
	}
	/*
	 * The bytes check and the insertion below are not one step; a user's
	 * commands come through that user's one .ctl inode, whose writes the
	 * kernel serialises, so the same owner does not race it.
	 */
	if (!creds_is_daemon(owner->uid)) {
		r = bytes_of(owner->uid, &bytes);
		if (r == 0 && bytes + (uint64_t)size > limits_anon_bytes())
			r = -EDQUOT;
	}
	a = r < 0 ? NULL : calloc(1, sizeof(*a));
	fd = r < 0 ? r : (a ? make_segment(size, mode, owner, err) : -ENOMEM);
	if (fd >= 0) {
		pthread_mutex_lock(&anons.lock);
		r = make_room();
		if (r == 0) {
			*a = (struct anon){ .id = anons.next_id++,
					    .fd = fd,
					    .owner = owner->uid,
					    .holder = holder,
					    .refs = 1 };
			anons.items[anons.count++] = a;
			*ret_id = a->id;
		}
		pthread_mutex_unlock(&anons.lock);
		if (r == 0) {
			if (ret_fd)
				*ret_fd = fd;
			return 0;
		}
		pshm_close(fd, NULL);
		fd = r;
	}
	free(a);
	limits_give(owner->uid, LIMIT_FDS, 1);
	limits_give(owner->uid, LIMIT_ANON, 1);
	return fd;
}

int anon_free(uint64_t id, uid_t caller)
{
	struct anon *a = borrow(id), *last;
	struct stat st;
	size_t i;
	int r = 0;

	if (!a)
		return -ENOENT;
	/* Who may free: the owner now (after a chown, the new one), and root. */
	if (caller != 0 && (fstat(a->fd, &st) < 0 || st.st_uid != caller))
		r = -EPERM;
	pthread_mutex_lock(&anons.lock);
	i = index_of(id);
	if (r == 0 && i < anons.count && anons.items[i] == a)
		unref(take_out(i)); /* the table's reference; the borrower's remains */
	else if (r == 0)
		r = -ENOENT; /* freed meanwhile */
	last = unref(a);
	pthread_mutex_unlock(&anons.lock);
	if (last)
		destroy(last);
	return r;
}

void anon_release_holder(const void *holder)
{
	struct anon **gone;
	size_t n = 0;

	pthread_mutex_lock(&anons.lock);
	gone = malloc((anons.count ? anons.count : 1) * sizeof(*gone));
	for (size_t i = 0; gone && i < anons.count;) {
		struct anon *a;

		if (anons.items[i]->holder != holder) {
			i++;
			continue;
		}
		a = unref(take_out(i)); /* the last one moved here: look again */
		if (a)
			gone[n++] = a;
	}
	pthread_mutex_unlock(&anons.lock);
	if (!gone) {
		/* No memory for the list: release them one by one. */
		for (;;) {
			struct anon *a = NULL;

			pthread_mutex_lock(&anons.lock);
			for (size_t i = 0; i < anons.count && !a; i++)
				if (anons.items[i]->holder == holder)
					a = unref(take_out(i));
			pthread_mutex_unlock(&anons.lock);
			if (!a)
				return;
			destroy(a);
		}
	}
	while (n)
		destroy(gone[--n]);
	free(gone);
}

int anon_stat(uint64_t id, struct stat *ret)
{
	struct anon *a = borrow(id);
	int r;

	if (!a)
		return -ENOENT;
	r = pshm_stat(a->fd, ret, NULL);
	give_back(a);
	return r;
}

int anon_proc_path(uint64_t id, char *buf, size_t size)
{
	long pid = (long)getpid(); /* asked now: the daemon forks away from its starter */
	size_t i;
	int r = -ENOENT;

	pthread_mutex_lock(&anons.lock);
	i = index_of(id);
	if (i < anons.count) {
		snprintf(buf, size, "/proc/%ld/fd/%d", pid, anons.items[i]->fd);
		r = 0;
	}
	pthread_mutex_unlock(&anons.lock);
	return r;
}

int anon_reopen(uint64_t id, int oflags)
{
	struct anon *a = borrow(id);
	char path[64];
	int fd;

	if (!a)
		return -ENOENT;
	/*
	 * Through /proc, as whoever the thread acts for: the kernel checks
	 * the segment's mode. The borrowed reference keeps the descriptor
	 * open (and not reused) meanwhile.
	 */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a->fd);
	fd = open(path, (oflags & (O_ACCMODE | O_TRUNC)) | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	give_back(a);
	return fd;
}

int anon_list(uid_t caller, struct anon_info **ret, size_t *ret_count)
{
	struct anon **all;
	struct anon_info *out;
	size_t count, n = 0;

	pthread_mutex_lock(&anons.lock);
	count = anons.count;
	all = malloc((count ? count : 1) * sizeof(*all));
	for (size_t i = 0; all && i < count; i++) {
		all[i] = anons.items[i];
		all[i]->refs++;
	}
	pthread_mutex_unlock(&anons.lock);
	out = all ? malloc((count ? count : 1) * sizeof(*out)) : NULL;
	for (size_t i = 0; all && i < count; i++) {
		struct anon *a = all[i];
		struct stat st;

		if (out && fstat(a->fd, &st) == 0 &&
		    (caller == ANON_ALL || caller == 0 || st.st_uid == caller))
			out[n++] = (struct anon_info){ .id = a->id,
						       .st = st,
						       .held = a->holder != NULL };
		give_back(a);
	}
	free(all);
	if (!out)
		return -ENOMEM;
	*ret = out;
	*ret_count = n;
	return 0;
}

void anon_destroy(void)
{
	/* At exit: no other thread runs. */
	while (anons.count)
		destroy(anons.items[--anons.count]);
	free(anons.items);
	anons.items = NULL;
	anons.capacity = 0;
}

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

struct anons {
	pthread_mutex_t lock;
	char mount_prefix[PSHM_NAME_MAX + 1];
	struct anon **items;
	size_t count, capacity;
	uint64_t next_id;
};

int anons_new(struct shmfs *fs)
{
	fs->anons = calloc(1, sizeof(*fs->anons));
	if (!fs->anons)
		return -ENOMEM;
	pthread_mutex_init(&fs->anons->lock, NULL);
	fs->anons->next_id = 1;
	snprintf(fs->anons->mount_prefix, sizeof(fs->anons->mount_prefix), "%s", fs->config.prefix);
	return 0;
}

/* With the lock held: the index of id, or fs->anons->count. */
static size_t index_of(struct shmfs *fs, uint64_t id)
{
	size_t i = 0;

	while (i < fs->anons->count && fs->anons->items[i]->id != id)
		i++;
	return i;
}

/* The last reference: the segment goes (unless a file is open on it). */
static void destroy(struct shmfs *fs, struct anon *a)
{
	close(a->fd);
	limits_give(fs, a->owner, LIMIT_ANON, 1);
	limits_give(fs, a->owner, LIMIT_FDS, 1);
	free(a);
}

/* With the lock held: one reference less; the last one is returned to destroy unlocked. */
static struct anon *unref(struct anon *a)
{
	return --a->refs == 0 ? a : NULL;
}

static struct anon *borrow(struct shmfs *fs, uint64_t id)
{
	struct anon *a = NULL;
	size_t i;

	pthread_mutex_lock(&fs->anons->lock);
	i = index_of(fs, id);
	if (i < fs->anons->count) {
		a = fs->anons->items[i];
		a->refs++;
	}
	pthread_mutex_unlock(&fs->anons->lock);
	return a;
}

static void give_back(struct shmfs *fs, struct anon *a)
{
	pthread_mutex_lock(&fs->anons->lock);
	a = unref(a);
	pthread_mutex_unlock(&fs->anons->lock);
	if (a)
		destroy(fs, a);
}

/* With the lock held: takes entry i out of the table; its reference goes to the caller. */
static struct anon *take_out(struct shmfs *fs, size_t i)
{
	struct anon *a = fs->anons->items[i];

	fs->anons->items[i] = fs->anons->items[--fs->anons->count];
	return a;
}

/*
 * The bytes owner's segments take now (their sizes as they are, which
 * writes and truncates through the mount may have changed).
 */
static int bytes_of(struct shmfs *fs, uid_t owner, uint64_t *ret)
{
	struct anon **mine;
	size_t n = 0;
	uint64_t total = 0;
	struct stat st;

	pthread_mutex_lock(&fs->anons->lock);
	mine = malloc((fs->anons->count ? fs->anons->count : 1) * sizeof(*mine));
	for (size_t i = 0; mine && i < fs->anons->count; i++) {
		if (fs->anons->items[i]->owner == owner) {
			fs->anons->items[i]->refs++;
			mine[n++] = fs->anons->items[i];
		}
	}
	pthread_mutex_unlock(&fs->anons->lock);
	if (!mine)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (fstat(mine[i]->fd, &st) == 0)
			total += (uint64_t)st.st_size;
		give_back(fs, mine[i]);
	}
	free(mine);
	*ret = total;
	return 0;
}

/* Creates the segment as owner: the kernel makes it theirs, as their own shm_open would. */
static int make_segment(struct shmfs *fs, off_t size, mode_t mode, const struct creds *owner,
			struct pshm_error *err)
{
	char prefix[PSHM_NAME_MAX + sizeof(ANON_NAME_PREFIX)];
	int fd, r;

	/* The name lives for an instant; keep it inside the mount's prefix. */
	snprintf(prefix, sizeof(prefix), "%s" ANON_NAME_PREFIX, fs->anons->mount_prefix);
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
static int make_room(struct shmfs *fs)
{
	size_t capacity;
	struct anon **items;

	if (fs->anons->count < fs->anons->capacity)
		return 0;
	capacity = fs->anons->capacity ? fs->anons->capacity * 2 : 64;
	items = realloc(fs->anons->items, capacity * sizeof(*items));
	if (!items)
		return -ENOMEM;
	fs->anons->items = items;
	fs->anons->capacity = capacity;
	return 0;
}

int anon_create(struct shmfs *fs, off_t size, mode_t mode, const struct creds *owner,
		const void *holder, uint64_t *ret_id, int *ret_fd, struct pshm_error *err)
{
	struct anon *a;
	uint64_t bytes = 0;
	int fd, r;

	r = limits_take(fs, owner->uid, LIMIT_ANON, 1);
	if (r < 0)
		return r;
	r = limits_take(fs, owner->uid, LIMIT_FDS, 1);
	if (r < 0) {
		limits_give(fs, owner->uid, LIMIT_ANON, 1);
		return r;
	}
	/*
	 * The bytes check and the insertion below are not one step; a user's
	 * commands come through that user's one .ctl inode, whose writes the
	 * kernel serialises, so the same owner does not race it.
	 */
	if (!creds_is_daemon(owner->uid)) {
		r = bytes_of(fs, owner->uid, &bytes);
		if (r == 0 && bytes + (uint64_t)size > limits_anon_bytes(fs))
			r = -EDQUOT;
	}
	a = r < 0 ? NULL : calloc(1, sizeof(*a));
	fd = r < 0 ? r : (a ? make_segment(fs, size, mode, owner, err) : -ENOMEM);
	if (fd >= 0) {
		pthread_mutex_lock(&fs->anons->lock);
		r = make_room(fs);
		if (r == 0) {
			*a = (struct anon){ .id = fs->anons->next_id++,
					    .fd = fd,
					    .owner = owner->uid,
					    .holder = holder,
					    .refs = 1 };
			fs->anons->items[fs->anons->count++] = a;
			*ret_id = a->id;
		}
		pthread_mutex_unlock(&fs->anons->lock);
		if (r == 0) {
			if (ret_fd)
				*ret_fd = fd;
			return 0;
		}
		pshm_close(fd, NULL);
		fd = r;
	}
	free(a);
	limits_give(fs, owner->uid, LIMIT_FDS, 1);
	limits_give(fs, owner->uid, LIMIT_ANON, 1);
	return fd;
}

int anon_free(struct shmfs *fs, uint64_t id, uid_t caller)
{
	struct anon *a = borrow(fs, id), *last;
	struct stat st;
	size_t i;
	int r = 0;

	if (!a)
		return -ENOENT;
	/* Who may free: the owner now (after a chown, the new one), and root. */
	if (caller != 0 && (fstat(a->fd, &st) < 0 || st.st_uid != caller))
		r = -EPERM;
	pthread_mutex_lock(&fs->anons->lock);
	i = index_of(fs, id);
	if (r == 0 && i < fs->anons->count && fs->anons->items[i] == a)
		unref(take_out(fs, i)); /* the table's reference; the borrower's remains */
	else if (r == 0)
		r = -ENOENT; /* freed meanwhile */
	last = unref(a);
	pthread_mutex_unlock(&fs->anons->lock);
	if (last)
		destroy(fs, last);
	return r;
}

void anon_release_holder(struct shmfs *fs, const void *holder)
{
	struct anon **gone;
	size_t n = 0;

	pthread_mutex_lock(&fs->anons->lock);
	gone = malloc((fs->anons->count ? fs->anons->count : 1) * sizeof(*gone));
	for (size_t i = 0; gone && i < fs->anons->count;) {
		struct anon *a;

		if (fs->anons->items[i]->holder != holder) {
			i++;
			continue;
		}
		a = unref(take_out(fs, i)); /* the last one moved here: look again */
		if (a)
			gone[n++] = a;
	}
	pthread_mutex_unlock(&fs->anons->lock);
	if (!gone) {
		/* No memory for the list: release them one by one. */
		for (;;) {
			struct anon *a = NULL;

			pthread_mutex_lock(&fs->anons->lock);
			for (size_t i = 0; i < fs->anons->count && !a; i++)
				if (fs->anons->items[i]->holder == holder)
					a = unref(take_out(fs, i));
			pthread_mutex_unlock(&fs->anons->lock);
			if (!a)
				return;
			destroy(fs, a);
		}
	}
	while (n)
		destroy(fs, gone[--n]);
	free(gone);
}

int anon_stat(struct shmfs *fs, uint64_t id, struct stat *ret)
{
	struct anon *a = borrow(fs, id);
	int r;

	if (!a)
		return -ENOENT;
	r = pshm_stat(a->fd, ret, NULL);
	give_back(fs, a);
	return r;
}

int anon_proc_path(struct shmfs *fs, uint64_t id, char *buf, size_t size)
{
	long pid = (long)getpid(); /* asked now: the daemon forks away from its starter */
	size_t i;
	int r = -ENOENT;

	pthread_mutex_lock(&fs->anons->lock);
	i = index_of(fs, id);
	if (i < fs->anons->count) {
		snprintf(buf, size, "/proc/%ld/fd/%d", pid, fs->anons->items[i]->fd);
		r = 0;
	}
	pthread_mutex_unlock(&fs->anons->lock);
	return r;
}

int anon_reopen(struct shmfs *fs, uint64_t id, int oflags)
{
	struct anon *a = borrow(fs, id);
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
	give_back(fs, a);
	return fd;
}

int anon_list(struct shmfs *fs, uid_t caller, struct anon_info **ret, size_t *ret_count)
{
	struct anon **all;
	struct anon_info *out;
	size_t count, n = 0;

	pthread_mutex_lock(&fs->anons->lock);
	count = fs->anons->count;
	all = malloc((count ? count : 1) * sizeof(*all));
	for (size_t i = 0; all && i < count; i++) {
		all[i] = fs->anons->items[i];
		all[i]->refs++;
	}
	pthread_mutex_unlock(&fs->anons->lock);
	out = all ? malloc((count ? count : 1) * sizeof(*out)) : NULL;
	for (size_t i = 0; all && i < count; i++) {
		struct anon *a = all[i];
		struct stat st;

		if (out && fstat(a->fd, &st) == 0 &&
		    (caller == ANON_ALL || caller == 0 || st.st_uid == caller))
			out[n++] = (struct anon_info){ .id = a->id,
						       .st = st,
						       .held = a->holder != NULL };
		give_back(fs, a);
	}
	free(all);
	if (!out)
		return -ENOMEM;
	*ret = out;
	*ret_count = n;
	return 0;
}

void anons_free(struct shmfs *fs)
{
	/* At exit: no other thread runs. */
	if (!fs->anons)
		return;
	while (fs->anons->count)
		destroy(fs, fs->anons->items[--fs->anons->count]);
	free(fs->anons->items);
	pthread_mutex_destroy(&fs->anons->lock);
	free(fs->anons);
	fs->anons = NULL;
}

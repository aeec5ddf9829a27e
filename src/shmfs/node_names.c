/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the names the kernel caches for nodes, checked against what they
 * mean in /dev/shm now: stat and open by name (ESTALE when a name means
 * another segment), keeping an unlinked segment for a racing open, and a
 * rename or exchange through the mount. Stats and opens happen without
 * the table lock (see nodes.c).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anon_i.h"
#include "inval_i.h"
#include "nodes_table_i.h"

double nodes_lend_entry(struct shmfs *fs, struct node *node)
{
	double t = ENTRY_TIMEOUT;

	if (fs->config.cache)
		return fs->config.timeout;
	if (!inval_available(fs))
		return 0;
	pthread_mutex_lock(&fs->nodes->lock);
	if (node->handles || node->keeper)
		t = 0;
	else if (node->name)
		node->name_cached = true;
	pthread_mutex_unlock(&fs->nodes->lock);
	return t;
}

/*
 * Checks the names the kernel may hold for node (its name, and the other
 * names it was seen under). Returns 0 with the status of the segment,
 * -ENOENT when every name is gone, or -ESTALE when a name now means
 * another segment or only some of them are gone (the call may have come
 * through either). With several names, the kernel forgets them all.
 */
static int check_names(struct shmfs *fs, struct node *node, struct stat *ret)
{
	char names[CHECK_NAMES_MAX][PSHM_NAME_MAX + 1];
	bool bad[CHECK_NAMES_MAX] = { false };
	size_t count = 0, good = 0, moved = 0;
	struct garbage g = { 0 };
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&fs->nodes->lock);
	if (!node->name) {
		pthread_mutex_unlock(&fs->nodes->lock);
		return -ENOENT;
	}
	snprintf(names[count++], sizeof(names[0]), "%s", node->name);
	for (struct other_name *o = node->other_names; o && count < CHECK_NAMES_MAX; o = o->next)
		snprintf(names[count++], sizeof(names[0]), "%s", o->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&fs->nodes->lock);

	for (size_t i = 0; i < count; i++) {
		int r = pshm_stat_name(names[i], &st, NULL);

		if (r == 0 && st.st_ino == ino && st.st_dev == dev) {
			if (!good++)
				*ret = st;
		} else {
			bad[i] = true;
			if (r == 0)
				moved++; /* the name now means another segment */
		}
	}
	if (good == count)
		return 0;

	/*
	 * One name: the kernel's entry answers ENOENT, or is looked up again
	 * on ESTALE. Several: the stat may have come through a good one, and
	 * the kernel forgets them all, to look each up again.
	 */
	if (count > 1) {
		pthread_mutex_lock(&fs->nodes->lock);
		g.inval = true;
		nodes_free_other_names(node);
		node->name_cached = false;
		for (size_t i = 0; i < count; i++) {
			if (!bad[i]) {
				nodes_set_name(fs, node, names[i],
					       &g); /* open by a name that works */
				break;
			}
		}
		pthread_mutex_unlock(&fs->nodes->lock);
		nodes_dispose(fs, &g, NULL);
	}
	return good || moved ? -ESTALE : -ENOENT;
}

/* cache=on: the kernel's entry may be old, ESTALE makes it look again. */
static int gone(struct shmfs *fs, int r)
{
	return r == -ENOENT && fs->config.cache ? -ESTALE : r;
}

/*
 * An open node's name, after its stat came from the open file: a listing
 * that raced the open may have left the kernel an entry of the name (see
 * nodes_attach). If the name means something else now, that entry goes
 * (once: the file may stay open long after).
 */
static void check_open_name(struct shmfs *fs, struct node *node, const struct stat *st)
{
	char name[PSHM_NAME_MAX + 1];
	struct stat now;
	bool check;

	pthread_mutex_lock(&fs->nodes->lock);
	check = node->name && !node->name_gone && !node->keeper && inval_available(fs);
	if (check)
		snprintf(name, sizeof(name), "%s", node->name);
	pthread_mutex_unlock(&fs->nodes->lock);
	if (!check)
		return;
	if (pshm_stat_name(name, &now, NULL) == 0 && now.st_ino == st->st_ino &&
	    now.st_dev == st->st_dev)
		return;
	pthread_mutex_lock(&fs->nodes->lock);
	node->name_gone = true;
	pthread_mutex_unlock(&fs->nodes->lock);
	inval_all(fs);
}

int nodes_stat(struct shmfs *fs, struct node *node, struct stat *ret)
{
	struct handle *h;
	bool open_file;
	int r;

	pthread_mutex_lock(&fs->nodes->lock);
	h = nodes_borrow(node);
	open_file = h && node->handles;
	pthread_mutex_unlock(&fs->nodes->lock);
	if (h) {
		/* fstat of an open file and stat of its name look the same here. */
		r = pshm_stat(h->fd, ret, NULL);
		nodes_give_back(fs, h);
		if (r == 0 && open_file)
			check_open_name(fs, node, ret);
		return r;
	}
	if (node->anon_id) /* fixed for the node's life */
		return gone(fs, anon_stat(fs, node->anon_id, ret));
	return gone(fs, check_names(fs, node, ret));
}

int nodes_open(struct shmfs *fs, struct node *node, int oflags)
{
	char name[PSHM_NAME_MAX + 1];
	struct handle *h;
	bool several;
	struct stat st;
	dev_t dev;
	ino_t ino;
	int fd, r;

	pthread_mutex_lock(&fs->nodes->lock);
	h = nodes_borrow(node);
	pthread_mutex_unlock(&fs->nodes->lock);
	if (h) {
		char path[64];

		/*
		 * Reopening an open file through /proc works for unlinked
		 * segments too; the borrowed reference keeps its descriptor
		 * open meanwhile. The kernel checks this thread's rights.
		 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", h->fd);
		fd = open(path, oflags | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
		nodes_give_back(fs, h);
		return fd;
	}
	if (node->anon_id)
		return gone(fs, anon_reopen(fs, node->anon_id, oflags));
	pthread_mutex_lock(&fs->nodes->lock);
	several = node->other_names != NULL;
	pthread_mutex_unlock(&fs->nodes->lock);
	if (several) {
		/* Known by several names: the open may have come through a stale one. */
		r = check_names(fs, node, &st);
		if (r < 0)
			return gone(fs, r);
	}
	/* By its one name, the descriptor's identity is the check. */
	pthread_mutex_lock(&fs->nodes->lock);
	snprintf(name, sizeof(name), "%s", node->name ? node->name : "");
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&fs->nodes->lock);

	fd = pshm_open(name, oflags & ~O_TRUNC, 0, NULL);
	if (fd == -ENXIO)
		return -ESTALE; /* the name means something else now, and no segment */
	if (fd < 0)
		return gone(fs, fd);
	if (pshm_stat(fd, &st, NULL) < 0 || st.st_ino != ino || st.st_dev != dev) {
		pshm_close(fd, NULL);
		return -ESTALE;
	}
	/* Truncate only once we know it is the same segment. */
	if (oflags & O_TRUNC) {
		r = pshm_truncate(fd, 0, NULL);
		if (r < 0) {
			pshm_close(fd, NULL);
			return r;
		}
	}
	return fd;
}

struct handle *nodes_keep(struct shmfs *fs, const char *name, uid_t uid)
{
	struct handle *keeper;
	struct node *node;
	struct stat st, now;
	int fd;

	if (pshm_stat_name(name, &st, NULL) < 0)
		return NULL;
	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_find(fs, st.st_dev, st.st_ino);
	/* The kernel drops its entry for name itself. */
	if (node && node->name && strcmp(node->name, name) == 0)
		node->name_cached = false;
	else if (node)
		nodes_drop_other_name(node, name);
	/*
	 * Kept even when files are open on it: they may all close before an
	 * open that looked the name up just before the unlink arrives.
	 * Unknown to the kernel, or kept already: nothing to do.
	 */
	if (!node || node->keeper) {
		pthread_mutex_unlock(&fs->nodes->lock);
		return NULL;
	}
	pthread_mutex_unlock(&fs->nodes->lock);

	/* A descriptor held for uid: within their limit, or not kept at all. */
	if (limits_take(fs, uid, LIMIT_FDS, 1) < 0)
		return NULL;
	fd = pshm_open(name, O_RDONLY, 0, NULL);
	keeper = fd < 0 || fstat(fd, &now) < 0 ? NULL : handle_new(fd, O_RDONLY, uid);
	if (!keeper) {
		if (fd >= 0)
			close(fd);
		limits_give(fs, uid, LIMIT_FDS, 1);
		return NULL;
	}
	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_find(fs, now.st_dev, now.st_ino);
	if (node && !node->keeper) {
		node->keeper = keeper;
		keeper->node = node;
		keeper->refs++; /* the caller's, for nodes_kept */
		pthread_mutex_unlock(&fs->nodes->lock);
		return keeper;
	}
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_handle_destroy(fs, keeper);
	return NULL;
}

void nodes_kept(struct shmfs *fs, struct handle *keeper, bool unlinked)
{
	struct garbage g = { 0 };
	struct node *node;

	if (!keeper)
		return;
	pthread_mutex_lock(&fs->nodes->lock);
	node = keeper->node;
	/* The unlink failed: nothing to keep the segment for (if the node is still there). */
	if (!unlinked && node && node->keeper == keeper) {
		node->keeper = NULL;
		nodes_handle_unref(keeper, &g);
	}
	nodes_handle_unref(keeper, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

int nodes_check_name(struct shmfs *fs, const char *name)
{
	struct node *node;
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_claimant(fs, name);
	if (!node) {
		pthread_mutex_unlock(&fs->nodes->lock);
		return 0; /* the kernel holds no entry of ours for it */
	}
	dev = node->dev;
	ino = node->ino;
	pthread_mutex_unlock(&fs->nodes->lock);
	if (pshm_stat_name(name, &st, NULL) < 0 || st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	return 0;
}

/* With the lock held: the node known to the kernel as segment st now means name. */
static void name_now(struct shmfs *fs, const struct stat *st, const char *name, struct garbage *g)
{
	struct node *node = nodes_find(fs, st->st_dev, st->st_ino), *old = nodes_claimant(fs, name);

	/* The kernel's entry for name now means this node: no stale names to check. */
	if (old && old != node)
		nodes_unclaim(fs, old);
	if (!node)
		return;
	nodes_set_name(fs, node, name, g);
	nodes_claim(fs, node);
}

void nodes_exchanged(struct shmfs *fs, const char *a, const char *b)
{
	struct garbage g = { 0 };
	struct node *node;
	struct stat at_a, at_b;
	bool have_a = pshm_stat_name(a, &at_a, NULL) == 0;
	bool have_b = pshm_stat_name(b, &at_b, NULL) == 0;

	pthread_mutex_lock(&fs->nodes->lock);
	/*
	 * Both names moved at once (the kernel swapped its entries): neither
	 * claim holds, neither old name is left to check, then each name is
	 * the other's.
	 */
	for (int i = 0; i < 2; i++) {
		node = nodes_claimant(fs, i ? b : a);
		if (node) {
			nodes_unclaim(fs, node);
			node->name_cached = false;
		}
	}
	if (have_a)
		name_now(fs, &at_a, a, &g);
	if (have_b)
		name_now(fs, &at_b, b, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

void nodes_renamed(struct shmfs *fs, const char *from, const char *to)
{
	struct garbage g = { 0 };
	struct node *node;
	struct stat st;
	bool have = pshm_stat_name(to, &st, NULL) == 0;

	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_claimant(fs, from);
	if (node) {
		nodes_unclaim(fs, node); /* the kernel moved its entry */
		if (node->name && strcmp(node->name, from) == 0)
			node->name_cached = false; /* not a stale name to check later */
	}
	if (have)
		name_now(fs, &st, to, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

/* SPDX-License-Identifier: MIT */
/* shmfs: the node table, from the kernel's node ids to segments and their open files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs_i.h"

#define INITIAL_BUCKETS 1024
/* How long the kernel may keep a name's entry in the default mode (see nodes_stat). */
#define ENTRY_TIMEOUT 60.0
/* The most names one node keeps for the kernel (older ones are dropped from it). */
#define CHECK_NAMES_MAX 8

static struct {
	pthread_mutex_t lock;
	struct node **buckets; /* chained by tmpfs inode number */
	size_t bucket_count;   /* a power of two */
	size_t count;
	uint64_t generation;
	/*
	 * The name index: for each name, the node it was last looked up as,
	 * which is the node the kernel's entry for that name means. Chained
	 * by name hash, as many buckets as the table.
	 */
	struct node **names;
} table = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t name_bucket_of(const char *name, size_t bucket_count)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)(h >> 32) & (bucket_count - 1);
}

/* With the lock held: the node that claims name, or NULL. */
static struct node *claimant(const char *name)
{
	struct node *node = table.names[name_bucket_of(name, table.bucket_count)];

	while (node && strcmp(node->name, name) != 0)
		node = node->name_next;
	return node;
}

/* With the lock held: node gives up its claim on its name. */
static void unclaim(struct node *node)
{
	struct node **p;

	if (!node->name_indexed)
		return;
	p = &table.names[name_bucket_of(node->name, table.bucket_count)];
	while (*p != node)
		p = &(*p)->name_next;
	*p = node->name_next;
	node->name_indexed = false;
}

/* With the lock held: node, just looked up by its name, claims it. */
static void claim(struct node *node)
{
	struct node *other;
	size_t b;

	if (!node->name || node->name_indexed)
		return;
	other = claimant(node->name);
	if (other)
		unclaim(other);
	b = name_bucket_of(node->name, table.bucket_count);
	node->name_next = table.names[b];
	table.names[b] = node;
	node->name_indexed = true;
}

static size_t bucket_of(ino_t ino, size_t bucket_count)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (bucket_count - 1);
}

int nodes_init(void)
{
	table.buckets = calloc(INITIAL_BUCKETS, sizeof(*table.buckets));
	table.names = calloc(INITIAL_BUCKETS, sizeof(*table.names));
	if (!table.buckets || !table.names) {
		free(table.buckets);
		free(table.names);
		return -ENOMEM;
	}
	table.bucket_count = INITIAL_BUCKETS;
	table.count = 0;
	return 0;
}

static void free_other_names(struct node *node)
{
	while (node->other_names) {
		struct other_name *o = node->other_names;

		node->other_names = o->next;
		free(o);
	}
}

static void free_node(struct node *node)
{
	while (node->handles) {
		struct handle *h = node->handles;

		node->handles = h->next;
		if (h->map)
			munmap(h->map, h->map_len);
		close(h->fd);
		pthread_rwlock_destroy(&h->map_lock);
		free(h);
	}
	if (node->keeper_fd >= 0) {
		close(node->keeper_fd);
		limits_give(node->keeper_uid, LIMIT_FDS, 1);
	}
	free_other_names(node);
	free(node->name);
	free(node);
}

void nodes_destroy(void)
{
	for (size_t i = 0; i < table.bucket_count; i++) {
		while (table.buckets[i]) {
			struct node *node = table.buckets[i];

			table.buckets[i] = node->hash_next;
			free_node(node);
		}
	}
	free(table.buckets);
	free(table.names);
	table.buckets = table.names = NULL;
	table.bucket_count = table.count = 0;
}

/* Doubles the bucket arrays; a failed allocation just keeps longer chains. */
static void grow(void)
{
	size_t count = table.bucket_count * 2;
	struct node **buckets = calloc(count, sizeof(*buckets));
	struct node **names = calloc(count, sizeof(*names));

	if (!buckets || !names) {
		free(buckets);
		free(names);
		return;
	}
	for (size_t i = 0; i < table.bucket_count; i++) {
		while (table.names[i]) {
			struct node *node = table.names[i];
			size_t b = name_bucket_of(node->name, count);

			table.names[i] = node->name_next;
			node->name_next = names[b];
			names[b] = node;
		}
	}
	free(table.names);
	table.names = names;
	for (size_t i = 0; i < table.bucket_count; i++) {
		while (table.buckets[i]) {
			struct node *node = table.buckets[i];
			size_t b = bucket_of(node->ino, count);

			table.buckets[i] = node->hash_next;
			node->hash_next = buckets[b];
			buckets[b] = node;
		}
	}
	free(table.buckets);
	table.buckets = buckets;
	table.bucket_count = count;
}

/* A segment is its device and inode: /dev/shm may be another tmpfs tomorrow. */
static bool same(const struct node *node, dev_t dev, ino_t ino)
{
	return node->ino == ino && node->dev == dev;
}

static struct node *find(dev_t dev, ino_t ino)
{
	struct node *node = table.buckets[bucket_of(ino, table.bucket_count)];

	while (node && !same(node, dev, ino))
		node = node->hash_next;
	return node;
}

static void unhash(struct node *node)
{
	unclaim(node);
	struct node **p = &table.buckets[bucket_of(node->ino, table.bucket_count)];

	while (*p != node)
		p = &(*p)->hash_next;
	*p = node->hash_next;
	table.count--;
}

/* With the lock held: takes name out of node's other names; whether it was there. */
static bool drop_other_name(struct node *node, const char *name)
{
	for (struct other_name **p = &node->other_names; *p; p = &(*p)->next) {
		if (strcmp((*p)->name, name) == 0) {
			struct other_name *o = *p;

			*p = o->next;
			free(o);
			return true;
		}
	}
	return false;
}

/*
 * With the lock held: node is now known as name. A segment renamed or
 * linked behind our back has several; the ones the kernel may still cache
 * are kept, to be checked (nodes_stat) and dropped when stale.
 */
static void rename_node(struct node *node, const char *name)
{
	bool new_cached;
	char *copy;

	if (!name || (node->name && strcmp(node->name, name) == 0))
		return;
	copy = strdup(name);
	if (!copy)
		return;
	new_cached = drop_other_name(node, name);
	if (node->name && node->name_cached) {
		size_t len = strlen(node->name), count = 1;
		struct other_name *o = malloc(sizeof(*o) + len + 1), **last;

		if (o) {
			memcpy(o->name, node->name, len + 1);
			o->next = node->other_names;
			node->other_names = o;
		}
		/* Too many to check: the kernel forgets them all (inval_all takes no lock). */
		for (last = &node->other_names; *last && count < CHECK_NAMES_MAX;
		     last = &(*last)->next)
			count++;
		if (*last) {
			inval_all();
			free_other_names(node);
			new_cached = false;
		}
	}
	unclaim(node);
	free(node->name);
	node->name = copy;
	node->name_cached = new_cached;
	node->name_gone = false;
}

struct node *nodes_get(const char *name, uint64_t anon_id, const struct stat *st, uint64_t nlookup)
{
	struct node *node;
	size_t b;

	pthread_mutex_lock(&table.lock);
	node = find(st->st_dev, st->st_ino);
	if (node) {
		/* Renamed behind our back (in /dev/shm): the inode is what counts. */
		rename_node(node, name);
		if (name)
			claim(node);
		node->nlookup += nlookup;
		pthread_mutex_unlock(&table.lock);
		return node;
	}
	node = calloc(1, sizeof(*node));
	if (node && name)
		node->name = strdup(name);
	if (!node || (name && !node->name)) {
		free(node);
		pthread_mutex_unlock(&table.lock);
		return NULL;
	}
	node->ino = st->st_ino;
	node->dev = st->st_dev;
	node->anon_id = anon_id;
	node->keeper_fd = -1;
	/* Node ids are addresses and get reused; the generation tells them apart. */
	node->generation = ++table.generation;
	node->nlookup = nlookup;
	if (table.count >= table.bucket_count)
		grow();
	b = bucket_of(node->ino, table.bucket_count);
	node->hash_next = table.buckets[b];
	table.buckets[b] = node;
	table.count++;
	claim(node);
	pthread_mutex_unlock(&table.lock);
	return node;
}

/* With the lock held: frees node once neither the kernel nor an open file uses it. */
static void release_if_unused(struct node *node)
{
	if (node->nlookup == 0 && !node->handles) {
		unhash(node);
		free_node(node);
	}
}

double nodes_entry_timeout(struct node *node)
{
	double t = ENTRY_TIMEOUT;

	if (shmfs_config.cache)
		return shmfs_config.timeout;
	if (!inval_available())
		return 0;
	pthread_mutex_lock(&table.lock);
	if (node->handles || node->keeper_fd >= 0)
		t = 0;
	else if (node->name)
		node->name_cached = true;
	pthread_mutex_unlock(&table.lock);
	return t;
}

void nodes_forget(struct node *node, uint64_t nlookup)
{
	pthread_mutex_lock(&table.lock);
	node->nlookup = nlookup > node->nlookup ? 0 : node->nlookup - nlookup;
	release_if_unused(node);
	pthread_mutex_unlock(&table.lock);
}

void nodes_attach(struct node *node, struct handle *handle)
{
	pthread_mutex_lock(&table.lock);
	handle->node = node;
	/*
	 * From the first open on, stats come from the open file, and the name
	 * may come to mean another segment meanwhile: every path lookup must
	 * ask again, so the kernel forgets the entries it caches.
	 */
	if (!node->handles && (node->name_cached || node->other_names)) {
		inval_all();
		free_other_names(node);
		node->name_cached = false;
	}
	handle->next = node->handles;
	node->handles = handle;
	pthread_mutex_unlock(&table.lock);
}

void nodes_detach(struct node *node, struct handle *handle)
{
	struct handle **p;

	pthread_mutex_lock(&table.lock);
	for (p = &node->handles; *p && *p != handle; p = &(*p)->next)
		;
	if (*p)
		*p = handle->next;
	/*
	 * The last file served from the backing id closes it. The kernel
	 * took its own reference when the open that named the id completed,
	 * and RELEASE comes after that. Here, before the node may go: the
	 * kernel's FORGET can overtake the RELEASE of the last open file.
	 */
	if (handle->passthrough && node->backing_users && --node->backing_users == 0) {
		passthrough_unregister(node->backing_id);
		node->backing_id = 0;
	}
	release_if_unused(node);
	pthread_mutex_unlock(&table.lock);
}

/*
 * Checks the names the kernel may hold for node (its name, and the other
 * names it was seen under). Returns 0 with the status of the segment,
 * -ENOENT when every name is gone, or -ESTALE when a name now means
 * another segment or only some of them are gone (the call may have come
 * through either). With several names, the kernel forgets them all.
 */
static int check_names(struct node *node, struct stat *ret)
{
	char names[CHECK_NAMES_MAX][PSHM_NAME_MAX + 1];
	bool bad[CHECK_NAMES_MAX] = { false };
	size_t count = 0, good = 0, moved = 0;
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&table.lock);
	if (!node->name) {
		pthread_mutex_unlock(&table.lock);
		return -ENOENT;
	}
	snprintf(names[count++], sizeof(names[0]), "%s", node->name);
	for (struct other_name *o = node->other_names; o && count < CHECK_NAMES_MAX; o = o->next)
		snprintf(names[count++], sizeof(names[0]), "%s", o->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

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
		pthread_mutex_lock(&table.lock);
		inval_all();
		free_other_names(node);
		node->name_cached = false;
		for (size_t i = 0; i < count; i++) {
			if (!bad[i]) {
				rename_node(node, names[i]); /* open by a name that works */
				break;
			}
		}
		pthread_mutex_unlock(&table.lock);
	}
	return good || moved ? -ESTALE : -ENOENT;
}

/* cache=on: the kernel's entry may be old, ESTALE makes it look again. */
static int gone(int r)
{
	return r == -ENOENT && shmfs_config.cache ? -ESTALE : r;
}

int nodes_stat(struct node *node, struct stat *ret)
{
	int r;

	pthread_mutex_lock(&table.lock);
	if (node->handles) {
		bool check =
			node->name && !node->name_gone && node->keeper_fd < 0 && inval_available();

		r = pshm_stat(node->handles->fd, ret, NULL);
		pthread_mutex_unlock(&table.lock);
		/*
		 * fstat of an open file and stat of its name look the same
		 * here. The kernel caches no entry of an open node's name (see
		 * nodes_attach), but a listing that raced the open may have
		 * left one: if the name means something else now, it goes
		 * (once: the file may stay open long after).
		 */
		if (r == 0 && check) {
			char name[PSHM_NAME_MAX + 1];
			struct stat now;
			bool same_segment;

			pthread_mutex_lock(&table.lock);
			snprintf(name, sizeof(name), "%s", node->name);
			pthread_mutex_unlock(&table.lock);
			same_segment = pshm_stat_name(name, &now, NULL) == 0 &&
				       now.st_ino == ret->st_ino && now.st_dev == ret->st_dev;
			if (!same_segment) {
				pthread_mutex_lock(&table.lock);
				node->name_gone = true;
				pthread_mutex_unlock(&table.lock);
				inval_all();
			}
		}
		return r;
	}
	if (node->keeper_fd >= 0) {
		r = pshm_stat(node->keeper_fd, ret, NULL);
		pthread_mutex_unlock(&table.lock);
		return r;
	}
	if (node->anon_id) {
		pthread_mutex_unlock(&table.lock);
		return gone(anon_stat(node->anon_id, ret, NULL));
	}
	pthread_mutex_unlock(&table.lock);
	return gone(check_names(node, ret));
}

int nodes_open(struct node *node, int oflags)
{
	char name[PSHM_NAME_MAX + 1];
	struct stat st;
	dev_t dev;
	ino_t ino;
	int fd, r;

	pthread_mutex_lock(&table.lock);
	if (node->handles || node->keeper_fd >= 0) {
		char path[64];

		/*
		 * Reopening an open file through /proc works for unlinked
		 * segments too, and the lock keeps its descriptor from being
		 * closed (and reused) meanwhile.
		 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d",
			 node->handles ? node->handles->fd : node->keeper_fd);
		fd = open(path, oflags | O_CLOEXEC);
		pthread_mutex_unlock(&table.lock);
		return fd < 0 ? -errno : fd;
	}
	if (node->anon_id) {
		pthread_mutex_unlock(&table.lock);
		return gone(anon_reopen(node->anon_id, oflags));
	}
	if (node->other_names) {
		/* Known by several names: the open may have come through a stale one. */
		pthread_mutex_unlock(&table.lock);
		r = check_names(node, &st);
		if (r < 0)
			return gone(r);
		pthread_mutex_lock(&table.lock);
	}
	/* By its one name, the descriptor's identity is the check. */
	snprintf(name, sizeof(name), "%s", node->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

	fd = pshm_open(name, oflags & ~O_TRUNC, 0, NULL);
	if (fd == -ENXIO)
		return -ESTALE; /* the name means something else now, and no segment */
	if (fd < 0)
		return gone(fd);
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

int nodes_backing_get(struct node *node, int fd)
{
	int id = 0;

	pthread_mutex_lock(&table.lock);
	if (!node->backing_id && passthrough_active()) {
		/*
		 * Under the lock, so two first opens register one id: the
		 * kernel refuses a second backing file for an inode in use.
		 */
		int r = passthrough_register(fd);

		if (r > 0)
			node->backing_id = r;
	}
	if (node->backing_id) {
		node->backing_users++;
		id = node->backing_id;
	}
	pthread_mutex_unlock(&table.lock);
	return id;
}

int nodes_identity(struct node *node, char name[PSHM_NAME_MAX + 1], uint64_t *ret_anon_id)
{
	pthread_mutex_lock(&table.lock);
	snprintf(name, PSHM_NAME_MAX + 1, "%s", node->name ? node->name : "");
	*ret_anon_id = node->anon_id;
	pthread_mutex_unlock(&table.lock);
	return 0;
}

void nodes_keep(const char *name, uid_t uid)
{
	struct node *node;
	struct stat st;
	int fd;

	if (pshm_stat_name(name, &st, NULL) < 0)
		return;
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	/* The kernel drops its entry for name itself. */
	if (node && node->name && strcmp(node->name, name) == 0)
		node->name_cached = false;
	else if (node)
		drop_other_name(node, name);
	/*
	 * Kept even when files are open on it: they may all close before an
	 * open that looked the name up just before the unlink arrives.
	 */
	if (!node || node->keeper_fd >= 0) {
		/* Unknown to the kernel, or kept already. */
		pthread_mutex_unlock(&table.lock);
		return;
	}
	pthread_mutex_unlock(&table.lock);

	/* A descriptor held for uid: within their limit, or not kept at all. */
	if (limits_take(uid, LIMIT_FDS, 1) < 0)
		return;
	fd = pshm_open(name, O_RDONLY, 0, NULL);
	if (fd < 0) {
		limits_give(uid, LIMIT_FDS, 1);
		return;
	}
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	if (node && node->keeper_fd < 0 && fstat(fd, &st) == 0 &&
	    same(node, st.st_dev, st.st_ino)) {
		node->keeper_fd = fd;
		node->keeper_uid = uid;
		fd = -1;
	}
	pthread_mutex_unlock(&table.lock);
	if (fd >= 0) {
		close(fd);
		limits_give(uid, LIMIT_FDS, 1);
	}
}

int nodes_check_name(const char *name)
{
	struct node *node;
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&table.lock);
	node = claimant(name);
	if (!node) {
		pthread_mutex_unlock(&table.lock);
		return 0; /* the kernel holds no entry of ours for it */
	}
	dev = node->dev;
	ino = node->ino;
	pthread_mutex_unlock(&table.lock);
	if (pshm_stat_name(name, &st, NULL) < 0 || st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	return 0;
}

void nodes_renamed(const char *from, const char *to)
{
	struct node *node;
	struct stat st;

	pthread_mutex_lock(&table.lock);
	node = claimant(from);
	if (node)
		unclaim(node); /* the kernel moved or dropped its entry */
	pthread_mutex_unlock(&table.lock);
	if (pshm_stat_name(to, &st, NULL) < 0)
		return;
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	if (node) {
		struct node *old = claimant(to);

		/* The kernel's entry for to now means this node: no stale names to check. */
		if (old && old != node)
			unclaim(old);
		if (node->name && strcmp(node->name, from) == 0)
			node->name_cached = false;
		rename_node(node, to);
		claim(node);
	}
	pthread_mutex_unlock(&table.lock);
}

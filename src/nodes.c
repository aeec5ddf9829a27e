/* SPDX-License-Identifier: MIT */
/* shmfs: the node table, from the kernel's node ids to segments and their open files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs_i.h"

#define INITIAL_BUCKETS 1024

static struct {
	pthread_mutex_t lock;
	struct node **buckets; /* chained by tmpfs inode number */
	size_t bucket_count;   /* a power of two */
	size_t count;
	uint64_t generation;
} table = { .lock = PTHREAD_MUTEX_INITIALIZER };

static size_t bucket_of(ino_t ino, size_t bucket_count)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (bucket_count - 1);
}

int nodes_init(void)
{
	table.buckets = calloc(INITIAL_BUCKETS, sizeof(*table.buckets));
	if (!table.buckets)
		return -ENOMEM;
	table.bucket_count = INITIAL_BUCKETS;
	table.count = 0;
	return 0;
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
	if (node->keeper_fd >= 0)
		close(node->keeper_fd);
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
	table.buckets = NULL;
	table.bucket_count = table.count = 0;
}

/* Doubles the bucket array; a failed allocation just keeps longer chains. */
static void grow(void)
{
	size_t count = table.bucket_count * 2;
	struct node **buckets = calloc(count, sizeof(*buckets));

	if (!buckets)
		return;
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
	struct node **p = &table.buckets[bucket_of(node->ino, table.bucket_count)];

	while (*p != node)
		p = &(*p)->hash_next;
	*p = node->hash_next;
	table.count--;
}

/* With the lock held: replaces *field with a copy of value unless they are equal. */
static void update_name(char **field, const char *value)
{
	char *copy;

	if (!value || (*field && strcmp(*field, value) == 0))
		return;
	copy = strdup(value);
	if (copy) {
		free(*field);
		*field = copy;
	}
}

struct node *nodes_get(const char *name, uint64_t anon_id, const struct stat *st, uint64_t nlookup)
{
	struct node *node;
	size_t b;

	pthread_mutex_lock(&table.lock);
	node = find(st->st_dev, st->st_ino);
	if (node) {
		/* Renamed behind our back (in /dev/shm): the inode is what counts. */
		update_name(&node->name, name);
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
	release_if_unused(node);
	pthread_mutex_unlock(&table.lock);
}

/*
 * A node whose segment is gone (or whose name now means another one) is
 * stale: -ESTALE makes the kernel look the path up again and retry, so a
 * caller sees ENOENT, or its O_CREAT creates the new segment, even when the
 * kernel had cached the old entry.
 */
static int stale_if_gone(int r)
{
	return r == -ENOENT ? -ESTALE : r;
}

/*
 * For a stat or an attribute change: with zero timeouts the kernel looked
 * the name up just before, so a segment gone since was removed during the
 * call, and ENOENT is the true answer (a retry could race again). With
 * cache=on the kernel's entry may be old: ESTALE makes it look again.
 */
static int gone(int r)
{
	return r == -ENOENT && shmfs_config.cache ? -ESTALE : r;
}

int nodes_stat(struct node *node, struct stat *ret)
{
	char name[PSHM_NAME_MAX + 1];
	dev_t dev;
	ino_t ino;
	int r;

	pthread_mutex_lock(&table.lock);
	if (node->handles) {
		r = pshm_stat(node->handles->fd, ret, NULL);
		pthread_mutex_unlock(&table.lock);
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
	snprintf(name, sizeof(name), "%s", node->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

	r = pshm_stat_name(name, ret, NULL);
	if (r == 0 && (ret->st_ino != ino || ret->st_dev != dev))
		r = -ENOENT; /* the name now belongs to another segment */
	return gone(r);
}

int nodes_open(struct node *node, int oflags)
{
	char name[PSHM_NAME_MAX + 1];
	struct stat st;
	dev_t dev;
	ino_t ino;
	int fd;

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
		return stale_if_gone(anon_reopen(node->anon_id, oflags));
	}
	snprintf(name, sizeof(name), "%s", node->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

	fd = pshm_open(name, oflags & ~O_TRUNC, 0, NULL);
	if (fd < 0)
		return stale_if_gone(fd);
	if (pshm_stat(fd, &st, NULL) < 0 || st.st_ino != ino || st.st_dev != dev) {
		pshm_close(fd, NULL);
		return -ESTALE;
	}
	/* Truncate only once we know it is the same segment. */
	if (oflags & O_TRUNC) {
		int r = pshm_truncate(fd, 0, NULL);

		if (r < 0) {
			pshm_close(fd, NULL);
			return r;
		}
	}
	return fd;
}

int nodes_identity(struct node *node, char name[PSHM_NAME_MAX + 1], uint64_t *ret_anon_id)
{
	pthread_mutex_lock(&table.lock);
	snprintf(name, PSHM_NAME_MAX + 1, "%s", node->name ? node->name : "");
	*ret_anon_id = node->anon_id;
	pthread_mutex_unlock(&table.lock);
	return 0;
}

void nodes_keep(const char *name)
{
	struct node *node;
	struct stat st;
	int fd;

	if (pshm_stat_name(name, &st, NULL) < 0)
		return;
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	if (!node || node->keeper_fd >= 0 || node->handles) {
		/* Unknown to the kernel, kept already, or open files keep it. */
		pthread_mutex_unlock(&table.lock);
		return;
	}
	pthread_mutex_unlock(&table.lock);

	fd = pshm_open(name, O_RDONLY, 0, NULL);
	if (fd < 0)
		return;
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	if (node && node->keeper_fd < 0 && fstat(fd, &st) == 0 &&
	    same(node, st.st_dev, st.st_ino)) {
		node->keeper_fd = fd;
		fd = -1;
	}
	pthread_mutex_unlock(&table.lock);
	if (fd >= 0)
		close(fd);
}

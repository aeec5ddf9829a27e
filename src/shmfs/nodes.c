/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the node table, from the kernel's node ids to segments and their
 * open files.
 *
 * The table lock guards bookkeeping only. Whatever needs a system call (a
 * stat, an open through /proc, registering or closing a backing id, a
 * notification to the kernel, close and munmap) is decided under the lock
 * and done after it is released: an open file is borrowed (a reference on
 * its handle keeps its descriptor open), teardown is collected and
 * performed by dispose(), and a first open registering a backing id marks
 * the node busy while the others wait on a condition.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inval_i.h"
#include "nodes_table_i.h"
#include "passthrough_i.h"

uint64_t nodes_generation(const struct node *node)
{
	return node->generation;
}

const struct view *nodes_view(const struct node *node)
{
	return node->view;
}

struct handle *handle_new(int fd, int flags, uid_t uid)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_rwlock_init(&h->map_lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->fd = fd;
	h->flags = flags;
	h->uid = uid;
	h->refs = 1;
	return h;
}

/* The one place a handle's resources go. */
void nodes_handle_destroy(struct shmfs *fs, struct handle *h)
{
	if (h->map)
		munmap(h->map, h->map_len);
	close(h->fd);
	limits_give(fs, h->uid, LIMIT_FDS, 1);
	pthread_rwlock_destroy(&h->map_lock);
	free(h);
}

void handle_discard(struct shmfs *fs, struct handle *h)
{
	assert(h->refs == 1 && !h->node);
	nodes_handle_destroy(fs, h);
}

/* With the lock held: drops one reference of h; the last one leaves it to g. */
void nodes_handle_unref(struct handle *h, struct garbage *g)
{
	assert(h->refs > 0);
	if (--h->refs == 0) {
		h->next = g->handles;
		g->handles = h;
	}
}

/* A node out of the table: frees what is its own, hands its keeper to g. */
static void node_destroy(struct node *node, struct garbage *g)
{
	assert(!node->handles && node->nlookup == 0 && !node->backing_id);
	if (node->keeper) {
		node->keeper->node = NULL;
		nodes_handle_unref(node->keeper, g);
	}
	nodes_free_other_names(node);
	free(node->name);
	free(node->view_data);
	free(node);
}

/* Without the lock: does what a locked section decided. req: for the backing id, or NULL. */
void nodes_dispose(struct shmfs *fs, struct garbage *g, fuse_req_t req)
{
	if (g->inval)
		inval_all(fs);
	if (g->backing_id)
		passthrough_unregister(fs, req, g->backing_id);
	/* A node's keeper is left in g->handles when the node goes: nodes first. */
	pthread_mutex_lock(&fs->nodes->lock);
	while (g->nodes) {
		struct node *node = g->nodes;

		g->nodes = node->hash_next;
		node_destroy(node, g);
	}
	pthread_mutex_unlock(&fs->nodes->lock);
	while (g->handles) {
		struct handle *h = g->handles;

		g->handles = h->next;
		nodes_handle_destroy(fs, h);
	}
}

int nodes_new(struct shmfs *fs)
{
	fs->nodes = calloc(1, sizeof(*fs->nodes));
	if (!fs->nodes)
		return -ENOMEM;
	pthread_mutex_init(&fs->nodes->lock, NULL);
	pthread_cond_init(&fs->nodes->backing_done, NULL);
	fs->nodes->buckets = calloc(INITIAL_BUCKETS, sizeof(*fs->nodes->buckets));
	fs->nodes->names = calloc(INITIAL_BUCKETS, sizeof(*fs->nodes->names));
	if (!fs->nodes->buckets || !fs->nodes->names) {
		free(fs->nodes->buckets);
		free(fs->nodes->names);
		nodes_free(fs);
		return -ENOMEM;
	}
	fs->nodes->bucket_count = INITIAL_BUCKETS;
	fs->nodes->count = 0;
	return 0;
}

void nodes_free(struct shmfs *fs)
{
	struct garbage g = { 0 };

	if (!fs->nodes)
		return;
	for (size_t i = 0; i < fs->nodes->bucket_count; i++) {
		while (fs->nodes->buckets[i]) {
			struct node *node = fs->nodes->buckets[i];

			fs->nodes->buckets[i] = node->hash_next;
			/* At exit the kernel may not have sent every release and forget. */
			while (node->handles) {
				struct handle *h = node->handles;

				node->handles = h->next;
				h->refs = 1;
				nodes_handle_unref(h, &g);
			}
			node->nlookup = 0;
			node->backing_id = 0;
			node_destroy(node, &g);
		}
	}
	while (g.handles) {
		struct handle *h = g.handles;

		g.handles = h->next;
		nodes_handle_destroy(fs, h);
	}
	free(fs->nodes->buckets);
	free(fs->nodes->names);
	pthread_cond_destroy(&fs->nodes->backing_done);
	pthread_mutex_destroy(&fs->nodes->lock);
	free(fs->nodes);
	fs->nodes = NULL;
}

size_t nodes_count(struct shmfs *fs)
{
	size_t count;

	pthread_mutex_lock(&fs->nodes->lock);
	count = fs->nodes->count;
	pthread_mutex_unlock(&fs->nodes->lock);
	return count;
}

/* With the lock held: leaves node to g once neither the kernel nor an open file uses it. */
static void release_if_unused(struct shmfs *fs, struct node *node, struct garbage *g)
{
	struct node **p;

	if (node->nlookup || node->handles)
		return;
	nodes_unclaim(fs, node);
	p = &fs->nodes->buckets[nodes_bucket_of(node->ino, fs->nodes->bucket_count)];
	while (*p != node)
		p = &(*p)->hash_next;
	*p = node->hash_next;
	fs->nodes->count--;
	node->hash_next = g->nodes;
	g->nodes = node;
}

struct node *nodes_get(struct shmfs *fs, const char *name, uint64_t anon_id, const struct stat *st,
		       uint64_t nlookup)
{
	struct garbage g = { 0 };
	struct node *node;
	size_t b;

	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_find(fs, st->st_dev, st->st_ino);
	if (node) {
		/* Renamed behind our back (in /dev/shm): the inode is what counts. */
		nodes_set_name(fs, node, name, &g);
		nodes_claim(fs, node);
		node->nlookup += nlookup;
		pthread_mutex_unlock(&fs->nodes->lock);
		nodes_dispose(fs, &g, NULL);
		return node;
	}
	node = calloc(1, sizeof(*node));
	if (node && name)
		node->name = strdup(name);
	if (!node || (name && !node->name)) {
		pthread_mutex_unlock(&fs->nodes->lock);
		free(node);
		return NULL;
	}
	assert(((uintptr_t)node & (NODES_INO_ALIGN - 1)) == 0); /* see nodes_ino */
	node->ino = st->st_ino;
	node->dev = st->st_dev;
	node->anon_id = anon_id;
	/* Node ids are addresses and get reused; the generation tells them apart. */
	node->generation = ++fs->nodes->generation;
	node->nlookup = nlookup;
	if (fs->nodes->count >= fs->nodes->bucket_count)
		nodes_grow(fs);
	b = nodes_bucket_of(node->ino, fs->nodes->bucket_count);
	node->hash_next = fs->nodes->buckets[b];
	fs->nodes->buckets[b] = node;
	fs->nodes->count++;
	nodes_claim(fs, node);
	pthread_mutex_unlock(&fs->nodes->lock);
	return node;
}

struct node *nodes_get_object(struct shmfs *fs, const struct view *view, dev_t key, ino_t ino,
			      const void *data, size_t len, uint64_t nlookup)
{
	struct stat st = { .st_dev = key, .st_ino = ino };
	struct node *node = nodes_get(fs, NULL, 0, &st, nlookup);
	void *copy;
	bool ok;

	if (!node)
		return NULL;
	copy = malloc(len);

	pthread_mutex_lock(&fs->nodes->lock);
	node->view = view;
	if (copy) {
		memcpy(copy, data, len);
		free(node->view_data); /* only memory: no system call */
		node->view_data = copy;
		node->view_data_len = len;
	}
	ok = node->view_data != NULL;
	pthread_mutex_unlock(&fs->nodes->lock);
	if (!ok) {
		nodes_forget(fs, node, nlookup);
		return NULL;
	}
	return node;
}

bool nodes_find_object(struct shmfs *fs, const struct view *view, dev_t key, ino_t ino, void *buf,
		       size_t len)
{
	struct node *node;
	bool found;

	pthread_mutex_lock(&fs->nodes->lock);
	node = nodes_find(fs, key, ino);
	found = node && node->nlookup && node->view == view && node->view_data &&
		node->view_data_len == len;
	if (found)
		memcpy(buf, node->view_data, len);
	pthread_mutex_unlock(&fs->nodes->lock);
	return found;
}

void nodes_object_data(struct shmfs *fs, struct node *node, void *buf, size_t len)
{
	pthread_mutex_lock(&fs->nodes->lock);
	memcpy(buf, node->view_data, len < node->view_data_len ? len : node->view_data_len);
	pthread_mutex_unlock(&fs->nodes->lock);
}

void nodes_set_object_data(struct shmfs *fs, struct node *node, const void *data, size_t len)
{
	void *copy = malloc(len);

	if (!copy)
		return;
	memcpy(copy, data, len);
	pthread_mutex_lock(&fs->nodes->lock);
	free(node->view_data); /* only memory: no system call */
	node->view_data = copy;
	node->view_data_len = len;
	pthread_mutex_unlock(&fs->nodes->lock);
}

void nodes_forget(struct shmfs *fs, struct node *node, uint64_t nlookup)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&fs->nodes->lock);
	/* More forgotten than looked up is a bug of ours or the kernel's. */
	assert(nlookup <= node->nlookup);
	node->nlookup -= nlookup < node->nlookup ? nlookup : node->nlookup;
	release_if_unused(fs, node, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

void nodes_attach(struct shmfs *fs, struct node *node, struct handle *h)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&fs->nodes->lock);
	h->node = node;
	/*
	 * From the first open on, stats come from the open file, and the name
	 * may come to mean another segment meanwhile: every path lookup must
	 * ask again, so the kernel forgets the entries it caches.
	 */
	if (!node->handles && (node->name_cached || node->other_names)) {
		g.inval = true;
		nodes_free_other_names(node);
		node->name_cached = false;
	}
	h->next = node->handles;
	node->handles = h;
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

/* With the lock held: one open file stops using the node's backing id. */
void nodes_backing_put_locked(struct node *node, struct garbage *g)
{
	assert(node->backing_users > 0);
	if (node->backing_users && --node->backing_users == 0) {
		g->backing_id = node->backing_id;
		node->backing_id = 0;
	}
}

void nodes_release(struct shmfs *fs, struct node *node, struct handle *h, fuse_req_t req)
{
	struct garbage g = { 0 };
	struct handle **p;

	pthread_mutex_lock(&fs->nodes->lock);
	for (p = &node->handles; *p && *p != h; p = &(*p)->next)
		;
	assert(*p == h);
	if (*p)
		*p = h->next;
	/*
	 * The last file served from the backing id closes it. The kernel
	 * took its own reference when the open that named the id completed,
	 * and RELEASE comes after that. Decided here, before the node may go:
	 * the kernel's FORGET can overtake the RELEASE of the last open file.
	 */
	if (h->passthrough)
		nodes_backing_put_locked(node, &g);
	nodes_handle_unref(h, &g);
	release_if_unused(fs, node, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, req);
}

/* With the lock held: an open file of node (or its keeper) to use unlocked, or NULL. */
struct handle *nodes_borrow(struct node *node)
{
	struct handle *h = node->handles ? node->handles : node->keeper;

	if (h)
		h->refs++;
	return h;
}

void nodes_give_back(struct shmfs *fs, struct handle *h)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&fs->nodes->lock);
	nodes_handle_unref(h, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, NULL);
}

void nodes_identity(struct shmfs *fs, struct node *node, char name[PSHM_NAME_MAX + 1],
		    uint64_t *ret_anon_id)
{
	pthread_mutex_lock(&fs->nodes->lock);
	snprintf(name, PSHM_NAME_MAX + 1, "%s", node->name ? node->name : "");
	*ret_anon_id = node->anon_id;
	pthread_mutex_unlock(&fs->nodes->lock);
}

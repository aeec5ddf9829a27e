/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the node table's storage: nodes hashed by inode, the name index
 * (which node the kernel's entry for a name means), and the other names a
 * node may be known by. Bookkeeping under the table lock only: no system
 * call, nothing above it is called.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodes_table_i.h"

size_t nodes_bucket_of(ino_t ino, size_t bucket_count)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (bucket_count - 1);
}

static size_t name_bucket_of(const char *name, size_t bucket_count)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)(h >> 32) & (bucket_count - 1);
}

void nodes_free_other_names(struct node *node)
{
	while (node->other_names) {
		struct other_name *o = node->other_names;

		node->other_names = o->next;
		free(o);
	}
}

/* With the lock held: the node that claims name, or NULL. */
struct node *nodes_claimant(struct shmfs *fs, const char *name)
{
	struct node *node = fs->nodes->names[name_bucket_of(name, fs->nodes->bucket_count)];

	while (node && strcmp(node->name, name) != 0)
		node = node->name_next;
	return node;
}

/* With the lock held: node gives up its claim on its name. */
void nodes_unclaim(struct shmfs *fs, struct node *node)
{
	struct node **p;

	if (!node->name_indexed)
		return;
	p = &fs->nodes->names[name_bucket_of(node->name, fs->nodes->bucket_count)];
	while (*p != node)
		p = &(*p)->name_next;
	*p = node->name_next;
	node->name_indexed = false;
}

/* With the lock held: node, just looked up by its name, claims it. */
void nodes_claim(struct shmfs *fs, struct node *node)
{
	struct node *other;
	size_t b;

	if (!node->name || node->name_indexed)
		return;
	other = nodes_claimant(fs, node->name);
	if (other)
		nodes_unclaim(fs, other);
	b = name_bucket_of(node->name, fs->nodes->bucket_count);
	node->name_next = fs->nodes->names[b];
	fs->nodes->names[b] = node;
	node->name_indexed = true;
}

/* Doubles the bucket arrays; a failed allocation just keeps longer chains. */
void nodes_grow(struct shmfs *fs)
{
	size_t count = fs->nodes->bucket_count * 2;
	struct node **buckets = calloc(count, sizeof(*buckets));
	struct node **names = calloc(count, sizeof(*names));

	if (!buckets || !names) {
		free(buckets);
		free(names);
		return;
	}
	for (size_t i = 0; i < fs->nodes->bucket_count; i++) {
		while (fs->nodes->names[i]) {
			struct node *node = fs->nodes->names[i];
			size_t b = name_bucket_of(node->name, count);

			fs->nodes->names[i] = node->name_next;
			node->name_next = names[b];
			names[b] = node;
		}
		while (fs->nodes->buckets[i]) {
			struct node *node = fs->nodes->buckets[i];
			size_t b = nodes_bucket_of(node->ino, count);

			fs->nodes->buckets[i] = node->hash_next;
			node->hash_next = buckets[b];
			buckets[b] = node;
		}
	}
	free(fs->nodes->names);
	free(fs->nodes->buckets);
	fs->nodes->names = names;
	fs->nodes->buckets = buckets;
	fs->nodes->bucket_count = count;
}

/* A segment is its device and inode: /dev/shm may be another tmpfs tomorrow. */
static bool same(const struct node *node, dev_t dev, ino_t ino)
{
	return node->ino == ino && node->dev == dev;
}

struct node *nodes_find(struct shmfs *fs, dev_t dev, ino_t ino)
{
	struct node *node = fs->nodes->buckets[nodes_bucket_of(ino, fs->nodes->bucket_count)];

	while (node && !same(node, dev, ino))
		node = node->hash_next;
	return node;
}

/* With the lock held: takes name out of node's other names; whether it was there. */
bool nodes_drop_other_name(struct node *node, const char *name)
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
 * are kept, to be checked (nodes_stat) and dropped when stale. Too many
 * to check: the kernel is to forget them all (g->inval).
 */
void nodes_set_name(struct shmfs *fs, struct node *node, const char *name, struct garbage *g)
{
	bool new_cached;
	char *copy;

	if (!name || (node->name && strcmp(node->name, name) == 0))
		return;
	copy = strdup(name);
	if (!copy)
		return;
	new_cached = nodes_drop_other_name(node, name);
	if (node->name && node->name_cached) {
		size_t len = strlen(node->name), count = 1;
		struct other_name *o = malloc(sizeof(*o) + len + 1), **last;

		if (o) {
			memcpy(o->name, node->name, len + 1);
			o->next = node->other_names;
			node->other_names = o;
		}
		for (last = &node->other_names; *last && count < CHECK_NAMES_MAX;
		     last = &(*last)->next)
			count++;
		if (*last) {
			g->inval = true;
			nodes_free_other_names(node);
			new_cached = false;
		}
	}
	nodes_unclaim(fs, node);
	free(node->name);
	node->name = copy;
	node->name_cached = new_cached;
	node->name_gone = false;
}

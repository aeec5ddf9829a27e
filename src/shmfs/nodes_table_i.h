/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the node table's own: what its files (node_index.c, nodes.c,
 * node_names.c, node_backing.c) share, and no one else includes. Every
 * field here is under node_table.lock.
 */
#ifndef NODES_TABLE_I_H
#define NODES_TABLE_I_H

#include "shmfs_i.h"

#define INITIAL_BUCKETS 1024
/* How long the kernel may keep a name's entry in the default mode (see nodes_stat). */
#define ENTRY_TIMEOUT 60.0
/* The most names one node keeps for the kernel (older ones are dropped from it). */
#define CHECK_NAMES_MAX 8

struct other_name {
	struct other_name *next;
	char name[];
};

/*
 * A segment the kernel knows by a node id: identified by its tmpfs device
 * and inode number, found by the name it was last looked up under.
 * Everything here is under the table lock.
 */
struct node {
	struct node *hash_next;
	ino_t ino;
	dev_t dev;              /* with ino: the segment's identity */
	uint64_t anon_id;       /* an anonymous segment's id, or 0 for a named one */
	uint64_t generation;    /* fixed for the node's life: the kernel checks it */
	uint64_t nlookup;       /* the kernel's references (lookup minus forget) */
	struct handle *handles; /* open files, newest first */
	struct handle *keeper;  /* unlinked through the mount while known: the segment */
	char *name;             /* full segment name, prefix included, no '/' */
	struct node *name_next; /* in the name index, when it holds the claim on name */
	bool name_indexed;
	bool name_cached;               /* the kernel may hold name's entry for a while */
	bool name_gone;                 /* open, and its name was seen to mean something else */
	struct other_name *other_names; /* more names it may hold (renamed or linked outside) */
	int backing_id;                 /* registered for passthrough, or 0 */
	unsigned backing_users;         /* open files that use backing_id */
	bool backing_busy;              /* a first open is registering it */
	/* An entry of a view that is not a segment (nodes_get_object), or NULL; fixed. */
	const struct view *view;
	void *view_data; /* what that view keeps with it (a copy, replaced on each lookup) */
	size_t view_data_len;
};

struct nodes_table {
	pthread_mutex_t lock;
	pthread_cond_t backing_done; /* a node's backing registration finished */
	struct node **buckets;       /* chained by tmpfs inode number */
	size_t bucket_count;         /* a power of two */
	size_t count;
	uint64_t generation;
	/*
	 * The name index: for each name, the node it was last looked up as,
	 * which is the node the kernel's entry for that name means. Chained
	 * by name hash, as many buckets as the table.
	 */
	struct node **names;
};

/* What a locked section leaves to be done once the lock is released (dispose). */
struct garbage {
	struct node *nodes;     /* unhashed, chained through hash_next */
	struct handle *handles; /* whose last reference went, chained through next */
	int backing_id;         /* to close, or 0 */
	bool inval;             /* make the kernel forget its cached names */
};

/* node_index.c: the hash table by inode and the name index, with the lock held. */
size_t nodes_bucket_of(ino_t ino, size_t bucket_count);
void nodes_grow(struct shmfs *fs);
struct node *nodes_find(struct shmfs *fs, dev_t dev, ino_t ino);
struct node *nodes_claimant(struct shmfs *fs, const char *name);
void nodes_claim(struct shmfs *fs, struct node *node);
void nodes_unclaim(struct shmfs *fs, struct node *node);
void nodes_free_other_names(struct node *node);
bool nodes_drop_other_name(struct node *node, const char *name);
void nodes_set_name(struct shmfs *fs, struct node *node, const char *name, struct garbage *g);

/* nodes.c: references, and what is done once the lock is released. */
void nodes_handle_destroy(struct shmfs *fs, struct handle *h);
void nodes_handle_unref(struct handle *h, struct garbage *g);
void nodes_dispose(struct shmfs *fs, struct garbage *g, fuse_req_t req);
struct handle *nodes_borrow(struct node *node);
void nodes_give_back(struct shmfs *fs, struct handle *h);
void nodes_backing_put_locked(struct node *node, struct garbage *g);

#endif /* NODES_TABLE_I_H */

/* SPDX-License-Identifier: MIT */
/* shmfs: the daemon's private declarations, shared by its files. */
#ifndef SHMFS_I_H
#define SHMFS_I_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "pshm.h"

/* The daemon's settings, from the command line. */
struct shmfs_config {
	char *prefix; /* only segments named prefix* are shown; "" for all */
	size_t prefix_len;
	bool cache;           /* -o cache=on: kernel caches attributes and data */
	double timeout;       /* entry/attr timeout in seconds when cache is on */
	bool allow_other;     /* others may use the mount; default_permissions is on */
	bool chown_to_caller; /* root daemon: segments created belong to the caller */
};

/*
 * A segment the kernel knows by a node id: identified by its tmpfs inode
 * number, found by the name it was last looked up under.
 */
struct node {
	struct node *hash_next;
	ino_t ino;
	uint64_t generation;    /* fixed for the node's life: the kernel checks it */
	uint64_t nlookup;       /* the kernel's references (lookup minus forget) */
	struct handle *handles; /* open files, newest first */
	char *name;             /* full segment name, prefix included, no '/' */
};

/* An open file: the segment's descriptor and the daemon's mapping of it. */
struct handle {
	struct handle *next; /* in node->handles */
	struct node *node;
	int fd;
	int flags;                 /* the client's open flags */
	pthread_rwlock_t map_lock; /* readers copy under rdlock; remap under wrlock */
	char *map;
	size_t map_len;
};

/* nodes.c: the node table. Every function takes the table lock itself. */
int nodes_init(void);
/* Frees every node and handle (at unmount). */
void nodes_destroy(void);
/* Finds or adds the node for st->st_ino, records name, adds nlookup references. */
struct node *nodes_get(const char *name, const struct stat *st, uint64_t nlookup);
/* Drops nlookup kernel references; frees the node when none and no open files remain. */
void nodes_forget(struct node *node, uint64_t nlookup);
void nodes_attach(struct node *node, struct handle *handle);
/* Detaches handle; the caller closes its descriptor afterwards. */
void nodes_detach(struct node *node, struct handle *handle);
/*
 * The node's status now: from an open file when it has one (so an
 * unlinked segment stays usable), else by name, checking that the name
 * still means the same segment. -ENOENT when it is gone.
 */
int nodes_stat(struct node *node, struct stat *ret);
/*
 * A new descriptor for the node's segment, opened with oflags (O_RDONLY or
 * O_RDWR, optionally O_TRUNC): through an open file of the node when it has
 * one, else by name. -ENOENT when it is gone.
 */
int nodes_open(struct node *node, int oflags);

/* guard.c: copying out of a mapping that another process may shrink. */
int guard_init(void);
/* memcpy that returns -EFAULT instead of dying when src faults (SIGBUS). */
int guard_copy(void *dst, const void *src, size_t len);

/* ops.c */
extern const struct fuse_lowlevel_ops shmfs_ops;
extern struct shmfs_config shmfs_config;

#endif /* SHMFS_I_H */

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: a node's backing id for passthrough: one per node, registered by
 * its first open (the others wait, not the lock), closed by the last
 * file that used it (nodes_release), always outside the table lock.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nodes_table_i.h"
#include "passthrough_i.h"

int nodes_backing_get(struct shmfs *fs, struct node *node, int fd, fuse_req_t req)
{
	int id;

	if (!passthrough_active(fs))
		return 0;
	pthread_mutex_lock(&fs->nodes->lock);
	/* Two first opens register one id: the kernel refuses a second for an inode in use. */
	while (node->backing_busy)
		pthread_cond_wait(&fs->nodes->backing_done, &fs->nodes->lock);
	if (!node->backing_id) {
		node->backing_busy = true;
		pthread_mutex_unlock(&fs->nodes->lock);
		id = passthrough_register(fs, req, fd);
		pthread_mutex_lock(&fs->nodes->lock);
		node->backing_busy = false;
		if (id > 0)
			node->backing_id = id;
		pthread_cond_broadcast(&fs->nodes->backing_done);
	}
	id = node->backing_id;
	if (id)
		node->backing_users++;
	pthread_mutex_unlock(&fs->nodes->lock);
	return id;
}

void nodes_backing_put(struct shmfs *fs, struct node *node, fuse_req_t req)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&fs->nodes->lock);
	nodes_backing_put_locked(node, &g);
	pthread_mutex_unlock(&fs->nodes->lock);
	nodes_dispose(fs, &g, req);
}

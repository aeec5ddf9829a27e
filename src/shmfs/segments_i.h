/* SPDX-License-Identifier: MIT */
/* shmfs: a segment node's attributes and open files (segments.c). */
#ifndef SEGMENTS_I_H
#define SEGMENTS_I_H

#include "shmfs_i.h"

/* segments.c: a segment node's attributes and open files (named and anonymous alike). */
/* The entry for node with status st, carrying a kernel reference the caller took. */
void segments_fill_entry(struct shmfs *fs, struct fuse_entry_param *e, struct node *node,
			 const struct stat *st);
/* The entry of the named segment full or anonymous segment anon_id: 0 with *e and a reference. */
int segments_entry(struct shmfs *fs, const char *full, uint64_t anon_id,
		   struct fuse_entry_param *e);
void segments_getattr_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi);
void segments_setattr_reply(fuse_req_t req, struct node *node, struct stat *attr, int to_set,
			    struct fuse_file_info *fi);
void segments_open_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi);
/*
 * Replies to an OPEN with h, a new open file of node (the table owns it
 * from here): passthrough when the kernel takes the descriptor, else
 * direct I/O through the daemon.
 */
void segments_reply_open(fuse_req_t req, struct node *node, struct handle *h,
			 struct fuse_file_info *fi);
/*
 * Creates (or with O_CREAT and no O_EXCL opens) the segment full as the
 * caller and replies to the CREATE with an open file of it.
 */
void segments_create_reply(fuse_req_t req, const char *full, mode_t mode,
			   struct fuse_file_info *fi);
/* mknod of a regular file: creates the segment full as the caller; 0 with *e, or -errno. */
int segments_mknod(fuse_req_t req, const char *full, mode_t mode, struct fuse_entry_param *e);
void segments_release_reply(fuse_req_t req, struct node *node, struct fuse_file_info *fi);

#endif /* SEGMENTS_I_H */

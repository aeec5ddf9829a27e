/* SPDX-License-Identifier: MIT */
/* shmfs: directory listings of directory views (dirs.c). */
#ifndef DIRS_I_H
#define DIRS_I_H

#include "view_i.h"

/* opendir of directory view dir (node id ino): a fresh snapshot, and the reply. */
void dirs_open_reply(fuse_req_t req, const struct view *dir, fuse_ino_t ino,
		     struct fuse_file_info *fi);
void dirs_read_reply(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void dirs_readplus_reply(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void dirs_release_reply(fuse_req_t req, struct fuse_file_info *fi);

#endif /* DIRS_I_H */

/* SPDX-License-Identifier: MIT */
/* shmfs: user.shmfs.* attributes of segments (xattr.c). */
#ifndef XATTR_I_H
#define XATTR_I_H

#include "shmfs_i.h"

/* xattr.c: user.shmfs.* attributes of a segment node (NULL: the mount's own entries). */
void xattr_get_reply(fuse_req_t req, struct node *node, const char *name, size_t size);
void xattr_list_reply(fuse_req_t req, struct node *node, size_t size);

#endif /* XATTR_I_H */

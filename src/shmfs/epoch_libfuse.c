/* SPDX-License-Identifier: MIT */
/* shmfs: FUSE_NOTIFY_INC_EPOCH through libfuse 3.18 and later. */
#include "inval_i.h"
#include "shmfs_i.h"

int inval_send_epoch(struct fuse_session *se)
{
	return fuse_lowlevel_notify_increment_epoch(se);
}

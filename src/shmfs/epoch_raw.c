/* SPDX-License-Identifier: MIT */
/*
 * shmfs: FUSE_NOTIFY_INC_EPOCH for libfuse before 3.18, which cannot send
 * it: a notification is an out header with unique 0 and the code in its
 * error field, written to the device (the kernel's uapi <linux/fuse.h>).
 */
#include <errno.h>
#include <linux/fuse.h>
#include <unistd.h>

#include "inval_i.h"
#include "shmfs_i.h"

#define NOTIFY_INC_EPOCH 8 /* FUSE_NOTIFY_INC_EPOCH, 7.44: newer than Debian 12's header */

int inval_send_epoch(struct fuse_session *se)
{
	/* A notification: unique 0, and its code in the error field. */
	struct fuse_out_header h = { .len = sizeof(h), .error = NOTIFY_INC_EPOCH, .unique = 0 };

	if (write(fuse_session_fd(se), &h, sizeof(h)) == (ssize_t)sizeof(h))
		return 0;
	return -errno;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: telling the kernel to drop the names it caches.
 *
 * In the default mode the kernel keeps a name's entry (which node it means)
 * for a while and asks the daemon for the attributes on every use; the
 * daemon checks each time that the name still means the node's segment
 * (nodes.c). Where that check cannot tell, the daemon makes the kernel
 * forget every cached entry of the mount: a file on the segment is being
 * opened (from then on its stats come from the open file), or the segment
 * turned up under another name (renamed or linked in /dev/shm).
 *
 * FUSE_NOTIFY_INC_EPOCH (protocol 7.44, Linux 6.16) does that without a
 * lock: the kernel bumps a counter, and entries from before fail their
 * next check. FUSE_NOTIFY_INVAL_ENTRY would drop just one name, but takes
 * the directory's lock, which a request waiting for a worker may hold; a
 * daemon that sends it from a worker, or stops while sending it, can hang.
 * Without the epoch the kernel gets no cached entries at all. libfuse 3.18
 * sends it (epoch_libfuse.c); before, shmfs writes it itself (epoch_raw.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>

#include "inval_i.h"
#include "shmfs_i.h"

#define EPOCH_MINOR 44 /* FUSE_NOTIFY_INC_EPOCH: protocol 7.44 */

void inval_init(struct shmfs *fs, unsigned proto_major, unsigned proto_minor)
{
	atomic_store(&fs->epoch,
		     proto_major > 7 || (proto_major == 7 && proto_minor >= EPOCH_MINOR));
}

bool inval_available(struct shmfs *fs)
{
	return atomic_load(&fs->epoch);
}

void inval_all(struct shmfs *fs)
{
	int r;

	if (!inval_available(fs) || !fs->se)
		return;
	r = inval_send_epoch(fs->se);
	if (r == -EINVAL || r == -ENOSYS) {
		/* Not understood after all: from now on no entry is cached. */
		atomic_store(&fs->epoch, false);
		fuse_log(FUSE_LOG_ERR, "shmfs: the kernel refused FUSE_NOTIFY_INC_EPOCH; "
				       "names are no longer cached\n");
	}
}

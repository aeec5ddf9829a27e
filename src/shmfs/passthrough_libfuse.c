/* SPDX-License-Identifier: MIT */
/*
 * shmfs: passthrough through libfuse's own API (3.17 and later):
 * FUSE_CAP_PASSTHROUGH at INIT, fuse_passthrough_open/close for the
 * backing ids, fi->backing_id in the open reply. Nothing is patched, so
 * io_uring and clone_fd stay available.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "passthrough_i.h"

/* For a close once the request has been replied to (libfuse's API wants a live request). */
#define DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

const char *passthrough_implementation(void)
{
	return "native";
}

int passthrough_setup(struct shmfs *fs, bool on, const char *why_off)
{
	passthrough_state_init(fs, on, why_off);
	return 0;
}

void passthrough_init(struct shmfs *fs, struct fuse_conn_info *conn)
{
	if (!passthrough_enabled(fs))
		return; /* off (-o passthrough=off, cache=on): the kernel is not asked */
	/*
	 * conn->want, the field ops_init changes too: libfuse 3.17 converts
	 * want into want_ext after init, and a mix of both fields changed at
	 * once fails that conversion on some 3.17 releases. The bit fits in 32.
	 */
	if (!(conn->capable & FUSE_CAP_PASSTHROUGH)) {
		passthrough_set_off(fs, "the kernel does not offer it (Linux 6.9+)");
		return;
	}
	/* The segments are on tmpfs: no stacking below (the kernel gets a depth of 1). */
	conn->max_backing_stack_depth = FUSE_BACKING_STACKED_UNDER;
	conn->want |= FUSE_CAP_PASSTHROUGH;
	passthrough_set_active(fs);
}

int passthrough_register(struct shmfs *fs, fuse_req_t req, int fd)
{
	int id, err;

	if (!passthrough_active(fs))
		return -EOPNOTSUPP;
	errno = 0;
	id = fuse_passthrough_open(req, fd);
	if (id > 0)
		return id;
	err = errno ? errno : EPROTO;
	passthrough_registration_failed(fs, err, fd);
	return -err;
}

void passthrough_unregister(struct shmfs *fs, fuse_req_t req, int id)
{
	uint32_t backing_id = (uint32_t)id;

	if (req) {
		fuse_passthrough_close(req, id);
		return;
	}
	if (ioctl(fuse_session_fd(fs->se), DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		fuse_log(FUSE_LOG_ERR, "shmfs: closing backing file %d: %s\n", id, strerror(errno));
}

void passthrough_mark(struct fuse_file_info *fi, int backing_id, void (*declined)(void *ctx),
		      void *ctx)
{
	/* libfuse always puts the id in the reply; direct I/O would win over it for reads. */
	(void)declined;
	(void)ctx;
	fi->backing_id = backing_id;
	fi->direct_io = 0;
}

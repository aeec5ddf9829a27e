/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the daemon's life, in the one order it runs. shmfs_new makes
 * every module's state in struct shmfs (those below first: what a later
 * one gives back on teardown must still be there), shmfs_mount makes the
 * session and the mount, shmfs_start the thread that watches /dev/shm;
 * shmfs_unmount and shmfs_free undo them in reverse.
 *
 *   make    creds, guard, limits, nodes, anons, snapshots, hints,
 *           holders, passthrough, sessions, waits, reply buffers
 *   mount   session, signal handlers, mount, holders' own mount, passthrough
 *   start   waits thread (after fuse_daemonize: threads do not survive a fork)
 *   unmount waits thread, sessions' kept reads (ENOTCONN), mount, handlers
 *   free    session, then the states in reverse order of making
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "anon_i.h"
#include "ctl_session_i.h"
#include "daemon_i.h"
#include "data_i.h"
#include "guard_i.h"
#include "holders_i.h"
#include "listing_i.h"
#include "names_i.h"
#include "ops_i.h"
#include "passthrough_i.h"
#include "view_i.h"
#include "waits_i.h"

int shmfs_new(const struct shmfs_config *config, uint64_t fd_ceiling, struct shmfs **ret)
{
	struct shmfs *fs = calloc(1, sizeof(*fs));
	int r;

	*ret = NULL;
	if (!fs)
		return -ENOMEM;
	fs->config = *config;
	fs->ctl = (struct ctl_context){ .prefix = fs->config.prefix,
					.segment_name = names_segment,
					.own_entry = views_own_entry };
	r = creds_init();
	if (r == 0)
		r = guard_init();
	if (r == 0)
		r = limits_new(fs, &fs->config.limits, fd_ceiling);
	if (r == 0)
		r = nodes_new(fs, &(struct nodes_config){ .cache = fs->config.cache,
							  .cache_timeout = fs->config.timeout });
	if (r == 0)
		r = anons_new(fs);
	if (r == 0)
		r = snapshots_new(fs);
	if (r == 0)
		r = view_objects_new(fs);
	if (r == 0)
		r = holders_new(fs);
	if (r == 0)
		r = passthrough_new(fs);
	if (r == 0)
		r = ctl_sessions_new(fs);
	if (r == 0)
		r = waits_new(fs);
	if (r == 0)
		r = data_new(fs);
	if (r < 0) {
		shmfs_free(fs);
		return r;
	}
	*ret = fs;
	return 0;
}

int shmfs_mount(struct shmfs *fs, struct fuse_args *args, const char *mountpoint)
{
	int r;

	fs->se = fuse_session_new(args, &shmfs_ops, sizeof(shmfs_ops), fs);
	if (!fs->se)
		return -1; /* libfuse said why */
	if (fuse_set_signal_handlers(fs->se) != 0)
		return -1;
	if (fuse_session_mount(fs->se, mountpoint) != 0) {
		fuse_remove_signal_handlers(fs->se);
		return -1;
	}
	fs->mounted = true;
	holders_mounted(fs, mountpoint);
	r = passthrough_setup(fs, fs->config.passthrough,
			      fs->config.cache ? "cache=on" : "-o passthrough=off");
	if (r < 0)
		fuse_log(FUSE_LOG_ERR, "shmfs: passthrough off: %s\n", strerror(-r));
	return 0;
}

int shmfs_start(struct shmfs *fs)
{
	return waits_start(fs);
}

void shmfs_unmount(struct shmfs *fs)
{
	if (!fs || !fs->mounted)
		return;
	/*
	 * The workers are gone: stop the waits, and answer the reads kept for
	 * them (ENOTCONN, as every request gets once the daemon is gone)
	 * while the session can still send.
	 */
	waits_stop(fs);
	ctl_sessions_close_all(fs);
	fuse_session_unmount(fs->se);
	fuse_remove_signal_handlers(fs->se);
	fs->mounted = false;
}

void shmfs_free(struct shmfs *fs)
{
	if (!fs)
		return;
	shmfs_unmount(fs);
	if (fs->se)
		fuse_session_destroy(fs->se);
	fs->se = NULL;
	data_free(fs);
	waits_free(fs);
	ctl_sessions_free(fs);
	passthrough_free(fs);
	holders_free(fs);
	view_objects_free(fs);
	snapshots_free(fs);
	anons_free(fs);
	nodes_free(fs);
	limits_free(fs);
	free(fs);
}

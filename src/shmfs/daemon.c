/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the daemon's life, in the one order it runs. shmfs_new makes
 * every module's state in struct shmfs (those below first: what a later
 * one gives back on teardown must still be there), shmfs_mount makes the
 * session and the mount, shmfs_start the thread that watches /dev/shm;
 * shmfs_unmount and shmfs_free undo them in reverse.
 *
 *   make    creds, guard, limits, nodes, anons, snapshots, hints,
 *           holders, passthrough, sessions, waits, reply buffers (states[])
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

static int make_creds(struct shmfs *fs)
{
	(void)fs;
	return creds_init(); /* the process's own ids, and the threads' switching */
}

static int make_guard(struct shmfs *fs)
{
	(void)fs;
	return guard_init(); /* the SIGBUS handler of reads from a shrinking segment */
}

/*
 * Each state of struct shmfs, in the order it is made; it is freed in the
 * reverse order, so what a later one gives back on teardown (a charge to
 * limits, an anonymous segment of a session) is still there. A free
 * function takes a state never made (NULL).
 */
static const struct {
	int (*make)(struct shmfs *fs);
	void (*free)(struct shmfs *fs);
} states[] = {
	{ make_creds, NULL },
	{ make_guard, NULL },
	{ limits_new, limits_free },
	{ nodes_new, nodes_free },
	{ anons_new, anons_free },
	{ snapshots_new, snapshots_free },
	{ view_objects_new, view_objects_free },
	{ holders_new, holders_free },
	{ passthrough_new, passthrough_free },
	{ ctl_sessions_new, ctl_sessions_free },
	{ waits_new, waits_free },
	{ data_new, data_free },
};

int shmfs_new(const struct shmfs_config *config, struct shmfs **ret)
{
	struct shmfs *fs = calloc(1, sizeof(*fs));

	*ret = NULL;
	if (!fs)
		return -ENOMEM;
	fs->config = *config;
	fs->ctl = (struct ctl_context){ .prefix = fs->config.prefix,
					.segment_name = names_segment,
					.own_entry = views_own_entry };
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		int r = states[i].make(fs);

		if (r < 0) {
			shmfs_free(fs);
			return r;
		}
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
	for (size_t i = sizeof(states) / sizeof(states[0]); i-- > 0;)
		if (states[i].free)
			states[i].free(fs);
	free(fs);
}

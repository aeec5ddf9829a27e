/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the daemon's context (struct shmfs, its settings) and the names
 * of the mount's own entries: what every module's header (MODULE_i.h,
 * beside its code) builds on. The layers are drawn in docs/design.md.
 */
#ifndef SHMFS_I_H
#define SHMFS_I_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "creds_i.h"
#include "limits_i.h"
#include "nodes_i.h"
#include "pshm.h"

/* The daemon's settings, from the command line. */
struct shmfs_config {
	char *prefix; /* only segments named prefix* are shown; "" for all */
	size_t prefix_len;
	bool cache;                  /* -o cache=on: kernel caches attributes and data */
	double timeout;              /* entry/attr timeout in seconds when cache is on */
	bool allow_other;            /* others may use the mount; default_permissions is on */
	struct limits_config limits; /* per-user limits (limits.c) */
	unsigned max_read;           /* the largest read request, or 0 for libfuse's default */
	bool passthrough;            /* -o passthrough=auto: data from the segment when possible */
};

struct ctl_session;

/* What the control file needs from the layers above it, passed in. */
struct ctl_context {
	const char *prefix; /* the mount's segment name prefix, "" for none */
	/* The segment name for a name inside the mount (names_segment). */
	int (*segment_name)(const char *prefix, const char *name, char buf[PSHM_NAME_MAX + 1]);
	/* Whether name is one of the mount's own entries (which shadow segments). */
	bool (*own_entry)(const char *name);
};

/* The daemon: reached from every request through fuse_req_userdata(). */
struct shmfs {
	struct shmfs_config config;
	struct timespec started; /* the times of the mount's own entries */
	struct ctl_context ctl;
};

static inline struct shmfs *shmfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The attribute timeout the kernel gets: 0 unless cache=on. */
static inline double shmfs_attr_timeout(const struct shmfs *fs)
{
	return fs->config.cache ? fs->config.timeout : 0.0;
}

/* The names of the mount's own entries at its top (views, view_i.h). */
#define CTL_NAME ".ctl"
#define ANON_DIR_NAME ".anon"

#endif /* SHMFS_I_H */

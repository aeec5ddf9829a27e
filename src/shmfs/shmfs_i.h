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
#include <stdatomic.h>
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
	size_t splice_max;           /* the most one spliced reply carries (splice.c); 0: none */
	bool passthrough;            /* -o passthrough=auto: data from the segment when possible */
	bool kernel_iter;            /* -o kernel_iter=auto: root's scans from BPF iterators */
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

/* Each module's own state, opaque to the rest (defined in the module's .c). */
struct anons;
struct ctl_sessions;
struct holders;
struct limits;
struct nodes_table;
struct passthrough;
struct snapshots;
struct view_hints;
struct waits;

/*
 * The daemon: everything it holds, reached from every request through
 * fuse_req_userdata() (shmfs_of). daemon.c makes and tears it down, in
 * the one order written there.
 */
struct shmfs {
	struct shmfs_config config; /* fixed once started */
	struct timespec started;    /* the times of the mount's own entries */
	struct ctl_context ctl;
	struct fuse_session *se;  /* the session, once made */
	bool mounted;             /* se is mounted (daemon.c) */
	pthread_key_t buffer_key; /* data.c: each worker's reply buffer */
	bool buffer_key_made;
	atomic_bool epoch;               /* inval.c: the kernel takes FUSE_NOTIFY_INC_EPOCH */
	struct limits *limits;           /* limits.c: what each user holds */
	struct nodes_table *nodes;       /* nodes.c and node_*.c: the kernel's node ids */
	struct anons *anons;             /* anon.c: anonymous segments */
	struct snapshots *snapshots;     /* listing.c: directory listings kept open */
	struct view_hints *hints;        /* view_objects.c: each view's last listing */
	struct holders *holders;         /* holders.c: this mount, scans running */
	struct passthrough *passthrough; /* passthrough*.c */
	struct ctl_sessions *sessions;   /* ctl_session.c: open control files */
	struct waits *waits;             /* waits.c: the thread that watches /dev/shm */
};

static inline struct shmfs *shmfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Milliseconds of CLOCK_MONOTONIC, the clock of every deadline. */
static inline uint64_t shmfs_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
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

/* SPDX-License-Identifier: MIT */
/* shmfs: the daemon's private declarations, shared by its files. */
#ifndef SHMFS_I_H
#define SHMFS_I_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "creds_i.h"
#include "limits_i.h"
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

/*
 * A segment the kernel knows by a node id: identified by its tmpfs device
 * and inode number, found by the name it was last looked up under.
 */
struct node {
	struct node *hash_next;
	ino_t ino;
	dev_t dev;              /* with ino: the segment's identity */
	uint64_t anon_id;       /* an anonymous segment's id, or 0 for a named one */
	uint64_t generation;    /* fixed for the node's life: the kernel checks it */
	uint64_t nlookup;       /* the kernel's references (lookup minus forget) */
	struct handle *handles; /* open files, newest first */
	int keeper_fd;          /* unlinked through the mount while known: the segment, or -1 */
	uid_t keeper_uid;       /* whom keeper_fd is charged to */
	struct node *name_next; /* in the name index, when it holds the claim on name */
	bool name_indexed;
	char *name;                     /* full segment name, prefix included, no '/' */
	bool name_cached;               /* the kernel may hold name's entry for a while */
	bool name_gone;                 /* open, and its name was seen to mean something else */
	struct other_name *other_names; /* more names it may hold (renamed or linked outside) */
	int backing_id;                 /* registered for passthrough, or 0 */
	unsigned backing_users;         /* open files that use backing_id */
};

struct other_name {
	struct other_name *next;
	char name[];
};

/* An open file: the segment's descriptor and the daemon's mapping of it. */
struct handle {
	struct handle *next; /* in node->handles */
	struct node *node;
	int fd;
	int flags;                 /* the client's open flags */
	uid_t uid;                 /* the opener, charged one descriptor */
	bool passthrough;          /* the kernel serves its data from the segment */
	pthread_rwlock_t map_lock; /* readers copy under rdlock; remap under wrlock */
	char *map;
	size_t map_len;
};

/* nodes.c: the node table. Every function takes the table lock itself. */
int nodes_init(void);
/* Frees every node and handle (at unmount). */
void nodes_destroy(void);
/*
 * Finds or adds the node for st->st_ino, records name (a named segment) or
 * anon_id (an anonymous one), adds nlookup references.
 */
struct node *nodes_get(const char *name, uint64_t anon_id, const struct stat *st, uint64_t nlookup);
/*
 * Before name is unlinked through the mount: if the kernel knows its node,
 * the node keeps a descriptor of the segment, so an open that looked the
 * name up just before the unlink still opens it, as on /dev/shm itself.
 */
void nodes_keep(const char *name, uid_t uid);
/*
 * Whether name, about to be unlinked or renamed by name, still means the
 * segment of the node the kernel last looked it up as: 0, or -ESTALE when
 * it now means another one (the kernel then looks the name up again and
 * retries the call).
 */
int nodes_check_name(const char *name);
/*
 * After a rename in /dev/shm: the node of the segment now at to (if the
 * kernel knows it) is known by that name; from no longer names it.
 */
void nodes_renamed(const char *from, const char *to);
/*
 * How long the kernel may keep an entry for node: in the default mode a
 * while when no file is open on it (stat still asks the daemon, which
 * checks the name each time, see nodes_stat), and 0 when one is, so every
 * path lookup then asks again; with cache=on the cache timeout.
 */
double nodes_entry_timeout(struct node *node);
/* Drops nlookup kernel references; frees the node when none and no open files remain. */
void nodes_forget(struct node *node, uint64_t nlookup);
void nodes_attach(struct node *node, struct handle *handle);
/*
 * Detaches handle (and its use of the node's backing id); the caller
 * closes its descriptor afterwards.
 */
void nodes_detach(struct node *node, struct handle *handle);
/*
 * The node's status now: from an open file when it has one (so an
 * unlinked segment stays usable), else by name, checking that every name
 * the kernel may have cached for it still means the same segment. When
 * one does not: -ESTALE if the name now means another segment, or another
 * name still means this one (the kernel then looks the name up again and
 * retries), -ENOENT when it is simply gone; with cache=on always -ESTALE.
 */
int nodes_stat(struct node *node, struct stat *ret);
/*
 * A new descriptor for the node's segment, opened with oflags (O_RDONLY or
 * O_RDWR, optionally O_TRUNC): through an open file of the node when it has
 * one, else by name after the checks of nodes_stat (and its errors).
 */
int nodes_open(struct node *node, int oflags);

/*
 * For an open file of node about to be replied to: the backing id the
 * kernel serves it from (registering the segment open as fd on the
 * node's first such open), or 0 when passthrough is off or failed.
 * Every open of a node uses the same id, as the kernel requires.
 */
int nodes_backing_get(struct node *node, int fd);

/*
 * The node's segment name (prefix included) into name, or its anonymous id
 * into *ret_anon_id (name is then ""); *ret_anon_id is 0 for named ones.
 */
int nodes_identity(struct node *node, char name[PSHM_NAME_MAX + 1], uint64_t *ret_anon_id);

/* inval.c: making the kernel drop the names it caches (see there). */
void inval_setup(struct fuse_session *se);
/* At INIT: whether the kernel can be told (protocol 7.44 and up). */
void inval_init(unsigned proto_major, unsigned proto_minor);
/* Whether names may be cached: the kernel can be told to drop them. */
bool inval_available(void);
/* Makes the kernel drop every cached entry of the mount (never blocks). */
void inval_all(void);

/* passthrough.c: the kernel serving open files' data from the segment (see there). */
/* Installs the hooks on the mounted session; 0 or -errno. */
int passthrough_setup(struct fuse_session *se);
/* Whether the kernel accepted passthrough and registering still works. */
bool passthrough_active(void);
/* "on", or "off: " and why, for the status summary. */
void passthrough_status(char *buf, size_t size);
/* Registers the segment open as fd as a backing file: its id, or -errno. */
int passthrough_register(int fd);
void passthrough_unregister(int id);
/* The reply this thread sends next to an OPEN or CREATE names backing_id. */
void passthrough_reply_with(int backing_id);

/* xattr.c: user.shmfs.* attributes of a segment node (NULL: the mount's own entries). */
void xattr_get(fuse_req_t req, struct node *node, const char *name, size_t size);
void xattr_list(fuse_req_t req, struct node *node, size_t size);

/*
 * Node ids of the mount's own entries; segments' node ids are addresses
 * (16-byte aligned). .ctl is one inode per user: the kernel serialises
 * writes to an inode, so one user's long command never delays another's.
 */
#define ANON_DIR_INO 3
#define CTL_INO_TAG 0x5
#define CTL_NAME ".ctl"
#define ANON_DIR_NAME ".anon"

static inline fuse_ino_t ctl_ino(uid_t uid)
{
	return ((fuse_ino_t)uid << 8) | CTL_INO_TAG;
}

static inline bool is_ctl_ino(fuse_ino_t ino)
{
	return (ino & 0xff) == CTL_INO_TAG;
}

/* anon.c: the anonymous segments the daemon holds. */
#define ANON_NAME_PREFIX "shmfs-anon-" /* after the mount's prefix, for an instant */
#define ANON_ALL ((uid_t)-1)           /* anon_list: every user's */

struct anon_info {
	uint64_t id;
	int fd; /* the daemon's descriptor: /proc/PID/fd/FD reaches the segment */
	struct stat st;
	bool held; /* freed when the .ctl descriptor that made it closes */
};

/*
 * Creates an anonymous segment of size bytes and mode as owner (who owns
 * it then, and is charged for it); holder (a .ctl session) or NULL.
 * Returns 0 with its id and the daemon's descriptor; -EDQUOT at the
 * owner's count or bytes limit; -EMFILE when the owner (or the daemon) is
 * out of descriptors; or what libpshm reports.
 */
int anon_create(off_t size, mode_t mode, const struct creds *owner, const void *holder,
		uint64_t *ret_id, int *ret_fd);
/* Releases id: -ENOENT, or -EPERM unless caller owns it or is root. */
int anon_free(uint64_t id, uid_t caller);
/* Releases every segment that holder holds. */
void anon_release_holder(const void *holder);
/* Status of id; *ret_fd (when not NULL) gets the daemon's descriptor. -ENOENT when gone. */
int anon_stat(uint64_t id, struct stat *ret, int *ret_fd);
/* A new descriptor for id with oflags (access mode, O_TRUNC). */
int anon_reopen(uint64_t id, int oflags);
/*
 * caller's segments (all for root or ANON_ALL) into a new array *ret (the
 * caller frees it) of *ret_count. 0 or -ENOMEM.
 */
int anon_list(uid_t caller, struct anon_info **ret, size_t *ret_count);
/* Releases them all (at exit). */
void anon_destroy(void);

/* holders.c: who has a segment open or mapped. */
#define HOLDER_LINE_MAX 512
/* Finds this mount (mountpoint, as libfuse resolved it) so that holders through it count too. */
void holders_init(const char *mountpoint);
/* The mount point ("" when unknown). */
const char *holders_mount_path(void);
typedef void (*holders_emit_fn)(void *ctx, const char *line);
struct holders_count {
	unsigned hidden;     /* holding processes viewer may not see (counted, not described) */
	unsigned unreadable; /* processes that could not be read at all */
};
/*
 * Emits "PID COMM fd N" and "PID COMM map START-END PERMS" for every
 * process but this one holding dev/ino that viewer could read
 * /proc/PID/maps of (the kernel decides, as for viewer's own open);
 * counts the others in *ret.
 */
int holders_scan(dev_t dev, ino_t ino, const struct creds *viewer, holders_emit_fn emit, void *ctx,
		 struct holders_count *ret);

/* ctl.c: the control file's sessions, one per open (its parser: ctl_parse_i.h). */
#define CTL_OUTPUT_MAX (64 << 10) /* replies pending unread in one .ctl file, at most */
/* One write runs commands for about this long, then returns short (the writer goes on). */
#define CTL_WRITE_SLICE_MS 20
struct ctl_session;
/* What the control file needs from the layers above it, passed in. */
struct ctl_context {
	const char *prefix; /* the mount's segment name prefix, "" for none */
	/* The segment name for a name inside the mount (see ops_segment_name). */
	int (*segment_name)(const char *name, char buf[PSHM_NAME_MAX + 1]);
};
/* A session for opener (whose rights every command has): 0, -EMFILE at the opener's limit. */
int ctl_open(const struct creds *opener, struct ctl_session **ret);
void ctl_close(struct ctl_session *s);
/* Closes the sessions still open (at exit). */
void ctl_destroy_all(void);
/*
 * Runs the complete lines in buf, as the session's opener (whoever writes):
 * the bytes taken (fewer than len when the time slice ran out), or -errno
 * of the first command that failed.
 */
ssize_t ctl_write(struct ctl_session *s, const char *buf, size_t len,
		  const struct ctl_context *context);
/* Pending replies (or, before any command, the status summary). */
ssize_t ctl_read(struct ctl_session *s, char *buf, size_t size, const struct ctl_context *context);

/* guard.c: copying out of a mapping that another process may shrink. */
int guard_init(void);
/* memcpy that returns -EFAULT instead of dying when src faults (SIGBUS). */
int guard_copy(void *dst, const void *src, size_t len);

/* splice.c: read replies that reference the segment's pages instead of copying them. */
/* Measures what a pipe may hold; returns the most data one spliced reply carries (0: none). */
size_t splice_init(void);
/*
 * Replies to req with the len bytes at off of the segment open as fd: 0
 * once replied (short if the segment shrank meanwhile), or -EAGAIN, having
 * sent nothing, when the caller must reply itself (too small or too big).
 */
int splice_reply(fuse_req_t req, int fd, size_t len, off_t off);

/* ops.c */
extern const struct fuse_lowlevel_ops shmfs_ops;
extern struct shmfs_config shmfs_config;
/* Frees the directory listings still open (at exit). */
void ops_destroy_all(void);
/* The segment name for a name inside the mount: prefix added, checked. */
int ops_segment_name(const char *name, char buf[PSHM_NAME_MAX + 1]);

#endif /* SHMFS_I_H */

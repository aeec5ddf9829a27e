/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the daemon's private declarations, by layer (docs/design.md):
 * the front end (shmfs.c) -> the operations (ops.c) -> the views, the
 * segments' file operations and directory listings -> the node table
 * and the control file -> the data path (passthrough, splice, guard,
 * inval) -> libpshm. A layer gets what it needs from above passed in.
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

/* ops.c: the operations table, dispatching each request once. */
extern const struct fuse_lowlevel_ops shmfs_ops;

/* names.c: names inside the mount and the segments they mean. */
/*
 * The segment name for an entry of the mount: prefix + name, checked.
 * Returns 0, -ENAMETOOLONG, or -EINVAL (a name shm cannot hold); semaphore
 * names are -ENOENT, since the mount never shows them.
 */
int names_segment(const char *prefix, const char *name, char buf[PSHM_NAME_MAX + 1]);
/* The id of an anonymous segment from its name in .anon (ctl_parse_id's rules). */
bool names_anon_id(const char *name, uint64_t *ret);

/* segments.c: a segment node's attributes and open files (named and anonymous alike). */
/* The entry for node with status st, carrying a kernel reference the caller took. */
void segments_fill_entry(const struct shmfs *fs, struct fuse_entry_param *e, struct node *node,
			 const struct stat *st);
/* The entry of the named segment full or anonymous segment anon_id: 0 with *e and a reference. */
int segments_entry(const struct shmfs *fs, const char *full, uint64_t anon_id,
		   struct fuse_entry_param *e);
void segments_getattr(fuse_req_t req, struct node *node, struct fuse_file_info *fi);
void segments_setattr(fuse_req_t req, struct node *node, struct stat *attr, int to_set,
		      struct fuse_file_info *fi);
void segments_open(fuse_req_t req, struct node *node, struct fuse_file_info *fi);
/*
 * Replies to an OPEN with h, a new open file of node (the table owns it
 * from here): passthrough when the kernel takes the descriptor, else
 * direct I/O through the daemon.
 */
void segments_reply_open(fuse_req_t req, struct node *node, struct handle *h,
			 struct fuse_file_info *fi);
/*
 * Creates (or with O_CREAT and no O_EXCL opens) the segment full as the
 * caller and replies to the CREATE with an open file of it.
 */
void segments_create(fuse_req_t req, const char *full, mode_t mode, struct fuse_file_info *fi);
/* mknod of a regular file: creates the segment full as the caller; 0 with *e, or -errno. */
int segments_mknod(fuse_req_t req, const char *full, mode_t mode, struct fuse_entry_param *e);
void segments_release(fuse_req_t req, struct node *node, struct fuse_file_info *fi);

/* data.c: reading and writing an open segment file through the daemon. */
void data_read(fuse_req_t req, struct handle *h, size_t size, off_t off);
void data_write(fuse_req_t req, struct handle *h, const char *buf, size_t size, off_t off);
/*
 * The bytes a read of size at off gets from an object of size_now (or an
 * error r < 0 of finding it out): their count, or 0 once it replied itself
 * (the error, or an empty read at or past the end).
 */
size_t data_span(fuse_req_t req, int r, off_t size_now, size_t size, off_t off);
/* A per-thread buffer of at least size bytes for replies (freed when the thread ends). */
char *data_buffer(size_t size);

/* anon.c: the anonymous segments the daemon holds. */
#define ANON_NAME_PREFIX "shmfs-anon-" /* after the mount's prefix, for an instant */
#define ANON_ALL ((uid_t)-1)           /* anon_list: every user's */

struct anon_info {
	uint64_t id;
	struct stat st;
	bool held; /* freed when the .ctl descriptor that made it closes */
};

/* The mount's prefix: the instant names of new segments stay inside it. */
void anon_init(const char *prefix);
/*
 * Creates an anonymous segment of size bytes and mode as owner (who owns
 * it then, and is charged for it); holder (a .ctl session) or NULL.
 * Returns 0 with its id and the daemon's descriptor; -EDQUOT at the
 * owner's count or bytes limit; -EMFILE when the owner (or the daemon) is
 * out of descriptors; or what libpshm reports, with its account in *err.
 */
int anon_create(off_t size, mode_t mode, const struct creds *owner, const void *holder,
		uint64_t *ret_id, int *ret_fd, struct pshm_error *err);
/* Releases id: -ENOENT, or -EPERM unless caller owns it or is root. */
int anon_free(uint64_t id, uid_t caller);
/* Releases every segment that holder holds. */
void anon_release_holder(const void *holder);
/* Status of id; -ENOENT when gone. */
int anon_stat(uint64_t id, struct stat *ret);
/* "/proc/PID/fd/N", the daemon's path of id's segment, into buf; -ENOENT when gone. */
int anon_proc_path(uint64_t id, char *buf, size_t size);
/* A new descriptor for id with oflags (access mode, O_TRUNC), with this thread's rights. */
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
#define HOLDERS_BYTES_MAX (64 << 10) /* the most one scan describes (an xattr's most) */
#define HOLDERS_SCAN_MS 1000         /* a scan stops after this long */
#define HOLDERS_SCANS_MAX 4          /* scans at once, for all users but root */
#define HOLDERS_MAX 65536            /* holders one scan collects, at most (3.5 MiB) */
/* Finds this mount (mountpoint, as libfuse resolved it) so that holders through it count too. */
void holders_init(const char *mountpoint);
/* The mount point ("" when unknown). */
const char *holders_mount_path(void);
/* Scans stop when this session exits. */
void holders_set_session(struct fuse_session *se);
/*
 * Every scan of /proc for viewer (holders, usage) takes a slot: one per
 * user, HOLDERS_SCANS_MAX for all users but root. 0, or -EAGAIN.
 */
int holders_scan_begin(const struct creds *viewer);
void holders_scan_end(const struct creds *viewer);
/*
 * libpshm's scan of kinds (the daemon left out) for viewer, in a scan slot
 * and bounded like a holders scan: 0 with *ret, -EAGAIN (no slot),
 * -ETIMEDOUT (HOLDERS_SCAN_MS passed, or the daemon is stopping).
 */
int holders_objects(const struct creds *viewer, unsigned kinds, struct pshm_scan **ret);
/* A scan this size or more is given back to the system when freed (malloc_trim). */
#define HOLDERS_TRIM_OBJECTS 1024
/* Frees a scan of holders_objects (NULL is fine), and gives a large one's memory back. */
void holders_scan_free(struct pshm_scan *scan);
/* Answers of one viewer remembered, by pid (a listing asks of few processes, often). */
#define HOLDERS_SEEN 64
struct holders_seen {
	pid_t pid;
	unsigned long long start_time;
	bool readable;
};
/*
 * A caller as libpshm's viewer (pshm_object_visible, pshm_holder_visible):
 * whether they may read a process is what /proc answers a daemon thread
 * acting as them (creds_enter_viewer, pshm_process_readable), asked once
 * per process. Valid while it is in scope, on one thread.
 */
struct holders_viewer {
	struct pshm_viewer pub;
	struct creds creds;
	struct holders_seen seen[HOLDERS_SEEN];
};
void holders_viewer(struct holders_viewer *ret, const struct creds *viewer);
/* Takes one line; < 0 to stop the scan (no room for more). */
typedef int (*holders_emit_fn)(void *ctx, const char *line);
struct holders_count {
	unsigned hidden;     /* holding processes viewer may not see (counted, not described) */
	unsigned unreadable; /* processes that could not be read at all */
	bool stopped;        /* after HOLDERS_SCAN_MS, or the daemon stopping */
	bool cut;            /* more to describe than a reply holds */
};
/*
 * Emits "PID COMM fd N" and "PID COMM map START-END PERMS" for each
 * holder of o whose process viewer may read (pshm_holder_visible: the
 * kernel decides, as for viewer's own open), in process order; counts the
 * other processes in *count; stops (count->cut) when emit says no room.
 */
void holders_describe(const struct pshm_object *o, const struct creds *viewer, holders_emit_fn emit,
		      void *ctx, struct holders_count *count);
/*
 * What a description of holders leaves to say, in count's order: "N other
 * processes", "partial: N processes could not be read", "partial: the scan
 * stopped after MS ms", separated by sep (and ended by it too when end),
 * into buf; "" when nothing. The length written (cut at size).
 */
size_t holders_tail(const struct holders_count *count, const char *sep, bool end, char *buf,
		    size_t size);
/*
 * The holders of the segment whose status is st (named, or anonymous:
 * unlinked), through its names and this mount, described for viewer
 * (holders_describe) after a scan (count->stopped when it stopped).
 * -EAGAIN when viewer has a scan running already, or HOLDERS_SCANS_MAX
 * users do (root is not limited).
 */
int holders_scan(const struct stat *st, const struct creds *viewer, holders_emit_fn emit, void *ctx,
		 struct holders_count *ret);

/*
 * ctl_session.c: the control file's sessions, one per open (its commands:
 * ctl.c; its parser: ctl_parse_i.h; the rest: ctl_i.h, ctl_queue_i.h).
 */
#define CTL_OUTPUT_MAX (64 << 10) /* replies pending unread in one .ctl file, at most */
#define CTL_ERROR_ROOM 1024       /* and past it, room for one last error line */
#define CTL_BUFFER_KEEP 4096      /* a drained reply buffer larger than this is let go */
/* One write runs commands for about this long, then returns short (the writer goes on). */
#define CTL_WRITE_SLICE_MS 20
/* A session for opener (whose rights every command has): 0, -EMFILE at the opener's limit. */
int ctl_session_open(const struct creds *opener, struct ctl_session **ret);
/* Ends s (NULL is fine): its waits end, a read kept gets ENOTCONN, its "hold" segments go. */
void ctl_session_close(struct ctl_session *s);
/* Closes the sessions still open (at exit): a read kept gets ENOTCONN. */
void ctl_destroy_all(void);
/*
 * Takes len bytes a client wrote: each complete line runs as the session's
 * opener (whoever writes), one reply at a time, for about
 * CTL_WRITE_SLICE_MS; then the bytes taken are returned (a short write).
 * -errno of the first command that failed, or -ENOBUFS when no reply
 * would fit. No lock of s is held while a command runs.
 */
ssize_t ctl_session_write(struct ctl_session *s, const char *buf, size_t len,
			  const struct ctl_context *context);
/*
 * Replies to the read req of size bytes (flags: the file's, O_NONBLOCK
 * among them) with what may be read now (or, before any command, the
 * status summary; or the end: nothing is awaited). When only an
 * unfinished wait is ahead, the request is kept and answered when its
 * reply comes; EAGAIN instead with O_NONBLOCK, EINTR when the reader gets
 * a signal (the wait goes on), EBUSY when another read is kept already,
 * ENOTCONN when the daemon stops.
 */
void ctl_session_read(fuse_req_t req, struct ctl_session *s, size_t size, int flags,
		      const struct ctl_context *context);
/*
 * Replies to a poll: readable when a read would not wait, always writable
 * (a write never waits; ENOBUFS tells when replies must be read first).
 * ph, when given, is kept (a previous one destroyed) and notified once
 * when a reply comes.
 */
void ctl_session_poll(fuse_req_t req, struct ctl_session *s, struct fuse_pollhandle *ph);

/* xattr.c: user.shmfs.* attributes of a segment node (NULL: the mount's own entries). */
void xattr_get(fuse_req_t req, struct node *node, const char *name, size_t size);
void xattr_list(fuse_req_t req, struct node *node, size_t size);

/* inval.c: making the kernel drop the names it caches (see there). */
void inval_setup(struct fuse_session *se);
/* At INIT: whether the kernel can be told (protocol 7.44 and up). */
void inval_init(unsigned proto_major, unsigned proto_minor);
/* Whether names may be cached: the kernel can be told to drop them. */
bool inval_available(void);
/* Makes the kernel drop every cached entry of the mount (never blocks). */
void inval_all(void);
/* epoch_*.c (one per libfuse): sends FUSE_NOTIFY_INC_EPOCH; 0 or -errno. */
int inval_send_epoch(struct fuse_session *se);

/* passthrough*.c: the kernel serving open files' data from the segment (see there). */
/*
 * On the mounted session, before the loop: enabled, or why not (for the
 * status line). 0 or -errno (passthrough is then off).
 */
int passthrough_setup(struct fuse_session *se, bool enabled, const char *why_off);
/* At INIT: asks for passthrough when the kernel offers it. */
void passthrough_init(struct fuse_conn_info *conn);
/* Whether the kernel accepted passthrough and registering still works. */
bool passthrough_active(void);
/* "on", or "off: " and why, for the status summary. */
void passthrough_status(char *buf, size_t size);
/* Which implementation this build has: "native" (libfuse 3.17+) or "hooks" (before). */
const char *passthrough_implementation(void);
/* Registers the segment open as fd as a backing file: its id, or -errno. */
int passthrough_register(fuse_req_t req, int fd);
/* Closes a backing id; req, the request being handled, or NULL once it has been replied to. */
void passthrough_unregister(fuse_req_t req, int id);
/*
 * The OPEN or CREATE reply this thread sends next (with fi) is to name
 * backing_id. If it cannot (the reply is not one the hooks know), it keeps
 * direct I/O and declined(ctx) is called before it is sent, while the open
 * file is still the handler's: passthrough fails closed.
 */
void passthrough_mark(struct fuse_file_info *fi, int backing_id, void (*declined)(void *ctx),
		      void *ctx);

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

#endif /* SHMFS_I_H */

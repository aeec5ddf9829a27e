/* SPDX-License-Identifier: MIT */
/* shmfs: who holds a segment, from libpshm's scan (holders.c). */
#ifndef HOLDERS_I_H
#define HOLDERS_I_H

#include "shmfs_i.h"

/* holders.c: who has a segment open or mapped. */
#define HOLDER_LINE_MAX 512
#define HOLDERS_BYTES_MAX (64 << 10) /* the most one scan describes (an xattr's most) */
#define HOLDERS_SCAN_MS 1000         /* a scan stops after this long */
#define HOLDERS_SCANS_MAX 4          /* scans at once, for all users but root */
#define HOLDERS_MAX 65536            /* holders one scan collects, at most (3.5 MiB) */
/* Finds this mount (mountpoint, as libfuse resolved it) so that holders through it count too. */
/* Makes and frees fs->holders: 0 or -ENOMEM. */
int holders_new(struct shmfs *fs);
void holders_free(struct shmfs *fs);
/* Once mounted: learns which mount is the daemon's own (left out of scans). */
void holders_mounted(struct shmfs *fs, const char *mountpoint);
/*
 * Whether root's scans read the kernel's iterators: "on", or "off" with
 * why in why (room for size).
 */
const char *holders_kernel_iter(struct shmfs *fs, char *why, size_t size);
/* The mount point ("" when unknown). */
const char *holders_mount_path(struct shmfs *fs);
/*
 * Every scan of /proc for viewer (holders, usage) takes a slot: one per
 * user, HOLDERS_SCANS_MAX for all users but root. 0, or -EAGAIN.
 */
int holders_scan_begin(struct shmfs *fs, const struct creds *viewer);
void holders_scan_end(struct shmfs *fs, const struct creds *viewer);
/*
 * libpshm's scan of kinds (the daemon left out) for viewer, in a scan slot
 * and bounded like a holders scan: 0 with *ret, -EAGAIN (no slot),
 * -ETIMEDOUT (HOLDERS_SCAN_MS passed, or the daemon is stopping). For a
 * viewer other than root, of the processes they could be let read alone
 * (all their uids and gids the viewer's: readers_only), so that what other
 * users' processes hold neither costs nor stops a scan of theirs.
 */
int holders_objects(struct shmfs *fs, const struct creds *viewer, unsigned kinds,
		    struct pshm_scan **ret);
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
/*
 * Whether viewer may know of process pid: /proc lists it to them (its
 * hidepid= option, asked as them: creds_enter_viewer). True for root.
 */
bool holders_pid_listed(const struct creds *viewer, pid_t pid);
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
int holders_scan(struct shmfs *fs, const struct stat *st, const struct creds *viewer,
		 holders_emit_fn emit, void *ctx, struct holders_count *ret);

#endif /* HOLDERS_I_H */

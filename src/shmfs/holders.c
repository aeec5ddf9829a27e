/* SPDX-License-Identifier: MIT */
/*
 * shmfs: who has a segment open or mapped, from libpshm's scan of /proc,
 * adapted: through this mount too, bounded (scan slots, a deadline, the
 * daemon stopping), and described as far as the viewer may see.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "holders_i.h"
#include "shmfs_i.h"

/*
 * This mount, to find clients that hold a segment through it: a mapping
 * made through it names the mount's device and the segment's inode number
 * (the mount shows segments' own numbers), a descriptor names the mount's
 * id and that number in /proc/PID/fdinfo.
 */
struct holders {
	struct pshm_scan_options self_mount; /* mount_path NULL: not found */
	char self_mount_path[PATH_MAX];
	atomic_uint scans_running; /* by users other than root */
	/* The kernel's iterators, for root's scans; NULL: /proc, for why_no_iter. */
	struct pshm_kernel_iter *iter;
	char why_no_iter[160];
};

int holders_new(struct shmfs *fs)
{
	fs->holders = calloc(1, sizeof(*fs->holders));
	return fs->holders ? 0 : -ENOMEM;
}

void holders_free(struct shmfs *fs)
{
	if (fs->holders)
		pshm_kernel_iter_free(fs->holders->iter);
	free(fs->holders);
	fs->holders = NULL;
}

const char *holders_mount_path(struct shmfs *fs)
{
	return fs->holders->self_mount.mount_path ? fs->holders->self_mount.mount_path : "";
}

void holders_mounted(struct shmfs *fs, const char *mountpoint)
{
	struct holders *h = fs->holders;
	struct pshm_error err;

	pshm_shmfs_mount(mountpoint, &h->self_mount, h->self_mount_path,
			 sizeof(h->self_mount_path));
	/* Root's scans (of every process) from the kernel's iterators, loaded once. */
	if (!fs->config.kernel_iter) {
		snprintf(h->why_no_iter, sizeof(h->why_no_iter), "-o kernel_iter=off");
	} else if (geteuid() != 0) {
		snprintf(h->why_no_iter, sizeof(h->why_no_iter), "not root");
	} else if (pshm_kernel_iter_load(&h->iter, &err) < 0) {
		/* Said by .ctl's summary: scans read /proc, as they always can. */
		pshm_strerror(&err, h->why_no_iter, sizeof(h->why_no_iter));
	}
	malloc_trim(0); /* loading parsed the kernel's types: megabytes, once */
}

const char *holders_kernel_iter(struct shmfs *fs, char *why, size_t size)
{
	snprintf(why, size, "%s", fs->holders->iter ? "on" : fs->holders->why_no_iter);
	return fs->holders->iter ? "on" : "off";
}

/*
 * Whether the viewer may read process pid, as the kernel answers a thread
 * that acts as them (fsuid, fsgid, and none of the daemon's capabilities:
 * creds_enter_viewer), with the answers of this viewer remembered.
 */
static bool viewer_may_read(void *ctx, pid_t pid, unsigned long long start_time)
{
	struct holders_viewer *v = ctx;
	struct holders_seen *seen = &v->seen[(unsigned long)pid % HOLDERS_SEEN];
	bool readable;

	if (seen->pid == pid && seen->start_time == start_time)
		return seen->readable;
	if (creds_enter_viewer(&v->creds) < 0)
		return false;
	readable = pshm_process_readable(pid, start_time);
	creds_leave();
	*seen = (struct holders_seen){ .pid = pid, .start_time = start_time, .readable = readable };
	return readable;
}

void holders_viewer(struct holders_viewer *ret, const struct creds *viewer)
{
	ret->creds = (struct creds){ .uid = viewer->uid, .gid = viewer->gid, .pid = viewer->pid };
	memset(ret->seen, 0, sizeof(ret->seen));
	/* Root's callers may read every process; a daemon that is not root only its own. */
	ret->pub = (struct pshm_viewer){
		.uid = viewer->uid,
		.may_read = viewer->uid == 0 || !creds_switching() ? NULL : viewer_may_read,
		.ctx = ret,
	};
}

bool holders_pid_listed(const struct creds *viewer, pid_t pid)
{
	const struct creds as = { .uid = viewer->uid, .gid = viewer->gid, .pid = viewer->pid };
	char path[32];
	struct stat st;
	bool listed;

	if (viewer->uid == 0 || !creds_switching())
		return true;
	if (creds_enter_viewer(&as) < 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	listed = stat(path, &st) == 0;
	creds_leave();
	return listed;
}

/*
 * A scan reads all of /proc, so what one user may make the daemon spend
 * on them is bounded: one scan at a time per user, HOLDERS_SCANS_MAX at
 * once for all users but root (so some workers are always free), each
 * stopped after HOLDERS_SCAN_MS or when the daemon stops.
 */
/* The library scan's stop: its deadline passed, or the daemon is stopping. */
struct scan_stop {
	uint64_t deadline_ms;
	struct fuse_session *se; /* to stop scanning when the daemon stops */
};

static bool scan_should_stop(void *ctx)
{
	const struct scan_stop *stop = ctx;

	return shmfs_now_ms() > stop->deadline_ms || (stop->se && fuse_session_exited(stop->se));
}

/* The mount's own entries that may show a segment's inode number: never a segment. */
static const char *const mount_own[] = { CTL_NAME, ANON_DIR_NAME, NULL };

/* libpshm's scan, as the daemon makes it: this mount counts, the daemon does not. */
static int scan(struct shmfs *fs, const struct creds *viewer, unsigned kinds,
		const struct stat *only, bool readers_only, struct pshm_scan **ret)
{
	struct scan_stop stop = { .deadline_ms = shmfs_now_ms() + HOLDERS_SCAN_MS, .se = fs->se };
	const struct pshm_scan_options *self = &fs->holders->self_mount;
	struct pshm_scan_options options = {
		.mount_path = self->mount_path,
		.mount_id = self->mount_id,
		.mount_dev = self->mount_dev,
		.skip_self = true,
		.stop = scan_should_stop,
		.stop_ctx = &stop,
		.only = only,
		.holders_max = HOLDERS_MAX,
		.mount_skip = mount_own,
		/* Root's callers may read every process: nothing to leave out. */
		.readers_only = readers_only && !creds_is_daemon(viewer->uid),
		.reader_uid = viewer->uid,
		.reader_gid = viewer->gid,
		.kernel_iter = fs->holders->iter,
	};
	int r = holders_scan_begin(fs, viewer);

	if (r < 0)
		return r;
	r = pshm_scan_open(kinds, &options, ret, NULL);
	holders_scan_end(fs, viewer);
	return r;
}

int holders_objects(struct shmfs *fs, const struct creds *viewer, unsigned kinds,
		    struct pshm_scan **ret)
{
	return scan(fs, viewer, kinds, NULL, true, ret);
}

void holders_scan_free(struct pshm_scan *scan)
{
	bool big = scan && pshm_scan_count(scan) >= HOLDERS_TRIM_OBJECTS;

	pshm_scan_free(scan);
	/*
	 * A scan's many small objects come from the arena of the worker
	 * thread that made it, and glibc keeps freed arena memory: without a
	 * trim, a user who opens a view repeatedly leaves the daemon each
	 * worker's largest scan (measured: 30,000 objects, about 18 MB each).
	 */
	if (big)
		malloc_trim(0);
}

int holders_scan_begin(struct shmfs *fs, const struct creds *viewer)
{
	unsigned running;
	int r;

	if (creds_is_daemon(viewer->uid))
		return 0;
	r = limits_take(fs, viewer->uid, LIMIT_SCANS, 1);
	if (r < 0)
		return -EAGAIN;
	running = atomic_fetch_add(&fs->holders->scans_running, 1);
	if (running >= HOLDERS_SCANS_MAX) {
		atomic_fetch_sub(&fs->holders->scans_running, 1);
		limits_give(fs, viewer->uid, LIMIT_SCANS, 1);
		return -EAGAIN;
	}
	return 0;
}

void holders_scan_end(struct shmfs *fs, const struct creds *viewer)
{
	if (creds_is_daemon(viewer->uid))
		return;
	atomic_fetch_sub(&fs->holders->scans_running, 1);
	limits_give(fs, viewer->uid, LIMIT_SCANS, 1);
}

void holders_describe(const struct pshm_object *o, const struct creds *viewer, holders_emit_fn emit,
		      void *ctx, struct holders_count *count)
{
	char line[HOLDER_LINE_MAX];
	struct holders_viewer v;
	bool visible = false;
	long last = -1;

	holders_viewer(&v, viewer);
	for (size_t i = 0; i < o->holder_count; i++) {
		const struct pshm_holder *h = &o->holders[i];

		/* A process's holders come together: one question to the kernel each. */
		if (h->pid != last) {
			last = h->pid;
			visible = pshm_holder_visible(h, &v.pub);
			count->hidden += !visible;
		}
		if (!visible)
			continue;
		if (h->fd >= 0)
			snprintf(line, sizeof(line), "%ld %s fd %d", (long)h->pid, h->comm, h->fd);
		else
			snprintf(line, sizeof(line), "%ld %s map %llx-%llx %s", (long)h->pid,
				 h->comm, h->start, h->end, h->perms);
		if (emit(ctx, line) < 0) {
			count->cut = true; /* more than any reply holds */
			return;
		}
	}
}

size_t holders_tail(const struct holders_count *count, const char *sep, bool end, char *buf,
		    size_t size)
{
	char parts[3][64];
	size_t n = 0, len = 0;

	if (count->hidden)
		snprintf(parts[n++], sizeof(parts[0]), "%u other processes", count->hidden);
	if (count->unreadable)
		snprintf(parts[n++], sizeof(parts[0]), "partial: %u processes could not be read",
			 count->unreadable);
	if (count->stopped)
		snprintf(parts[n++], sizeof(parts[0]), "partial: the scan stopped after %d ms",
			 HOLDERS_SCAN_MS);
	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", parts[i],
					i + 1 < n || end ? sep : "");
	return len < size ? len : size;
}

int holders_scan(struct shmfs *fs, const struct stat *st, const struct creds *viewer,
		 holders_emit_fn emit, void *ctx, struct holders_count *ret)
{
	struct holders_count count = { 0 };
	const struct pshm_object *o;
	struct pshm_scan *found;
	int r = scan(fs, viewer, PSHM_KIND_SEGMENT, st, false, &found);

	if (r == -ETIMEDOUT) {
		count.stopped = true; /* nothing to say but that */
		*ret = count;
		return 0;
	}
	if (r < 0)
		return r;
	if (pshm_scan_next(found, &o) > 0)
		holders_describe(o, viewer, emit, ctx, &count);
	count.unreadable = pshm_scan_unreadable(found);
	holders_scan_free(found);
	*ret = count;
	return 0;
}

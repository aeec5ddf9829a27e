/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the control file's commands (anon, free, list, holders, wait,
 * help; usage in ctl_usage.c) and its status summary, each run with the rights of the
 * file's opener. They know nothing of sessions: each writes its reply
 * into the emit context it is handed (ctl_emit.c), and runs without any
 * lock of the session, however long its scan of /proc takes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "anon_i.h"
#include "ctl_i.h"
#include "ctl_parse_i.h"
#include "ctl_session_i.h"
#include "holders_i.h"
#include "passthrough_i.h"
#include "waits_i.h"

static int holders_emit(void *ctx, const char *line)
{
	struct ctl_emit *e = ctx;

	ctl_emit_line(e, "%s", line);
	return ctl_emit_overflowed(e) ? -1
				      : 0; /* no room: the reply becomes ENOBUFS (the session's) */
}

/* Whether the opener may read a segment with status st, as the kernel would judge. */
static bool may_read(const struct creds *c, const struct stat *st)
{
	if (c->uid == 0)
		return true;
	if (c->uid == st->st_uid)
		return st->st_mode & S_IRUSR;
	if (c->gid == st->st_gid)
		return st->st_mode & S_IRGRP;
	for (int i = 0; i < c->group_count; i++)
		if (c->groups[i] == st->st_gid)
			return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}

/*
 * The daemon's /proc/PID/fd/N for a segment, when the opener can open it
 * (root, or the user the daemon runs as), else "-": a path is offered
 * only where it works. .anon/ID through the mount works for everyone the
 * segment's mode allows.
 */
static void proc_path(struct shmfs *fs, const struct ctl_emit *e, uint64_t id, char *buf,
		      size_t size)
{
	if (!creds_is_daemon(ctl_emit_opener(e)->uid) || anon_proc_path(fs, id, buf, size) < 0)
		snprintf(buf, size, "-");
}

static int anon_refused(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd, int r,
			const struct pshm_error *err)
{
	char why[PSHM_NAME_MAX + 128];

	uid_t uid = ctl_emit_opener(e)->uid;

	if (r == -EDQUOT && limits_held(fs, uid, LIMIT_ANON) >= limits_max(fs, LIMIT_ANON))
		return ctl_emit_fail(e, EDQUOT,
				     "uid %u has %" PRIu64
				     " anonymous segments, the limit (anon_max)",
				     (unsigned)uid, limits_max(fs, LIMIT_ANON));
	if (r == -EDQUOT)
		return ctl_emit_fail(e, EDQUOT,
				     "%jd more bytes would pass the %" PRIu64
				     " bytes of anonymous segments uid %u may have (anon_bytes)",
				     (intmax_t)cmd->size, limits_anon_bytes(fs), (unsigned)uid);
	if (r == -EMFILE && limits_held(fs, uid, LIMIT_FDS) >= limits_max(fs, LIMIT_FDS) &&
	    !creds_is_daemon(uid))
		return ctl_emit_fail(e, EMFILE,
				     "uid %u holds %" PRIu64 " descriptors, the limit (user_fds)",
				     (unsigned)uid, limits_max(fs, LIMIT_FDS));
	if (r == -EMFILE || r == -ENFILE)
		return ctl_emit_fail(e, -r, "the daemon is out of descriptors: %s", strerror(-r));
	/* libpshm says which call failed, on what. */
	if (err->code != -r || pshm_strerror(err, why, sizeof(why)) < 0)
		snprintf(why, sizeof(why), "%s", strerror(-r));
	return ctl_emit_fail(e, -r, "cannot create a segment of %jd bytes: %s", (intmax_t)cmd->size,
			     why);
}

static int run_anon(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd)
{
	struct pshm_error err = { 0 };
	char path[64];
	uint64_t id;
	int fd, r;

	r = anon_create(fs, cmd->size, cmd->mode, ctl_emit_opener(e),
			cmd->hold ? ctl_emit_holder(e) : NULL, &id, &fd, &err);
	if (r < 0)
		return anon_refused(fs, e, cmd, r, &err);
	proc_path(fs, e, id, path, sizeof(path));
	ctl_emit_line(e, "ok %" PRIu64 " %jd " ANON_DIR_NAME "/%" PRIu64 " %s", id,
		      (intmax_t)cmd->size, id, path);
	return 0;
}

static int run_free(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd)
{
	int r = anon_free(fs, cmd->id, ctl_emit_opener(e)->uid);

	if (r == -ENOENT)
		return ctl_emit_fail(e, ENOENT, "no anonymous segment %" PRIu64, cmd->id);
	if (r == -EPERM)
		return ctl_emit_fail(e, EPERM, "anonymous segment %" PRIu64 " is not yours",
				     cmd->id);
	ctl_emit_line(e, "ok");
	return 0;
}

static void emit_anon(struct shmfs *fs, struct ctl_emit *e, const struct anon_info *a,
		      const char *lead)
{
	char path[64];

	proc_path(fs, e, a->id, path, sizeof(path));
	ctl_emit_line(e, "%s%" PRIu64 " %jd %04o %u " ANON_DIR_NAME "/%" PRIu64 " %s%s", lead,
		      a->id, (intmax_t)a->st.st_size, a->st.st_mode & 07777, (unsigned)a->st.st_uid,
		      a->id, path, a->held ? " hold" : "");
}

static int emit_anons(struct shmfs *fs, struct ctl_emit *e, uid_t caller, const char *lead)
{
	struct anon_info *list;
	size_t n;
	int r = anon_list(fs, caller, &list, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		emit_anon(fs, e, &list[i], lead);
	free(list);
	return 0;
}

/* The last line of a holders reply: ok, what was hidden, and why it may be partial. */
static void emit_holders_end(struct ctl_emit *e, const struct holders_count *count)
{
	char tail[256];

	holders_tail(count, "; ", false, tail, sizeof(tail));
	ctl_emit_line(e, "ok%s%s%s%s", tail[0] ? " " : "", tail,
		      count->cut ? (tail[0] ? "; " : " ") : "",
		      count->cut ? "partial: more holders than a reply holds" : "");
}

/* holders of an entry of .deleted, .memfd, .sysv or .shared-anon: from libpshm's scan. */
static int run_object_holders(struct shmfs *fs, struct ctl_emit *e, const char *path, unsigned kind,
			      const char *name)
{
	struct holders_count count = { 0 };
	struct holders_viewer viewer;
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int r = holders_objects(fs, ctl_emit_opener(e), kind, &scan);

	if (r < 0)
		return ctl_emit_scan_refused(e, r);
	holders_viewer(&viewer, ctl_emit_opener(e));
	o = pshm_scan_find(scan, kind, name);
	if (!o || !pshm_object_visible(o, &viewer.pub))
		r = ctl_emit_fail(e, ENOENT, "%s: %s", path, strerror(ENOENT));
	else if (!may_read(ctl_emit_opener(e), &o->st))
		r = ctl_emit_fail(e, EACCES, "%s: not readable by uid %u", path,
				  (unsigned)ctl_emit_opener(e)->uid);
	else
		holders_describe(o, ctl_emit_opener(e), holders_emit, e, &count);
	count.unreadable = pshm_scan_unreadable(scan);
	holders_scan_free(scan);
	if (r == 0 && !ctl_emit_overflowed(e))
		emit_holders_end(e, &count);
	return r;
}

static int run_holders(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd,
		       const struct ctl_context *context)
{
	char full[PSHM_NAME_MAX + 1];
	struct holders_count count;
	struct stat st;
	int r;

	/* An entry of the directories of other shared memory: libpshm names them. */
	for (unsigned kind = 1; kind & PSHM_KIND_ALL; kind <<= 1) {
		const char *dir = pshm_kind_dir(kind);
		size_t len = dir ? strlen(dir) : 0;

		if (len && strncmp(cmd->name, dir, len) == 0 && cmd->name[len] == '/')
			return run_object_holders(fs, e, cmd->name, kind, cmd->name + len + 1);
	}
	if (cmd->id) {
		r = anon_stat(fs, cmd->id, &st);
	} else {
		r = context->segment_name(context->prefix, cmd->name, full);
		if (r == 0)
			r = pshm_stat_name(full, &st, NULL);
	}
	if (r < 0)
		return ctl_emit_fail(e, -r, "%s: %s", cmd->name, strerror(-r));
	if (!may_read(ctl_emit_opener(e), &st))
		return ctl_emit_fail(e, EACCES, "%s: not readable by uid %u", cmd->name,
				     (unsigned)ctl_emit_opener(e)->uid);
	r = holders_scan(fs, &st, ctl_emit_opener(e), holders_emit, e, &count);
	if (r < 0)
		return ctl_emit_scan_refused(e, r);
	if (ctl_emit_overflowed(e))
		return 0; /* the session replies ENOBUFS */
	emit_holders_end(e, &count);
	return 0;
}

/*
 * wait NAME [TIMEOUT] [created | min-size=BYTES]: "ok NAME" once the
 * segment NAME (as the mount shows it: a regular file, prefix and all)
 * exists, with at least BYTES, at once if it does; with created, once it
 * was created (or renamed into place) at any moment since the wait began,
 * even if gone again. "err ETIMEDOUT" after TIMEOUT seconds; without
 * TIMEOUT until the file is closed. The reply comes in its place: later
 * replies wait behind it.
 */
static int run_wait(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd,
		    const struct ctl_context *context)
{
	char full[PSHM_NAME_MAX + 1], ok_line[PSHM_NAME_MAX + 8];
	char late_line[PSHM_NAME_MAX + 128], lost_line[PSHM_NAME_MAX + 192], what[64];
	struct ctl_later later = { .segment = full,
				   .deadline_ms = WAITS_FOREVER,
				   .want = { .min_size = cmd->min_size, .created = cmd->created },
				   .ok_text = ok_line };
	uid_t uid = ctl_emit_opener(e)->uid;
	/* A leading '/' is optional, as for shm_open; the watch sees names without it. */
	const char *name = cmd->name + (cmd->name[0] == '/');
	int r = context->segment_name(context->prefix, name, full);

	if (r == -ENOENT)
		return ctl_emit_fail(e, EINVAL,
				     "%s: a semaphore's name; the mount shows segments only", name);
	if (r < 0)
		return ctl_emit_fail(e, -r, "%s: %s", name, strerror(-r));
	if (context->own_entry && context->own_entry(name))
		return ctl_emit_fail(e, EINVAL, "%s is the mount's own entry, never a segment",
				     name);
	snprintf(ok_line, sizeof(ok_line), "ok %s", name);
	if (cmd->timeout_ms >= 0) {
		/* The clock counts whole milliseconds: one more, so a wait never ends early. */
		later.deadline_ms = shmfs_now_ms() + 1 + (uint64_t)cmd->timeout_ms;
		if (cmd->created)
			snprintf(what, sizeof(what), "was not created");
		else if (cmd->min_size > 0)
			snprintf(what, sizeof(what), "did not appear with at least %jd bytes",
				 (intmax_t)cmd->min_size);
		else
			snprintf(what, sizeof(what), "did not appear");
		snprintf(late_line, sizeof(late_line),
			 "err ETIMEDOUT %s %s within %" PRId64 ".%03" PRId64 " s", name, what,
			 cmd->timeout_ms / 1000, cmd->timeout_ms % 1000);
		later.late_text = late_line;
	}
	if (cmd->created) {
		snprintf(lost_line, sizeof(lost_line),
			 "err EOVERFLOW %s is not there, and the kernel lost events (its inotify "
			 "queue overflowed): whether it was created cannot be known",
			 name);
		later.lost_text = lost_line;
	}
	r = ctl_emit_later(e, &later);
	if (r == -EDQUOT)
		return ctl_emit_fail(
			e, EDQUOT, "uid %u has %" PRIu64 " waits unfinished, the limit (wait_max)",
			(unsigned)uid, limits_max(fs, LIMIT_WAITS));
	if (r == -ENOBUFS)
		return ctl_emit_fail(
			e, ENOBUFS,
			"no room for the reply in what may wait unread (%d bytes a file, %u a "
			"user): read the replies first",
			CTL_OUTPUT_MAX, LIMIT_CTL_USER_BYTES);
	if (r == -ESHUTDOWN)
		return ctl_emit_fail(e, ESHUTDOWN, "the daemon is stopping");
	if (r < 0)
		return ctl_emit_fail(e, -r, "cannot wait: %s", strerror(-r));
	return 0;
}

static void emit_help(struct ctl_emit *e)
{
	ctl_emit_line(e,
		      "anon SIZE [MODE] [hold]  create an anonymous segment (hold: freed when this "
		      "file is closed)");
	ctl_emit_line(e, "free ID                   release anonymous segment ID");
	ctl_emit_line(e, "list                      your anonymous segments: ID SIZE MODE UID PATH "
			 "PROC-PATH [hold]");
	ctl_emit_line(e, "holders NAME              who has NAME (a segment, .anon/ID, "
			 ".memfd/NAME@INODE...) "
			 "open or mapped");
	ctl_emit_line(
		e, "usage [by-user|by-process|by-cgroup] where shared memory goes: by kind, owner, "
		   "holder or cgroup (container), and what nothing explains");
	ctl_emit_line(
		e,
		"wait NAME [TIMEOUT] [created|min-size=BYTES] ok NAME once it exists (created: "
		"once made since, even if gone), err ETIMEDOUT after TIMEOUT s (at most %d)",
		CTL_WAIT_MAX_S);
	ctl_emit_line(e, "help                      this text");
	ctl_emit_line(e, "ok");
}

static int run_command(struct shmfs *fs, struct ctl_emit *e, const struct ctl_command *cmd,
		       const struct ctl_context *context)
{
	int r;

	switch (cmd->verb) {
	case CTL_NONE:
		return 0; /* an empty line is no command */
	case CTL_ANON:
		return run_anon(fs, e, cmd);
	case CTL_FREE:
		return run_free(fs, e, cmd);
	case CTL_LIST:
		r = emit_anons(fs, e, ctl_emit_opener(e)->uid, "");
		if (r < 0)
			return ctl_emit_fail(e, -r, "cannot list: %s", strerror(-r));
		ctl_emit_line(e, "ok");
		return 0;
	case CTL_HOLDERS:
		return run_holders(fs, e, cmd, context);
	case CTL_HELP:
		emit_help(e);
		return 0;
	case CTL_USAGE:
		return ctl_usage_run(fs, e, cmd->by);
	case CTL_WAIT:
		return run_wait(fs, e, cmd, context);
	}
	return ctl_emit_fail(e, EINVAL, "unknown command");
}

/*
 * The summary's lines per kind, "KIND COUNT BYTES", when a scan may run
 * now. Named segments are counted by the walk of /dev/shm (segments,
 * allocated): the scan need not hold an object for each.
 */
static void emit_kinds(struct shmfs *fs, struct ctl_emit *e, uint64_t segments, uint64_t allocated)
{
	struct holders_viewer viewer;
	struct pshm_scan *scan;
	struct pshm_usage u;

	holders_viewer(&viewer, ctl_emit_opener(e));
	if (holders_objects(fs, ctl_emit_opener(e), PSHM_KIND_ALL & ~PSHM_KIND_SEGMENT, &scan) ==
	    0) {
		if (pshm_usage_of(scan, &viewer.pub, &u, NULL) == 0) {
			u.count[0] = segments;
			u.bytes[0] = allocated;
			for (int k = 0; k < PSHM_KINDS; k++)
				ctl_emit_line(e, "%s %llu %llu", pshm_kind_name(1u << k),
					      u.count[k], u.bytes[k]);
		}
		holders_scan_free(scan);
	}
}

void ctl_cmd_summary(struct shmfs *fs, struct ctl_emit *e, const struct ctl_context *context)
{
	uint64_t segments = 0, bytes = 0, allocated = 0, anon_bytes = 0;
	struct anon_info *list;
	char data_path[160];
	struct pshm_iter *it;
	struct statvfs sv;
	struct stat st;
	const char *name;
	size_t n;

	ctl_emit_line(e, "version %s", SHMFS_VERSION);
	ctl_emit_line(e, "pid %ld", (long)getpid());
	ctl_emit_line(e, "prefix %s", context->prefix[0] ? context->prefix : "-");
	passthrough_status(fs, data_path, sizeof(data_path));
	ctl_emit_line(e, "passthrough %s", data_path);
	ctl_emit_line(e, "libfuse %s passthrough=%s", fuse_pkgversion(),
		      passthrough_implementation());
	if (strcmp(holders_kernel_iter(fs, data_path, sizeof(data_path)), "on") == 0)
		ctl_emit_line(e, "kernel-iter on");
	else
		ctl_emit_line(e, "kernel-iter off: %s", data_path);
	if (statvfs(PSHM_DIR, &sv) == 0) {
		ctl_emit_line(e, "shm-size %" PRIu64, (uint64_t)sv.f_blocks * sv.f_frsize);
		ctl_emit_line(e, "shm-used %" PRIu64,
			      (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		ctl_emit_line(e, "shm-free %" PRIu64, (uint64_t)sv.f_bavail * sv.f_frsize);
	}
	/*
	 * The rest reads /dev/shm and /proc whole: a scan, in the opener's
	 * one scan slot, so one user opening many files at once keeps one
	 * daemon thread busy, not all of them.
	 */
	if (holders_scan_begin(fs, ctl_emit_opener(e)) < 0) {
		ctl_emit_line(e,
			      "partial: a scan of uid %u is running: segments, anonymous segments "
			      "and kinds left out",
			      (unsigned)ctl_emit_opener(e)->uid);
		return;
	}
	if (pshm_iter_open(context->prefix, &it, NULL) == 0) {
		while (pshm_iter_next(it, &name, &st, NULL) > 0) {
			segments++;
			bytes += (uint64_t)st.st_size;
			allocated += (uint64_t)st.st_blocks * 512;
		}
		pshm_iter_free(it);
	}
	holders_scan_end(fs, ctl_emit_opener(e));
	ctl_emit_line(e, "segments %" PRIu64, segments);
	ctl_emit_line(e, "segments-bytes %" PRIu64, bytes);
	if (anon_list(fs, ANON_ALL, &list, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		anon_bytes += (uint64_t)list[i].st.st_size;
	free(list);
	ctl_emit_line(e, "anonymous %zu", n);
	ctl_emit_line(e, "anonymous-bytes %" PRIu64, anon_bytes);
	emit_kinds(fs, e, segments, allocated);
	/* The totals are everyone's; the segments listed only the opener's own. */
	emit_anons(fs, e, ctl_emit_opener(e)->uid, "anon ");
}

int ctl_cmd_run(struct shmfs *fs, struct ctl_emit *e, char *line, size_t len,
		const struct ctl_context *context)
{
	char message[CTL_MESSAGE_MAX];
	struct ctl_command cmd;

	if (ctl_parse(line, len, &cmd, message, sizeof(message)) < 0)
		return ctl_emit_fail(e, EINVAL, "%s", message);
	return run_command(fs, e, &cmd, context);
}

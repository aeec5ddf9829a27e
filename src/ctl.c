/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the control file. Plan 9 style: a client writes one command per
 * line and reads the reply, one line "ok ..." or "err ENAME message", from
 * the same open file; a failed command also fails the write(2).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "ctl_parse_i.h"
#include "shmfs_i.h"

struct ctl_session {
	struct ctl_session *prev, *next; /* every open session, for the exit */
	struct creds opener;             /* every command has the opener's rights */
	pthread_mutex_t lock;
	char line[CTL_LINE_MAX + 1]; /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding; /* the rest of an over-long line is skipped */
	bool used;       /* a command was written: no status summary */
	bool overflow;   /* the command being run had more to say than room */
	char *out;       /* replies not read yet: out[out_pos..out_len), compacted (compact) */
	size_t out_len, out_pos, out_cap;
	size_t charged; /* reply bytes charged to the opener (limits.c) */
};

static struct {
	pthread_mutex_t lock;
	struct ctl_session *first;
} sessions = { .lock = PTHREAD_MUTEX_INITIALIZER };

int ctl_session_open(const struct creds *opener, struct ctl_session **ret)
{
	struct ctl_session *s;
	int r = limits_take(opener->uid, LIMIT_CTL, 1);

	if (r < 0)
		return r;
	s = calloc(1, sizeof(*s));
	if (!s) {
		limits_give(opener->uid, LIMIT_CTL, 1);
		return -ENOMEM;
	}
	s->opener = *opener;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_lock(&sessions.lock);
	s->next = sessions.first;
	if (s->next)
		s->next->prev = s;
	sessions.first = s;
	pthread_mutex_unlock(&sessions.lock);
	*ret = s;
	return 0;
}

void ctl_close(struct ctl_session *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&sessions.lock);
	if (s->prev)
		s->prev->next = s->next;
	else
		sessions.first = s->next;
	if (s->next)
		s->next->prev = s->prev;
	pthread_mutex_unlock(&sessions.lock);
	/* Anonymous segments made with "hold" die with the descriptor that made them. */
	anon_release_holder(s);
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, s->charged);
	limits_give(s->opener.uid, LIMIT_CTL, 1);
	pthread_mutex_destroy(&s->lock);
	free(s->out);
	free(s);
}

void ctl_destroy_all(void)
{
	/* At exit the kernel may not have sent every release yet. */
	while (sessions.first)
		ctl_close(sessions.first);
}

/* Gives back the charge of reply bytes read (or dropped). */
static void uncharge(struct ctl_session *s, size_t len)
{
	limits_give(s->opener.uid, LIMIT_CTL_BYTES, len);
	s->charged -= len;
}

/*
 * Moves the replies not read yet to the start of the buffer, and lets a
 * large buffer go once everything is read: what a session holds is what
 * waits unread, never what was read before.
 */
static void compact(struct ctl_session *s)
{
	size_t pending = s->out_len - s->out_pos;

	if (pending == 0 && s->out_cap > CTL_BUFFER_KEEP) {
		free(s->out);
		s->out = NULL;
		s->out_cap = 0;
	} else if (s->out_pos) {
		memmove(s->out, s->out + s->out_pos, pending);
	}
	s->out_len = pending;
	s->out_pos = 0;
}

/*
 * Appends text to the pending output, charged to the opener; false (and
 * s->overflow) when it would pass CTL_OUTPUT_MAX or the opener's limit.
 * error: a last short error line, which may use the one line of room kept
 * past CTL_OUTPUT_MAX (still within the opener's limit: else it is
 * dropped, and the failed write(2) alone tells).
 */
static bool emit_raw(struct ctl_session *s, const char *text, size_t len, bool error)
{
	size_t room = CTL_OUTPUT_MAX + (error ? CTL_ERROR_ROOM : 0);

	if (s->out_len - s->out_pos + len > room ||
	    limits_take(s->opener.uid, LIMIT_CTL_BYTES, len) < 0) {
		s->overflow = !error;
		return false;
	}
	s->charged += len;
	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 4096;
		char *out;

		while (cap < s->out_len + len)
			cap *= 2;
		out = realloc(s->out, cap);
		if (!out) {
			uncharge(s, len);
			s->overflow = true;
			return false;
		}
		s->out = out;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, text, len);
	s->out_len += len;
	return true;
}

__attribute__((format(printf, 2, 3))) static void emit(struct ctl_session *s, const char *fmt, ...)
{
	char line[CTL_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit_raw(s, line, (size_t)n, false);
}

/* Replies "err ENAME message" (always delivered) and returns -code. */
__attribute__((format(printf, 3, 4))) static int fail(struct ctl_session *s, int code,
						      const char *fmt, ...)
{
	char message[CTL_MESSAGE_MAX], line[CTL_MESSAGE_MAX + 32];
	const char *name = strerrorname_np(code);
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	n = snprintf(line, sizeof(line) - 1, "err %s %s", name ? name : "EIO", message);
	if (n < 0)
		return -code;
	if ((size_t)n > sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	emit_raw(s, line, (size_t)n, true);
	return -code;
}

static int holders_emit(void *ctx, const char *line)
{
	struct ctl_session *s = ctx;

	emit(s, "%s", line);
	return s->overflow ? -1 : 0; /* no room: the reply becomes ENOBUFS (run_line) */
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
static void proc_path(const struct ctl_session *s, uint64_t id, char *buf, size_t size)
{
	if (!creds_is_daemon(s->opener.uid) || anon_proc_path(id, buf, size) < 0)
		snprintf(buf, size, "-");
}

static int anon_refused(struct ctl_session *s, const struct ctl_command *cmd, int r,
			const struct pshm_error *err)
{
	char why[PSHM_NAME_MAX + 128];

	uid_t uid = s->opener.uid;

	if (r == -EDQUOT && limits_held(uid, LIMIT_ANON) >= limits_max(LIMIT_ANON))
		return fail(s, EDQUOT,
			    "uid %u has %" PRIu64 " anonymous segments, the limit (anon_max)",
			    (unsigned)uid, limits_max(LIMIT_ANON));
	if (r == -EDQUOT)
		return fail(s, EDQUOT,
			    "%jd more bytes would pass the %" PRIu64
			    " bytes of anonymous segments uid %u may have (anon_bytes)",
			    (intmax_t)cmd->size, limits_anon_bytes(), (unsigned)uid);
	if (r == -EMFILE && limits_held(uid, LIMIT_FDS) >= limits_max(LIMIT_FDS) &&
	    !creds_is_daemon(uid))
		return fail(s, EMFILE, "uid %u holds %" PRIu64 " descriptors, the limit (user_fds)",
			    (unsigned)uid, limits_max(LIMIT_FDS));
	if (r == -EMFILE || r == -ENFILE)
		return fail(s, -r, "the daemon is out of descriptors: %s", strerror(-r));
	/* libpshm says which call failed, on what. */
	if (err->code != -r || pshm_strerror(err, why, sizeof(why)) < 0)
		snprintf(why, sizeof(why), "%s", strerror(-r));
	return fail(s, -r, "cannot create a segment of %jd bytes: %s", (intmax_t)cmd->size, why);
}

static int run_anon(struct ctl_session *s, const struct ctl_command *cmd)
{
	struct pshm_error err = { 0 };
	char path[64];
	uint64_t id;
	int fd, r;

	r = anon_create(cmd->size, cmd->mode, &s->opener, cmd->hold ? s : NULL, &id, &fd, &err);
	if (r < 0)
		return anon_refused(s, cmd, r, &err);
	proc_path(s, id, path, sizeof(path));
	emit(s, "ok %" PRIu64 " %jd " ANON_DIR_NAME "/%" PRIu64 " %s", id, (intmax_t)cmd->size, id,
	     path);
	return 0;
}

static int run_free(struct ctl_session *s, const struct ctl_command *cmd)
{
	int r = anon_free(cmd->id, s->opener.uid);

	if (r == -ENOENT)
		return fail(s, ENOENT, "no anonymous segment %" PRIu64, cmd->id);
	if (r == -EPERM)
		return fail(s, EPERM, "anonymous segment %" PRIu64 " is not yours", cmd->id);
	emit(s, "ok");
	return 0;
}

static void emit_anon(struct ctl_session *s, const struct anon_info *a, const char *lead)
{
	char path[64];

	proc_path(s, a->id, path, sizeof(path));
	emit(s, "%s%" PRIu64 " %jd %04o %u " ANON_DIR_NAME "/%" PRIu64 " %s%s", lead, a->id,
	     (intmax_t)a->st.st_size, a->st.st_mode & 07777, (unsigned)a->st.st_uid, a->id, path,
	     a->held ? " hold" : "");
}

static int emit_anons(struct ctl_session *s, uid_t caller, const char *lead)
{
	struct anon_info *list;
	size_t n;
	int r = anon_list(caller, &list, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		emit_anon(s, &list[i], lead);
	free(list);
	return 0;
}

/* The last line of a holders reply: ok, what was hidden, and why it may be partial. */
static void emit_holders_end(struct ctl_session *s, const struct holders_count *count)
{
	char line[256] = "ok";
	size_t len = 2;
	const char *sep = " ";

	if (count->hidden) {
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%u other processes", sep,
					count->hidden);
		sep = "; ";
	}
	if (count->unreadable) {
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%spartial: %u processes could not be read", sep,
					count->unreadable);
		sep = "; ";
	}
	if (count->stopped) {
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					"%spartial: the scan stopped after %d ms", sep,
					HOLDERS_SCAN_MS);
		sep = "; ";
	}
	if (count->cut)
		snprintf(line + len, sizeof(line) - len,
			 "%spartial: more holders than a reply holds", sep);
	emit(s, "%s", line);
}

/* The directories of other shared memory, for holders of their entries. */
static const struct {
	const char *dir;
	unsigned kind;
} object_dirs[] = {
	{ ".deleted/", PSHM_KIND_DELETED },
	{ ".memfd/", PSHM_KIND_MEMFD },
	{ ".sysv/", PSHM_KIND_SYSV },
	{ ".shared-anon/", PSHM_KIND_SHARED_ANON },
};

/* holders of an entry of .deleted, .memfd, .sysv or .shared-anon: from libpshm's scan. */
static int run_object_holders(struct ctl_session *s, const char *path, unsigned kind,
			      const char *name)
{
	struct pshm_scan_options options = { .skip_self = true };
	struct holders_count count = { 0 };
	const struct pshm_object *o;
	struct pshm_scan *scan;
	long last = -1;
	bool visible = false;
	int r = holders_scan_begin(&s->opener);

	if (r < 0)
		return fail(s, EAGAIN,
			    "a scan of uid %u is running, or %d of other users are: "
			    "try again",
			    (unsigned)s->opener.uid, HOLDERS_SCANS_MAX);
	r = pshm_scan_open(kind, &options, &scan, NULL);
	if (r < 0) {
		holders_scan_end(&s->opener);
		return fail(s, -r, "cannot scan /proc: %s", strerror(-r));
	}
	o = pshm_scan_find(scan, kind, name);
	if (!o || !pshm_object_visible(o, s->opener.uid))
		r = fail(s, ENOENT, "%s: %s", path, strerror(ENOENT));
	else if (!may_read(&s->opener, &o->st))
		r = fail(s, EACCES, "%s: not readable by uid %u", path, (unsigned)s->opener.uid);
	for (size_t i = 0; r == 0 && o && i < o->holder_count && !s->overflow; i++) {
		const struct pshm_holder *h = &o->holders[i];

		/* A process's holders come together: one question to the kernel each. */
		if (h->pid != last) {
			last = h->pid;
			visible = holders_visible(h->pid, &s->opener);
			count.hidden += !visible;
		}
		if (!visible)
			continue;
		if (h->fd >= 0)
			emit(s, "%ld %s fd %d", (long)h->pid, h->comm, h->fd);
		else
			emit(s, "%ld %s map %llx-%llx %s", (long)h->pid, h->comm, h->start, h->end,
			     h->perms);
	}
	count.unreadable = pshm_scan_unreadable(scan);
	pshm_scan_free(scan);
	holders_scan_end(&s->opener);
	if (r == 0 && !s->overflow)
		emit_holders_end(s, &count);
	return r;
}

static int run_holders(struct ctl_session *s, const struct ctl_command *cmd,
		       const struct ctl_context *context)
{
	char full[PSHM_NAME_MAX + 1];
	struct holders_count count;
	struct stat st;
	int r;

	for (size_t i = 0; i < sizeof(object_dirs) / sizeof(object_dirs[0]); i++) {
		size_t len = strlen(object_dirs[i].dir);

		if (strncmp(cmd->name, object_dirs[i].dir, len) == 0)
			return run_object_holders(s, cmd->name, object_dirs[i].kind,
						  cmd->name + len);
	}
	if (cmd->id) {
		r = anon_stat(cmd->id, &st);
	} else {
		r = context->segment_name(context->prefix, cmd->name, full);
		if (r == 0)
			r = pshm_stat_name(full, &st, NULL);
	}
	if (r < 0)
		return fail(s, -r, "%s: %s", cmd->name, strerror(-r));
	if (!may_read(&s->opener, &st))
		return fail(s, EACCES, "%s: not readable by uid %u", cmd->name,
			    (unsigned)s->opener.uid);
	r = holders_scan(st.st_dev, st.st_ino, &s->opener, holders_emit, s, &count);
	if (r == -EAGAIN)
		return fail(s, EAGAIN,
			    "a holders scan of uid %u is running, or %d of other users are: "
			    "try again",
			    (unsigned)s->opener.uid, HOLDERS_SCANS_MAX);
	if (r < 0)
		return fail(s, -r, "cannot scan /proc: %s", strerror(-r));
	if (s->overflow)
		return 0; /* run_line replies ENOBUFS */
	emit_holders_end(s, &count);
	return 0;
}

/* One line of a usage table: kind, then who (or nothing), count and bytes. */
struct usage_row {
	int kind; /* index into pshm_kind_name(1 << kind) */
	long who; /* uid or pid; -1 by kind */
	char comm[16];
	unsigned long long count, bytes;
};

struct usage_table {
	struct usage_row *rows;
	size_t count, cap;
	bool failed;
};

static void usage_add(struct usage_table *t, int kind, long who, const char *comm,
		      unsigned long long bytes)
{
	for (size_t i = 0; i < t->count; i++) {
		if (t->rows[i].kind == kind && t->rows[i].who == who) {
			t->rows[i].count++;
			t->rows[i].bytes += bytes;
			return;
		}
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct usage_row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows) {
			t->failed = true;
			return;
		}
		t->rows = rows;
		t->cap = cap;
	}
	t->rows[t->count] =
		(struct usage_row){ .kind = kind, .who = who, .count = 1, .bytes = bytes };
	snprintf(t->rows[t->count].comm, sizeof(t->rows[0].comm), "%s", comm ? comm : "");
	t->count++;
}

static int index_of_kind(unsigned kind)
{
	for (int i = 0; i < PSHM_KINDS; i++)
		if (kind == 1u << i)
			return i;
	return 0;
}

static int emit_tmpfs(void *ctx, const char *mount_point, unsigned long long used)
{
	emit(ctx, "tmpfs %s %llu", mount_point, used);
	return 0;
}

/*
 * usage [by-user|by-process]: where shared memory goes, by kind (and by
 * owner, or by holding process: an object counts for each of its
 * holders), the daemon's own anonymous segments, the tmpfs mounts that
 * hold memory, and last what nothing explains: Shmem of /proc/meminfo
 * less all the rest. The opener sees what /proc lets them.
 */
static int run_usage(struct ctl_session *s, const struct ctl_command *cmd)
{
	struct pshm_scan_options options = { .skip_self = true };
	struct usage_table t = { 0 };
	const struct pshm_object *o;
	struct anon_info *anons = NULL;
	unsigned long long anon_bytes = 0, explained;
	struct pshm_scan *scan;
	struct pshm_usage u;
	size_t anon_count = 0;
	uid_t uid = s->opener.uid;
	int r = holders_scan_begin(&s->opener);

	if (r < 0)
		return fail(s, EAGAIN,
			    "a scan of uid %u is running, or %d of other users are: "
			    "try again",
			    (unsigned)uid, HOLDERS_SCANS_MAX);
	r = pshm_scan_open(PSHM_KIND_ALL, &options, &scan, NULL);
	if (r == 0) {
		r = pshm_usage_of(scan, uid, &u, NULL);
		while (r == 0 && cmd->by != CTL_USAGE_KIND && pshm_scan_next(scan, &o) > 0) {
			unsigned long long bytes = (unsigned long long)o->st.st_blocks * 512;
			long last = -1;

			if (!pshm_object_visible(o, uid))
				continue;
			if (cmd->by == CTL_USAGE_USER) {
				usage_add(&t, index_of_kind(o->kind), (long)o->st.st_uid, NULL,
					  bytes);
				continue;
			}
			/* A process's holders come together: it counts once per object. */
			for (size_t i = 0; i < o->holder_count; i++) {
				if (o->holders[i].pid == last)
					continue;
				last = o->holders[i].pid;
				usage_add(&t, index_of_kind(o->kind), last, o->holders[i].comm,
					  bytes);
			}
		}
		pshm_scan_free(scan);
	}
	holders_scan_end(&s->opener);
	if (r == 0)
		r = anon_list(uid, &anons, &anon_count);
	if (r < 0 || t.failed) {
		free(t.rows);
		return fail(s, r < 0 ? -r : ENOMEM, "cannot add up shared memory: %s",
			    strerror(r < 0 ? -r : ENOMEM));
	}
	for (size_t i = 0; i < anon_count; i++)
		anon_bytes += (unsigned long long)anons[i].st.st_blocks * 512;
	free(anons);
	for (size_t i = 0; i < t.count; i++) {
		const struct usage_row *row = &t.rows[i];

		if (cmd->by == CTL_USAGE_USER)
			emit(s, "%s %ld %llu %llu", pshm_kind_name(1u << row->kind), row->who,
			     row->count, row->bytes);
		else
			emit(s, "%s %ld %s %llu %llu", pshm_kind_name(1u << row->kind), row->who,
			     row->comm, row->count, row->bytes);
	}
	free(t.rows);
	if (cmd->by == CTL_USAGE_KIND)
		for (int k = 0; k < PSHM_KINDS; k++)
			emit(s, "%s %llu %llu", pshm_kind_name(1u << k), u.count[k], u.bytes[k]);
	emit(s, "anonymous %zu %llu", anon_count, anon_bytes);
	emit(s, "tmpfs " PSHM_DIR " %llu", u.shm_dir_used);
	pshm_tmpfs_mounts(emit_tmpfs, s, NULL);
	emit(s, "shmem %llu", u.shmem);
	explained = u.shm_dir_used + u.tmpfs_used + u.bytes[index_of_kind(PSHM_KIND_MEMFD)] +
		    u.bytes[index_of_kind(PSHM_KIND_SYSV)] +
		    u.bytes[index_of_kind(PSHM_KIND_SHARED_ANON)];
	emit(s, "unexplained %lld", (long long)u.shmem - (long long)explained);
	emit(s, "ok");
	return 0;
}

static void emit_help(struct ctl_session *s)
{
	emit(s, "anon SIZE [MODE] [hold]  create an anonymous segment (hold: freed when this "
		"file is closed)");
	emit(s, "free ID                   release anonymous segment ID");
	emit(s, "list                      your anonymous segments: ID SIZE MODE UID PATH "
		"PROC-PATH [hold]");
	emit(s,
	     "holders NAME              who has NAME (a segment, .anon/ID, .memfd/NAME@INODE...) "
	     "open or mapped");
	emit(s, "usage [by-user|by-process] where shared memory goes: by kind, owner or holder, "
		"and what nothing explains");
	emit(s, "help                      this text");
	emit(s, "ok");
}

static int run_command(struct ctl_session *s, const struct ctl_command *cmd,
		       const struct ctl_context *context)
{
	int r;

	switch (cmd->verb) {
	case CTL_NONE:
		return 0; /* an empty line is no command */
	case CTL_ANON:
		return run_anon(s, cmd);
	case CTL_FREE:
		return run_free(s, cmd);
	case CTL_LIST:
		r = emit_anons(s, s->opener.uid, "");
		if (r < 0)
			return fail(s, -r, "cannot list: %s", strerror(-r));
		emit(s, "ok");
		return 0;
	case CTL_HOLDERS:
		return run_holders(s, cmd, context);
	case CTL_HELP:
		emit_help(s);
		return 0;
	case CTL_USAGE:
		return run_usage(s, cmd);
	}
	return fail(s, EINVAL, "unknown command");
}

/*
 * Runs one complete line; returns 0, or -errno after replying "err ...".
 * A reply that does not fit what may stay unread is dropped whole and
 * replaced by an ENOBUFS error: never half a reply.
 */
static int run_line(struct ctl_session *s, char *line, size_t len,
		    const struct ctl_context *context)
{
	char message[CTL_MESSAGE_MAX];
	struct ctl_command cmd;
	size_t mark;
	int r;

	if (ctl_parse(line, len, &cmd, message, sizeof(message)) < 0)
		return fail(s, EINVAL, "%s", message);
	compact(s);
	mark = s->out_len;
	s->overflow = false;
	r = run_command(s, &cmd, context);
	if (!s->overflow)
		return r;
	uncharge(s, s->out_len - mark);
	s->out_len = mark;
	s->overflow = false;
	return fail(s, ENOBUFS,
		    "the reply does not fit in what may wait unread (%d bytes a file, %u a user): "
		    "read the replies first",
		    CTL_OUTPUT_MAX, LIMIT_CTL_USER_BYTES);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

ssize_t ctl_write(struct ctl_session *s, const char *buf, size_t len,
		  const struct ctl_context *context)
{
	uint64_t deadline = now_ms() + CTL_WRITE_SLICE_MS;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->used = true;
	for (i = 0; i < len; i++) {
		char ch = buf[i];

		/* The rest of an over-long line goes, up to its newline. */
		if (s->discarding) {
			if (ch == '\n')
				s->discarding = false;
			continue;
		}
		/* After a failed command the rest of this write is not run. */
		if (r < 0)
			break;
		if (ch != '\n') {
			if (s->line_len == CTL_LINE_MAX) {
				s->discarding = true;
				s->line_len = 0;
				compact(s);
				r = fail(s, EINVAL, "line longer than %d bytes", CTL_LINE_MAX);
				continue;
			}
			s->line[s->line_len++] = ch;
			continue;
		}
		if (s->out_len - s->out_pos > CTL_OUTPUT_MAX - CTL_MESSAGE_MAX) {
			s->line_len = 0;
			r = -ENOBUFS; /* no room even for an error reply: read the replies */
			break;
		}
		r = run_line(s, s->line, s->line_len, context);
		s->line_len = 0;
		/*
		 * The time slice is over: take what ran, the writer writes the
		 * rest again. A thread never spends long on one client, and the
		 * kernel lets go of the file between the pieces.
		 */
		if (r == 0 && i + 1 < len && now_ms() >= deadline) {
			i++;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return r < 0 ? r : (ssize_t)i;
}

/* The summary's lines per kind, "KIND COUNT BYTES", when a scan may run now. */
static void emit_kinds(struct ctl_session *s)
{
	struct pshm_scan_options options = { .skip_self = true };
	struct pshm_scan *scan;
	struct pshm_usage u;

	if (holders_scan_begin(&s->opener) < 0)
		return;
	if (pshm_scan_open(PSHM_KIND_ALL, &options, &scan, NULL) == 0) {
		if (pshm_usage_of(scan, s->opener.uid, &u, NULL) == 0)
			for (int k = 0; k < PSHM_KINDS; k++)
				emit(s, "%s %llu %llu", pshm_kind_name(1u << k), u.count[k],
				     u.bytes[k]);
		pshm_scan_free(scan);
	}
	holders_scan_end(&s->opener);
}

/* The status summary a fresh .ctl answers with. */
static void emit_summary(struct ctl_session *s, const struct ctl_context *context)
{
	uint64_t segments = 0, bytes = 0, anon_bytes = 0;
	struct anon_info *list;
	char data_path[160];
	struct pshm_iter *it;
	struct statvfs sv;
	struct stat st;
	const char *name;
	size_t n;

	emit(s, "version %s", SHMFS_VERSION);
	emit(s, "pid %ld", (long)getpid());
	emit(s, "prefix %s", context->prefix[0] ? context->prefix : "-");
	passthrough_status(data_path, sizeof(data_path));
	emit(s, "passthrough %s", data_path);
	emit(s, "libfuse %s passthrough=%s", fuse_pkgversion(), passthrough_implementation());
	if (statvfs(PSHM_DIR, &sv) == 0) {
		emit(s, "shm-size %" PRIu64, (uint64_t)sv.f_blocks * sv.f_frsize);
		emit(s, "shm-used %" PRIu64, (uint64_t)(sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		emit(s, "shm-free %" PRIu64, (uint64_t)sv.f_bavail * sv.f_frsize);
	}
	if (pshm_iter_open(context->prefix, &it, NULL) == 0) {
		while (pshm_iter_next(it, &name, &st, NULL) > 0) {
			segments++;
			bytes += (uint64_t)st.st_size;
		}
		pshm_iter_free(it);
	}
	emit(s, "segments %" PRIu64, segments);
	emit(s, "segments-bytes %" PRIu64, bytes);
	if (anon_list(ANON_ALL, &list, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		anon_bytes += (uint64_t)list[i].st.st_size;
	free(list);
	emit(s, "anonymous %zu", n);
	emit(s, "anonymous-bytes %" PRIu64, anon_bytes);
	emit_kinds(s);
	/* The totals are everyone's; the segments listed only the opener's own. */
	emit_anons(s, s->opener.uid, "anon ");
}

ssize_t ctl_read(struct ctl_session *s, char *buf, size_t size, const struct ctl_context *context)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	if (!s->used) {
		s->used = true;
		emit_summary(s, context);
	}
	n = s->out_len - s->out_pos;
	if (n > size)
		n = size;
	if (n)
		memcpy(buf, s->out + s->out_pos, n);
	s->out_pos += n;
	uncharge(s, n);
	if (s->out_pos == s->out_len)
		compact(s);
	pthread_mutex_unlock(&s->lock);
	return (ssize_t)n;
}

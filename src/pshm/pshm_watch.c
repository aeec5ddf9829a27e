/* SPDX-License-Identifier: MIT */
/*
 * pshm watch: a row for every change of PSHM_DIR the kernel reports, from
 * inotify (pshm_inotify.c): every event queued is read before any name is
 * looked at, so a segment gone before its look is still a creation and a
 * removal, and lost events are said and made up for by a fresh look.
 * Rows are a table as ls prints it, streamed (table_stream_row): printed
 * and flushed as each event comes, aligned, or one JSON object a line.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"
#include "pshm_inotify_i.h"
#include "pshm_table_i.h"

/* What watch knows of a segment, to tell a resize or a chmod from a write of data. */
struct known {
	char *name;
	ino_t ino; /* another inode under the name: another segment */
	off_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	bool unknown; /* gone before it could be looked at: nothing above is known */
};

struct catalog {
	struct known *list; /* sorted by name */
	size_t count, cap;
};

/* An event of the batch being read, and what the rest of the batch says of its name. */
struct pending {
	const struct inotify_event *event;
	size_t index;     /* its place in the batch */
	bool taken_later; /* a later event of the batch took the name from what this one is about */
};

/*
 * The columns of watch: the event, then the segment as ls shows it after
 * the event (removed: as it was last known), then before it, for the
 * facts the event changed (OLD-*, in the same order as the facts).
 */
enum {
	WCOL_TIME,
	WCOL_EVENT,
	WCOL_NAME,
	WCOL_INODE,
	WCOL_SIZE,
	WCOL_MODE,
	WCOL_OCTAL,
	WCOL_OWNER,
	WCOL_UID,
	WCOL_GROUP,
	WCOL_GID,
	WCOL_OLD_SIZE,
	WCOL_OLD_MODE,
	WCOL_OLD_OCTAL,
	WCOL_OLD_OWNER,
	WCOL_OLD_UID,
	WCOL_OLD_GROUP,
	WCOL_OLD_GID,
};

static const struct table_column watch_columns[] = {
	[WCOL_TIME] = { "TIME", TABLE_TEXT,
			"when it was seen, ISO 8601 to the microsecond (--time adds it)" },
	[WCOL_EVENT] = { "EVENT", TABLE_TEXT,
			 "created, resized, mode, owner, removed or overflow" },
	[WCOL_NAME] = { "NAME", TABLE_TEXT, "the segment's name (- for overflow)" },
	[WCOL_INODE] = { "INODE", TABLE_NUMBER, "its inode number" },
	[WCOL_SIZE] = { "SIZE", TABLE_SIZE, "its size (- when it was gone before a look)" },
	[WCOL_MODE] = { "MODE", TABLE_TEXT, "permissions as ls -l shows them" },
	[WCOL_OCTAL] = { "OCTAL", TABLE_TEXT, "permissions in octal" },
	[WCOL_OWNER] = { "OWNER", TABLE_TEXT, "owner's name (-N: uid)" },
	[WCOL_UID] = { "UID", TABLE_NUMBER, "owner's uid" },
	[WCOL_GROUP] = { "GROUP", TABLE_TEXT, "group's name (-N: gid)" },
	[WCOL_GID] = { "GID", TABLE_NUMBER, "group's gid" },
	[WCOL_OLD_SIZE] = { "OLD-SIZE", TABLE_SIZE, "resized: the size before" },
	[WCOL_OLD_MODE] = { "OLD-MODE", TABLE_TEXT, "mode: the permissions before" },
	[WCOL_OLD_OCTAL] = { "OLD-OCTAL", TABLE_TEXT, "mode: the permissions before, in octal" },
	[WCOL_OLD_OWNER] = { "OLD-OWNER", TABLE_TEXT, "owner: the owner before" },
	[WCOL_OLD_UID] = { "OLD-UID", TABLE_NUMBER, "owner: the uid before" },
	[WCOL_OLD_GROUP] = { "OLD-GROUP", TABLE_TEXT, "owner: the group before" },
	[WCOL_OLD_GID] = { "OLD-GID", TABLE_NUMBER, "owner: the gid before" },
};

#define WATCH_COLUMNS (sizeof(watch_columns) / sizeof(watch_columns[0]))

/* Their widths from the first row: a time, the longest event, sizes to 1023.9M... */
static const unsigned watch_widths[] = {
	[WCOL_TIME] = 32,     [WCOL_EVENT] = 8,     [WCOL_NAME] = 0,      [WCOL_INODE] = 8,
	[WCOL_SIZE] = 7,      [WCOL_MODE] = 10,     [WCOL_OCTAL] = 5,     [WCOL_OWNER] = 8,
	[WCOL_UID] = 5,       [WCOL_GROUP] = 8,     [WCOL_GID] = 5,       [WCOL_OLD_SIZE] = 8,
	[WCOL_OLD_MODE] = 10, [WCOL_OLD_OCTAL] = 9, [WCOL_OLD_OWNER] = 9, [WCOL_OLD_UID] = 7,
	[WCOL_OLD_GROUP] = 9, [WCOL_OLD_GID] = 7,
};

/* The columns watch shows, and with --time. */
#define WATCH_DEFAULT "EVENT,SIZE,MODE,OWNER,GROUP,OLD-SIZE,OLD-MODE,OLD-OWNER,OLD-GROUP,NAME"
#define WATCH_TIME "TIME," WATCH_DEFAULT

/* Everything watch holds: its table, what it knows, the batch being read. */
struct watcher {
	struct table *table;
	int status;                /* CLI_OK, or the status of a row that could not be printed */
	struct timespec read_at;   /* when the batch was read */
	struct timespec last_time; /* the time on the last line printed */
	struct catalog catalog;
	char *buf;
	size_t buf_size;
	struct pending *events, **by_name; /* the batch's events with a name, and sorted */
	size_t event_count, event_cap;
};

/* ISO 8601, local time to the microsecond, with its offset: 2026-12-05T01:15:02.123456+00:00. */
static void format_time(const struct timespec *ts, char *text, size_t size)
{
	struct tm tm;
	long offset;
	size_t n;

	localtime_r(&ts->tv_sec, &tm);
	offset = tm.tm_gmtoff / 60;
	n = strftime(text, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(text + n, size - n, ".%06ld%c%02ld:%02ld", ts->tv_nsec / 1000,
		 offset < 0 ? '-' : '+', labs(offset) / 60, labs(offset) % 60);
}

/*
 * The time of a line: when its batch was read (inotify events carry
 * none), but never before the line above's, so that the column stays in
 * order when the clock is set back.
 */
static void line_time(struct watcher *w, char *text, size_t size)
{
	if (w->read_at.tv_sec > w->last_time.tv_sec ||
	    (w->read_at.tv_sec == w->last_time.tv_sec && w->read_at.tv_nsec > w->last_time.tv_nsec))
		w->last_time = w->read_at;
	format_time(&w->last_time, text, size);
}

/* The facts of k into the columns from first (WCOL_SIZE, or WCOL_OLD_SIZE for its OLD-* ones). */
static void facts(struct table *t, struct libscols_line *row, const struct known *k, size_t first)
{
	char octal[8];

	snprintf(octal, sizeof(octal), "%04o", (unsigned)k->mode);
	table_size(t, row, first, (unsigned long long)k->size);
	table_mode(t, row, first + WCOL_MODE - WCOL_SIZE, k->mode);
	table_text(t, row, first + WCOL_OCTAL - WCOL_SIZE, octal);
	table_user(t, row, first + WCOL_OWNER - WCOL_SIZE, (unsigned)k->uid);
	table_number(t, row, first + WCOL_UID - WCOL_SIZE, (long long)k->uid);
	table_group(t, row, first + WCOL_GROUP - WCOL_SIZE, (unsigned)k->gid);
	table_number(t, row, first + WCOL_GID - WCOL_SIZE, (long long)k->gid);
}

/*
 * The row of one event; k NULL for one that is about no segment
 * (overflow), old what a change changed (the OLD-* columns of that change
 * alone). What is not known stays empty: - in text, null in JSON.
 */
static void emit(struct watcher *w, const char *event, const struct known *k,
		 const struct known *old)
{
	struct table *t = w->table;
	struct libscols_line *row = table_row(t);
	char when[64];
	int r;

	if (table_wants(t, WCOL_TIME)) {
		line_time(w, when, sizeof(when));
		table_text(t, row, WCOL_TIME, when);
	}
	table_text(t, row, WCOL_EVENT, event);
	if (k)
		table_name(t, row, WCOL_NAME, k->name);
	if (k && !k->unknown) {
		table_number(t, row, WCOL_INODE, (long long)k->ino);
		facts(t, row, k, WCOL_SIZE);
	}
	if (old && strcmp(event, "resized") == 0) {
		table_size(t, row, WCOL_OLD_SIZE, (unsigned long long)old->size);
	} else if (old && strcmp(event, "mode") == 0) {
		char octal[8];

		snprintf(octal, sizeof(octal), "%04o", (unsigned)old->mode);
		table_mode(t, row, WCOL_OLD_MODE, old->mode);
		table_text(t, row, WCOL_OLD_OCTAL, octal);
	} else if (old && strcmp(event, "owner") == 0) {
		table_user(t, row, WCOL_OLD_OWNER, (unsigned)old->uid);
		table_number(t, row, WCOL_OLD_UID, (long long)old->uid);
		table_group(t, row, WCOL_OLD_GROUP, (unsigned)old->gid);
		table_number(t, row, WCOL_OLD_GID, (long long)old->gid);
	}
	r = table_stream_row(t, row);
	if (r != CLI_OK && w->status == CLI_OK)
		w->status = r;
}

/* The lines for a segment whose state went from old to now. */
static void compare(struct watcher *w, const struct known *old, const struct known *now)
{
	if (now->size != old->size)
		emit(w, "resized", now, old);
	if (now->mode != old->mode)
		emit(w, "mode", now, old);
	if (now->uid != old->uid || now->gid != old->gid)
		emit(w, "owner", now, old);
}

/* The index of name in c, or where it would go (*found false). */
static size_t position(const struct catalog *c, const char *name, bool *found)
{
	size_t lo = 0, hi = c->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(c->list[mid].name, name);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static int insert(struct catalog *c, size_t at, const struct known *k)
{
	if (c->count == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct known *list = realloc(c->list, cap * sizeof(*list));

		if (!list)
			return -ENOMEM;
		c->list = list;
		c->cap = cap;
	}
	memmove(&c->list[at + 1], &c->list[at], (c->count - at) * sizeof(*c->list));
	c->list[at] = *k;
	c->count++;
	return 0;
}

static void forget(struct catalog *c, size_t at)
{
	free(c->list[at].name);
	memmove(&c->list[at], &c->list[at + 1], (c->count - at - 1) * sizeof(*c->list));
	c->count--;
}

static void catalog_free(struct catalog *c)
{
	for (size_t i = 0; i < c->count; i++)
		free(c->list[i].name);
	free(c->list);
	*c = (struct catalog){ 0 };
}

static struct known known_of(const char *name, const struct stat *st)
{
	return (struct known){ .name = (char *)name,
			       .ino = st->st_ino,
			       .size = st->st_size,
			       .mode = st->st_mode & 07777,
			       .uid = st->st_uid,
			       .gid = st->st_gid };
}

/* Every segment now, sorted: the start, and the truth again after lost events. */
static int snapshot(struct catalog *ret)
{
	struct catalog c = { 0 };
	struct pshm_error err;
	struct pshm_iter *it;
	const char *name;
	struct stat st;
	int r = pshm_iter_open(NULL, &it, &err);

	if (r < 0)
		return -cli_error(&err);
	while ((r = pshm_iter_next(it, &name, &st, &err)) > 0) {
		struct known k = known_of(strdup(name), &st);
		bool found;
		size_t at = position(&c, name, &found);

		if (!k.name || insert(&c, at, &k) < 0) {
			free(k.name);
			r = -ENOMEM;
			break;
		}
	}
	pshm_iter_free(it);
	if (r < 0) {
		catalog_free(&c);
		return r == -ENOMEM ? -cli_fail(ENOMEM, "watch", NULL) : -cli_error(&err);
	}
	*ret = c;
	return 0;
}

/* After lost events: the differences between what was known and what is. */
static int resync(struct watcher *w)
{
	struct catalog *c = &w->catalog, now;
	size_t i = 0, j = 0;
	int r = snapshot(&now);

	if (r < 0)
		return r;
	while (i < c->count || j < now.count) {
		int cmp = i == c->count    ? 1
			  : j == now.count ? -1
					   : strcmp(c->list[i].name, now.list[j].name);

		if (cmp < 0)
			emit(w, "removed", &c->list[i++], NULL);
		else if (cmp > 0)
			emit(w, "created", &now.list[j++], NULL);
		else if (c->list[i].unknown || c->list[i].ino != now.list[j].ino) {
			emit(w, "removed", &c->list[i++], NULL);
			emit(w, "created", &now.list[j++], NULL);
		} else {
			compare(w, &c->list[i++], &now.list[j++]);
		}
	}
	catalog_free(c);
	*c = now;
	return 0;
}

static void removed(struct watcher *w, size_t at)
{
	emit(w, "removed", &w->catalog.list[at], NULL);
	forget(&w->catalog, at);
}

/* A segment new to watch, at, and its created line. */
static int created(struct watcher *w, size_t at, struct known *k)
{
	k->name = strdup(k->name);
	if (!k->name || insert(&w->catalog, at, k) < 0) {
		free(k->name);
		return -cli_fail(ENOMEM, "watch", NULL);
	}
	emit(w, "created", k, NULL);
	return 0;
}

/*
 * One event about name: what it changed. taken_later: a later event of
 * the batch took the name, so what has the name now is not what this
 * event is about, and it is not looked at: a segment created and gone
 * again is a created line with nothing known of it, then a removed line.
 */
static int follow(struct watcher *w, uint32_t mask, const char *name, bool taken_later)
{
	struct catalog *c = &w->catalog;
	struct known now = { .name = (char *)name, .unknown = true };
	bool found;
	size_t at = position(c, name, &found);
	struct stat st;
	enum look seen;

	/* A directory or a semaphore shares the directory, and is never a segment. */
	if ((mask & IN_ISDIR) || is_semaphore(name))
		return 0;
	if (mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (found)
			removed(w, at);
		return 0;
	}
	seen = taken_later ? LOOK_NOTHING : look_at(name, &st);
	if (seen == LOOK_SEGMENT)
		now = known_of(name, &st);
	if (!(mask & NAME_GIVEN)) {
		/* A change to what has gone since (its removal tells), or a look that failed. */
		if (seen == LOOK_NOTHING || seen == LOOK_FAILED || (found && c->list[at].unknown))
			return 0;
		/* A FIFO or the like renamed over a segment: removed as far as segments go. */
		if (seen != LOOK_SEGMENT) {
			if (found)
				removed(w, at);
			return 0;
		}
	}
	if (found && seen == LOOK_SEGMENT && !c->list[at].unknown && c->list[at].ino == now.ino) {
		/* The one known (seen by the start's snapshot, or before this change). */
		compare(w, &c->list[at], &now);
		now.name = c->list[at].name;
		c->list[at] = now;
		return 0;
	}
	/* Created while the start's snapshot was taken, and seen by it: its removal tells. */
	if (found && seen == LOOK_NOTHING && (mask & IN_CREATE) && !c->list[at].unknown)
		return 0;
	/* Replaced: renamed over, or removed and made again. */
	if (found)
		removed(w, at);
	if (seen == LOOK_OTHER || seen == LOOK_FAILED)
		return 0;
	return created(w, at, &now);
}

static int by_name_then_place(const void *a, const void *b)
{
	const struct pending *x = *(struct pending *const *)a, *y = *(struct pending *const *)b;
	int cmp = strcmp(x->event->name, y->event->name);

	return cmp ? cmp : x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The batch's events with a name, each marked when a later one took its
 * name: sorted by name (then place), each name's events read from the
 * last. Returns 0 or the error line's status negated.
 */
static int look_ahead(struct watcher *w, size_t len)
{
	const struct inotify_event *e;
	size_t n = 0;

	FOR_EACH_EVENT(e, w->buf, len)
	{
		if (!e->len)
			continue;
		if (n == w->event_cap) {
			size_t cap = w->event_cap ? w->event_cap * 2 : 1024;
			struct pending *events = realloc(w->events, cap * sizeof(*events));
			struct pending **by_name =
				events ? realloc(w->by_name, cap * sizeof(*by_name)) : NULL;

			if (events)
				w->events = events;
			if (!by_name)
				return -cli_fail(ENOMEM, "watch", NULL);
			w->by_name = by_name;
			w->event_cap = cap;
		}
		w->events[n] = (struct pending){ .event = e, .index = n };
		n++;
	}
	w->event_count = n;
	for (size_t i = 0; i < n; i++)
		w->by_name[i] = &w->events[i]; /* once events stopped moving */
	qsort(w->by_name, n, sizeof(*w->by_name), by_name_then_place);
	for (size_t i = n; i-- > 0;) {
		bool same = i + 1 < n &&
			    strcmp(w->by_name[i]->event->name, w->by_name[i + 1]->event->name) == 0;

		w->by_name[i]->taken_later =
			same && (w->by_name[i + 1]->taken_later ||
				 (w->by_name[i + 1]->event->mask & NAME_TAKEN));
	}
	return 0;
}

/* One batch, in order: 0, or the error line's status negated. */
static int follow_batch(struct watcher *w, size_t len)
{
	const struct inotify_event *e;
	size_t named = 0;
	int r = look_ahead(w, len);

	FOR_EACH_EVENT(e, w->buf, len)
	{
		if (r < 0)
			break;
		if (e->mask & IN_Q_OVERFLOW) {
			/* Events were lost: say so, then what differs now from what was known. */
			emit(w, "overflow", NULL, NULL);
			r = resync(w);
		} else if (e->mask & IN_IGNORED) {
			r = -cli_fail(ENOENT, "watch", PSHM_DIR); /* unmounted, removed */
		} else if (e->len) {
			r = follow(w, e->mask, e->name, w->events[named++].taken_later);
		}
	}
	/* A row that could not be printed ends the watch: nobody reads it any more. */
	return r == 0 && w->status != CLI_OK ? -w->status : r;
}

static void watcher_free(struct watcher *w)
{
	catalog_free(&w->catalog);
	table_free(w->table);
	free(w->buf);
	free(w->events);
	free(w->by_name);
}

int cmd_watch(int argc, char **argv)
{
	static const struct option options[] = {
		{ "time", no_argument, NULL, 'T' },
		TABLE_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct table_options to = { 0 };
	struct watcher w = { 0 };
	char output[1024];
	bool time = false;
	int ch, fd, r;

	while ((ch = cli_option(argc, argv, "h" TABLE_SHORT_OPTIONS, options)) != -1)
		if (!table_option(&to, ch, optarg))
			time |= ch == 'T';
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (to.list_columns)
		return table_list_columns(watch_columns, WATCH_COLUMNS, &to);
	if (to.sort)
		return cli_usage("--sort: events are printed as they come, never sorted");
	/* --time with -o: the time first, then the columns chosen. */
	if (time && to.output && to.output[0] != '+') {
		if (snprintf(output, sizeof(output), "TIME,%s", to.output) >= (int)sizeof(output))
			return cli_usage("-o: too long a list");
		to.output = output;
	}
	r = table_new("events", watch_columns, WATCH_COLUMNS, time ? WATCH_TIME : WATCH_DEFAULT,
		      &to, &w.table);
	if (r != CLI_OK)
		return r;
	table_stream_widths(w.table, watch_widths);
	w.buf = event_buffer(&w.buf_size);
	fd = w.buf ? watch_dir(WATCH_EVENTS) : -CLI_FAILED;
	if (fd < 0) {
		watcher_free(&w);
		return -fd;
	}
	r = snapshot(&w.catalog);
	while (r == 0) {
		/* All that is queued, before any look: a later event tells what a look cannot. */
		ssize_t n = read_events(fd, w.buf, w.buf_size, -1);

		clock_gettime(CLOCK_REALTIME, &w.read_at);
		if (n < 0)
			r = -cli_fail((int)-n, "read", "inotify");
		else
			r = follow_batch(&w, (size_t)n);
	}
	watcher_free(&w);
	close(fd);
	return -r;
}

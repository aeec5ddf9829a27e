/* SPDX-License-Identifier: MIT */
/*
 * pshm wait and pshm watch: segments as they come and change, from
 * inotify on PSHM_DIR. Both watch before they look, so that nothing that
 * happens between the look and the watch is missed; neither polls.
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
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"

/* Room for at least one event of the longest name; read(2) returns whole events. */
#define EVENT_BUFFER (16 * (sizeof(struct inotify_event) + NAME_MAX + 1))

/* The longest --timeout: about 68 years, far below what poll's milliseconds could overflow. */
#define TIMEOUT_MAX_SECONDS 2147483647.0

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A watch on PSHM_DIR: the inotify descriptor, or the error line's status negated. */
static int watch_dir(uint32_t mask, int flags)
{
	int fd = inotify_init1(IN_CLOEXEC | flags);

	if (fd < 0)
		return -cli_fail(errno, "inotify_init1", NULL);
	if (inotify_add_watch(fd, PSHM_DIR, mask | IN_ONLYDIR) < 0) {
		int r = -cli_fail(errno, "inotify_add_watch", PSHM_DIR);

		close(fd);
		return r;
	}
	return fd;
}

/* Whether the segment exists with at least min_size bytes: 1, 0, or -1 when stat fails otherwise. */
static int ready(const char *name, off_t min_size)
{
	struct pshm_error err;
	struct stat st;
	int r = pshm_stat_name(name, &st, &err);

	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		cli_error(&err);
		return -1;
	}
	return st.st_size >= min_size;
}

/* Whether the events in buf concern name (or some were lost): then it is worth a look. */
static bool concerns(const char *buf, ssize_t len, const char *name)
{
	const struct inotify_event *e;

	for (const char *p = buf; p < buf + len; p += sizeof(*e) + e->len) {
		e = (const struct inotify_event *)p;
		if ((e->mask & (IN_Q_OVERFLOW | IN_IGNORED)) ||
		    (e->len && strcmp(e->name, name) == 0))
			return true;
	}
	return false;
}

int cmd_wait(int argc, char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "min-size", required_argument, NULL, 's' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	char buf[EVENT_BUFFER] __attribute__((aligned(__alignof__(struct inotify_event))));
	int64_t deadline = -1;
	off_t min_size = 0;
	double seconds = -1;
	const char *name;
	char *end;
	int c, fd, r;

	while ((c = cli_option(argc, argv, "t:s:h", options)) != -1) {
		if (c == 't') {
			errno = 0;
			seconds = strtod(optarg, &end);
			if (!optarg[0] || *end || errno || !isfinite(seconds) || seconds < 0 ||
			    seconds > TIMEOUT_MAX_SECONDS)
				return cli_usage("bad timeout '%s': seconds, e.g. 5 or 0.3",
						 optarg);
		}
		if (c == 's' && cli_parse_size(optarg, &min_size) != 0)
			return CLI_USAGE;
	}
	if (argc - optind != 1)
		return cli_usage("expected NAME");
	if (cli_check_name(argv[optind]) != 0)
		return CLI_USAGE;
	name = argv[optind][0] == '/' ? argv[optind] + 1 : argv[optind];
	if (seconds >= 0)
		deadline = now_ms() + (int64_t)ceil(seconds * 1000);
	/*
	 * The watch first, then the look: a segment created (or grown) after
	 * the look has queued an event by then. ftruncate is IN_MODIFY, a
	 * rename into the directory IN_MOVED_TO.
	 */
	fd = watch_dir(IN_CREATE | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB, IN_NONBLOCK);
	if (fd < 0)
		return -fd;
	for (bool look = true;;) {
		int64_t left = deadline < 0 ? -1 : deadline - now_ms();
		ssize_t n;

		if (look) {
			r = ready(name, min_size);
			if (r != 0)
				break;
		}
		if (deadline >= 0 && left <= 0) {
			r = -2;
			break;
		}
		r = poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1,
			 left < 0         ? -1
			 : left > INT_MAX ? INT_MAX
					  : (int)left);
		if (r < 0 && errno != EINTR) {
			r = -cli_fail(errno, "poll", NULL);
			break;
		}
		look = false;
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			look |= concerns(buf, n, name);
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			r = -cli_fail(errno, "read", "inotify");
			break;
		}
	}
	close(fd);
	return r == 1 ? CLI_OK : r == -2 ? CLI_TIMEOUT : CLI_FAILED;
}

/* What watch knows of a segment, to tell a resize or a chmod from a write of data. */
struct known {
	char *name;
	ino_t ino; /* another inode under the name: another segment */
	off_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

struct catalog {
	struct known *list; /* sorted by name */
	size_t count, cap;
};

static bool json_lines;

static void emit(const char *event, const struct known *k, const struct known *old)
{
	struct json_object *j;
	char mode[8], old_mode[8], text[CLI_NAME_TEXT];
	const char *name;

	snprintf(mode, sizeof(mode), "%04o", (unsigned)k->mode);
	snprintf(old_mode, sizeof(old_mode), "%04o", old ? (unsigned)old->mode : 0);
	if (!json_lines) {
		/* One event, one line: a name cannot forge another event. */
		name = cli_name(k->name, text);
		if (strcmp(event, "created") == 0)
			printf("created %s %jd %s %u %u\n", name, (intmax_t)k->size, mode,
			       (unsigned)k->uid, (unsigned)k->gid);
		else if (strcmp(event, "resized") == 0)
			printf("resized %s %jd %jd\n", name, (intmax_t)k->size,
			       (intmax_t)old->size);
		else if (strcmp(event, "mode") == 0)
			printf("mode %s %s %s\n", name, mode, old_mode);
		else if (strcmp(event, "owner") == 0)
			printf("owner %s %u %u %u %u\n", name, (unsigned)k->uid, (unsigned)k->gid,
			       (unsigned)old->uid, (unsigned)old->gid);
		else
			printf("%s %s\n", event, name);
		fflush(stdout);
		return;
	}
	j = json_object_new_object();
	json_object_object_add(j, "event", json_object_new_string(event));
	json_object_object_add(j, "name", json_object_new_string(k->name));
	if (strcmp(event, "created") == 0 || strcmp(event, "resized") == 0)
		json_object_object_add(j, "size", json_object_new_int64((int64_t)k->size));
	if (strcmp(event, "created") == 0 || strcmp(event, "mode") == 0)
		json_object_object_add(j, "mode", json_object_new_string(mode));
	if (strcmp(event, "created") == 0 || strcmp(event, "owner") == 0) {
		json_object_object_add(j, "uid", json_object_new_int64(k->uid));
		json_object_object_add(j, "gid", json_object_new_int64(k->gid));
	}
	if (strcmp(event, "resized") == 0)
		json_object_object_add(j, "old_size", json_object_new_int64((int64_t)old->size));
	if (strcmp(event, "mode") == 0)
		json_object_object_add(j, "old_mode", json_object_new_string(old_mode));
	if (strcmp(event, "owner") == 0) {
		json_object_object_add(j, "old_uid", json_object_new_int64(old->uid));
		json_object_object_add(j, "old_gid", json_object_new_int64(old->gid));
	}
	cli_print_json(j, false);
}

/* The lines for a segment whose state went from old to now. */
static void compare(const struct known *old, const struct known *now)
{
	if (now->size != old->size)
		emit("resized", now, old);
	if (now->mode != old->mode)
		emit("mode", now, old);
	if (now->uid != old->uid || now->gid != old->gid)
		emit("owner", now, old);
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
static int resync(struct catalog *c)
{
	struct catalog now;
	size_t i = 0, j = 0;
	int r = snapshot(&now);

	if (r < 0)
		return r;
	while (i < c->count || j < now.count) {
		int cmp = i == c->count    ? 1
			  : j == now.count ? -1
					   : strcmp(c->list[i].name, now.list[j].name);

		if (cmp < 0)
			emit("removed", &c->list[i++], NULL);
		else if (cmp > 0)
			emit("created", &now.list[j++], NULL);
		else if (c->list[i].ino != now.list[j].ino) {
			emit("removed", &c->list[i++], NULL);
			emit("created", &now.list[j++], NULL);
		} else {
			compare(&c->list[i++], &now.list[j++]);
		}
	}
	catalog_free(c);
	*c = now;
	return 0;
}

/* One event about name: what it changed, by what the segment is now. */
/* Whether something (anything) has name in PSHM_DIR now. */
static bool name_exists(const char *name)
{
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];
	struct stat st;

	snprintf(path, sizeof(path), PSHM_DIR "/%s", name + (name[0] == '/'));
	return lstat(path, &st) == 0;
}

static int follow(struct catalog *c, uint32_t mask, const char *name)
{
	struct stat st;
	bool found;
	size_t at = position(c, name, &found);
	struct known now;

	if (mask & (IN_DELETE | IN_MOVED_FROM)) {
		if (found) {
			emit("removed", &c->list[at], NULL);
			forget(c, at);
		}
		return 0;
	}
	/*
	 * Gone again already (its removal tells), or not a segment: a
	 * semaphore, a directory, a FIFO renamed over a segment, which is
	 * then removed as far as segments go.
	 */
	if (pshm_stat_name(name, &st, NULL) < 0) {
		if (found && name_exists(name)) {
			emit("removed", &c->list[at], NULL);
			forget(c, at);
		}
		return 0;
	}
	now = known_of(name, &st);
	if (found && c->list[at].ino == now.ino) {
		compare(&c->list[at], &now);
		now.name = c->list[at].name;
		c->list[at] = now;
		return 0;
	}
	/* Replaced (renamed over, or removed and made again): the old one went. */
	if (found) {
		emit("removed", &c->list[at], NULL);
		forget(c, at);
	}
	now.name = strdup(name);
	if (!now.name || insert(c, at, &now) < 0) {
		free(now.name);
		return -cli_fail(ENOMEM, "watch", NULL);
	}
	emit("created", &now, NULL);
	return 0;
}

int cmd_watch(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	char buf[EVENT_BUFFER] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct catalog c = { 0 };
	int ch, fd, r;

	while ((ch = cli_option(argc, argv, "h", options)) != -1)
		json_lines |= ch == 'j';
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	fd = watch_dir(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_MODIFY | IN_ATTRIB,
		       0);
	if (fd < 0)
		return -fd;
	r = snapshot(&c);
	while (r == 0) {
		const struct inotify_event *e;
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = -cli_fail(n < 0 ? errno : EIO, "read", "inotify");
			break;
		}
		for (const char *p = buf; r == 0 && p < buf + n; p += sizeof(*e) + e->len) {
			e = (const struct inotify_event *)p;
			if (e->mask & IN_Q_OVERFLOW)
				r = resync(&c);
			else if (e->mask & IN_IGNORED)
				r = -cli_fail(ENOENT, "watch", PSHM_DIR); /* unmounted, removed */
			else if (e->len)
				r = follow(&c, e->mask, e->name);
		}
	}
	catalog_free(&c);
	close(fd);
	return -r;
}

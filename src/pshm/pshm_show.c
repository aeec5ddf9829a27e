/* SPDX-License-Identifier: MIT */
/*
 * pshm: the subcommands that show what exists (ls, stat, holders, usage),
 * with the mount's facts and its rules of visibility: every named segment,
 * and of the other kinds what the caller owns or one of their processes
 * holds (pshm_object_visible); holders as /proc lets the caller read them.
 */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"

/* A name as on the mount: its kind and its name within the kind ('/' leading a segment dropped). */
static unsigned kind_of_name(const char *name, const char **ret_base)
{
	for (unsigned kind = 1; kind & PSHM_KIND_ALL; kind <<= 1) {
		const char *dir = pshm_kind_dir(kind);
		size_t len = dir ? strlen(dir) : 0;

		if (len && strncmp(name, dir, len) == 0 && name[len] == '/') {
			*ret_base = name + len + 1;
			return kind;
		}
	}
	*ret_base = name[0] == '/' ? name + 1 : name;
	return PSHM_KIND_SEGMENT;
}

/* Checks a name as on the mount: a segment's by libpshm's rules, a view's entry non-empty. */
static int check_name(const char *name)
{
	char text[CLI_NAME_TEXT];
	const char *base;

	if (kind_of_name(name, &base) == PSHM_KIND_SEGMENT)
		return cli_check_name(name);
	if (!base[0] || strchr(base, '/'))
		return cli_usage("no such entry: '%s'", cli_name(name, text));
	return 0;
}

static int scan(unsigned kinds, struct pshm_scan **ret)
{
	struct pshm_scan_options options;
	struct pshm_error err;

	cli_scan_options(&options);
	return pshm_scan_open(kinds, &options, ret, &err) < 0 ? cli_error(&err) : 0;
}

/*
 * Whether the caller sees o: every named segment (as ls of the directory
 * does), of the other kinds what the mount's views would show them.
 */
static bool visible(const struct pshm_object *o)
{
	/* The scan ran with the caller's own rights: /proc let it read every holder it found. */
	const struct pshm_viewer viewer = { .uid = geteuid() };

	return o->kind == PSHM_KIND_SEGMENT || pshm_object_visible(o, &viewer);
}

/* The processes holding o: holders come grouped by process. */
static size_t holding_processes(const struct pshm_object *o)
{
	size_t n = 0;

	for (size_t i = 0; i < o->holder_count; i++)
		n += i == 0 || o->holders[i].pid != o->holders[i - 1].pid;
	return n;
}

/* Whether the caller may read an object of status st, as the mount judges holders. */
static bool may_read(const struct stat *st)
{
	gid_t groups[NGROUPS_MAX];
	int count = getgroups(NGROUPS_MAX, groups);

	if (geteuid() == 0)
		return true;
	if (geteuid() == st->st_uid)
		return st->st_mode & S_IRUSR;
	if (getegid() == st->st_gid)
		return st->st_mode & S_IRGRP;
	for (int i = 0; i < count; i++)
		if (groups[i] == st->st_gid)
			return st->st_mode & S_IRGRP;
	return st->st_mode & S_IROTH;
}

static void print_mode_string(mode_t mode, char buf[11])
{
	static const char bits[] = "rwxrwxrwx";

	buf[0] = '-';
	for (int i = 0; i < 9; i++)
		buf[i + 1] = (mode & (0400 >> i)) ? bits[i] : '-';
	buf[10] = '\0';
}

/*
 * The name of a uid or gid, or NULL: the last few asked are remembered,
 * since a listing asks for the same owners over and over and each
 * getpwuid reads the password file again.
 */
#define NAMES_KEPT 8
struct id_name {
	unsigned id;
	bool known;
	char name[64];
};

static const char *id_name(struct id_name kept[NAMES_KEPT], unsigned *next, unsigned id, bool group)
{
	struct id_name *slot;

	for (int i = 0; i < NAMES_KEPT; i++)
		if (kept[i].name[0] && kept[i].id == id)
			return kept[i].known ? kept[i].name : NULL;
	slot = &kept[(*next)++ % NAMES_KEPT];
	if (group) {
		const struct group *g = getgrgid((gid_t)id);

		slot->known = g != NULL;
		snprintf(slot->name, sizeof(slot->name), "%s", g ? g->gr_name : "?");
	} else {
		const struct passwd *p = getpwuid((uid_t)id);

		slot->known = p != NULL;
		snprintf(slot->name, sizeof(slot->name), "%s", p ? p->pw_name : "?");
	}
	slot->id = id;
	return slot->known ? slot->name : NULL;
}

static const char *known_user(uid_t uid)
{
	static struct id_name kept[NAMES_KEPT];
	static unsigned next;

	return id_name(kept, &next, uid, false);
}

static const char *known_group(gid_t gid)
{
	static struct id_name kept[NAMES_KEPT];
	static unsigned next;

	return id_name(kept, &next, gid, true);
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
	const char *name = known_user(uid);

	if (name)
		return name;
	snprintf(buf, len, "%u", (unsigned)uid);
	return buf;
}

static const char *group_name(gid_t gid, char *buf, size_t len)
{
	const char *name = known_group(gid);

	if (name)
		return name;
	snprintf(buf, len, "%u", (unsigned)gid);
	return buf;
}

static void format_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%jd", (intmax_t)t);
}

/* A name as on the mount: a segment bare, another kind under its view's directory. */
static void mount_name(const struct pshm_object *o, char *buf, size_t len)
{
	const char *dir = pshm_kind_dir(o->kind);

	snprintf(buf, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", o->name);
}

static void print_long(const struct pshm_object *o)
{
	char mode[11], name[PSHM_OBJECT_NAME_MAX + 16], text[CLI_NAME_TEXT], when[32], ub[16],
		gb[16];

	print_mode_string(o->st.st_mode, mode);
	format_time(o->st.st_mtime, when, sizeof(when));
	mount_name(o, name, sizeof(name));
	printf("%s %-8s %-8s %12jd %12llu %3zu %s %s\n", mode,
	       user_name(o->st.st_uid, ub, sizeof(ub)), group_name(o->st.st_gid, gb, sizeof(gb)),
	       (intmax_t)o->st.st_size, (unsigned long long)o->st.st_blocks * 512,
	       holding_processes(o), when, cli_name(name, text));
}

/* This process's IPC namespace, as ls -i /proc/self/ns/ipc shows it (an object's ipc_ns 0). */
static unsigned long long own_ipc_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/ipc", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

static void print_stat(const struct pshm_object *o)
{
	char name[PSHM_OBJECT_NAME_MAX + 16], text[CLI_NAME_TEXT], words[256], when[32], ub[16],
		gb[16];

	mount_name(o, name, sizeof(name));
	if (pshm_format_mode(o->st.st_mode & 0777, words, sizeof(words)) < 0)
		words[0] = '\0';
	printf("name: %s\nkind: %s\n", cli_name(name, text), pshm_kind_name(o->kind));
	if (o->path[0])
		printf("path: %s\n", cli_name(o->path, text));
	printf("size: %jd\nallocated: %llu\nmode: %04o (%s)\n", (intmax_t)o->st.st_size,
	       (unsigned long long)o->st.st_blocks * 512, (unsigned)(o->st.st_mode & 07777), words);
	printf("owner: %s (%u)\n", user_name(o->st.st_uid, ub, sizeof(ub)), (unsigned)o->st.st_uid);
	printf("group: %s (%u)\n", group_name(o->st.st_gid, gb, sizeof(gb)),
	       (unsigned)o->st.st_gid);
	printf("inode: %ju\n", (uintmax_t)o->st.st_ino);
	if (o->made_as == PSHM_KIND_SYSV)
		printf("key: 0x%08x\nshmid: %d\nattachments: %lu\nipc-namespace: %llu\n",
		       (unsigned)o->key, o->shmid, o->nattch, o->ipc_ns ? o->ipc_ns : own_ipc_ns());
	if (o->kind == PSHM_KIND_HUGETLB)
		printf("page-size: %llu\nmade-as: %s\n", o->page_size,
		       o->made_as ? pshm_kind_name(o->made_as) : "hugetlbfs-file");
	format_time(o->st.st_atime, when, sizeof(when));
	printf("access: %s\n", when);
	format_time(o->st.st_mtime, when, sizeof(when));
	printf("modify: %s\n", when);
	format_time(o->st.st_ctime, when, sizeof(when));
	printf("change: %s\n", when);
	printf("holders: %zu\n", holding_processes(o));
}

static void add_int(struct json_object *o, const char *key, int64_t value)
{
	json_object_object_add(o, key, json_object_new_int64(value));
}

static void add_string(struct json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value ? json_object_new_string(value) : NULL);
}

/* Every fact of an object, for ls --json and stat --json. */
static struct json_object *object_json(const struct pshm_object *o)
{
	struct json_object *j = json_object_new_object();
	char name[PSHM_OBJECT_NAME_MAX + 16], text[256];

	mount_name(o, name, sizeof(name));
	add_string(j, "name", name);
	add_string(j, "kind", pshm_kind_name(o->kind));
	add_string(j, "path", o->path[0] ? o->path : NULL);
	add_int(j, "size", (int64_t)o->st.st_size);
	add_int(j, "allocated", (int64_t)o->st.st_blocks * 512);
	snprintf(text, sizeof(text), "%04o", (unsigned)(o->st.st_mode & 07777));
	add_string(j, "mode", text);
	add_string(j, "permissions",
		   pshm_format_mode(o->st.st_mode & 0777, text, sizeof(text)) >= 0 ? text : NULL);
	add_int(j, "uid", o->st.st_uid);
	add_string(j, "user", known_user(o->st.st_uid));
	add_int(j, "gid", o->st.st_gid);
	add_string(j, "group", known_group(o->st.st_gid));
	add_int(j, "inode", (int64_t)o->st.st_ino);
	add_int(j, "atime", (int64_t)o->st.st_atime);
	add_int(j, "mtime", (int64_t)o->st.st_mtime);
	add_int(j, "ctime", (int64_t)o->st.st_ctime);
	add_int(j, "holders", (int64_t)holding_processes(o));
	if (o->kind == PSHM_KIND_HUGETLB) {
		add_int(j, "page_size", (int64_t)o->page_size);
		add_string(j, "made_as",
			   o->made_as ? pshm_kind_name(o->made_as) : "hugetlbfs-file");
	}
	if (o->made_as == PSHM_KIND_SYSV) {
		add_int(j, "ipc_ns", (int64_t)(o->ipc_ns ? o->ipc_ns : own_ipc_ns()));
		snprintf(text, sizeof(text), "0x%08x", (unsigned)o->key);
		add_string(j, "key", text);
		add_int(j, "shmid", o->shmid);
		add_int(j, "attachments", (int64_t)o->nattch);
	}
	return j;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ls alone: the names, sorted, without reading /proc. */
static int list_names(void)
{
	struct pshm_error err;
	struct pshm_iter *it;
	const char *name;
	char **names = NULL, text[CLI_NAME_TEXT];
	size_t count = 0, cap = 0;
	int r = pshm_iter_open(NULL, &it, &err);

	if (r < 0)
		return cli_error(&err);
	while ((r = pshm_iter_next(it, &name, NULL, &err)) > 0) {
		if (count == cap) {
			char **more = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*names));

			if (!more) {
				r = -ENOMEM;
				break;
			}
			names = more;
		}
		names[count] = strdup(name);
		if (!names[count]) {
			r = -ENOMEM;
			break;
		}
		count++;
	}
	pshm_iter_free(it);
	/* An empty PSHM_DIR leaves names NULL, which qsort may not be given even for 0. */
	if (r == 0 && count) {
		qsort(names, count, sizeof(*names), by_name);
		for (size_t i = 0; i < count; i++)
			puts(cli_name(names[i], text));
	}
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
	if (r == -ENOMEM)
		return cli_fail(ENOMEM, "list", PSHM_DIR);
	return r < 0 ? cli_error(&err) : CLI_OK;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option options[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	bool long_form = false, all = false, json = false;
	const struct pshm_object *o;
	struct json_object *array;
	struct pshm_scan *s;
	int c;

	while ((c = cli_option(argc, argv, "lah", options)) != -1) {
		long_form |= c == 'l';
		all |= c == 'a';
		json |= c == 'j';
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (!long_form && !all && !json)
		return list_names();
	if (scan(all ? PSHM_KIND_ALL : PSHM_KIND_SEGMENT, &s) != 0)
		return CLI_FAILED;
	array = json ? json_object_new_array() : NULL;
	while (pshm_scan_next(s, &o) > 0) {
		char name[PSHM_OBJECT_NAME_MAX + 16], text[CLI_NAME_TEXT];

		if (!visible(o))
			continue;
		if (json) {
			json_object_array_add(array, object_json(o));
		} else if (long_form) {
			print_long(o);
		} else {
			mount_name(o, name, sizeof(name));
			puts(cli_name(name, text));
		}
	}
	pshm_scan_free(s);
	if (json)
		cli_print_json(array, true);
	return CLI_OK;
}

int cmd_stat(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct json_object *array = NULL;
	struct pshm_scan *s;
	unsigned kinds = 0;
	int c, status = CLI_OK;

	while ((c = cli_option(argc, argv, "h", options)) != -1)
		if (c == 'j')
			array = json_object_new_array();
	if (optind == argc) {
		json_object_put(array);
		return cli_usage("expected NAME...");
	}
	for (int i = optind; i < argc; i++) {
		const char *base;

		if (check_name(argv[i]) != 0) {
			json_object_put(array);
			return CLI_USAGE;
		}
		kinds |= kind_of_name(argv[i], &base);
	}
	if (scan(kinds, &s) != 0) {
		json_object_put(array);
		return CLI_FAILED;
	}
	for (int i = optind, shown = 0; i < argc; i++) {
		const char *base;
		unsigned kind = kind_of_name(argv[i], &base);
		const struct pshm_object *o = pshm_scan_find(s, kind, base);

		/* What the caller may not see does not exist for them, as on the mount. */
		if (!o || !visible(o)) {
			status = cli_fail(ENOENT, "stat", argv[i]);
		} else if (array) {
			json_object_array_add(array, object_json(o));
		} else {
			if (shown++)
				putchar('\n'); /* a blank line between objects */
			print_stat(o);
		}
	}
	pshm_scan_free(s);
	if (array)
		cli_print_json(array, true);
	return status;
}

int cmd_holders(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct json_object *j = NULL, *list = NULL;
	const struct pshm_object *o;
	struct pshm_scan *s;
	const char *base;
	bool json = false;
	unsigned kind, unreadable;
	int c;

	while ((c = cli_option(argc, argv, "h", options)) != -1)
		json |= c == 'j';
	if (argc - optind != 1)
		return cli_usage("expected NAME");
	if (check_name(argv[optind]) != 0)
		return CLI_USAGE;
	kind = kind_of_name(argv[optind], &base);
	if (scan(kind, &s) != 0)
		return CLI_FAILED;
	o = pshm_scan_find(s, kind, base);
	if (!o || !visible(o)) {
		pshm_scan_free(s);
		return cli_fail(ENOENT, "holders", argv[optind]);
	}
	/* As the mount: who holds a segment is for those who may read it. */
	if (!may_read(&o->st)) {
		pshm_scan_free(s);
		return cli_fail(EACCES, "holders", argv[optind]);
	}
	if (json) {
		j = json_object_new_object();
		list = json_object_new_array();
		add_string(j, "name", argv[optind]);
	}
	for (size_t i = 0; i < o->holder_count; i++) {
		const struct pshm_holder *h = &o->holders[i];
		struct json_object *e;
		char text[32];

		if (!json) {
			if (h->fd >= 0)
				printf("%ld %s fd %d\n", (long)h->pid, h->comm, h->fd);
			else
				printf("%ld %s map %llx-%llx %s\n", (long)h->pid, h->comm, h->start,
				       h->end, h->perms);
			continue;
		}
		e = json_object_new_object();
		add_int(e, "pid", h->pid);
		add_string(e, "command", h->comm);
		add_int(e, "uid", h->uid);
		if (h->fd >= 0) {
			add_int(e, "fd", h->fd);
		} else {
			snprintf(text, sizeof(text), "%llx", h->start);
			add_string(e, "start", text);
			snprintf(text, sizeof(text), "%llx", h->end);
			add_string(e, "end", text);
			add_string(e, "perms", h->perms);
		}
		json_object_array_add(list, e);
	}
	unreadable = pshm_scan_unreadable(s);
	pshm_scan_free(s);
	if (json) {
		json_object_object_add(j, "holders", list);
		add_int(j, "unreadable", unreadable);
		cli_print_json(j, true);
	} else if (unreadable) {
		fflush(stdout); /* the note after the lines it qualifies */
		fprintf(stderr, "pshm: holders: partial: %u processes could not be read\n",
			unreadable);
	}
	return CLI_OK;
}

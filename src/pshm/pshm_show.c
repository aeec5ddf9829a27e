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

#include <libsmartcols.h>

#include "pshm_cli_i.h"
#include "pshm_table_i.h"

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

/* A name as on the mount: a segment bare, another kind under its view's directory. */
static void mount_name(const struct pshm_object *o, char *buf, size_t len)
{
	const char *dir = pshm_kind_dir(o->kind);

	snprintf(buf, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", o->name);
}

/* This process's IPC namespace, as ls -i /proc/self/ns/ipc shows it (an object's ipc_ns 0). */
static unsigned long long own_ipc_ns(void)
{
	struct stat st;

	return stat("/proc/self/ns/ipc", &st) == 0 ? (unsigned long long)st.st_ino : 0;
}

/* The columns of ls and stat: one row per object. */
enum {
	COL_NAME,
	COL_KIND,
	COL_SIZE,
	COL_ALLOCATED,
	COL_MODE,
	COL_OCTAL,
	COL_PERMISSIONS,
	COL_OWNER,
	COL_UID,
	COL_GROUP,
	COL_GID,
	COL_INODE,
	COL_HOLDERS,
	COL_ATIME,
	COL_MTIME,
	COL_CTIME,
	COL_KEY,
	COL_SHMID,
	COL_NATTCH,
	COL_IPCNS,
	COL_PAGE_SIZE,
	COL_MADE_AS,
	COL_PATH,
};

static const struct table_column object_columns[] = {
	[COL_NAME] = { "NAME", TABLE_TEXT,
		       "name as on the mount: NAME, .memfd/NAME@INODE, .sysv/0xKEY@SHMID..." },
	[COL_KIND] = { "KIND", TABLE_TEXT,
		       "segment, deleted, memfd, sysv, shared-anon or hugetlb" },
	[COL_SIZE] = { "SIZE", TABLE_SIZE, "size (st_size)" },
	[COL_ALLOCATED] = { "ALLOCATED", TABLE_SIZE, "bytes of memory it uses (st_blocks x 512)" },
	[COL_MODE] = { "MODE", TABLE_TEXT, "permissions as ls -l shows them" },
	[COL_OCTAL] = { "OCTAL", TABLE_TEXT, "permissions in octal" },
	[COL_PERMISSIONS] = { "PERMISSIONS", TABLE_TEXT, "permissions in libpshm's words" },
	[COL_OWNER] = { "OWNER", TABLE_TEXT, "owner's name (-N: uid)" },
	[COL_UID] = { "UID", TABLE_NUMBER, "owner's uid" },
	[COL_GROUP] = { "GROUP", TABLE_TEXT, "group's name (-N: gid)" },
	[COL_GID] = { "GID", TABLE_NUMBER, "group's gid" },
	[COL_INODE] = { "INODE", TABLE_NUMBER,
			"inode number (System V: the shmid, as /proc/PID/maps shows it; "
			"shmid + 1 on a shmfs mount)" },
	[COL_HOLDERS] = { "HOLDERS", TABLE_NUMBER, "processes holding it open or mapped" },
	[COL_ATIME] = { "ATIME", TABLE_TEXT, "last access (ISO 8601)" },
	[COL_MTIME] = { "MTIME", TABLE_TEXT, "last modification (ISO 8601)" },
	[COL_CTIME] = { "CTIME", TABLE_TEXT, "last status change (ISO 8601)" },
	[COL_KEY] = { "KEY", TABLE_TEXT, "System V key, as lsipc shows it" },
	[COL_SHMID] = { "SHMID", TABLE_NUMBER, "System V id (lsipc's ID)" },
	[COL_NATTCH] = { "NATTCH", TABLE_NUMBER, "System V attachments" },
	[COL_IPCNS] = { "IPCNS", TABLE_NUMBER,
			"System V: its IPC namespace (ls -i /proc/PID/ns/ipc)" },
	[COL_PAGE_SIZE] = { "PAGE-SIZE", TABLE_SIZE, "huge page size (hugetlb)" },
	[COL_MADE_AS] = { "MADE-AS", TABLE_TEXT, "what a hugetlb object is made as" },
	[COL_PATH] = { "PATH", TABLE_TEXT,
		       "where it can be opened, when it can (/proc/PID/fd/N...)" },
};

#define OBJECT_COLUMNS (sizeof(object_columns) / sizeof(object_columns[0]))

/* The columns ls shows, and with -l, and stat. */
#define LS_COLUMNS "NAME"
#define LS_LONG_COLUMNS "MODE,OWNER,GROUP,SIZE,ALLOCATED,HOLDERS,MTIME,NAME"
#define STAT_COLUMNS "NAME,KIND,SIZE,ALLOCATED,MODE,OWNER,GROUP,INODE,HOLDERS,MTIME"

/* One row of o. */
static void object_row(struct table *t, const struct pshm_object *o)
{
	struct libscols_line *row = table_row(t);
	char name[PSHM_OBJECT_NAME_MAX + 16], text[256];

	mount_name(o, name, sizeof(name));
	table_name(t, row, COL_NAME, name);
	table_text(t, row, COL_KIND, pshm_kind_name(o->kind));
	table_size(t, row, COL_SIZE, (unsigned long long)o->st.st_size);
	table_size(t, row, COL_ALLOCATED, (unsigned long long)o->st.st_blocks * 512);
	table_mode(t, row, COL_MODE, o->st.st_mode);
	snprintf(text, sizeof(text), "%04o", (unsigned)(o->st.st_mode & 07777));
	table_text(t, row, COL_OCTAL, text);
	if (pshm_format_mode(o->st.st_mode & 0777, text, sizeof(text)) >= 0)
		table_text(t, row, COL_PERMISSIONS, text);
	table_user(t, row, COL_OWNER, o->st.st_uid);
	table_number(t, row, COL_UID, o->st.st_uid);
	table_group(t, row, COL_GROUP, o->st.st_gid);
	table_number(t, row, COL_GID, o->st.st_gid);
	table_number(t, row, COL_INODE, (long long)o->st.st_ino);
	table_number(t, row, COL_HOLDERS, (long long)holding_processes(o));
	table_time(t, row, COL_ATIME, o->st.st_atime);
	table_time(t, row, COL_MTIME, o->st.st_mtime);
	table_time(t, row, COL_CTIME, o->st.st_ctime);
	if (o->made_as == PSHM_KIND_SYSV) {
		snprintf(text, sizeof(text), "0x%08x", (unsigned)o->key);
		table_text(t, row, COL_KEY, text);
		table_number(t, row, COL_SHMID, o->shmid);
		table_number(t, row, COL_NATTCH, (long long)o->nattch);
		if (table_wants(t, COL_IPCNS))
			table_number(t, row, COL_IPCNS,
				     (long long)(o->ipc_ns ? o->ipc_ns : own_ipc_ns()));
	}
	if (o->kind == PSHM_KIND_HUGETLB) {
		table_size(t, row, COL_PAGE_SIZE, o->page_size);
		table_text(t, row, COL_MADE_AS,
			   o->made_as ? pshm_kind_name(o->made_as) : "hugetlbfs-file");
	}
	if (o->path[0])
		table_name(t, row, COL_PATH, o->path);
}

/* Whether the table asks for no more than the names of segments (no /proc scan then). */
static bool names_only(const struct table *t)
{
	for (size_t i = 0; i < OBJECT_COLUMNS; i++)
		if (i != COL_NAME && table_wants(t, i))
			return false;
	return true;
}

/* ls of names alone: the names of PSHM_DIR, without reading /proc. */
static int list_names(struct table *t)
{
	struct pshm_error err;
	struct pshm_iter *it;
	const char *name;
	int r = pshm_iter_open(NULL, &it, &err);

	if (r < 0) {
		table_free(t);
		return cli_error(&err);
	}
	while ((r = pshm_iter_next(it, &name, NULL, &err)) > 0)
		table_name(t, table_row(t), COL_NAME, name);
	pshm_iter_free(it);
	if (r < 0) {
		table_free(t);
		return cli_error(&err);
	}
	return table_print(t);
}

/* ls's options that choose kinds: --sysv and the like, each one kind. */
static const struct {
	const char *option;
	unsigned kind;
} kind_options[] = {
	{ "segments", PSHM_KIND_SEGMENT },
	{ "deleted", PSHM_KIND_DELETED },
	{ "memfd", PSHM_KIND_MEMFD },
	{ "sysv", PSHM_KIND_SYSV },
	{ "shared-anon", PSHM_KIND_SHARED_ANON },
	{ "hugetlb", PSHM_KIND_HUGETLB },
};

#define KIND_OPTION 0x200 /* getopt values KIND_OPTION + index in kind_options */

int cmd_ls(int argc, char **argv)
{
	static const struct option options[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "all", no_argument, NULL, 'a' },
		{ "segments", no_argument, NULL, KIND_OPTION + 0 },
		{ "deleted", no_argument, NULL, KIND_OPTION + 1 },
		{ "memfd", no_argument, NULL, KIND_OPTION + 2 },
		{ "sysv", no_argument, NULL, KIND_OPTION + 3 },
		{ "shared-anon", no_argument, NULL, KIND_OPTION + 4 },
		{ "hugetlb", no_argument, NULL, KIND_OPTION + 5 },
		TABLE_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct table_options to = { 0 };
	bool long_form = false;
	unsigned kinds = 0;
	const struct pshm_object *o;
	struct pshm_scan *s;
	struct table *t;
	int c, r;

	while ((c = cli_option(argc, argv, "lah" TABLE_SHORT_OPTIONS, options)) != -1) {
		if (table_option(&to, c, optarg))
			continue;
		long_form |= c == 'l';
		if (c == 'a')
			kinds = PSHM_KIND_ALL;
		if (c >= KIND_OPTION &&
		    c < KIND_OPTION + (int)(sizeof(kind_options) / sizeof(kind_options[0])))
			kinds |= kind_options[c - KIND_OPTION].kind;
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (to.list_columns)
		return table_list_columns(object_columns, OBJECT_COLUMNS, &to);
	r = table_new("shm", object_columns, OBJECT_COLUMNS,
		      long_form ? LS_LONG_COLUMNS : LS_COLUMNS, &to, &t);
	if (r != CLI_OK)
		return r;
	if (!kinds && names_only(t)) {
		table_sort_by(t, COL_NAME);
		return list_names(t);
	}
	if (scan(kinds ? kinds : PSHM_KIND_SEGMENT, &s) != 0) {
		table_free(t);
		return CLI_FAILED;
	}
	while (pshm_scan_next(s, &o) > 0)
		if (visible(o))
			object_row(t, o);
	pshm_scan_free(s);
	return table_print(t);
}

int cmd_stat(int argc, char **argv)
{
	static const struct option options[] = {
		TABLE_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct table_options to = { 0 };
	struct pshm_scan *s;
	struct table *t;
	unsigned kinds = 0;
	int c, r, status = CLI_OK;

	while ((c = cli_option(argc, argv, "h" TABLE_SHORT_OPTIONS, options)) != -1)
		table_option(&to, c, optarg);
	if (to.list_columns)
		return table_list_columns(object_columns, OBJECT_COLUMNS, &to);
	if (optind == argc)
		return cli_usage("expected NAME...");
	for (int i = optind; i < argc; i++) {
		const char *base;

		if (check_name(argv[i]) != 0)
			return CLI_USAGE;
		kinds |= kind_of_name(argv[i], &base);
	}
	r = table_new("shm", object_columns, OBJECT_COLUMNS, STAT_COLUMNS, &to, &t);
	if (r != CLI_OK)
		return r;
	if (scan(kinds, &s) != 0) {
		table_free(t);
		return CLI_FAILED;
	}
	for (int i = optind; i < argc; i++) {
		const char *base;
		unsigned kind = kind_of_name(argv[i], &base);
		const struct pshm_object *o = pshm_scan_find(s, kind, base);

		/* What the caller may not see does not exist for them, as on the mount. */
		if (!o || !visible(o))
			status = cli_fail(ENOENT, "stat", argv[i]);
		else
			object_row(t, o);
	}
	pshm_scan_free(s);
	r = table_print(t);
	return status != CLI_OK ? status : r;
}

/* The columns of holders: one row per descriptor or mapping. */
enum {
	HCOL_PID,
	HCOL_COMMAND,
	HCOL_USER,
	HCOL_UID,
	HCOL_FD,
	HCOL_MAPPING,
	HCOL_PERMS,
	HCOL_START,
	HCOL_END,
	HCOL_SIZE,
};

static const struct table_column holder_columns[] = {
	[HCOL_PID] = { "PID", TABLE_NUMBER, "the holding process" },
	[HCOL_COMMAND] = { "COMMAND", TABLE_TEXT, "its command name" },
	[HCOL_USER] = { "USER", TABLE_TEXT, "its real user's name (-N: uid)" },
	[HCOL_UID] = { "UID", TABLE_NUMBER, "its real uid" },
	[HCOL_FD] = { "FD", TABLE_NUMBER, "the descriptor it holds open, or none (a mapping)" },
	[HCOL_MAPPING] = { "MAPPING", TABLE_TEXT,
			   "the addresses it maps, START-END, or none (a descriptor)" },
	[HCOL_PERMS] = { "PERMS", TABLE_TEXT,
			 "the mapping's permissions, as /proc/PID/maps shows them" },
	[HCOL_START] = { "START", TABLE_TEXT, "where the mapping starts (hexadecimal)" },
	[HCOL_END] = { "END", TABLE_TEXT, "where it ends (hexadecimal)" },
	[HCOL_SIZE] = { "SIZE", TABLE_SIZE, "the mapping's length" },
};

#define HOLDER_COLUMNS (sizeof(holder_columns) / sizeof(holder_columns[0]))

static void holder_row(struct table *t, const struct pshm_holder *h)
{
	struct libscols_line *row = table_row(t);
	char text[64];

	table_number(t, row, HCOL_PID, h->pid);
	table_name(t, row, HCOL_COMMAND, h->comm);
	table_user(t, row, HCOL_USER, h->uid);
	table_number(t, row, HCOL_UID, h->uid);
	if (h->fd >= 0) {
		table_number(t, row, HCOL_FD, h->fd);
		return;
	}
	snprintf(text, sizeof(text), "%llx-%llx", h->start, h->end);
	table_text(t, row, HCOL_MAPPING, text);
	table_text(t, row, HCOL_PERMS, h->perms);
	snprintf(text, sizeof(text), "%llx", h->start);
	table_text(t, row, HCOL_START, text);
	snprintf(text, sizeof(text), "%llx", h->end);
	table_text(t, row, HCOL_END, text);
	table_size(t, row, HCOL_SIZE, h->end - h->start);
}

int cmd_holders(int argc, char **argv)
{
	static const struct option options[] = {
		TABLE_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct table_options to = { 0 };
	const struct pshm_object *o;
	struct pshm_scan *s;
	struct table *t;
	const char *base;
	unsigned kind, unreadable;
	int c, r;

	while ((c = cli_option(argc, argv, "h" TABLE_SHORT_OPTIONS, options)) != -1)
		table_option(&to, c, optarg);
	if (to.list_columns)
		return table_list_columns(holder_columns, HOLDER_COLUMNS, &to);
	if (argc - optind != 1)
		return cli_usage("expected NAME");
	if (check_name(argv[optind]) != 0)
		return CLI_USAGE;
	r = table_new("holders", holder_columns, HOLDER_COLUMNS,
		      "PID,COMMAND,USER,FD,MAPPING,PERMS", &to, &t);
	if (r != CLI_OK)
		return r;
	kind = kind_of_name(argv[optind], &base);
	if (scan(kind, &s) != 0) {
		table_free(t);
		return CLI_FAILED;
	}
	o = pshm_scan_find(s, kind, base);
	/* As the mount: who holds a segment is for those who may read it. */
	r = !o || !visible(o) ? ENOENT : !may_read(&o->st) ? EACCES : 0;
	if (r) {
		pshm_scan_free(s);
		table_free(t);
		return cli_fail(r, "holders", argv[optind]);
	}
	for (size_t i = 0; i < o->holder_count; i++)
		holder_row(t, &o->holders[i]);
	unreadable = pshm_scan_unreadable(s);
	pshm_scan_free(s);
	r = table_print(t);
	if (r == CLI_OK && unreadable)
		fprintf(stderr, "pshm: holders: partial: %u processes could not be read\n",
			unreadable);
	return r;
}

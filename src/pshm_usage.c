/* SPDX-License-Identifier: MIT */
/*
 * pshm usage: where shared memory goes, by the rules of the mount's .ctl
 * usage: objects the caller may see (pshm_object_visible) by kind, owner
 * or holding process; the tmpfs mounts; Shmem; what nothing explains.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pshm_cli_i.h"

enum by { BY_KIND, BY_USER, BY_PROCESS };

/* One row: a kind, then who (an owner's uid or a holder's pid), count and bytes. */
struct row {
	int kind; /* index: pshm_kind_name(1u << kind) */
	long who;
	char comm[16];
	unsigned long long count, bytes;
};

struct table {
	struct row *rows;
	size_t count, cap;
	bool failed;
};

static void table_add(struct table *t, int kind, long who, const char *comm,
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
		struct row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows) {
			t->failed = true;
			return;
		}
		t->rows = rows;
		t->cap = cap;
	}
	t->rows[t->count] = (struct row){ .kind = kind, .who = who, .count = 1, .bytes = bytes };
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

/* The rows by owner or by holding process: an object counts once for each holding process. */
static void fill(struct table *t, struct pshm_scan *s, enum by by, uid_t uid)
{
	const struct pshm_object *o;

	while (pshm_scan_next(s, &o) > 0) {
		unsigned long long bytes = (unsigned long long)o->st.st_blocks * 512;
		long last = -1;

		if (!pshm_object_visible(o, uid))
			continue;
		if (by == BY_USER) {
			table_add(t, index_of_kind(o->kind), (long)o->st.st_uid, NULL, bytes);
			continue;
		}
		for (size_t i = 0; i < o->holder_count; i++) {
			if (o->holders[i].pid == last)
				continue;
			last = o->holders[i].pid;
			table_add(t, index_of_kind(o->kind), last, o->holders[i].comm, bytes);
		}
	}
}

struct mounts {
	struct json_object *array; /* or NULL: print */
};

static int add_mount(void *ctx, const char *mount_point, unsigned long long used)
{
	struct mounts *m = ctx;
	struct json_object *e;

	if (!m->array) {
		printf("tmpfs %s %llu\n", mount_point, used);
		return 0;
	}
	e = json_object_new_object();
	json_object_object_add(e, "mount_point", json_object_new_string(mount_point));
	json_object_object_add(e, "bytes", json_object_new_int64((int64_t)used));
	json_object_array_add(m->array, e);
	return 0;
}

static struct json_object *row_json(const struct row *row, enum by by)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "kind", json_object_new_string(pshm_kind_name(1u << row->kind)));
	if (by == BY_USER)
		json_object_object_add(e, "uid", json_object_new_int64(row->who));
	if (by == BY_PROCESS) {
		json_object_object_add(e, "pid", json_object_new_int64(row->who));
		json_object_object_add(e, "command", json_object_new_string(row->comm));
	}
	json_object_object_add(e, "count", json_object_new_int64((int64_t)row->count));
	json_object_object_add(e, "bytes", json_object_new_int64((int64_t)row->bytes));
	return e;
}

static void print_rows(const struct table *t, enum by by, const struct pshm_usage *u,
		       struct json_object *rows)
{
	struct row by_kind[PSHM_KINDS];
	const struct row *list = t->rows;
	size_t count = t->count;

	if (by == BY_KIND) {
		for (int k = 0; k < PSHM_KINDS; k++)
			by_kind[k] = (struct row){ .kind = k,
						   .count = u->count[k],
						   .bytes = u->bytes[k] };
		list = by_kind;
		count = PSHM_KINDS;
	}
	for (size_t i = 0; i < count; i++) {
		const struct row *row = &list[i];
		const char *kind = pshm_kind_name(1u << row->kind);

		if (rows)
			json_object_array_add(rows, row_json(row, by));
		else if (by == BY_KIND)
			printf("%s %llu %llu\n", kind, row->count, row->bytes);
		else if (by == BY_USER)
			printf("%s %ld %llu %llu\n", kind, row->who, row->count, row->bytes);
		else
			printf("%s %ld %s %llu %llu\n", kind, row->who, row->comm, row->count,
			       row->bytes);
	}
}

int cmd_usage(int argc, char **argv)
{
	static const struct option options[] = {
		{ "by-user", no_argument, NULL, 'u' },
		{ "by-process", no_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct pshm_scan_options scan_options = { .skip_self = true };
	struct json_object *j = NULL, *rows = NULL;
	struct table t = { 0 };
	struct pshm_error err;
	struct pshm_scan *s;
	struct pshm_usage u;
	struct mounts mounts = { 0 };
	unsigned long long explained;
	enum by by = BY_KIND;
	uid_t uid = geteuid();
	bool json = false;
	int c;

	while ((c = cli_option(argc, argv, "h", options)) != -1) {
		if ((c == 'u' || c == 'p') && by != BY_KIND)
			return cli_usage("--by-user and --by-process exclude each other");
		if (c == 'u')
			by = BY_USER;
		if (c == 'p')
			by = BY_PROCESS;
		json |= c == 'j';
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (pshm_scan_open(PSHM_KIND_ALL, &scan_options, &s, &err) < 0)
		return cli_error(&err);
	if (pshm_usage_of(s, uid, &u, &err) < 0) {
		pshm_scan_free(s);
		return cli_error(&err);
	}
	if (by != BY_KIND)
		fill(&t, s, by, uid);
	pshm_scan_free(s);
	if (t.failed) {
		free(t.rows);
		return cli_fail(ENOMEM, "usage", NULL);
	}
	if (json) {
		j = json_object_new_object();
		rows = json_object_new_array();
		mounts.array = json_object_new_array();
	}
	print_rows(&t, by, &u, rows);
	free(t.rows);
	if (!json)
		printf("tmpfs " PSHM_DIR " %llu\n", u.shm_dir_used);
	else
		add_mount(&mounts, PSHM_DIR, u.shm_dir_used);
	pshm_tmpfs_mounts(add_mount, &mounts, NULL);
	/* What no line explains: Shmem less all the rest (segments are in PSHM_DIR's tmpfs). */
	explained = u.shm_dir_used + u.tmpfs_used + u.bytes[index_of_kind(PSHM_KIND_MEMFD)] +
		    u.bytes[index_of_kind(PSHM_KIND_SYSV)] +
		    u.bytes[index_of_kind(PSHM_KIND_SHARED_ANON)];
	if (!json) {
		printf("shmem %llu\n", u.shmem);
		printf("unexplained %lld\n", (long long)u.shmem - (long long)explained);
		return CLI_OK;
	}
	json_object_object_add(j,
			       by == BY_KIND   ? "kinds"
			       : by == BY_USER ? "users"
					       : "processes",
			       rows);
	json_object_object_add(j, "tmpfs", mounts.array);
	json_object_object_add(j, "shmem", json_object_new_int64((int64_t)u.shmem));
	json_object_object_add(j, "unexplained",
			       json_object_new_int64((long long)u.shmem - (long long)explained));
	cli_print_json(j, true);
	return CLI_OK;
}

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

enum by { BY_KIND, BY_USER, BY_PROCESS, BY_CGROUP };

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

static struct json_object *row_json(const struct pshm_usage_row *row, enum by by)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "kind", json_object_new_string(pshm_kind_name(row->kind)));
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

static void print_rows(const struct pshm_usage_row *list, size_t count, enum by by,
		       const struct pshm_usage *u, struct json_object *rows)
{
	struct pshm_usage_row by_kind[PSHM_KINDS];

	if (by == BY_KIND) {
		for (int k = 0; k < PSHM_KINDS; k++)
			by_kind[k] = (struct pshm_usage_row){ .kind = 1u << k,
							      .count = u->count[k],
							      .bytes = u->bytes[k] };
		list = by_kind;
		count = PSHM_KINDS;
	}
	for (size_t i = 0; i < count; i++) {
		const struct pshm_usage_row *row = &list[i];
		const char *kind = pshm_kind_name(row->kind);

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

/*
 * --by-cgroup: KIND CGROUP COUNT BYTES per kind it holds, then a line
 * "cgroup CGROUP container RUNTIME:ID pod UID tmpfs BYTES shmem BYTES
 * unexplained BYTES" ("-" for what is not known or not there).
 */
static void print_cgroups(const struct pshm_cgroup_row *rows, size_t count,
			  struct json_object *array)
{
	for (size_t i = 0; i < count; i++) {
		const struct pshm_cgroup_row *c = &rows[i];
		char line[PSHM_NAME_ESCAPED_SIZE(PSHM_CGROUP_PATH_MAX) + 256];
		struct json_object *e, *kinds;

		if (!array) {
			if (pshm_cgroup_line(c, line, sizeof(line)) < 0)
				continue;
			for (int k = 0; k < PSHM_KINDS; k++)
				if (c->count[k])
					printf("%s %.*s %llu %llu\n", pshm_kind_name(1u << k),
					       (int)strcspn(line, " "), line, c->count[k],
					       c->bytes[k]);
			printf("cgroup %s\n", line);
			continue;
		}
		e = json_object_new_object();
		kinds = json_object_new_array();
		json_object_object_add(e, "cgroup",
				       c->path[0] ? json_object_new_string(c->path) : NULL);
		json_object_object_add(e, "runtime",
				       c->runtime[0] ? json_object_new_string(c->runtime) : NULL);
		json_object_object_add(e, "container",
				       c->container[0] ? json_object_new_string(c->container)
						       : NULL);
		json_object_object_add(e, "pod", c->pod[0] ? json_object_new_string(c->pod) : NULL);
		for (int k = 0; k < PSHM_KINDS; k++) {
			struct json_object *r = json_object_new_object();

			json_object_object_add(r, "kind",
					       json_object_new_string(pshm_kind_name(1u << k)));
			json_object_object_add(r, "count",
					       json_object_new_int64((int64_t)c->count[k]));
			json_object_object_add(r, "bytes",
					       json_object_new_int64((int64_t)c->bytes[k]));
			json_object_array_add(kinds, r);
		}
		json_object_object_add(e, "kinds", kinds);
		json_object_object_add(e, "tmpfs", json_object_new_int64((int64_t)c->tmpfs_bytes));
		json_object_object_add(
			e, "kernel_shmem",
			c->kernel_shmem < 0 ? NULL : json_object_new_int64(c->kernel_shmem));
		json_object_object_add(e, "unexplained",
				       c->kernel_shmem < 0
					       ? NULL
					       : json_object_new_int64(pshm_cgroup_unexplained(c)));
		json_object_array_add(array, e);
	}
}

/* Each huge page pool, for --json. */
static struct json_object *huge_json(const struct pshm_usage *u)
{
	struct json_object *pools = json_object_new_array();

	for (unsigned h = 0; h < u->huge_sizes; h++) {
		const struct pshm_huge_usage *p = &u->huge[h];
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "page_size",
				       json_object_new_int64((int64_t)p->page_size));
		json_object_object_add(e, "total", json_object_new_int64((int64_t)p->total));
		json_object_object_add(e, "free", json_object_new_int64((int64_t)p->free));
		json_object_object_add(e, "reserved", json_object_new_int64((int64_t)p->reserved));
		json_object_object_add(e, "surplus", json_object_new_int64((int64_t)p->surplus));
		json_object_object_add(e, "objects", json_object_new_int64((int64_t)p->count));
		json_object_object_add(e, "bytes", json_object_new_int64((int64_t)p->bytes));
		json_object_object_add(e, "unexplained", json_object_new_int64(p->unexplained));
		json_object_array_add(pools, e);
	}
	return pools;
}

int cmd_usage(int argc, char **argv)
{
	static const struct option options[] = {
		{ "by-user", no_argument, NULL, 'u' },
		{ "by-process", no_argument, NULL, 'p' },
		{ "by-cgroup", no_argument, NULL, 'g' },
		{ "json", no_argument, NULL, 'j' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct pshm_scan_options scan_options;
	struct pshm_mounts_walked walked = { 0 };
	struct json_object *j = NULL, *rows = NULL;
	struct pshm_usage_row *list = NULL;
	struct pshm_cgroup_row *cgroups = NULL;
	ssize_t count = 0;
	struct pshm_error err;
	struct pshm_scan *s;
	struct pshm_usage u;
	unsigned unreadable;
	struct mounts mounts = { 0 };
	enum by by = BY_KIND;
	uid_t uid = geteuid();
	/* The scan runs with the caller's own rights: /proc let it read every holder it found. */
	const struct pshm_viewer viewer = { .uid = uid };
	bool json = false;
	int c;

	while ((c = cli_option(argc, argv, "h", options)) != -1) {
		if ((c == 'u' || c == 'p' || c == 'g') && by != BY_KIND)
			return cli_usage(
				"--by-user, --by-process and --by-cgroup exclude each other");
		if (c == 'u')
			by = BY_USER;
		if (c == 'p')
			by = BY_PROCESS;
		if (c == 'g')
			by = BY_CGROUP;
		json |= c == 'j';
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	cli_scan_options(&scan_options);
	if (pshm_scan_open(PSHM_KIND_ALL, &scan_options, &s, &err) < 0)
		return cli_error(&err);
	if (pshm_usage_of(s, &viewer, &u, &err) < 0) {
		pshm_scan_free(s);
		return cli_error(&err);
	}
	if (by == BY_CGROUP)
		count = pshm_usage_by_cgroup(s, &viewer, &cgroups, &err);
	else if (by != BY_KIND)
		count = pshm_usage_by(s, &viewer,
				      by == BY_USER ? PSHM_USAGE_BY_OWNER : PSHM_USAGE_BY_PROCESS,
				      &list, &err);
	unreadable = pshm_scan_unreadable(s);
	pshm_scan_free(s);
	if (count < 0)
		return cli_error(&err);
	if (json) {
		j = json_object_new_object();
		rows = json_object_new_array();
		mounts.array = json_object_new_array();
	}
	if (by == BY_CGROUP)
		print_cgroups(cgroups, (size_t)count, rows);
	else
		print_rows(list, (size_t)count, by, &u, rows);
	free(list);
	free(cgroups);
	if (!json)
		printf("tmpfs " PSHM_DIR " %llu\n", u.shm_dir_used);
	else
		add_mount(&mounts, PSHM_DIR, u.shm_dir_used);
	pshm_tmpfs_mounts(add_mount, &mounts, uid == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0, &walked,
			  NULL);
	if (!json) {
		/* The walk of other mount namespaces stopped at a bound: tmpfs lines are missing. */
		if (walked.partial)
			printf("tmpfs-partial namespaces %u\n", walked.namespaces);
		/* Huge pages are not in Shmem: each pool against the objects on it. */
		for (unsigned h = 0; h < u.huge_sizes; h++)
			printf("hugepages %llukB total %llu free %llu reserved %llu surplus %llu "
			       "objects %llu bytes %llu unexplained %lld\n",
			       u.huge[h].page_size >> 10, u.huge[h].total, u.huge[h].free,
			       u.huge[h].reserved, u.huge[h].surplus, u.huge[h].count,
			       u.huge[h].bytes, u.huge[h].unexplained);
		printf("unreadable %u\n", unreadable);
		printf("shmem %llu\n", u.shmem);
		printf("unexplained %lld\n", u.unexplained);
		return CLI_OK;
	}
	json_object_object_add(j,
			       by == BY_KIND     ? "kinds"
			       : by == BY_USER   ? "users"
			       : by == BY_CGROUP ? "cgroups"
						 : "processes",
			       rows);
	json_object_object_add(j, "tmpfs", mounts.array);
	json_object_object_add(j, "tmpfs_partial", json_object_new_boolean(walked.partial));
	json_object_object_add(j, "tmpfs_namespaces", json_object_new_int64(walked.namespaces));
	json_object_object_add(j, "unreadable", json_object_new_int64(unreadable));
	/* The terms of unexplained as the library added them (the tmpfs list above is walked again). */
	json_object_object_add(j, "shm_dir_used", json_object_new_int64((int64_t)u.shm_dir_used));
	json_object_object_add(j, "tmpfs_used", json_object_new_int64((int64_t)u.tmpfs_used));
	json_object_object_add(j, "shmem", json_object_new_int64((int64_t)u.shmem));
	json_object_object_add(j, "unexplained", json_object_new_int64(u.unexplained));
	json_object_object_add(j, "hugepages", huge_json(&u));
	cli_print_json(j, true);
	return CLI_OK;
}

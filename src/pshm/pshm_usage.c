/* SPDX-License-Identifier: MIT */
/*
 * pshm usage: where shared memory goes, by the rules of the mount's .ctl
 * usage, as one table that adds up on the page: the terms of Shmem
 * (/dev/shm's tmpfs with its parts below it, memfds, System V, shared
 * anonymous memory, every other tmpfs, and unexplained last) above their
 * TOTAL, then huge pages the same way, then the processes not read. A
 * line whose NOTE starts "(included above)" is part of a line above it
 * and is never added again.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pshm_cli_i.h"
#include "pshm_table_i.h"

#define INCLUDED "(included above)"

enum by { BY_KIND, BY_USER, BY_PROCESS, BY_CGROUP };

enum {
	COL_WHAT,
	COL_KIND,
	COL_PART_OF,
	COL_OWNER,
	COL_UID,
	COL_PID,
	COL_COMMAND,
	COL_CGROUP,
	COL_CONTAINER,
	COL_COUNT,
	COL_MAPPED,
	COL_SIZE,
	COL_WHOLE,
	COL_NOTE,
	USAGE_COLUMNS
};

static const struct table_column usage_columns[] = {
	[COL_WHAT] = { "WHAT", TABLE_TEXT,
		       "the line: a kind, a tmpfs mount point, unexplained, TOTAL" },
	[COL_KIND] = { "KIND", TABLE_TEXT,
		       "segment, deleted, memfd, sysv, shared-anon, hugetlb, tmpfs, other, "
		       "unexplained, shmem, hugepages, cgroup, unreadable, unreadable-process" },
	[COL_PART_OF] = { "PART-OF", TABLE_TEXT,
			  "the line this one is part of (included above); empty for a term" },
	[COL_OWNER] = { "OWNER", TABLE_TEXT, "--by-user: the owner's name (-N: uid)" },
	[COL_UID] = { "UID", TABLE_NUMBER, "--by-user: the owner's uid" },
	[COL_PID] = { "PID", TABLE_NUMBER, "--by-process: the holding process" },
	[COL_COMMAND] = { "COMMAND", TABLE_TEXT, "--by-process: its command name" },
	[COL_CGROUP] = { "CGROUP", TABLE_TEXT, "--by-cgroup: the cgroup's path" },
	[COL_CONTAINER] = { "CONTAINER", TABLE_TEXT, "--by-cgroup: RUNTIME:ID, and the pod" },
	[COL_COUNT] = { "COUNT", TABLE_NUMBER, "objects (processes for unreadable)" },
	[COL_MAPPED] = { "MAPPED", TABLE_NUMBER,
			 "--by-process: of COUNT, the objects it maps (the rest by fd only)" },
	[COL_SIZE] = { "SIZE", TABLE_SIZE,
		       "allocated bytes; --by-process: its share, as smaps Pss shares pages" },
	[COL_WHOLE] = { "WHOLE", TABLE_SIZE,
			"--by-process: its objects' whole allocated bytes (as smaps Rss)" },
	[COL_NOTE] = { "NOTE", TABLE_TEXT, "what the line is; (included above): not a term" },
};

static const char *const defaults[] = {
	[BY_KIND] = "WHAT,COUNT,SIZE,NOTE",
	[BY_USER] = "WHAT,OWNER,COUNT,SIZE,NOTE",
	[BY_PROCESS] = "WHAT,PID,COMMAND,COUNT,MAPPED,SIZE,NOTE",
	[BY_CGROUP] = "WHAT,CGROUP,CONTAINER,COUNT,SIZE,NOTE",
};

/* A tmpfs mount measured for the table. */
struct mount {
	char *point;
	unsigned long long used;
};

/* Everything the table says, gathered from one scan. */
struct usage {
	enum by by;
	struct pshm_usage u;
	struct pshm_usage_row *rows; /* --by-user, --by-process */
	struct pshm_cgroup_row *cgroups;
	size_t count; /* of either */
	struct mount *mounts;
	size_t mount_count;
	unsigned long long mounts_used;
	struct pshm_mounts_walked walked;
	unsigned unreadable;
	size_t named;
	struct pshm_unreadable pids[PSHM_UNREADABLE_NAMED];
	unsigned ipc_skipped; /* IPC namespaces whose System V segments were not all read */
};

/* The table being printed; parts are indented for people, not for -J, -r, -P. */
struct out {
	struct table *t;
	bool indent, names; /* names: every unreadable process a row (-J, -r, -P) */
	int failed;
};

static int add_mount(void *ctx, const char *mount_point, unsigned long long used)
{
	struct usage *g = ctx;
	struct mount *more;

	if (g->mount_count % 16 == 0) {
		more = realloc(g->mounts, (g->mount_count + 16) * sizeof(*more));
		if (!more)
			return -ENOMEM;
		g->mounts = more;
	}
	g->mounts[g->mount_count].point = strdup(mount_point);
	if (!g->mounts[g->mount_count].point)
		return -ENOMEM;
	g->mounts[g->mount_count++].used = used;
	g->mounts_used += used;
	return 0;
}

static void usage_free(struct usage *g)
{
	for (size_t i = 0; i < g->mount_count; i++)
		free(g->mounts[i].point);
	free(g->mounts);
	free(g->rows);
	free(g->cgroups);
}

/* A size that may be below zero (unexplained, a race): -1.5M, -1536. */
static void signed_size(struct out *o, struct libscols_line *row, long long bytes, bool exact)
{
	char text[32];

	if (bytes >= 0) {
		table_size(o->t, row, COL_SIZE, (unsigned long long)bytes);
		return;
	}
	text[0] = '-';
	if (exact)
		snprintf(text + 1, sizeof(text) - 1, "%llu", -(unsigned long long)bytes);
	else
		table_human_size(-(unsigned long long)bytes, text + 1, sizeof(text) - 1);
	table_text(o->t, row, COL_SIZE, text);
}

#define NO_SIZE LLONG_MIN

/* One line: its label (indented when part_of), kind, count (< 0: none), size (or NO_SIZE), note. */
static struct libscols_line *line(struct out *o, const char *what, const char *kind,
				  const char *part_of, long long count, long long size, bool exact,
				  const char *note)
{
	struct libscols_line *row = table_row(o->t);
	char label[PATH_MAX + 8];

	snprintf(label, sizeof(label), "%s%s", part_of && o->indent ? "  " : "", what);
	table_name(o->t, row, COL_WHAT, label);
	table_text(o->t, row, COL_KIND, kind);
	table_name(o->t, row, COL_PART_OF, part_of);
	if (count >= 0)
		table_number(o->t, row, COL_COUNT, count);
	if (size != NO_SIZE)
		signed_size(o, row, size, exact);
	table_text(o->t, row, COL_NOTE, note);
	return row;
}

/* A row of --by-user or --by-process, a part of PSHM_DIR's line, a term, or a huge page one. */
static void view_row(struct out *o, const struct usage *g, const struct pshm_usage_row *r,
		     bool exact, const char *part_of)
{
	const char *kind = pshm_kind_name(r->kind);
	char note[96] = "";
	struct libscols_line *row;

	if (part_of)
		snprintf(note, sizeof(note), INCLUDED);
	if (g->by == BY_PROCESS && r->who == 0)
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%sno process holds it",
			 note[0] ? " " : "");
	else if (g->by == BY_PROCESS && r->who < 0)
		snprintf(note + strlen(note), sizeof(note) - strlen(note),
			 "%sprocesses you may not read", note[0] ? " " : "");
	else if (g->by == BY_PROCESS && r->mapped < r->count)
		snprintf(note + strlen(note), sizeof(note) - strlen(note), "%s%llu by fd only%s",
			 note[0] ? " " : "", r->count - r->mapped,
			 r->mapped  ? ""
			 : r->bytes ? ": nobody maps it"
				    : ": no share");
	row = line(o, kind, kind, part_of, (long long)r->count, (long long)r->bytes, exact, note);
	if (g->by == BY_USER) {
		table_user(o->t, row, COL_OWNER, (unsigned)r->who);
		table_number(o->t, row, COL_UID, r->who);
		return;
	}
	if (r->who > 0)
		table_number(o->t, row, COL_PID, r->who);
	table_name(o->t, row, COL_COMMAND, r->who > 0 ? r->comm : r->who < 0 ? "-" : "");
	table_number(o->t, row, COL_MAPPED, (long long)r->mapped);
	table_size(o->t, row, COL_WHOLE, r->whole);
}

/* A cgroup's cells: its path ("-": no process you may read), its container. */
static void cgroup_cells(struct out *o, struct libscols_line *row, const struct pshm_cgroup_row *c)
{
	char container[sizeof(c->runtime) + sizeof(c->container) + sizeof(c->pod) + 8];

	table_name(o->t, row, COL_CGROUP, c->path[0] ? c->path : "-");
	if (c->runtime[0]) {
		snprintf(container, sizeof(container), "%s:%s%s%s", c->runtime, c->container,
			 c->pod[0] ? " pod " : "", c->pod);
		table_name(o->t, row, COL_CONTAINER, container);
	}
}

/* A cgroup's share of one kind (index k), as view_row. */
static void cgroup_kind(struct out *o, const struct pshm_cgroup_row *c, int k, bool exact,
			const char *part_of)
{
	const char *kind = pshm_kind_name(1u << k);

	cgroup_cells(o,
		     line(o, kind, kind, part_of, (long long)c->count[k], (long long)c->bytes[k],
			  exact, part_of ? INCLUDED : ""),
		     c);
}

/* The rows of a view of one kind, as parts of part_of or as terms. */
static void view_rows(struct out *o, const struct usage *g, unsigned kind, bool exact,
		      const char *part_of)
{
	for (size_t i = 0; g->rows && i < g->count; i++)
		if (g->rows[i].kind == kind)
			view_row(o, g, &g->rows[i], exact, part_of);
	/* Cgroup rows come largest first; each kind's rows so too, within it. */
	for (size_t i = 0; g->cgroups && i < g->count; i++)
		if (g->cgroups[i].count[__builtin_ctz(kind)])
			cgroup_kind(o, &g->cgroups[i], __builtin_ctz(kind), exact, part_of);
}

static unsigned long long kind_bytes(const struct pshm_usage *u, unsigned kind)
{
	return u->bytes[__builtin_ctz(kind)];
}

/* What a kind is, for the line of its objects. */
static const char *about(unsigned kind)
{
	switch (kind) {
	case PSHM_KIND_MEMFD:
		return "memfd_create(2) files";
	case PSHM_KIND_SYSV:
		return "System V segments (shmget), every IPC namespace you may see";
	case PSHM_KIND_SHARED_ANON:
		return "mmap(MAP_SHARED|MAP_ANONYMOUS), shared by fork";
	}
	return "";
}

/* One term of Shmem: PSHM_DIR with its parts, a kind (or its view's rows), or a tmpfs. */
struct term {
	unsigned kind;             /* PSHM_KIND_*, or 0 for a tmpfs */
	const struct mount *mount; /* a tmpfs; NULL for PSHM_DIR's with a kind of 0 */
	unsigned long long bytes;
};

static int by_bytes(const void *a, const void *b)
{
	const struct term *x = a, *y = b;

	return x->bytes != y->bytes ? (x->bytes > y->bytes ? -1 : 1) : 0;
}

/* PSHM_DIR's tmpfs, then its parts: segments, deleted ones, and the rest, largest first. */
static void shm_dir(struct out *o, const struct usage *g, bool exact)
{
	const struct pshm_usage *u = &g->u;
	struct term parts[] = { { PSHM_KIND_SEGMENT, NULL, kind_bytes(u, PSHM_KIND_SEGMENT) },
				{ PSHM_KIND_DELETED, NULL, kind_bytes(u, PSHM_KIND_DELETED) } };

	line(o, PSHM_DIR, "tmpfs", NULL, -1, (long long)u->shm_dir_used, exact,
	     "tmpfs: named and deleted segments, semaphores");
	qsort(parts, 2, sizeof(parts[0]), by_bytes);
	for (int i = 0; i < 2; i++) {
		const char *kind = pshm_kind_name(parts[i].kind);

		if (g->by == BY_KIND)
			line(o, kind, kind, PSHM_DIR,
			     (long long)u->count[__builtin_ctz(parts[i].kind)],
			     (long long)parts[i].bytes, exact, INCLUDED);
		else
			view_rows(o, g, parts[i].kind, exact, PSHM_DIR);
	}
	line(o, "other", "other", PSHM_DIR, -1, u->shm_dir_other, exact,
	     INCLUDED " semaphores; deleted segments only processes you may not read hold");
}

/* The terms of Shmem, largest first, then unexplained and the TOTAL they add up to. */
static void shmem(struct out *o, const struct usage *g, bool exact)
{
	static const unsigned kinds[] = { PSHM_KIND_MEMFD, PSHM_KIND_SYSV, PSHM_KIND_SHARED_ANON };
	const struct pshm_usage *u = &g->u;
	size_t n = 0, count = 4 + g->mount_count;
	struct term *terms = calloc(count, sizeof(*terms));
	char note[256];
	long long unexplained;
	size_t len;

	if (!terms) {
		o->failed = cli_fail(ENOMEM, "usage", NULL);
		return;
	}
	terms[n++] = (struct term){ 0, NULL, u->shm_dir_used };
	for (size_t i = 0; i < 3; i++)
		terms[n++] = (struct term){ kinds[i], NULL, kind_bytes(u, kinds[i]) };
	for (size_t i = 0; i < g->mount_count; i++)
		terms[n++] = (struct term){ 0, &g->mounts[i], g->mounts[i].used };
	qsort(terms, n, sizeof(*terms), by_bytes);
	for (size_t i = 0; i < n; i++) {
		const char *kind = pshm_kind_name(terms[i].kind);

		if (terms[i].mount)
			line(o, terms[i].mount->point, "tmpfs", NULL, -1, (long long)terms[i].bytes,
			     exact, "tmpfs");
		else if (!terms[i].kind)
			shm_dir(o, g, exact);
		else if (g->by == BY_KIND)
			line(o, kind, kind, NULL, (long long)u->count[__builtin_ctz(terms[i].kind)],
			     (long long)terms[i].bytes, exact, about(terms[i].kind));
		else
			view_rows(o, g, terms[i].kind, exact, NULL);
	}
	free(terms);
	/* From the lines as printed: the tmpfs mounts were measured again for them. */
	unexplained = u->unexplained + (long long)u->tmpfs_used - (long long)g->mounts_used;
	len = (size_t)snprintf(
		note, sizeof(note),
		"what no line above explains: others' memfds and mappings, the kernel's%s",
		g->walked.partial ? ", tmpfs of namespaces not walked" : "");
	if (g->ipc_skipped && len < sizeof(note))
		snprintf(note + len, sizeof(note) - len,
			 ", System V segments of %u IPC namespaces not read (bounds)",
			 g->ipc_skipped);
	line(o, "unexplained", "unexplained", NULL, -1, unexplained, exact, note);
	line(o, "TOTAL (Shmem)", "shmem", NULL, -1, (long long)u->shmem, exact,
	     "Shmem of /proc/meminfo = the lines above not " INCLUDED);
}

/* Huge pages, never in Shmem: their objects and each pool's unexplained, then the pages in use. */
static void huge(struct out *o, const struct usage *g, bool exact)
{
	const struct pshm_usage *u = &g->u;
	unsigned long long in_use = 0;
	char what[48], size[16], note[256] = "in use: ";

	if (g->by == BY_KIND)
		line(o, "hugetlb", "hugetlb", NULL,
		     (long long)u->count[__builtin_ctz(PSHM_KIND_HUGETLB)],
		     (long long)kind_bytes(u, PSHM_KIND_HUGETLB), exact,
		     "huge pages: not in Shmem");
	else
		view_rows(o, g, PSHM_KIND_HUGETLB, exact, NULL);
	for (unsigned h = 0; h < u->huge_sizes; h++) {
		const struct pshm_huge_usage *p = &u->huge[h];
		size_t len = strlen(note);

		if (!p->total && !p->count)
			continue; /* a page size with no pool */
		table_human_size(p->page_size, size, sizeof(size));
		snprintf(what, sizeof(what), "unexplained %s pages", size);
		line(o, what, "unexplained", NULL, -1, p->unexplained, exact,
		     "huge pages no object shows: private ones, others' not shown");
		in_use += (p->total - p->free) * p->page_size;
		snprintf(note + len, sizeof(note) - len,
			 "%s%llu of %llu %s pages (%llu reserved, %llu surplus)",
			 len > 8 ? "; " : "", p->total - p->free, p->total, size, p->reserved,
			 p->surplus);
	}
	line(o, "TOTAL (HugePages)", "hugepages", NULL, -1, (long long)in_use, exact,
	     in_use || strlen(note) > 8 ? note : "no huge page pool");
}

/* --by-cgroup: the kernel's own count of each cgroup, beside what its objects explain. */
static void cgroups(struct out *o, const struct usage *g, bool exact)
{
	for (size_t i = 0; g->cgroups && i < g->count; i++) {
		const struct pshm_cgroup_row *c = &g->cgroups[i];
		char note[160], tmpfs[16], rest[24] = "-";
		struct libscols_line *row;

		if (!c->path[0])
			continue;
		table_human_size(c->tmpfs_bytes, tmpfs, sizeof(tmpfs));
		if (c->kernel_shmem >= 0 && exact)
			snprintf(rest, sizeof(rest), "%lld", pshm_cgroup_unexplained(c));
		else if (c->kernel_shmem >= 0)
			table_human_size(llabs(pshm_cgroup_unexplained(c)), rest + 1,
					 sizeof(rest) - 1);
		if (c->kernel_shmem >= 0 && !exact)
			rest[0] = pshm_cgroup_unexplained(c) < 0 ? '-' : '+';
		snprintf(note, sizeof(note),
			 INCLUDED " memory.stat shmem; tmpfs %s, unexplained %s", tmpfs,
			 rest[0] == '+' ? rest + 1 : rest);
		row = line(o, "cgroup", "cgroup", "TOTAL (Shmem)", -1,
			   c->kernel_shmem < 0 ? 0 : c->kernel_shmem, exact, note);
		cgroup_cells(o, row, c);
	}
}

static const char *why(int error)
{
	return error == ESRCH ? "ESRCH: exited" : "EACCES: not yours";
}

/*
 * The processes the scan could not read: what they hold is in unexplained.
 * Text names the first few in the note; -J, -r and -P give each named one
 * a row of its own (pid, command, owner).
 */
static void unreadable(struct out *o, const struct usage *g)
{
	char note[256] = "not read: what they hold is in unexplained";
	size_t len = strlen(note), shown = o->names ? 0 : g->named < 4 ? g->named : 4;

	for (size_t i = 0; i < shown && len < sizeof(note); i++)
		len += (size_t)snprintf(note + len, sizeof(note) - len, "%s%ld %s (%s)",
					i ? ", " : "; ", (long)g->pids[i].pid, g->pids[i].comm,
					why(g->pids[i].error));
	if (shown < g->unreadable && shown && len < sizeof(note))
		snprintf(note + len, sizeof(note) - len, ", %u more (-J names %d)",
			 g->unreadable - (unsigned)shown, PSHM_UNREADABLE_NAMED);
	table_number(o->t,
		     line(o, "unreadable", "unreadable", NULL, g->unreadable, NO_SIZE, true, note),
		     COL_COUNT, g->unreadable);
	for (size_t i = 0; o->names && i < g->named; i++) {
		const struct pshm_unreadable *p = &g->pids[i];
		struct libscols_line *row;
		char what[48];

		snprintf(what, sizeof(what), "pid %ld", (long)p->pid);
		row = line(o, what, "unreadable-process", "unreadable", -1, NO_SIZE, true,
			   why(p->error));
		table_number(o->t, row, COL_PID, p->pid);
		table_name(o->t, row, COL_COMMAND, p->comm);
		if (p->uid != (uid_t)-1) {
			table_user(o->t, row, COL_OWNER, p->uid);
			table_number(o->t, row, COL_UID, p->uid);
		}
	}
}

/* One scan, and everything the table says of it. */
static int gather(enum by by, struct usage *g)
{
	struct pshm_scan_options scan_options;
	/* The scan runs with the caller's own rights: /proc let it read every holder it found. */
	const struct pshm_viewer viewer = { .uid = geteuid() };
	struct pshm_error err;
	struct pshm_scan *s;
	ssize_t count = 0;
	int r;

	g->by = by;
	cli_scan_options(&scan_options);
	if (pshm_scan_open(PSHM_KIND_ALL, &scan_options, &s, &err) < 0)
		return cli_error(&err);
	r = pshm_usage_of(s, &viewer, &g->u, &err);
	if (r == 0 && by == BY_CGROUP)
		count = pshm_usage_by_cgroup(s, &viewer, &g->cgroups, &err);
	else if (r == 0 && by != BY_KIND)
		count = pshm_usage_by(s, &viewer,
				      by == BY_USER ? PSHM_USAGE_BY_OWNER : PSHM_USAGE_BY_PROCESS,
				      &g->rows, &err);
	g->unreadable = pshm_scan_unreadable(s);
	g->ipc_skipped = pshm_scan_ipc_skipped(s);
	g->named = pshm_scan_unreadable_pids(s, g->pids, PSHM_UNREADABLE_NAMED);
	if (r < 0 || count < 0) {
		pshm_scan_free(s);
		return cli_error(&err);
	}
	g->count = (size_t)count;
	/*
	 * Each tmpfs measured again, for its own line (unexplained follows
	 * the lines), in the mount namespaces the scan met: no other walk.
	 */
	r = pshm_scan_tmpfs_mounts(s, add_mount, g, geteuid() == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0,
				   &g->walked, &err);
	pshm_scan_free(s);
	return r < 0 ? cli_error(&err) : CLI_OK;
}

int cmd_usage(int argc, char **argv)
{
	static const struct option options[] = {
		{ "by-user", no_argument, NULL, 'u' },
		{ "by-process", no_argument, NULL, 'p' },
		{ "by-cgroup", no_argument, NULL, 'g' },
		TABLE_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct table_options to = { 0 };
	struct usage g = { 0 };
	enum by by = BY_KIND;
	struct out o = { 0 };
	int c, r;

	while ((c = cli_option(argc, argv, "h" TABLE_SHORT_OPTIONS, options)) != -1) {
		if (table_option(&to, c, optarg))
			continue;
		if (by != BY_KIND)
			return cli_usage(
				"--by-user, --by-process and --by-cgroup exclude each other");
		by = c == 'u' ? BY_USER : c == 'p' ? BY_PROCESS : BY_CGROUP;
	}
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	if (to.list_columns)
		return table_list_columns(usage_columns, USAGE_COLUMNS, &to);
	r = table_new("usage", usage_columns, USAGE_COLUMNS, defaults[by], &to, &o.t);
	if (r != CLI_OK)
		return r;
	r = gather(by, &g);
	if (r != CLI_OK) {
		table_free(o.t);
		usage_free(&g);
		return r;
	}
	o.indent = !to.json && !to.raw && !to.pairs;
	o.names = !o.indent;
	shmem(&o, &g, to.bytes);
	if (by == BY_CGROUP)
		cgroups(&o, &g, to.bytes);
	huge(&o, &g, to.bytes);
	unreadable(&o, &g);
	usage_free(&g);
	if (o.failed) {
		table_free(o.t);
		return o.failed;
	}
	return table_print(o.t);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the control file's usage command: where shared memory goes, as
 * its opener may see it, in lines that add up (the reply "usage 2" of
 * docs/ctl.md): the rows of a view (by user, by process, by cgroup), each
 * a part of its kind's line; every term of Shmem, with the parts of
 * /dev/shm's; huge pages; the processes the scan could not read.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anon_i.h"
#include "ctl_i.h"
#include "ctl_parse_i.h"
#include "holders_i.h"

/* What a reply says, gathered while the scan is at hand. */
struct usage_reply {
	struct pshm_usage u;
	struct pshm_usage_row *rows; /* by user or by process */
	struct pshm_cgroup_row *cgroups;
	ssize_t count; /* of either */
	/* The opener's anonymous segments no process but the daemon holds (not "deleted"). */
	size_t anon_count;
	unsigned long long anon_bytes;
	unsigned unreadable;
	size_t named;
	struct pshm_unreadable pids[PSHM_UNREADABLE_NAMED];
	unsigned ipc_skipped;   /* IPC namespaces whose System V segments were not all read */
	struct pshm_scan *scan; /* kept for its mount namespaces, the tmpfs lines' */
};

/*
 * The opener's anonymous segments that only the daemon holds: one a
 * client holds too is a deleted segment of the scan's, counted there.
 */
static int anonymous(struct shmfs *fs, struct pshm_scan *scan, const struct pshm_viewer *viewer,
		     uid_t uid, struct usage_reply *reply)
{
	const struct pshm_object *o;
	struct anon_info *anons;
	size_t n;
	int r = anon_list(fs, uid, &anons, &n);

	if (r < 0)
		return r;
	while (n && pshm_scan_next(scan, &o) > 0) {
		if (o->kind != PSHM_KIND_DELETED || !pshm_object_visible(o, viewer))
			continue;
		for (size_t i = 0; i < n; i++)
			if (anons[i].st.st_ino == o->st.st_ino &&
			    anons[i].st.st_dev == o->st.st_dev)
				anons[i] = anons[--n]; /* counted as deleted */
	}
	for (size_t i = 0; i < n; i++) {
		reply->anon_count++;
		reply->anon_bytes += (unsigned long long)anons[i].st.st_blocks * 512;
	}
	free(anons);
	return 0;
}

static int gather(struct shmfs *fs, struct ctl_emit *e, enum ctl_usage_by by,
		  struct usage_reply *reply)
{
	const struct creds *opener = ctl_emit_opener(e);
	struct holders_viewer viewer;
	struct pshm_scan *scan;
	int r = holders_objects(fs, opener, PSHM_KIND_ALL, &scan);

	if (r < 0)
		return ctl_emit_scan_refused(e, r);
	holders_viewer(&viewer, opener);
	r = pshm_usage_of(scan, &viewer.pub, &reply->u, NULL);
	if (r == 0 && by == CTL_USAGE_CGROUP) {
		reply->count = pshm_usage_by_cgroup(scan, &viewer.pub, &reply->cgroups, NULL);
		r = reply->count < 0 ? (int)reply->count : 0;
	} else if (r == 0 && by != CTL_USAGE_KIND) {
		reply->count = pshm_usage_by(scan, &viewer.pub,
					     by == CTL_USAGE_USER ? PSHM_USAGE_BY_OWNER
								  : PSHM_USAGE_BY_PROCESS,
					     &reply->rows, NULL);
		r = reply->count < 0 ? (int)reply->count : 0;
	}
	if (r == 0)
		r = anonymous(fs, scan, &viewer.pub, opener->uid, reply);
	reply->unreadable = pshm_scan_unreadable(scan);
	reply->ipc_skipped = pshm_scan_ipc_skipped(scan);
	reply->named = pshm_scan_unreadable_pids(scan, reply->pids, PSHM_UNREADABLE_NAMED);
	if (r < 0) {
		holders_scan_free(scan);
		return ctl_emit_fail(e, -r, "cannot add up shared memory: %s", strerror(-r));
	}
	reply->scan = scan;
	return 0;
}

/* uid's user name, or "-" (getpwuid_r: the daemon's threads answer at once). */
static const char *user_name(uid_t uid, char *buf, size_t size)
{
	struct passwd pw, *found = NULL;

	if (getpwuid_r(uid, &pw, buf, size, &found) != 0 || !found || !found->pw_name[0])
		return "-";
	/* A name with a blank would be two words: the uid alone then says who. */
	return strpbrk(found->pw_name, " \t\n") ? "-" : found->pw_name;
}

/* The view's rows, each a part of its kind's line. */
static void emit_rows(struct ctl_emit *e, enum ctl_usage_by by, const struct usage_reply *reply)
{
	char buf[1024];

	for (ssize_t i = 0; reply->rows && i < reply->count; i++) {
		const struct pshm_usage_row *row = &reply->rows[i];
		const char *kind = pshm_kind_name(row->kind);

		if (by == CTL_USAGE_USER)
			ctl_emit_line(e, "user %s %ld %s %llu %llu in %s", kind, row->who,
				      user_name((uid_t)row->who, buf, sizeof(buf)), row->count,
				      row->bytes, kind);
		else
			ctl_emit_line(e, "process %s %ld %s %llu %llu %llu in %s", kind, row->who,
				      row->comm[0] ? row->comm : "-", row->count, row->mapped,
				      row->bytes, kind);
	}
	for (ssize_t i = 0; reply->cgroups && i < reply->count; i++) {
		const struct pshm_cgroup_row *c = &reply->cgroups[i];

		if (pshm_cgroup_line(c, buf, sizeof(buf)) < 0)
			continue;
		for (int k = 0; k < PSHM_KINDS; k++)
			if (c->count[k])
				ctl_emit_line(e, "cgroup-kind %s %.*s %llu %llu in %s",
					      pshm_kind_name(1u << k), (int)strcspn(buf, " "), buf,
					      c->count[k], c->bytes[k], pshm_kind_name(1u << k));
	}
}

struct tmpfs_lines {
	struct ctl_emit *e;
	unsigned long long sum;
};

static int emit_tmpfs(void *ctx, const char *mount_point, unsigned long long used)
{
	struct tmpfs_lines *t = ctx;

	ctl_emit_line(t->e, "tmpfs %s %llu", mount_point, used);
	t->sum += used;
	return 0;
}

static unsigned long long count_of(const struct pshm_usage *u, unsigned kind)
{
	return u->count[__builtin_ctz(kind)];
}

static unsigned long long bytes_of(const struct pshm_usage *u, unsigned kind)
{
	return u->bytes[__builtin_ctz(kind)];
}

/* The terms of Shmem, the parts of /dev/shm after its line; then shmem itself. */
static void emit_shmem(struct ctl_emit *e, uid_t uid, const struct usage_reply *reply,
		       struct pshm_mounts_walked *walked)
{
	const struct pshm_usage *u = &reply->u;
	static const unsigned in_shm_dir[] = { PSHM_KIND_SEGMENT, PSHM_KIND_DELETED };
	static const unsigned terms[] = { PSHM_KIND_MEMFD, PSHM_KIND_SYSV, PSHM_KIND_SHARED_ANON };
	struct tmpfs_lines tmpfs = { .e = e };

	ctl_emit_line(e, "tmpfs " PSHM_DIR " %llu", u->shm_dir_used);
	for (size_t i = 0; i < sizeof(in_shm_dir) / sizeof(in_shm_dir[0]); i++)
		ctl_emit_line(e, "%s %llu %llu in " PSHM_DIR, pshm_kind_name(in_shm_dir[i]),
			      count_of(u, in_shm_dir[i]), bytes_of(u, in_shm_dir[i]));
	ctl_emit_line(e, "anonymous %zu %llu in " PSHM_DIR, reply->anon_count, reply->anon_bytes);
	ctl_emit_line(e, "other %lld in " PSHM_DIR,
		      u->shm_dir_other - (long long)reply->anon_bytes);
	for (size_t i = 0; i < sizeof(terms) / sizeof(terms[0]); i++)
		ctl_emit_line(e, "%s %llu %llu", pshm_kind_name(terms[i]), count_of(u, terms[i]),
			      bytes_of(u, terms[i]));
	/*
	 * Each other tmpfs, measured again (in the mount namespaces the scan
	 * met): unexplained is taken from the lines as written, so that they
	 * add up whatever changed meanwhile.
	 */
	pshm_scan_tmpfs_mounts(reply->scan, emit_tmpfs, &tmpfs,
			       uid == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0, walked, NULL);
	ctl_emit_line(e, "unexplained %lld",
		      u->unexplained + (long long)u->tmpfs_used - (long long)tmpfs.sum);
	ctl_emit_line(e, "shmem %llu", u->shmem);
}

/* What is not in Shmem: huge pages, the kernel's count by cgroup, processes not read. */
static void emit_beyond(struct ctl_emit *e, const struct usage_reply *reply,
			const struct pshm_mounts_walked *walked)
{
	const struct pshm_usage *u = &reply->u;
	char buf[1024];

	/* The walk of other mount namespaces stopped at a bound: tmpfs lines are missing. */
	if (walked->partial)
		ctl_emit_line(e, "tmpfs-partial namespaces %u", walked->namespaces);
	/* Some IPC namespaces' System V segments were not all read: past the bounds on one user's. */
	if (reply->ipc_skipped)
		ctl_emit_line(e, "sysv-partial namespaces %u", reply->ipc_skipped);
	ctl_emit_line(e, "hugetlb %llu %llu", count_of(u, PSHM_KIND_HUGETLB),
		      bytes_of(u, PSHM_KIND_HUGETLB));
	for (unsigned h = 0; h < u->huge_sizes; h++)
		ctl_emit_line(e,
			      "hugepages %llukB total %llu free %llu reserved %llu surplus %llu "
			      "objects %llu bytes %llu unexplained %lld",
			      u->huge[h].page_size >> 10, u->huge[h].total, u->huge[h].free,
			      u->huge[h].reserved, u->huge[h].surplus, u->huge[h].count,
			      u->huge[h].bytes, u->huge[h].unexplained);
	for (ssize_t i = 0; reply->cgroups && i < reply->count; i++)
		if (pshm_cgroup_line(&reply->cgroups[i], buf, sizeof(buf)) == 0)
			ctl_emit_line(e, "cgroup %s", buf);
	ctl_emit_line(e, "unreadable %u", reply->unreadable);
	for (size_t i = 0; i < reply->named; i++) {
		const struct pshm_unreadable *p = &reply->pids[i];

		/* Only a process /proc lists to the opener (hidepid=) is named. */
		if (!holders_pid_listed(ctl_emit_opener(e), p->pid))
			continue;
		ctl_emit_line(e, "unreadable-process %ld %ld %s %s", (long)p->pid,
			      p->uid == (uid_t)-1 ? -1L : (long)p->uid, p->comm,
			      p->error == ESRCH ? "ESRCH" : "EACCES");
	}
}

int ctl_usage_run(struct shmfs *fs, struct ctl_emit *e, int by)
{
	struct usage_reply reply = { 0 };
	struct pshm_mounts_walked walked = { 0 };
	int r = gather(fs, e, (enum ctl_usage_by)by, &reply);

	if (r == 0) {
		ctl_emit_line(e, "usage 2");
		emit_rows(e, (enum ctl_usage_by)by, &reply);
		emit_shmem(e, ctl_emit_opener(e)->uid, &reply, &walked);
		emit_beyond(e, &reply, &walked);
		ctl_emit_line(e, "ok");
	}
	holders_scan_free(reply.scan);
	free(reply.rows);
	free(reply.cgroups);
	return r;
}

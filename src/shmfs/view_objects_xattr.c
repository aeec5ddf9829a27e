/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the user.shmfs.* attributes of an entry of the views of other
 * shared memory: kind, path, allocated, holders, and a memfd's seals and
 * whether it is mapped executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "holders_i.h"
#include "object_refs_i.h"

/* An attribute's text being built: holders lines, up to its size. */
struct attr_text {
	char *buf;
	size_t size, len;
};

static int attr_line(void *ctx, const char *line)
{
	struct attr_text *t = ctx;
	int n = snprintf(t->buf + t->len, t->size - t->len, "%s\n", line);

	if (n < 0 || (size_t)n >= t->size - t->len)
		return -1;
	t->len += (size_t)n;
	return 0;
}

/*
 * Its holders, one line each ("PID COMM fd N", "PID COMM map START-END
 * PERMS"), for the processes the caller could read /proc/PID/maps of; the
 * others counted ("N other processes"). -E2BIG past size.
 */
static int holders_of(fuse_req_t req, const struct object_ref *ref, char *buf, size_t size)
{
	struct creds viewer = { .uid = fuse_req_ctx(req)->uid, .gid = fuse_req_ctx(req)->gid };
	struct attr_text t = { .buf = buf, .size = size };
	struct holders_count count = { 0 };
	const struct pshm_object *o;
	struct pshm_scan *scan;
	int r = object_scan(req, ref, &scan, &o);

	if (r < 0)
		return r;
	buf[0] = '\0';
	holders_describe(o, &viewer, attr_line, &t, &count);
	holders_scan_free(scan);
	if (count.cut)
		return -E2BIG;
	return holders_tail(&count, "\n", true, buf + t.len, size - t.len) >= size - t.len ? -E2BIG
											   : 0;
}

#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020 /* Linux 6.3 */
#endif

/* The seals of F_GET_SEALS by name, in bit order. */
static const struct {
	unsigned bit;
	const char *name;
} seal_names[] = {
	{ F_SEAL_SEAL, "seal" },
	{ F_SEAL_SHRINK, "shrink" },
	{ F_SEAL_GROW, "grow" },
	{ F_SEAL_WRITE, "write" },
	{ F_SEAL_FUTURE_WRITE, "future-write" },
	{ F_SEAL_EXEC, "exec" },
};

/*
 * seals as "none" or their names joined by commas, a bit without a name
 * as hex ("0x40"), into buf (size > 0; cut short past it). Each name goes
 * in with its own separator: nothing is taken back, so no index can fall
 * before buf, whatever bits are set.
 */
static void format_seals(unsigned seals, char *buf, size_t size)
{
	size_t len = 0;
	int n;

	buf[0] = '\0';
	if (!seals) {
		snprintf(buf, size, "none");
		return;
	}
	for (size_t i = 0; i < sizeof(seal_names) / sizeof(seal_names[0]); i++) {
		if (!(seals & seal_names[i].bit))
			continue;
		seals &= ~seal_names[i].bit;
		n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", seal_names[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return;
		len += (size_t)n;
	}
	if (seals)
		snprintf(buf + len, size - len, "%s%#x", len ? "," : "", seals);
}

/* The facts of an object entry, for user.shmfs.*; -ENODATA for an attribute it lacks. */
int view_objects_xattr(fuse_req_t req, struct node *node, const char *name, char *buf, size_t size)
{
	struct object_ref ref;
	struct stat st;
	int r = object_stat(req, node, &ref, &st);

	if (r == 0)
		r = object_check(req, &ref, &st);
	if (r < 0)
		return r;
	if (strcmp(name, "kind") == 0)
		snprintf(buf, size, "%s", pshm_kind_name(ref.kind));
	else if (strcmp(name, "path") == 0 && ref.path[0] &&
		 creds_is_daemon(fuse_req_ctx(req)->uid))
		snprintf(buf, size, "%s", ref.path);
	else if (strcmp(name, "allocated") == 0)
		snprintf(buf, size, "%" PRIu64, (uint64_t)st.st_blocks * 512);
	else if (strcmp(name, "holders") == 0)
		return holders_of(req, &ref, buf, size);
	else if (strcmp(name, "page-size") == 0 && ref.page_size)
		snprintf(buf, size, "%llu", ref.page_size);
	else if (strcmp(name, "made-as") == 0 && ref.kind == PSHM_KIND_HUGETLB)
		snprintf(buf, size, "%s",
			 ref.made_as ? pshm_kind_name(ref.made_as) : "hugetlbfs-file");
	else if (strcmp(name, "exec-mapped") == 0 && ref.kind == PSHM_KIND_MEMFD) {
		const struct pshm_object *o;
		struct pshm_scan *scan;

		r = object_scan(req, &ref, &scan, &o);
		if (r < 0)
			return r;
		snprintf(buf, size, "%s", o->exec_mapped ? "yes" : "no");
		holders_scan_free(scan);
	} else if (strcmp(name, "seals") == 0 && ref.kind == PSHM_KIND_MEMFD) {
		int fd = pshm_link_open(ref.path, O_RDONLY | O_NONBLOCK, ref.dev, ref.ino);
		int seals = fd < 0 ? -1 : fcntl(fd, F_GET_SEALS);

		if (fd >= 0)
			close(fd);
		if (seals < 0)
			return -ENOENT;
		format_seals((unsigned)seals, buf, size);
	} else {
		return -ENODATA;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: every shared memory object on the machine and who holds it,
 * from /proc: named segments, segments unlinked but still open or mapped,
 * memfds, System V segments and shared anonymous mappings. A scan finds
 * the named segments (pshm_iter) and the System V ones (sysv.c) first,
 * then walks the processes once for their holders and the objects that
 * live only in processes (procs.c), and orders what it found by kind and
 * name (objects.c serves it).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procs_i.h"
#include "sysv_i.h"

static int scan_segments(struct pshm_scan *s, struct pshm_error *err)
{
	struct pshm_iter *it;
	const char *name;
	struct stat st;
	int r = pshm_iter_open(NULL, &it, err);

	if (r < 0)
		return r;
	/* One object per name: the names of a hard-linked file share an inode. */
	while ((r = pshm_iter_next(it, &name, &st, err)) > 0) {
		struct object *o = objects_new(s, PSHM_KIND_SEGMENT, st.st_dev, st.st_ino, &st);
		char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1];

		snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
		if (!o || objects_set_text(o, name, path) < 0) {
			r = pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
			break;
		}
	}
	pshm_iter_free(it);
	return r;
}

static int by_kind_and_name(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;

	if (x->pub.kind != y->pub.kind)
		return x->pub.kind < y->pub.kind ? -1 : 1;
	return strcmp(x->pub.name, y->pub.name);
}

PSHM_EXPORT int pshm_scan_open(unsigned kinds, const struct pshm_scan_options *options,
			       struct pshm_scan **ret, struct pshm_error *err)
{
	struct pshm_scan *s;
	struct stat dir;
	size_t n = 0;
	int r;

	if (!ret || !kinds || (kinds & ~PSHM_KIND_ALL))
		return pshm_fail(err, EINVAL, "scan", NULL, -1, "no or unknown kinds");
	if (stat(PSHM_DIR, &dir) < 0)
		return pshm_fail(err, errno, "stat", PSHM_DIR, -1, NULL);
	s = objects_scan_new();
	if (!s)
		return pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	s->kinds = kinds;
	if (readlink("/proc/self/ns/ipc", s->ipc_ns, sizeof(s->ipc_ns) - 1) <= 0)
		s->ipc_ns[0] = '\0';
	s->shm_dev = dir.st_dev;
	if (options)
		s->options = *options;
	if (s->options.only) {
		const struct stat *only = s->options.only;

		/* One known segment: its holders alone. */
		s->kinds = only->st_nlink > 0 ? PSHM_KIND_SEGMENT : PSHM_KIND_DELETED;
		s->only = objects_of(s, s->kinds, only->st_dev, only->st_ino, only);
		r = s->only ? 0 : pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	} else {
		r = (kinds & PSHM_KIND_SEGMENT) ? scan_segments(s, err) : 0;
	}
	if (r == 0 && !s->only && (kinds & PSHM_KIND_SYSV)) {
		r = sysv_scan(s);
		if (r < 0)
			pshm_fail(err, -r, "read", "/proc/sysvipc/shm", -1, NULL);
	}
	/* Every kind needs the processes: for its holders, or to be found at all. */
	if (r == 0) {
		r = procs_scan(s);
		if (r < 0)
			pshm_fail(err, -r, "scan", "/proc", -1, NULL);
	}
	if (r == 0) {
		s->order = malloc((s->count ? s->count : 1) * sizeof(*s->order));
		if (!s->order)
			r = pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	}
	if (r < 0) {
		pshm_scan_free(s);
		return r;
	}
	for (size_t i = 0; i < s->bucket_count; i++)
		for (struct object *o = s->buckets[i]; o; o = o->next)
			s->order[n++] = o;
	qsort(s->order, n, sizeof(*s->order), by_kind_and_name);
	*ret = s;
	return 0;
}

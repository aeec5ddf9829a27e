/* SPDX-License-Identifier: MIT */
/*
 * libpshm: every shared memory object on the machine and who holds it,
 * from /proc: named segments, segments unlinked but still open or mapped,
 * memfds, System V segments, shared anonymous mappings and huge pages. A
 * scan finds the named segments (pshm_iter) and this IPC namespace's
 * System V ones (sysv_scan.c) first, then walks the processes once for
 * their holders, the objects that live only in processes and the other
 * IPC namespaces (procs.c), reads those namespaces' segments, settles
 * which are on huge pages, and orders what it found by kind and name
 * (objects.c serves it).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "process_i.h"
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

/* A size as hugetlbfs writes its pagesize= option: 2M, 1024M, 64K. */
static unsigned long long parse_page_size(const char *text)
{
	char *end;
	unsigned long long n = strtoull(text, &end, 10);

	switch (*end) {
	case 'G':
		return n << 30;
	case 'M':
		return n << 20;
	case 'K':
	case 'k':
		return n << 10;
	default:
		return n;
	}
}

/*
 * This mount namespace's hugetlbfs mounts (/dev/hugepages, DPDK's), whose
 * files a process maps: their devices and huge page sizes, from
 * /proc/self/mountinfo (never a stat of the mount: any mount may block).
 */
static void find_huge_mounts(struct pshm_scan *s)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t size = 0;

	while (f && s->huge_mount_count < SCAN_HUGE_MOUNTS_MAX && getline(&line, &size, f) > 0) {
		const char *rest = strstr(line, " - hugetlbfs "), *page;
		unsigned major, minor;

		if (!rest || sscanf(line, "%*d %*d %u:%u", &major, &minor) != 2)
			continue;
		page = strstr(rest, "pagesize=");
		s->huge_mount_dev[s->huge_mount_count] = makedev(major, minor);
		s->huge_mount_page[s->huge_mount_count] =
			page ? parse_page_size(page + strlen("pagesize=")) : 0;
		s->huge_mount_count += s->huge_mount_page[s->huge_mount_count] != 0;
	}
	free(line);
	if (f)
		fclose(f);
}

/*
 * Once every process is read: an object found on huge pages becomes
 * PSHM_KIND_HUGETLB (what it is made as stays in made_as, and prefixes
 * its name), and what was only looked at for that goes: the kinds asked
 * for are what the scan keeps.
 */
static int settle(struct pshm_scan *s)
{
	static const struct {
		unsigned made_as;
		const char *prefix;
	} prefixes[] = {
		{ PSHM_KIND_SYSV, "sysv:" },
		{ PSHM_KIND_MEMFD, "memfd:" },
		{ PSHM_KIND_SHARED_ANON, "anon:" },
		{ 0, "file:" },
	};

	for (size_t i = 0; i < s->bucket_count; i++) {
		struct object **p = &s->buckets[i];

		while (*p) {
			struct object *o = *p;

			if (o->pub.page_size) {
				char name[PSHM_OBJECT_NAME_MAX + 8], path[PATH_MAX];
				const char *prefix = "";

				o->pub.made_as = o->kind == PSHM_KIND_HUGETLB ? 0 : o->kind;
				o->pub.kind = PSHM_KIND_HUGETLB;
				for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++)
					if (prefixes[k].made_as == o->pub.made_as)
						prefix = prefixes[k].prefix;
				snprintf(name, sizeof(name), "%s%s", prefix, o->pub.name);
				snprintf(path, sizeof(path), "%s", o->pub.path);
				if (objects_set_text(o, name, path) < 0)
					return -ENOMEM;
			}
			if (s->wanted & o->pub.kind) {
				p = &o->next;
				continue;
			}
			*p = o->next;
			s->count--;
			objects_free(o);
		}
	}
	return 0;
}

static int by_kind_and_name(const void *a, const void *b)
{
	const struct object *x = *(struct object *const *)a, *y = *(struct object *const *)b;

	if (x->pub.kind != y->pub.kind)
		return x->pub.kind < y->pub.kind ? -1 : 1;
	return strcmp(x->pub.name, y->pub.name);
}

/* PSHM_DIR's mount's id (statx, Linux 5.8+), as /proc/PID/mountinfo numbers it: 0 when unknown. */
static int shm_mount_id(void)
{
	struct statx sx;

	if (statx(AT_FDCWD, PSHM_DIR, AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return (int)sx.stx_mnt_id;
}

/* The kernel iterators of scans whose options give none (pshm_set_kernel_iter: the unit tests). */
static const struct pshm_kernel_iter *default_kernel_iter;

void pshm_set_kernel_iter(const struct pshm_kernel_iter *it)
{
	default_kernel_iter = it;
}

bool pshm_scan_kernel_iter_used(const struct pshm_scan *s)
{
	return s->kernel_iter_used;
}

bool pshm_scan_kernel_iter_read_proc(const struct pshm_scan *s, pid_t pid)
{
	for (size_t i = 0; i < s->kernel_iter_proc_count; i++)
		if (s->kernel_iter_proc[i] == pid)
			return true;
	return false;
}

PSHM_EXPORT int pshm_scan_open(unsigned kinds, const struct pshm_scan_options *options,
			       struct pshm_scan **ret, struct pshm_error *err)
{
	char link[64] = "";
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
	s->wanted = kinds;
	/* Huge pages are found as what they are made as, and told apart once looked at. */
	s->kinds = kinds & PSHM_KIND_HUGETLB
			   ? kinds | PSHM_KIND_SYSV | PSHM_KIND_MEMFD | PSHM_KIND_SHARED_ANON
			   : kinds;
	if (kinds & PSHM_KIND_HUGETLB)
		find_huge_mounts(s);
	if (readlink("/proc/self/ns/ipc", s->ipc_ns, sizeof(s->ipc_ns) - 1) <= 0)
		s->ipc_ns[0] = '\0';
	s->own_ipc = sysv_ns_inode(s->ipc_ns);
	s->other_ipc = true;
	s->pidfd_ids = process_pidfd_usable();
	s->shm_dev = dir.st_dev;
	s->shm_mnt_id = shm_mount_id();
	if (options)
		s->options = *options;
	if (!s->options.kernel_iter)
		s->options.kernel_iter = default_kernel_iter;
	if (s->options.only) {
		const struct stat *only = s->options.only;

		/* One known segment: its holders alone. */
		s->kinds = s->wanted = only->st_nlink > 0 ? PSHM_KIND_SEGMENT : PSHM_KIND_DELETED;
		s->only = objects_of(s, s->kinds, only->st_dev, only->st_ino, only);
		r = s->only ? 0 : pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
	} else {
		r = (kinds & PSHM_KIND_SEGMENT) ? scan_segments(s, err) : 0;
	}
	/*
	 * What usage is made of (every kind, by root): the walk notes the
	 * mount namespaces too, a few microseconds per process that spare
	 * usage the walks of /proc that would find them again (mounts.c).
	 */
	if (!s->only && kinds == PSHM_KIND_ALL && geteuid() == 0 &&
	    readlink("/proc/self/ns/mnt", link, sizeof(link) - 1) > 0 &&
	    sscanf(link, "mnt:[%llu]", &s->own_mnt) == 1)
		s->mnt_noted = true;
	if (r == 0 && !s->only && (s->kinds & PSHM_KIND_SYSV)) {
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
	/* The other IPC namespaces the walk found, and the holders of their segments. */
	if (r == 0 && !s->only && (s->kinds & PSHM_KIND_SYSV)) {
		r = sysv_scan_others(s); /* -ETIMEDOUT (options.stop) or -ENOMEM */
		if (r < 0)
			pshm_fail(err, -r, "scan", "/proc/sysvipc/shm", -1, NULL);
	}
	if (r == 0)
		procs_order_holders(s);
	if (r == 0 && settle(s) < 0)
		r = pshm_fail(err, ENOMEM, "scan", NULL, -1, NULL);
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

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the System V segments of a scan. This IPC namespace's are read
 * before the walk of the processes; the walk (process.c) notes every
 * other namespace a process is in, and keeps the mappings of their
 * segments aside; once it is done their segments are read, from a thread
 * that enters them, and those mappings become holders. One walk of /proc
 * finds the namespaces and the holders alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysv_i.h"

/*
 * Adds the segments of one IPC namespace's /proc/sysvipc/shm text to s:
 * the caller's own (ns 0) as 0xKEY@SHMID, another's keyed and named by
 * its namespace's inode, NS@0xKEY@SHMID, with a process in it to act
 * there. 0 or -ENOMEM.
 */
static int add_segments(struct pshm_scan *s, FILE *f, unsigned long long ns, pid_t pid)
{
	char *line = NULL;
	size_t size = 0;
	int r = 0;

	while (r == 0 && getline(&line, &size, f) > 0) {
		unsigned long long huge;
		struct sysv_segment seg;
		struct object *o;
		struct stat st;
		char name[64];

		if (!sysv_parse_line(line, &seg))
			continue; /* the header */
		huge = sysv_inflated_huge_pages(&seg, &seg.rss);
		sysv_stat_of(seg.shmid, &seg.ds, seg.rss, &st);
		o = objects_of(s, PSHM_KIND_SYSV, (dev_t)ns, (ino_t)seg.shmid, &st);
		if (!o) {
			r = -ENOMEM;
			break;
		}
		o->pub.page_size = huge;
		o->huge_blocks = huge != 0;
		o->pub.shmid = seg.shmid;
		o->pub.key = seg.ds.shm_perm.__key;
		o->pub.nattch = seg.ds.shm_nattch;
		o->pub.ipc_ns = ns;
		o->pub.ipc_pid = pid;
		if (ns)
			snprintf(name, sizeof(name), "%llu@0x%08x@%d", ns,
				 (unsigned)seg.ds.shm_perm.__key, seg.shmid);
		else
			snprintf(name, sizeof(name), "0x%08x@%d", (unsigned)seg.ds.shm_perm.__key,
				 seg.shmid);
		if (objects_set_text(o, name, "") < 0)
			r = -ENOMEM;
	}
	free(line);
	return r;
}

int sysv_scan(struct pshm_scan *s)
{
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	int r;

	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no System V IPC in this kernel */
	r = add_segments(s, f, 0, 0);
	fclose(f);
	return r;
}

/* Another IPC namespace: its inode, a process in it, and its /proc/sysvipc/shm once read. */
struct other_ns {
	unsigned long long ns;
	pid_t pid;
	char *text;
	size_t len;
};

/*
 * Reads each namespace's segments from a thread of its own that enters
 * them one after another (setns moves that thread only), so the caller's
 * threads stay where they are. Reading /proc/sysvipc/shm never blocks.
 */
static void *read_namespaces(void *arg)
{
	struct other_ns *list = arg;

	for (size_t i = 0; list[i].ns; i++) {
		FILE *f, *out;

		if (sysv_enter(list[i].ns, list[i].pid) < 0)
			continue;
		f = fopen("/proc/sysvipc/shm", "re");
		out = f ? open_memstream(&list[i].text, &list[i].len) : NULL;
		if (out) {
			char buf[4096];
			size_t n;

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, out);
			fclose(out);
		}
		if (f)
			fclose(f);
	}
	return NULL;
}

int sysv_hold_later(struct pshm_scan *s, const struct pshm_holder *h, unsigned long long ns,
		    ino_t shmid, dev_t dev, const char *path, int dir)
{
	struct sysv_pending *p;
	char files[48];
	struct stat st;
	int r = objects_count_holder(s);

	if (r < 0)
		return r;
	if (s->pending_count == s->pending_capacity) {
		size_t capacity = s->pending_capacity ? s->pending_capacity * 2 : 16;
		struct sysv_pending *more = realloc(s->pending, capacity * sizeof(*more));

		if (!more)
			return -ENOMEM;
		s->pending = more;
		s->pending_capacity = capacity;
	}
	p = &s->pending[s->pending_count++];
	*p = (struct sysv_pending){
		.holder = *h, .ns = ns, .shmid = shmid, .dev = dev, .huge_blocks = -1
	};
	snprintf(p->path, sizeof(p->path), "%s", path);
	/* SHM_HUGETLB: the attach's own status counts its huge pages (root), while it is there. */
	snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
	if (sysv_huge_page_size(dev) && pshm_link_stat(dir, files, &st) == 0 && st.st_ino == shmid)
		p->huge_blocks = st.st_blocks;
	return 0;
}

int sysv_scan_merge(struct pshm_scan *s, struct pshm_scan *part)
{
	for (size_t i = 0; i < part->other_ipc_count; i++)
		objects_note_namespace(s->other_ipcs, &s->other_ipc_count, SCAN_IPC_NAMESPACES_MAX,
				       part->other_ipcs[i].ns, part->other_ipcs[i].pid);
	if (!part->pending_count)
		return 0;
	if (s->pending_count + part->pending_count > s->pending_capacity) {
		size_t capacity = s->pending_count + part->pending_count;
		struct sysv_pending *more = realloc(s->pending, capacity * sizeof(*more));

		if (!more)
			return -ENOMEM;
		s->pending = more;
		s->pending_capacity = capacity;
	}
	memcpy(s->pending + s->pending_count, part->pending,
	       part->pending_count * sizeof(*part->pending));
	s->pending_count += part->pending_count;
	return 0;
}

/*
 * The mappings of other namespaces' segments, now that those are read:
 * holders of the segment of their id in their namespace, as long as it
 * has the key their path says (an id given to another segment since).
 */
static int hold_pending(struct pshm_scan *s)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < s->pending_count; i++) {
		const struct sysv_pending *p = &s->pending[i];
		struct object *o = objects_find(s, PSHM_KIND_SYSV, (dev_t)p->ns, p->shmid);
		unsigned long long page;

		if (!o || !sysv_mapping(p->dev, p->path, o->pub.key))
			continue;
		page = sysv_huge_page_size(p->dev);
		if (page)
			o->pub.page_size = page;
		if (page && !o->huge_blocks && p->huge_blocks >= 0) {
			o->pub.st.st_blocks = p->huge_blocks;
			o->huge_blocks = true;
		}
		r = objects_append_holder(o, &p->holder);
	}
	free(s->pending);
	s->pending = NULL;
	s->pending_count = s->pending_capacity = 0;
	return r;
}

int sysv_scan_others(struct pshm_scan *s)
{
	struct other_ns *others;
	pthread_t thread;
	int r = 0;

	if (!s->other_ipc_count)
		return hold_pending(s);
	others = calloc(s->other_ipc_count + 1, sizeof(*others));
	if (!others)
		return -ENOMEM;
	for (size_t i = 0; i < s->other_ipc_count; i++)
		others[i] =
			(struct other_ns){ .ns = s->other_ipcs[i].ns, .pid = s->other_ipcs[i].pid };
	if (sysv_thread(&thread, read_namespaces, others) == 0)
		pthread_join(thread, NULL);
	for (size_t i = 0; others[i].ns; i++) {
		if (r == 0 && others[i].text) {
			FILE *f = fmemopen(others[i].text, others[i].len, "r");

			r = f ? add_segments(s, f, others[i].ns, others[i].pid) : -ENOMEM;
			if (f)
				fclose(f);
		}
		free(others[i].text);
	}
	free(others);
	return r < 0 ? r : hold_pending(s);
}

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
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysv_i.h"

/* How often a namespace's reading asks options.stop: every this many lines. */
#define STOP_EVERY 256

/* One namespace's segments, as add_segments reads them. */
struct reading {
	unsigned long long ns; /* 0: the caller's own */
	pid_t pid;             /* a process in it, to act there */
	size_t max;            /* the most segments to add (SIZE_MAX: all) */
	size_t added;
	bool more;    /* stopped at max with lines left */
	bool stopped; /* options.stop said so */
};

/*
 * Adds the segments of one IPC namespace's /proc/sysvipc/shm text to s:
 * the caller's own (ns 0) as 0xKEY@SHMID, another's keyed and named by
 * its namespace's inode, NS@0xKEY@SHMID, with a process in it to act
 * there; at most rd->max of them. 0 or -ENOMEM.
 */
static int add_segments(struct pshm_scan *s, FILE *f, struct reading *rd)
{
	const struct pshm_scan_options *opt = &s->options;
	char *line = NULL;
	size_t size = 0, lines = 0;
	int r = 0;

	while (r == 0 && getline(&line, &size, f) > 0) {
		unsigned long long huge;
		struct sysv_segment seg;
		struct object *o;
		struct stat st;
		char name[64];

		if (++lines % STOP_EVERY == 0 && opt->stop && opt->stop(opt->stop_ctx)) {
			rd->stopped = true;
			break;
		}
		if (!sysv_parse_line(line, &seg))
			continue; /* the header */
		if (rd->added == rd->max) {
			rd->more = true;
			break;
		}
		huge = sysv_inflated_huge_pages(&seg, &seg.rss);
		sysv_stat_of(seg.shmid, &seg.ds, seg.rss, &st);
		o = objects_of(s, PSHM_KIND_SYSV, (dev_t)rd->ns, (ino_t)seg.shmid, &st);
		if (!o) {
			r = -ENOMEM;
			break;
		}
		rd->added++;
		o->pub.page_size = huge;
		o->huge_blocks = huge != 0;
		o->pub.shmid = seg.shmid;
		o->pub.key = seg.ds.shm_perm.__key;
		o->pub.nattch = seg.ds.shm_nattch;
		o->pub.ipc_ns = rd->ns;
		o->pub.ipc_pid = rd->pid;
		if (rd->ns)
			snprintf(name, sizeof(name), "%llu@0x%08x@%d", rd->ns,
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
	struct reading rd = { .max = SIZE_MAX };
	int r;

	if (!f)
		return errno == ENOENT ? 0 : -errno; /* no System V IPC in this kernel */
	r = add_segments(s, f, &rd);
	fclose(f);
	return r;
}

/* By namespace, then a process in it before a descriptor of it, then by pid. */
static int by_namespace(const void *a, const void *b)
{
	const struct scan_namespace *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns < y->ns ? -1 : 1;
	if (x->by_fd != y->by_fd)
		return x->by_fd ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int by_first_process(const void *a, const void *b)
{
	const struct scan_namespace *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Each namespace of s's list once, its first by by_namespace, in order of namespace. */
static void unique_namespaces(struct pshm_scan *s)
{
	size_t n = 0;

	qsort(s->other_ipcs, s->other_ipc_count, sizeof(*s->other_ipcs), by_namespace);
	for (size_t i = 0; i < s->other_ipc_count; i++)
		if (n == 0 || s->other_ipcs[n - 1].ns != s->other_ipcs[i].ns)
			s->other_ipcs[n++] = s->other_ipcs[i];
	s->other_ipc_count = n;
}

static void note(struct pshm_scan *s, const struct scan_namespace *seen)
{
	size_t n = s->other_ipc_count;

	/* The walk goes by pid: a container's processes mostly come one after another. */
	if (n && s->other_ipcs[n - 1].ns == seen->ns) {
		if (by_namespace(seen, &s->other_ipcs[n - 1]) < 0)
			s->other_ipcs[n - 1] = *seen;
		return;
	}
	if (s->ipc_unnoted)
		return;
	if (n == s->other_ipc_capacity) {
		size_t capacity = n ? n * 2 : 16;
		struct scan_namespace *more;

		if (capacity > SCAN_IPC_NAMESPACES_MAX) {
			/* Full: the same namespaces seen apart from each other, once each. */
			unique_namespaces(s);
			if (s->other_ipc_count > n / 4 * 3) {
				s->ipc_unnoted = true; /* as many as it tells apart */
				return;
			}
			note(s, seen);
			return;
		}
		more = realloc(s->other_ipcs, capacity * sizeof(*more));
		if (!more) {
			s->ipc_unnoted = true;
			return;
		}
		s->other_ipcs = more;
		s->other_ipc_capacity = capacity;
	}
	s->other_ipcs[s->other_ipc_count++] = *seen;
}

void sysv_note_namespace(struct pshm_scan *s, unsigned long long ns, pid_t pid)
{
	note(s, &(struct scan_namespace){ .ns = ns, .pid = pid });
}

void sysv_note_namespace_fd(struct pshm_scan *s, unsigned long long ns, pid_t pid, int fd)
{
	note(s, &(struct scan_namespace){ .ns = ns, .pid = pid, .by_fd = true, .fd = fd });
}

/* What one owner's namespaces have made the scan read so far. */
struct owner {
	uid_t uid;
	size_t namespaces, segments;
};

/* The segments of the other namespaces, read by a thread that enters them. */
struct others {
	struct pshm_scan *s;
	struct owner *owners;
	size_t owner_count;
	int r;
};

/* The record of uid among o's owners, made on first sight: NULL when out of memory. */
static struct owner *owner_of(struct others *o, uid_t uid)
{
	struct owner *more;

	for (size_t i = 0; i < o->owner_count; i++)
		if (o->owners[i].uid == uid)
			return &o->owners[i];
	more = realloc(o->owners, (o->owner_count + 1) * sizeof(*more));
	if (!more)
		return NULL;
	o->owners = more;
	more[o->owner_count] = (struct owner){ .uid = uid };
	return &more[o->owner_count++];
}

/* Reads the namespace it is in now into s, within what owner may still make it read. */
static int read_here(struct pshm_scan *s, const struct scan_namespace *n, struct owner *owner,
		     bool *ret_stopped)
{
	struct reading rd = { .ns = n->ns, .pid = n->pid, .max = SIZE_MAX };
	FILE *f = fopen("/proc/sysvipc/shm", "re");
	int r;

	if (!f) {
		s->ipc_skipped++;
		return 0;
	}
	if (owner)
		rd.max = SYSV_OWNER_SEGMENTS_MAX - owner->segments;
	r = add_segments(s, f, &rd);
	fclose(f);
	if (owner)
		owner->segments += rd.added;
	s->ipc_skipped += rd.more || rd.stopped;
	*ret_stopped = rd.stopped;
	return r;
}

/*
 * Reads each namespace's segments from a thread of its own that enters
 * them one after another (setns moves that thread only), so the caller's
 * threads stay where they are; in the order of their first process, so
 * the longest-running containers come first. Reading /proc/sysvipc/shm
 * never blocks. The namespaces of one owner other than root are read
 * within SYSV_OWNER_NAMESPACES_MAX and SYSV_OWNER_SEGMENTS_MAX: a user
 * who makes many namespaces, or fills them, slows no scan down and hides
 * no one else's container; what is left out is counted.
 */
static void *read_namespaces(void *arg)
{
	struct others *o = arg;
	struct pshm_scan *s = o->s;
	const struct pshm_scan_options *opt = &s->options;

	for (size_t i = 0; o->r == 0 && i < s->other_ipc_count; i++) {
		const struct scan_namespace *n = &s->other_ipcs[i];
		struct owner *owner = NULL;
		bool stopped = false;
		uid_t uid = (uid_t)-1; /* set by an ioctl valgrind does not know */
		int fd, r;

		if (opt->stop && opt->stop(opt->stop_ctx)) {
			o->r = -ETIMEDOUT;
			break;
		}
		/* Its owner first: a namespace past its owner's bounds is never entered. */
		fd = sysv_open_namespace(n->ns, n->pid, n->by_fd, n->fd);
		r = fd < 0 ? fd : sysv_namespace_owner(fd, &uid);
		if (r == 0 && uid != 0) {
			owner = owner_of(o, uid);
			if (!owner) {
				close(fd);
				o->r = -ENOMEM;
				break;
			}
			if (owner->namespaces == SYSV_OWNER_NAMESPACES_MAX ||
			    owner->segments == SYSV_OWNER_SEGMENTS_MAX) {
				close(fd);
				s->ipc_skipped++;
				continue;
			}
		}
		if (r == 0 && setns(fd, CLONE_NEWIPC) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		if (r == -EPERM || r == -EACCES)
			continue; /* not root: not the caller's to read, nothing left out */
		if (r < 0) {
			s->ipc_skipped += r != -ENOENT; /* gone meanwhile: nothing left out */
			continue;
		}
		if (owner)
			owner->namespaces++;
		o->r = read_here(s, n, owner, &stopped);
		if (o->r == 0 && stopped)
			o->r = -ETIMEDOUT;
	}
	return NULL;
}

int sysv_hold_later(struct pshm_scan *s, const struct pshm_holder *h, unsigned long long ns,
		    ino_t shmid, dev_t dev, const char *path, int dir, const struct stat *known)
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
	if (known)
		st = *known;
	if (sysv_huge_page_size(dev) && (known || pshm_link_stat(dir, files, &st) == 0) &&
	    st.st_ino == shmid)
		p->huge_blocks = st.st_blocks;
	return 0;
}

int sysv_scan_merge(struct pshm_scan *s, struct pshm_scan *part)
{
	s->ipc_unnoted |= part->ipc_unnoted;
	for (size_t i = 0; i < part->other_ipc_count; i++)
		note(s, &part->other_ipcs[i]);
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
	struct others o = { .s = s };
	pthread_t thread;
	int r;

	if (!s->other_ipc_count)
		return hold_pending(s);
	unique_namespaces(s);
	qsort(s->other_ipcs, s->other_ipc_count, sizeof(*s->other_ipcs), by_first_process);
	r = sysv_thread(&thread, read_namespaces, &o);
	if (r == 0) {
		pthread_join(thread, NULL);
		r = o.r;
	} else {
		s->ipc_skipped += (unsigned)s->other_ipc_count;
		r = 0;
	}
	free(o.owners);
	return r < 0 ? r : hold_pending(s); /* pshm_scan_free frees what is pending */
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the walk of every process of a scan. The cost of a scan is the
 * kernel's, once per process, and processes are independent: many are
 * shared out among a few worker threads, each filling a part of its own
 * that is added up at the end (process.c reads each process).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kiter_i.h"
#include "process_i.h"
#include "procs_i.h"
#include "sysv_i.h"

/* The processes, as /proc lists them now: their pids, ascending. */
static int list_processes(bool skip_self, int proc_dir, long **ret, size_t *ret_count)
{
	long self = (long)getpid(), *pids = NULL;
	size_t count = 0, capacity = 0;
	struct dirent *de;
	int fd = dup(proc_dir);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);

	if (!dir) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return -e;
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || (skip_self && pid == self))
			continue;
		if (count == capacity) {
			long *bigger = realloc(pids, (capacity = capacity ? capacity * 2 : 256) *
							     sizeof(*pids));

			if (!bigger) {
				free(pids);
				closedir(dir);
				return -ENOMEM;
			}
			pids = bigger;
		}
		pids[count++] = pid;
	}
	closedir(dir);
	*ret = pids;
	*ret_count = count;
	return 0;
}

/* Processes are shared out among workers this many at a time. */
#define SCAN_BATCH 16
/* Workers of one scan at most, and processes per worker at least. */
#define SCAN_WORKERS_MAX 4
#define SCAN_PROCESSES_PER_WORKER 128

/* How many workers share count processes: one per CPU, at most SCAN_WORKERS_MAX, each with many. */
static size_t workers_for(size_t count)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = 1;

	while (n < SCAN_WORKERS_MAX && (long)n < cpus &&
	       count / (n + 1) >= SCAN_PROCESSES_PER_WORKER)
		n++;
	return n;
}

struct worker {
	struct pshm_scan *s; /* the worker's own part, or the scan itself */
	int proc_dir;
	bool need_fds;
	const long *pids;
	size_t count;
	size_t *next; /* the next batch to take, shared */
	int r;
	pthread_t thread;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	while (w->r == 0) {
		size_t at = __atomic_fetch_add(w->next, SCAN_BATCH, __ATOMIC_RELAXED);

		if (at >= w->count)
			break;
		for (size_t i = at; i < at + SCAN_BATCH && i < w->count && w->r == 0; i++) {
			const struct pshm_scan_options *o = &w->s->options;

			if (o->stop && o->stop(o->stop_ctx))
				w->r = -ETIMEDOUT;
			else
				w->r = process_scan(w->s, w->proc_dir, w->pids[i], w->need_fds);
		}
	}
	return NULL;
}

/* A worker's own part of s, empty: 0, or -ENOMEM. */
static int part_of(struct pshm_scan *s, struct pshm_scan **ret)
{
	struct pshm_scan *part = objects_scan_new();

	if (!part)
		return -ENOMEM;
	part->kinds = s->kinds;
	part->wanted = s->wanted;
	memcpy(part->ipc_ns, s->ipc_ns, sizeof(part->ipc_ns));
	part->own_ipc = s->own_ipc;
	part->other_ipc = s->other_ipc;
	part->mnt_noted = s->mnt_noted;
	part->own_mnt = s->own_mnt;
	part->options = s->options;
	part->pidfd_ids = s->pidfd_ids;
	part->shm_dev = s->shm_dev;
	part->huge_mount_count = s->huge_mount_count;
	memcpy(part->huge_mount_dev, s->huge_mount_dev, sizeof(part->huge_mount_dev));
	memcpy(part->huge_mount_page, s->huge_mount_page, sizeof(part->huge_mount_page));
	part->parent = s;
	if (s->only) {
		part->only = objects_of(part, s->only->kind, s->only->dev, s->only->ino,
					&s->only->pub.st);
		if (!part->only) {
			pshm_scan_free(part);
			return -ENOMEM;
		}
	}
	*ret = part;
	return 0;
}

/*
 * Adds a worker's part into s and frees it: its objects move over, or
 * their holders join the same object's (another worker found it too).
 */
static int merge_part(struct pshm_scan *s, struct pshm_scan *part)
{
	int r = 0;

	for (size_t i = 0; i < part->bucket_count; i++) {
		while (part->buckets[i]) {
			struct object *o = part->buckets[i], *m;

			part->buckets[i] = o->next;
			m = objects_find(s, o->kind, o->dev, o->ino);
			if (!m && r == 0 && objects_insert(s, o) == 0)
				continue;
			if (!m)
				r = -ENOMEM;
			/* Each object of that identity: every name of a hard-linked segment. */
			for (; m; m = objects_same_after(m)) {
				for (size_t h = 0; r == 0 && h < o->pub.holder_count; h++)
					r = objects_add_holder(s, m, &o->holders[h]);
				m->pub.exec_mapped |= o->pub.exec_mapped;
				/* What a mapping showed: on huge pages, and their own count. */
				if (o->pub.page_size)
					m->pub.page_size = o->pub.page_size;
				if (o->huge_blocks && !m->huge_blocks) {
					m->pub.st.st_blocks = o->pub.st.st_blocks;
					m->huge_blocks = true;
				} else if (!m->huge_blocks && o->pub.page_size &&
					   o->pub.st.st_blocks > m->pub.st.st_blocks) {
					/* Counted from smaps: the largest mapping's pages. */
					m->pub.st.st_blocks = o->pub.st.st_blocks;
				}
			}
			objects_free(o);
		}
	}
	objects_merge_unreadable(s, part);
	for (size_t i = 0; i < part->other_mnt_count; i++)
		objects_note_namespace(s->other_mnts, &s->other_mnt_count, SCAN_MNT_NAMESPACES_MAX,
				       part->other_mnts[i].ns, part->other_mnts[i].pid);
	if (r == 0)
		r = sysv_scan_merge(s, part);
	pshm_scan_free(part);
	return r;
}

static int by_first_process(const void *a, const void *b)
{
	const struct scan_namespace *x = a, *y = b;

	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * Every process, shared out among a few workers (one per CPU, at most
 * SCAN_WORKERS_MAX, and only for many processes): the cost of a scan is
 * the kernel's, once per process, and processes are independent.
 */
int procs_scan(struct pshm_scan *s)
{
	/*
	 * Only mappings show System V segments and shared anonymous memory;
	 * but for root, descriptors show the IPC namespaces no process is in.
	 */
	bool need_fds = s->only ||
			(s->kinds & (PSHM_KIND_SEGMENT | PSHM_KIND_DELETED | PSHM_KIND_MEMFD)) ||
			((s->kinds & PSHM_KIND_SYSV) && s->other_ipc && geteuid() == 0);
	struct worker workers[SCAN_WORKERS_MAX];
	size_t count = 0, next = 0, n;
	long *pids = NULL;
	int proc_dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (proc_dir < 0)
		return -errno;
	r = list_processes(s->options.skip_self, proc_dir, &pids, &count);
	if (r < 0) {
		close(proc_dir);
		return r;
	}
	/* From the kernel's iterators when they may be used and run at all. */
	if (kiter_usable(s)) {
		r = procs_scan_kiter(s, proc_dir, pids, count, need_fds);
		if (r <= 0)
			goto done;
	}
	n = workers_for(count);
	for (size_t i = 0; i < n; i++)
		workers[i] = (struct worker){ .s = s,
					      .proc_dir = proc_dir,
					      .need_fds = need_fds,
					      .pids = pids,
					      .count = count,
					      .next = &next };
	/*
	 * One worker works on s itself; several each on a part of their own
	 * (s is only read meanwhile), added up at the end. Worker 0 is this
	 * thread; a worker that cannot start leaves its share to the others.
	 */
	for (size_t i = 0; n > 1 && i < n; i++) {
		if (part_of(s, &workers[i].s) < 0 ||
		    (i > 0 && pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0)) {
			if (workers[i].s != s)
				pshm_scan_free(workers[i].s);
			workers[i].s = s;
			n = i;
			break;
		}
	}
	if (n == 0) { /* not even worker 0's part: on s alone */
		workers[0].s = s;
		n = 1;
	}
	work(&workers[0]);
	r = workers[0].r;
	for (size_t i = 1; i < n; i++) {
		pthread_join(workers[i].thread, NULL);
		if (r == 0)
			r = workers[i].r;
	}
	for (size_t i = 0; i < n; i++) {
		if (workers[i].s != s) {
			int m = merge_part(s, workers[i].s);

			if (r == 0)
				r = m;
		}
	}
done:
	free(pids);
	close(proc_dir);
	/* The mount namespaces in process order, as a walk of /proc meets them. */
	qsort(s->other_mnts, s->other_mnt_count, sizeof(*s->other_mnts), by_first_process);
	return r;
}

static int by_process(const void *a, const void *b)
{
	const struct pshm_holder *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd > y->fd ? -1 : 1; /* descriptors first, then mappings */
	return x->start < y->start ? -1 : x->start > y->start;
}

void procs_order_holders(struct pshm_scan *s)
{
	/* In process order, whichever worker (or the end of the walk) found them. */
	for (size_t i = 0; i < s->bucket_count; i++)
		for (struct object *o = s->buckets[i]; o; o = o->next)
			if (o->pub.holder_count > 1)
				qsort(o->holders, o->pub.holder_count, sizeof(*o->holders),
				      by_process);
}

/* Looked at by no worker: the deadline passed first. */
#define NS_UNSEEN (~0ULL)

/* What the workers of procs_namespaces share. */
struct ns_walk {
	int proc_dir;
	const char *type; /* "mnt" */
	const long *pids;
	unsigned long long *ns; /* each process's namespace's inode, 0 when unknown */
	size_t count, next;
	uint64_t deadline_ms;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The inode of a namespace link of type ("mnt:[4026531841]"), or 0. */
static unsigned long long ns_inode(const char *link, const char *type)
{
	size_t len = strlen(type);
	char *end;
	unsigned long long n;

	if (strncmp(link, type, len) != 0 || strncmp(link + len, ":[", 2) != 0)
		return 0;
	n = strtoull(link + len + 2, &end, 10);
	return *end == ']' ? n : 0;
}

static void *read_namespaces(void *arg)
{
	struct ns_walk *w = arg;
	char path[64], link[64];

	for (;;) {
		size_t at = __atomic_fetch_add(&w->next, SCAN_BATCH, __ATOMIC_RELAXED);

		if (at >= w->count || now_ms() >= w->deadline_ms)
			break;
		for (size_t i = at; i < at + SCAN_BATCH && i < w->count; i++) {
			ssize_t n;

			snprintf(path, sizeof(path), "%ld/ns/%s", w->pids[i], w->type);
			n = readlinkat(w->proc_dir, path, link, sizeof(link) - 1);
			w->ns[i] = n > 0 ? (link[n] = '\0', ns_inode(link, w->type)) : 0;
		}
	}
	return NULL;
}

ssize_t procs_namespaces(const char *type, unsigned long long own, struct scan_namespace *list,
			 size_t max, uint64_t deadline_ms, bool *ret_partial)
{
	struct ns_walk w = { .type = type, .deadline_ms = deadline_ms };
	pthread_t threads[SCAN_WORKERS_MAX];
	size_t n, started = 1, found = 0;
	long *pids = NULL;
	int r;

	w.proc_dir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.proc_dir < 0)
		return -errno;
	r = list_processes(false, w.proc_dir, &pids, &w.count);
	w.pids = pids;
	w.ns = r == 0 ? malloc((w.count ? w.count : 1) * sizeof(*w.ns)) : NULL;
	if (r == 0 && !w.ns)
		r = -ENOMEM;
	if (r < 0) {
		free(pids);
		close(w.proc_dir);
		return r;
	}
	for (size_t i = 0; i < w.count; i++)
		w.ns[i] = NS_UNSEEN;
	/* This thread is one of the workers; one that cannot start leaves its share. */
	n = workers_for(w.count);
	while (started < n && pthread_create(&threads[started], NULL, read_namespaces, &w) == 0)
		started++;
	read_namespaces(&w);
	for (size_t i = 1; i < started; i++)
		pthread_join(threads[i], NULL);
	*ret_partial = false;
	/* In process order: each namespace's first process, as a walk of /proc meets them. */
	for (size_t i = 0; i < w.count && found < max; i++) {
		if (w.ns[i] == NS_UNSEEN) {
			*ret_partial = true; /* processes left unlooked at */
			break;
		}
		if (w.ns[i] && w.ns[i] != own)
			objects_note_namespace(list, &found, max, w.ns[i], (pid_t)pids[i]);
	}
	free(w.ns);
	free(pids);
	close(w.proc_dir);
	return (ssize_t)found;
}

PSHM_EXPORT bool pshm_process_readable(pid_t pid, unsigned long long start_time)
{
	char path[32];
	int dir, fd;
	bool same;

	snprintf(path, sizeof(path), "/proc/%ld", (long)pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return false;
	/*
	 * The directory stays that process's even if the pid is reused: once
	 * it is the one that started at start_time, fd below is its own.
	 */
	same = !start_time || process_start_time(dir) == start_time;
	/*
	 * What reading its descriptors takes: entering fd/ (its owner, the
	 * process's effective uid, or root when it is not dumpable; hidepid=)
	 * and ptrace_may_access(PTRACE_MODE_READ_FSCREDS), which each link
	 * asks and opening environ asks for any process, with or without
	 * descriptors: real, effective and saved ids, dumpable, capabilities.
	 */
	for (size_t i = 0; same && i < 2; i++) {
		fd = openat(dir, i == 0 ? "fd" : "environ",
			    O_RDONLY | O_CLOEXEC | (i == 0 ? O_DIRECTORY : 0));
		same = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	close(dir);
	return same;
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: which cgroup each holder of a usage by cgroup is in, from
 * /proc/PID/cgroup (once per process, by a few threads for many), or,
 * after a scan made of the kernel iterators, once per cgroup: their
 * records carry each process's cgroup id, and a path read for one
 * process of a cgroup is the others' once it still names that cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups_i.h"

/*
 * /proc/PID/cgroup whole into *buf (its *size grown as needed), through
 * proc_dir: its length, or -1 when it cannot be read (gone).
 */
static ssize_t read_cgroup_file(int proc_dir, pid_t pid, char **buf, size_t *size)
{
	char name[32];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%ld/cgroup", (long)pid);
	fd = openat(proc_dir, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	do {
		if (len + 1 >= *size) {
			size_t bigger = *size ? *size * 2 : 4096;
			char *more = realloc(*buf, bigger);

			if (!more) {
				close(fd);
				return -1;
			}
			*buf = more;
			*size = bigger;
		}
		n = read(fd, *buf + len, *size - len - 1);
		if (n > 0)
			len += (size_t)n;
		/*
		 * The file is one record (proc_cgroup_show, whole at each
		 * read): a read that left room was all of it, and the read
		 * that would say so costs as much as a holder's line.
		 */
	} while (n > 0 && len + 1 >= *size);
	close(fd);
	if (n < 0)
		return -1;
	(*buf)[len] = '\0';
	return (ssize_t)len;
}

/*
 * pid's cgroup in that hierarchy into path (size bytes), with *buf (of
 * *buf_size) to read into: 0, or -ENOENT (gone, or none).
 */
static int cgroup_of(const struct hierarchy *h, int proc_dir, pid_t pid, char *path, size_t size,
		     char **buf, size_t *buf_size)
{
	ssize_t len = read_cgroup_file(proc_dir, pid, buf, buf_size);
	char *line, *end;

	for (line = *buf; len > 0 && line < *buf + len; line = end + 1) {
		char *controllers, *where;

		end = strchrnul(line, '\n');
		*end = '\0';
		controllers = strchr(line, ':');
		if (!controllers || !(where = strchr(controllers + 1, ':')))
			continue;
		/* "ID:CONTROLLERS:PATH": each field its own string (v2's is "0::PATH"). */
		*where++ = '\0';
		where[strcspn(where, "\n")] = '\0';
		*controllers++ = '\0';
		if (h->v2 ? strcmp(line, "0") == 0 && !controllers[0]
			  : strstr(controllers, "memory") != NULL) {
			snprintf(path, size, "%s", where);
			return 0;
		}
	}
	return -ENOENT;
}

static size_t slot_of(const struct by_cgroup *b, pid_t pid)
{
	size_t i = ((size_t)(unsigned)pid * 0x9E3779B1u) & (b->slot_count - 1);

	while (b->slots[i] && b->known[b->slots[i] - 1].pid != pid)
		i = (i + 1) & (b->slot_count - 1);
	return i;
}

/* pid's entry in b->known, added (path unknown) when new: its index, or -1 when out of memory. */
static ssize_t known_entry(struct by_cgroup *b, pid_t pid)
{
	size_t slot;

	if (b->slot_count && b->slots[slot = slot_of(b, pid)])
		return (ssize_t)(b->slots[slot] - 1);
	if (b->known_count == b->known_capacity) {
		size_t bigger = b->known_capacity ? b->known_capacity * 2 : 64;
		struct known *more = realloc(b->known, bigger * sizeof(*more));

		if (!more)
			return -1;
		b->known = more;
		b->known_capacity = bigger;
	}
	/* Half full at most: grown (and filled again) before that. */
	if ((b->known_count + 1) * 2 > b->slot_count) {
		size_t count = b->slot_count ? b->slot_count * 2 : 128;
		size_t *slots = calloc(count, sizeof(*slots));

		if (!slots)
			return -1;
		free(b->slots);
		b->slots = slots;
		b->slot_count = count;
		for (size_t i = 0; i < b->known_count; i++)
			b->slots[slot_of(b, b->known[i].pid)] = i + 1;
	}
	b->known[b->known_count] = (struct known){ .pid = pid, .first = -1 };
	b->slots[slot_of(b, pid)] = ++b->known_count;
	return (ssize_t)(b->known_count - 1);
}

ssize_t cgroups_index(struct by_cgroup *b, pid_t pid)
{
	size_t before = b->known_count;
	ssize_t i = known_entry(b, pid);

	if (i < 0)
		return -1;
	if ((size_t)i == before && cgroup_of(&b->h, b->proc_dir, pid, b->known[i].path,
					     sizeof(b->known[i].path), &b->buf, &b->buf_size) < 0)
		b->known[i].path[0] = '\0';
	return b->known[i].path[0] ? i : -1;
}

/* Readers of many processes' cgroups at most, processes each at least, and per batch. */
#define CGROUP_READERS_MAX 4
#define CGROUP_PROCESSES_PER_READER 128
#define CGROUP_BATCH 16

struct reader {
	struct by_cgroup *b;
	size_t *next; /* the next batch of b->known to read, shared */
	char *buf;    /* its own, for /proc/PID/cgroup */
	size_t buf_size;
	pthread_t thread;
};

static void *read_cgroups(void *arg)
{
	struct reader *r = arg;
	struct by_cgroup *b = r->b;

	for (;;) {
		size_t at = __atomic_fetch_add(r->next, CGROUP_BATCH, __ATOMIC_RELAXED);

		if (at >= b->known_count)
			break;
		for (size_t i = at; i < at + CGROUP_BATCH && i < b->known_count; i++)
			if (b->known[i].first < 0 &&
			    cgroup_of(&b->h, b->proc_dir, b->known[i].pid, b->known[i].path,
				      sizeof(b->known[i].path), &r->buf, &r->buf_size) < 0)
				b->known[i].path[0] = '\0';
	}
	return NULL;
}

struct by_id {
	unsigned long long id;
	size_t i;
};

static int by_id(const void *a, const void *b)
{
	const struct by_id *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/*
 * After a scan made of the kernel iterators: each holder's cgroup id, and
 * for all but the first of each cgroup that first (whose path will be
 * read for them all). 0, or -ENOMEM.
 */
static int group_by_id(struct by_cgroup *b, const struct pshm_scan *s)
{
	struct by_id *ids = malloc((b->known_count + 1) * sizeof(*ids));
	size_t count = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < b->known_count; i++) {
		b->known[i].id = pshm_scan_task_cgroup(s, b->known[i].pid, b->h.v2);
		if (b->known[i].id)
			ids[count++] = (struct by_id){ b->known[i].id, i };
	}
	qsort(ids, count, sizeof(*ids), by_id);
	for (size_t i = 1; i < count; i++)
		if (ids[i].id == ids[i - 1].id)
			b->known[ids[i].i].first = b->known[ids[i - 1].i].first >= 0
							   ? b->known[ids[i - 1].i].first
							   : (ssize_t)ids[i - 1].i;
	free(ids);
	return 0;
}

/* Whether k's path, read from /proc, names the cgroup of its id (a process may move meanwhile). */
static bool path_has_id(const struct by_cgroup *b, const struct known *k)
{
	char path[PSHM_CGROUP_PATH_MAX + 300];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", b->h.mount, k->path);
	return k->path[0] && b->h.mount[0] && stat(path, &st) == 0 && st.st_ino == k->id;
}

/*
 * Each holder that shares its cgroup's id with a first: that first's
 * path, when it names that cgroup; else its own, read from /proc.
 */
static void share_paths(struct by_cgroup *b)
{
	for (size_t i = 0; i < b->known_count; i++) {
		struct known *k = &b->known[i], *first;

		if (k->first < 0)
			continue;
		first = &b->known[k->first];
		if (!first->checked)
			first->checked = path_has_id(b, first) ? 1 : -1;
		if (first->checked > 0)
			memcpy(k->path, first->path, sizeof(k->path));
		else if (cgroup_of(&b->h, b->proc_dir, k->pid, k->path, sizeof(k->path), &b->buf,
				   &b->buf_size) < 0)
			k->path[0] = '\0';
	}
}

/*
 * When viewer sees every holder (no may_read to ask): the cgroup of each
 * holder of an object it sees, read before they are added up, shared out
 * among a few threads (one per CPU, at most CGROUP_READERS_MAX, and only
 * for many processes): reading them is the kernel's work, once per
 * process, or per cgroup after a scan of the kernel iterators. 0, or
 * -ENOMEM.
 */
int cgroups_read_holders(struct by_cgroup *b, const struct pshm_scan *s,
			 const struct pshm_viewer *viewer)
{
	struct reader readers[CGROUP_READERS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t n = 1, next = 0;

	if (viewer->may_read)
		return 0;
	for (size_t i = 0; i < pshm_scan_count(s); i++) {
		const struct pshm_object *o = pshm_scan_at(s, i);

		if (!pshm_object_visible(o, viewer))
			continue;
		for (size_t h = 0; h < o->holder_count; h++)
			if ((h == 0 || o->holders[h].pid != o->holders[h - 1].pid) &&
			    known_entry(b, o->holders[h].pid) < 0)
				return -ENOMEM;
	}
	if (group_by_id(b, s) < 0)
		return -ENOMEM;
	while (n < CGROUP_READERS_MAX && (long)n < cpus &&
	       b->known_count / (n + 1) >= CGROUP_PROCESSES_PER_READER)
		n++;
	for (size_t i = 0; i < n; i++) {
		readers[i] = (struct reader){ .b = b, .next = &next };
		/* A reader that cannot start leaves its share to the others. */
		if (i > 0 && pthread_create(&readers[i].thread, NULL, read_cgroups, &readers[i])) {
			n = i;
			break;
		}
	}
	read_cgroups(&readers[0]);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			pthread_join(readers[i].thread, NULL);
		free(readers[i].buf);
	}
	share_paths(b);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: who a process of a scan is, read only once it holds something
 * (most hold nothing): its real uid and gid and its command name (from
 * /proc/PID/status), and when it started (/proc/PID/stat).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "process_i.h"

/* /proc/PID/stat into buf (size bytes), NUL-terminated: its length, or -errno. */
static ssize_t read_stat(int dir, char *buf, size_t size)
{
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);
	int e = errno;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return n < 0 ? -e : -ENOENT;
	buf[n] = '\0';
	return n;
}

/* Field 22 of a stat text, after the command name, which may hold spaces and ')': 0 if none. */
static unsigned long long start_of(const char *stat)
{
	const char *at = strrchr(stat, ')');
	unsigned long long start = 0;

	/* The 20th space after it starts field 22. */
	for (int field = 0; at && field < 20; field++)
		at = strchr(at + 1, ' ');
	if (at && sscanf(at, " %llu", &start) != 1)
		start = 0;
	return start;
}

unsigned long long process_start_time(int dir)
{
	char buf[1024];

	return read_stat(dir, buf, sizeof(buf)) < 0 ? 0 : start_of(buf);
}

/*
 * A command name as one word of text that no reader takes for an escape
 * (no backslash): it is the process's to choose.
 */
static void clean_comm(char *comm)
{
	for (char *c = comm; *c; c++)
		if (!isgraph((unsigned char)*c) || *c == '\\')
			*c = '_';
}

/* The process's ids and command name from its status, as the kernel writes them there. */
static int read_status(struct process *p)
{
	char buf[2048], *line;
	int fd = openat(p->dir, "status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	line = strstr(buf, "\nUid:");
	if (!line || sscanf(line + 5, "%u %u %u", &p->uids[0], &p->uids[1], &p->uids[2]) != 3)
		return -ENOENT;
	line = strstr(buf, "\nGid:");
	if (!line || sscanf(line + 5, "%u %u %u", &p->gids[0], &p->gids[1], &p->gids[2]) != 3)
		return -ENOENT;
	snprintf(p->comm, sizeof(p->comm), "?");
	if (strncmp(buf, "Name:\t", 6) == 0) {
		size_t len = strcspn(buf + 6, "\n");

		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)len, buf + 6);
	}
	return 0;
}

/* The process's ids, command name and start: 0, or -ENOENT when it is gone. */
static int read_ids(struct pshm_scan *s, struct process *p)
{
	int r = read_status(p);

	(void)s;
	if (r < 0)
		return r;
	p->start_time = process_start_time(p->dir);
	p->uid = p->uids[0];
	p->gid = p->gids[0];
	clean_comm(p->comm);
	return 0;
}

bool process_owned_by(struct pshm_scan *s, struct process *p, struct pshm_holder *h)
{
	if (!p->status_read) {
		p->gone = read_ids(s, p) < 0;
		p->status_read = true;
	}
	h->uid = p->uid;
	h->start_time = p->start_time;
	memcpy(h->comm, p->comm, sizeof(h->comm));
	return !p->gone;
}

bool process_may_be_read(struct pshm_scan *s, struct process *p)
{
	p->gone = read_ids(s, p) < 0;
	p->status_read = true;
	if (p->gone)
		return false;
	for (int i = 0; i < 3; i++)
		if (p->uids[i] != s->options.reader_uid || p->gids[i] != s->options.reader_gid)
			return false;
	return true;
}

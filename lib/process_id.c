/* SPDX-License-Identifier: MIT */
/*
 * libpshm: who a process of a scan is, read only once it holds something
 * (most hold nothing): its real uid and gid, its command name and when it
 * started. The ids come from a pidfd where the kernel gives them
 * (PIDFD_GET_INFO, Linux 6.13), else from /proc/PID/status; the name and
 * start from /proc/PID/stat, the name written as status writes it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "process_i.h"

/* The first version of the kernel's struct pidfd_info (linux/pidfd.h): the ids. */
struct pidfd_ids {
	uint64_t mask;
	uint64_t cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
};
_Static_assert(sizeof(struct pidfd_ids) == 64, "PIDFD_INFO_SIZE_VER0");
#define PIDFD_IDS_GET _IOWR(0xFF, 11, struct pidfd_ids) /* PIDFD_GET_INFO */
#define PIDFD_IDS_CREDS 2u                              /* PIDFD_INFO_CREDS */

bool process_pidfd_usable(void)
{
	char self[32];
	ssize_t n = readlink("/proc/self", self, sizeof(self) - 1);

	/*
	 * pidfd_open takes a pid of the caller's pid namespace, and /proc
	 * lists those of its own: /proc of another namespace would call the
	 * caller otherwise (and each process's parent is checked too).
	 */
	if (n <= 0)
		return false;
	self[n] = '\0';
	return strtol(self, NULL, 10) == (long)getpid();
}

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

/*
 * Field number field (from 3) of a stat text, after the command name,
 * which may hold spaces and ')': 0 if none.
 */
static unsigned long long stat_field(const char *stat, int field)
{
	const char *at = strrchr(stat, ')');
	unsigned long long value = 0;

	/* The (field - 2)th space after it starts it. */
	for (int space = 0; at && space < field - 2; space++)
		at = strchr(at + 1, ' ');
	if (at && sscanf(at, " %llu", &value) != 1)
		value = 0;
	return value;
}

#define STAT_PPID 4
#define STAT_START 22

unsigned long long process_start_time(int dir)
{
	char buf[1024];

	return read_stat(dir, buf, sizeof(buf)) < 0 ? 0 : stat_field(buf, STAT_START);
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

/* What a failed pidfd_open or PIDFD_GET_INFO means, as read_pidfd returns it. */
static int pidfd_failure(int e)
{
	if (e == ESRCH)
		return -ENOENT; /* gone */
	if (e == ENOSYS || e == ENOTTY || e == EINVAL)
		return -ENOTTY; /* a kernel without them */
	return -EAGAIN;         /* out of descriptors or memory: this process's status instead */
}

/*
 * The process's ids from a pidfd of it, and its parent's pid: 0, -ENOENT
 * (gone), -ENOTTY when the kernel has no PIDFD_GET_INFO, or -EAGAIN (read
 * the status).
 */
static int read_pidfd(struct process *p, unsigned long long *ret_ppid)
{
	struct pidfd_ids ids = { .mask = PIDFD_IDS_CREDS };
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)p->pid, 0), r = 0;

	if (fd < 0)
		return pidfd_failure(errno);
	if (ioctl(fd, PIDFD_IDS_GET, &ids) < 0)
		r = pidfd_failure(errno);
	else if (!(ids.mask & PIDFD_IDS_CREDS))
		r = -ENOTTY;
	close(fd);
	if (r < 0)
		return r;
	p->uids[0] = ids.ruid;
	p->uids[1] = ids.euid;
	p->uids[2] = ids.suid;
	p->gids[0] = ids.rgid;
	p->gids[1] = ids.egid;
	p->gids[2] = ids.sgid;
	*ret_ppid = ids.ppid;
	return 0;
}

/*
 * The command name of a stat text into comm, as status writes it (a
 * newline as "\n", a backslash as "\\"): "?" when there is none.
 */
static void comm_of_stat(const char *stat, char *comm, size_t size)
{
	const char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	size_t out = 0;

	if (!open || !close || close < open) {
		snprintf(comm, size, "?");
		return;
	}
	for (const char *c = open + 1; c < close && out + 1 < size; c++) {
		if (*c != '\n' && *c != '\\') {
			comm[out++] = *c;
			continue;
		}
		comm[out++] = '\\';
		if (out + 1 < size)
			comm[out++] = *c == '\n' ? 'n' : '\\';
	}
	comm[out] = '\0';
}

void process_set_comm(struct process *p, const char *comm)
{
	char stat[40];

	snprintf(stat, sizeof(stat), "(%.16s)", comm);
	comm_of_stat(stat, p->comm, sizeof(p->comm));
	clean_comm(p->comm);
}

/* The process's ids, command name and start: 0, or -ENOENT when it is gone. */
static int read_ids(struct pshm_scan *s, struct process *p)
{
	unsigned long long ppid = 0;
	char stat[1024];
	int r = s->pidfd_ids ? read_pidfd(p, &ppid) : -ENOTTY;

	/* A kernel before 6.13 says so once: the status from then on. */
	if (r == -ENOTTY)
		s->pidfd_ids = false;
	if (r == 0) {
		/*
		 * After the pidfd: if the stat of p->dir can be read, p lived
		 * on, so the pid was still its own; and of this process if its
		 * parent is the same both ways.
		 */
		if (read_stat(p->dir, stat, sizeof(stat)) < 0)
			return -ENOENT;
		if (stat_field(stat, STAT_PPID) != ppid) {
			r = -EAGAIN;
		} else {
			comm_of_stat(stat, p->comm, sizeof(p->comm));
			p->start_time = stat_field(stat, STAT_START);
		}
	}
	if (r == -ENOTTY || r == -EAGAIN) {
		r = read_status(p);
		if (r == 0)
			p->start_time = process_start_time(p->dir);
	}
	if (r < 0)
		return r;
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

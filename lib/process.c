/* SPDX-License-Identifier: MIT */
/*
 * libpshm: one process of a scan, and what it holds. Its descriptors
 * (/proc/PID/fd): only those whose link names a shared memory object are
 * stat'ed (through the /proc link, which reaches the object itself), so
 * the scan never waits on a FUSE file system, whatever other processes
 * have open. Its mappings (/proc/PID/maps), read whole and parsed
 * strictly (maps.c). Its status only when it holds something, for its uid
 * and command name.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemons_i.h"
#include "maps_i.h"
#include "process_i.h"
#include "sysv_i.h"

#define DELETED " (deleted)"
#define MEMFD_PREFIX "/memfd:"
#define ZERO_PATH "/dev/zero"
#define ANON_HUGE_PATH "/anon_hugepage" /* MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB */

/* The process being scanned. */
struct process {
	long pid;
	unsigned long long start_time;
	uid_t uid, uids[3]; /* real; real, effective, saved */
	gid_t gid, gids[3];
	char comm[16];
	int dir;          /* /proc/PID */
	bool status_read; /* uid and comm, read when it first holds something */
	bool gone;        /* its status could not be read: it exited */
	bool daemon;      /* it serves a shmfs mount (daemons.c): never a holder */
};

/*
 * When the process of the /proc/PID directory dir started (field 22 of
 * its stat, after the command name, which may hold spaces and ')'): 0
 * when it cannot be read.
 */
unsigned long long process_start_time(int dir)
{
	char buf[1024];
	unsigned long long start = 0;
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	const char *at;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	at = strrchr(buf, ')');
	/* The 20th space after it starts field 22. */
	for (int field = 0; at && field < 20; field++)
		at = strchr(at + 1, ' ');
	if (at && sscanf(at, " %llu", &start) != 1)
		start = 0;
	return start;
}

/* The process's real uid, gid, command name (from its status) and start time. */
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
	p->uid = p->uids[0];
	p->gid = p->gids[0];
	snprintf(p->comm, sizeof(p->comm), "?");
	if (strncmp(buf, "Name:\t", 6) == 0) {
		size_t len = strcspn(buf + 6, "\n");

		snprintf(p->comm, sizeof(p->comm), "%.*s", (int)len, buf + 6);
	}
	/*
	 * A command name is the process's to choose: keep it one word of text
	 * that no reader takes for an escape (no backslash).
	 */
	for (char *c = p->comm; *c; c++)
		if (!isgraph((unsigned char)*c) || *c == '\\')
			*c = '_';
	p->start_time = process_start_time(p->dir);
	return 0;
}

/*
 * Fills h's uid and comm from its process, whose status is read once and
 * only for processes that hold something (most hold nothing): false when
 * the process is gone.
 */
static bool owned_by(struct process *p, struct pshm_holder *h)
{
	if (!p->status_read) {
		p->gone = read_status(p) < 0;
		p->status_read = true;
	}
	h->uid = p->uid;
	h->start_time = p->start_time;
	memcpy(h->comm, p->comm, sizeof(h->comm));
	return !p->gone;
}

/* Whether path ends with " (deleted)"; *ret_len is its length without it. */
static bool deleted(const char *path, size_t *ret_len)
{
	size_t len = strlen(path), suffix = strlen(DELETED);

	if (len < suffix || strcmp(path + len - suffix, DELETED) != 0)
		return false;
	*ret_len = len - suffix;
	return true;
}

/* Whether path is under this scan's shmfs mount (options.mount_path). */
static bool in_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;

	return len && strncmp(path, s->options.mount_path, len) == 0 && path[len] == '/' &&
	       !strchr(path + len + 1, '/');
}

/*
 * Whether path is a file of this scan's shmfs mount that may be a
 * segment: anything under it but the mount's own entries
 * (options.mount_skip).
 */
static bool under_mount(const struct pshm_scan *s, const char *path)
{
	size_t len = s->options.mount_path ? strlen(s->options.mount_path) : 0;
	const char *rest = path + len + 1;

	if (!len || strncmp(path, s->options.mount_path, len) != 0 || path[len] != '/')
		return false;
	for (const char *const *skip = s->options.mount_skip; skip && *skip; skip++)
		if (strcmp(rest, *skip) == 0)
			return false;
	return true;
}

/* fdinfo of a descriptor: its mount id and inode (-1/0 when unknown). */
static void fdinfo_of(int pid_dir, const char *fd_name, long *ret_mnt_id, ino_t *ret_ino)
{
	char path[300], info[1024];
	ssize_t n;
	int fd;

	*ret_mnt_id = -1;
	*ret_ino = 0;
	snprintf(path, sizeof(path), "fdinfo/%s", fd_name);
	fd = openat(pid_dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, info, sizeof(info) - 1);
	close(fd);
	if (n <= 0)
		return;
	info[n] = '\0';
	maps_parse_fdinfo(info, ret_mnt_id, ret_ino);
}

/*
 * A named segment's object by identity (found by pshm_iter first), or
 * NULL: the first of its names; hold_segment reaches them all.
 */
static struct object *segment_by_ino(struct pshm_scan *s, ino_t ino)
{
	return objects_found_before(s, PSHM_KIND_SEGMENT, s->shm_dev, ino);
}

/*
 * Adds h to segment o (or nothing for NULL) under each of its names, so
 * that every name of a hard-linked file has the same holders. A worker
 * has one copy per inode: merge_part adds its holders to each name.
 */
static int hold_segment(struct pshm_scan *s, struct object *o, const struct pshm_holder *h)
{
	int r = 0;

	for (; o && r == 0; o = objects_same_after(o))
		r = objects_add_holder(s, o, h);
	return r;
}

/* A descriptor on target, for a scan of options.only: a holder of it, or not. */
static int fd_holds_only(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name,
			 const char *target, struct pshm_holder *h)
{
	struct stat st;

	if (under_mount(s, target)) {
		long mnt_id;
		ino_t ino;

		/* Through the mount: never stat'ed, that would ask its daemon. */
		fdinfo_of(p->dir, fd_name, &mnt_id, &ino);
		if (mnt_id != s->options.mount_id || ino != s->only->ino)
			return 0;
	} else if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) != 0 ||
		   pshm_link_stat(fd_dir, fd_name, &st) < 0 || st.st_dev != s->only->dev ||
		   st.st_ino != s->only->ino) {
		return 0;
	}
	return owned_by(p, h) ? objects_add_holder(s, s->only, h) : 0;
}

static int scan_fd(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name)
{
	char target[PATH_MAX];
	struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = atoi(fd_name) };
	struct object *o = NULL;
	struct stat st;
	size_t len = 0;
	ssize_t n = readlinkat(fd_dir, fd_name, target, sizeof(target) - 1);
	unsigned kind;

	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (strcmp(target, DAEMONS_FUSE_DEVICE) == 0) {
		p->daemon |= owned_by(p, &h) && daemons_serves_shmfs(p->dir, fd_name, p->uid);
		return 0;
	}
	if (s->only)
		return fd_holds_only(s, p, fd_dir, fd_name, target, &h);
	if (in_mount(s, target)) {
		long mnt_id;
		ino_t ino;

		/* Through the mount: never stat'ed, that would ask its daemon. */
		fdinfo_of(p->dir, fd_name, &mnt_id, &ino);
		if (mnt_id != s->options.mount_id || !owned_by(p, &h))
			return 0;
		o = segment_by_ino(s, ino);
		return hold_segment(s, o, &h);
	}
	if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0)
		kind = deleted(target, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	else if (strncmp(target, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		kind = PSHM_KIND_MEMFD;
	else
		return 0;
	if (!(s->kinds & kind) || pshm_link_stat(fd_dir, fd_name, &st) < 0 ||
	    !S_ISREG(st.st_mode) || !owned_by(p, &h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT || (kind == PSHM_KIND_DELETED && st.st_nlink > 0)) {
		/* " (deleted)" may be part of a real name: the link count decides. */
		o = st.st_dev == s->shm_dev ? segment_by_ino(s, st.st_ino) : NULL;
		return hold_segment(s, o, &h);
	}
	if (kind == PSHM_KIND_DELETED && st.st_dev != s->shm_dev)
		return 0; /* another tmpfs's file, not /dev/shm's */
	if (kind == PSHM_KIND_MEMFD && !sysv_kernel_device(st.st_dev))
		return 0; /* a file of a tmpfs of someone's, named like a memfd */
	o = objects_find(s, kind, st.st_dev, st.st_ino);
	if (!o) {
		char path[64];
		int r;

		o = objects_of(s, kind, st.st_dev, st.st_ino, &st);
		if (!o)
			return -ENOMEM;
		/* MFD_HUGETLB: its own status counts its huge pages. */
		o->pub.page_size = sysv_huge_page_size(st.st_dev);
		o->huge_blocks = o->pub.page_size != 0;
		snprintf(path, sizeof(path), "/proc/%ld/fd/%s", p->pid, fd_name);
		if (kind == PSHM_KIND_DELETED)
			r = objects_name(o, target + strlen(PSHM_DIR) + 1,
					 len - strlen(PSHM_DIR) - 1, false, path);
		else
			r = objects_name(o, target + strlen(MEMFD_PREFIX),
					 (deleted(target, &len) ? len : (size_t)n) -
						 strlen(MEMFD_PREFIX),
					 false, path);
		if (r < 0)
			return r;
	}
	return objects_add_holder(s, o, &h);
}

static int scan_fds(struct pshm_scan *s, struct process *p)
{
	int fd_dir = openat(p->dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = fd_dir < 0 ? -errno : objects_reserve(s, 16384);

	/* getdents64 itself: no stdio directory stream, one system call less per process. */
	while (r == 0) {
		long n = syscall(SYS_getdents64, fd_dir, s->buf, s->buf_size);

		if (n <= 0) {
			r = n < 0 ? -errno : 0;
			break;
		}
		for (long at = 0; at < n && r == 0;) {
			const struct dirent64 *de = (const struct dirent64 *)(s->buf + at);

			at += de->d_reclen;
			if (de->d_name[0] != '.')
				r = scan_fd(s, p, fd_dir, de->d_name);
		}
	}
	if (fd_dir >= 0)
		close(fd_dir);
	return r;
}

/* The huge page size of a hugetlbfs mount of this namespace's with device dev, or 0. */
static unsigned long long huge_mount_page(const struct pshm_scan *s, dev_t dev)
{
	for (size_t i = 0; i < s->huge_mount_count; i++)
		if (s->huge_mount_dev[i] == dev)
			return s->huge_mount_page[i];
	return 0;
}

/*
 * The kind of a mapping by its path, or 0 for none of ours: what it is
 * made as, for those that may be on huge pages (the page size tells,
 * scan_mapping), and PSHM_KIND_HUGETLB for a file of a hugetlbfs mount.
 */
static unsigned mapping_kind(const struct pshm_scan *s, const char *path, const char *perms,
			     dev_t dev)
{
	size_t len;

	if (strncmp(path, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0 && dev == s->shm_dev)
		return deleted(path, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	/* A private mapping of one is the process's own memory, not shared. */
	if (huge_mount_page(s, dev))
		return perms[3] == 's' ? PSHM_KIND_HUGETLB : 0;
	/* The others live on the kernel's own mounts: a path alone can be anyone's file. */
	if (!sysv_kernel_device(dev))
		return 0;
	if (strncmp(path, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		return PSHM_KIND_MEMFD;
	if (strncmp(path, SYSV_PREFIX, strlen(SYSV_PREFIX)) == 0 && deleted(path, &len))
		return PSHM_KIND_SYSV;
	if ((strcmp(path, ZERO_PATH DELETED) == 0 || strcmp(path, ANON_HUGE_PATH DELETED) == 0) &&
	    perms[3] == 's')
		return PSHM_KIND_SHARED_ANON;
	return 0;
}

static int scan_mapping(struct pshm_scan *s, struct process *p, struct pshm_holder *h, dev_t dev,
			ino_t ino, const char *path)
{
	unsigned kind = mapping_kind(s, path, h->perms, dev);
	char files[48], opens[64], number[24];
	bool inspected;
	int r;
	struct object *o;
	struct stat st;
	size_t len;

	if (s->only) {
		/* Mapped directly, or through the mount (FUSE passthrough). */
		if (ino != s->only->ino ||
		    (dev != s->only->dev && !(s->options.mount_path &&
					      dev == s->options.mount_dev && under_mount(s, path))))
			return 0;
		return owned_by(p, h) ? objects_add_holder(s, s->only, h) : 0;
	}
	if (s->options.mount_path && dev == s->options.mount_dev && in_mount(s, path)) {
		o = segment_by_ino(s, ino); /* mapped through the mount */
		return o && owned_by(p, h) ? hold_segment(s, o, h) : 0;
	}
	if (!kind || !(s->kinds & kind) || !owned_by(p, h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT) {
		o = segment_by_ino(s, ino);
		return hold_segment(s, o, h);
	}
	if (kind == PSHM_KIND_SYSV) {
		char ns[64];
		ssize_t n;

		dev_t key;

		/*
		 * The inode of a System V mapping is its id, unique in its IPC
		 * namespace only: the segments of this one are keyed 0, those of
		 * another (read by sysv.c, for root) by its namespace's inode.
		 */
		n = readlinkat(p->dir, "ns/ipc", ns, sizeof(ns) - 1);
		if (n <= 0)
			return 0;
		ns[n] = '\0';
		key = strcmp(ns, s->ipc_ns) == 0 ? 0 : (dev_t)sysv_ns_inode(ns);
		o = objects_find(s->parent ? s->parent : s, PSHM_KIND_SYSV, key, ino);
		if (!o || !sysv_mapping(dev, path, o->pub.key))
			return 0;
		o = objects_found_before(s, PSHM_KIND_SYSV, key, ino);
		if (!o)
			return 0;
		/* SHM_HUGETLB: the attach's own status counts its huge pages (root). */
		o->pub.page_size = sysv_huge_page_size(dev);
		snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
		if (o->pub.page_size && !o->huge_blocks &&
		    pshm_link_stat(p->dir, files, &st) == 0 && st.st_ino == ino) {
			o->pub.st.st_blocks = st.st_blocks;
			o->huge_blocks = true;
		}
		return objects_add_holder(s, o, h);
	}
	o = objects_find(s, kind, dev, ino);
	if (!o) {
		/* The object itself, through the mapping (root: CAP_SYS_ADMIN). */
		snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
		inspected = pshm_link_stat(p->dir, files, &st) == 0 && st.st_ino == ino;
		if (!inspected) {
			/* Not root: the mapping's length, and its holder as owner. */
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFREG | 0600;
			st.st_ino = ino;
			st.st_dev = dev;
			st.st_uid = p->uid;
			st.st_gid = p->gid;
			st.st_size = (off_t)(h->end - h->start);
		} else if (kind == PSHM_KIND_DELETED && st.st_nlink > 0) {
			o = segment_by_ino(s, ino); /* a real name that ends in " (deleted)" */
			return hold_segment(s, o, h);
		}
		o = objects_of(s, kind, dev, ino, &st);
		if (!o)
			return -ENOMEM;
		o->pub.page_size = kind == PSHM_KIND_HUGETLB ? huge_mount_page(s, dev)
							     : sysv_huge_page_size(dev);
		o->huge_blocks = o->pub.page_size && inspected;
		snprintf(opens, sizeof(opens), "/proc/%ld/%s", p->pid, files);
		if (kind == PSHM_KIND_DELETED && deleted(path, &len))
			r = objects_name(o, path + strlen(PSHM_DIR) + 1, len - strlen(PSHM_DIR) - 1,
					 true, opens);
		else if (kind == PSHM_KIND_MEMFD)
			r = objects_name(o, path + strlen(MEMFD_PREFIX),
					 (deleted(path, &len) ? len : strlen(path)) -
						 strlen(MEMFD_PREFIX),
					 true, opens);
		else if (kind == PSHM_KIND_HUGETLB)
			r = objects_name(o, path, deleted(path, &len) ? len : strlen(path), true,
					 opens);
		else
			r = objects_set_text(
				o,
				(snprintf(number, sizeof(number), "%ju", (uintmax_t)ino), number),
				opens);
		if (r < 0)
			return r;
	}
	if (h->perms[2] == 'x')
		o->pub.exec_mapped = true;
	return objects_add_holder(s, o, h);
}

/* /proc/PID/maps whole into the scan's buffer, NUL-terminated: its length, or -errno. */
static ssize_t read_maps(struct pshm_scan *s, const struct process *p)
{
	int fd = openat(p->dir, "maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* The kernel fills a read with whole lines: read until it has no more. */
	do {
		if (objects_reserve(s, len + 65536) < 0) {
			close(fd);
			return -ENOMEM;
		}
		n = read(fd, s->buf + len, s->buf_size - len - 1);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0);
	close(fd);
	if (n < 0)
		return -errno;
	s->buf[len] = '\0';
	return (ssize_t)len;
}

static int scan_maps(struct pshm_scan *s, struct process *p)
{
	ssize_t len = read_maps(s, p);
	char *line, *end;
	int r = 0;

	if (len < 0)
		return (int)len;
	for (line = s->buf; r == 0 && line < s->buf + len; line = end + 1) {
		struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = -1 };
		struct maps_line m;

		end = memchr(line, '\n', (size_t)(s->buf + len - line));
		if (!end)
			end = s->buf + len;
		*end = '\0';
		/* Inode 0: no file, but a System V segment's inode is its id, which may be 0. */
		if (!maps_parse_line(line, &m) ||
		    (!m.inode && strncmp(m.path, SYSV_PREFIX, strlen(SYSV_PREFIX)) != 0))
			continue;
		h.start = m.start;
		h.end = m.end;
		memcpy(h.perms, m.perms, sizeof(h.perms));
		r = scan_mapping(s, p, &h, makedev(m.major_no, m.minor_no), (ino_t)m.inode, m.path);
	}
	return r;
}

/* One process: its descriptors and mappings; 0, or -ENOMEM. */
/*
 * Whether /proc could let the scan's reader read p at all: all its uids
 * and gids are the reader's (read from its status, kept for its holders).
 */
static bool may_be_read(const struct pshm_scan *s, struct process *p)
{
	p->gone = read_status(p) < 0;
	p->status_read = true;
	if (p->gone)
		return false;
	for (int i = 0; i < 3; i++)
		if (p->uids[i] != s->options.reader_uid || p->gids[i] != s->options.reader_gid)
			return false;
	return true;
}

int process_scan(struct pshm_scan *s, int proc_dir, long pid, bool need_fds)
{
	char name[24];
	struct process p = { .pid = pid };
	struct stat st = { 0 }; /* st_ino 0: /proc/PID could not be stat'ed (exited) */
	int fds, maps;

	snprintf(name, sizeof(name), "%ld", pid);
	/*
	 * For one reader: /proc/PID belongs to the process's effective ids
	 * (root's when it is not dumpable), which must be the reader's; one
	 * stat, so that another user's thousands of processes cost little.
	 * Those not read are counted as processes the reader cannot read.
	 */
	if (s->options.readers_only && !s->only &&
	    (fstatat(proc_dir, name, &st, 0) < 0 || st.st_uid != s->options.reader_uid ||
	     st.st_gid != s->options.reader_gid)) {
		objects_unreadable(s, proc_dir, pid, st.st_ino ? EACCES : ESRCH);
		return 0;
	}
	p.dir = openat(proc_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.dir < 0)
		return 0; /* exited meanwhile */
	if (s->options.readers_only && !s->only && !may_be_read(s, &p)) {
		close(p.dir);
		objects_unreadable(s, proc_dir, pid, p.gone ? ESRCH : EACCES);
		return 0;
	}
	fds = need_fds ? scan_fds(s, &p) : 0;
	maps = fds == -ENOMEM || fds == -E2BIG ? fds : scan_maps(s, &p);
	close(p.dir);
	/* Whatever it held before its /dev/fuse descriptor was read goes too. */
	if (p.daemon)
		objects_drop_holders(s, (pid_t)pid);
	if (fds == -ENOMEM || fds == -E2BIG)
		return fds;
	if (maps == -ENOMEM || maps == -E2BIG)
		return maps;
	if (fds == -EACCES || maps == -EACCES)
		objects_unreadable(s, proc_dir, pid, EACCES);
	return 0;
}

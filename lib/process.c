/* SPDX-License-Identifier: MIT */
/*
 * libpshm: one process of a scan, and what it holds. Its descriptors
 * (/proc/PID/fd): only those whose link names a shared memory object are
 * stat'ed (through the /proc link, which reaches the object itself), so
 * the scan never waits on a FUSE file system, whatever other processes
 * have open. Its mappings (process_maps.c). Who it is only when it holds
 * something (process_id.c). Its IPC and mount namespaces: the walk of the
 * processes is also the walk that finds every namespace.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "daemons_i.h"
#include "maps_i.h"
#include "process_i.h"
#include "sysv_i.h"

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

/* A descriptor on target, for a scan of options.only: a holder of it, or not. */
static int fd_holds_only(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name,
			 const char *target, struct pshm_holder *h)
{
	struct stat st;

	if (process_under_mount(s, target)) {
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
	return process_owned_by(s, p, h) ? objects_add_holder(s, s->only, h) : 0;
}

/* The status of the file of descriptor fd_name: known already, or stat'ed through its link. */
static int link_stat(int fd_dir, const char *fd_name, const struct stat *known, struct stat *ret)
{
	if (!known)
		return pshm_link_stat(fd_dir, fd_name, ret);
	*ret = *known;
	return 0;
}

int process_descriptor(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name,
		       const char *target, size_t n, const struct stat *known)
{
	struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = atoi(fd_name) };
	struct object *o = NULL;
	struct stat st;
	size_t len = 0;
	unsigned kind;

	/* An IPC namespace kept by a descriptor, maybe with no process in it. */
	if (strncmp(target, SYSV_NS_LINK, strlen(SYSV_NS_LINK)) == 0) {
		unsigned long long ns = sysv_ns_inode(target);

		if (ns && ns != s->own_ipc && s->other_ipc && (s->kinds & PSHM_KIND_SYSV) &&
		    !s->only)
			sysv_note_namespace_fd(s, ns, (pid_t)p->pid, h.fd);
		return 0;
	}
	if (strcmp(target, DAEMONS_FUSE_DEVICE) == 0) {
		/* The device itself, not a file of that name in someone's mount namespace. */
		p->daemon |= link_stat(fd_dir, fd_name, known, &st) == 0 && S_ISCHR(st.st_mode) &&
			     st.st_rdev == makedev(DAEMONS_FUSE_MAJOR, DAEMONS_FUSE_MINOR) &&
			     process_owned_by(s, p, &h) &&
			     daemons_serves_shmfs(p->dir, fd_name, p->uid);
		return 0;
	}
	if (s->only)
		return fd_holds_only(s, p, fd_dir, fd_name, target, &h);
	if (process_in_mount(s, target)) {
		long mnt_id;
		ino_t ino;

		/* Through the mount: never stat'ed, that would ask its daemon. */
		fdinfo_of(p->dir, fd_name, &mnt_id, &ino);
		if (mnt_id != s->options.mount_id || !process_owned_by(s, p, &h))
			return 0;
		o = objects_segment(s, ino);
		return objects_hold_segment(s, o, &h);
	}
	if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0)
		kind = process_deleted(target, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	else if (strncmp(target, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		kind = PSHM_KIND_MEMFD;
	else
		return 0;
	if (!(s->kinds & kind) || link_stat(fd_dir, fd_name, known, &st) < 0 ||
	    !S_ISREG(st.st_mode) || !process_owned_by(s, p, &h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT || (kind == PSHM_KIND_DELETED && st.st_nlink > 0)) {
		/* " (deleted)" may be part of a real name: the link count decides. */
		o = st.st_dev == s->shm_dev ? objects_segment(s, st.st_ino) : NULL;
		return objects_hold_segment(s, o, &h);
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
					 (process_deleted(target, &len) ? len : n) -
						 strlen(MEMFD_PREFIX),
					 false, path);
		if (r < 0)
			return r;
	}
	return objects_add_holder(s, o, &h);
}

static int scan_fd(struct pshm_scan *s, struct process *p, int fd_dir, const char *fd_name)
{
	char target[PATH_MAX];
	ssize_t n = readlinkat(fd_dir, fd_name, target, sizeof(target) - 1);

	if (n <= 0)
		return 0;
	target[n] = '\0';
	return process_descriptor(s, p, fd_dir, fd_name, target, (size_t)n, NULL);
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

/*
 * The namespaces of the process whose directory is path under dir ("" of
 * its own, or "PID/" of /proc's), noted in s when other than the scan's
 * own: its IPC namespace's inode into *ret_ipc (for its System V
 * mappings; false when it cannot be read), and with s->mnt_noted its
 * mount namespace's.
 */
static bool note_namespaces(struct pshm_scan *s, int dir, const char *path, long pid,
			    unsigned long long *ret_ipc)
{
	char name[48], link[64];
	unsigned long long ipc = 0, mnt = 0;
	ssize_t n;
	bool known = false;

	if ((s->kinds & PSHM_KIND_SYSV) && !s->only) {
		snprintf(name, sizeof(name), "%sns/ipc", path);
		n = readlinkat(dir, name, link, sizeof(link) - 1);
		known = n > 0;
		if (known) {
			link[n] = '\0';
			ipc = sysv_ns_inode(link);
			*ret_ipc = ipc;
		}
	}
	if (s->mnt_noted) {
		snprintf(name, sizeof(name), "%sns/mnt", path);
		n = readlinkat(dir, name, link, sizeof(link) - 1);
		if (n > 0) {
			link[n] = '\0';
			if (sscanf(link, "mnt:[%llu]", &mnt) != 1)
				mnt = 0;
		}
	}
	process_note_namespaces(s, pid, ipc, mnt);
	return known;
}

void process_note_namespaces(struct pshm_scan *s, long pid, unsigned long long ipc,
			     unsigned long long mnt)
{
	if (ipc && ipc != s->own_ipc && s->other_ipc && (s->kinds & PSHM_KIND_SYSV) && !s->only)
		sysv_note_namespace(s, ipc, (pid_t)pid);
	if (mnt && mnt != s->own_mnt && s->mnt_noted)
		objects_note_namespace(s->other_mnts, &s->other_mnt_count, SCAN_MNT_NAMESPACES_MAX,
				       mnt, (pid_t)pid);
}

int process_scan(struct pshm_scan *s, int proc_dir, long pid, bool need_fds)
{
	char name[24];
	struct process p = { .pid = pid };
	unsigned long long ns;
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
		/* Its namespaces may still be ones whose objects the caller sees. */
		snprintf(name, sizeof(name), "%ld/", pid);
		note_namespaces(s, proc_dir, name, pid, &ns);
		objects_unreadable(s, proc_dir, pid, st.st_ino ? EACCES : ESRCH);
		return 0;
	}
	p.dir = openat(proc_dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p.dir < 0)
		return 0; /* exited meanwhile */
	/* The walk of the processes is the walk of the namespaces too. */
	p.ipc_known = note_namespaces(s, p.dir, "", pid, &p.ipc_ns);
	if (s->options.readers_only && !s->only && !process_may_be_read(s, &p)) {
		close(p.dir);
		objects_unreadable(s, proc_dir, pid, p.gone ? ESRCH : EACCES);
		return 0;
	}
	fds = need_fds ? scan_fds(s, &p) : 0;
	maps = fds == -ENOMEM || fds == -E2BIG ? fds : process_scan_maps(s, &p);
	close(p.dir);
	free(p.huge);
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

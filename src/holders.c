/* SPDX-License-Identifier: MIT */
/* shmfs: who has a segment open or mapped, from /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "shmfs_i.h"

/*
 * This mount, to find clients that hold a segment through it: a mapping
 * made through it names the mount's device and the segment's inode number
 * (the mount shows segments' own numbers), a descriptor names the mount's
 * id and that number in /proc/PID/fdinfo.
 */
static struct {
	bool known;
	char path[PATH_MAX]; /* the mount point, as /proc shows paths */
	size_t path_len;
	unsigned major_no, minor_no;
	long mnt_id;
} self_mount;

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

void holders_init(const char *mountpoint)
{
	FILE *info = fopen("/proc/self/mountinfo", "re");
	char line[PATH_MAX * 2 + 256];

	if (!info)
		return;
	/* The last FUSE mount on the mount point is the one on top: this one. */
	while (fgets(line, sizeof(line), info)) {
		char point[PATH_MAX];
		const char *fstype = strstr(line, " - ");
		unsigned major_no, minor_no;
		long id;

		if (!fstype || strncmp(fstype + 3, "fuse", 4) != 0 ||
		    sscanf(line, "%ld %*d %u:%u %*s %4095s", &id, &major_no, &minor_no, point) != 4)
			continue;
		unescape(point);
		if (strcmp(point, mountpoint) != 0)
			continue;
		snprintf(self_mount.path, sizeof(self_mount.path), "%s", point);
		self_mount.path_len = strlen(self_mount.path);
		self_mount.major_no = major_no;
		self_mount.minor_no = minor_no;
		self_mount.mnt_id = id;
		self_mount.known = true;
	}
	fclose(info);
}

/* Whether path names a segment in this mount (not .ctl or the .anon directory). */
static bool in_self_mount(const char *path)
{
	const char *rest = path + self_mount.path_len;

	if (!self_mount.known || strncmp(path, self_mount.path, self_mount.path_len) != 0 ||
	    rest[0] != '/')
		return false;
	rest++;
	return strcmp(rest, CTL_NAME) != 0 && strcmp(rest, ANON_DIR_NAME) != 0;
}

/* Whether descriptor fd_name of a process is open on this mount's file of inode ino. */
static bool fd_on_self_mount(int pid_dir, const char *fd_name, ino_t ino)
{
	char path[300], info[512];
	long mnt_id = -1;
	unsigned long long inode = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "fdinfo/%s", fd_name);
	fd = openat(pid_dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, info, sizeof(info) - 1);
	close(fd);
	if (n <= 0)
		return false;
	info[n] = '\0';
	p = strstr(info, "mnt_id:");
	if (p)
		mnt_id = strtol(p + 7, NULL, 10);
	p = strstr(info, "\nino:");
	if (p)
		inode = strtoull(p + 5, NULL, 10);
	return mnt_id == self_mount.mnt_id && p && inode == (unsigned long long)ino;
}

static void read_comm(int pid_dir, char *comm, size_t len)
{
	int fd = openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, comm, len - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(comm, len, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* A command name is the process's to choose: keep replies one line of text. */
	for (char *c = comm; *c; c++)
		if (!isgraph((unsigned char)*c))
			*c = '_';
}

/*
 * Descriptors: only links that name a file under /dev/shm are stat'ed, so
 * the scan never waits on a FUSE mount (this one included).
 */
static int scan_fds(int pid_dir, long pid, const char *comm, dev_t dev, ino_t ino,
		    holders_emit_fn emit, void *ctx)
{
	int fd_dir = openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	if (fd_dir < 0)
		return -errno;
	dir = fdopendir(fd_dir);
	if (!dir) {
		close(fd_dir);
		return -ENOMEM;
	}
	while ((de = readdir(dir))) {
		char target[PATH_MAX], line[HOLDER_LINE_MAX];
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (in_self_mount(target)) {
			/* Never stat'ed: that would be a request to this daemon. */
			if (!fd_on_self_mount(pid_dir, de->d_name, ino))
				continue;
		} else if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) != 0 ||
			   fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || st.st_dev != dev ||
			   st.st_ino != ino) {
			continue;
		}
		snprintf(line, sizeof(line), "%ld %s fd %s", pid, comm, de->d_name);
		emit(ctx, line);
	}
	closedir(dir);
	return 0;
}

static int scan_maps(int pid_dir, long pid, const char *comm, dev_t dev, ino_t ino,
		     holders_emit_fn emit, void *ctx)
{
	int fd = openat(pid_dir, "maps", O_RDONLY | O_CLOEXEC);
	char buf[1024], line[HOLDER_LINE_MAX];
	FILE *maps;

	if (fd < 0)
		return -errno;
	maps = fdopen(fd, "r");
	if (!maps) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(buf, sizeof(buf), maps)) {
		unsigned long long start, end, offset, inode;
		unsigned major_no, minor_no;
		char perms[8];
		int path_at = 0;

		if (sscanf(buf, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &offset,
			   &major_no, &minor_no, &inode, &path_at) != 7 ||
		    inode != (unsigned long long)ino)
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		/* Mapped through this mount (FUSE passthrough), or directly. */
		if (!(self_mount.known && major_no == self_mount.major_no &&
		      minor_no == self_mount.minor_no && in_self_mount(buf + path_at)) &&
		    (major_no != major(dev) || minor_no != minor(dev)))
			continue;
		snprintf(line, sizeof(line), "%ld %s map %llx-%llx %s", pid, comm, start, end,
			 perms);
		emit(ctx, line);
	}
	fclose(maps);
	return 0;
}

int holders_scan(dev_t dev, ino_t ino, holders_emit_fn emit, void *ctx, unsigned *ret_unreadable)
{
	long self = (long)getpid();
	unsigned unreadable = 0;
	struct dirent *de;
	DIR *proc = opendir("/proc");

	if (!proc)
		return -errno;
	while ((de = readdir(proc))) {
		char *end, comm[64];
		long pid = strtol(de->d_name, &end, 10);
		int pid_dir;

		if (*end || pid <= 0 || pid == self)
			continue;
		pid_dir = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pid_dir < 0)
			continue; /* exited meanwhile */
		read_comm(pid_dir, comm, sizeof(comm));
		if (scan_fds(pid_dir, pid, comm, dev, ino, emit, ctx) == -EACCES ||
		    scan_maps(pid_dir, pid, comm, dev, ino, emit, ctx) == -EACCES)
			unreadable++;
		close(pid_dir);
	}
	closedir(proc);
	*ret_unreadable = unreadable;
	return 0;
}

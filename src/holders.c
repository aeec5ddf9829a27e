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
		if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) != 0)
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || st.st_dev != dev ||
		    st.st_ino != ino)
			continue;
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

		if (sscanf(buf, "%llx-%llx %7s %llx %x:%x %llu", &start, &end, perms, &offset,
			   &major_no, &minor_no, &inode) != 7)
			continue;
		if (inode != (unsigned long long)ino || major_no != major(dev) ||
		    minor_no != minor(dev))
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

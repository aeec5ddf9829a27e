/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the daemons of shmfs mounts, which are never holders. A daemon
 * holds the segments its clients open or map through the mount, for
 * them; the clients are counted through the mount (process.c), so every
 * front end (pshm, the daemon's own .ctl holders and views) lists the
 * same processes, and no segment is held twice over.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemons_i.h"

/* The kernel's own encoding of a device number (MKDEV, 20 bits of minor). */
#define KERNEL_DEV(major, minor) (((unsigned long long)(major) << 20) | (minor))

bool daemons_parse_connection(const char *fdinfo, unsigned long long *ret)
{
	const char *p = strstr(fdinfo, "\nfuse_connection:");
	char *end;

	if (!p)
		return false;
	p += strlen("\nfuse_connection:");
	*ret = strtoull(p, &end, 10);
	return end != p;
}

bool daemons_parse_mount(const char *line, unsigned long long connection, bool any_connection,
			 uid_t uid)
{
	unsigned major_no, minor_no;
	const char *rest = strstr(line, " - fuse.shmfs ");
	char user[32];

	if (!rest || sscanf(line, "%*d %*d %u:%u", &major_no, &minor_no) != 2)
		return false;
	if (!any_connection)
		return KERNEL_DEV(major_no, minor_no) == connection;
	/* Without the kernel's word on the connection: a mount this user made. */
	snprintf(user, sizeof(user), "user_id=%u", (unsigned)uid);
	rest = strchr(rest + strlen(" - fuse.shmfs "), ' ');
	for (const char *at = rest ? strstr(rest, user) : NULL; at; at = strstr(at + 1, user)) {
		char after = at[strlen(user)];

		if ((at[-1] == ' ' || at[-1] == ',') && (after == ',' || after == '\0'))
			return true;
	}
	return false;
}

bool daemons_serves_shmfs(int pid_dir, const char *fd_name, uid_t uid)
{
	char path[300], info[1024], *line = NULL;
	unsigned long long connection = 0;
	bool known = false, found = false;
	size_t size = 0;
	ssize_t n;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "fdinfo/%s", fd_name);
	fd = openat(pid_dir, path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, info, sizeof(info) - 1);
	if (fd >= 0)
		close(fd);
	if (n > 0) {
		info[n] = '\0';
		known = daemons_parse_connection(info, &connection);
	}
	/* Its own mount namespace: where it mounted what it serves. */
	fd = openat(pid_dir, "mountinfo", O_RDONLY | O_CLOEXEC);
	f = fd < 0 ? NULL : fdopen(fd, "re");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while (!found && getline(&line, &size, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		found = daemons_parse_mount(line, connection, !known, uid);
	}
	free(line);
	fclose(f);
	return found;
}

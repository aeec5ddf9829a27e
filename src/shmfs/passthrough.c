/* SPDX-License-Identifier: MIT */
/*
 * shmfs: reads, writes and mmaps that go to the segment itself (FUSE
 * passthrough): what both implementations share, the state and the
 * status line.
 *
 * Since Linux 6.9 a FUSE daemon can register a file with the kernel (a
 * backing file) and name it in an open reply: the kernel then serves that
 * open file's read, write, splice and mmap from the backing file without
 * asking the daemon. For shmfs the backing file is the segment, so reads
 * are always what the segment holds now, stores through a client's shared
 * mmap are the segment's own pages, and the data path costs no round trip.
 * Open, stat, truncate, chmod and release still come to the daemon.
 *
 * libfuse 3.17 and later ask the kernel for it themselves
 * (passthrough_libfuse.c); for libfuse 3.14 (Debian 12) shmfs patches the
 * replies (passthrough_hooks.c). meson picks one; it calls this file,
 * never the other way round. Registering needs
 * CAP_SYS_ADMIN; without it, or on older kernels, opens are served by the
 * daemon (direct I/O, data.c), and so is any open whose reply did not
 * carry the backing id: passthrough fails closed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "passthrough_i.h"

int passthrough_new(struct shmfs *fs)
{
	struct passthrough *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->why_lock, NULL);
	snprintf(p->why_not, sizeof(p->why_not), "not set up");
	fs->passthrough = p;
	return 0;
}

void passthrough_free(struct shmfs *fs)
{
	if (!fs->passthrough)
		return;
	pthread_mutex_destroy(&fs->passthrough->why_lock);
	free(fs->passthrough);
	fs->passthrough = NULL;
}

void passthrough_set_off(struct shmfs *fs, const char *why)
{
	pthread_mutex_lock(&fs->passthrough->why_lock);
	snprintf(fs->passthrough->why_not, sizeof(fs->passthrough->why_not), "%s", why);
	pthread_mutex_unlock(&fs->passthrough->why_lock);
	atomic_store(&fs->passthrough->active, false);
}

void passthrough_set_active(struct shmfs *fs)
{
	if (atomic_load(&fs->passthrough->enabled))
		atomic_store(&fs->passthrough->active, true);
}

void passthrough_state_init(struct shmfs *fs, bool on, const char *why_off)
{
	passthrough_set_off(fs, on ? "the kernel has not started the session yet" : why_off);
	atomic_store(&fs->passthrough->enabled, on);
}

bool passthrough_enabled(struct shmfs *fs)
{
	return atomic_load(&fs->passthrough->enabled);
}

bool passthrough_active(struct shmfs *fs)
{
	return atomic_load(&fs->passthrough->active);
}

void passthrough_status(struct shmfs *fs, char *buf, size_t size)
{
	pthread_mutex_lock(&fs->passthrough->why_lock);
	if (atomic_load(&fs->passthrough->active))
		snprintf(buf, size, "on");
	else
		snprintf(buf, size, "off: %s", fs->passthrough->why_not);
	pthread_mutex_unlock(&fs->passthrough->why_lock);
}

void passthrough_registration_failed(struct shmfs *fs, int err, int fd)
{
	struct stat st, dir;
	char reason[96];

	/* Any user can open an object the kernel will not stack on (hugetlb). */
	if (fstat(fd, &st) < 0 || stat(PSHM_DIR, &dir) < 0 || st.st_dev != dir.st_dev)
		return;

	/*
	 * Never going to work in this daemon: stop asking. (ELOOP: /dev/shm
	 * is itself stacked, deeper than the stack depth we asked for.)
	 */
	if (err != EPERM && err != ENOTTY && err != EINVAL && err != EOPNOTSUPP && err != ELOOP)
		return;
	snprintf(reason, sizeof(reason), "registering a backing file failed: %s",
		 err == ELOOP ? PSHM_DIR " is on a stacked file system" : strerror(err));
	passthrough_set_off(fs, reason);
	fuse_log(FUSE_LOG_ERR, "shmfs: passthrough off, %s\n", reason);
}

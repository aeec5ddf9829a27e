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
#include <string.h>
#include <sys/stat.h>

#include "passthrough_i.h"

static atomic_bool enabled; /* -o passthrough=auto, and the hooks are in */
static atomic_bool active;  /* the kernel accepted it, and registering still works */
static char why_not[128] = "not set up";
static pthread_mutex_t why_lock = PTHREAD_MUTEX_INITIALIZER;

void passthrough_set_off(const char *why)
{
	pthread_mutex_lock(&why_lock);
	snprintf(why_not, sizeof(why_not), "%s", why);
	pthread_mutex_unlock(&why_lock);
	atomic_store(&active, false);
}

void passthrough_set_active(void)
{
	if (atomic_load(&enabled))
		atomic_store(&active, true);
}

void passthrough_state_init(bool on, const char *why_off)
{
	passthrough_set_off(on ? "the kernel has not started the session yet" : why_off);
	atomic_store(&enabled, on);
}

bool passthrough_enabled(void)
{
	return atomic_load(&enabled);
}

bool passthrough_active(void)
{
	return atomic_load(&active);
}

void passthrough_status(char *buf, size_t size)
{
	pthread_mutex_lock(&why_lock);
	if (atomic_load(&active))
		snprintf(buf, size, "on");
	else
		snprintf(buf, size, "off: %s", why_not);
	pthread_mutex_unlock(&why_lock);
}

void passthrough_registration_failed(int err, int fd)
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
	passthrough_set_off(reason);
	fuse_log(FUSE_LOG_ERR, "shmfs: passthrough off, %s\n", reason);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: reads, writes and mmaps that go to the segment itself (FUSE passthrough).
 *
 * Since Linux 6.9 a FUSE daemon can register a file with the kernel (a
 * backing file) and name it in an open reply: the kernel then serves that
 * open file's read, write, splice and mmap from the backing file without
 * asking the daemon. For shmfs the backing file is the segment, so reads
 * are always what the segment holds now, stores through a client's shared
 * mmap are the segment's own pages, and the data path costs no round trip.
 * Open, stat, truncate, chmod and release still come to the daemon.
 *
 * libfuse 3.14 (Debian 12) knows none of it, so this file speaks the bits
 * it lacks through libfuse's custom I/O hooks, which see every request read
 * and every reply written: the INIT reply gets FUSE_PASSTHROUGH and a stack
 * depth when the kernel offered it, and an OPEN or CREATE reply that the
 * handler marked (passthrough_reply_with) gets FOPEN_PASSTHROUGH and the
 * backing id. A worker thread reads a request and replies to it before it
 * reads the next, so a thread-local note of the request matches the reply.
 * Notifications (inval.c) are written to the device directly.
 *
 * Registering needs CAP_SYS_ADMIN; without it, or on older kernels, opens
 * fall back to direct I/O through the daemon (ops.c, splice.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmfs_i.h"

/* From the kernel's uapi <linux/fuse.h> (7.40), newer than Debian 12's headers. */
#define OP_OPEN 14
#define OP_INIT 26
#define OP_CREATE 35
#define INIT_EXT (1u << 30)
#define PASSTHROUGH_FLAGS2 (1u << 5) /* FUSE_PASSTHROUGH is bit 37 of the 64 */
#define OPEN_PASSTHROUGH (1u << 7)   /* FOPEN_PASSTHROUGH */
#define STACK_DEPTH 1                /* the segments are on tmpfs, no stacking below */

struct in_header {
	uint32_t len;
	uint32_t opcode;
	uint64_t unique;
	uint64_t nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen;
	uint16_t padding;
};

struct out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct init_in {
	uint32_t major, minor, max_readahead, flags;
	uint32_t flags2;
	uint32_t unused[11];
};

struct init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2;
	uint32_t max_stack_depth;
	uint32_t unused[6];
};

struct open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define DEV_IOC_BACKING_OPEN _IOW(229, 1, struct backing_map)
#define DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* The request this thread is handling, and the backing id its reply names. */
static _Thread_local struct {
	uint64_t unique;
	uint32_t opcode;
	int32_t backing_id;
} current;

static int dev_fd = -1;
static atomic_bool offered; /* the kernel's INIT offered passthrough */
static atomic_bool active;  /* our INIT reply accepted it, and registering works */
static char why_not[128] = "the hooks are not installed";
static pthread_mutex_t why_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_why_not(const char *reason)
{
	pthread_mutex_lock(&why_lock);
	snprintf(why_not, sizeof(why_not), "%s", reason);
	pthread_mutex_unlock(&why_lock);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t n = read(fd, buf, len);
	struct in_header h;

	(void)userdata;
	if (n < (ssize_t)sizeof(h))
		return n;
	memcpy(&h, buf, sizeof(h));
	current.unique = h.unique;
	current.opcode = h.opcode;
	current.backing_id = 0;
	if (h.opcode == OP_INIT && (size_t)n >= sizeof(h) + offsetof(struct init_in, unused)) {
		struct init_in in;

		memcpy(&in, (char *)buf + sizeof(h), sizeof(in) - sizeof(in.unused));
		atomic_store(&offered, in.major == 7 && (in.flags & INIT_EXT) &&
					       (in.flags2 & PASSTHROUGH_FLAGS2));
	}
	return n;
}

/* The INIT reply, with passthrough asked for when the kernel offered it. */
static ssize_t write_init(int fd, struct iovec *iov, int count)
{
	struct init_out out;
	struct iovec patched[2];

	if (count != 2 || iov[1].iov_len != sizeof(out) || !atomic_load(&offered)) {
		set_why_not(atomic_load(&offered) ? "unexpected INIT reply"
						  : "the kernel does not offer it (Linux 6.9+)");
		return writev(fd, iov, count);
	}
	memcpy(&out, iov[1].iov_base, sizeof(out));
	if (!(out.flags & INIT_EXT)) {
		set_why_not("unexpected INIT reply");
		return writev(fd, iov, count);
	}
	out.flags2 |= PASSTHROUGH_FLAGS2;
	out.max_stack_depth = STACK_DEPTH;
	patched[0] = iov[0];
	patched[1] = (struct iovec){ .iov_base = &out, .iov_len = sizeof(out) };
	atomic_store(&active, true);
	return writev(fd, patched, 2);
}

/* An OPEN or CREATE reply: its fuse_open_out ends the argument. */
static ssize_t write_open(int fd, struct iovec *iov, int count)
{
	char arg[256];
	struct open_out out;
	struct iovec patched[2];
	size_t len = count == 2 ? iov[1].iov_len : 0;

	if (len < sizeof(out) || len > sizeof(arg))
		return writev(fd, iov, count); /* not libfuse 3.14's: leave it alone */
	memcpy(arg, iov[1].iov_base, len);
	memcpy(&out, arg + len - sizeof(out), sizeof(out));
	out.open_flags |= OPEN_PASSTHROUGH;
	out.backing_id = current.backing_id;
	memcpy(arg + len - sizeof(out), &out, sizeof(out));
	patched[0] = iov[0];
	patched[1] = (struct iovec){ .iov_base = arg, .iov_len = len };
	return writev(fd, patched, 2);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct out_header h;
	ssize_t r;

	(void)userdata;
	if (count < 1 || iov[0].iov_len < sizeof(h))
		return writev(fd, iov, count);
	memcpy(&h, iov[0].iov_base, sizeof(h));
	if (h.unique != current.unique || h.error != 0 || h.unique == 0)
		return writev(fd, iov, count);
	if (current.opcode == OP_INIT)
		return write_init(fd, iov, count);
	if ((current.opcode != OP_OPEN && current.opcode != OP_CREATE) || !current.backing_id)
		return writev(fd, iov, count);
	r = write_open(fd, iov, count);
	current.backing_id = 0;
	return r;
}

static ssize_t io_splice(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
			 unsigned flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int passthrough_setup(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
		.splice_send = io_splice,
	};
	int fd = fuse_session_fd(se);
	int r;

	/* The same descriptor: only the hooks change, and the unmount still closes it. */
	r = fuse_session_custom_io(se, &io, fd);
	if (r < 0)
		return r;
	dev_fd = fd;
	set_why_not("the kernel has not started the session yet");
	return 0;
}

bool passthrough_active(void)
{
	return atomic_load(&active);
}

void passthrough_status(char *buf, size_t size)
{
	if (!shmfs_config.passthrough) {
		snprintf(buf, size, "off: %s",
			 shmfs_config.cache ? "cache=on" : "-o passthrough=off");
		return;
	}
	pthread_mutex_lock(&why_lock);
	if (atomic_load(&active))
		snprintf(buf, size, "on");
	else
		snprintf(buf, size, "off: %s", why_not);
	pthread_mutex_unlock(&why_lock);
}

int passthrough_register(int fd)
{
	struct backing_map map = { .fd = fd };
	int id;

	if (!atomic_load(&active))
		return -EOPNOTSUPP;
	id = ioctl(dev_fd, DEV_IOC_BACKING_OPEN, &map);
	if (id > 0)
		return id;
	if (id == 0)
		return -EPROTO;
	if (errno == EPERM || errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP ||
	    errno == ELOOP) {
		/*
		 * Never going to work in this daemon: stop asking. (ELOOP:
		 * /dev/shm is itself stacked, deeper than STACK_DEPTH allows.)
		 */
		char reason[96];

		snprintf(reason, sizeof(reason), "registering a backing file failed: %s",
			 errno == ELOOP ? PSHM_DIR " is on a stacked file system"
					: strerror(errno));
		set_why_not(reason);
		atomic_store(&active, false);
		fprintf(stderr, "shmfs: passthrough off, %s\n", reason);
	}
	return -errno;
}

void passthrough_unregister(int id)
{
	uint32_t backing_id = (uint32_t)id;

	if (ioctl(dev_fd, DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		fprintf(stderr, "shmfs: closing backing file %d: %s\n", id, strerror(errno));
}

void passthrough_reply_with(int backing_id)
{
	current.backing_id = backing_id;
}

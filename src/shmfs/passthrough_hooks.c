/* SPDX-License-Identifier: MIT */
/*
 * shmfs: passthrough for libfuse before 3.17, which knows none of it: this
 * file speaks the bits it lacks through libfuse's custom I/O hooks, which
 * see every request read and every reply written. The INIT reply gets
 * FUSE_PASSTHROUGH and a stack depth when the kernel offered it, and an
 * OPEN or CREATE reply that the handler marked (passthrough_mark) gets
 * FOPEN_PASSTHROUGH and the backing id, and loses FOPEN_DIRECT_IO (which
 * the kernel would let win over passthrough for reads and writes).
 *
 * What the reply matching relies on, checked against libfuse 3.14's
 * fuse_lowlevel.c and fuse_loop_mt.c:
 * - Requests are read by the read hook, never spliced (shmfs does not ask
 *   for FUSE_CAP_SPLICE_READ, so libfuse reads with read(2), which the
 *   custom hook replaces); a spliced receive would bypass the note below.
 * - A worker thread reads one request and replies to it from the same
 *   thread before it reads the next (fuse_do_work), and every shmfs
 *   handler replies before returning: so a thread-local note of the
 *   request (its unique id and opcode) identifies the reply the thread
 *   writes next. A reply whose unique id is not the noted one is left
 *   alone.
 * - libfuse writes a reply as two iovecs, the out header and the
 *   argument (fuse_send_reply_iov), and fuse_open_out ends the argument of
 *   both OPEN and CREATE (fuse_reply_create puts fuse_entry_out first).
 *   Anything else is left alone, and the open stays direct I/O.
 * Notifications (inval.c) are written to the device directly.
 *
 * The hooks are in with passthrough off too (-o passthrough=off, cache=on),
 * patching nothing then: the read hook is where a worker's receive buffer
 * is given back after a stream of large writes (data_received).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include "data_i.h"
#include "passthrough_i.h"

/* From the kernel's uapi <linux/fuse.h> (7.40), newer than Debian 12's headers. */
#define OP_OPEN 14
#define OP_INIT 26
#define OP_CREATE 35
#define INIT_EXT (1u << 30)
#define PASSTHROUGH_FLAGS2 (1u << 5) /* FUSE_PASSTHROUGH is bit 37 of the 64 */
#define OPEN_DIRECT_IO (1u << 0)     /* FOPEN_DIRECT_IO */
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

/*
 * The layouts must be the kernel's: checked against the system's
 * <linux/fuse.h> where it has the structure (Debian 12's is 7.38, before
 * passthrough), and against the uapi's sizes where it does not.
 */
_Static_assert(sizeof(struct in_header) == sizeof(struct fuse_in_header), "fuse_in_header");
_Static_assert(offsetof(struct in_header, opcode) == offsetof(struct fuse_in_header, opcode),
	       "fuse_in_header.opcode");
_Static_assert(offsetof(struct in_header, unique) == offsetof(struct fuse_in_header, unique),
	       "fuse_in_header.unique");
_Static_assert(sizeof(struct out_header) == sizeof(struct fuse_out_header), "fuse_out_header");
_Static_assert(offsetof(struct out_header, error) == offsetof(struct fuse_out_header, error),
	       "fuse_out_header.error");
_Static_assert(offsetof(struct out_header, unique) == offsetof(struct fuse_out_header, unique),
	       "fuse_out_header.unique");
_Static_assert(sizeof(struct init_in) == sizeof(struct fuse_init_in), "fuse_init_in");
_Static_assert(offsetof(struct init_in, flags) == offsetof(struct fuse_init_in, flags),
	       "fuse_init_in.flags");
_Static_assert(offsetof(struct init_in, flags2) == offsetof(struct fuse_init_in, flags2),
	       "fuse_init_in.flags2");
_Static_assert(sizeof(struct init_out) == sizeof(struct fuse_init_out), "fuse_init_out");
_Static_assert(offsetof(struct init_out, flags) == offsetof(struct fuse_init_out, flags),
	       "fuse_init_out.flags");
_Static_assert(offsetof(struct init_out, flags2) == offsetof(struct fuse_init_out, flags2),
	       "fuse_init_out.flags2");
/* 7.40: max_stack_depth takes the first word of what 7.38 calls unused. */
_Static_assert(offsetof(struct init_out, max_stack_depth) ==
		       offsetof(struct fuse_init_out, flags2) + sizeof(uint32_t),
	       "fuse_init_out.max_stack_depth");
_Static_assert(sizeof(struct open_out) == sizeof(struct fuse_open_out), "fuse_open_out");
_Static_assert(offsetof(struct open_out, open_flags) == offsetof(struct fuse_open_out, open_flags),
	       "fuse_open_out.open_flags");
/* 7.40: backing_id takes the word after open_flags (7.38 calls it padding). */
_Static_assert(offsetof(struct open_out, backing_id) ==
		       offsetof(struct fuse_open_out, open_flags) + sizeof(uint32_t),
	       "fuse_open_out.backing_id");
_Static_assert(sizeof(struct backing_map) == 16, "fuse_backing_map");
_Static_assert(offsetof(struct backing_map, flags) == 4, "fuse_backing_map.flags");

#define DEV_IOC_BACKING_OPEN _IOW(229, 1, struct backing_map)
#define DEV_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* The request this thread is handling, and the backing id its reply is to name. */
static _Thread_local struct {
	uint64_t unique;
	uint32_t opcode;
	int32_t backing_id;
	void (*declined)(void *ctx); /* the reply cannot carry backing_id */
	void *declined_ctx;
} current;

const char *passthrough_implementation(void)
{
	return "hooks";
}

ssize_t passthrough_hook_read(int fd, void *buf, size_t len, void *userdata)
{
	struct shmfs *fs = userdata;
	ssize_t n = read(fd, buf, len);
	struct in_header h;

	if (n > 0)
		data_received(buf, len, (size_t)n);
	if (n < (ssize_t)sizeof(h))
		return n;
	memcpy(&h, buf, sizeof(h));
	current.unique = h.unique;
	current.opcode = h.opcode;
	current.backing_id = 0;
	current.declined = NULL;
	if (h.opcode == OP_INIT && (size_t)n >= sizeof(h) + offsetof(struct init_in, unused)) {
		struct init_in in;

		memcpy(&in, (char *)buf + sizeof(h), offsetof(struct init_in, unused));
		atomic_store(&fs->passthrough->offered, in.major == 7 && (in.flags & INIT_EXT) &&
								(in.flags2 & PASSTHROUGH_FLAGS2));
	}
	return n;
}

/* The INIT reply, with passthrough asked for when the kernel offered it. */
static ssize_t write_init(struct shmfs *fs, int fd, struct iovec *iov, int count)
{
	struct init_out out;
	struct iovec patched[2];

	if (!atomic_load(&fs->passthrough->offered)) {
		passthrough_set_off(fs, "the kernel does not offer it (Linux 6.9+)");
		return writev(fd, iov, count);
	}
	if (count != 2 || iov[1].iov_len != sizeof(out)) {
		passthrough_set_off(fs, "unexpected INIT reply");
		return writev(fd, iov, count);
	}
	memcpy(&out, iov[1].iov_base, sizeof(out));
	if (!(out.flags & INIT_EXT)) {
		passthrough_set_off(fs, "unexpected INIT reply");
		return writev(fd, iov, count);
	}
	out.flags2 |= PASSTHROUGH_FLAGS2;
	out.max_stack_depth = STACK_DEPTH;
	patched[0] = iov[0];
	patched[1] = (struct iovec){ .iov_base = &out, .iov_len = sizeof(out) };
	passthrough_set_active(fs);
	return writev(fd, patched, 2);
}

/* A marked reply that will not carry the id: the open stays direct I/O, and says so first. */
static ssize_t write_declined(int fd, struct iovec *iov, int count)
{
	if (current.declined)
		current.declined(current.declined_ctx);
	current.declined = NULL;
	return writev(fd, iov, count);
}

/* An OPEN or CREATE reply: its fuse_open_out ends the argument. */
static ssize_t write_open(int fd, struct iovec *iov, int count)
{
	char arg[256];
	struct open_out out;
	struct iovec patched[2];
	size_t len = count == 2 ? iov[1].iov_len : 0;

	if (len < sizeof(out) || len > sizeof(arg))
		return write_declined(fd, iov, count); /* not libfuse 3.14's */
	memcpy(arg, iov[1].iov_base, len);
	memcpy(&out, arg + len - sizeof(out), sizeof(out));
	out.open_flags |= OPEN_PASSTHROUGH;
	out.open_flags &= ~OPEN_DIRECT_IO;
	out.backing_id = current.backing_id;
	memcpy(arg + len - sizeof(out), &out, sizeof(out));
	patched[0] = iov[0];
	patched[1] = (struct iovec){ .iov_base = arg, .iov_len = len };
	current.declined = NULL;
	return writev(fd, patched, 2);
}

ssize_t passthrough_hook_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct shmfs *fs = userdata;
	struct out_header h;
	ssize_t r;

	if (count < 1 || iov[0].iov_len < sizeof(h))
		return writev(fd, iov, count);
	memcpy(&h, iov[0].iov_base, sizeof(h));
	if (h.unique != current.unique || h.unique == 0)
		return writev(fd, iov, count);
	if (current.opcode == OP_INIT && h.error == 0)
		return passthrough_enabled(fs) ? write_init(fs, fd, iov, count)
					       : writev(fd, iov, count);
	if (!current.backing_id)
		return writev(fd, iov, count);
	if (h.error != 0 || (current.opcode != OP_OPEN && current.opcode != OP_CREATE))
		r = write_declined(fd, iov, count);
	else
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

int passthrough_hooks_install(struct shmfs *fs, int fd)
{
	static const struct fuse_custom_io io = {
		.read = passthrough_hook_read,
		.writev = passthrough_hook_writev,
		.splice_send = io_splice,
	};
	int r = fuse_session_custom_io(fs->se, &io, fd);

	if (r < 0) {
		passthrough_state_init(fs, false, "the reply hooks cannot be installed");
		return r;
	}
	passthrough_state_init(fs, true, NULL);
	return 0;
}

int passthrough_setup(struct shmfs *fs, bool on, const char *why_off)
{
	/* The same descriptor: only the hooks change, and the unmount still closes it. */
	int r = passthrough_hooks_install(fs, fuse_session_fd(fs->se));

	/* Off, the hooks patch nothing (and without them nothing changes but data_received). */
	if (!on) {
		passthrough_state_init(fs, false, why_off);
		return 0;
	}
	return r;
}

void passthrough_init(struct shmfs *fs, struct fuse_conn_info *conn)
{
	(void)fs;
	(void)conn; /* the INIT reply itself is patched (write_init) */
}

int passthrough_register(struct shmfs *fs, fuse_req_t req, int fd)
{
	struct backing_map map = { .fd = fd };
	int id, err;

	(void)req;
	if (!passthrough_active(fs))
		return -EOPNOTSUPP;
	id = ioctl(fuse_session_fd(fs->se), DEV_IOC_BACKING_OPEN, &map);
	if (id > 0)
		return id;
	if (id == 0)
		return -EPROTO;
	err = errno;
	passthrough_registration_failed(fs, err, fd);
	return -err;
}

void passthrough_unregister(struct shmfs *fs, fuse_req_t req, int id)
{
	uint32_t backing_id = (uint32_t)id;

	(void)req;
	if (ioctl(fuse_session_fd(fs->se), DEV_IOC_BACKING_CLOSE, &backing_id) < 0)
		fuse_log(FUSE_LOG_ERR, "shmfs: closing backing file %d: %s\n", id, strerror(errno));
}

void passthrough_mark(struct fuse_file_info *fi, int backing_id, void (*declined)(void *ctx),
		      void *ctx)
{
	(void)fi; /* fi->direct_io stays: the reply hook drops it with the id in place */
	current.backing_id = backing_id;
	current.declined = declined;
	current.declined_ctx = ctx;
}

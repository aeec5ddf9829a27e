/* SPDX-License-Identifier: MIT */
/*
 * shmfs: what a control file session is (ctl_session.c) and its readers
 * (ctl_reader.c): shared by those two files only.
 */
#ifndef CTL_READER_I_H
#define CTL_READER_I_H

#include "ctl_parse_i.h"
#include "ctl_queue_i.h"
#include "ctl_session_i.h"

struct ctl_session {
	struct shmfs *fs;                /* the daemon it belongs to */
	struct ctl_session *prev, *next; /* every open session, for the exit */
	struct creds opener;             /* every command has the opener's rights */
	pthread_mutex_t lock;            /* all below: bookkeeping only */
	char line[CTL_LINE_MAX + 1];     /* the command being written, maybe in pieces */
	size_t line_len;
	bool discarding;        /* the rest of an over-long line is skipped */
	bool used;              /* a command was written or the summary read */
	bool closing;           /* close_session took the waits */
	struct ctl_queue queue; /* the replies not read yet, and the places of those to come */
	struct ctl_wait *waits; /* unfinished */
	size_t wait_count;
	fuse_req_t reader; /* a read kept until a reply comes */
	size_t reader_size;
	struct fuse_pollhandle *poll; /* to tell when a reply comes */
};

/* What a filled slot lets happen, once the lock is let go. */
struct ctl_delivery {
	fuse_req_t reader; /* a kept read, answered with buf */
	char *buf;
	size_t len;
	struct fuse_pollhandle *ph; /* a poller, told */
};

/*
 * Answers a kept read request (buf, or err): its interrupt function is
 * taken away first, so none runs after the reply.
 */
void ctl_reader_answer_reply(fuse_req_t req, const char *buf, size_t len, int err);
/* With the lock: whether a read would not wait (a reply is ready, or nothing is awaited). */
bool ctl_reader_ready(const struct ctl_session *s);
/* With the lock: when a read would not wait now, a kept read takes what it may, a poller is due. */
void ctl_reader_deliver_locked(struct ctl_session *s, struct ctl_delivery *d);
/* Without it: sends what ctl_reader_deliver_locked prepared. */
void ctl_reader_deliver(struct ctl_delivery *d);
/*
 * A read of size bytes (open flags): answered at once when a reply is
 * ready or none is awaited (EAGAIN for O_NONBLOCK, EBUSY when another read
 * is kept), else kept until one comes or a signal interrupts it.
 */
void ctl_reader_read_reply(fuse_req_t req, struct ctl_session *s, size_t size, int flags);

#endif /* CTL_READER_I_H */

/* SPDX-License-Identifier: MIT */
/* Test helpers for a real shmfs mount: start it, wait for it, stop it. */
#ifndef TEST_MOUNT_H
#define TEST_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "testutil.h"

struct test_mount {
	pid_t pid;
	char dir[64];
};

/*
 * Starts "daemon -f [-o $SHMFS_TEST_OPTIONS] [args...] DIR" on a fresh directory under /tmp and waits
 * (10 s at most) until DIR is a FUSE mount, failing early when the
 * daemon dies. args ends with NULL. The daemon gets SIGTERM if this process
 * dies, so a crashed test leaves no mount behind. Returns 0 or -1 (and
 * prints why).
 */
int mount_start(struct test_mount *m, const char *daemon, const char *const *args);

/*
 * Unmounts, waits (10 s at most, then SIGKILL) and removes the directory.
 * Returns the daemon's exit status as waitpid gives it, or -1.
 */
int mount_stop(struct test_mount *m);

/*
 * Waits (10 s at most) for the daemon to exit on its own (after a signal),
 * checks that it unmounted, removes the directory. Returns the wait status,
 * or -1 when it did not exit or left the mount behind.
 */
int mount_wait_exit(struct test_mount *m);

/* True when the daemon's process is still running. */
bool mount_alive(const struct test_mount *m);

/* Builds "DIR/name" in a static rotating buffer. */
const char *mount_path(const struct test_mount *m, const char *name);

/*
 * The daemon's "passthrough" status line (without the key) into buf, read
 * from a fresh .ctl: "on" or "off: why". Returns 0, or -1 when unreadable.
 */
int mount_passthrough(const struct test_mount *m, char *buf, size_t size);

/*
 * Writes command (a newline is added) to a .ctl descriptor and reads every
 * pending reply into reply (NUL-terminated). Returns the errno of the
 * write, 0 when it succeeded.
 */
int mount_ctl(int fd, const char *command, char *reply, size_t size);

/* The last line of a reply text, without its newline, into buf. */
void reply_last_line(const char *text, char *buf, size_t size);
/*
 * Whether line is lead + "N other processes" (N = hidden), optionally
 * followed by "; partial: M processes could not be read".
 */
bool reply_is_hidden_count(const char *line, const char *lead, unsigned hidden);

/* Whether this machine can mount FUSE at all (/dev/fuse usable). */
bool mount_possible(const char **why);

/*
 * The main of a suite that needs a mounted shmfs, called as "PROGRAM
 * PATH-TO-SHMFS": skips (77, with the reason) unless root with a working
 * /dev/fuse, isolates /dev/shm (a private tmpfs of shm_size bytes), starts
 * the daemon on *m at the usual soft descriptor limit of 1024 (then raises
 * this process's own to the hard limit), sets *ret_daemon, runs the cases,
 * unmounts and requires the daemon to exit 0. Returns the exit status.
 */
int mount_suite_main(int argc, char **argv, const char *suite, const struct test_case *cases,
		     size_t shm_size, struct test_mount *m, const char **ret_daemon);

/*
 * mount_suite_main with args (ending with NULL, or NULL for none) given to
 * the daemon before the mount point, as mount_start passes them. Called as
 * "PROGRAM PATH-TO-SHMFS [SUITE-ARGS...]": the suite reads its own extra
 * arguments from argv[2] on.
 */
int mount_suite_main_args(int argc, char **argv, const char *suite, const struct test_case *cases,
			  size_t shm_size, struct test_mount *m, const char **ret_daemon,
			  const char *const *args);

#endif

/* SPDX-License-Identifier: MIT */
/* Helpers shared by the CUnit suites: running a suite, isolation, unique names. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

#define TEST(fn)        \
	{               \
#fn, fn \
	}
#define TEST_END           \
	{                  \
		NULL, NULL \
	}

/*
 * Registers cases as one suite, runs it verbosely and returns the process
 * exit status: 0 when every assertion held, 1 otherwise.
 */
int test_run_suite(const char *suite, const struct test_case *cases);

/*
 * When root, moves this process into a private mount namespace with its own
 * tmpfs on /dev/shm (size in bytes), so that tests never see nor touch the
 * machine's segments. Returns true when isolated; false when not root (the
 * tests then rely on unique names alone). Exits with a message when root
 * and isolation fails.
 */
bool test_isolate_shm(size_t size);

/* The uid and gid of the second user the permission tests act as. */
#define TEST_NOBODY 65534

/*
 * Runs fn(arg) in a child process as uid and gid (no supplementary groups,
 * umask 022) and returns what fn returned: by convention an errno, 0 for
 * success. A failed assertion when the child cannot be run.
 */
int test_as_user(uid_t uid, gid_t gid, int (*fn)(const void *), const void *arg);

/* test_as_user as TEST_NOBODY. */
int test_as_nobody(int (*fn)(const void *), const void *arg);

/* A name unique to this process and call, e.g. "pshmtest-1234-7-tag". */
const char *test_unique_name(const char *tag);

/* Prefix shared by every test_unique_name() of this process. */
const char *test_name_prefix(void);

/*
 * A child that runs setup(arg) and, when it returns 0, stays until killed
 * (its parent reaps it); returns its pid once it is ready. A failed
 * assertion when it cannot start or its setup fails.
 */
pid_t test_child_ready(int (*setup)(const void *arg), const void *arg);

/* A process's resident memory (VmRSS), in KiB; -1 when it cannot be read. */
long test_rss_kib(pid_t pid);

#endif

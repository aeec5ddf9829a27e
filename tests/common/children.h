/* SPDX-License-Identifier: MIT */
/*
 * Test helpers for children that act as other users: run as a uid,
 * bounded in time, killed and reaped whatever happens, with memory shared
 * with the parent for their results.
 */
#ifndef TEST_CHILDREN_H
#define TEST_CHILDREN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CHILD_SETUP_FAILED 250 /* a child could not become its user */
#define RUN_TIMEOUT (-2)       /* run_as: the child did not end in time */
#define RUN_KILLED (-3)        /* run_as: the child died of a signal */

/* CLOCK_MONOTONIC, in milliseconds. */
long now_ms(void);

/* Memory the children write their results into (MAP_SHARED): NULL when out of memory. */
void *shared_new(size_t size);
/* Frees it; NULL is fine. */
void shared_free(void *p, size_t size);
/* Waits up to ms for *flag (shared with a child) to reach value. */
bool wait_flag(const int *flag, int value, long ms);
void set_flag(int *flag, int value);

/*
 * Runs fn(arg) in a child as uid (and gid uid; root stays root), without
 * supplementary groups, umask 022, killed by SIGALRM after alarm_s seconds
 * and when this process dies. The child is dumpable, as any process the
 * user would start, so its /proc entries are the user's own. Its pid, or -1.
 */
pid_t spawn_as(uid_t uid, unsigned alarm_s, int (*fn)(const void *), const void *arg);
/*
 * Waits up to ms for *pid to end; true (*pid then -1, *status its status
 * when wanted) when it did, or is no child of ours.
 */
bool wait_for(pid_t *pid, long ms, int *status);
/* Kills *pid and reaps it; a child stuck in a mount is reaped later (reap_stragglers). */
void finish(pid_t *pid);
/* Reaps the children finish could not wait for. */
void reap_stragglers(void);
/* spawn_as, then waits: fn's exit code, RUN_TIMEOUT or RUN_KILLED. */
int run_as(uid_t uid, unsigned alarm_s, int (*fn)(const void *), const void *arg);

#endif

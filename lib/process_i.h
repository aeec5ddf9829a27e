/* SPDX-License-Identifier: MIT */
/* libpshm's scan of one process (process.c), for the walk of them all (procs.c). */
#ifndef PROCESS_I_H
#define PROCESS_I_H

#include <stdbool.h>

#include "objects_i.h"

/*
 * Adds what process pid (a directory of proc_dir) holds to s: its
 * descriptors when need_fds, and its mappings. 0 (a process that exited
 * meanwhile, or could not be read, counted in s->unreadable, too),
 * -ENOMEM, or -E2BIG past options.holders_max.
 */
int process_scan(struct pshm_scan *s, int proc_dir, long pid, bool need_fds);

/*
 * When the process of the /proc/PID directory dir started (field 22 of
 * its stat, clock ticks): 0 when it cannot be read.
 */
unsigned long long process_start_time(int dir);

#endif /* PROCESS_I_H */

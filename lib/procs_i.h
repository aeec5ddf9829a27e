/* SPDX-License-Identifier: MIT */
/* libpshm's walk of the processes (procs.c), for the scan (scan.c). */
#ifndef PROCS_I_H
#define PROCS_I_H

#include <stdint.h>
#include <sys/types.h>

#include "objects_i.h"

/*
 * Adds what every process of /proc holds to s (but the caller, with
 * options.skip_self), shared out among a few workers (one per CPU, at
 * most 4, and only for many processes), and notes the other IPC
 * namespaces they are in (sysv_scan_others reads them): 0, -ENOMEM,
 * -E2BIG past options.holders_max, -ETIMEDOUT when options.stop stopped
 * it, or what reading /proc reports. Holders come in the order found
 * until procs_order_holders.
 */
int procs_scan(struct pshm_scan *s);

/*
 * The namespaces of type ("mnt") other than own that the processes of
 * /proc are in, without a scan: into list the first max of them by their
 * first process, in process order (that process's pid with each), each
 * process's link read in parallel as a scan's walk reads processes;
 * *ret_partial when deadline_ms (CLOCK_MONOTONIC) came before every
 * process was looked at. Returns how many, -ENOMEM, or what opening /proc
 * says.
 */
ssize_t procs_namespaces(const char *type, unsigned long long own, struct scan_namespace *list,
			 size_t max, uint64_t deadline_ms, bool *ret_partial);

/* Puts every object's holders in process order (descriptors, then mappings by address). */
void procs_order_holders(struct pshm_scan *s);

#endif /* PROCS_I_H */

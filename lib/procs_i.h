/* SPDX-License-Identifier: MIT */
/* libpshm's walk of the processes (procs.c), for the scan (scan.c). */
#ifndef PROCS_I_H
#define PROCS_I_H

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

/* Puts every object's holders in process order (descriptors, then mappings by address). */
void procs_order_holders(struct pshm_scan *s);

#endif /* PROCS_I_H */

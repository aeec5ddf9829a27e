/* SPDX-License-Identifier: MIT */
/* shmfs: names inside the mount (names.c). */
#ifndef NAMES_I_H
#define NAMES_I_H

#include "shmfs_i.h"

/* names.c: names inside the mount and the segments they mean. */
/*
 * The segment name for an entry of the mount: prefix + name, checked.
 * Returns 0, -ENAMETOOLONG, or -EINVAL (a name shm cannot hold); semaphore
 * names are -ENOENT, since the mount never shows them.
 */
int names_segment(const char *prefix, const char *name, char buf[PSHM_NAME_MAX + 1]);
/* The id of an anonymous segment from its name in .anon (ctl_parse_id's rules). */
bool names_anon_id(const char *name, uint64_t *ret);

#endif /* NAMES_I_H */

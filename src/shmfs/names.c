/* SPDX-License-Identifier: MIT */
/* shmfs: names inside the mount, and the segments they mean. */
#include <errno.h>
#include <string.h>

#include "ctl_parse_i.h"
#include "names_i.h"
#include "shmfs_i.h"

int names_segment(const char *prefix, const char *name, char buf[PSHM_NAME_MAX + 1])
{
	size_t prefix_len = strlen(prefix), len = strlen(name);
	int r;

	if (prefix_len + len > PSHM_NAME_MAX)
		return -ENAMETOOLONG;
	memcpy(buf, prefix, prefix_len);
	memcpy(buf + prefix_len, name, len + 1);
	r = pshm_name_check(buf, NULL);
	if (r < 0)
		return r;
	/* Named semaphores live in the same directory; they are not segments. */
	if (strncmp(buf, PSHM_SEMAPHORE_PREFIX, strlen(PSHM_SEMAPHORE_PREFIX)) == 0)
		return -ENOENT;
	return 0;
}

bool names_anon_id(const char *name, uint64_t *ret)
{
	return ctl_parse_id(name, ret);
}

/* SPDX-License-Identifier: MIT */
/* libpshm: names written for people and for tools that read lines and words. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>

#include "pshm_i.h"

PSHM_EXPORT int pshm_name_escape(const char *name, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t pos = 0;

	if (!name || !buf || len == 0)
		return -EINVAL;
	/* The length is returned as an int: a buffer larger than that is never filled. */
	if (len > INT_MAX)
		len = INT_MAX;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		bool plain = *p >= 0x21 && *p <= 0x7e && *p != '\\';

		/* Never half an escape: \x without its digits would be another name. */
		if (pos + (plain ? 1 : 4) >= len) {
			buf[pos] = '\0';
			return -ENOSPC;
		}
		if (plain) {
			buf[pos++] = (char)*p;
			continue;
		}
		buf[pos++] = '\\';
		buf[pos++] = 'x';
		buf[pos++] = hex[*p >> 4];
		buf[pos++] = hex[*p & 0xf];
	}
	buf[pos] = '\0';
	return (int)pos;
}

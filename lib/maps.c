/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the parsers of /proc/PID/maps lines and fdinfo text (maps_i.h).
 * A maps line is read whole and parsed strictly, so no path text can
 * forge one.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "maps_i.h"

/* A hexadecimal or decimal field ending at sep: false when it is not one. */
static bool field(const char **at, int base, char sep, unsigned long long *ret)
{
	const char *p = *at;
	unsigned long long v = 0;

	if (!(base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p)))
		return false;
	for (; base == 16 ? isxdigit((unsigned char)*p) : isdigit((unsigned char)*p); p++) {
		unsigned d = isdigit((unsigned char)*p)
				     ? (unsigned)(*p - '0')
				     : (unsigned)(tolower((unsigned char)*p) - 'a' + 10);

		if (v > (~0ULL - d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + d;
	}
	if (*p != sep)
		return false;
	*at = p + (sep ? 1 : 0);
	*ret = v;
	return true;
}

bool maps_parse_line(const char *line, struct maps_line *ret)
{
	unsigned long long major_ull, minor_ull;
	const char *at = line;

	if (!field(&at, 16, '-', &ret->start) || !field(&at, 16, ' ', &ret->end))
		return false;
	for (int i = 0; i < 4; i++)
		if (!at[i] || at[i] == ' ')
			return false;
	if (at[4] != ' ')
		return false;
	memcpy(ret->perms, at, 4);
	ret->perms[4] = '\0';
	at += 5;
	if (!field(&at, 16, ' ', &ret->offset) || !field(&at, 16, ':', &major_ull) ||
	    !field(&at, 16, ' ', &minor_ull) || major_ull > 0xfff || minor_ull > 0xfffff)
		return false;
	/* The inode ends the line, or spaces and the path follow. */
	if (!field(&at, 10, ' ', &ret->inode) && !field(&at, 10, '\0', &ret->inode))
		return false;
	while (*at == ' ')
		at++;
	ret->major_no = (unsigned)major_ull;
	ret->minor_no = (unsigned)minor_ull;
	ret->path = at;
	return true;
}

void maps_parse_fdinfo(const char *text, long *ret_mnt_id, ino_t *ret_ino)
{
	const char *p;

	*ret_mnt_id = -1;
	*ret_ino = 0;
	p = strstr(text, "mnt_id:");
	if (p)
		*ret_mnt_id = strtol(p + 7, NULL, 10);
	p = strstr(text, "\nino:");
	if (p)
		*ret_ino = (ino_t)strtoull(p + 5, NULL, 10);
}

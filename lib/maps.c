/* SPDX-License-Identifier: MIT */
/*
 * libpshm: the parsers of /proc/PID/maps lines and fdinfo text (maps_i.h).
 * A maps line is read whole and parsed strictly, so no path text can
 * forge one.
 */
#include <stdlib.h>
#include <string.h>

#include "maps_i.h"

/* The value of digit c in base (16 or 10), or -1: the C locale's isxdigit and isdigit. */
static int digit(char c, int base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A hexadecimal or decimal field ending at sep: false when it is not one.
 * Every line of every process's maps goes through here: no locale calls.
 */
static bool field(const char **at, int base, char sep, unsigned long long *ret)
{
	const char *p = *at;
	unsigned long long v = 0;
	int d = digit(*p, base);

	if (d < 0)
		return false;
	for (; d >= 0; d = digit(*++p, base)) {
		if (v > (~0ULL - (unsigned)d) / (unsigned)base)
			return false;
		v = v * (unsigned)base + (unsigned)d;
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

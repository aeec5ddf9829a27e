/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the parsers of /proc/PID/maps lines and fdinfo text
 * (lib/maps.c). The input is cut into lines as the scan cuts a maps file;
 * a line is accepted only in the documented form, with every field's
 * value as a plain reading gives it, and the path inside the line. The
 * whole input is also fdinfo text: parsed without reading past its end.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps_i.h"

#define INPUT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * What the parser accepted, read again the plain way (perms as the four
 * bytes they are, sscanf would skip white space there): false when it
 * differs.
 */
static bool same_as_plain_reading(const char *line, const struct maps_line *m)
{
	unsigned long long start, end, offset, inode;
	unsigned major_no, minor_no;
	const char *path;
	int perms_at = 0, inode_end = 0;

	if (sscanf(line, "%llx-%llx%n", &start, &end, &perms_at) != 2 || line[perms_at++] != ' ' ||
	    strlen(line + perms_at) < 5 || memcmp(line + perms_at, m->perms, 4) != 0 ||
	    sscanf(line + perms_at + 4, "%llx %x:%x %llu%n", &offset, &major_no, &minor_no, &inode,
		   &inode_end) != 4)
		return false;
	/* The path: after the spaces that follow the inode. */
	for (path = line + perms_at + 4 + inode_end; *path == ' '; path++)
		;
	return start == m->start && end == m->end && offset == m->offset &&
	       major_no == m->major_no && minor_no == m->minor_no && inode == m->inode &&
	       path == m->path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[INPUT_MAX + 1], *line, *end;
	ino_t ino;
	long mnt_id;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	maps_parse_fdinfo(text, &mnt_id, &ino);
	for (line = text; line <= text + size; line = end + 1) {
		struct maps_line m;

		end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		*end = '\0';
		if (!maps_parse_line(line, &m))
			continue;
		if (m.path < line || m.path > end || *m.path == ' ' || strlen(m.perms) != 4 ||
		    strchr(m.perms, ' ') || m.major_no > 0xfff || m.minor_no > 0xfffff)
			abort();
		if (!same_as_plain_reading(line, &m))
			abort();
	}
	return 0;
}

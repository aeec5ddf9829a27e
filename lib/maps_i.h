/* SPDX-License-Identifier: MIT */
/*
 * libpshm's parsers of the /proc text a scan trusts: a line of
 * /proc/PID/maps and /proc/PID/fdinfo/FD. Text in, values out, no I/O, so
 * that each is fuzzed on its own (tests/fuzz/fuzz_maps.c).
 */
#ifndef MAPS_I_H
#define MAPS_I_H

#include <stdbool.h>
#include <sys/types.h>

/* One mapping, as its line of /proc/PID/maps gives it. */
struct maps_line {
	unsigned long long start, end; /* its addresses */
	char perms[5];                 /* "rw-s" */
	unsigned long long offset;
	unsigned major_no, minor_no; /* its file's device */
	unsigned long long inode;    /* its file's inode, 0 for none */
	const char *path;            /* into the line: its file's path, or "" */
};

/*
 * One line of /proc/PID/maps, whole (NUL-terminated, no newline), parsed
 * strictly: "START-END PERMS OFFSET MAJOR:MINOR INODE", then the end or
 * spaces and the path. False (ret partly filled) for anything else.
 */
bool maps_parse_line(const char *line, struct maps_line *ret);

/*
 * The text of /proc/PID/fdinfo/FD (NUL-terminated): its mount id and
 * inode, -1 and 0 for what it does not say.
 */
void maps_parse_fdinfo(const char *text, long *ret_mnt_id, ino_t *ret_ino);

#endif /* MAPS_I_H */

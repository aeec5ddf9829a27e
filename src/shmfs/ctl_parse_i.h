/* SPDX-License-Identifier: MIT */
/* shmfs: parsing a control file command line, apart from FUSE (and fuzzed on its own). */
#ifndef CTL_PARSE_I_H
#define CTL_PARSE_I_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CTL_LINE_MAX 4096 /* the longest command line */
#define CTL_MAX_WORDS 8   /* words in one command */
#define CTL_MESSAGE_MAX 512
#define CTL_WAIT_MAX_S 86400 /* the longest wait TIMEOUT, in seconds (a day) */

enum ctl_verb {
	CTL_NONE, /* an empty line: no command, no reply */
	CTL_ANON,
	CTL_FREE,
	CTL_LIST,
	CTL_HOLDERS,
	CTL_HELP,
	CTL_USAGE,
	CTL_WAIT,
};

/* How usage groups its table. */
enum ctl_usage_by {
	CTL_USAGE_KIND,
	CTL_USAGE_USER,
	CTL_USAGE_PROCESS,
	CTL_USAGE_CGROUP,
};

struct ctl_command {
	enum ctl_verb verb;
	off_t size;           /* anon */
	mode_t mode;          /* anon: 0600 unless given */
	bool hold;            /* anon */
	uint64_t id;          /* free; holders of .anon/ID */
	const char *name;     /* holders, wait: the word as given, inside the parsed line */
	int64_t timeout_ms;   /* wait: -1 without TIMEOUT (until the file is closed) */
	off_t min_size;       /* wait: min-size=BYTES, 0 unless given */
	bool created;         /* wait: created (never with min_size) */
	enum ctl_usage_by by; /* usage */
};

/*
 * Parses line[0..len) (at most CTL_LINE_MAX bytes; the caller's buffer has
 * room for a NUL after it and is split into words in place). Returns 0 with
 * *ret filled, or -EINVAL with a one-line reason in message. Never touches
 * anything else.
 */
int ctl_parse(char *line, size_t len, struct ctl_command *ret, char *message, size_t message_len);

/*
 * Parses the id of an anonymous segment, in a command or as a name in
 * .anon: canonical decimal, 1 or more, no leading zero; false if it is not one.
 */
bool ctl_parse_id(const char *text, uint64_t *ret);

#endif

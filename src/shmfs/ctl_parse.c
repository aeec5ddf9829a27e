/* SPDX-License-Identifier: MIT */
/* shmfs: parsing a control file command line, apart from FUSE (and fuzzed on its own). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse_i.h"
#include "pshm.h"

__attribute__((format(printf, 3, 4))) static int invalid(char *message, size_t len, const char *fmt,
							 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

bool ctl_parse_id(const char *text, uint64_t *ret)
{
	char *end;

	/* Canonical decimal only: .anon/01 would be a second name for .anon/1. */
	if (text[0] < '1' || text[0] > '9')
		return false;
	errno = 0;
	*ret = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0' && *ret > 0;
}

static int parse_anon(char **words, int count, struct ctl_command *c, char *message, size_t len)
{
	static const char usage[] = "usage: anon SIZE [MODE] [hold]";
	const char *mode_text = NULL;
	struct pshm_error err;

	if (count < 2 || count > 4)
		return invalid(message, len, "%s", usage);
	for (int i = 2; i < count; i++) {
		if (strcmp(words[i], "hold") == 0 && !c->hold)
			c->hold = true;
		else if (!mode_text && strcmp(words[i], "hold") != 0)
			mode_text = words[i];
		else
			return invalid(message, len, "%s", usage);
	}
	if (pshm_parse_size(words[1], &c->size, &err) < 0)
		return invalid(message, len, "size \"%s\": %s (e.g. 4096, 64K, 1M, 2G)", err.word,
			       err.reason ? err.reason : strerror(err.code));
	c->mode = 0600;
	if (mode_text && pshm_parse_mode(mode_text, &c->mode, &err) < 0)
		return invalid(message, len, "mode \"%s\": %s (e.g. 0600 or read-user,write-user)",
			       err.word, err.reason);
	return 0;
}

/*
 * A wait's TIMEOUT: seconds, decimal, at most CTL_WAIT_MAX_S; to the
 * millisecond, rounded up (a wait is never shorter than asked).
 */
static bool parse_timeout(const char *text, int64_t *ret)
{
	int64_t seconds = 0, ms = 0;
	const char *p = text;
	bool more = false;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		seconds = seconds * 10 + (*p - '0');
		if (seconds > CTL_WAIT_MAX_S)
			return false;
	}
	if (*p == '.') {
		int digits = 0;

		if (*++p == '\0')
			return false;
		for (; *p >= '0' && *p <= '9'; p++, digits++) {
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
			else if (*p != '0')
				more = true;
		}
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p != '\0')
		return false;
	*ret = seconds * 1000 + ms + more;
	return *ret <= (int64_t)CTL_WAIT_MAX_S * 1000;
}

/*
 * wait NAME [TIMEOUT] [created | min-size=BYTES]: TIMEOUT, when given,
 * is the word after NAME; the others follow in any order, once each.
 */
static int parse_wait(char **words, int count, struct ctl_command *c, char *message, size_t len)
{
	static const char usage[] = "usage: wait NAME [TIMEOUT] [created | min-size=BYTES]";
	static const char min_size[] = "min-size=";
	struct pshm_error err;
	bool sized = false;

	if (count < 2 || count > 4)
		return invalid(message, len, "%s", usage);
	c->name = words[1];
	for (int i = 2; i < count; i++) {
		if (strcmp(words[i], "created") == 0 && !c->created) {
			c->created = true;
		} else if (strncmp(words[i], min_size, strlen(min_size)) == 0 && !sized) {
			sized = true;
			if (pshm_parse_size(words[i] + strlen(min_size), &c->min_size, &err) < 0)
				return invalid(message, len,
					       "min-size \"%.64s\": %s (e.g. 4096, 64K, 1M, 2G)",
					       err.word,
					       err.reason ? err.reason : strerror(err.code));
		} else if (i == 2) {
			/* Not a word of the others: the TIMEOUT, right after NAME, or wrong. */
			if (!parse_timeout(words[i], &c->timeout_ms))
				return invalid(
					message, len,
					"timeout \"%.64s\": seconds from 0 to %d (e.g. 5 or 0.3)",
					words[i], CTL_WAIT_MAX_S);
		} else {
			return invalid(message, len, "%s", usage);
		}
	}
	/* A creation counts even when the segment is gone before it is seen: no size to vouch. */
	if (c->created && sized)
		return invalid(message, len,
			       "created and min-size exclude each other: a creation counts even "
			       "when the segment is gone before it is seen");
	return 0;
}

int ctl_parse(char *line, size_t len, struct ctl_command *ret, char *message, size_t message_len)
{
	static const char anon_path[] = ".anon/";
	char *words[CTL_MAX_WORDS], *save = NULL, *word;
	struct ctl_command c = { .verb = CTL_NONE, .timeout_ms = -1 };
	int count = 0, r = 0;

	if (len > CTL_LINE_MAX)
		return invalid(message, message_len, "line longer than %d bytes", CTL_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];

		if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
			return invalid(message, message_len,
				       "the line holds byte 0x%02x: commands are printable ASCII",
				       ch);
	}
	line[len] = '\0';
	for (word = strtok_r(line, " \t", &save); word; word = strtok_r(NULL, " \t", &save)) {
		if (count == CTL_MAX_WORDS)
			return invalid(message, message_len, "more than %d words", CTL_MAX_WORDS);
		words[count++] = word;
	}
	if (count == 0) {
		*ret = c;
		return 0;
	}
	if (strcmp(words[0], "anon") == 0) {
		c.verb = CTL_ANON;
		r = parse_anon(words, count, &c, message, message_len);
	} else if (strcmp(words[0], "free") == 0) {
		c.verb = CTL_FREE;
		if (count != 2 || !ctl_parse_id(words[1], &c.id))
			r = invalid(message, message_len, "usage: free ID");
	} else if (strcmp(words[0], "list") == 0) {
		c.verb = CTL_LIST;
		if (count != 1)
			r = invalid(message, message_len, "usage: list");
	} else if (strcmp(words[0], "holders") == 0) {
		c.verb = CTL_HOLDERS;
		if (count != 2)
			r = invalid(message, message_len,
				    "usage: holders NAME (a segment, .anon/ID, or an entry of "
				    ".deleted, "
				    ".memfd, .sysv, .shared-anon)");
		else if (strncmp(words[1], anon_path, strlen(anon_path)) == 0 &&
			 !ctl_parse_id(words[1] + strlen(anon_path), &c.id))
			r = invalid(message, message_len, "\"%s\" is not .anon/ID", words[1]);
		c.name = count == 2 ? words[1] : NULL;
	} else if (strcmp(words[0], "help") == 0) {
		c.verb = CTL_HELP;
	} else if (strcmp(words[0], "usage") == 0) {
		c.verb = CTL_USAGE;
		if (count == 2 && strcmp(words[1], "by-user") == 0)
			c.by = CTL_USAGE_USER;
		else if (count == 2 && strcmp(words[1], "by-process") == 0)
			c.by = CTL_USAGE_PROCESS;
		else if (count == 2 && strcmp(words[1], "by-cgroup") == 0)
			c.by = CTL_USAGE_CGROUP;
		else if (count != 1)
			r = invalid(message, message_len,
				    "usage: usage [by-user|by-process|by-cgroup]");
	} else if (strcmp(words[0], "wait") == 0) {
		c.verb = CTL_WAIT;
		r = parse_wait(words, count, &c, message, message_len);
	} else {
		r = invalid(message, message_len, "unknown command \"%.64s\" (try help)", words[0]);
	}
	if (r == 0)
		*ret = c;
	return r;
}

/* SPDX-License-Identifier: MIT */
/* libpshm: filling struct pshm_error and formatting it for people. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pshm_i.h"

static void copy_bounded(char *dst, size_t size, const char *src, size_t src_len)
{
	size_t n = src_len < size - 1 ? src_len : size - 1;

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int pshm_fail(struct pshm_error *err, int code, const char *op, const char *name, int fd,
	      const char *reason)
{
	if (err) {
		err->code = code;
		err->op = op;
		err->what = NULL;
		err->reason = reason;
		err->fd = fd;
		err->name[0] = '\0';
		err->word[0] = '\0';
		if (name)
			copy_bounded(err->name, sizeof(err->name), name, strlen(name));
	}
	return -code;
}

int pshm_fail_parse(struct pshm_error *err, int code, const char *what, const char *word,
		    size_t word_len, const char *reason)
{
	if (err) {
		pshm_fail(err, code, "parse", NULL, -1, reason);
		err->what = what;
		copy_bounded(err->word, sizeof(err->word), word, word_len);
	}
	return -code;
}

PSHM_EXPORT int pshm_strerror(const struct pshm_error *err, char *buf, size_t len)
{
	/* What a caller named is written as pshm_name_escape writes it: one line, whatever it holds. */
	char name[PSHM_NAME_ESCAPED_SIZE(sizeof(err->name) - 1)];
	char word[PSHM_NAME_ESCAPED_SIZE(sizeof(err->word) - 1)];
	const char *detail;
	int n;

	if (!err || !buf || len == 0)
		return -EINVAL;
	detail = err->reason ? err->reason : strerror(err->code);
	if (err->what) {
		pshm_name_escape(err->word, word, sizeof(word));
		n = snprintf(buf, len, "%s %s: %s \"%s\"", err->op, err->what, detail, word);
	} else if (err->name[0]) {
		pshm_name_escape(err->name, name, sizeof(name));
		n = snprintf(buf, len, "%s(\"%s\"): %s", err->op, name, detail);
	} else if (err->fd >= 0) {
		n = snprintf(buf, len, "%s(fd %d): %s", err->op, err->fd, detail);
	} else {
		n = snprintf(buf, len, "%s: %s", err->op ? err->op : "pshm", detail);
	}
	if (n < 0)
		return -EINVAL;
	return (size_t)n < len ? n : -ENOSPC;
}

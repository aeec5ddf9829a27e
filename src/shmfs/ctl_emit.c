/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the emit context a control file command replies through: its
 * lines, escaped to printable ASCII and charged as they come, until the
 * session takes them. What it needs of the session comes through its ops.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_i.h"
#include "ctl_parse_i.h"
#include "holders_i.h"
#include "waits_i.h"

#define EMIT_MIN_CAP 1024

void ctl_emit_init(struct ctl_emit *e, const struct ctl_emit_ops *ops, void *owner,
		   const struct creds *opener)
{
	*e = (struct ctl_emit){ .ops = ops, .owner = owner, .opener = opener };
}

void ctl_emit_taken(struct ctl_emit *e)
{
	e->len = 0;
	/* A large reply's buffer goes with it. */
	if (e->cap > CTL_BUFFER_KEEP) {
		free(e->text);
		e->text = NULL;
		e->cap = 0;
	}
}

void ctl_emit_drop(struct ctl_emit *e)
{
	if (e->len)
		e->ops->uncharge(e->owner, e->len);
	ctl_emit_taken(e);
	e->overflow = false;
}

void ctl_emit_free(struct ctl_emit *e)
{
	free(e->text);
	e->text = NULL;
	e->len = e->cap = 0;
}

/*
 * Appends text, charged to the opener; false (and e overflowed) when it
 * does not fit. error: a last short error line, which may use the room
 * kept past the file's limit (still within the opener's: else it is
 * dropped, and the failed write(2) alone tells).
 */
static bool emit_raw(struct ctl_emit *e, const char *text, size_t len, bool error)
{
	if (e->ops->charge(e->owner, len, error) < 0) {
		if (!error)
			e->overflow = true;
		return false;
	}
	if (e->len + len > e->cap) {
		size_t cap = e->cap ? e->cap : EMIT_MIN_CAP;
		char *grown;

		while (cap < e->len + len)
			cap *= 2;
		grown = realloc(e->text, cap);
		if (!grown) {
			e->ops->uncharge(e->owner, len);
			e->overflow = true;
			return false;
		}
		e->text = grown;
		e->cap = cap;
	}
	memcpy(e->text + e->len, text, len);
	e->len += len;
	return true;
}

/*
 * Writes text into line as one reply line, without its newline: at most
 * room bytes, every byte outside printable ASCII 0x20..0x7e as %XX (the
 * spelling of the views' names). Commands are printable ASCII, so what a
 * command named comes back as it was written, usable in the next
 * command; whatever else a reply holds (the mount's prefix, a name that
 * got through), no control byte reaches the reader and one reply stays
 * one line. Cut before an escape that does not fit. Returns the length.
 */
static size_t one_line(char *line, size_t room, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		bool plain = *p >= 0x20 && *p <= 0x7e;

		if (n + (plain ? 1 : 3) > room)
			break;
		if (plain) {
			line[n++] = (char)*p;
			continue;
		}
		line[n++] = '%';
		line[n++] = hex[*p >> 4];
		line[n++] = hex[*p & 0xf];
	}
	return n;
}

__attribute__((format(printf, 2, 3))) void ctl_emit_line(struct ctl_emit *e, const char *fmt, ...)
{
	char text[CTL_LINE_MAX + 64], line[CTL_LINE_MAX + 64];
	va_list ap;
	size_t n;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	n = one_line(line, sizeof(line) - 1, text);
	line[n++] = '\n';
	emit_raw(e, line, n, false);
}

__attribute__((format(printf, 3, 4))) int ctl_emit_fail(struct ctl_emit *e, int code,
							const char *fmt, ...)
{
	char message[CTL_MESSAGE_MAX], text[CTL_MESSAGE_MAX + 32], line[CTL_MESSAGE_MAX + 32];
	const char *name = strerrorname_np(code);
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (snprintf(text, sizeof(text), "err %s %s", name ? name : "EIO", message) < 0)
		return -code;
	n = one_line(line, sizeof(line) - 1, text);
	line[n++] = '\n';
	emit_raw(e, line, n, true);
	return -code;
}

/* text as a reply line (one_line), with its newline, in a new string. */
static char *line_of(const char *text)
{
	size_t room = 3 * strlen(text), n;
	char *line = malloc(room + 2);

	if (line) {
		n = one_line(line, room, text);
		memcpy(line + n, "\n", 2);
	}
	return line;
}

int ctl_emit_later(struct ctl_emit *e, const struct ctl_later *later)
{
	bool late = later->late_text && later->deadline_ms != WAITS_FOREVER;
	bool lost = later->lost_text && later->want.created;
	char *ok_line = line_of(later->ok_text);
	char *late_line = late ? line_of(later->late_text) : NULL;
	char *lost_line = lost ? line_of(later->lost_text) : NULL;
	struct ctl_later lines = *later;
	int r = -ENOMEM;

	lines.ok_text = ok_line;
	lines.late_text = late_line;
	lines.lost_text = lost_line;
	if (ok_line && (!late || late_line) && (!lost || lost_line))
		r = e->ops->later(e->owner, e, &lines);
	free(ok_line);
	free(late_line);
	free(lost_line);
	return r;
}

const struct creds *ctl_emit_opener(const struct ctl_emit *e)
{
	return e->opener;
}

const void *ctl_emit_holder(const struct ctl_emit *e)
{
	return e->owner;
}

bool ctl_emit_overflowed(const struct ctl_emit *e)
{
	return e->overflow;
}

/* A scan that could not run, or stopped: the reply says why. */
int ctl_emit_scan_refused(struct ctl_emit *e, int r)
{
	if (r == -EAGAIN)
		return ctl_emit_fail(
			e, EAGAIN,
			"a scan of uid %u is running, or %d of other users are: try again",
			(unsigned)ctl_emit_opener(e)->uid, HOLDERS_SCANS_MAX);
	if (r == -ETIMEDOUT)
		return ctl_emit_fail(e, ETIMEDOUT, "the scan of /proc stopped after %d ms",
				     HOLDERS_SCAN_MS);
	if (r == -E2BIG)
		return ctl_emit_fail(e, E2BIG, "the scan of /proc found more than %d holders",
				     HOLDERS_MAX);
	return ctl_emit_fail(e, -r, "cannot scan /proc: %s", strerror(-r));
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the replies of one control file, waiting unread: a list of
 * entries in command order, each a reply's text or a slot for a reply
 * that comes later. Entries never move: a slot is filled where it is,
 * whatever was queued behind it. Consecutive replies share the last
 * entry's buffer; an entry read to its end is freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_queue_i.h"

#define ENTRY_MIN_CAP 1024 /* a new text entry's buffer, at least */

struct ctl_queue_entry {
	struct ctl_queue_entry *next;
	char *text; /* text[pos..len) is unread; a slot's buffer is allocated when reserved */
	size_t pos, len, cap;
	size_t size; /* a slot not filled: the bytes it reserved */
	bool slot;   /* not filled yet: what follows waits behind it */
};

void ctl_queue_init(struct ctl_queue *q, size_t max, size_t error_room, size_t keep)
{
	*q = (struct ctl_queue){ .max = max, .error_room = error_room, .keep = keep };
}

size_t ctl_queue_held(const struct ctl_queue *q)
{
	return q->unread + q->reserved + q->promised;
}

static void entry_free(struct ctl_queue_entry *e)
{
	free(e->text);
	free(e);
}

size_t ctl_queue_free(struct ctl_queue *q)
{
	size_t held = ctl_queue_held(q);

	while (q->head) {
		struct ctl_queue_entry *next = q->head->next;

		entry_free(q->head);
		q->head = next;
	}
	ctl_queue_init(q, q->max, q->error_room, q->keep);
	return held;
}

/* Text entries are never empty: a drained one is freed, an empty text is never queued. */
bool ctl_queue_readable(const struct ctl_queue *q)
{
	return q->head && !q->head->slot;
}

bool ctl_queue_awaiting(const struct ctl_queue *q)
{
	return q->slots > 0;
}

size_t ctl_queue_footprint(const struct ctl_queue *q)
{
	size_t bytes = 0;

	for (const struct ctl_queue_entry *e = q->head; e; e = e->next)
		bytes += sizeof(*e) + e->cap;
	return bytes;
}

int ctl_queue_promise(struct ctl_queue *q, size_t len, bool error)
{
	size_t room = q->max + (error ? q->error_room : 0);

	if (ctl_queue_held(q) + len > room)
		return -ENOBUFS;
	q->promised += len;
	return 0;
}

void ctl_queue_unpromise(struct ctl_queue *q, size_t len)
{
	q->promised -= len;
}

/* Moves e's unread text to the start of its buffer; a large buffer shrinks to fit. */
static void entry_compact(struct ctl_queue_entry *e, size_t keep)
{
	size_t unread = e->len - e->pos, cap;
	char *text;

	if (e->pos) {
		memmove(e->text, e->text + e->pos, unread);
		e->len = unread;
		e->pos = 0;
	}
	if (e->cap <= keep || unread > e->cap / 4)
		return;
	for (cap = keep; cap < unread; cap *= 2)
		;
	text = realloc(e->text, cap);
	if (text) { /* else it keeps its larger buffer: no harm */
		e->text = text;
		e->cap = cap;
	}
}

void ctl_queue_compact(struct ctl_queue *q)
{
	if (q->head && !q->head->slot)
		entry_compact(q->head, q->keep);
}

/* Room in e for len more bytes, at its end. */
static bool entry_grow(struct ctl_queue_entry *e, size_t len)
{
	size_t cap = e->cap ? e->cap : ENTRY_MIN_CAP;
	char *text;

	if (e->len + len <= e->cap)
		return true;
	if (e->pos) {
		memmove(e->text, e->text + e->pos, e->len - e->pos);
		e->len -= e->pos;
		e->pos = 0;
		if (e->len + len <= e->cap)
			return true;
	}
	while (cap < e->len + len)
		cap *= 2;
	text = realloc(e->text, cap);
	if (!text)
		return false;
	e->text = text;
	e->cap = cap;
	return true;
}

static void link_last(struct ctl_queue *q, struct ctl_queue_entry *e)
{
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
}

int ctl_queue_append(struct ctl_queue *q, const char *text, size_t len)
{
	struct ctl_queue_entry *e = q->tail;

	if (len == 0)
		return 0;
	q->promised -= len;
	if (!e || e->slot) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		if (!entry_grow(e, len)) {
			free(e);
			return -ENOMEM;
		}
		link_last(q, e);
	} else if (!entry_grow(e, len)) {
		return -ENOMEM;
	}
	memcpy(e->text + e->len, text, len);
	e->len += len;
	q->unread += len;
	return 0;
}

int ctl_queue_reserve(struct ctl_queue *q, size_t size, struct ctl_queue_entry **ret)
{
	struct ctl_queue_entry *e;

	if (ctl_queue_held(q) + size > q->max)
		return -ENOBUFS;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	if (size && !(e->text = malloc(size))) {
		free(e);
		return -ENOMEM;
	}
	e->cap = size;
	e->size = size;
	e->slot = true;
	link_last(q, e);
	q->reserved += size;
	q->slots++;
	*ret = e;
	return 0;
}

/* Unlinks e (searching from the head: slots taken out are few). */
static void unlink_entry(struct ctl_queue *q, struct ctl_queue_entry *e)
{
	struct ctl_queue_entry *prev = NULL;

	for (struct ctl_queue_entry *p = q->head; p && p != e; p = p->next)
		prev = p;
	if (prev)
		prev->next = e->next;
	else
		q->head = e->next;
	if (q->tail == e)
		q->tail = prev;
}

size_t ctl_queue_drop(struct ctl_queue *q, struct ctl_queue_entry *slot)
{
	size_t size = slot->size;

	unlink_entry(q, slot);
	q->reserved -= size;
	q->slots--;
	entry_free(slot);
	return size;
}

size_t ctl_queue_fill(struct ctl_queue *q, struct ctl_queue_entry *slot, const char *text,
		      size_t len)
{
	size_t size = slot->size;

	if (len > size) {
		char *grown = realloc(slot->text, len);

		if (!grown) {
			q->promised -= len - size;
			ctl_queue_drop(q, slot);
			return len;
		}
		slot->text = grown;
		slot->cap = len;
		q->promised -= len - size;
	}
	if (len == 0)
		return ctl_queue_drop(q, slot); /* no text is ever empty */
	memcpy(slot->text, text, len);
	slot->len = len;
	slot->size = 0;
	slot->slot = false;
	q->reserved -= size;
	q->slots--;
	q->unread += len;
	return len < size ? size - len : 0;
}

size_t ctl_queue_read(struct ctl_queue *q, char *buf, size_t size)
{
	size_t n = 0;

	while (n < size && ctl_queue_readable(q)) {
		struct ctl_queue_entry *e = q->head;
		size_t part = e->len - e->pos;

		if (part > size - n)
			part = size - n;
		memcpy(buf + n, e->text + e->pos, part);
		e->pos += part;
		n += part;
		if (e->pos < e->len)
			break;
		q->head = e->next;
		if (!q->head)
			q->tail = NULL;
		entry_free(e);
	}
	q->unread -= n;
	/*
	 * What was read goes once it is the larger part of the first buffer,
	 * and a large buffer once little of it is left unread.
	 */
	if (ctl_queue_readable(q)) {
		struct ctl_queue_entry *e = q->head;

		if (e->pos > e->cap / 2 || (e->cap > q->keep && e->len - e->pos <= e->cap / 4))
			entry_compact(e, q->keep);
	}
	return n;
}

/* SPDX-License-Identifier: MIT */
/* The control file's reply queue, alone: order, slots filled later, limits, compaction. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_queue_i.h"
#include "testutil.h"

#define MAX 4096
#define ERROR_ROOM 64
#define KEEP 1024

/* A reply written as the session writes one: promised, then appended. */
static int put(struct ctl_queue *q, const char *text)
{
	int r = ctl_queue_promise(q, strlen(text), false);

	return r < 0 ? r : ctl_queue_append(q, text, strlen(text));
}

/* Everything readable now, read size bytes at a time, as a string. */
static const char *read_all(struct ctl_queue *q, size_t size)
{
	static char buf[MAX * 4];
	size_t len = 0, n;

	while ((n = ctl_queue_read(q, buf + len, size)) > 0)
		len += n;
	buf[len] = '\0';
	return buf;
}

static void test_queue_replies_are_read_in_command_order(void)
{
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	CU_ASSERT_EQUAL(put(&q, "ok 1\n"), 0);
	CU_ASSERT_EQUAL(put(&q, "a\nok\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 10);
	CU_ASSERT_TRUE(ctl_queue_readable(&q));
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "ok 1\na\nok\n");
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 0);
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	/* An empty reply (an empty line's) queues nothing. */
	CU_ASSERT_EQUAL(ctl_queue_append(&q, "", 0), 0);
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_a_slot_filled_later_keeps_its_place(void)
{
	struct ctl_queue_entry *slot;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_EQUAL(put(&q, "before\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 16, &slot), 0);
	CU_ASSERT_EQUAL(put(&q, "behind 1\n"), 0);
	CU_ASSERT_EQUAL(put(&q, "behind 2\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 7 + 16 + 18);
	CU_ASSERT_TRUE(ctl_queue_awaiting(&q));
	/* What came before the slot may be read; nothing behind it. */
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "before\n");
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	/* Filled with fewer bytes than it reserved: the rest is given back. */
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, slot, "ok jobs\n", 8), 8);
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 8 + 18);
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "ok jobs\nbehind 1\nbehind 2\n");
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_slots_filled_out_of_order_read_in_order(void)
{
	struct ctl_queue_entry *a, *b, *c;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &a), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &b), 0);
	CU_ASSERT_EQUAL(put(&q, "x\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &c), 0);
	CU_ASSERT_EQUAL(put(&q, "y\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, c, "ok c\n", 5), 3);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, b, "ok b\n", 5), 3);
	CU_ASSERT_TRUE(ctl_queue_awaiting(&q));
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "");
	/* A slot filled to its size exactly gives nothing back. */
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, a, "ok aaaa\n", 8), 0);
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "ok aaaa\nok b\nx\nok c\ny\n");
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 0);
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_reads_run_across_entries_and_slots(void)
{
	struct ctl_queue_entry *slot;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_EQUAL(put(&q, "one\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 10, &slot), 0);
	CU_ASSERT_EQUAL(put(&q, "three\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, slot, "two\n", 4), 6);
	/* Three bytes at a time: reads end inside entries and cross them. */
	CU_ASSERT_STRING_EQUAL(read_all(&q, 3), "one\ntwo\nthree\n");
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 0);
	CU_ASSERT_EQUAL(ctl_queue_footprint(&q), 0);
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_limits_hold_at_the_edge(void)
{
	struct ctl_queue_entry *slot;
	char big[MAX];
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	memset(big, 'a', sizeof(big));
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, MAX - 10, false), 0);
	CU_ASSERT_EQUAL(ctl_queue_append(&q, big, MAX - 10), 0);
	/* A slot of exactly the room left fits; one byte more does not. */
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 11, &slot), -ENOBUFS);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 10, &slot), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), MAX);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, 1, false), -ENOBUFS);
	/* One last error line may pass max by the error room, no more. */
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, ERROR_ROOM + 1, true), -ENOBUFS);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, ERROR_ROOM, true), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), MAX + ERROR_ROOM);
	ctl_queue_unpromise(&q, ERROR_ROOM);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), MAX);
	/* Reading makes room again, byte for byte. */
	CU_ASSERT_EQUAL(ctl_queue_read(&q, big, 5), 5);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, 6, false), -ENOBUFS);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, 5, false), 0);
	CU_ASSERT_EQUAL(ctl_queue_append(&q, "1234\n", 5), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), MAX);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, slot, "ok\n", 3), 7);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), MAX - 7);
	CU_ASSERT_EQUAL(ctl_queue_free(&q), MAX - 7);
}

static void test_queue_a_slot_may_take_more_than_it_reserved_if_promised(void)
{
	struct ctl_queue_entry *slot;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	/* A reply of unknown length (the summary): a slot of nothing, its text promised. */
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 0, &slot), 0);
	CU_ASSERT_EQUAL(put(&q, "after\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, 12, false), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 18);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, slot, "version 0.1\n", 12), 0);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 18);
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "version 0.1\nafter\n");
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_a_dropped_slot_lets_what_follows_through(void)
{
	struct ctl_queue_entry *a, *b;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_EQUAL(put(&q, "x\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &a), 0);
	CU_ASSERT_EQUAL(put(&q, "y\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &b), 0);
	CU_ASSERT_EQUAL(ctl_queue_drop(&q, b), 8); /* the last */
	CU_ASSERT_EQUAL(ctl_queue_drop(&q, a), 8); /* one in the middle */
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	CU_ASSERT_EQUAL(put(&q, "z\n"), 0);
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "x\ny\nz\n");
	/* A slot filled with nothing is no entry. */
	CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 8, &a), 0);
	CU_ASSERT_EQUAL(ctl_queue_fill(&q, a, "", 0), 8);
	CU_ASSERT_FALSE(ctl_queue_readable(&q));
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_keeps_what_is_unread_not_what_was_read(void)
{
	static char big[MAX * 4], out[MAX * 4];
	struct ctl_queue q;
	size_t n = 0;

	ctl_queue_init(&q, sizeof(big), ERROR_ROOM, KEEP);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, sizeof(big), false), 0);
	CU_ASSERT_EQUAL(ctl_queue_append(&q, big, sizeof(big)), 0);
	CU_ASSERT(ctl_queue_footprint(&q) >= sizeof(big));
	/* All but 100 bytes read: the reads compact, the buffer shrinks to what is left. */
	while (n < sizeof(big) - 100)
		n += ctl_queue_read(&q, out + n,
				    1000 < sizeof(big) - 100 - n ? 1000 : sizeof(big) - 100 - n);
	CU_ASSERT(ctl_queue_footprint(&q) <= KEEP + 256);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 100);
	/* One byte unread, many rounds of replies after it: the buffer stays small. */
	for (int round = 0; round < 1000; round++) {
		CU_ASSERT_EQUAL(put(&q, "0123456789\n"), 0);
		CU_ASSERT_EQUAL(ctl_queue_read(&q, out, q.unread - 1), round ? 11 : 110);
		ctl_queue_compact(&q);
	}
	CU_ASSERT(ctl_queue_footprint(&q) <= KEEP + 256);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 1);
	CU_ASSERT_EQUAL(ctl_queue_read(&q, out, sizeof(out)), 1);
	CU_ASSERT_EQUAL(out[0], '\n');
	CU_ASSERT_EQUAL(ctl_queue_footprint(&q), 0);
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_compact_keeps_the_text(void)
{
	struct ctl_queue q;
	char out[64];

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	CU_ASSERT_EQUAL(put(&q, "abcdefgh\n"), 0);
	CU_ASSERT_EQUAL(ctl_queue_read(&q, out, 3), 3);
	ctl_queue_compact(&q);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 6);
	CU_ASSERT_EQUAL(put(&q, "ij\n"), 0);
	CU_ASSERT_STRING_EQUAL(read_all(&q, 2), "defgh\nij\n");
	ctl_queue_compact(&q); /* on an empty queue: nothing to do */
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

static void test_queue_frees_with_slots_pending(void)
{
	struct ctl_queue_entry *slot;
	struct ctl_queue q;

	ctl_queue_init(&q, MAX, ERROR_ROOM, KEEP);
	for (int i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(ctl_queue_reserve(&q, 20, &slot), 0);
		CU_ASSERT_EQUAL(put(&q, "behind\n"), 0);
	}
	CU_ASSERT_EQUAL(ctl_queue_promise(&q, 5, false), 0); /* a reply being written */
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 100 * 27 + 5);
	/* Everything it held is given back; nothing leaks (the sanitizer build checks). */
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 100 * 27 + 5);
	CU_ASSERT_EQUAL(ctl_queue_held(&q), 0);
	CU_ASSERT_FALSE(ctl_queue_awaiting(&q));
	/* And it is usable again. */
	CU_ASSERT_EQUAL(put(&q, "again\n"), 0);
	CU_ASSERT_STRING_EQUAL(read_all(&q, 4096), "again\n");
	CU_ASSERT_EQUAL(ctl_queue_free(&q), 0);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_queue_replies_are_read_in_command_order),
		TEST(test_queue_a_slot_filled_later_keeps_its_place),
		TEST(test_queue_slots_filled_out_of_order_read_in_order),
		TEST(test_queue_reads_run_across_entries_and_slots),
		TEST(test_queue_limits_hold_at_the_edge),
		TEST(test_queue_a_slot_may_take_more_than_it_reserved_if_promised),
		TEST(test_queue_a_dropped_slot_lets_what_follows_through),
		TEST(test_queue_keeps_what_is_unread_not_what_was_read),
		TEST(test_queue_compact_keeps_the_text),
		TEST(test_queue_frees_with_slots_pending),
		TEST_END,
	};

	return test_run_suite("ctl-queue", cases);
}

/* SPDX-License-Identifier: MIT */
/* libpshm unit tests: keyword parsing, formatting, sizes, error texts, escaped names, README vocabulary. */
#include <CUnit/CUnit.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pshm_i.h"
#include "testutil.h"

static const char *readme_path;

_Static_assert(PSHM_O_READ_WRITE == O_RDWR && PSHM_O_RDWR == O_RDWR, "oflag constants");
_Static_assert(PSHM_O_CREATE == O_CREAT && PSHM_O_EXCLUSIVE == O_EXCL, "oflag constants");
_Static_assert(PSHM_O_TRUNCATE == O_TRUNC && PSHM_O_READ == O_RDONLY, "oflag constants");
_Static_assert(PSHM_ALL_USER == S_IRWXU && PSHM_READ_GROUP == S_IRGRP, "mode constants");
_Static_assert(PSHM_WRITE_OTHER == S_IWOTH && PSHM_EXEC_OTHER == S_IXOTH, "mode constants");
_Static_assert(PSHM_PROT_NONE == PROT_NONE && PSHM_PROT_EXEC == PROT_EXEC, "prot constants");

/* A compile-time constant list, the point of the enums. */
static const int fixed_flags = PSHM_O_READ_WRITE | PSHM_O_CREATE | PSHM_O_EXCLUSIVE;

static void upcase(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < len; i++)
		dst[i] = (char)toupper((unsigned char)src[i]);
	dst[i] = '\0';
}

typedef int (*parse_int_fn)(const char *, int *, struct pshm_error *);

static int parse_mode_int(const char *words, int *ret, struct pshm_error *err)
{
	mode_t mode;
	int r = pshm_parse_mode(words, &mode, err);

	if (r == 0)
		*ret = (int)mode;
	return r;
}

static void check_table_parses(const struct pshm_word *table, size_t len, parse_int_fn parse,
			       int extra)
{
	for (size_t i = 0; i < len; i++) {
		const char *spellings[] = { table[i].name, table[i].alias };
		char upper[64];
		int value = -1;

		for (size_t s = 0; s < 2; s++) {
			CU_ASSERT_EQUAL(parse(spellings[s], &value, NULL), 0);
			CU_ASSERT_EQUAL(value, table[i].value | extra);
			upcase(upper, spellings[s], sizeof(upper));
			CU_ASSERT_EQUAL(parse(upper, &value, NULL), 0);
			CU_ASSERT_EQUAL(value, table[i].value | extra);
		}
	}
}

static void test_every_alias_parses_to_its_constant(void)
{
	check_table_parses(pshm_oflag_words, pshm_oflag_words_len, pshm_parse_oflags, 0);
	check_table_parses(pshm_mode_words, pshm_mode_words_len, parse_mode_int, 0);
	check_table_parses(pshm_prot_words, pshm_prot_words_len, pshm_parse_prot, 0);
}

static void test_separators_case_and_duplicates(void)
{
	int flags = -1;
	mode_t mode = 1;
	int prot = -1;

	CU_ASSERT_EQUAL(pshm_parse_oflags("read-write,create|EXCLUSIVE  trunc", &flags, NULL), 0);
	CU_ASSERT_EQUAL(flags, O_RDWR | O_CREAT | O_EXCL | O_TRUNC);
	CU_ASSERT_EQUAL(pshm_parse_oflags("read-write,create,exclusive", &flags, NULL), 0);
	CU_ASSERT_EQUAL(flags, fixed_flags);
	CU_ASSERT_EQUAL(pshm_parse_oflags("rdwr,rdwr,read-write", &flags, NULL), 0);
	CU_ASSERT_EQUAL(flags, O_RDWR);
	CU_ASSERT_EQUAL(pshm_parse_oflags("create", &flags, NULL), 0);
	CU_ASSERT_EQUAL(flags, O_RDONLY | O_CREAT);
	CU_ASSERT_EQUAL(pshm_parse_oflags("", &flags, NULL), 0);
	CU_ASSERT_EQUAL(flags, O_RDONLY);
	CU_ASSERT_EQUAL(pshm_parse_mode("read-user,write-user", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0600);
	CU_ASSERT_EQUAL(pshm_parse_mode(" rusr | wusr ,, rgrp\troth ", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0644);
	CU_ASSERT_EQUAL(pshm_parse_mode("all-user,rusr", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0700);
	CU_ASSERT_EQUAL(pshm_parse_prot("read,write", &prot, NULL), 0);
	CU_ASSERT_EQUAL(prot, PROT_READ | PROT_WRITE);
	CU_ASSERT_EQUAL(pshm_parse_prot("none,none", &prot, NULL), 0);
	CU_ASSERT_EQUAL(prot, PROT_NONE);
}

static void test_parse_mode_accepts_octal(void)
{
	mode_t mode = 1;

	CU_ASSERT_EQUAL(pshm_parse_mode("0640", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0640);
	CU_ASSERT_EQUAL(pshm_parse_mode("600", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0600);
	CU_ASSERT_EQUAL(pshm_parse_mode("0640,read-other", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0644);
	CU_ASSERT_EQUAL(pshm_parse_mode("0", &mode, NULL), 0);
	CU_ASSERT_EQUAL(mode, 0);
}

static void assert_parse_error(int r, const struct pshm_error *err, const char *word,
			       const char *text)
{
	char buf[256];

	CU_ASSERT_EQUAL(r, -EINVAL);
	CU_ASSERT_EQUAL(err->code, EINVAL);
	CU_ASSERT_STRING_EQUAL(err->op, "parse");
	CU_ASSERT_STRING_EQUAL(err->word, word);
	CU_ASSERT(pshm_strerror(err, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, text);
}

static void test_parse_rejects_unknown_word(void)
{
	struct pshm_error err;
	int flags = 12345;
	mode_t mode = 0;
	int prot = 0;

	assert_parse_error(pshm_parse_oflags("read,rwdr", &flags, &err), &err, "rwdr",
			   "parse open flags: unknown word \"rwdr\"");
	CU_ASSERT_EQUAL(flags, 12345); /* untouched on failure */
	assert_parse_error(pshm_parse_mode("read-user,read-everyone", &mode, &err), &err,
			   "read-everyone", "parse mode: unknown word \"read-everyone\"");
	assert_parse_error(pshm_parse_prot("read;write", &prot, &err), &err, "read;write",
			   "parse protection: unknown word \"read;write\"");
	/* A C constant's name is not a keyword. */
	assert_parse_error(pshm_parse_oflags("O_RDWR", &flags, &err), &err, "O_RDWR",
			   "parse open flags: unknown word \"O_RDWR\"");
	/* Prefixes of words are not words. */
	assert_parse_error(pshm_parse_oflags("read-wr", &flags, &err), &err, "read-wr",
			   "parse open flags: unknown word \"read-wr\"");
}

static void test_parse_rejects_read_with_read_write(void)
{
	struct pshm_error err;
	int flags;

	assert_parse_error(pshm_parse_oflags("read,read-write", &flags, &err), &err, "read-write",
			   "parse open flags: read and read-write together \"read-write\"");
	assert_parse_error(pshm_parse_oflags("rdwr create rdonly", &flags, &err), &err, "rdonly",
			   "parse open flags: read and read-write together \"rdonly\"");
}

static void test_parse_rejects_none_with_read(void)
{
	struct pshm_error err;
	int prot;

	assert_parse_error(pshm_parse_prot("none,read", &prot, &err), &err, "read",
			   "parse protection: none combined with other words \"read\"");
	assert_parse_error(pshm_parse_prot("write none", &prot, &err), &err, "none",
			   "parse protection: none combined with other words \"none\"");
}

static void test_parse_mode_rejects_bad_octal(void)
{
	struct pshm_error err;
	mode_t mode;

	assert_parse_error(pshm_parse_mode("0800", &mode, &err), &err, "0800",
			   "parse mode: not an octal number \"0800\"");
	assert_parse_error(pshm_parse_mode("01000", &mode, &err), &err, "01000",
			   "parse mode: octal mode above 0777 \"01000\"");
	assert_parse_error(pshm_parse_mode("0644x", &mode, &err), &err, "0644x",
			   "parse mode: not an octal number \"0644x\"");
}

static void test_parse_error_truncates_long_word(void)
{
	char words[300];
	struct pshm_error err;
	int flags;

	memset(words, 'x', sizeof(words) - 1);
	words[sizeof(words) - 1] = '\0';
	CU_ASSERT_EQUAL(pshm_parse_oflags(words, &flags, &err), -EINVAL);
	CU_ASSERT_EQUAL(strlen(err.word), PSHM_WORD_MAX);
	CU_ASSERT_EQUAL(pshm_parse_oflags(NULL, &flags, &err), -EINVAL);
}

static void test_format_round_trips_every_value(void)
{
	static const int extras[] = { O_CREAT, O_EXCL, O_TRUNC };
	char buf[256];
	int value;

	for (mode_t mode = 0; mode <= 0777; mode++) {
		mode_t back = 01000;

		CU_ASSERT(pshm_format_mode(mode, buf, sizeof(buf)) >= 0);
		CU_ASSERT_EQUAL(pshm_parse_mode(buf, &back, NULL), 0);
		CU_ASSERT_EQUAL(back, mode);
	}
	for (int access = 0; access < 2; access++) {
		for (int set = 0; set < 8; set++) {
			int flags = access ? O_RDWR : O_RDONLY;

			for (int i = 0; i < 3; i++)
				if (set & (1 << i))
					flags |= extras[i];
			CU_ASSERT(pshm_format_oflags(flags, buf, sizeof(buf)) > 0);
			CU_ASSERT_EQUAL(pshm_parse_oflags(buf, &value, NULL), 0);
			CU_ASSERT_EQUAL(value, flags);
		}
	}
	for (int prot = 0; prot < 8; prot++) {
		CU_ASSERT(pshm_format_prot(prot, buf, sizeof(buf)) > 0);
		CU_ASSERT_EQUAL(pshm_parse_prot(buf, &value, NULL), 0);
		CU_ASSERT_EQUAL(value, prot);
	}
}

static void test_format_uses_canonical_long_names(void)
{
	char buf[256];

	CU_ASSERT_EQUAL(pshm_format_oflags(O_RDWR | O_CREAT | O_EXCL, buf, sizeof(buf)),
			(int)strlen("read-write,create,exclusive"));
	CU_ASSERT_STRING_EQUAL(buf, "read-write,create,exclusive");
	pshm_format_oflags(O_RDONLY | O_TRUNC, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "read,truncate");
	pshm_format_mode(0600, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "read-user,write-user");
	pshm_format_mode(0751, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "all-user,read-group,exec-group,exec-other");
	CU_ASSERT_EQUAL(pshm_format_mode(0, buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	pshm_format_prot(PROT_READ | PROT_WRITE, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "read,write");
	pshm_format_prot(PROT_NONE, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "none");
}

static void test_format_reports_enospc_and_einval(void)
{
	char buf[64];

	/* "read-write,create" needs 18 bytes with its NUL. */
	CU_ASSERT_EQUAL(pshm_format_oflags(O_RDWR | O_CREAT, buf, 17), -ENOSPC);
	CU_ASSERT_EQUAL(pshm_format_oflags(O_RDWR | O_CREAT, buf, 18), 17);
	CU_ASSERT_EQUAL(pshm_format_mode(0777, buf, 5), -ENOSPC);
	CU_ASSERT_EQUAL(pshm_format_prot(PROT_NONE, buf, 4), -ENOSPC);
	CU_ASSERT_EQUAL(pshm_format_prot(PROT_NONE, buf, 0), -ENOSPC);
	CU_ASSERT_EQUAL(pshm_format_oflags(O_WRONLY, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(pshm_format_oflags(O_RDWR | O_APPEND, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(pshm_format_mode(04755, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(pshm_format_prot(PROT_READ | 0x100, buf, sizeof(buf)), -EINVAL);
}

static void test_parse_size_suffixes_and_limits(void)
{
	struct pshm_error err;
	char text[128];
	off_t size = -1;

	CU_ASSERT_EQUAL(pshm_parse_size("4096", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, 4096);
	CU_ASSERT_EQUAL(pshm_parse_size("64K", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, 65536);
	CU_ASSERT_EQUAL(pshm_parse_size("1m", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, 1 << 20);
	CU_ASSERT_EQUAL(pshm_parse_size("2GiB", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, (off_t)2 << 30);
	CU_ASSERT_EQUAL(pshm_parse_size("0", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, 0);
	CU_ASSERT_EQUAL(pshm_parse_size("9223372036854775807", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, INT64_MAX);
	CU_ASSERT_EQUAL(pshm_parse_size("8388607T", &size, NULL), 0);
	CU_ASSERT_EQUAL(size, (off_t)8388607 << 40);
	size = 7;
	CU_ASSERT_EQUAL(pshm_parse_size("9223372036854775808", &size, &err), -ERANGE);
	CU_ASSERT_EQUAL(size, 7);
	CU_ASSERT_EQUAL(pshm_parse_size("8388608T", &size, &err), -ERANGE);
	CU_ASSERT_EQUAL(pshm_parse_size("99999999999999999999999", &size, &err), -ERANGE);
	CU_ASSERT_EQUAL(pshm_parse_size("", &size, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_parse_size("-1", &size, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_parse_size("1.5M", &size, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_parse_size("12Q", &size, &err), -EINVAL);
	pshm_strerror(&err, text, sizeof(text));
	CU_ASSERT_STRING_EQUAL(text, "parse size: unknown suffix (use K, M, G or T) \"12Q\"");
	CU_ASSERT_EQUAL(pshm_parse_size(" 1", &size, &err), -EINVAL);
	CU_ASSERT_EQUAL(size, 7);
}

static void test_strerror_formats_and_truncates(void)
{
	struct pshm_error err = { .code = EACCES, .op = "shm_open", .fd = -1, .name = "/jobs" };
	char buf[64];

	CU_ASSERT_EQUAL(pshm_strerror(&err, buf, sizeof(buf)),
			(int)strlen("shm_open(\"/jobs\"): Permission denied"));
	CU_ASSERT_STRING_EQUAL(buf, "shm_open(\"/jobs\"): Permission denied");
	CU_ASSERT_EQUAL(pshm_strerror(&err, buf, 10), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "shm_open(");
	err = (struct pshm_error){ .code = ENOSPC, .op = "ftruncate", .fd = 4 };
	pshm_strerror(&err, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "ftruncate(fd 4): No space left on device");
	CU_ASSERT_EQUAL(pshm_strerror(NULL, buf, sizeof(buf)), -EINVAL);
}

static void test_strerror_escapes_name_and_word(void)
{
	struct pshm_error err = {
		.code = EACCES, .op = "shm_open", .fd = -1, .name = "x\nremoved jobs"
	};
	char buf[128];

	CU_ASSERT_EQUAL(pshm_strerror(&err, buf, sizeof(buf)),
			(int)strlen("shm_open(\"x\\x0aremoved\\x20jobs\"): Permission denied"));
	CU_ASSERT_STRING_EQUAL(buf, "shm_open(\"x\\x0aremoved\\x20jobs\"): Permission denied");
	err = (struct pshm_error){ .code = EINVAL,
				   .op = "parse",
				   .what = "mode",
				   .fd = -1,
				   .reason = "unknown word",
				   .word = "\033[2J" };
	pshm_strerror(&err, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "parse mode: unknown word \"\\x1b[2J\"");
}

static void test_name_escape_writes_unsafe_bytes_as_hex(void)
{
	char name[2] = { 0 }, buf[8], expected[8];

	/* Each byte alone: printable ASCII but the backslash as it is, the rest as \xHH. */
	for (int byte = 1; byte < 256; byte++) {
		bool plain = byte >= 0x21 && byte <= 0x7e && byte != '\\';

		name[0] = (char)byte;
		if (plain)
			snprintf(expected, sizeof(expected), "%c", byte);
		else
			snprintf(expected, sizeof(expected), "\\x%02x", byte);
		CU_ASSERT_EQUAL(pshm_name_escape(name, buf, sizeof(buf)), (int)strlen(expected));
		CU_ASSERT_STRING_EQUAL(buf, expected);
	}
}

static void test_name_escape_keeps_plain_names_and_tells_apart(void)
{
	char buf[PSHM_NAME_ESCAPED_SIZE(PSHM_NAME_MAX + 1)], name[PSHM_NAME_MAX + 2];

	CU_ASSERT_EQUAL(pshm_name_escape("/jobs.v2@1%41", buf, sizeof(buf)), 13);
	CU_ASSERT_STRING_EQUAL(buf, "/jobs.v2@1%41");
	CU_ASSERT_EQUAL(pshm_name_escape("", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "");
	pshm_name_escape("title\033]0;owned\a", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "title\\x1b]0;owned\\x07");
	pshm_name_escape("a b\tc", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "a\\x20b\\x09c");
	pshm_name_escape("bytes\x80\xff\xc3(", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "bytes\\x80\\xff\\xc3(");
	/* A name that spells an escape is not the byte it spells: its backslash is escaped. */
	pshm_name_escape("a\\x0ab", buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "a\\x5cx0ab");
	/* The longest name of the worst bytes fits the room the macro gives. */
	memset(name, 0xff, PSHM_NAME_MAX + 1);
	name[PSHM_NAME_MAX + 1] = '\0';
	CU_ASSERT_EQUAL(pshm_name_escape(name, buf, sizeof(buf)), 4 * (PSHM_NAME_MAX + 1));
	CU_ASSERT_EQUAL(strlen(buf), 4 * (PSHM_NAME_MAX + 1));
}

static void test_name_escape_truncates_between_escapes(void)
{
	char buf[8];

	memset(buf, '#', sizeof(buf));
	CU_ASSERT_EQUAL(pshm_name_escape("ab\n", buf, 7), 6);
	CU_ASSERT_STRING_EQUAL(buf, "ab\\x0a");
	CU_ASSERT_EQUAL(pshm_name_escape("ab\n", buf, 6), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "ab");
	CU_ASSERT_EQUAL(pshm_name_escape("ab\n", buf, 3), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "ab");
	CU_ASSERT_EQUAL(pshm_name_escape("ab", buf, 2), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "a");
	CU_ASSERT_EQUAL(pshm_name_escape("ab", buf, 1), -ENOSPC);
	CU_ASSERT_STRING_EQUAL(buf, "");
	CU_ASSERT_EQUAL(pshm_name_escape("ab", buf, 0), -EINVAL);
	CU_ASSERT_EQUAL(pshm_name_escape(NULL, buf, sizeof(buf)), -EINVAL);
	CU_ASSERT_EQUAL(pshm_name_escape("ab", NULL, sizeof(buf)), -EINVAL);
}

/*
 * The README documents the vocabulary in tables introduced by a marker line
 * "<!-- vocab:KIND -->": a header row, a separator row, then one row per
 * word: | `long` | `alias` | `CONSTANT` | ... Each must match the library's
 * table word for word and in order.
 */
static void check_readme_table(const char *readme, const char *kind, const struct pshm_word *table,
			       size_t table_len)
{
	char marker[64], cell[3][64];
	const char *p;
	size_t row = 0;

	snprintf(marker, sizeof(marker), "<!-- vocab:%s -->\n", kind);
	p = strstr(readme, marker);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p += strlen(marker);
	for (int skip = 0; skip < 2; skip++) {
		p = strchr(p, '\n');
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p++;
	}
	while (*p == '|') {
		const char *end = strchr(p, '\n');

		for (int c = 0; c < 3; c++) {
			const char *open = strchr(p, '`'), *close;

			CU_ASSERT_FATAL(open && open < end);
			close = strchr(open + 1, '`');
			CU_ASSERT_FATAL(close && close < end && close - open - 1 < 64);
			snprintf(cell[c], sizeof(cell[c]), "%.*s", (int)(close - open - 1),
				 open + 1);
			p = close + 1;
		}
		CU_ASSERT_FATAL(row < table_len);
		CU_ASSERT_STRING_EQUAL(cell[0], table[row].name);
		CU_ASSERT_STRING_EQUAL(cell[1], table[row].alias);
		CU_ASSERT_STRING_EQUAL(cell[2], table[row].constant);
		row++;
		p = end ? end + 1 : p + strlen(p);
	}
	CU_ASSERT_EQUAL(row, table_len);
}

static void test_readme_vocabulary_matches_tables(void)
{
	static char readme[1 << 20];
	FILE *f = fopen(readme_path, "r");
	size_t n;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	n = fread(readme, 1, sizeof(readme) - 1, f);
	fclose(f);
	readme[n] = '\0';
	check_readme_table(readme, "oflags", pshm_oflag_words, pshm_oflag_words_len);
	check_readme_table(readme, "mode", pshm_mode_words, pshm_mode_words_len);
	check_readme_table(readme, "prot", pshm_prot_words, pshm_prot_words_len);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_every_alias_parses_to_its_constant),
		TEST(test_separators_case_and_duplicates),
		TEST(test_parse_mode_accepts_octal),
		TEST(test_parse_rejects_unknown_word),
		TEST(test_parse_rejects_read_with_read_write),
		TEST(test_parse_rejects_none_with_read),
		TEST(test_parse_mode_rejects_bad_octal),
		TEST(test_parse_error_truncates_long_word),
		TEST(test_format_round_trips_every_value),
		TEST(test_format_uses_canonical_long_names),
		TEST(test_format_reports_enospc_and_einval),
		TEST(test_parse_size_suffixes_and_limits),
		TEST(test_strerror_formats_and_truncates),
		TEST(test_strerror_escapes_name_and_word),
		TEST(test_name_escape_writes_unsafe_bytes_as_hex),
		TEST(test_name_escape_keeps_plain_names_and_tells_apart),
		TEST(test_name_escape_truncates_between_escapes),
		TEST(test_readme_vocabulary_matches_tables),
		TEST_END,
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s README.md\n", argv[0]);
		return 2;
	}
	readme_path = argv[1];
	return test_run_suite("vocabulary", cases);
}

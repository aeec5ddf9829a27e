/* SPDX-License-Identifier: MIT */
/* libpshm: the keyword vocabulary, one table per kind for parsing and formatting. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "pshm_i.h"

/* One word per row reads best. */
/* clang-format off */
const struct pshm_word pshm_oflag_words[] = {
	{ "read", "rdonly", "O_RDONLY", O_RDONLY },
	{ "read-write", "rdwr", "O_RDWR", O_RDWR },
	{ "create", "creat", "O_CREAT", O_CREAT },
	{ "exclusive", "excl", "O_EXCL", O_EXCL },
	{ "truncate", "trunc", "O_TRUNC", O_TRUNC },
};
const size_t pshm_oflag_words_len = sizeof(pshm_oflag_words) / sizeof(pshm_oflag_words[0]);

const struct pshm_word pshm_mode_words[] = {
	{ "read-user", "rusr", "S_IRUSR", S_IRUSR },
	{ "write-user", "wusr", "S_IWUSR", S_IWUSR },
	{ "exec-user", "xusr", "S_IXUSR", S_IXUSR },
	{ "all-user", "rwxu", "S_IRWXU", S_IRWXU },
	{ "read-group", "rgrp", "S_IRGRP", S_IRGRP },
	{ "write-group", "wgrp", "S_IWGRP", S_IWGRP },
	{ "exec-group", "xgrp", "S_IXGRP", S_IXGRP },
	{ "all-group", "rwxg", "S_IRWXG", S_IRWXG },
	{ "read-other", "roth", "S_IROTH", S_IROTH },
	{ "write-other", "woth", "S_IWOTH", S_IWOTH },
	{ "exec-other", "xoth", "S_IXOTH", S_IXOTH },
	{ "all-other", "rwxo", "S_IRWXO", S_IRWXO },
};
const size_t pshm_mode_words_len = sizeof(pshm_mode_words) / sizeof(pshm_mode_words[0]);

const struct pshm_word pshm_prot_words[] = {
	{ "read", "read", "PROT_READ", PROT_READ },
	{ "write", "write", "PROT_WRITE", PROT_WRITE },
	{ "exec", "exec", "PROT_EXEC", PROT_EXEC },
	{ "none", "none", "PROT_NONE", PROT_NONE },
};
const size_t pshm_prot_words_len = sizeof(pshm_prot_words) / sizeof(pshm_prot_words[0]);
/* clang-format on */

static bool is_separator(char c)
{
	return c == ',' || c == '|' || c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * Splits words into its keywords: sets *start and *len to the next one and
 * returns true, or returns false at the end.
 */
static bool next_word(const char **cursor, const char **start, size_t *len)
{
	const char *p = *cursor;

	while (*p && is_separator(*p))
		p++;
	if (!*p)
		return false;
	*start = p;
	while (*p && !is_separator(*p))
		p++;
	*len = (size_t)(p - *start);
	*cursor = p;
	return true;
}

static bool word_is(const char *word, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(word, name, len) == 0;
}

static const struct pshm_word *lookup(const struct pshm_word *table, size_t table_len,
				      const char *word, size_t len)
{
	for (size_t i = 0; i < table_len; i++)
		if (word_is(word, len, table[i].name) || word_is(word, len, table[i].alias))
			return &table[i];
	return NULL;
}

PSHM_EXPORT int pshm_parse_oflags(const char *words, int *ret, struct pshm_error *err)
{
	static const char what[] = "open flags";
	const struct pshm_word *w;
	const char *cursor = words, *word;
	int flags = 0, access = -1;
	size_t len;

	if (!words || !ret)
		return pshm_fail(err, EINVAL, "parse", NULL, -1, "no words given");
	while (next_word(&cursor, &word, &len)) {
		w = lookup(pshm_oflag_words, pshm_oflag_words_len, word, len);
		if (!w)
			return pshm_fail_parse(err, EINVAL, what, word, len, "unknown word");
		if (w->value == O_RDONLY || w->value == O_RDWR) {
			if (access >= 0 && access != w->value)
				return pshm_fail_parse(err, EINVAL, what, word, len,
						       "read and read-write together");
			access = w->value;
		} else {
			flags |= w->value;
		}
	}
	*ret = flags | (access < 0 ? O_RDONLY : access);
	return 0;
}

PSHM_EXPORT int pshm_parse_mode(const char *words, mode_t *ret, struct pshm_error *err)
{
	static const char what[] = "mode";
	const struct pshm_word *w;
	const char *cursor = words, *word;
	mode_t mode = 0;
	size_t len;

	if (!words || !ret)
		return pshm_fail(err, EINVAL, "parse", NULL, -1, "no words given");
	while (next_word(&cursor, &word, &len)) {
		if (word[0] >= '0' && word[0] <= '9') {
			unsigned long octal = 0;

			for (size_t i = 0; i < len; i++) {
				if (word[i] < '0' || word[i] > '7')
					return pshm_fail_parse(err, EINVAL, what, word, len,
							       "not an octal number");
				octal = octal * 8 + (unsigned long)(word[i] - '0');
				if (octal > 0777)
					return pshm_fail_parse(err, EINVAL, what, word, len,
							       "octal mode above 0777");
			}
			mode |= (mode_t)octal;
			continue;
		}
		w = lookup(pshm_mode_words, pshm_mode_words_len, word, len);
		if (!w)
			return pshm_fail_parse(err, EINVAL, what, word, len, "unknown word");
		mode |= (mode_t)w->value;
	}
	*ret = mode;
	return 0;
}

PSHM_EXPORT int pshm_parse_prot(const char *words, int *ret, struct pshm_error *err)
{
	static const char what[] = "protection";
	const struct pshm_word *w;
	const char *cursor = words, *word;
	bool none = false, other = false;
	int prot = PROT_NONE;
	size_t len;

	if (!words || !ret)
		return pshm_fail(err, EINVAL, "parse", NULL, -1, "no words given");
	while (next_word(&cursor, &word, &len)) {
		w = lookup(pshm_prot_words, pshm_prot_words_len, word, len);
		if (!w)
			return pshm_fail_parse(err, EINVAL, what, word, len, "unknown word");
		if (w->value == PROT_NONE)
			none = true;
		else
			other = true;
		if (none && other)
			return pshm_fail_parse(err, EINVAL, what, word, len,
					       "none combined with other words");
		prot |= w->value;
	}
	*ret = prot;
	return 0;
}

/* Appends word to buf at *pos with a comma before all but the first. */
static int append(char *buf, size_t len, size_t *pos, const char *word)
{
	size_t need = strlen(word) + (*pos ? 1 : 0);

	if (*pos + need + 1 > len)
		return -ENOSPC;
	if (*pos)
		buf[(*pos)++] = ',';
	memcpy(buf + *pos, word, strlen(word) + 1);
	*pos += strlen(word);
	return 0;
}

/* True when a wider entry of table (e.g. all-user) covers value within bits. */
static bool covered_by_wider(const struct pshm_word *table, size_t table_len, int value, int bits)
{
	for (size_t i = 0; i < table_len; i++)
		if (table[i].value != value && (table[i].value & value) == value &&
		    (bits & table[i].value) == table[i].value)
			return true;
	return false;
}

/* Formats the nonzero entries of table that bits holds, widest spelling first. */
static int format_bits(const struct pshm_word *table, size_t table_len, int bits, char *buf,
		       size_t len, size_t *pos)
{
	int known = 0;

	for (size_t i = 0; i < table_len; i++)
		known |= table[i].value;
	if (bits & ~known)
		return -EINVAL;
	for (size_t i = 0; i < table_len; i++) {
		int r, v = table[i].value;

		if (v == 0 || (bits & v) != v || covered_by_wider(table, table_len, v, bits))
			continue;
		r = append(buf, len, pos, table[i].name);
		if (r < 0)
			return r;
	}
	return 0;
}

static int start(char *buf, size_t len, size_t *pos)
{
	if (!buf || len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	*pos = 0;
	return 0;
}

PSHM_EXPORT int pshm_format_oflags(int oflags, char *buf, size_t len)
{
	int access = oflags & O_ACCMODE, r;
	size_t pos;

	if ((r = start(buf, len, &pos)) < 0)
		return r;
	if (access != O_RDONLY && access != O_RDWR)
		return -EINVAL;
	r = append(buf, len, &pos, access == O_RDWR ? "read-write" : "read");
	if (r < 0)
		return r;
	r = format_bits(pshm_oflag_words, pshm_oflag_words_len, oflags & ~O_ACCMODE, buf, len,
			&pos);
	return r < 0 ? r : (int)pos;
}

PSHM_EXPORT int pshm_format_mode(mode_t mode, char *buf, size_t len)
{
	size_t pos;
	int r;

	if ((r = start(buf, len, &pos)) < 0)
		return r;
	if (mode & ~(mode_t)0777)
		return -EINVAL;
	r = format_bits(pshm_mode_words, pshm_mode_words_len, (int)mode, buf, len, &pos);
	return r < 0 ? r : (int)pos;
}

PSHM_EXPORT int pshm_format_prot(int prot, char *buf, size_t len)
{
	size_t pos;
	int r;

	if ((r = start(buf, len, &pos)) < 0)
		return r;
	if (prot == PROT_NONE)
		r = append(buf, len, &pos, "none");
	else
		r = format_bits(pshm_prot_words, pshm_prot_words_len, prot, buf, len, &pos);
	return r < 0 ? r : (int)pos;
}

PSHM_EXPORT int pshm_parse_size(const char *text, off_t *ret, struct pshm_error *err)
{
	static const char what[] = "size";
	/* clang-format off */
	static const struct {
		const char *suffix;
		int shift;
	} suffixes[] = {
		{ "", 0 },
		{ "k", 10 }, { "kib", 10 },
		{ "m", 20 }, { "mib", 20 },
		{ "g", 30 }, { "gib", 30 },
		{ "t", 40 }, { "tib", 40 },
	};
	/* clang-format on */
	const char *p = text;
	uint64_t value = 0;
	size_t len;

	if (!text || !ret)
		return pshm_fail(err, EINVAL, "parse", NULL, -1, "no size given");
	len = strlen(text);
	if (*p < '0' || *p > '9')
		return pshm_fail_parse(err, EINVAL, what, text, len, "not a number");
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (value > ((uint64_t)INT64_MAX - digit) / 10)
			return pshm_fail_parse(err, ERANGE, what, text, len, "too large");
		value = value * 10 + digit;
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcasecmp(p, suffixes[i].suffix) != 0)
			continue;
		if (value > ((uint64_t)INT64_MAX >> suffixes[i].shift))
			return pshm_fail_parse(err, ERANGE, what, text, len, "too large");
		*ret = (off_t)(value << suffixes[i].shift);
		return 0;
	}
	return pshm_fail_parse(err, EINVAL, what, text, len, "unknown suffix (use K, M, G or T)");
}

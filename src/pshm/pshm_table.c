/* SPDX-License-Identifier: MIT */
/*
 * pshm: listings as util-linux prints them, through libsmartcols, which
 * aligns, escapes and writes JSON, raw and pairs output exactly as lsblk,
 * lsipc and lsfd do. What it leaves to its callers is done here: choosing
 * columns by name, sizes for people, names that are not UTF-8 in JSON,
 * sorting numbers as numbers, and owners by name.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libsmartcols.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pshm_cli_i.h"
#include "pshm_table_i.h"

/* The most columns a listing has. */
#define TABLE_COLUMNS_MAX 48

struct table {
	struct libscols_table *tb;
	const struct table_column *columns;
	size_t count;
	struct libscols_column *shown[TABLE_COLUMNS_MAX]; /* by column index, or NULL */
	struct libscols_column *sort;
	bool bytes, json, numeric, failed;
	size_t widths[TABLE_COLUMNS_MAX]; /* a streamed listing's, by column index */
};

bool table_option(struct table_options *o, int c, const char *arg)
{
	switch (c) {
	case 'b':
		o->bytes = true;
		break;
	case 'n':
		o->noheadings = true;
		break;
	case 'J':
		o->json = true;
		break;
	case 'r':
		o->raw = true;
		break;
	case 'P':
		o->pairs = true;
		break;
	case 'o':
		o->output = arg;
		break;
	case TABLE_OPT_OUTPUT_ALL:
		o->output_all = true;
		break;
	case 'H':
		o->list_columns = true;
		break;
	case TABLE_OPT_SORT:
		o->sort = arg;
		break;
	case 'N':
		o->numeric = true;
		break;
	default:
		return false;
	}
	return true;
}

/* The index of the column named [name, name + len), case aside, or -1. */
static ssize_t column_index(const struct table_column *columns, size_t count, const char *name,
			    size_t len)
{
	for (size_t i = 0; i < count; i++)
		if (strlen(columns[i].name) == len && strncasecmp(columns[i].name, name, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* Numbers and sizes sort by value (kept in each cell's userdata), not by their text. */
static int compare_values(struct libscols_cell *a, struct libscols_cell *b,
			  void *data __attribute__((unused)))
{
	intptr_t x = (intptr_t)scols_cell_get_userdata(a), y = (intptr_t)scols_cell_get_userdata(b);

	return x < y ? -1 : x > y;
}

static struct libscols_column *add_column(struct table *t, size_t i, bool hidden)
{
	const struct table_column *c = &t->columns[i];
	struct libscols_column *cl;
	int flags = c->type == TABLE_TEXT ? 0 : SCOLS_FL_RIGHT;

	if (t->shown[i])
		return t->shown[i];
	cl = scols_table_new_column(t->tb, c->name, 0, flags | (hidden ? SCOLS_FL_HIDDEN : 0));
	if (!cl)
		return NULL;
	if (c->type == TABLE_NUMBER || (c->type == TABLE_SIZE && t->bytes))
		scols_column_set_json_type(cl, SCOLS_JSON_NUMBER);
	else
		scols_column_set_json_type(cl, SCOLS_JSON_STRING);
	if (c->type != TABLE_TEXT)
		scols_column_set_cmpfunc(cl, compare_values, NULL);
	else
		scols_column_set_cmpfunc(cl, scols_cmpstr_cells, NULL);
	t->shown[i] = cl;
	return cl;
}

/* Adds the columns of list (comma-separated names): CLI_OK, or CLI_USAGE for an unknown one. */
static int add_columns(struct table *t, const char *list)
{
	while (*list) {
		size_t len = strcspn(list, ",");
		ssize_t i = column_index(t->columns, t->count, list, len);

		if (i < 0)
			return cli_usage("unknown column '%.*s' (pshm ... -H lists them)", (int)len,
					 list);
		if (!add_column(t, (size_t)i, false))
			return CLI_FAILED;
		list += len;
		if (*list == ',')
			list++;
	}
	return CLI_OK;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	scols_unref_table(t->tb);
	free(t);
}

/* A new empty table of these columns, each output mode as o asks. */
static struct table *table_alloc(const char *name, const struct table_column *columns, size_t count,
				 const struct table_options *o)
{
	struct table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->columns = columns;
	t->count = count < TABLE_COLUMNS_MAX ? count : TABLE_COLUMNS_MAX;
	t->bytes = o->bytes;
	t->json = o->json;
	t->numeric = o->numeric;
	t->tb = scols_new_table();
	if (!t->tb) {
		free(t);
		return NULL;
	}
	scols_table_set_name(t->tb, name);
	scols_table_enable_noheadings(t->tb, o->noheadings);
	scols_table_enable_json(t->tb, o->json);
	scols_table_enable_raw(t->tb, o->raw);
	scols_table_enable_export(t->tb, o->pairs);
	/* -P output is for eval: NAME-LIKE-THIS becomes NAME_LIKE_THIS. */
	scols_table_enable_shellvar(t->tb, o->pairs);
	return t;
}

int table_new(const char *name, const struct table_column *columns, size_t count,
	      const char *defaults, const struct table_options *o, struct table **ret)
{
	struct table *t = table_alloc(name, columns, count, o);
	int r = t ? CLI_OK : cli_fail(ENOMEM, "table", NULL);

	if (r == CLI_OK && o->output_all) {
		for (size_t i = 0; i < t->count && r == CLI_OK; i++)
			r = add_column(t, i, false) ? CLI_OK : CLI_FAILED;
	} else if (r == CLI_OK) {
		/* -o LIST alone, or -o +LIST after the defaults, as lsblk reads it. */
		if (!o->output || o->output[0] == '+')
			r = add_columns(t, defaults);
		if (r == CLI_OK && o->output)
			r = add_columns(t, o->output + (o->output[0] == '+'));
	}
	if (r == CLI_OK && o->sort) {
		ssize_t i = column_index(t->columns, t->count, o->sort, strlen(o->sort));

		if (i < 0)
			r = cli_usage("unknown column '%s' to sort by (pshm ... -H lists them)",
				      o->sort);
		else if (!(t->sort = add_column(t, (size_t)i, true)))
			r = CLI_FAILED;
	}
	if (r == CLI_FAILED && t)
		cli_fail(ENOMEM, "table", NULL);
	if (r != CLI_OK) {
		table_free(t);
		return r;
	}
	*ret = t;
	return CLI_OK;
}

int table_list_columns(const struct table_column *columns, size_t count,
		       const struct table_options *o)
{
	static const struct table_column about[] = {
		{ "COLUMN", TABLE_TEXT, "its name, for -o and --sort" },
		{ "TYPE", TABLE_TEXT, "text, number or size" },
		{ "DESCRIPTION", TABLE_TEXT, "what it holds" },
	};
	static const char *const types[] = { "text", "number", "size" };
	/* -o chooses among these (-H -n -o COLUMN: the names alone, for completion). */
	struct table_options plain = { .noheadings = o->noheadings,
				       .json = o->json,
				       .raw = o->raw,
				       .pairs = o->pairs,
				       .output = o->output };
	struct table *t;
	int r = table_new("columns", about, 3, "COLUMN,TYPE,DESCRIPTION", &plain, &t);

	for (size_t i = 0; r == CLI_OK && i < count; i++) {
		struct libscols_line *row = table_row(t);

		table_text(t, row, 0, columns[i].name);
		table_text(t, row, 1, types[columns[i].type]);
		table_text(t, row, 2, columns[i].help);
	}
	return r == CLI_OK ? table_print(t) : r;
}

bool table_wants(const struct table *t, size_t column)
{
	return column < t->count && t->shown[column];
}

void table_sort_by(struct table *t, size_t column)
{
	if (!t->sort && table_wants(t, column))
		t->sort = t->shown[column];
}

struct libscols_line *table_row(struct table *t)
{
	struct libscols_line *row = scols_table_new_line(t->tb, NULL);

	if (!row)
		t->failed = true;
	return row;
}

/* The cell of column in row, for a column shown: NULL for one that is not. */
static struct libscols_cell *cell(struct table *t, struct libscols_line *row, size_t column)
{
	struct libscols_cell *ce;

	if (!row || !table_wants(t, column))
		return NULL;
	ce = scols_line_get_column_cell(row, t->shown[column]);
	if (!ce)
		t->failed = true;
	return ce;
}

static void set(struct table *t, struct libscols_cell *ce, const char *text)
{
	if (ce && text && text[0] && scols_cell_set_data(ce, text) < 0)
		t->failed = true;
}

void table_text(struct table *t, struct libscols_line *row, size_t column, const char *text)
{
	set(t, cell(t, row, column), text);
}

/* The length of the UTF-8 character at p (at most end - p bytes), or 0 when it is not one. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end)
{
	size_t len = *p < 0x80                  ? 1
		     : *p >= 0xc2 && *p <= 0xdf ? 2
		     : *p >= 0xe0 && *p <= 0xef ? 3
		     : *p >= 0xf0 && *p <= 0xf4 ? 4
						: 0;
	unsigned cp;

	if (!len || (size_t)(end - p) < len)
		return 0;
	cp = len == 1 ? *p : *p & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	/* No overlong forms, no surrogates, nothing past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void table_name(struct table *t, struct libscols_line *row, size_t column, const char *name)
{
	struct libscols_cell *ce = cell(t, row, column);
	const unsigned char *p = (const unsigned char *)name, *end;
	char *out, *o;

	if (!ce || !name)
		return;
	if (!t->json) {
		set(t, ce, name); /* libsmartcols escapes what a terminal or awk could not take */
		return;
	}
	end = p + strlen(name);
	o = out = malloc(4 * (size_t)(end - p) + 1);
	if (!out) {
		t->failed = true;
		return;
	}
	while (p < end) {
		size_t len = utf8_char(p, end);

		if (len && !(p[0] == '\\' && p + 1 < end && p[1] == 'x')) {
			memcpy(o, p, len);
			o += len;
			p += len;
		} else {
			o += sprintf(o, "\\x%02x", *p++);
		}
	}
	*o = '\0';
	/* Given over to the cell: freed with it. */
	if (out[0] && scols_cell_refer_data(ce, out) == 0)
		return;
	free(out);
}

void table_number(struct table *t, struct libscols_line *row, size_t column, long long value)
{
	struct libscols_cell *ce = cell(t, row, column);
	char text[24];

	if (!ce)
		return;
	snprintf(text, sizeof(text), "%lld", value);
	set(t, ce, text);
	scols_cell_set_userdata(ce, (void *)(intptr_t)value);
}

void table_human_size(unsigned long long bytes, char *buf, size_t len)
{
	static const char letters[] = "BKMGTPE";
	unsigned exp = 0;
	unsigned long long whole, frac = 0;

	while (exp < 6 && bytes >= 1ULL << (10 * (exp + 1)))
		exp++;
	whole = bytes >> (10 * exp);
	if (exp) {
		unsigned long long rest = bytes & ((1ULL << (10 * exp)) - 1);

		/* One decimal, rounded to the nearest: 1.5M, 4K. */
		frac = (rest * 10 + (1ULL << (10 * exp - 1))) >> (10 * exp);
		if (frac == 10) {
			whole++;
			frac = 0;
		}
	}
	if (frac)
		snprintf(buf, len, "%llu.%llu%c", whole, frac, letters[exp]);
	else
		snprintf(buf, len, "%llu%c", whole, letters[exp]);
}

void table_size(struct table *t, struct libscols_line *row, size_t column, unsigned long long bytes)
{
	struct libscols_cell *ce = cell(t, row, column);
	char text[24];

	if (!ce)
		return;
	if (t->bytes)
		snprintf(text, sizeof(text), "%llu", bytes);
	else
		table_human_size(bytes, text, sizeof(text));
	set(t, ce, text);
	scols_cell_set_userdata(ce, (void *)(intptr_t)bytes);
}

void table_time(struct table *t, struct libscols_line *row, size_t column, time_t when)
{
	struct libscols_cell *ce = cell(t, row, column);
	char text[40];
	struct tm tm;

	if (!ce)
		return;
	if (!localtime_r(&when, &tm) || !strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S%z", &tm))
		snprintf(text, sizeof(text), "%jd", (intmax_t)when);
	else if (strlen(text) == 24) { /* +0000 as +00:00, as ISO 8601 writes it */
		memmove(text + 23, text + 22, 3);
		text[22] = ':';
	}
	set(t, ce, text);
	scols_cell_set_userdata(ce, (void *)(intptr_t)when);
}

static void owner(struct table *t, struct libscols_line *row, size_t column, unsigned id,
		  bool group)
{
	struct libscols_cell *ce = cell(t, row, column);
	const char *name;
	char text[16];

	if (!ce)
		return;
	name = t->numeric ? NULL : group ? table_group_name(id) : table_user_name(id);
	if (!name) {
		snprintf(text, sizeof(text), "%u", id);
		name = text;
	}
	set(t, ce, name);
}

void table_user(struct table *t, struct libscols_line *row, size_t column, unsigned uid)
{
	owner(t, row, column, uid, false);
}

void table_group(struct table *t, struct libscols_line *row, size_t column, unsigned gid)
{
	owner(t, row, column, gid, true);
}

int table_print(struct table *t)
{
	int r = CLI_OK;

	if (t->failed)
		r = cli_fail(ENOMEM, "table", NULL);
	else if (t->sort && scols_sort_table(t->tb, t->sort) < 0)
		r = cli_fail(ENOMEM, "sort", NULL);
	else if (scols_print_table(t->tb) < 0 || fflush(stdout) == EOF)
		r = cli_fail(errno ? errno : EIO, "write", "standard output");
	table_free(t);
	return r;
}

void table_mode(struct table *t, struct libscols_line *row, size_t column, mode_t mode)
{
	static const char bits[] = "rwxrwxrwx";
	char text[11] = "-";

	for (int i = 0; i < 9; i++)
		text[i + 1] = (mode & (0400 >> i)) ? bits[i] : '-';
	table_text(t, row, column, text);
}

/* The column that cl shows, or NULL. */
static const struct table_column *column_of(const struct table *t, const struct libscols_column *cl)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->shown[i] == cl)
			return &t->columns[i];
	return NULL;
}

/* row as one JSON object, its columns in order: NULL when out of memory. */
static struct json_object *row_json(struct table *t, struct libscols_line *row)
{
	struct json_object *j = json_object_new_object();
	struct libscols_iter *it = scols_new_iter(SCOLS_ITER_FORWARD);
	struct libscols_column *cl;

	while (j && it && scols_table_next_column(t->tb, it, &cl) == 0) {
		const struct table_column *c = column_of(t, cl);
		struct libscols_cell *ce = scols_line_get_column_cell(row, cl);
		const char *data = ce ? scols_cell_get_data(ce) : NULL;
		struct json_object *value = NULL;
		char key[64];
		size_t i;

		if (!c || scols_column_is_hidden(cl))
			continue;
		for (i = 0; c->name[i] && i + 1 < sizeof(key); i++)
			key[i] = (char)tolower((unsigned char)c->name[i]);
		key[i] = '\0';
		if (data && data[0] &&
		    (c->type == TABLE_NUMBER || (c->type == TABLE_SIZE && t->bytes)))
			value = json_object_new_int64(
				(int64_t)(intptr_t)scols_cell_get_userdata(ce));
		else if (data && data[0])
			value = json_object_new_string(data);
		if (json_object_object_add(j, key, value) < 0) {
			json_object_put(j);
			j = NULL;
		}
	}
	scols_free_iter(it);
	if (!it) {
		json_object_put(j);
		j = NULL;
	}
	return j;
}

void table_stream_widths(struct table *t, const unsigned *widths)
{
	for (size_t i = 0; i < t->count; i++)
		t->widths[i] = widths[i];
}

/*
 * Each column's width for the next row: its own, or its header's. A
 * strict column is never narrower than its width hint, but the hint is
 * only heard when it is wider than the header (libsmartcols's rule); a
 * column as wide as its header is that wide anyway.
 */
static void stream_widths(struct table *t)
{
	for (size_t i = 0; i < t->count; i++) {
		struct libscols_column *cl = t->shown[i];
		int flags;

		if (!cl)
			continue;
		flags = scols_column_get_flags(cl) & ~SCOLS_FL_STRICTWIDTH;
		if (t->widths[i] > strlen(t->columns[i].name))
			flags |= SCOLS_FL_STRICTWIDTH;
		scols_column_set_flags(cl, flags);
		scols_column_set_whint(cl, (double)t->widths[i]);
	}
	/* A row is printed alone: shrunk to a terminal's width, it would fit no other. */
	scols_table_set_termforce(t->tb, SCOLS_TERMFORCE_NEVER);
}

int table_stream_row(struct table *t, struct libscols_line *row)
{
	struct libscols_iter *it;
	struct libscols_column *cl;
	int r = 0;

	if (t->failed || !row) {
		t->failed = true;
		return cli_fail(ENOMEM, "table", NULL);
	}
	if (t->json) {
		struct json_object *j = row_json(t, row);

		scols_table_remove_line(t->tb, row);
		if (!j)
			return cli_fail(ENOMEM, "json", NULL);
		cli_print_json(j, false);
		return ferror(stdout) ? cli_fail(EIO, "write", "standard output") : CLI_OK;
	}
	stream_widths(t);
	it = scols_new_iter(SCOLS_ITER_FORWARD);
	while (it && scols_table_next_column(t->tb, it, &cl) == 0) {
		struct libscols_cell *ce = scols_line_get_column_cell(row, cl);
		const char *data = ce ? scols_cell_get_data(ce) : NULL;

		if (ce && (!data || !data[0]) && scols_cell_set_data(ce, "-") < 0)
			r = -ENOMEM;
	}
	if (!it || r < 0) {
		scols_free_iter(it);
		scols_table_remove_line(t->tb, row);
		return cli_fail(ENOMEM, "table", NULL);
	}
	errno = 0;
	r = scols_table_print_range(t->tb, row, row);
	if (r == 0 && (putchar('\n') == EOF || fflush(stdout) == EOF))
		r = -1;
	/* A value wider than its column widened it: the rows after it keep that width. */
	for (size_t i = 0; i < t->count; i++)
		if (t->shown[i] && scols_column_get_width(t->shown[i]) > t->widths[i])
			t->widths[i] = scols_column_get_width(t->shown[i]);
	scols_free_iter(it);
	scols_table_remove_line(t->tb, row);
	/* The header once, above the first row: each row is printed as the table's first. */
	scols_table_enable_noheadings(t->tb, true);
	return r < 0 ? cli_fail(errno ? errno : EIO, "write", "standard output") : CLI_OK;
}

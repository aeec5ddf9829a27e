/* SPDX-License-Identifier: MIT */
/*
 * pshm: listings as util-linux prints them (lsblk, lsipc, lsfd), through
 * libsmartcols: a header row (-n/--noheadings), columns chosen with
 * -o/--output and --output-all and described by -H/--list-columns, sizes
 * for people unless -b/--bytes, -J/--json, -r/--raw, -P/--pairs and --sort.
 * Every listing subcommand takes the same options, parsed here.
 */
#ifndef PSHM_TABLE_I_H
#define PSHM_TABLE_I_H

#include <getopt.h>
#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

/* What a column holds: how it prints, sorts, and what type it is in JSON. */
enum table_type {
	TABLE_TEXT,   /* a word or a name */
	TABLE_NUMBER, /* an integer, right-aligned */
	TABLE_SIZE,   /* bytes: 4K, 1.5M for people, exact with -b */
};

/* A column a listing may show. */
struct table_column {
	const char *name; /* as -o takes it and the header shows it; its JSON key in lower case */
	enum table_type type;
	const char *help; /* for -H */
};

/* The options every listing takes (table_option records them). */
struct table_options {
	bool noheadings, bytes, json, raw, pairs, list_columns, output_all, numeric;
	const char *output; /* -o LIST; "+LIST" adds to the default columns */
	const char *sort;   /* --sort COLUMN */
};

/* getopt values of the long-only options. */
enum {
	TABLE_OPT_OUTPUT_ALL = 0x100,
	TABLE_OPT_SORT,
};

/* The short options every listing takes, for getopt_long's optstring. */
#define TABLE_SHORT_OPTIONS "bnJrPo:HN"

/* The long options every listing takes, for getopt_long's table. */
#define TABLE_LONG_OPTIONS                                                                       \
	{ "bytes", no_argument, NULL, 'b' }, { "noheadings", no_argument, NULL, 'n' },           \
		{ "json", no_argument, NULL, 'J' }, { "raw", no_argument, NULL, 'r' },           \
		{ "pairs", no_argument, NULL, 'P' }, { "output", required_argument, NULL, 'o' }, \
		{ "output-all", no_argument, NULL, TABLE_OPT_OUTPUT_ALL },                       \
		{ "list-columns", no_argument, NULL, 'H' },                                      \
		{ "sort", required_argument, NULL, TABLE_OPT_SORT },                             \
	{                                                                                        \
		"numeric", no_argument, NULL, 'N'                                                \
	}

/* The help lines of those options, for a subcommand's --help. */
#define TABLE_OPTIONS_HELP                                                            \
	"  -o, --output LIST   the columns to show (+LIST: after the default ones)\n" \
	"      --output-all    every column\n"                                        \
	"  -H, --list-columns  the columns and what each holds\n"                     \
	"  -n, --noheadings    no header row\n"                                       \
	"  -b, --bytes         sizes in bytes, not 4K, 1.5M...\n"                     \
	"  -N, --numeric       user and group ids, not names\n"                       \
	"  -J, --json          JSON, as lsblk -J writes it\n"                         \
	"  -r, --raw           no alignment, blanks and odd bytes escaped (\\x20)\n"  \
	"  -P, --pairs         KEY=\"value\" pairs, for eval\n"                       \
	"      --sort COLUMN   rows sorted by COLUMN\n"

/*
 * Records option c (getopt's value, arg its argument) in o: true when it
 * was one of the table's, false when the caller must handle it.
 */
bool table_option(struct table_options *o, int c, const char *arg);

/* A listing being made: its rows are libsmartcols lines. */
struct table;
struct libscols_line;

/*
 * Makes the listing of columns (count of them) that o chooses, or the
 * defaults (a comma-separated list of names): its rows named name in JSON
 * ("shm": [...]). Returns CLI_OK and *ret, CLI_USAGE after telling which
 * column is unknown, or CLI_FAILED out of memory.
 */
int table_new(const char *name, const struct table_column *columns, size_t count,
	      const char *defaults, const struct table_options *o, struct table **ret);

/* -H: prints columns (count of them) and what each holds, as o asks. Returns CLI_OK. */
int table_list_columns(const struct table_column *columns, size_t count,
		       const struct table_options *o);

/* Whether column (its index in the columns given to table_new) is shown or sorted by. */
bool table_wants(const struct table *t, size_t column);

/* Rows sorted by column when --sort did not choose another; a column not shown is left alone. */
void table_sort_by(struct table *t, size_t column);

/* A new row, at the end: NULL when out of memory (table_print then fails). */
struct libscols_line *table_row(struct table *t);

/*
 * The cells of row; each does nothing for a column not shown, and NULL or
 * an empty text leaves the cell empty (null in JSON). table_name is for
 * names anyone chose: libsmartcols escapes them in text (\xHH), and in
 * JSON they are exact unless they are not UTF-8 or hold "\x": then each
 * byte that is not UTF-8 and each backslash of a "\x" is \xHH, as text
 * output escapes them, so that one rule decodes every format.
 */
void table_text(struct table *t, struct libscols_line *row, size_t column, const char *text);
void table_name(struct table *t, struct libscols_line *row, size_t column, const char *name);
void table_number(struct table *t, struct libscols_line *row, size_t column, long long value);
void table_size(struct table *t, struct libscols_line *row, size_t column,
		unsigned long long bytes);
/* A time as ISO 8601, local, to the second: 2026-12-05T03:20:11+00:00. */
void table_time(struct table *t, struct libscols_line *row, size_t column, time_t when);
/* An owner: the name, or the number when it has none or -N was given. */
void table_user(struct table *t, struct libscols_line *row, size_t column, unsigned uid);
void table_group(struct table *t, struct libscols_line *row, size_t column, unsigned gid);

/* Permissions as ls -l shows them: -rw-r-----. */
void table_mode(struct table *t, struct libscols_line *row, size_t column, mode_t mode);

/*
 * A streamed listing's widths (watch): widths[i] for column i of those
 * given to table_new, at least its header's. Before its first row.
 */
void table_stream_widths(struct table *t, const unsigned *widths);

/*
 * A streamed listing (watch): prints row at once and forgets it, the
 * header (unless -n) before the first. Each column keeps one width, from
 * table_stream_widths or its header's, widened for good by a wider
 * value, so that the rows stay aligned however far apart they are
 * printed; an empty cell prints as "-". With -J the row is one JSON
 * object on a line of its own (json-c: libsmartcols writes whole
 * tables), keyed by its columns' names in lower case, an empty cell
 * null. Flushed. Returns CLI_OK, or CLI_FAILED after saying why.
 */
int table_stream_row(struct table *t, struct libscols_line *row);

/* Prints the table (sorted as --sort asks) to stdout and frees it. Returns CLI_OK or CLI_FAILED. */
int table_print(struct table *t);

/* Frees a table without printing it; NULL is fine. */
void table_free(struct table *t);

/* bytes as lsblk prints sizes: 0B, 512B, 4K, 1.5M, 2G (powers of 1024, one decimal). */
void table_human_size(unsigned long long bytes, char *buf, size_t len);

/* The name of a uid or gid (getpwuid, getgrgid, the last few kept), or NULL. */
const char *table_user_name(unsigned uid);
const char *table_group_name(unsigned gid);

#endif /* PSHM_TABLE_I_H */

/* SPDX-License-Identifier: MIT */
/*
 * pshm: what every subcommand shares: options and help, messages, names
 * escaped, library calls with their errors, JSON out. Below the commands
 * (pshm_*.c), which call it; it calls none of them, nor the front end.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pshm_cli_i.h"

/* The subcommand this process runs: one per process, set once by cli_run. */
static const struct cli_command *current;

static void print_command_help(const struct cli_command *c, FILE *out)
{
	fprintf(out, "Usage: pshm %s %s\n%s  -h, --help   this text\n", c->name, c->synopsis,
		c->help);
}

int cli_run(const struct cli_command *c, int argc, char **argv)
{
	current = c;
	return c->run(argc, argv);
}

int cli_option(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h') {
		print_command_help(current, stdout);
		exit(CLI_OK);
	}
	if (c == '?' || c == ':') {
		fprintf(stderr, "Try 'pshm %s --help'.\n", current->name);
		exit(CLI_USAGE);
	}
	return c;
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pshm %s: ", current->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pshm %s --help'.\n", current->name);
	return CLI_USAGE;
}

const char *cli_name(const char *name, char buf[CLI_NAME_TEXT])
{
	pshm_name_escape(name, buf, CLI_NAME_TEXT); /* cut between escapes at worst */
	return buf;
}

int cli_error(const struct pshm_error *err)
{
	char text[PSHM_NAME_ESCAPED_SIZE(PSHM_NAME_MAX + 1) +
		  PSHM_NAME_ESCAPED_SIZE(PSHM_WORD_MAX) + 256];

	pshm_strerror(err, text, sizeof(text)); /* truncated at worst, always terminated */
	fprintf(stderr, "pshm: %s\n", text);
	return CLI_FAILED;
}

int cli_fail(int code, const char *op, const char *name)
{
	struct pshm_error err = { .code = code, .op = op, .fd = -1 };

	if (name)
		snprintf(err.name, sizeof(err.name), "%s", name);
	return cli_error(&err);
}

/* A bad argument is a usage error: the library's line, then the hint. */
static int bad_argument(const struct pshm_error *err)
{
	cli_error(err);
	fprintf(stderr, "Try 'pshm %s --help'.\n", current->name);
	return CLI_USAGE;
}

void cli_scan_options(struct pshm_scan_options *ret)
{
	static char point[PATH_MAX];

	*ret = (struct pshm_scan_options){ .skip_self = true };
	pshm_shmfs_mount(NULL, ret, point, sizeof(point));
}

int cli_check_name(const char *name)
{
	struct pshm_error err;

	return pshm_name_check(name, &err) < 0 ? bad_argument(&err) : 0;
}

int cli_parse_mode(const char *words, mode_t *ret)
{
	struct pshm_error err;

	return pshm_parse_mode(words, ret, &err) < 0 ? bad_argument(&err) : 0;
}

int cli_parse_size(const char *text, off_t *ret)
{
	struct pshm_error err;

	return pshm_parse_size(text, ret, &err) < 0 ? bad_argument(&err) : 0;
}

void cli_print_json(struct json_object *o, bool pretty)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE |
		    (pretty ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED
			    : JSON_C_TO_STRING_PLAIN);

	puts(json_object_to_json_string_ext(o, flags));
	fflush(stdout);
	json_object_put(o);
}

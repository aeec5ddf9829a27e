/* SPDX-License-Identifier: MIT */
/* pshm: what the command's files share (cli.c): exit statuses, messages, options, JSON output. */
#ifndef PSHM_CLI_I_H
#define PSHM_CLI_I_H

#include <getopt.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "pshm.h"

/* Exit statuses, as timeout(1) and shells use them. */
enum {
	CLI_OK = 0,
	CLI_FAILED = 1,
	CLI_USAGE = 2,
	CLI_TIMEOUT = 124,
	CLI_CANNOT_RUN = 127,
};

/* A subcommand: its name, what runs it, and its help. */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *synopsis; /* what follows "pshm NAME" */
	const char *help;     /* what it does, and its options */
};

/* Runs c (argv[0] is "pshm NAME"), which the helpers below then speak for. */
int cli_run(const struct cli_command *c, int argc, char **argv);

/* The option every subcommand has; its getopt value. */
#define CLI_HELP_OPTION                        \
	{                                      \
		"help", no_argument, NULL, 'h' \
	}

/*
 * getopt_long over a subcommand's arguments (argv[0] is "pshm CMD", so
 * getopt's own messages name it). --help prints the subcommand's help and
 * exits 0; an unknown option or a missing argument exits 2.
 */
int cli_option(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* "pshm CMD: MESSAGE" and the hint to --help on stderr. Returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Room for any name pshm prints, escaped: a view's directory and an object's name. */
#define CLI_NAME_TEXT PSHM_NAME_ESCAPED_SIZE(PSHM_OBJECT_NAME_MAX + 16)

/*
 * name as pshm's text output writes it (pshm_name_escape: \xHH for every
 * byte outside 0x21..0x7e and the backslash) into buf; returns buf. One
 * name is one word of one line, whoever chose it; --json keeps names exact.
 */
const char *cli_name(const char *name, char buf[CLI_NAME_TEXT]);

/* "pshm: " and pshm_strerror(err) on stderr (names escaped). Returns CLI_FAILED. */
int cli_error(const struct pshm_error *err);

/*
 * An error of pshm's own (a call outside libpshm, an object not found),
 * told the way libpshm tells its own: "pshm: OP("NAME"): strerror(code)".
 * name may be NULL. Returns CLI_FAILED.
 */
int cli_fail(int code, const char *op, const char *name);

/*
 * The options of pshm's scans: itself left out, and the first shmfs mount
 * of /proc/self/mountinfo, if any, so that files open or mapped through it
 * count for their segments (as the daemon counts them).
 */
void cli_scan_options(struct pshm_scan_options *ret);

/* A segment name as on the mount: pshm_name_check, or the usage line. Returns 0 or CLI_USAGE. */
int cli_check_name(const char *name);

/* Permission words or octal (pshm_parse_mode), or the usage line. Returns 0 or CLI_USAGE. */
int cli_parse_mode(const char *words, mode_t *ret);

/* A size as pshm_parse_size reads it, or the usage line. Returns 0 or CLI_USAGE. */
int cli_parse_size(const char *text, off_t *ret);

/* Prints o on one line (pretty: indented) to stdout, flushes, and frees it. */
void cli_print_json(struct json_object *o, bool pretty);

/* The subcommands. Each gets its own argv (argv[0] "pshm CMD") and returns the exit status. */
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_holders(int argc, char **argv);
int cmd_usage(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_truncate(int argc, char **argv);
int cmd_chmod(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_anon(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif /* PSHM_CLI_I_H */

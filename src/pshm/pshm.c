/* SPDX-License-Identifier: MIT */
/* pshm: POSIX shared memory from the shell, over libpshm. The front end: its subcommands and help. */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "pshm_cli_i.h"
#include "pshm_table_i.h"

static const struct cli_command commands[] = {
	{ "ls", cmd_ls, "[-l] [--all | --KIND...] [TABLE OPTIONS]",
	  "List the segments of " PSHM_DIR " as a table: NAME by default.\n"
	  "  -l, --long      MODE,OWNER,GROUP,SIZE,ALLOCATED,HOLDERS,MTIME,NAME\n"
	  "  -a, --all       also the other shared memory you may see, named as the\n"
	  "                  mount's views: .deleted/NAME@INODE, .memfd/NAME@INODE,\n"
	  "                  .sysv/0xKEY@SHMID, .shared-anon/INODE, .hugetlb/...\n"
	  "      --segments, --deleted, --memfd, --sysv, --shared-anon, --hugetlb\n"
	  "                  only those kinds (any number of them)\n" TABLE_OPTIONS_HELP },
	{ "stat", cmd_stat, "[TABLE OPTIONS] NAME...",
	  "Show segments (or .deleted/..., .memfd/..., .sysv/..., .shared-anon/...,\n"
	  ".hugetlb/...), one row each: NAME,KIND,SIZE,ALLOCATED,MODE,OWNER,GROUP,\n"
	  "INODE,HOLDERS,MTIME by default; -H lists every column.\n" TABLE_OPTIONS_HELP },
	{ "holders", cmd_holders, "[TABLE OPTIONS] NAME",
	  "Who has NAME open or mapped, one row per descriptor (FD) or mapping\n"
	  "(MAPPING, PERMS). You need read permission on it; processes you may not\n"
	  "inspect in /proc are not described (a note on stderr counts "
	  "them).\n" TABLE_OPTIONS_HELP },
	{ "usage", cmd_usage, "[--by-user|--by-process|--by-cgroup] [TABLE OPTIONS]",
	  "Where shared memory goes, as a table that adds up: the terms of Shmem\n"
	  "(/proc/meminfo) above their TOTAL, unexplained the last of them; lines marked\n"
	  "(included above) are parts of a line above, never added again. Then huge\n"
	  "pages (never in Shmem) the same way, and the processes that could not be read.\n"
	  "      --by-user     the objects' lines by owner (OWNER; -N: uid)\n"
	  "      --by-process  by holding process: SIZE is its share of each object,\n"
	  "                    split among the processes that map it (as smaps Pss);\n"
	  "                    a process that holds one by fd alone gets none (MAPPED)\n"
	  "      --by-cgroup   by cgroup (container)\n" TABLE_OPTIONS_HELP },
	{ "metrics", cmd_metrics, "[--output FILE]",
	  "The numbers of usage as an OpenMetrics text exposition (shm_* gauges: objects and\n"
	  "bytes by kind, owner and cgroup, tmpfs, huge pages, Shmem, unexplained, the scan's\n"
	  "cost), for node_exporter's textfile collector.\n"
	  "  -o, --output FILE  write FILE.tmp, then rename it to FILE (never half a file)\n" },
	{ "create", cmd_create, "NAME SIZE [--mode WORDS|OCTAL] [--exclusive]",
	  "Create a segment (or open an existing one) and set its size.\n"
	  "  -m, --mode WORDS|OCTAL  permissions of a new segment, e.g. read-user,write-user\n"
	  "                          or 0640 (default 0600), applied whatever the umask\n"
	  "  -x, --exclusive         fail if it exists\n" },
	{ "rm", cmd_rm, "NAME...",
	  "Remove segments (shm_unlink). Open descriptors and mappings live on.\n" },
	{ "truncate", cmd_truncate, "NAME SIZE", "Set the size of an existing segment.\n" },
	{ "chmod", cmd_chmod, "NAME WORDS|OCTAL",
	  "Set a segment's permissions: read-user,write-user,read-group or 0640.\n" },
	{ "chown", cmd_chown, "NAME USER[:GROUP]",
	  "Set a segment's owner, and group (USER:GROUP, :GROUP alone, or USER: for the\n"
	  "user's login group); names or numbers.\n" },
	{ "cat", cmd_cat, "NAME",
	  "Copy a segment's bytes to standard output, through a mapping of it.\n" },
	{ "write", cmd_write, "NAME [--offset N]",
	  "Copy standard input into an existing segment, growing it when the data\n"
	  "passes its end (it never shrinks).\n"
	  "  -o, --offset N   where to start (a size: 4096, 4K...), default 0\n" },
	{ "anon", cmd_anon, "SIZE [--mode WORDS|OCTAL] -- CMD [ARGS...]",
	  "Run CMD with a fresh anonymous segment of SIZE bytes on the descriptor\n"
	  "named by PSHM_FD in its environment (PSHM_SIZE holds the size). No other\n"
	  "process can open it by name; it is freed when CMD and everything it started\n"
	  "have closed it. The exit status is CMD's, 127 when CMD cannot be run.\n"
	  "  -m, --mode WORDS|OCTAL  its permissions (default 0600)\n" },
	{ "wait", cmd_wait, "NAME [--timeout SECS] [--min-size BYTES | --created]",
	  "Wait until the segment exists (and has at least BYTES), watching " PSHM_DIR "\n"
	  "with inotify. Exits 0 when it does (it was there at pshm's last look, just\n"
	  "before the exit), 124 when SECS pass first.\n"
	  "  -t, --timeout SECS      give up after SECS seconds (e.g. 0.5); default never\n"
	  "  -s, --min-size BYTES    also wait for this size (4096, 1M...)\n"
	  "  -c, --created           exit 0 once NAME was there at any moment since the\n"
	  "                          wait began, even if it is gone again already\n" },
	{ "watch", cmd_watch, "[--time] [TABLE OPTIONS]",
	  "A row per change in " PSHM_DIR " as it happens, printed at once, until\n"
	  "interrupted: EVENT (created, resized, mode, owner, removed, overflow: events\n"
	  "were lost, then what a fresh look finds changed), the segment as ls shows it\n"
	  "after the event (removed: as last known) and OLD-* before it, for what the event\n"
	  "changed. - where there is nothing to say: no old value, or a segment gone before\n"
	  "it could be looked at. Writes of data are not changes. Columns keep their width\n"
	  "row after row; -J: one JSON object per line.\n"
	  "      --time          TIME first: "
	  "2026-12-05T01:15:02.123456+00:00\n" TABLE_OPTIONS_HELP },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void print_help(FILE *out)
{
	fprintf(out, "Usage: pshm COMMAND [OPTIONS] [ARGS]\n"
		     "POSIX shared memory (" PSHM_DIR ") from the shell, over libpshm.\n\n");
	for (size_t i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  pshm %s %s\n", commands[i].name, commands[i].synopsis);
	fprintf(out,
		"\n  pshm --help | pshm COMMAND --help | pshm --version\n\n"
		"Names are as on the mount: a leading '/' is optional. Exit status: 0 success,\n"
		"1 failure, 2 usage, 124 timeout (wait). See pshm(1).\n");
}

/*
 * The options every listing takes may come before the subcommand too, as
 * in "pshm -J ls" (util-linux's tools take them anywhere): those before it
 * move to just after it, where its getopt reads them (never after a "--",
 * which would hand them to anon's command).
 */
static void hoist_table_options(int argc, char **argv)
{
	static const char *const with_argument[] = { "-o", "--output", "--sort" };
	int first = 1;
	char *command;

	while (first < argc && argv[first][0] == '-' && strcmp(argv[first], "--help") != 0 &&
	       strcmp(argv[first], "-h") != 0 && strcmp(argv[first], "--version") != 0) {
		bool takes = false;

		for (size_t i = 0; i < sizeof(with_argument) / sizeof(with_argument[0]); i++)
			takes |= strcmp(argv[first], with_argument[i]) == 0;
		first += takes && first + 1 < argc ? 2 : 1;
	}
	if (first == 1 || first >= argc)
		return;
	/* argv[1..first) are options, argv[first] the command: the command first. */
	command = argv[first];
	memmove(&argv[2], &argv[1], (size_t)(first - 1) * sizeof(*argv));
	argv[1] = command;
}

int main(int argc, char **argv)
{
	char prog[64];

	/* Names in the user's character set shown as they are (libsmartcols escapes the rest). */
	setlocale(LC_CTYPE, "");
	hoist_table_options(argc, argv);

	if (argc < 2) {
		print_help(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		print_help(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("pshm %s\n", PSHM_CLI_VERSION);
		return CLI_OK;
	}
	for (size_t i = 0; i < COMMAND_COUNT; i++) {
		if (strcmp(argv[1], commands[i].name) != 0)
			continue;
		snprintf(prog, sizeof(prog), "pshm %s", commands[i].name);
		argv[1] = prog; /* getopt's own messages say "pshm CMD: ..." */
		return cli_run(&commands[i], argc - 1, argv + 1);
	}
	fprintf(stderr, "pshm: unknown command '%s'\nTry 'pshm --help'.\n", argv[1]);
	return CLI_USAGE;
}

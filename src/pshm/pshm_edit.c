/* SPDX-License-Identifier: MIT */
/* pshm: the subcommands that make, change, read and remove segments, and anon. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pshm_cli_i.h"

/* How much cat hands write(2) at once, and write reads from standard input. */
#define COPY_CHUNK (1024 * 1024)

/* The default mode of what pshm creates: the owner's alone, as shared_memory and .ctl anon. */
#define DEFAULT_MODE 0600

static const struct option no_options[] = { CLI_HELP_OPTION, { 0 } };

/* Options, then exactly count operands: their index in argv, or the usage line. */
static int operands(int argc, char **argv, int count, const char *what, int *ret_first)
{
	while (cli_option(argc, argv, "+h", no_options) != -1)
		;
	if (argc - optind != count)
		return cli_usage("expected %s", what);
	*ret_first = optind;
	return 0;
}

/* Opens an existing segment; the descriptor, or the error line's status negated. */
static int open_segment(const char *name, int oflags)
{
	struct pshm_error err;
	int fd = pshm_open(name, oflags, 0, &err);

	return fd < 0 ? -cli_error(&err) : fd;
}

/*
 * Sets a segment's mode (mode != (mode_t)-1) or its owner. fchmod and
 * fchown ask for ownership, not access, so a read-only descriptor is
 * enough; when even that is refused (an owner's own segment of mode 0200),
 * an O_PATH descriptor of its file is, as chmod(1) of /dev/shm/NAME would.
 */
static int change(const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	const char *op = mode != (mode_t)-1 ? "fchmod" : "fchown";
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 1], proc[64];
	struct pshm_error err;
	struct stat st;
	int fd = pshm_open(name, O_RDONLY, 0, &err), r;

	if (fd >= 0) {
		r = mode != (mode_t)-1 ? pshm_chmod(fd, mode, &err)
				       : pshm_chown(fd, uid, gid, &err);
		pshm_close(fd, NULL);
		return r < 0 ? cli_error(&err) : CLI_OK;
	}
	if (err.code != EACCES)
		return cli_error(&err);
	snprintf(path, sizeof(path), PSHM_DIR "/%s", name + (name[0] == '/'));
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return cli_error(&err); /* the refusal to open it, as it was */
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	r = mode != (mode_t)-1 ? chmod(proc, mode) : chown(proc, uid, gid);
	r = r < 0 ? errno : 0;
	close(fd);
	return r ? cli_fail(r, op, path + strlen(PSHM_DIR)) : CLI_OK; /* "/NAME" */
}

int cmd_create(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "exclusive", no_argument, NULL, 'x' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct pshm_error err;
	mode_t mode = DEFAULT_MODE;
	int oflags = O_RDWR | O_CREAT, created = 0, c, fd, r;
	off_t size;

	while ((c = cli_option(argc, argv, "m:xh", options)) != -1) {
		if (c == 'm' && cli_parse_mode(optarg, &mode) != 0)
			return CLI_USAGE;
		if (c == 'x')
			oflags |= O_EXCL;
	}
	if (argc - optind != 2)
		return cli_usage("expected NAME SIZE");
	if (cli_check_name(argv[optind]) != 0 || cli_parse_size(argv[optind + 1], &size) != 0)
		return CLI_USAGE;
	fd = pshm_open_ex(argv[optind], oflags, mode, &created, &err);
	if (fd < 0)
		return cli_error(&err);
	r = pshm_truncate(fd, size, &err);
	if (r < 0) {
		/* Nothing left behind: a segment this call made goes again. */
		if (created)
			pshm_unlink(argv[optind], NULL);
		pshm_close(fd, NULL);
		return cli_error(&err);
	}
	return pshm_close(fd, &err) < 0 ? cli_error(&err) : CLI_OK;
}

int cmd_rm(int argc, char **argv)
{
	struct pshm_error err;
	int status = CLI_OK;

	while (cli_option(argc, argv, "+h", no_options) != -1)
		;
	if (optind == argc)
		return cli_usage("expected NAME...");
	/* Every name is checked before any is removed: bad input changes nothing. */
	for (int i = optind; i < argc; i++)
		if (cli_check_name(argv[i]) != 0)
			return CLI_USAGE;
	for (int i = optind; i < argc; i++)
		if (pshm_unlink(argv[i], &err) < 0)
			status = cli_error(&err);
	return status;
}

int cmd_truncate(int argc, char **argv)
{
	struct pshm_error err;
	int first = 0, fd, r;
	off_t size;

	if (operands(argc, argv, 2, "NAME SIZE", &first) != 0)
		return CLI_USAGE;
	if (cli_check_name(argv[first]) != 0 || cli_parse_size(argv[first + 1], &size) != 0)
		return CLI_USAGE;
	fd = open_segment(argv[first], O_RDWR);
	if (fd < 0)
		return -fd;
	r = pshm_truncate(fd, size, &err);
	pshm_close(fd, NULL);
	return r < 0 ? cli_error(&err) : CLI_OK;
}

int cmd_chmod(int argc, char **argv)
{
	int first = 0;
	mode_t mode;

	if (operands(argc, argv, 2, "NAME WORDS|OCTAL", &first) != 0)
		return CLI_USAGE;
	if (cli_check_name(argv[first]) != 0 || cli_parse_mode(argv[first + 1], &mode) != 0)
		return CLI_USAGE;
	return change(argv[first], mode, 0, 0);
}

/* A user or group, by name or number. */
static int parse_id(const char *text, bool group, unsigned *ret)
{
	char *end;
	unsigned long n;

	if (group) {
		const struct group *g = getgrnam(text);

		if (g) {
			*ret = g->gr_gid;
			return 0;
		}
	} else {
		const struct passwd *p = getpwnam(text);

		if (p) {
			*ret = p->pw_uid;
			return 0;
		}
	}
	errno = 0;
	n = strtoul(text, &end, 10);
	if (!*text || *end || errno || n >= UINT32_MAX || text[0] == '-')
		return cli_usage("unknown %s '%s'", group ? "group" : "user", text);
	*ret = (unsigned)n;
	return 0;
}

int cmd_chown(int argc, char **argv)
{
	unsigned uid = (unsigned)-1, gid = (unsigned)-1;
	char *owner, *colon;
	int first = 0;

	if (operands(argc, argv, 2, "NAME USER[:GROUP]", &first) != 0)
		return CLI_USAGE;
	if (cli_check_name(argv[first]) != 0)
		return CLI_USAGE;
	owner = argv[first + 1];
	colon = strchr(owner, ':');
	if (colon)
		*colon = '\0';
	if (!owner[0] && (!colon || !colon[1]))
		return cli_usage("expected USER[:GROUP], got nothing");
	if ((owner[0] && parse_id(owner, false, &uid) != 0) ||
	    (colon && colon[1] && parse_id(colon + 1, true, &gid) != 0))
		return CLI_USAGE;
	if (owner[0] && colon && !colon[1]) {
		/* USER: as chown(1) reads it: the user's login group too. */
		const struct passwd *p = getpwuid((uid_t)uid);

		if (!p)
			return cli_usage("'%s:' names no user with a login group", owner);
		gid = p->pw_gid;
	}
	return change(argv[first], (mode_t)-1, (uid_t)uid, (gid_t)gid);
}

/* Writes all of buf to stdout; -errno on failure. */
static int write_all(const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(STDOUT_FILENO, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmd_cat(int argc, char **argv)
{
	struct pshm_error err;
	struct stat st;
	void *map = NULL;
	size_t length;
	int first = 0, fd, r;

	if (operands(argc, argv, 1, "NAME", &first) != 0)
		return CLI_USAGE;
	if (cli_check_name(argv[first]) != 0)
		return CLI_USAGE;
	fd = open_segment(argv[first], O_RDONLY);
	if (fd < 0)
		return -fd;
	r = pshm_stat(fd, &st, &err);
	length = r == 0 ? (size_t)st.st_size : 0;
	if (r == 0 && length)
		r = pshm_map(fd, NULL, length, PROT_READ, 0, &map, &err);
	pshm_close(fd, NULL);
	if (r < 0)
		return cli_error(&err);
	/*
	 * Only write(2) touches the mapping, never this process: pages a
	 * concurrent shrink takes away make write fail with EFAULT instead of
	 * raising SIGBUS, and the copy ends at the segment's new end.
	 */
	for (size_t at = 0; at < length && r == 0; at += COPY_CHUNK) {
		size_t n = length - at < COPY_CHUNK ? length - at : COPY_CHUNK;

		r = write_all((const char *)map + at, n);
	}
	if (map)
		pshm_unmap(map, length, NULL);
	if (r == -EFAULT)
		return cli_fail(ESTALE, "read", argv[first]); /* it shrank while read */
	return r < 0 ? cli_fail(-r, "write", "stdout") : CLI_OK;
}

int cmd_write(int argc, char **argv)
{
	static const struct option options[] = {
		{ "offset", required_argument, NULL, 'o' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	int c, fd, status = CLI_OK;
	off_t offset = 0;
	char *buf;

	while ((c = cli_option(argc, argv, "o:h", options)) != -1)
		if (c == 'o' && cli_parse_size(optarg, &offset) != 0)
			return CLI_USAGE;
	if (argc - optind != 1)
		return cli_usage("expected NAME");
	if (cli_check_name(argv[optind]) != 0)
		return CLI_USAGE;
	fd = open_segment(argv[optind], O_RDWR);
	if (fd < 0)
		return -fd;
	buf = malloc(COPY_CHUNK);
	if (!buf) {
		pshm_close(fd, NULL);
		return cli_fail(ENOMEM, "malloc", NULL);
	}
	/* pwrite grows the segment past its end, as it does any file; a mapping could not. */
	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, COPY_CHUNK);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			status = cli_fail(errno, "read", "stdin");
			break;
		}
		if (n == 0)
			break;
		for (ssize_t done = 0; done < n;) {
			ssize_t w = pwrite(fd, buf + done, (size_t)(n - done), offset);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				status = cli_fail(errno, "pwrite", argv[optind]);
				break;
			}
			done += w;
			offset += w;
		}
		if (status != CLI_OK)
			break;
	}
	free(buf);
	pshm_close(fd, NULL);
	return status;
}

int cmd_anon(int argc, char **argv)
{
	static const struct option options[] = {
		{ "mode", required_argument, NULL, 'm' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	struct pshm_error err;
	mode_t mode = DEFAULT_MODE;
	char number[32];
	const char *size_text = NULL;
	off_t size;
	int c, fd;

	/*
	 * Options stop at the first word that is not one ("+"): SIZE, then
	 * options again, then CMD, whose own options are never ours.
	 */
	for (;;) {
		c = cli_option(argc, argv, "+m:h", options);
		if (c == 'm' && cli_parse_mode(optarg, &mode) != 0)
			return CLI_USAGE;
		if (c != -1)
			continue;
		if (size_text || optind >= argc || strcmp(argv[optind - 1], "--") == 0)
			break;
		size_text = argv[optind++];
	}
	if (!size_text)
		return cli_usage("expected SIZE -- CMD [ARGS...]");
	if (optind >= argc)
		return cli_usage("expected a command to run");
	if (cli_parse_size(size_text, &size) != 0)
		return CLI_USAGE;
	fd = pshm_open_anon(NULL, O_RDWR, mode, PSHM_ANON_ATTEMPTS, &err);
	if (fd < 0)
		return cli_error(&err);
	if (pshm_truncate(fd, size, &err) < 0) {
		pshm_close(fd, NULL);
		return cli_error(&err);
	}
	/*
	 * CMD inherits the descriptor (no close-on-exec) and becomes this
	 * process: no copy stays behind, so the segment lives exactly as long
	 * as CMD and what it starts keep it, and CMD's status is ours.
	 */
	if (fcntl(fd, F_SETFD, 0) < 0) {
		pshm_close(fd, NULL);
		return cli_fail(errno, "fcntl", NULL);
	}
	snprintf(number, sizeof(number), "%d", fd);
	setenv("PSHM_FD", number, 1);
	snprintf(number, sizeof(number), "%jd", (intmax_t)size);
	setenv("PSHM_SIZE", number, 1);
	execvp(argv[optind], argv + optind);
	cli_fail(errno, "exec", argv[optind]);
	return CLI_CANNOT_RUN;
}

/* SPDX-License-Identifier: MIT */
/* shmfs: mount the POSIX shared memory namespace as a directory. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <syslog.h>
#include <unistd.h>

#include "daemon_i.h"
#include "passthrough_i.h"
#include "shmfs_i.h"
#include "splice_i.h"

#define DEFAULT_MAX_IDLE_THREADS 8
#define DEFAULT_MAX_THREADS 16

struct options {
	char *prefix;
	char *cache;
	char *cache_timeout;
	char *passthrough;
	char *kernel_iter;
	char *anon_bytes;
	unsigned max_read;
	unsigned user_fds, anon_max, ctl_max, wait_max;
	int allow_other;
	/* SOURCE and MOUNTPOINT: mount.fuse3 passes a source first, as for sshfs. */
	const char *words[2];
	int word_count;
};

enum {
	KEY_ALLOW_OTHER,
	KEY_DROP,
};

#define OPTION(t, p)                              \
	{                                         \
		t, offsetof(struct options, p), 1 \
	}

static const struct fuse_opt option_spec[] = {
	OPTION("prefix=%s", prefix), OPTION("cache=%s", cache),
	OPTION("cache_timeout=%s", cache_timeout), OPTION("max_read=%u", max_read),
	OPTION("passthrough=%s", passthrough), OPTION("kernel_iter=%s", kernel_iter),
	OPTION("user_fds=%u", user_fds), OPTION("anon_max=%u", anon_max),
	OPTION("anon_bytes=%s", anon_bytes), OPTION("ctl_max=%u", ctl_max),
	OPTION("wait_max=%u", wait_max), FUSE_OPT_KEY("allow_other", KEY_ALLOW_OTHER),
	/* What mount(8) and fstab hand over that means nothing to FUSE. */
	FUSE_OPT_KEY("defaults", KEY_DROP), FUSE_OPT_KEY("auto", KEY_DROP),
	FUSE_OPT_KEY("noauto", KEY_DROP), FUSE_OPT_KEY("nofail", KEY_DROP),
	FUSE_OPT_KEY("_netdev", KEY_DROP), FUSE_OPT_KEY("user", KEY_DROP),
	FUSE_OPT_KEY("users", KEY_DROP), FUSE_OPT_KEY("comment=", KEY_DROP), FUSE_OPT_END
};

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *opts = data;

	(void)outargs;
	switch (key) {
	case KEY_ALLOW_OTHER:
		opts->allow_other = 1;
		return 1; /* libfuse needs it too */
	case KEY_DROP:
		return 0;
	case FUSE_OPT_KEY_OPT:
		/* x-systemd.automount and friends are for mount(8), not for us. */
		return strncmp(arg, "x-", 2) == 0 ? 0 : 1;
	case FUSE_OPT_KEY_NONOPT:
		if (opts->word_count == 2) {
			fprintf(stderr, "shmfs: too many arguments: %s\n", arg);
			return -1;
		}
		opts->words[opts->word_count++] = arg;
		return 0;
	default:
		return 1;
	}
}

static void usage(const char *progname)
{
	printf("usage: %s [options] [SOURCE] MOUNTPOINT\n"
	       "\n"
	       "Shows the POSIX shared memory segments of %s as files.\n"
	       "SOURCE (what mount.fuse3 passes from fstab) is ignored.\n"
	       "\n"
	       "shmfs options:\n"
	       "    -o prefix=P            show only segments named P*, without P;\n"
	       "                           create new ones with P\n"
	       "    -o cache=off|on        off (default): every read and stat shows the\n"
	       "                           segment as it is now; on: the kernel caches\n"
	       "                           attributes and data (faster, may be stale)\n"
	       "    -o cache_timeout=SECS  how long cached attributes live (default 1)\n"
	       "    -o passthrough=auto|off  auto (default): the kernel reads, writes and\n"
	       "                           maps segments itself where it can (Linux 6.9+,\n"
	       "                           CAP_SYS_ADMIN); off: all data goes through shmfs\n"
	       "    -o kernel_iter=auto|off  auto (default): root's scans read processes\n"
	       "                           from the kernel's BPF iterators where they load\n"
	       "                           (CAP_BPF); off: always from /proc\n"
	       "    -o max_read=BYTES      the largest read request (default: the most\n"
	       "                           one spliced reply can carry, 1 MiB or a little less)\n"
	       "    -o allow_other         serve every user; turns on default_permissions,\n"
	       "                           and (as root) acts as each caller in %s\n"
	       "  per-user limits (root is not limited; see shmfs(8)):\n"
	       "    -o user_fds=N          descriptors held for one user (default %d)\n"
	       "    -o anon_max=N          anonymous segments of one user (default %d)\n"
	       "    -o anon_bytes=SIZE     their total size (default: the size of %s)\n"
	       "    -o ctl_max=N           open .ctl files of one user (default %d)\n"
	       "    -o wait_max=N          unfinished .ctl waits of one user (default %d)\n"
	       "\n",
	       progname, PSHM_DIR, PSHM_DIR, LIMIT_USER_FDS_DEFAULT, LIMIT_ANON_MAX_DEFAULT,
	       PSHM_DIR, LIMIT_CTL_MAX_DEFAULT, LIMIT_WAIT_MAX_DEFAULT);
}

static int fail(const char *message, const char *detail)
{
	fprintf(stderr, "shmfs: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
	return 1;
}

/*
 * The largest read request: what one spliced reply can carry (a pipe holds
 * at most pipe-max-size unless the daemon has CAP_SYS_RESOURCE), or the
 * user's max_read. libfuse wants the mount option and init() to agree.
 */
static int configure_max_read(struct shmfs_config *config, const struct options *opts,
			      struct fuse_args *args)
{
	char arg[32];

	config->splice_max = splice_max_reply();
	config->max_read = opts->max_read ? opts->max_read : (unsigned)config->splice_max;
	if (opts->max_read && opts->max_read < 4096) {
		snprintf(arg, sizeof(arg), "%u", opts->max_read);
		return fail("max_read= takes at least 4096 bytes, not", arg);
	}
	if (!config->max_read)
		return 0;
	snprintf(arg, sizeof(arg), "-omax_read=%u", config->max_read);
	return fuse_opt_add_arg(args, arg) < 0 ? fail("out of memory", NULL) : 0;
}

/* The per-user limits (limits.c): 0, or prints why not and returns 1. */
static int configure_limits(struct shmfs_config *config, const struct options *opts)
{
	struct limits_config *l = &config->limits;
	struct statvfs sv;

	l->user_fds = opts->user_fds ? opts->user_fds : LIMIT_USER_FDS_DEFAULT;
	l->anon_max = opts->anon_max ? opts->anon_max : LIMIT_ANON_MAX_DEFAULT;
	l->ctl_max = opts->ctl_max ? opts->ctl_max : LIMIT_CTL_MAX_DEFAULT;
	l->wait_max = opts->wait_max ? opts->wait_max : LIMIT_WAIT_MAX_DEFAULT;
	if (opts->anon_bytes) {
		off_t size;

		if (pshm_parse_size(opts->anon_bytes, &size, NULL) < 0 || size <= 0)
			return fail("anon_bytes= takes a size such as 64M or 2G, not",
				    opts->anon_bytes);
		l->anon_bytes = (uint64_t)size;
	} else if (statvfs(PSHM_DIR, &sv) == 0) {
		l->anon_bytes = (uint64_t)sv.f_blocks * sv.f_frsize;
	} else {
		return fail("cannot use " PSHM_DIR, strerror(errno));
	}
	return 0;
}

/* Checks and applies the shmfs options; returns 0 or prints why not and returns 1. */
static int configure(struct shmfs_config *config, struct options *opts, struct fuse_args *args)
{
	char prefix_check[PSHM_NAME_MAX + 2];

	config->prefix = opts->prefix ? opts->prefix : strdup("");
	if (!config->prefix)
		return fail("out of memory", NULL);
	config->prefix_len = strlen(config->prefix);
	if (config->prefix_len) {
		snprintf(prefix_check, sizeof(prefix_check), "%s", config->prefix);
		if (strchr(config->prefix, '/') || config->prefix_len >= PSHM_NAME_MAX ||
		    pshm_name_check(prefix_check, NULL) < 0)
			return fail("invalid prefix (no '/', at most 254 bytes)", config->prefix);
	}
	if (!opts->cache || strcmp(opts->cache, "off") == 0)
		config->cache = false;
	else if (strcmp(opts->cache, "on") == 0)
		config->cache = true;
	else
		return fail("cache= takes on or off, not", opts->cache);
	if (!opts->passthrough || strcmp(opts->passthrough, "auto") == 0)
		config->passthrough = !config->cache;
	else if (strcmp(opts->passthrough, "off") == 0)
		config->passthrough = false;
	else
		return fail("passthrough= takes auto or off, not", opts->passthrough);
	if (!opts->kernel_iter || strcmp(opts->kernel_iter, "auto") == 0)
		config->kernel_iter = true;
	else if (strcmp(opts->kernel_iter, "off") == 0)
		config->kernel_iter = false;
	else
		return fail("kernel_iter= takes auto or off, not", opts->kernel_iter);
	if (opts->cache_timeout) {
		char *end;

		errno = 0;
		config->timeout = strtod(opts->cache_timeout, &end);
		if (errno || *end || end == opts->cache_timeout || config->timeout < 0 ||
		    config->timeout > 86400)
			return fail("cache_timeout= takes seconds from 0 to 86400, not",
				    opts->cache_timeout);
	}
	if (opts->allow_other) {
		/* Without it nothing would check modes: the daemon serves everyone as itself. */
		if (fuse_opt_add_arg(args, "-odefault_permissions") < 0)
			return fail("out of memory", NULL);
		config->allow_other = true;
	}
	if (access(PSHM_DIR, R_OK | X_OK) < 0)
		return fail("cannot use " PSHM_DIR, strerror(errno));
	if (configure_limits(config, opts) != 0)
		return 1;
	return configure_max_read(config, opts, args);
}

/*
 * Every open file holds a descriptor of its segment: allow as many as the
 * hard limit. Returns the limit in force, which the per-user limits share.
 */
static uint64_t raise_file_limit(void)
{
	struct rlimit limit;

	if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
		return 1024;
	if (limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
			getrlimit(RLIMIT_NOFILE, &limit);
	}
	return limit.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)limit.rlim_cur;
}

/*
 * glibc raises its mmap threshold to the size of each large block freed
 * (up to 32 MiB), and its trim threshold to twice that: once a listing of
 * 100,000 segments had freed its 4 MiB array, every later block under
 * 4 MiB (libfuse's 1 MiB request buffers, the next listing's arrays) came
 * from the worker threads' arenas, which then kept up to 8 MiB free each
 * (measured in scripts/bench: 24.7 MiB free in the arenas of a daemon of
 * 37.6 MiB private). A fixed threshold (glibc's default, 128 KiB) keeps
 * large blocks in mappings of their own, unmapped when freed, and the
 * arenas trimmed past 128 KiB free at their top.
 */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* Once daemonized, stderr is /dev/null: what libfuse and shmfs log goes to syslog. */
static void log_to_syslog(enum fuse_log_level level, const char *fmt, va_list ap)
{
	int saved = errno; /* libfuse logs between a failed call and its caller's errno check */

	vsyslog((int)level, fmt, ap);
	errno = saved;
}

static int run(struct fuse_session *se, const struct fuse_cmdline_opts *cmd)
{
	struct fuse_loop_config *loop;
	int r;

	if (cmd->singlethread)
		return fuse_session_loop(se);
	loop = fuse_loop_cfg_create();
	if (!loop)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(loop, (unsigned)cmd->clone_fd);
	fuse_loop_cfg_set_idle_threads(loop, cmd->max_idle_threads == UINT_MAX
						     ? DEFAULT_MAX_IDLE_THREADS
						     : cmd->max_idle_threads);
	fuse_loop_cfg_set_max_threads(loop,
				      cmd->max_threads ? cmd->max_threads : DEFAULT_MAX_THREADS);
	r = fuse_session_loop_mt(se, loop);
	fuse_loop_cfg_destroy(loop);
	return r;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cmd = { 0 };
	struct options opts = { 0 };
	struct shmfs_config config = { .timeout = 1.0 };
	struct shmfs *fs = NULL;
	int status = 1, r;

	tune_malloc();
	if (fuse_opt_parse(&args, &opts, option_spec, option_proc) < 0)
		goto out;
	/* The last word is the mountpoint; fuse_parse_cmdline takes it from there. */
	if (opts.word_count > 0 && fuse_opt_add_arg(&args, opts.words[opts.word_count - 1]) < 0)
		goto out;
	if (fuse_parse_cmdline(&args, &cmd) < 0)
		goto out;
	if (cmd.show_help) {
		usage(argv[0]);
		printf("FUSE options:\n");
		fuse_cmdline_help();
		fuse_lowlevel_help();
		status = 0;
		goto out;
	}
	if (cmd.show_version) {
		printf("shmfs version %s\n", SHMFS_VERSION);
		printf("FUSE library version %s\n", fuse_pkgversion());
		printf("passthrough through %s\n", passthrough_implementation());
		fuse_lowlevel_version();
		status = 0;
		goto out;
	}
	if (!cmd.mountpoint) {
		fprintf(stderr, "shmfs: no mountpoint given (usage: %s [options] MOUNTPOINT)\n",
			argv[0]);
		goto out;
	}
	if (configure(&config, &opts, &args) != 0)
		goto out;
	/* First, so that a -o fsname= of the user's comes later and wins. */
	if (fuse_opt_insert_arg(&args, 1, "-ofsname=shmfs") < 0)
		goto out;
	config.limits.fd_ceiling = raise_file_limit();
	r = shmfs_new(&config, &fs);
	if (r < 0) {
		fail("cannot start", strerror(-r));
		goto out;
	}
	if (shmfs_mount(fs, &args, cmd.mountpoint) < 0)
		goto out; /* libfuse said why */
	/* The mount exists before the parent returns: usable the moment shmfs exits. */
	fuse_daemonize(cmd.foreground);
	if (!cmd.foreground) {
		openlog("shmfs", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(log_to_syslog);
	}
	r = shmfs_start(fs);
	if (r < 0)
		fuse_log(FUSE_LOG_ERR, "shmfs: cannot watch " PSHM_DIR ": %s\n", strerror(-r));
	else
		r = run(fs->se, &cmd);
	shmfs_unmount(fs);
	/*
	 * SIGTERM, SIGINT, SIGHUP end the loop with the signal number: a clean
	 * stop. So does the connection's end: libfuse 3.14 knows ENODEV, but
	 * newer kernels may answer a worker that reads again after the unmount
	 * with ECONNABORTED (libfuse prints it; nothing is lost).
	 */
	status = (r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP || r == -ECONNABORTED) ? 0
											      : 1;
	if (status)
		fuse_log(FUSE_LOG_ERR, "shmfs: stopped on error: %s\n", strerror(r < 0 ? -r : r));
out:
	shmfs_free(fs);
	free(cmd.mountpoint);
	fuse_opt_free_args(&args);
	free(config.prefix);
	free(opts.cache);
	free(opts.cache_timeout);
	free(opts.passthrough);
	free(opts.kernel_iter);
	free(opts.anon_bytes);
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * The side-by-side benchmark: the same workloads on /dev/shm itself, through
 * libfuse's passthrough example, and through shmfs (default, with every
 * byte through the daemon as on kernels without FUSE passthrough, and
 * cache=on), interleaved A B C D E A B C D E ..., reported as medians with min-max and
 * ratios. Runs as root in a private mount namespace with its own tmpfs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <grp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"
#include "testutil.h"

#define PSHM_DIR_PATH "/dev/shm"
#define MAX_REPS 50
#define MAIN_SYSTEMS 5 /* native, passthrough, shmfs in its three modes */
#define MAX_SYSTEMS 6  /* and a baseline shmfs (--baseline), another build to compare with */
#define MIB (1024.0 * 1024.0)
#define GB 1e9

struct config {
	off_t size;        /* the big segment */
	off_t small_read;  /* bytes read with 4 KiB reads */
	long random_reads; /* 4 KiB random reads */
	long meta;         /* segments for create+stat+unlink and ls -l */
	long meta_large;   /* segments for the large ls -l */
	long hold;         /* segments held open for the memory figure */
	int reps;
	const char *shmfs;
	const char *passthrough;
	const char *out_md;
	const char *out_dat;
	const char *only;     /* run only the workloads whose name contains this */
	const char *baseline; /* another shmfs binary, run beside this one (default mode) */
};

struct system {
	const char *name;
	char dir[1024]; /* where the segments appear */
	struct test_mount mount;
	bool has_daemon;
};

enum unit { GBPS, MS };

struct workload {
	const char *name;
	enum unit unit;
	double (*run)(const struct system *s, const struct config *c, long arg);
	long arg;
	const char *chart_label; /* for the throughput chart, or NULL */
	double samples[MAX_SYSTEMS][MAX_REPS];
	int count[MAX_SYSTEMS];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *current; /* the system being measured, for error messages */

static void die(const char *what)
{
	fprintf(stderr, "bench: %s: %s: %s\n", current ? current : "setup", what, strerror(errno));
	exit(1);
}

static char *path_in(const struct system *s, const char *name)
{
	static char paths[4][PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 4];

	snprintf(p, PATH_MAX, "%s/%s", s->dir, name);
	return p;
}

static void *buffer(size_t len)
{
	static char *buf;
	static size_t have;

	if (have < len) {
		free(buf);
		buf = aligned_alloc(4096, len);
		if (!buf)
			die("malloc");
		memset(buf, 'b', len);
		have = len;
	}
	return buf;
}

/* Sequential read of the first `bytes` of bench.read with arg-byte reads: GB/s. */
static double seq_read(const struct system *s, const struct config *c, long block)
{
	off_t bytes = block < 65536 ? c->small_read : c->size, done = 0;
	char *buf = buffer((size_t)block);
	int fd = open(path_in(s, "bench.read"), O_RDONLY);
	double t;

	if (fd < 0)
		die("open bench.read");
	t = now();
	while (done < bytes) {
		ssize_t n = read(fd, buf, (size_t)block);

		if (n <= 0)
			die("read");
		done += n;
	}
	t = now() - t;
	close(fd);
	return (double)done / t / GB;
}

static unsigned long long shm_free_blocks(void)
{
	struct statvfs sv;

	return statvfs(PSHM_DIR_PATH, &sv) == 0 ? (unsigned long long)sv.f_bfree : 0;
}

/*
 * A FUSE daemon closes its descriptor after close(2) returns; wait (2 s at
 * most) until the removed file's memory is free again, so the next system
 * does not pay for freeing it.
 */
static void settle(unsigned long long free_before)
{
	for (int i = 0; i < 200 && shm_free_blocks() < free_before; i++)
		usleep(10000);
}

/* Page cache the previous system left (FUSE mounts cache) is freed now, not in the next turn. */
static void drop_caches(void)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);

	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr, "bench: drop_caches: %s\n", strerror(errno));
		close(fd);
	}
}

static double seq_write(const struct system *s, const struct config *c, long block)
{
	unsigned long long free_before = shm_free_blocks();
	char *buf = buffer((size_t)block);
	int fd = open(path_in(s, "bench.write"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	off_t done = 0;
	double t;

	if (fd < 0)
		die("open bench.write");
	t = now();
	while (done < c->size) {
		ssize_t n = write(fd, buf, (size_t)block);

		if (n <= 0)
			die("write");
		done += n;
	}
	close(fd);
	t = now() - t;
	/*
	 * Through the same system: a FUSE mount that cached the file's pages
	 * (passthrough, cache=on) frees them now, not during the next
	 * system's turn, which they would slow down (seen: native at a
	 * quarter of its speed right after passthrough).
	 */
	if (unlink(path_in(s, "bench.write")) < 0)
		die("unlink bench.write");
	settle(free_before);
	drop_caches();
	return (double)done / t / GB;
}

static double random_read(const struct system *s, const struct config *c, long block)
{
	char *buf = buffer((size_t)block);
	unsigned seed = 42;
	long blocks = (long)(c->size / block);
	int fd = open(path_in(s, "bench.read"), O_RDONLY);
	double t;

	if (fd < 0)
		die("open bench.read");
	t = now();
	for (long i = 0; i < c->random_reads; i++) {
		off_t off = (off_t)(rand_r(&seed) % blocks) * block;

		if (pread(fd, buf, (size_t)block, off) != block)
			die("pread");
	}
	t = now() - t;
	close(fd);
	return (double)c->random_reads * (double)block / t / GB;
}

/* create + stat + unlink of arg segments: ms. */
static double create_stat_unlink(const struct system *s, const struct config *c, long count)
{
	char name[64];
	struct stat st;
	double t = now();

	(void)c;
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof(name), "meta.%ld", i);
		int fd = open(path_in(s, name), O_WRONLY | O_CREAT | O_EXCL, 0600);

		if (fd < 0)
			die("create");
		close(fd);
		if (stat(path_in(s, name), &st) < 0)
			die("stat");
		if (unlink(path_in(s, name)) < 0)
			die("unlink");
	}
	return (now() - t) * 1000;
}

/*
 * create_stat_unlink as nobody, in a child: what a caller other than root
 * pays a root daemon that acts as its caller (every mount is allow_other).
 */
static double create_stat_unlink_nobody(const struct system *s, const struct config *c, long count)
{
	double ms = -1;
	int pipe_fds[2];
	pid_t pid;

	if (pipe(pipe_fds) < 0)
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(pipe_fds[0]);
		if (setgroups(0, NULL) < 0 || setgid(TEST_NOBODY) < 0 || setuid(TEST_NOBODY) < 0)
			die("become nobody");
		ms = create_stat_unlink(s, c, count);
		_exit(write(pipe_fds[1], &ms, sizeof(ms)) == sizeof(ms) ? 0 : 1);
	}
	close(pipe_fds[1]);
	if (read(pipe_fds[0], &ms, sizeof(ms)) != sizeof(ms))
		die("create+stat+unlink as nobody");
	close(pipe_fds[0]);
	waitpid(pid, NULL, 0);
	return ms;
}

static void make_many(long count)
{
	char path[PATH_MAX];

	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof(path), PSHM_DIR_PATH "/ls.%ld", i);
		int fd = open(path, O_WRONLY | O_CREAT, 0600);

		if (fd < 0)
			die("create for ls");
		close(fd);
	}
}

static void remove_many(long count)
{
	char path[PATH_MAX];

	for (long i = 0; i < count; i++) {
		snprintf(path, sizeof(path), PSHM_DIR_PATH "/ls.%ld", i);
		unlink(path);
	}
}

/* What ls -l does: readdir, then stat every entry: ms. */
static double list_long(const struct system *s, const struct config *c, long count)
{
	struct dirent *de;
	struct stat st;
	long seen = 0;
	double t = now();
	DIR *dir = opendir(s->dir);

	(void)c;
	if (!dir)
		die("opendir");
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			die("fstatat");
		seen++;
	}
	closedir(dir);
	t = now() - t;
	if (seen < count)
		fprintf(stderr, "bench: %s listed %ld of %ld\n", s->name, seen, count);
	return t * 1000;
}

/* The daemon's memory: peak RSS and peak anonymous (private) memory, KiB. */
struct memory {
	long peak_rss_kib;
	long peak_anon_kib;
};

struct sampler {
	pid_t pid;
	volatile bool stop;
	long peak_anon_kib;
};

static long read_kib(const char *path, const char *key)
{
	char line[256];
	long value = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			value = strtol(line + strlen(key), NULL, 10);
	fclose(f);
	return value;
}

static void *sample(void *arg)
{
	struct sampler *s = arg;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", (long)s->pid);
	while (!s->stop) {
		long anon = read_kib(path, "Anonymous:");

		if (anon > s->peak_anon_kib)
			s->peak_anon_kib = anon;
		usleep(2000);
	}
	return NULL;
}

static void reset_peak(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/clear_refs", (long)pid);
	fd = open(path, O_WRONLY);
	if (fd >= 0) {
		(void)!write(fd, "5", 1); /* resets VmHWM */
		close(fd);
	}
}

static struct memory measure(const struct system *s, const struct config *c, bool hold)
{
	struct sampler sm = { .pid = s->mount.pid };
	struct memory m;
	char path[64];
	pthread_t thread;

	reset_peak(sm.pid);
	pthread_create(&thread, NULL, sample, &sm);
	if (!hold) {
		seq_read(s, c, 1 << 20);
	} else {
		int *fds = calloc((size_t)c->hold, sizeof(int));
		char name[64], byte;

		make_many(c->hold);
		for (long i = 0; i < c->hold; i++) {
			snprintf(name, sizeof(name), "ls.%ld", i);
			fds[i] = open(path_in(s, name), O_RDWR);
			if (fds[i] < 0)
				die("open to hold");
			(void)!pwrite(fds[i], "x", 1, 0);
			(void)!pread(fds[i], &byte, 1, 0);
		}
		usleep(50000);
		for (long i = 0; i < c->hold; i++)
			close(fds[i]);
		free(fds);
		remove_many(c->hold);
	}
	sm.stop = true;
	pthread_join(thread, NULL);
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)sm.pid);
	m.peak_rss_kib = read_kib(path, "VmHWM:");
	m.peak_anon_kib = sm.peak_anon_kib;
	return m;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	double sorted[MAX_REPS];

	if (n == 0)
		return 0;
	memcpy(sorted, v, sizeof(double) * (size_t)n);
	qsort(sorted, (size_t)n, sizeof(double), compare);
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static double min_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

static double max_of(const double *v, int n)
{
	double m = v[0];

	for (int i = 1; i < n; i++)
		m = v[i] > m ? v[i] : m;
	return m;
}

static void print_both(FILE *md, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void print_both(FILE *md, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (md) {
		va_start(ap, fmt);
		vfprintf(md, fmt, ap);
		va_end(ap);
	}
}

static void machine(FILE *md)
{
	char line[256], model[256] = "unknown";
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			snprintf(model, sizeof(model), "%s", strchr(line, ':') + 2);
			model[strcspn(model, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	print_both(md, "Machine: %s, %ld cores, Linux %s, libfuse %s\n\n", model,
		   sysconf(_SC_NPROCESSORS_ONLN), u.release, fuse_pkgversion());
}

/* Ratio of shmfs to other, > 1 meaning shmfs is better. */
static double advantage(const struct workload *w, int shmfs, int other)
{
	double a = median((double *)w->samples[shmfs], w->count[shmfs]);
	double b = median((double *)w->samples[other], w->count[other]);

	if (a <= 0 || b <= 0)
		return 0;
	return w->unit == GBPS ? a / b : b / a;
}

/* shmfs beside another build of it (--baseline), both in the default mode, in the same run. */
static void print_baseline(FILE *md, struct workload *workloads, size_t nworkloads,
			   const struct memory *stream, const struct memory *held,
			   const struct config *c)
{
	print_both(md,
		   "\nshmfs against the baseline build (%s), both in the default mode, "
		   "interleaved in this run:\n\n",
		   c->baseline);
	print_both(md, "| workload | shmfs | shmfs baseline | shmfs vs baseline |\n");
	print_both(md, "|---|---|---|---|\n");
	for (size_t w = 0; w < nworkloads; w++) {
		struct workload *wl = &workloads[w];

		if (!wl->count[2] || !wl->count[5])
			continue;
		print_both(md, "| %s (%s) ", wl->name, wl->unit == GBPS ? "GB/s" : "ms");
		for (int s = 2; s <= 5; s += 3)
			print_both(md,
				   wl->unit == GBPS ? "| %.2f [%.2f-%.2f] " : "| %.0f [%.0f-%.0f] ",
				   median(wl->samples[s], wl->count[s]),
				   min_of(wl->samples[s], wl->count[s]),
				   max_of(wl->samples[s], wl->count[s]));
		print_both(md, "| %.2fx |\n", advantage(wl, 2, 5));
	}
	print_both(md,
		   "| daemon peak RSS / peak private, streaming (MiB) | %.1f / %.1f "
		   "| %.1f / %.1f | |\n",
		   stream[2].peak_rss_kib / 1024.0, stream[2].peak_anon_kib / 1024.0,
		   stream[5].peak_rss_kib / 1024.0, stream[5].peak_anon_kib / 1024.0);
	print_both(md,
		   "| daemon peak RSS / peak private, holding %ld segments (MiB) "
		   "| %.1f / %.1f | %.1f / %.1f | |\n",
		   c->hold, held[2].peak_rss_kib / 1024.0, held[2].peak_anon_kib / 1024.0,
		   held[5].peak_rss_kib / 1024.0, held[5].peak_anon_kib / 1024.0);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: bench --shmfs PATH --passthrough PATH [--size BYTES] [--reps N]\n"
		"             [--meta N] [--meta-large N] [--hold N] [--small-read BYTES]\n"
		"             [--random-reads N] [--out FILE.md] [--data FILE.dat]\n"
		"             [--only WORDS] (only the workloads whose name has WORDS)\n"
		"             [--baseline PATH] (another shmfs build, compared side by side)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "shmfs", required_argument, NULL, 's' },
		{ "passthrough", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 'z' },
		{ "reps", required_argument, NULL, 'r' },
		{ "meta", required_argument, NULL, 'm' },
		{ "meta-large", required_argument, NULL, 'L' },
		{ "hold", required_argument, NULL, 'H' },
		{ "small-read", required_argument, NULL, 'S' },
		{ "random-reads", required_argument, NULL, 'R' },
		{ "out", required_argument, NULL, 'o' },
		{ "data", required_argument, NULL, 'd' },
		{ "only", required_argument, NULL, 'O' },
		{ "baseline", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	struct config c = {
		.size = 1L << 30,
		.small_read = 64L << 20,
		.random_reads = 8192,
		.meta = 10000,
		.meta_large = 100000,
		.hold = 10000,
		.reps = 5,
		.out_md = "bench-results.md",
		.out_dat = "bench-throughput.dat",
	};
	struct workload workloads[] = {
		{ .name = "sequential read, 1 MiB reads",
		  .unit = GBPS,
		  .run = seq_read,
		  .arg = 1 << 20,
		  .chart_label = "1 MiB" },
		{ .name = "sequential read, 128 KiB reads",
		  .unit = GBPS,
		  .run = seq_read,
		  .arg = 128 << 10,
		  .chart_label = "128 KiB" },
		{ .name = "sequential read, 4 KiB reads",
		  .unit = GBPS,
		  .run = seq_read,
		  .arg = 4 << 10,
		  .chart_label = "4 KiB" },
		{ .name = "sequential write, 1 MiB writes",
		  .unit = GBPS,
		  .run = seq_write,
		  .arg = 1 << 20,
		  .chart_label = NULL },
		{ .name = "random 4 KiB reads",
		  .unit = GBPS,
		  .run = random_read,
		  .arg = 4 << 10,
		  .chart_label = NULL },
		{ .name = "create+stat+unlink",
		  .unit = MS,
		  .run = create_stat_unlink,
		  .arg = 0,
		  .chart_label = NULL },
		{ .name = "ls -l", .unit = MS, .run = list_long, .arg = 0, .chart_label = NULL },
		{ .name = "ls -l, large",
		  .unit = MS,
		  .run = list_long,
		  .arg = 0,
		  .chart_label = NULL },
		{ .name = "create+stat+unlink as nobody",
		  .unit = MS,
		  .run = create_stat_unlink_nobody,
		  .arg = 0,
		  .chart_label = NULL },
	};
	const size_t nworkloads = sizeof(workloads) / sizeof(workloads[0]);
	struct system systems[MAX_SYSTEMS] = {
		{ .name = "native" },
		{ .name = "passthrough" },
		{ .name = "shmfs" },
		{ .name = "shmfs cache=on" },
		{ .name = "shmfs passthrough=off" },
		{ .name = "shmfs baseline" },
	};
	int nsystems = MAIN_SYSTEMS;
	struct rlimit nofile = { 1 << 20, 1 << 20 };
	int opt;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			c.shmfs = optarg;
			break;
		case 'p':
			c.passthrough = optarg;
			break;
		case 'z':
			c.size = strtoll(optarg, NULL, 0);
			break;
		case 'r':
			c.reps = atoi(optarg);
			break;
		case 'm':
			c.meta = atol(optarg);
			break;
		case 'L':
			c.meta_large = atol(optarg);
			break;
		case 'H':
			c.hold = atol(optarg);
			break;
		case 'S':
			c.small_read = strtoll(optarg, NULL, 0);
			break;
		case 'R':
			c.random_reads = atol(optarg);
			break;
		case 'o':
			c.out_md = optarg;
			break;
		case 'd':
			c.out_dat = optarg;
			break;
		case 'O':
			c.only = optarg;
			break;
		case 'B':
			c.baseline = optarg;
			break;
		default:
			usage();
		}
	}
	if (!c.shmfs || !c.passthrough || c.reps < 1 || c.reps > MAX_REPS || c.size < (1 << 20))
		usage();
	if (c.small_read > c.size)
		c.small_read = c.size;
	workloads[5].arg = c.meta;
	workloads[6].arg = c.meta;
	workloads[7].arg = c.meta_large;
	workloads[8].arg = c.meta;
	if (geteuid() != 0) {
		fprintf(stderr, "bench: run as root (a private mount namespace and tmpfs)\n");
		return 77;
	}
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0) {
		nofile.rlim_cur = nofile.rlim_max = 65536;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	/* Room for the read file, the write file and the metadata at once. */
	/*
	 * Room for the read file and two write files: a FUSE daemon releases
	 * the previous one after close(2) returns.
	 */
	test_isolate_shm((size_t)c.size * 3 + (256 << 20));

	/* The daemons: passthrough shows / (so /dev/shm under it), shmfs shows /dev/shm. */
	/* allow_other: nobody's create+stat+unlink goes through the same mounts. */
	static const char *const foreground[] = { "-o", "allow_other", NULL };
	static const char *const cached[] = { "-o", "cache=on,allow_other", NULL };
	static const char *const daemon_io[] = { "-o", "passthrough=off,allow_other", NULL };
	if (mount_start(&systems[1].mount, c.passthrough, foreground) < 0 ||
	    mount_start(&systems[2].mount, c.shmfs, foreground) < 0 ||
	    mount_start(&systems[3].mount, c.shmfs, cached) < 0 ||
	    mount_start(&systems[4].mount, c.shmfs, daemon_io) < 0)
		return 1;
	if (c.baseline) {
		if (mount_start(&systems[5].mount, c.baseline, foreground) < 0)
			return 1;
		snprintf(systems[5].dir, sizeof(systems[5].dir), "%s", systems[5].mount.dir);
		nsystems = MAX_SYSTEMS;
	}
	snprintf(systems[0].dir, sizeof(systems[0].dir), PSHM_DIR_PATH);
	snprintf(systems[1].dir, sizeof(systems[1].dir), "%s" PSHM_DIR_PATH, systems[1].mount.dir);
	snprintf(systems[2].dir, sizeof(systems[2].dir), "%s", systems[2].mount.dir);
	snprintf(systems[3].dir, sizeof(systems[3].dir), "%s", systems[3].mount.dir);
	snprintf(systems[4].dir, sizeof(systems[4].dir), "%s", systems[4].mount.dir);
	for (int i = 1; i < nsystems; i++)
		systems[i].has_daemon = true;

	/* The segment every read workload reads, written once, natively. */
	int fd = open(PSHM_DIR_PATH "/bench.read", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *chunk = buffer(1 << 20);
	for (off_t done = 0; done < c.size; done += 1 << 20)
		if (write(fd, chunk, 1 << 20) != 1 << 20)
			die("write bench.read");
	close(fd);

	fprintf(stderr, "bench: %d repetitions of %zu workloads on %d systems\n", c.reps,
		nworkloads, nsystems);
	for (size_t w = 0; w < nworkloads; w++) {
		bool listing = workloads[w].run == list_long;
		double started = now();

		if (c.only && !strstr(workloads[w].name, c.only))
			continue;
		if (listing)
			make_many(workloads[w].arg);
		for (int rep = 0; rep < c.reps; rep++) {
			for (int s = 0; s < nsystems; s++) {
				/* Interleaved: A B C D E A B C D E ... */
				current = systems[s].name;
				double v = workloads[w].run(&systems[s], &c, workloads[w].arg);

				workloads[w].samples[s][workloads[w].count[s]++] = v;
			}
		}
		if (listing)
			remove_many(workloads[w].arg);
		fprintf(stderr, "bench: %s done (%.1f s)\n", workloads[w].name, now() - started);
	}

	struct memory stream[MAX_SYSTEMS], held[MAX_SYSTEMS];
	memset(stream, 0, sizeof(stream));
	memset(held, 0, sizeof(held));
	for (int s = 1; s < nsystems && (!c.only || strstr("memory", c.only)); s++) {
		stream[s] = measure(&systems[s], &c, false);
		held[s] = measure(&systems[s], &c, true);
	}

	FILE *md = fopen(c.out_md, "w");
	machine(md);
	print_both(md, "Medians of %d interleaved repetitions, [min-max]; %lld MiB segment.\n\n",
		   c.reps, (long long)(c.size >> 20));
	print_both(md, "| workload | native | passthrough | shmfs | shmfs cache=on "
		       "| shmfs passthrough=off | shmfs vs native | shmfs vs passthrough "
		       "| passthrough=off vs passthrough |\n");
	print_both(md, "|---|---|---|---|---|---|---|---|---|\n");
	for (size_t w = 0; w < nworkloads; w++) {
		struct workload *wl = &workloads[w];
		char label[128];

		if (!wl->count[0])
			continue;
		if (wl->run == create_stat_unlink || wl->run == create_stat_unlink_nobody ||
		    wl->run == list_long)
			snprintf(label, sizeof(label), "%s, %ld segments (ms)", wl->name, wl->arg);
		else if (wl->run == seq_read && wl->arg < 65536)
			snprintf(label, sizeof(label), "%s, %lld MiB (GB/s)", wl->name,
				 (long long)(c.small_read >> 20));
		else
			snprintf(label, sizeof(label), "%s (GB/s)", wl->name);
		print_both(md, "| %s ", label);
		for (int s = 0; s < MAIN_SYSTEMS; s++) {
			int n = wl->count[s];

			print_both(md,
				   wl->unit == GBPS ? "| %.2f [%.2f-%.2f] " : "| %.0f [%.0f-%.0f] ",
				   median(wl->samples[s], n), min_of(wl->samples[s], n),
				   max_of(wl->samples[s], n));
		}
		print_both(md, "| %.2fx | %.2fx | %.2fx |\n", advantage(wl, 2, 0),
			   advantage(wl, 2, 1), advantage(wl, 4, 1));
	}
	print_both(md, "\nRatios are shmfs (default, coherent) against the other system, above 1 "
		       "meaning shmfs is faster; the last column is shmfs with every byte "
		       "through the daemon (passthrough=off, as on kernels before 6.9).\n");
	if (workloads[6].count[2] && workloads[7].count[2])
		print_both(
			md,
			"ls -l, large vs ls -l: %.1fx the time for %.0fx the segments (shmfs).\n",
			median(workloads[7].samples[2], workloads[7].count[2]) /
				median(workloads[6].samples[2], workloads[6].count[2]),
			(double)c.meta_large / (double)c.meta);
	if (workloads[5].count[2] && workloads[8].count[2])
		print_both(md,
			   "create+stat+unlink as nobody vs as root: %.2fx the time (shmfs), "
			   "%.2fx (native).\n",
			   median(workloads[8].samples[2], workloads[8].count[2]) /
				   median(workloads[5].samples[2], workloads[5].count[2]),
			   median(workloads[8].samples[0], workloads[8].count[0]) /
				   median(workloads[5].samples[0], workloads[5].count[0]));
	print_both(md, "\n| daemon memory (MiB) | passthrough | shmfs | shmfs cache=on "
		       "| shmfs passthrough=off |\n");
	print_both(md, "|---|---|---|---|---|\n");
	print_both(md, "| streaming the segment: peak RSS / peak private ");
	for (int s = 1; s < MAIN_SYSTEMS; s++)
		print_both(md, "| %.1f / %.1f ", stream[s].peak_rss_kib / 1024.0,
			   stream[s].peak_anon_kib / 1024.0);
	print_both(md, "|\n| holding %ld segments open: peak RSS / peak private ", c.hold);
	for (int s = 1; s < MAIN_SYSTEMS; s++)
		print_both(md, "| %.1f / %.1f ", held[s].peak_rss_kib / 1024.0,
			   held[s].peak_anon_kib / 1024.0);
	print_both(md, "|\n");
	if (c.baseline)
		print_baseline(md, workloads, nworkloads, stream, held, &c);
	if (md)
		fclose(md);

	FILE *dat = fopen(c.out_dat, "w");
	if (dat) {
		fprintf(dat, "# block native passthrough shmfs shmfs-cache shmfs-no-passthrough "
			     "(GB/s, medians)\n");
		for (size_t w = 0; w < nworkloads; w++) {
			if (!workloads[w].chart_label)
				continue;
			fprintf(dat, "\"%s\"", workloads[w].chart_label);
			for (int s = 0; s < MAIN_SYSTEMS; s++)
				fprintf(dat, " %.3f",
					median(workloads[w].samples[s], workloads[w].count[s]));
			fprintf(dat, "\n");
		}
		fclose(dat);
	}

	unlink(PSHM_DIR_PATH "/bench.read");
	int status = 0;
	for (int s = 1; s < nsystems; s++) {
		int st = mount_stop(&systems[s].mount);

		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "bench: %s did not exit cleanly (status %d)\n",
				systems[s].name, st);
			status = 1;
		}
	}
	return status;
}

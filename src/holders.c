/* SPDX-License-Identifier: MIT */
/* shmfs: who has a segment open or mapped, from /proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "shmfs_i.h"

/*
 * This mount, to find clients that hold a segment through it: a mapping
 * made through it names the mount's device and the segment's inode number
 * (the mount shows segments' own numbers), a descriptor names the mount's
 * id and that number in /proc/PID/fdinfo.
 */
static struct {
	bool known;
	char path[PATH_MAX]; /* the mount point, as /proc shows paths */
	size_t path_len;
	unsigned major_no, minor_no;
	long mnt_id;
} self_mount;

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

const char *holders_mount_path(void)
{
	return self_mount.known ? self_mount.path : "";
}

void holders_init(const char *mountpoint)
{
	FILE *info = fopen("/proc/self/mountinfo", "re");
	char line[PATH_MAX * 2 + 256];

	if (!info)
		return;
	/* The last FUSE mount on the mount point is the one on top: this one. */
	while (fgets(line, sizeof(line), info)) {
		char point[PATH_MAX];
		const char *fstype = strstr(line, " - ");
		unsigned major_no, minor_no;
		long id;

		if (!fstype || strncmp(fstype + 3, "fuse", 4) != 0 ||
		    sscanf(line, "%ld %*d %u:%u %*s %4095s", &id, &major_no, &minor_no, point) != 4)
			continue;
		unescape(point);
		if (strcmp(point, mountpoint) != 0)
			continue;
		snprintf(self_mount.path, sizeof(self_mount.path), "%s", point);
		self_mount.path_len = strlen(self_mount.path);
		self_mount.major_no = major_no;
		self_mount.minor_no = minor_no;
		self_mount.mnt_id = id;
		self_mount.known = true;
	}
	fclose(info);
}

/* Whether path names a segment in this mount (not .ctl or the .anon directory). */
static bool in_self_mount(const char *path)
{
	const char *rest = path + self_mount.path_len;

	if (!self_mount.known || strncmp(path, self_mount.path, self_mount.path_len) != 0 ||
	    rest[0] != '/')
		return false;
	rest++;
	return strcmp(rest, CTL_NAME) != 0 && strcmp(rest, ANON_DIR_NAME) != 0;
}

/* Whether descriptor fd_name of a process is open on this mount's file of inode ino. */
static bool fd_on_self_mount(int pid_dir, const char *fd_name, ino_t ino)
{
	char path[300], info[512];
	long mnt_id = -1;
	unsigned long long inode = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "fdinfo/%s", fd_name);
	fd = openat(pid_dir, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, info, sizeof(info) - 1);
	close(fd);
	if (n <= 0)
		return false;
	info[n] = '\0';
	p = strstr(info, "mnt_id:");
	if (p)
		mnt_id = strtol(p + 7, NULL, 10);
	p = strstr(info, "\nino:");
	if (p)
		inode = strtoull(p + 5, NULL, 10);
	return mnt_id == self_mount.mnt_id && p && inode == (unsigned long long)ino;
}

static void read_comm(int pid_dir, char *comm, size_t len)
{
	int fd = openat(pid_dir, "comm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, comm, len - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		snprintf(comm, len, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* A command name is the process's to choose: keep replies one line of text. */
	for (char *c = comm; *c; c++)
		if (!isgraph((unsigned char)*c))
			*c = '_';
}

/* One process's holder lines, kept until we know whether the viewer may see them. */
struct lines {
	char *text;
	size_t len, cap;
	bool failed;
};

static void lines_add(struct lines *l, const char *line)
{
	size_t len = strlen(line) + 1;

	/* One process's lines are bounded like a reply: more could never be sent. */
	if (l->failed || l->len + len > HOLDERS_BYTES_MAX) {
		l->failed = true;
		return;
	}
	if (l->len + len > l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 512;
		char *text;

		while (cap < l->len + len)
			cap *= 2;
		text = realloc(l->text, cap);
		if (!text) {
			l->failed = true;
			return;
		}
		l->text = text;
		l->cap = cap;
	}
	memcpy(l->text + l->len, line, len);
	l->len += len;
}

/*
 * Descriptors: only links that name a file under /dev/shm are stat'ed, so
 * the scan never waits on a FUSE mount (this one included).
 */
static int scan_fds(int pid_dir, long pid, const char *comm, dev_t dev, ino_t ino,
		    struct lines *out)
{
	int fd_dir = openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	DIR *dir;

	if (fd_dir < 0)
		return -errno;
	dir = fdopendir(fd_dir);
	if (!dir) {
		close(fd_dir);
		return -ENOMEM;
	}
	while ((de = readdir(dir))) {
		char target[PATH_MAX], line[HOLDER_LINE_MAX];
		struct stat st;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (in_self_mount(target)) {
			/* Never stat'ed: that would be a request to this daemon. */
			if (!fd_on_self_mount(pid_dir, de->d_name, ino))
				continue;
		} else if (strncmp(target, PSHM_DIR "/", strlen(PSHM_DIR) + 1) != 0 ||
			   fstatat(dirfd(dir), de->d_name, &st, 0) < 0 || st.st_dev != dev ||
			   st.st_ino != ino) {
			continue;
		}
		snprintf(line, sizeof(line), "%ld %s fd %s", pid, comm, de->d_name);
		lines_add(out, line);
	}
	closedir(dir);
	return 0;
}

/*
 * One line of /proc/PID/maps, whole (getline: a path of any length stays
 * on its line; the kernel escapes newlines in paths), parsed strictly:
 * "START-END PERMS OFFSET MAJOR:MINOR INODE", then either the end or
 * spaces and the path. Returns whether it parsed; *ret_path points into line.
 */
static bool parse_maps_line(char *line, unsigned long long *start, unsigned long long *end,
			    char perms[5], unsigned *major_no, unsigned *minor_no,
			    unsigned long long *inode, const char **ret_path)
{
	unsigned long long offset;
	int at = -1;

	line[strcspn(line, "\n")] = '\0';
	if (!isxdigit((unsigned char)line[0]) ||
	    sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", start, end, perms, &offset, major_no,
		   minor_no, inode, &at) != 7 ||
	    at < 0 || strlen(perms) != 4 || (line[at] != '\0' && line[at] != ' '))
		return false;
	while (line[at] == ' ')
		at++;
	*ret_path = line + at;
	return true;
}

static int scan_maps(int pid_dir, long pid, const char *comm, dev_t dev, ino_t ino,
		     struct lines *out)
{
	int fd = openat(pid_dir, "maps", O_RDONLY | O_CLOEXEC);
	char *buf = NULL, line[HOLDER_LINE_MAX];
	size_t buf_size = 0;
	FILE *maps;

	if (fd < 0)
		return -errno;
	maps = fdopen(fd, "r");
	if (!maps) {
		close(fd);
		return -ENOMEM;
	}
	while (getline(&buf, &buf_size, maps) > 0) {
		unsigned long long start, end, inode;
		unsigned major_no, minor_no;
		const char *path;
		char perms[5];

		if (!parse_maps_line(buf, &start, &end, perms, &major_no, &minor_no, &inode,
				     &path) ||
		    inode != (unsigned long long)ino)
			continue;
		/* Mapped through this mount (FUSE passthrough), or directly. */
		if (!(self_mount.known && major_no == self_mount.major_no &&
		      minor_no == self_mount.minor_no && in_self_mount(path)) &&
		    (major_no != major(dev) || minor_no != minor(dev)))
			continue;
		snprintf(line, sizeof(line), "%ld %s map %llx-%llx %s", pid, comm, start, end,
			 perms);
		lines_add(out, line);
	}
	free(buf);
	fclose(maps);
	return 0;
}

/*
 * Whether viewer could read this process's maps itself: asked of the
 * kernel, by opening them as viewer (fsuid, fsgid, groups, and without
 * the daemon's CAP_SYS_PTRACE), so hidepid= and dumpability count too.
 */
static bool viewer_may_read(int pid_dir, const struct creds *viewer)
{
	int fd;

	if (viewer->uid == 0 || !creds_switching())
		return true;
	if (creds_enter_viewer(viewer) < 0)
		return false;
	fd = openat(pid_dir, "maps", O_RDONLY | O_CLOEXEC);
	creds_leave();
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

bool holders_visible(long pid, const struct creds *viewer)
{
	char path[32];
	bool visible;
	int dir;

	if (viewer->uid == 0 || !creds_switching())
		return true;
	snprintf(path, sizeof(path), "/proc/%ld", pid);
	dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return false;
	visible = viewer_may_read(dir, viewer);
	close(dir);
	return visible;
}

static struct fuse_session *session; /* to stop scanning when the daemon stops */
static atomic_uint scans_running;    /* by users other than root */

void holders_set_session(struct fuse_session *se)
{
	session = se;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A scan reads all of /proc, so what one user may make the daemon spend
 * on them is bounded: one scan at a time per user, HOLDERS_SCANS_MAX at
 * once for all users but root (so some workers are always free), each
 * stopped after HOLDERS_SCAN_MS or when the daemon stops.
 */
/* The library scan's stop: its deadline passed, or the daemon is stopping. */
static bool scan_should_stop(void *ctx)
{
	const uint64_t *deadline = ctx;

	return now_ms() > *deadline || (session && fuse_session_exited(session));
}

int holders_objects(const struct creds *viewer, unsigned kinds, struct pshm_scan **ret)
{
	uint64_t deadline = now_ms() + HOLDERS_SCAN_MS;
	struct pshm_scan_options options = { .mount_path = NULL,
					     .skip_self = true,
					     .stop = scan_should_stop,
					     .stop_ctx = &deadline };
	int r = holders_scan_begin(viewer);

	if (r < 0)
		return r;
	r = pshm_scan_open(kinds, &options, ret, NULL);
	holders_scan_end(viewer);
	return r;
}

int holders_scan_begin(const struct creds *viewer)
{
	unsigned running;
	int r;

	if (creds_is_daemon(viewer->uid))
		return 0;
	r = limits_take(viewer->uid, LIMIT_SCANS, 1);
	if (r < 0)
		return -EAGAIN;
	running = atomic_fetch_add(&scans_running, 1);
	if (running >= HOLDERS_SCANS_MAX) {
		atomic_fetch_sub(&scans_running, 1);
		limits_give(viewer->uid, LIMIT_SCANS, 1);
		return -EAGAIN;
	}
	return 0;
}

void holders_scan_end(const struct creds *viewer)
{
	if (creds_is_daemon(viewer->uid))
		return;
	atomic_fetch_sub(&scans_running, 1);
	limits_give(viewer->uid, LIMIT_SCANS, 1);
}

int holders_scan(dev_t dev, ino_t ino, const struct creds *viewer, holders_emit_fn emit, void *ctx,
		 struct holders_count *ret)
{
	long self = (long)getpid();
	uint64_t deadline = now_ms() + HOLDERS_SCAN_MS;
	struct holders_count count = { 0 };
	struct lines lines = { 0 };
	struct dirent *de;
	DIR *proc;
	int r = holders_scan_begin(viewer);

	if (r < 0)
		return r;
	proc = opendir("/proc");
	if (!proc) {
		r = -errno;
		holders_scan_end(viewer);
		return r;
	}
	while ((de = readdir(proc))) {
		char *end, comm[64];
		long pid = strtol(de->d_name, &end, 10);
		bool stop = false;
		int pid_dir;

		if (*end || pid <= 0 || pid == self)
			continue;
		if (now_ms() > deadline || (session && fuse_session_exited(session))) {
			count.stopped = true;
			break;
		}
		pid_dir = openat(dirfd(proc), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (pid_dir < 0)
			continue; /* exited meanwhile */
		read_comm(pid_dir, comm, sizeof(comm));
		lines.len = 0;
		lines.failed = false;
		if (scan_fds(pid_dir, pid, comm, dev, ino, &lines) == -EACCES ||
		    scan_maps(pid_dir, pid, comm, dev, ino, &lines) == -EACCES)
			count.unreadable++;
		if (lines.failed) {
			count.cut = true; /* more than any reply can hold */
			stop = true;
		} else if (lines.len && !viewer_may_read(pid_dir, viewer)) {
			count.hidden++;
		} else {
			for (size_t at = 0; at < lines.len && !stop;
			     at += strlen(lines.text + at) + 1)
				stop = emit(ctx, lines.text + at) < 0;
			count.cut |= stop;
		}
		close(pid_dir);
		if (stop)
			break;
	}
	closedir(proc);
	free(lines.text);
	holders_scan_end(viewer);
	*ret = count;
	return 0;
}

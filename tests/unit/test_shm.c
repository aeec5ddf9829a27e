/* SPDX-License-Identifier: MIT */
/* libpshm unit tests on real segments: open, anonymous open, the fd calls, maps, listing. */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pshm_i.h"
#include "testutil.h"

static const char parent_text[] = "hello from the parent";
static const char child_text[] = "hello from the child";

static bool exists(const char *name)
{
	struct stat st;

	return pshm_stat_name(name, &st, NULL) == 0;
}

static void assert_error_text(const struct pshm_error *err, const char *text)
{
	char buf[512];

	CU_ASSERT(pshm_strerror(err, buf, sizeof(buf)) > 0);
	CU_ASSERT_STRING_EQUAL(buf, text);
}

static int create(const char *name, mode_t mode)
{
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, mode, NULL);

	CU_ASSERT(fd >= 0);
	return fd;
}

static void destroy(const char *name, int fd)
{
	if (fd >= 0)
		CU_ASSERT_EQUAL(pshm_close(fd, NULL), 0);
	CU_ASSERT_EQUAL(pshm_unlink(name, NULL), 0);
}

/* Runs this test program again with args, waits, returns its wait status. */
static int run_self(char *const args[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execv("/proc/self/exe", args);
		_exit(127);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return status;
}

static void test_open_applies_mode_exactly_under_umask(void)
{
	const char *name = test_unique_name("mode");
	mode_t old = umask(077);
	struct stat st;
	int fd, again;

	fd = create(name, 0664);
	umask(old);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0664);
	CU_ASSERT(S_ISREG(st.st_mode));
	/* Opening an existing segment with O_CREAT keeps its mode. */
	again = pshm_open(name, O_RDWR | O_CREAT, 0600, NULL);
	CU_ASSERT(again >= 0);
	CU_ASSERT_EQUAL(pshm_stat(again, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0664);
	CU_ASSERT_EQUAL(pshm_close(again, NULL), 0);
	destroy(name, fd);
}

static void test_open_ex_tells_who_created(void)
{
	const char *name = test_unique_name("created");
	int created = -1, fd, again;

	fd = pshm_open_ex(name, O_RDWR | O_CREAT, 0600, &created, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(created, 1);
	again = pshm_open_ex(name, O_RDWR | O_CREAT, 0600, &created, NULL);
	CU_ASSERT(again >= 0);
	CU_ASSERT_EQUAL(created, 0);
	pshm_close(again, NULL);
	again = pshm_open_ex(name, O_RDONLY, 0, &created, NULL);
	CU_ASSERT(again >= 0);
	CU_ASSERT_EQUAL(created, 0);
	pshm_close(again, NULL);
	created = 7;
	CU_ASSERT_EQUAL(pshm_open_ex(name, O_RDWR | O_CREAT | O_EXCL, 0600, &created, NULL),
			-EEXIST);
	CU_ASSERT_EQUAL(created, 7); /* untouched on failure */
	destroy(name, fd);
}

static void test_open_leading_slash_is_optional(void)
{
	const char *name = test_unique_name("slash");
	char slashed[300];
	struct stat a, b;
	int fd, fd2;

	snprintf(slashed, sizeof(slashed), "/%s", name);
	fd = create(name, 0600);
	fd2 = pshm_open(slashed, O_RDONLY, 0, NULL);
	CU_ASSERT(fd2 >= 0);
	pshm_stat(fd, &a, NULL);
	pshm_stat(fd2, &b, NULL);
	CU_ASSERT_EQUAL(a.st_ino, b.st_ino);
	pshm_close(fd2, NULL);
	destroy(slashed, fd);
}

static void test_open_exclusive_reports_eexist(void)
{
	const char *name = test_unique_name("excl");
	struct pshm_error err;
	char text[512];
	int fd = create(name, 0600);

	CU_ASSERT_EQUAL(pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &err), -EEXIST);
	CU_ASSERT_EQUAL(err.code, EEXIST);
	CU_ASSERT_STRING_EQUAL(err.op, "shm_open");
	CU_ASSERT_EQUAL(err.name[0], '/');
	CU_ASSERT_STRING_EQUAL(err.name + 1, name);
	snprintf(text, sizeof(text), "shm_open(\"/%s\"): File exists", name);
	assert_error_text(&err, text);
	destroy(name, fd);
}

static void test_open_missing_reports_enoent(void)
{
	const char *name = test_unique_name("missing");
	struct pshm_error err;
	char text[512];

	CU_ASSERT_EQUAL(pshm_open(name, O_RDONLY, 0, &err), -ENOENT);
	snprintf(text, sizeof(text), "shm_open(\"/%s\"): No such file or directory", name);
	assert_error_text(&err, text);
	CU_ASSERT_FALSE(exists(name));
}

/* A FIFO, directory or socket is no segment: refused at once, never opened blocking. */
static void test_open_refuses_non_segments_without_blocking(void)
{
	const char *fifo = test_unique_name("fifo"), *dir = test_unique_name("dir");
	char path[PATH_MAX];
	struct pshm_error err;
	static const int flags[] = { O_RDONLY, O_RDWR, O_RDONLY | O_CREAT,
				     O_RDWR | O_CREAT | O_TRUNC };

	snprintf(path, sizeof(path), PSHM_DIR "/%s", fifo);
	CU_ASSERT_FATAL(mkfifo(path, 0666) == 0);
	snprintf(path, sizeof(path), PSHM_DIR "/%s", dir);
	CU_ASSERT_FATAL(mkdir(path, 0777) == 0);
	/* Before the fix the FIFO open blocked forever: SIGALRM ends this test then. */
	alarm(5);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		CU_ASSERT_EQUAL(pshm_open(fifo, flags[i], 0600, &err), -ENXIO);
		CU_ASSERT_EQUAL(pshm_open(dir, flags[i], 0600, &err), -ENXIO);
	}
	CU_ASSERT_PTR_NOT_NULL(err.reason);
	CU_ASSERT_EQUAL(pshm_open(fifo, O_RDWR | O_CREAT | O_EXCL, 0600, NULL), -EEXIST);
	alarm(0);
	/* Hidden from stat by name and from listings, as before. */
	CU_ASSERT_FALSE(exists(fifo));
	CU_ASSERT_FALSE(exists(dir));
	snprintf(path, sizeof(path), PSHM_DIR "/%s", fifo);
	CU_ASSERT_EQUAL(unlink(path), 0);
	snprintf(path, sizeof(path), PSHM_DIR "/%s", dir);
	CU_ASSERT_EQUAL(rmdir(path), 0);
}

static void test_open_leaves_no_nonblocking_flag(void)
{
	const char *name = test_unique_name("flags");
	int fd = create(name, 0600), again;

	again = pshm_open(name, O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(again >= 0);
	CU_ASSERT_EQUAL(fcntl(again, F_GETFL) & O_NONBLOCK, 0);
	pshm_close(again, NULL);
	destroy(name, fd);
}

static void test_open_rejects_bad_names(void)
{
	static const char *const invalid[] = {
		"", "/", "a/b", "/a/b", "//x", ".", "..", "/..", "/."
	};
	struct pshm_error err;
	char longest[PSHM_NAME_MAX + 2], too_long[PSHM_NAME_MAX + 3];
	int fd;

	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		CU_ASSERT_EQUAL(pshm_open(invalid[i], O_RDWR | O_CREAT, 0600, &err), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(err.reason);
		CU_ASSERT_EQUAL(pshm_unlink(invalid[i], NULL), -EINVAL);
		CU_ASSERT_EQUAL(pshm_name_check(invalid[i], NULL), -EINVAL);
	}
	CU_ASSERT_EQUAL(pshm_open(NULL, O_RDONLY, 0, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_open("a/b", O_RDONLY, 0, &err), -EINVAL);
	assert_error_text(&err, "shm_open(\"a/b\"): invalid name: contains '/'");

	/* PSHM_NAME_MAX bytes is the limit, with or without the leading '/'. */
	snprintf(longest, sizeof(longest), "%s", test_name_prefix());
	memset(longest + strlen(longest), 'n', sizeof(longest) - 1 - strlen(longest));
	longest[PSHM_NAME_MAX] = '\0';
	CU_ASSERT_EQUAL(strlen(longest), PSHM_NAME_MAX);
	fd = pshm_open(longest, O_RDWR | O_CREAT | O_EXCL, 0600, &err);
	CU_ASSERT(fd >= 0);
	CU_ASSERT(exists(longest));
	destroy(longest, fd);
	snprintf(too_long, sizeof(too_long), "%sx", longest);
	CU_ASSERT_EQUAL(pshm_open(too_long, O_RDWR | O_CREAT, 0600, &err), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(err.code, ENAMETOOLONG);
	CU_ASSERT_EQUAL(pshm_unlink(too_long, NULL), -ENAMETOOLONG);
}

static void test_open_rejects_bad_flags_and_mode(void)
{
	const char *name = test_unique_name("flags");
	struct pshm_error err;

	CU_ASSERT_EQUAL(pshm_open(name, O_WRONLY | O_CREAT, 0600, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_open(name, O_RDWR | O_CREAT | O_APPEND, 0600, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_open(name, O_RDWR | O_CREAT, 04600, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.reason, "mode has bits outside 0777");
	CU_ASSERT_FALSE(exists(name));
}

static bool fd_is_cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	return flags >= 0 && (flags & FD_CLOEXEC);
}

/* The child's side of test_every_open_is_close_on_exec: exits 0 when fd is closed. */
static int child_check_closed(const char *fd_text)
{
	return fcntl(atoi(fd_text), F_GETFD) < 0 && errno == EBADF ? 0 : 1;
}

static void assert_closed_across_exec(int fd)
{
	char fd_text[16];
	char *args[] = { "test_shm", "--child-check-closed", fd_text, NULL };
	int status;

	CU_ASSERT(fd_is_cloexec(fd));
	snprintf(fd_text, sizeof(fd_text), "%d", fd);
	status = run_self(args);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_every_open_is_close_on_exec(void)
{
	const char *name = test_unique_name("cloexec");
	int created, existing, plain, anon;

	created = create(name, 0600);
	existing = pshm_open(name, O_RDWR | O_CREAT, 0600, NULL);
	plain = pshm_open(name, O_RDONLY, 0, NULL);
	anon = pshm_open_anon(test_name_prefix(), O_RDWR, 0600, PSHM_ANON_ATTEMPTS, NULL);
	CU_ASSERT_FATAL(existing >= 0 && plain >= 0 && anon >= 0);
	assert_closed_across_exec(created);
	assert_closed_across_exec(existing);
	assert_closed_across_exec(plain);
	assert_closed_across_exec(anon);
	pshm_close(existing, NULL);
	pshm_close(plain, NULL);
	pshm_close(anon, NULL);
	destroy(name, created);
}

/* How many segments start with prefix, or -1 when the listing fails. */
static int count_with_prefix(const char *prefix)
{
	struct pshm_iter *it;
	int n = 0, r;

	if (pshm_iter_open(prefix, &it, NULL) < 0)
		return -1;
	while ((r = pshm_iter_next(it, NULL, NULL, NULL)) > 0)
		n++;
	pshm_iter_free(it);
	return r < 0 ? -1 : n;
}

static void test_anon_is_gone_from_namespace(void)
{
	char prefix[128];
	mode_t old = umask(077);
	struct stat st;
	void *map;
	int fd;

	snprintf(prefix, sizeof(prefix), "%sanon-", test_name_prefix());
	fd = pshm_open_anon(prefix, O_RDWR, 0640, PSHM_ANON_ATTEMPTS, NULL);
	umask(old);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(count_with_prefix(prefix), 0);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_nlink, 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	/* Still a fully usable segment. */
	CU_ASSERT_EQUAL(pshm_truncate(fd, 8192, NULL), 0);
	CU_ASSERT_EQUAL(pshm_map(fd, NULL, 8192, PROT_READ | PROT_WRITE, 0, &map, NULL), 0);
	memcpy((char *)map + 4096, "anon", 4);
	CU_ASSERT_EQUAL(pshm_unmap(map, 8192, NULL), 0);
	CU_ASSERT_EQUAL(pshm_close(fd, NULL), 0);
	/* NULL prefix: the default one. */
	fd = pshm_open_anon(NULL, O_RDWR, 0600, 1, NULL);
	CU_ASSERT(fd >= 0);
	pshm_close(fd, NULL);
}

static void test_anon_rejects_zero_attempts_and_bad_prefix(void)
{
	char long_prefix[PSHM_NAME_MAX];
	struct pshm_error err;

	CU_ASSERT_EQUAL(pshm_open_anon(test_name_prefix(), O_RDWR, 0600, 0, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.reason, "attempts must be at least 1");
	CU_ASSERT_EQUAL(pshm_open_anon("a/b-", O_RDWR, 0600, 1, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_open_anon(test_name_prefix(), O_WRONLY, 0600, 1, &err), -EINVAL);
	memset(long_prefix, 'p', sizeof(long_prefix) - 1);
	long_prefix[PSHM_NAME_MAX - PSHM_ANON_RANDOM_CHARS + 1] = '\0';
	CU_ASSERT_EQUAL(pshm_open_anon(long_prefix, O_RDWR, 0600, 1, &err), -ENAMETOOLONG);
	long_prefix[PSHM_NAME_MAX - PSHM_ANON_RANDOM_CHARS] = '\0';
	memcpy(long_prefix, test_name_prefix(), strlen(test_name_prefix()));
	int fd = pshm_open_anon(long_prefix, O_RDWR, 0600, 1, &err);
	CU_ASSERT(fd >= 0);
	pshm_close(fd, NULL);
}

/* A name source that hands out scripted names: "A..." for the first `taken` calls. */
struct scripted_source {
	unsigned calls;
	unsigned taken;
};

static int scripted_names(char *buf, size_t len, void *userdata)
{
	struct scripted_source *s = userdata;

	memset(buf, s->calls < s->taken ? 'A' : 'B', len);
	s->calls++;
	return 0;
}

static void test_anon_retries_on_existing_names(void)
{
	char prefix[128], taken[300], fresh[300];
	struct scripted_source source = { 0, 2 };
	struct pshm_error err;
	int fd, blocker;

	snprintf(prefix, sizeof(prefix), "%sretry-", test_name_prefix());
	snprintf(taken, sizeof(taken), "%s%.*s", prefix, PSHM_ANON_RANDOM_CHARS,
		 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	snprintf(fresh, sizeof(fresh), "%s%.*s", prefix, PSHM_ANON_RANDOM_CHARS,
		 "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
	blocker = create(taken, 0600);

	pshm_set_name_source(scripted_names, &source);
	fd = pshm_open_anon(prefix, O_RDWR, 0600, 3, &err);
	CU_ASSERT(fd >= 0);
	CU_ASSERT_EQUAL(source.calls, 3);
	CU_ASSERT_FALSE(exists(fresh)); /* unlinked at once */
	CU_ASSERT(exists(taken));       /* the existing one untouched */
	pshm_close(fd, NULL);

	/* Every attempt collides: -EEXIST after exactly `attempts` names. */
	source = (struct scripted_source){ 0, 1000 };
	CU_ASSERT_EQUAL(pshm_open_anon(prefix, O_RDWR, 0600, 5, &err), -EEXIST);
	CU_ASSERT_EQUAL(source.calls, 5);
	CU_ASSERT_EQUAL(err.code, EEXIST);
	CU_ASSERT_STRING_EQUAL(err.reason, "every attempted name existed already");
	pshm_set_name_source(NULL, NULL);
	destroy(taken, blocker);
}

/* The child's side of test_child_sees_parent_writes. */
static int child_map(const char *name)
{
	void *map;
	int fd = pshm_open(name, O_RDWR, 0, NULL);

	if (fd < 0 || pshm_map(fd, NULL, 4096, PROT_READ | PROT_WRITE, 0, &map, NULL) < 0)
		return 2;
	if (memcmp(map, parent_text, sizeof(parent_text)) != 0)
		return 3;
	memcpy((char *)map + 1024, child_text, sizeof(child_text));
	pshm_unmap(map, 4096, NULL);
	pshm_close(fd, NULL);
	return 0;
}

static void test_child_sees_parent_writes(void)
{
	const char *name = test_unique_name("child");
	char name_arg[256];
	char *args[] = { "test_shm", "--child-map", name_arg, NULL };
	void *map;
	int fd = create(name, 0600), status;

	snprintf(name_arg, sizeof(name_arg), "%s", name);
	CU_ASSERT_FATAL(pshm_truncate(fd, 4096, NULL) == 0);
	CU_ASSERT_FATAL(pshm_map(fd, NULL, 4096, PROT_READ | PROT_WRITE, 0, &map, NULL) == 0);
	memcpy(map, parent_text, sizeof(parent_text));
	status = run_self(args);
	CU_ASSERT(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	CU_ASSERT_STRING_EQUAL((char *)map + 1024, child_text);
	pshm_unmap(map, 4096, NULL);
	destroy(name, fd);
}

static void test_read_protection_refuses_writes(void)
{
	const char *name = test_unique_name("prot");
	int fd = create(name, 0600), status, prot;
	pid_t pid;

	CU_ASSERT_FATAL(pshm_truncate(fd, 4096, NULL) == 0);
	CU_ASSERT_FATAL(pshm_parse_prot("read", &prot, NULL) == 0);
	pid = fork();
	if (pid == 0) {
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		volatile char *map;

		/* Die of the signal itself, whatever a sanitizer installed. */
		sigaction(SIGSEGV, &dfl, NULL);
		if (pshm_map(fd, NULL, 4096, prot, 0, (void **)&map, NULL) < 0)
			_exit(2);
		if (map[0] != 0)
			_exit(3);
		map[0] = 'x';
		_exit(0);
	}
	CU_ASSERT_FATAL(pid > 0);
	waitpid(pid, &status, 0);
	CU_ASSERT(WIFSIGNALED(status));
	CU_ASSERT_EQUAL(WTERMSIG(status), SIGSEGV);
	destroy(name, fd);
}

static void test_map_rejects_bad_arguments(void)
{
	const char *name = test_unique_name("map");
	struct pshm_error err;
	void *map = NULL;
	int fd = create(name, 0600), ro;

	pshm_truncate(fd, 4096, NULL);
	CU_ASSERT_EQUAL(pshm_map(fd, NULL, 0, PROT_READ, 0, &map, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_map(fd, NULL, 4096, 0x100, 0, &map, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_map(fd, NULL, 4096, PROT_READ, 1, &map, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.op, "mmap");
	ro = pshm_open(name, O_RDONLY, 0, NULL);
	CU_ASSERT_EQUAL(pshm_map(ro, NULL, 4096, PROT_READ | PROT_WRITE, 0, &map, &err), -EACCES);
	CU_ASSERT_EQUAL(err.fd, ro);
	CU_ASSERT_PTR_NULL(map);
	CU_ASSERT_EQUAL(pshm_map(ro, NULL, 4096, PROT_NONE, 0, &map, &err), 0);
	CU_ASSERT_EQUAL(pshm_unmap(map, 4096, NULL), 0);
	CU_ASSERT_EQUAL(pshm_unmap((void *)1, 4096, &err), -EINVAL);
	CU_ASSERT_STRING_EQUAL(err.op, "munmap");
	pshm_close(ro, NULL);
	destroy(name, fd);
}

static void test_stat_chmod_chown_truncate_utimens(void)
{
	const char *name = test_unique_name("ops");
	const struct timespec times[2] = { { 1000000000, 5 }, { 1200000000, 7 } };
	uid_t uid = geteuid() == 0 ? 65534 : geteuid();
	gid_t gid = geteuid() == 0 ? 65534 : getegid();
	struct pshm_error err;
	struct stat st, by_name;
	int fd = create(name, 0600), ro;

	CU_ASSERT_EQUAL(pshm_truncate(fd, 12345, NULL), 0);
	CU_ASSERT_EQUAL(pshm_chmod(fd, 0640, NULL), 0);
	CU_ASSERT_EQUAL(pshm_utimens(fd, times, NULL), 0);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_size, 12345);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0640);
	CU_ASSERT_EQUAL(st.st_mtim.tv_sec, 1200000000);
	CU_ASSERT_EQUAL(st.st_mtim.tv_nsec, 7);
	CU_ASSERT_EQUAL(st.st_atim.tv_sec, 1000000000);
	CU_ASSERT_EQUAL(pshm_stat_name(name, &by_name, NULL), 0);
	CU_ASSERT_EQUAL(by_name.st_ino, st.st_ino);
	CU_ASSERT_EQUAL(by_name.st_size, 12345);
	CU_ASSERT_EQUAL(pshm_chown(fd, uid, gid, NULL), 0);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_uid, uid);
	CU_ASSERT_EQUAL(st.st_gid, gid);
	CU_ASSERT_EQUAL(pshm_truncate(fd, 0, NULL), 0);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_size, 0);

	CU_ASSERT_EQUAL(pshm_truncate(fd, -1, &err), -EINVAL);
	CU_ASSERT_EQUAL(pshm_chmod(fd, 01777, &err), -EINVAL);
	ro = pshm_open(name, O_RDONLY, 0, NULL);
	CU_ASSERT(pshm_truncate(ro, 10, &err) < 0);
	CU_ASSERT_STRING_EQUAL(err.op, "ftruncate");
	CU_ASSERT_EQUAL(err.fd, ro);
	pshm_close(ro, NULL);
	CU_ASSERT_EQUAL(pshm_stat(-1, &st, &err), -EBADF);
	CU_ASSERT_EQUAL(pshm_close(9999, &err), -EBADF);
	assert_error_text(&err, "close(fd 9999): Bad file descriptor");
	destroy(name, fd);
}

static void test_unlinked_segment_stays_usable(void)
{
	const char *name = test_unique_name("unlinked");
	struct pshm_error err;
	struct stat st;
	char text[512];
	int fd = create(name, 0600);

	CU_ASSERT_EQUAL(pshm_unlink(name, NULL), 0);
	CU_ASSERT_FALSE(exists(name));
	CU_ASSERT_EQUAL(pshm_unlink(name, &err), -ENOENT);
	snprintf(text, sizeof(text), "shm_unlink(\"/%s\"): No such file or directory", name);
	assert_error_text(&err, text);
	CU_ASSERT_EQUAL(pshm_truncate(fd, 4096, NULL), 0);
	CU_ASSERT_EQUAL(pshm_stat(fd, &st, NULL), 0);
	CU_ASSERT_EQUAL(st.st_size, 4096);
	CU_ASSERT_EQUAL(st.st_nlink, 0);
	pshm_close(fd, NULL);
}

static void test_iter_lists_segments_with_their_stat(void)
{
	char prefix[128], sem_name[160];
	const char *names[3];
	bool seen[3] = { false, false, false };
	struct pshm_iter *it;
	const char *name;
	struct stat st;
	sem_t *sem;
	int fds[3], r, total = 0;

	snprintf(prefix, sizeof(prefix), "%slist-", test_name_prefix());
	for (int i = 0; i < 3; i++) {
		char tag[32];

		snprintf(tag, sizeof(tag), "list-%d", i);
		names[i] = strdup(test_unique_name(tag));
		fds[i] = create(names[i], 0600);
		pshm_truncate(fds[i], 1000 * (i + 1), NULL);
	}
	/* A named semaphore lives in the same directory: not a segment. */
	snprintf(sem_name, sizeof(sem_name), "/%ssem", test_name_prefix());
	sem = sem_open(sem_name, O_CREAT | O_EXCL, 0600, 1);
	CU_ASSERT_FATAL(sem != SEM_FAILED);
	CU_ASSERT_EQUAL(pshm_stat_name(sem_name + 1, &st, NULL), -ENOENT);

	CU_ASSERT_FATAL(pshm_iter_open(test_name_prefix(), &it, NULL) == 0);
	CU_ASSERT(pshm_iter_fd(it) >= 0);
	while ((r = pshm_iter_next(it, &name, &st, NULL)) > 0) {
		total++;
		for (int i = 0; i < 3; i++) {
			if (strcmp(name, names[i]) != 0)
				continue;
			seen[i] = true;
			CU_ASSERT_EQUAL(pshm_iter_ino(it), st.st_ino);
			CU_ASSERT_EQUAL(st.st_size, 1000 * (i + 1));
			CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
		}
		CU_ASSERT(strncmp(name, "sem.", 4) != 0);
	}
	CU_ASSERT_EQUAL(r, 0);
	pshm_iter_free(it);
	CU_ASSERT_EQUAL(total, 3);

	/* Without a stat: the same names, and inode numbers from the directory. */
	total = 0;
	CU_ASSERT_FATAL(pshm_iter_open(test_name_prefix(), &it, NULL) == 0);
	while ((r = pshm_iter_next(it, &name, NULL, NULL)) > 0) {
		total++;
		CU_ASSERT_EQUAL(pshm_stat_name(name, &st, NULL), 0);
		CU_ASSERT_EQUAL(pshm_iter_ino(it), st.st_ino);
	}
	pshm_iter_free(it);
	CU_ASSERT_EQUAL(total, 3);
	CU_ASSERT(seen[0] && seen[1] && seen[2]);
	pshm_iter_free(NULL);

	sem_close(sem);
	sem_unlink(sem_name);
	for (int i = 0; i < 3; i++) {
		destroy(names[i], fds[i]);
		free((char *)names[i]);
	}
	CU_ASSERT_EQUAL(count_with_prefix(test_name_prefix()), 0);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_open_applies_mode_exactly_under_umask),
		TEST(test_open_ex_tells_who_created),
		TEST(test_open_leading_slash_is_optional),
		TEST(test_open_exclusive_reports_eexist),
		TEST(test_open_missing_reports_enoent),
		TEST(test_open_refuses_non_segments_without_blocking),
		TEST(test_open_leaves_no_nonblocking_flag),
		TEST(test_open_rejects_bad_names),
		TEST(test_open_rejects_bad_flags_and_mode),
		TEST(test_every_open_is_close_on_exec),
		TEST(test_anon_is_gone_from_namespace),
		TEST(test_anon_rejects_zero_attempts_and_bad_prefix),
		TEST(test_anon_retries_on_existing_names),
		TEST(test_child_sees_parent_writes),
		TEST(test_read_protection_refuses_writes),
		TEST(test_map_rejects_bad_arguments),
		TEST(test_stat_chmod_chown_truncate_utimens),
		TEST(test_unlinked_segment_stays_usable),
		TEST(test_iter_lists_segments_with_their_stat),
		TEST_END,
	};
	int status;

	if (argc == 3 && strcmp(argv[1], "--child-map") == 0)
		return child_map(argv[2]);
	if (argc == 3 && strcmp(argv[1], "--child-check-closed") == 0)
		return child_check_closed(argv[2]);
	if (test_isolate_shm(64 << 20))
		printf("running in a private mount namespace with its own /dev/shm\n");
	status = test_run_suite("segments", cases);
	if (count_with_prefix(test_name_prefix()) != 0) {
		fprintf(stderr, "segments named %s* were left behind\n", test_name_prefix());
		status = 1;
	}
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs through a real mount: every operation done through the mount is
 * checked against the same operation done directly on /dev/shm. Runs as root
 * in a private mount namespace with its own tmpfs on /dev/shm.
 */
#include <CUnit/CUnit.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"
#include "pshm.h"
#include "testutil.h"

#define NOBODY 65534

static const char *daemon_path;
static struct test_mount mnt;

static const char *shm(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, PATH_MAX, PSHM_DIR "/%s", name);
	return p;
}

static const char *in_mnt(const char *name)
{
	return mount_path(&mnt, name);
}

/* The errno of a call that returns < 0 on failure, or 0. */
static int errno_of(long r)
{
	return r < 0 ? errno : 0;
}

static void make_segment(const char *name, off_t size, mode_t mode)
{
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, mode, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(pshm_truncate(fd, size, NULL) == 0);
	pshm_close(fd, NULL);
}

static void remove_segment(const char *name)
{
	CU_ASSERT_EQUAL(pshm_unlink(name, NULL), 0);
}

static void assert_same_stat(const char *through_mount, const char *direct)
{
	struct stat a, b;

	CU_ASSERT_FATAL(stat(through_mount, &a) == 0);
	CU_ASSERT_FATAL(stat(direct, &b) == 0);
	CU_ASSERT_EQUAL(a.st_ino, b.st_ino);
	CU_ASSERT_EQUAL(a.st_mode, b.st_mode);
	CU_ASSERT_EQUAL(a.st_nlink, b.st_nlink);
	CU_ASSERT_EQUAL(a.st_uid, b.st_uid);
	CU_ASSERT_EQUAL(a.st_gid, b.st_gid);
	CU_ASSERT_EQUAL(a.st_size, b.st_size);
	CU_ASSERT_EQUAL(a.st_blocks, b.st_blocks);
	CU_ASSERT_EQUAL(a.st_mtim.tv_sec, b.st_mtim.tv_sec);
	CU_ASSERT_EQUAL(a.st_mtim.tv_nsec, b.st_mtim.tv_nsec);
	CU_ASSERT_EQUAL(a.st_ctim.tv_sec, b.st_ctim.tv_sec);
	CU_ASSERT_EQUAL(a.st_ctim.tv_nsec, b.st_ctim.tv_nsec);
	CU_ASSERT_EQUAL(a.st_atim.tv_sec, b.st_atim.tv_sec);
	CU_ASSERT_EQUAL(a.st_atim.tv_nsec, b.st_atim.tv_nsec);
}

/*
 * Sorted names of a directory, as one "a b c" string, without "." and "..";
 * for a mount (skip_control) without its own .ctl and .anon; for /dev/shm
 * without semaphores.
 */
static char *list_dir(const char *dir, bool skip_control)
{
	struct dirent **entries;
	size_t len = 1;
	char *out;
	int n = scandir(dir, &entries, NULL, alphasort);

	if (n < 0)
		return strdup("<error>");
	for (int i = 0; i < n; i++)
		len += strlen(entries[i]->d_name) + 1;
	out = calloc(1, len);
	for (int i = 0; i < n; i++) {
		const char *name = entries[i]->d_name;

		static const char *const own[] = { ".ctl",  ".anon",        ".deleted", ".memfd",
						   ".sysv", ".shared-anon", ".hugetlb" };
		bool control = false;

		for (size_t j = 0; j < sizeof(own) / sizeof(own[0]); j++)
			control |= strcmp(name, own[j]) == 0;

		if (strcmp(name, ".") && strcmp(name, "..") &&
		    !(skip_control ? control : strncmp(name, "sem.", 4) == 0)) {
			if (*out)
				strcat(out, " ");
			strcat(out, name);
		}
		free(entries[i]);
	}
	free(entries);
	return out;
}

static void assert_same_listing(void)
{
	char *a = list_dir(mnt.dir, true), *b = list_dir(PSHM_DIR, false);

	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
}

/* Runs fn(arg) in a child as uid/gid `NOBODY`; returns what fn returned (an errno). */
static void test_listing_and_stat_match_dev_shm(void)
{
	sem_t *sem;

	make_segment("alpha", 0, 0600);
	make_segment("beta", 12345, 0640);
	make_segment("gamma", 1 << 20, 0444);
	/* A named semaphore lives in /dev/shm too, and is hidden. */
	sem = sem_open("/hidden", O_CREAT | O_EXCL, 0600, 1);
	CU_ASSERT_FATAL(sem != SEM_FAILED);
	assert_same_listing();
	assert_same_stat(in_mnt("alpha"), shm("alpha"));
	assert_same_stat(in_mnt("beta"), shm("beta"));
	assert_same_stat(in_mnt("gamma"), shm("gamma"));
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("sem.hidden"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("missing"), F_OK)), ENOENT);
	sem_close(sem);
	sem_unlink("/hidden");
	remove_segment("alpha");
	remove_segment("beta");
	remove_segment("gamma");
	assert_same_listing();
}

static void test_stat_of_root_matches_dev_shm(void)
{
	struct stat a, b;
	struct statvfs sa, sb;

	CU_ASSERT_FATAL(stat(mnt.dir, &a) == 0 && stat(PSHM_DIR, &b) == 0);
	CU_ASSERT_EQUAL(a.st_mode, b.st_mode);
	CU_ASSERT_EQUAL(a.st_uid, b.st_uid);
	CU_ASSERT_FATAL(statvfs(mnt.dir, &sa) == 0 && statvfs(PSHM_DIR, &sb) == 0);
	CU_ASSERT_EQUAL(sa.f_bsize, sb.f_bsize);
	CU_ASSERT_EQUAL(sa.f_blocks, sb.f_blocks);
	CU_ASSERT_EQUAL(sa.f_bfree, sb.f_bfree);
	CU_ASSERT_EQUAL(sa.f_files, sb.f_files);
}

static void test_create_applies_mode_like_shm_open(void)
{
	mode_t old = umask(027);
	int a = open(in_mnt("created"), O_RDWR | O_CREAT | O_EXCL, 0666);
	int b = open(shm("native"), O_RDWR | O_CREAT | O_EXCL, 0666);

	CU_ASSERT(a >= 0 && b >= 0);
	CU_ASSERT_EQUAL(errno_of(open(in_mnt("created"), O_RDWR | O_CREAT | O_EXCL, 0666)), EEXIST);
	umask(old);
	struct stat sa, sb;
	CU_ASSERT(stat(shm("created"), &sa) == 0 && stat(shm("native"), &sb) == 0);
	CU_ASSERT_EQUAL(sa.st_mode, sb.st_mode);
	CU_ASSERT_EQUAL(sa.st_mode & 0777, 0640);
	CU_ASSERT_EQUAL(sa.st_uid, 0);
	assert_same_stat(in_mnt("created"), shm("created"));
	/* O_CREAT on an existing segment opens it and keeps its mode. */
	int c = open(in_mnt("created"), O_RDWR | O_CREAT, 0600);
	CU_ASSERT(c >= 0);
	CU_ASSERT(stat(shm("created"), &sa) == 0 && (sa.st_mode & 0777) == 0640);
	close(a);
	close(b);
	close(c);
	/* touch, as a harness would: mknod-less create and utimens */
	CU_ASSERT_EQUAL(mknod(in_mnt("noded"), S_IFREG | 0600, 0), 0);
	CU_ASSERT(stat(shm("noded"), &sa) == 0 && S_ISREG(sa.st_mode));
	CU_ASSERT_EQUAL(errno_of(mknod(in_mnt("noded"), S_IFREG | 0600, 0)), EEXIST);
	remove_segment("created");
	remove_segment("native");
	remove_segment("noded");
}

static void test_chmod_chown_truncate_utimens_reach_the_segment(void)
{
	const struct timespec times[2] = { { 1000000000, 123 }, { 1100000000, 456 } };
	int fd;

	make_segment("attrs", 100, 0600);
	CU_ASSERT_EQUAL(chmod(in_mnt("attrs"), 0604), 0);
	CU_ASSERT_EQUAL(chown(in_mnt("attrs"), NOBODY, NOBODY), 0);
	CU_ASSERT_EQUAL(truncate(in_mnt("attrs"), 5000), 0);
	CU_ASSERT_EQUAL(utimensat(AT_FDCWD, in_mnt("attrs"), times, 0), 0);
	struct stat st;
	CU_ASSERT_FATAL(stat(shm("attrs"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0604);
	CU_ASSERT_EQUAL(st.st_uid, NOBODY);
	CU_ASSERT_EQUAL(st.st_gid, NOBODY);
	CU_ASSERT_EQUAL(st.st_size, 5000);
	CU_ASSERT_EQUAL(st.st_mtim.tv_sec, 1100000000);
	CU_ASSERT_EQUAL(st.st_mtim.tv_nsec, 456);
	CU_ASSERT_EQUAL(st.st_atim.tv_sec, 1000000000);
	assert_same_stat(in_mnt("attrs"), shm("attrs"));

	/* Through an open file: ftruncate, fchmod, futimens(NULL) = now. */
	fd = open(in_mnt("attrs"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 77), 0);
	CU_ASSERT_EQUAL(fchmod(fd, 0600), 0);
	CU_ASSERT_EQUAL(futimens(fd, NULL), 0);
	CU_ASSERT(stat(shm("attrs"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_size, 77);
	CU_ASSERT_EQUAL(st.st_mode & 07777, 0600);
	CU_ASSERT(st.st_mtim.tv_sec > 1100000000);
	assert_same_stat(in_mnt("attrs"), shm("attrs"));
	close(fd);
	remove_segment("attrs");
}

static void fill(char *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + seed) % 26);
}

static void test_write_and_read_reach_the_segment(void)
{
	static char out[300000], in[300000];
	int fd, direct;

	fill(out, sizeof(out), 1);
	fd = open(in_mnt("data"), O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, out, sizeof(out)), (ssize_t)sizeof(out));
	direct = open(shm("data"), O_RDONLY);
	CU_ASSERT_EQUAL(pread(direct, in, sizeof(in), 0), (ssize_t)sizeof(in));
	CU_ASSERT(memcmp(in, out, sizeof(out)) == 0);

	/* Writing past the end grows the segment with zeros, like a file. */
	CU_ASSERT_EQUAL(pwrite(fd, "end", 3, 400000), 3);
	struct stat st;
	CU_ASSERT(fstat(direct, &st) == 0 && st.st_size == 400003);
	memset(in, 'x', 100);
	CU_ASSERT_EQUAL(pread(fd, in, 100, 350000), 100);
	CU_ASSERT_EQUAL(in[0], 0);
	CU_ASSERT_EQUAL(in[99], 0);
	CU_ASSERT_EQUAL(pread(fd, in, 10, 400000), 3);
	CU_ASSERT(memcmp(in, "end", 3) == 0);
	CU_ASSERT_EQUAL(pread(fd, in, 10, 500000), 0);
	close(fd);
	close(direct);

	/* O_TRUNC on open ("> file"), and O_APPEND (">> file") at the real end. */
	fd = open(in_mnt("data"), O_WRONLY | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(stat(shm("data"), &st) == 0 && st.st_size == 0);
	CU_ASSERT_EQUAL(write(fd, "one\n", 4), 4);
	close(fd);
	fd = open(in_mnt("data"), O_WRONLY | O_APPEND);
	direct = open(shm("data"), O_RDWR);
	CU_ASSERT_EQUAL(pwrite(direct, "two\n", 4, 4), 4); /* behind the mount's back */
	CU_ASSERT_EQUAL(write(fd, "six\n", 4), 4);
	close(fd);
	CU_ASSERT_EQUAL(pread(direct, in, sizeof(in), 0), 12);
	CU_ASSERT(memcmp(in, "one\ntwo\nsix\n", 12) == 0);
	close(direct);
	remove_segment("data");
}

static void test_unlink_removes_the_name(void)
{
	make_segment("doomed", 10, 0600);
	CU_ASSERT_EQUAL(unlink(in_mnt("doomed")), 0);
	CU_ASSERT_EQUAL(errno_of(access(shm("doomed"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(unlink(in_mnt("doomed"))), ENOENT);
	CU_ASSERT_EQUAL(errno_of(unlink(shm("doomed"))), ENOENT);
}

static void test_unlinked_open_file_stays_usable(void)
{
	char buf[16] = "";
	struct stat st;
	int fd;

	make_segment("ghost", 0, 0600);
	fd = open(in_mnt("ghost"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(unlink(in_mnt("ghost")), 0);
	CU_ASSERT_EQUAL(errno_of(access(shm("ghost"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(write(fd, "still here", 10), 10);
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 10);
	CU_ASSERT_EQUAL(st.st_nlink, 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 5), 0);
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 5);
	CU_ASSERT_EQUAL(pread(fd, buf, sizeof(buf), 0), 5);
	CU_ASSERT(memcmp(buf, "still", 5) == 0);
	/* A new segment under the same name is a different one. */
	make_segment("ghost", 99, 0600);
	CU_ASSERT_EQUAL(fstat(fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_size, 5);
	CU_ASSERT(stat(in_mnt("ghost"), &st) == 0 && st.st_size == 99);
	close(fd);
	remove_segment("ghost");
}

/* ls -l through the mount: readdir, then stat every entry, so the kernel caches their names. */
static void list_long(void)
{
	DIR *dir = opendir(mnt.dir);
	struct dirent *de;
	struct stat st;

	CU_ASSERT_FATAL(dir != NULL);
	while ((de = readdir(dir)))
		CU_ASSERT(fstatat(dirfd(dir), de->d_name, &st, 0) == 0);
	closedir(dir);
}

static void make_segment_with(const char *name, const char *content)
{
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	pshm_close(fd, NULL);
}

static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

/*
 * The kernel keeps the entries of names it has seen (ls -l, stat, open);
 * every use of a name must still show what /dev/shm holds under it now.
 */
static void test_cached_names_follow_removal_and_replacement_behind_the_mount(void)
{
	char buf[16] = "";
	struct stat st;
	int fd;

	make_segment_with("gone", "old");
	make_segment_with("swapped", "old");
	list_long();
	CU_ASSERT_EQUAL(stat(in_mnt("gone"), &st), 0);

	/* Removed behind the mount: every call by path says ENOENT. */
	remove_segment("gone");
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("gone"), &st)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("gone"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(open(in_mnt("gone"), O_RDONLY)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(truncate(in_mnt("gone"), 1)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(chmod(in_mnt("gone"), 0644)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(getxattr(in_mnt("gone"), "user.shmfs.path", buf, sizeof(buf))),
			ENOENT);
	CU_ASSERT_EQUAL(errno_of(listxattr(in_mnt("gone"), buf, sizeof(buf))), ENOENT);
	CU_ASSERT_EQUAL(errno_of(unlink(in_mnt("gone"))), ENOENT);
	CU_ASSERT_EQUAL(errno_of(access(shm("gone"), F_OK)), ENOENT);
	/* ... and O_CREAT makes a new one. */
	fd = open(in_mnt("gone"), O_RDWR | O_CREAT, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(ino_of(in_mnt("gone")), ino_of(shm("gone")));
	remove_segment("gone");

	/* Replaced behind the mount: every call by path reaches the new segment. */
	remove_segment("swapped");
	make_segment_with("swapped", "new one");
	CU_ASSERT_EQUAL(ino_of(in_mnt("swapped")), ino_of(shm("swapped")));
	assert_same_stat(in_mnt("swapped"), shm("swapped"));
	list_long();
	remove_segment("swapped");
	make_segment_with("swapped", "newer");
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("swapped"), R_OK | W_OK)), 0);
	CU_ASSERT_EQUAL(truncate(in_mnt("swapped"), 3), 0);
	CU_ASSERT(stat(shm("swapped"), &st) == 0 && st.st_size == 3);
	CU_ASSERT_EQUAL(chmod(in_mnt("swapped"), 0640), 0);
	CU_ASSERT(stat(shm("swapped"), &st) == 0 && (st.st_mode & 0777) == 0640);
	remove_segment("swapped");
	make_segment_with("swapped", "newest");
	fd = open(in_mnt("swapped"), O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, buf, sizeof(buf)), 6);
	CU_ASSERT(memcmp(buf, "newest", 6) == 0);
	close(fd);
	remove_segment("swapped");
}

static void test_cached_names_follow_renames_and_links_behind_the_mount(void)
{
	struct stat st;

	/* Renamed in /dev/shm: the old name is gone, the new one is the same segment. */
	make_segment_with("before", "data");
	list_long();
	CU_ASSERT_EQUAL(rename(shm("before"), shm("after")), 0);
	CU_ASSERT_EQUAL(ino_of(in_mnt("after")), ino_of(shm("after")));
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("before"), &st)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("before"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(ino_of(in_mnt("after")), ino_of(shm("after")));
	CU_ASSERT_EQUAL(rename(shm("after"), shm("before")), 0);
	CU_ASSERT_EQUAL(ino_of(in_mnt("before")), ino_of(shm("before")));
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("after"), &st)), ENOENT);

	/* Linked in /dev/shm (tmpfs allows it): both names work until one goes. */
	CU_ASSERT_EQUAL(link(shm("before"), shm("linked")), 0);
	list_long();
	CU_ASSERT_EQUAL(ino_of(in_mnt("linked")), ino_of(shm("before")));
	CU_ASSERT_EQUAL(ino_of(in_mnt("before")), ino_of(shm("before")));
	remove_segment("before");
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("before"), &st)), ENOENT);
	CU_ASSERT_EQUAL(ino_of(in_mnt("linked")), ino_of(shm("linked")));
	CU_ASSERT(stat(in_mnt("linked"), &st) == 0 && st.st_nlink == 1 && st.st_size == 4);
	remove_segment("linked");
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("linked"), &st)), ENOENT);
}

/* A file open through the mount answers fstat; the path still means what /dev/shm says. */
static void test_open_file_and_path_part_when_replaced_behind_the_mount(void)
{
	struct stat st;
	ino_t first;
	int fd;

	make_segment("held", 11, 0600);
	list_long();
	first = ino_of(shm("held"));
	fd = open(in_mnt("held"), O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	remove_segment("held");
	make_segment("held", 22, 0600);
	CU_ASSERT(stat(in_mnt("held"), &st) == 0 && st.st_size == 22 &&
		  st.st_ino == ino_of(shm("held")));
	CU_ASSERT(fstat(fd, &st) == 0 && st.st_size == 11 && st.st_ino == first &&
		  st.st_nlink == 0);
	remove_segment("held");
	CU_ASSERT_EQUAL(errno_of(stat(in_mnt("held"), &st)), ENOENT);
	CU_ASSERT(fstat(fd, &st) == 0 && st.st_size == 11);
	close(fd);
}

/* rename(2) is renameat2 in /dev/shm: the same segment under the new name, atomically. */
static void test_rename_moves_the_segment_itself(void)
{
	ino_t before;
	char *map;
	int fd;

	make_segment_with("old", "first");
	make_segment_with("target", "second");
	before = ino_of(shm("old"));
	fd = pshm_open("old", O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(pshm_map(fd, NULL, 4096, PROT_READ | PROT_WRITE, 0, (void **)&map, NULL) ==
			0);
	CU_ASSERT_EQUAL(stat(in_mnt("old"), &(struct stat){ 0 }), 0); /* a cached name */
	CU_ASSERT_EQUAL(rename(in_mnt("old"), in_mnt("target")), 0);
	CU_ASSERT_EQUAL(ino_of(shm("target")), before);
	CU_ASSERT_EQUAL(errno_of(access(shm("old"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(access(in_mnt("old"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(ino_of(in_mnt("target")), before);
	/* The holder's mapping is the renamed segment. */
	memcpy(map, "moved", 5);
	char text[8] = "";
	int through = open(in_mnt("target"), O_RDONLY);
	CU_ASSERT_FATAL(through >= 0);
	CU_ASSERT_EQUAL(read(through, text, sizeof(text)), 5);
	CU_ASSERT_EQUAL(memcmp(text, "moved", 5), 0);
	close(through);
	/* The kernel's flags: no replace, and exchange. */
	make_segment_with("other", "third");
	CU_ASSERT_EQUAL(errno_of(renameat2(AT_FDCWD, in_mnt("target"), AT_FDCWD, in_mnt("other"),
					   RENAME_NOREPLACE)),
			EEXIST);
	CU_ASSERT_EQUAL(ino_of(shm("target")), before);
	CU_ASSERT_EQUAL(
		renameat2(AT_FDCWD, in_mnt("target"), AT_FDCWD, in_mnt("other"), RENAME_EXCHANGE),
		0);
	CU_ASSERT_EQUAL(ino_of(shm("other")), before);
	CU_ASSERT_EQUAL(ino_of(in_mnt("other")), before);
	CU_ASSERT_EQUAL(errno_of(rename(in_mnt("nothing"), in_mnt("else"))), ENOENT);
	assert_same_listing();
	pshm_unmap(map, 4096, NULL);
	close(fd);
	remove_segment("target");
	remove_segment("other");
}

static void test_flat_namespace_refuses_dirs_and_links(void)
{
	make_segment("plain", 1, 0600);
	CU_ASSERT_EQUAL(errno_of(mkdir(in_mnt("dir"), 0700)), EPERM);
	CU_ASSERT_EQUAL(errno_of(symlink("plain", in_mnt("sym"))), EPERM);
	CU_ASSERT_EQUAL(errno_of(link(in_mnt("plain"), in_mnt("hard"))), EPERM);
	CU_ASSERT_EQUAL(errno_of(mknod(in_mnt("fifo"), S_IFIFO | 0600, 0)), EPERM);
	CU_ASSERT_EQUAL(errno_of(rename(in_mnt("plain"), in_mnt(".anon/moved"))), EXDEV);
	CU_ASSERT_EQUAL(errno_of(rename(in_mnt("plain"), in_mnt(".ctl"))), EBUSY);
	CU_ASSERT_EQUAL(errno_of(rmdir(in_mnt("plain"))), ENOTDIR);
	CU_ASSERT_EQUAL(errno_of(rmdir(in_mnt("nothing"))), ENOENT);
	CU_ASSERT_EQUAL(errno_of(open(in_mnt("plain/x"), O_RDONLY)), ENOTDIR);
	CU_ASSERT_EQUAL(errno_of(access(shm("plain"), F_OK)), 0);
	assert_same_listing();
	remove_segment("plain");
}

static void test_names_shm_cannot_hold_get_the_kernel_errno(void)
{
	char longest[256], too_long[257];

	memset(longest, 'n', 255);
	longest[255] = '\0';
	memset(too_long, 'n', 256);
	too_long[256] = '\0';
	CU_ASSERT_EQUAL(errno_of(open(in_mnt(too_long), O_RDWR | O_CREAT, 0600)),
			errno_of(open(shm(too_long), O_RDWR | O_CREAT, 0600)));
	CU_ASSERT_EQUAL(errno_of(open(in_mnt(too_long), O_RDWR | O_CREAT, 0600)), ENAMETOOLONG);
	CU_ASSERT_EQUAL(errno_of(access(in_mnt(too_long), F_OK)), ENAMETOOLONG);
	CU_ASSERT_EQUAL(errno_of(unlink(in_mnt(too_long))), ENAMETOOLONG);
	int fd = open(in_mnt(longest), O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	assert_same_stat(in_mnt(longest), shm(longest));
	CU_ASSERT_EQUAL(unlink(in_mnt(longest)), 0);
	/* A segment named sem.* would be hidden: refused. */
	CU_ASSERT_EQUAL(errno_of(open(in_mnt("sem.x"), O_RDWR | O_CREAT, 0600)), EINVAL);
	CU_ASSERT_EQUAL(errno_of(access(shm("sem.x"), F_OK)), ENOENT);
}

static void test_writes_through_own_mmap_are_seen_at_once(void)
{
	char buf[64];
	struct stat st;
	char *map;
	int reader, writer;

	make_segment("live", 4096, 0600);
	reader = open(in_mnt("live"), O_RDONLY);
	CU_ASSERT_FATAL(reader >= 0);
	CU_ASSERT_EQUAL(pread(reader, buf, 5, 0), 5); /* zeros, and now "cached" */
	writer = pshm_open("live", O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(
		pshm_map(writer, NULL, 8192, PROT_READ | PROT_WRITE, 0, (void **)&map, NULL) == 0);
	/* No write(2): stores through another process's mapping. */
	for (int round = 0; round < 3; round++) {
		snprintf(map, 64, "round %d", round);
		CU_ASSERT_EQUAL(pread(reader, buf, 7, 0), 7);
		CU_ASSERT(memcmp(buf, map, 7) == 0);
	}
	/* Grown and shrunk behind the mount: the open file sees the size now. */
	CU_ASSERT_EQUAL(ftruncate(writer, 8192), 0);
	memcpy(map + 8000, "tail", 4);
	CU_ASSERT(fstat(reader, &st) == 0 && st.st_size == 8192);
	CU_ASSERT_EQUAL(pread(reader, buf, 64, 8000), 64);
	CU_ASSERT(memcmp(buf, "tail", 4) == 0);
	CU_ASSERT_EQUAL(ftruncate(writer, 100), 0);
	CU_ASSERT(fstat(reader, &st) == 0 && st.st_size == 100);
	CU_ASSERT(stat(in_mnt("live"), &st) == 0 && st.st_size == 100);
	CU_ASSERT_EQUAL(pread(reader, buf, 64, 90), 10);
	CU_ASSERT_EQUAL(pread(reader, buf, 64, 8000), 0);
	pshm_unmap(map, 8192, NULL);
	close(writer);
	close(reader);
	remove_segment("live");
}

struct shrinker {
	volatile bool stop;
	int fd;
	unsigned rounds;
};

static void *shrink_loop(void *arg)
{
	struct shrinker *s = arg;
	static char pattern[1 << 20];

	memset(pattern, 0xAB, sizeof(pattern));
	while (!s->stop) {
		size_t size = (size_t)(rand() % (1 << 20));

		(void)!ftruncate(s->fd, 0);
		(void)!pwrite(s->fd, pattern, size, 0);
		s->rounds++;
	}
	return NULL;
}

static void test_reads_survive_a_segment_shrinking_under_them(void)
{
	static char buf[1 << 20];
	struct shrinker s = { .stop = false };
	pthread_t thread;
	struct timespec start, now;
	unsigned reads = 0, bad = 0;
	int reader;

	make_segment("shrinking", 1 << 20, 0600);
	s.fd = pshm_open("shrinking", O_RDWR, 0, NULL);
	reader = open(in_mnt("shrinking"), O_RDONLY);
	CU_ASSERT_FATAL(s.fd >= 0 && reader >= 0);
	CU_ASSERT_FATAL(pthread_create(&thread, NULL, shrink_loop, &s) == 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		ssize_t n = pread(reader, buf, sizeof(buf), (reads % 4) * 4096);

		if (n < 0) {
			bad++;
		} else {
			for (ssize_t i = 0; i < n; i++)
				if ((unsigned char)buf[i] != 0xAB && buf[i] != 0) {
					bad++;
					break;
				}
		}
		reads++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < 2);
	s.stop = true;
	pthread_join(thread, NULL);
	printf("\n    %u reads while the segment was resized %u times\n    ", reads, s.rounds);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(reads > 10 && s.rounds > 10);
	CU_ASSERT(mount_alive(&mnt));
	struct stat st;
	CU_ASSERT_EQUAL(fstat(reader, &st), 0);
	close(reader);
	close(s.fd);
	remove_segment("shrinking");
}

static void test_reading_a_sparse_segment_allocates_nothing(void)
{
	static char through[4 << 20], direct[4 << 20];
	struct stat before, after;
	int fd, native;

	make_segment("sparse", 4 << 20, 0600);
	native = pshm_open("sparse", O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(native >= 0);
	/* Data in a few places, holes elsewhere. */
	CU_ASSERT_EQUAL(pwrite(native, "head", 4, 0), 4);
	CU_ASSERT_EQUAL(pwrite(native, "middle", 6, (2 << 20) + 4090), 6);
	CU_ASSERT_EQUAL(pwrite(native, "tail", 4, (4 << 20) - 4), 4);
	CU_ASSERT_EQUAL(fstat(native, &before), 0);
	fd = open(in_mnt("sparse"), O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(read(fd, through, sizeof(through)), (ssize_t)sizeof(through));
	CU_ASSERT_EQUAL(pread(native, direct, sizeof(direct), 0), (ssize_t)sizeof(direct));
	CU_ASSERT(memcmp(through, direct, sizeof(direct)) == 0);
	CU_ASSERT_EQUAL(fstat(native, &after), 0);
	CU_ASSERT_EQUAL(after.st_blocks, before.st_blocks); /* no page allocated by reading */
	assert_same_stat(in_mnt("sparse"), shm("sparse"));
	close(fd);
	close(native);
	remove_segment("sparse");
}

/* Whether this run turned passthrough off (the suite runs in both modes). */
static bool passthrough_turned_off(void)
{
	const char *options = getenv("SHMFS_TEST_OPTIONS");

	return options && strstr(options, "passthrough=off");
}

static bool passthrough_on(void)
{
	char status[160] = "";

	return mount_passthrough(&mnt, status, sizeof(status)) == 0 && strcmp(status, "on") == 0;
}

static void test_passthrough_is_on_where_the_kernel_offers_it(void)
{
	char status[160] = "";
	int fd;

	make_segment("backed", 4096, 0600);
	fd = open(in_mnt("backed"), O_RDWR); /* registers the segment as a backing file */
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "data", 4, 0), 4);
	CU_ASSERT_FATAL(mount_passthrough(&mnt, status, sizeof(status)) == 0);
	if (passthrough_turned_off()) {
		CU_ASSERT_STRING_EQUAL(status, "off: -o passthrough=off");
	} else if (strncmp(status, "off: the kernel does not offer it", 33) == 0) {
		printf("(%s) ", status); /* Linux before 6.9, or without CONFIG_FUSE_PASSTHROUGH */
	} else {
		CU_ASSERT_STRING_EQUAL(status, "on"); /* root may register backing files */
	}
	close(fd);
	remove_segment("backed");
}

/*
 * With passthrough a shared mapping through the mount is the segment's own
 * pages, both ways, and outlives the descriptor; without it the kernel
 * refuses (ENODEV), as a coherent daemon-served file cannot be mapped.
 * Private mappings work either way.
 */
static void test_shared_mmap_through_the_mount(void)
{
	char back[8] = "";
	char *p, *q;
	int fd, native;

	make_segment("mapped", 8192, 0600);
	native = pshm_open("mapped", O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(native >= 0);
	fd = open(in_mnt("mapped"), O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "snap", 4), 4);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!passthrough_on()) {
		CU_ASSERT(p == MAP_FAILED && errno == ENODEV);
	} else {
		CU_ASSERT_FATAL(p != MAP_FAILED);
		close(fd);
		fd = -1;
		memcpy(p + 4096, "mine", 4);
		CU_ASSERT_EQUAL(pread(native, back, 4, 4096), 4);
		CU_ASSERT(memcmp(back, "mine", 4) == 0);
		CU_ASSERT_EQUAL(pwrite(native, "theirs", 6, 10), 6);
		CU_ASSERT(memcmp(p + 10, "theirs", 6) == 0);
		munmap(p, 8192);
		/* A file created through the mount (CREATE, not OPEN) maps the same way. */
		int made = open(in_mnt("made"), O_RDWR | O_CREAT | O_EXCL, 0600);
		CU_ASSERT_FATAL(made >= 0);
		CU_ASSERT_EQUAL(ftruncate(made, 4096), 0);
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, made, 0);
		CU_ASSERT_FATAL(p != MAP_FAILED);
		memcpy(p, "made", 4);
		int direct = pshm_open("made", O_RDONLY, 0, NULL);
		CU_ASSERT(direct >= 0 && pread(direct, back, 4, 0) == 4 &&
			  memcmp(back, "made", 4) == 0);
		close(direct);
		munmap(p, 4096);
		close(made);
		remove_segment("made");
	}
	if (fd < 0)
		fd = open(in_mnt("mapped"), O_RDONLY);
	q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	CU_ASSERT_FATAL(q != MAP_FAILED);
	CU_ASSERT(memcmp(q, "snap", 4) == 0);
	munmap(q, 4096);
	close(fd);
	close(native);
	remove_segment("mapped");
}

static void test_full_dev_shm_reports_enospc_and_keeps_data(void)
{
	static char chunk[64 * 1024], back[64 * 1024];
	off_t written = 0;
	ssize_t n = 0;
	int fd, err = 0, native;

	/* A 1 MiB tmpfs stacked on /dev/shm: the daemon sees it at once. */
	CU_ASSERT_FATAL(
		mount("tmpfs", PSHM_DIR, "tmpfs", MS_NOSUID | MS_NODEV, "size=1M,mode=1777") == 0);
	fill(chunk, sizeof(chunk), 3);
	fd = open(in_mnt("big"), O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	for (int i = 0; i < 40; i++) {
		n = write(fd, chunk, sizeof(chunk));
		if (n < 0) {
			err = errno;
			break;
		}
		written += n;
	}
	CU_ASSERT_EQUAL(err, ENOSPC);
	CU_ASSERT(written > 0 && written <= 1 << 20);
	/* The kernel says the same directly. */
	native = open(shm("native"), O_RDWR | O_CREAT, 0600);
	CU_ASSERT_EQUAL(errno_of(write(native, chunk, sizeof(chunk))), ENOSPC);
	close(native);
	unlink(shm("native"));
	/* Everything written before is intact. */
	for (off_t off = 0; off + (off_t)sizeof(back) <= written; off += sizeof(back)) {
		CU_ASSERT_EQUAL(pread(fd, back, sizeof(back), off), (ssize_t)sizeof(back));
		CU_ASSERT(memcmp(back, chunk, sizeof(chunk)) == 0);
	}
	/* Truncating past the limit is fine for tmpfs (sparse), as directly. */
	CU_ASSERT_EQUAL(errno_of(ftruncate(fd, 4 << 20)), 0);
	CU_ASSERT_EQUAL(ftruncate(fd, 0), 0);
	/* Space freed: writes work again. */
	CU_ASSERT_EQUAL(write(fd, chunk, sizeof(chunk)), (ssize_t)sizeof(chunk));
	close(fd);
	CU_ASSERT_EQUAL(unlink(in_mnt("big")), 0);
	CU_ASSERT(mount_alive(&mnt));
	/* The daemon lets go of the removed segment when the kernel forgets it: a moment. */
	int r;
	for (int i = 0; (r = umount2(PSHM_DIR, 0)) < 0 && errno == EBUSY && i < 200; i++)
		usleep(10000);
	CU_ASSERT_EQUAL(r, 0);
}

static void test_huge_sizes_and_offsets_behave_as_on_dev_shm(void)
{
	char c = 0;
	int fd, native;

	make_segment("huge", 0, 0600);
	fd = open(in_mnt("huge"), O_RDWR);
	native = pshm_open("huge", O_RDWR, 0, NULL);
	CU_ASSERT_FATAL(fd >= 0 && native >= 0);
	/* tmpfs is sparse: the largest off_t is a valid size, through the mount as directly. */
	CU_ASSERT_EQUAL(errno_of(ftruncate(fd, INT64_MAX)), errno_of(ftruncate(native, INT64_MAX)));
	CU_ASSERT_EQUAL(ftruncate(fd, 0), 0);
	CU_ASSERT_EQUAL(pwrite(fd, "x", 1, INT64_MAX - 1), 1);
	CU_ASSERT_EQUAL(pread(native, &c, 1, INT64_MAX - 1), 1);
	CU_ASSERT_EQUAL(c, 'x');
	c = 0;
	CU_ASSERT_EQUAL(pread(fd, &c, 1, INT64_MAX - 1), 1);
	CU_ASSERT_EQUAL(c, 'x');
	/* One byte past the largest offset. */
	ssize_t through = pwrite(fd, "yz", 2, INT64_MAX - 1);
	int through_errno = through < 0 ? errno : 0;
	ssize_t direct = pwrite(native, "yz", 2, INT64_MAX - 1);
	int direct_errno = direct < 0 ? errno : 0;
	CU_ASSERT_EQUAL(through, direct);
	CU_ASSERT_EQUAL(through_errno, direct_errno);
	CU_ASSERT_EQUAL(errno_of(pread(fd, &c, 1, INT64_MAX)),
			errno_of(pread(native, &c, 1, INT64_MAX)));
	close(fd);
	close(native);
	remove_segment("huge");
}

/* The operations a second user tries; each returns the errno it got. */
static int try_read(const void *path)
{
	int fd = open(path, O_RDONLY);

	return fd < 0 ? errno : (close(fd), 0);
}

static int try_write(const void *path)
{
	int fd = open(path, O_WRONLY);

	return fd < 0 ? errno : (close(fd), 0);
}

static int try_truncate(const void *path)
{
	return errno_of(truncate(path, 0));
}

static int try_chmod(const void *path)
{
	return errno_of(chmod(path, 0666));
}

static int try_unlink(const void *path)
{
	return errno_of(unlink(path));
}

static int try_stat(const void *path)
{
	struct stat st;

	return errno_of(stat(path, &st));
}

static int try_create(const void *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);

	if (fd < 0)
		return errno;
	if (write(fd, "mine", 4) != 4)
		return errno;
	return close(fd) < 0 ? errno : 0;
}

static void test_allow_other_checks_modes_and_owns_creations(void)
{
	static const char *const args[] = { "-o", "allow_other", NULL };
	int (*const refused[])(const void *) = { try_read, try_write, try_truncate, try_chmod,
						 try_unlink };
	struct test_mount other;
	char path[PATH_MAX];
	struct stat st;

	make_segment("private", 10, 0600);
	/* Without allow_other the mount is the daemon user's alone. */
	CU_ASSERT_EQUAL(test_as_nobody(try_stat, in_mnt("private")), EACCES);

	CU_ASSERT_FATAL(mount_start(&other, daemon_path, args) == 0);
	snprintf(path, sizeof(path), "%s/private", other.dir);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int through = test_as_nobody(refused[i], path),
		    direct = test_as_nobody(refused[i], shm("private"));

		CU_ASSERT_NOT_EQUAL(through, 0);
		CU_ASSERT_EQUAL(through, direct);
	}
	CU_ASSERT_EQUAL(test_as_nobody(try_stat, path), 0);
	CU_ASSERT(stat(shm("private"), &st) == 0 && st.st_size == 10 &&
		  (st.st_mode & 0777) == 0600);

	/* What the second user creates is theirs, as if they had called shm_open. */
	snprintf(path, sizeof(path), "%s/theirs", other.dir);
	CU_ASSERT_EQUAL(test_as_nobody(try_create, path), 0);
	CU_ASSERT_FATAL(stat(shm("theirs"), &st) == 0);
	CU_ASSERT_EQUAL(st.st_uid, NOBODY);
	CU_ASSERT_EQUAL(st.st_gid, NOBODY);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(st.st_size, 4);
	CU_ASSERT_EQUAL(test_as_nobody(try_unlink, path), 0);
	CU_ASSERT_EQUAL(errno_of(access(shm("theirs"), F_OK)), ENOENT);
	CU_ASSERT_EQUAL(mount_stop(&other), 0);
	remove_segment("private");
}

static void test_prefix_confines_the_mount(void)
{
	static const char *const args[] = { "-o", "prefix=app.", NULL };
	struct test_mount confined;
	char path[PATH_MAX];
	char *listing;
	int fd;

	make_segment("app.one", 1, 0600);
	make_segment("other", 2, 0600);
	make_segment("app.", 3, 0600);
	CU_ASSERT_FATAL(mount_start(&confined, daemon_path, args) == 0);
	listing = list_dir(confined.dir, true);
	CU_ASSERT_STRING_EQUAL(listing, "one");
	free(listing);
	snprintf(path, sizeof(path), "%s/one", confined.dir);
	assert_same_stat(path, shm("app.one"));
	snprintf(path, sizeof(path), "%s/other", confined.dir);
	CU_ASSERT_EQUAL(errno_of(access(path, F_OK)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(unlink(path)), ENOENT);
	CU_ASSERT_EQUAL(errno_of(truncate(path, 0)), ENOENT);
	snprintf(path, sizeof(path), "%s/two", confined.dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(errno_of(access(shm("app.two"), F_OK)), 0);
	CU_ASSERT_EQUAL(errno_of(access(shm("two"), F_OK)), ENOENT);
	/* The prefix counts against the name limit. */
	char name[256];
	memset(name, 'n', 252);
	name[252] = '\0';
	snprintf(path, sizeof(path), "%s/%s", confined.dir, name);
	CU_ASSERT_EQUAL(errno_of(open(path, O_RDWR | O_CREAT, 0600)), ENAMETOOLONG);
	CU_ASSERT_EQUAL(mount_stop(&confined), 0);
	CU_ASSERT_EQUAL(errno_of(access(shm("other"), F_OK)), 0);
	remove_segment("app.one");
	remove_segment("app.two");
	remove_segment("app.");
	remove_segment("other");
}

static void test_sigterm_with_files_open_exits_cleanly(void)
{
	struct test_mount m;
	char path[PATH_MAX];
	int fd;

	char status_line[160] = "", byte = 0;

	make_segment("held", 4096, 0600);
	CU_ASSERT_FATAL(mount_start(&m, daemon_path, NULL) == 0);
	snprintf(path, sizeof(path), "%s/held", m.dir);
	fd = open(path, O_RDWR);
	CU_ASSERT(fd >= 0);
	CU_ASSERT_EQUAL(mount_passthrough(&m, status_line, sizeof(status_line)), 0);
	CU_ASSERT_EQUAL(kill(m.pid, SIGTERM), 0);
	int status = mount_wait_exit(&m);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Served by the kernel from the segment, the open file outlives the daemon. */
	if (strcmp(status_line, "on") == 0) {
		CU_ASSERT_EQUAL(pwrite(fd, "k", 1, 7), 1);
		CU_ASSERT_EQUAL(pread(fd, &byte, 1, 7), 1);
		CU_ASSERT_EQUAL(byte, 'k');
		int direct = open(shm("held"), O_RDONLY);

		byte = 0;
		CU_ASSERT(direct >= 0 && pread(direct, &byte, 1, 7) == 1 && byte == 'k');
		close(direct);
	} else {
		CU_ASSERT_EQUAL(pread(fd, &byte, 1, 7), -1);
	}
	close(fd);
	CU_ASSERT_EQUAL(errno_of(access(shm("held"), F_OK)), 0);
	remove_segment("held");
}

static void test_cache_mode_serves_and_allows_shared_mmap(void)
{
	static const char *const args[] = { "-o", "cache=on,cache_timeout=0.5", NULL };
	struct test_mount cached;
	char path[PATH_MAX];
	char buf[8] = "";
	struct stat st;
	void *p;
	int fd;

	make_segment("cached", 4096, 0600);
	CU_ASSERT_FATAL(mount_start(&cached, daemon_path, args) == 0);
	snprintf(path, sizeof(path), "%s/cached", cached.dir);
	fd = open(path, O_RDWR);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(pwrite(fd, "cache", 5, 0), 5);
	CU_ASSERT_EQUAL(pread(fd, buf, 5, 0), 5);
	CU_ASSERT(memcmp(buf, "cache", 5) == 0);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	CU_ASSERT(p != MAP_FAILED);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	/* Removed behind the cache's back: O_CREAT through the mount still creates it. */
	CU_ASSERT(stat(path, &st) == 0);
	remove_segment("cached");
	fd = open(path, O_RDWR | O_CREAT, 0600);
	CU_ASSERT(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(errno_of(access(shm("cached"), F_OK)), 0);
	CU_ASSERT_EQUAL(mount_stop(&cached), 0);
	remove_segment("cached");
}

static void test_many_open_files_past_the_default_soft_limit(void)
{
	struct rlimit limit;
	int fds[2000], count, opened = 0;

	/* The daemon was started with a soft limit of 1024 (mount_suite_main). */
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &limit) == 0);
	if (limit.rlim_max < 1200) {
		printf("\n    (hard descriptor limit %lu: too low to try)\n    ",
		       (unsigned long)limit.rlim_max);
		return;
	}
	limit.rlim_cur = limit.rlim_max;
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &limit) == 0);
	count = limit.rlim_max - 100 < 2000 ? (int)limit.rlim_max - 100 : 2000;
	make_segment("many", 4096, 0600);
	for (int i = 0; i < count; i++) {
		fds[i] = open(in_mnt("many"), O_RDONLY);
		if (fds[i] < 0)
			break;
		opened++;
	}
	CU_ASSERT_EQUAL(opened, count);
	for (int i = 0; i < opened; i++)
		close(fds[i]);
	remove_segment("many");
}

static void test_nothing_left_behind(void)
{
	char *listing = list_dir(PSHM_DIR, false);

	CU_ASSERT_STRING_EQUAL(listing, "");
	free(listing);
}

int main(int argc, char **argv)
{
	static const struct test_case cases[] = {
		TEST(test_listing_and_stat_match_dev_shm),
		TEST(test_stat_of_root_matches_dev_shm),
		TEST(test_create_applies_mode_like_shm_open),
		TEST(test_chmod_chown_truncate_utimens_reach_the_segment),
		TEST(test_write_and_read_reach_the_segment),
		TEST(test_unlink_removes_the_name),
		TEST(test_unlinked_open_file_stays_usable),
		TEST(test_cached_names_follow_removal_and_replacement_behind_the_mount),
		TEST(test_cached_names_follow_renames_and_links_behind_the_mount),
		TEST(test_rename_moves_the_segment_itself),
		TEST(test_open_file_and_path_part_when_replaced_behind_the_mount),
		TEST(test_flat_namespace_refuses_dirs_and_links),
		TEST(test_names_shm_cannot_hold_get_the_kernel_errno),
		TEST(test_writes_through_own_mmap_are_seen_at_once),
		TEST(test_reads_survive_a_segment_shrinking_under_them),
		TEST(test_reading_a_sparse_segment_allocates_nothing),
		TEST(test_passthrough_is_on_where_the_kernel_offers_it),
		TEST(test_shared_mmap_through_the_mount),
		TEST(test_full_dev_shm_reports_enospc_and_keeps_data),
		TEST(test_huge_sizes_and_offsets_behave_as_on_dev_shm),
		TEST(test_allow_other_checks_modes_and_owns_creations),
		TEST(test_prefix_confines_the_mount),
		TEST(test_sigterm_with_files_open_exits_cleanly),
		TEST(test_cache_mode_serves_and_allows_shared_mmap),
		TEST(test_many_open_files_past_the_default_soft_limit),
		TEST(test_nothing_left_behind),
		TEST_END,
	};
	return mount_suite_main(argc, argv, "shmfs", cases, 64 << 20, &mnt, &daemon_path);
}

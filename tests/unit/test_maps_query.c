/* SPDX-License-Identifier: MIT */
/*
 * A process's mappings asked of the kernel one at a time (PROCMAP_QUERY,
 * Linux 6.11+) against the text of /proc/PID/maps that older kernels give
 * only: the same lines for every file-backed mapping, and the same objects
 * and holders from a scan either way (the text as the fallback is forced,
 * pshm_set_maps_query).
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maps_i.h"
#include "process_i.h"
#include "pshm.h"
#include "pshm_i.h"
#include "testutil.h"

#define PAGE_BYTES 4096

/* A hugetlbfs mount of this test's own mount namespace, or "" when there is none. */
static char huge_dir[64];

/* Maps fd whole (shared unless private) at a page of its own: false when it cannot. */
static bool map(int fd, size_t size, int prot, bool private)
{
	return fd >= 0 &&
	       mmap(NULL, size, prot, (private ? MAP_PRIVATE : MAP_SHARED), fd, 0) != MAP_FAILED;
}

/* A named or unlinked file of PSHM_DIR of one page, mapped; false when it cannot be made. */
static bool map_shm_file(const char *name, bool unlink_it, int prot)
{
	char path[128];
	int fd;
	bool ok;

	snprintf(path, sizeof(path), PSHM_DIR "/%s", name);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ok = fd >= 0 && ftruncate(fd, PAGE_BYTES) == 0 && map(fd, PAGE_BYTES, prot, false);
	if (fd >= 0)
		close(fd);
	return ok && (!unlink_it || unlink(path) == 0);
}

/*
 * A child mapping one of each kind and the names that read like others'
 * (a file named "... (deleted)", a newline in a memfd's name, a private
 * mapping of a memfd and of /dev/zero, an executable one, huge pages when
 * the kernel lets it map them unreserved); waits until killed.
 */
static int every_kind_setup(const void *arg)
{
	int shmid = shmget(IPC_PRIVATE, PAGE_BYTES, IPC_CREAT | 0600);
	bool ok = shmid >= 0 && shmat(shmid, NULL, SHM_RDONLY) != (void *)-1 &&
		  shmctl(shmid, IPC_RMID, NULL) == 0; /* gone with the child */
	int fd;

	/* Gone with the test, even one a failed assertion ended. */
	ok = ok && prctl(PR_SET_PDEATHSIG, SIGKILL) == 0;
	ok = ok && map_shm_file("query-named", false, PROT_READ | PROT_WRITE);
	ok = ok && map_shm_file("query-exec", false, PROT_READ | PROT_EXEC);
	ok = ok && map_shm_file("query-gone", true, PROT_READ);
	ok = ok && map_shm_file("query-odd (deleted)", false, PROT_READ);
	ok = ok && map_shm_file("query-odder (deleted)", true, PROT_READ);
	fd = memfd_create("query\nline", 0);
	ok = ok && fd >= 0 && ftruncate(fd, 2 * PAGE_BYTES) == 0 &&
	     map(fd, 2 * PAGE_BYTES, PROT_READ, true) && map(fd, PAGE_BYTES, PROT_READ, false);
	if (fd >= 0)
		close(fd); /* named by its mappings alone */
	fd = memfd_create("query-exec", 0);
	ok = ok && fd >= 0 && ftruncate(fd, PAGE_BYTES) == 0 &&
	     map(fd, PAGE_BYTES, PROT_READ | PROT_EXEC, false);
	ok = ok &&
	     mmap(NULL, PAGE_BYTES, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0) != MAP_FAILED;
	ok = ok && map(open("/dev/zero", O_RDONLY | O_CLOEXEC), PAGE_BYTES, PROT_READ, true);
	ok = ok && map(open("/dev/zero", O_RDONLY | O_CLOEXEC), PAGE_BYTES, PROT_READ, false);
	/* Huge pages, none of them allocated: only where the kernel maps them so. */
	fd = memfd_create("query-huge", MFD_HUGETLB);
	if (fd >= 0 && ftruncate(fd, 2 << 20) == 0)
		(void)mmap(NULL, 2 << 20, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (huge_dir[0]) {
		char file[96];

		snprintf(file, sizeof(file), "%s/file", huge_dir);
		fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0 && ftruncate(fd, 2 << 20) == 0)
			(void)mmap(NULL, 2 << 20, PROT_READ, MAP_SHARED | MAP_NORESERVE, fd, 0);
	}
	return ok ? 0 : -1;
}

static pid_t hold_every_kind(void)
{
	return test_child_ready(every_kind_setup, NULL);
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static bool every_device(const struct pshm_scan *s, dev_t dev)
{
	(void)s;
	(void)dev;
	return true;
}

/* One mapping's fields, as one line of text to compare. */
static void field_line(const struct maps_line *m, char *buf, size_t size)
{
	snprintf(buf, size, "%llx-%llx %s %llx %x:%x %llu %s", m->start, m->end, m->perms,
		 m->offset, m->major_no, m->minor_no, m->inode, m->path);
}

/*
 * Every file-backed mapping (a device: anonymous memory has none) of a
 * process asked of the kernel has the fields of its line of the text, the
 * path as maps escapes it; the kernel without the query says so.
 */
static void test_query_lines_are_the_texts(void)
{
	pid_t pid = hold_every_kind();
	struct pshm_scan *s = objects_scan_new();
	char path[64], *text, *asked, *line, *end, *next;
	size_t lines = 0;
	ssize_t len, n;
	int fd;

	CU_ASSERT_FATAL(s != NULL);
	snprintf(path, sizeof(path), "/proc/%ld/maps", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	len = process_query_maps(s, fd, every_device);
	if (len == -ENOTTY || len == -EINVAL) {
		printf("\n    this kernel has no PROCMAP_QUERY: nothing to compare");
		close(fd);
		pshm_scan_free(s);
		stop(pid);
		return;
	}
	CU_ASSERT_FATAL(len > 0);
	asked = strdup(s->buf);
	text = malloc(1 << 20);
	CU_ASSERT_FATAL(asked && text);
	/* The kernel fills a read with whole lines, a page of them at most. */
	for (len = 0; (n = read(fd, text + len, (size_t)((1 << 20) - 1 - len))) > 0;)
		len += n;
	CU_ASSERT_FATAL(n == 0 && len > 0 && len < (1 << 20) - 1);
	text[len] = '\0';
	close(fd);
	next = asked;
	for (line = text; *line; line = end + 1) {
		struct maps_line m, q;
		char want[8192], got[8192];

		end = strchr(line, '\n');
		CU_ASSERT_FATAL(end != NULL);
		*end = '\0';
		CU_ASSERT_FATAL(maps_parse_line(line, &m));
		if (!m.major_no && !m.minor_no)
			continue;
		field_line(&m, want, sizeof(want));
		CU_ASSERT_FATAL(*next);
		*strchr(next, '\n') = '\0';
		CU_ASSERT_FATAL(maps_parse_line(next, &q));
		next += strlen(next) + 1;
		field_line(&q, got, sizeof(got));
		CU_ASSERT_STRING_EQUAL(got, want);
		if (strcmp(got, want) != 0)
			printf("\n    text:  %s\n    asked: %s", want, got);
		lines++;
	}
	CU_ASSERT_EQUAL(*next, '\0');
	CU_ASSERT(lines >= 12);
	free(text);
	free(asked);
	pshm_scan_free(s);
	stop(pid);
}

/*
 * A scan of every kind as text: each object pid holds, its identity and
 * status, and pid's holds of it (other processes of the machine come and
 * go between two scans).
 */
static char *describe_scan(pid_t pid)
{
	const struct pshm_object *o;
	struct pshm_scan *scan;
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(pshm_scan_open(PSHM_KIND_ALL, NULL, &scan, NULL) == 0);
	while (pshm_scan_next(scan, &o) > 0) {
		bool held = false;

		for (size_t i = 0; i < o->holder_count; i++)
			held |= o->holders[i].pid == pid;
		if (!held)
			continue;
		fprintf(f, "%u %u %s size %lld blocks %lld mode %o %u:%u ino %ju nlink %ju path %s",
			o->kind, o->made_as, o->name, (long long)o->st.st_size,
			(long long)o->st.st_blocks, o->st.st_mode, o->st.st_uid, o->st.st_gid,
			(uintmax_t)o->st.st_ino, (uintmax_t)o->st.st_nlink, o->path);
		fprintf(f, " shmid %d key %x nattch %lu exec %d page %llu ns %llu\n", o->shmid,
			(unsigned)o->key, o->nattch, o->exec_mapped, o->page_size, o->ipc_ns);
		for (size_t i = 0; i < o->holder_count; i++) {
			const struct pshm_holder *h = &o->holders[i];

			if (h->pid == pid)
				fprintf(f, "  %d %llu %u %s fd %d %llx-%llx %s\n", h->pid,
					h->start_time, h->uid, h->comm, h->fd, h->start, h->end,
					h->perms);
		}
	}
	pshm_scan_free(scan);
	CU_ASSERT_FATAL(fclose(f) == 0);
	return text;
}

/*
 * A scan of every kind finds the same objects and holders whether it asks
 * the kernel for the mappings (where it can) or reads their text.
 */
static void test_scans_by_query_and_by_text_agree(void)
{
	pid_t pid = hold_every_kind();
	char *asked, *read_whole;

	asked = describe_scan(pid);
	pshm_set_maps_query(false);
	read_whole = describe_scan(pid);
	pshm_set_maps_query(true);
	CU_ASSERT_STRING_EQUAL(asked, read_whole);
	if (strcmp(asked, read_whole) != 0)
		printf("\n    asked:\n%s\n    read whole:\n%s", asked, read_whole);
	/* What the child holds was found, names that read like others' too. */
	CU_ASSERT_PTR_NOT_NULL(strstr(asked, "query%0Aline@"));
	CU_ASSERT_PTR_NOT_NULL(strstr(asked, " query-odd (deleted) size"));
	CU_ASSERT_PTR_NOT_NULL(strstr(asked, "query-odder%20(deleted)@"));
	CU_ASSERT_PTR_NOT_NULL(strstr(asked, "query-gone@"));
	free(asked);
	free(read_whole);
	stop(pid);
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_query_lines_are_the_texts),
		TEST(test_scans_by_query_and_by_text_agree),
		TEST_END,
	};
	int status;

	if (geteuid() != 0) {
		printf("SKIP: needs root to read map_files, a private IPC namespace and a mount\n");
		return 77;
	}
	if (unshare(CLONE_NEWIPC) < 0) {
		perror("unshare(CLONE_NEWIPC)");
		return 1;
	}
	test_isolate_shm(64 << 20);
	/* In the private mount namespace test_isolate_shm made: gone with it. */
	snprintf(huge_dir, sizeof(huge_dir), "/tmp/pshm-maps-query-XXXXXX");
	if (!mkdtemp(huge_dir) || mount("maps-query", huge_dir, "hugetlbfs", 0, NULL) < 0) {
		if (huge_dir[0] != '/' || rmdir(huge_dir) == 0)
			printf("no hugetlbfs mount: %s\n", strerror(errno));
		huge_dir[0] = '\0';
	}
	status = test_run_suite("maps-query", cases);
	if (huge_dir[0] && umount2(huge_dir, MNT_DETACH) == 0)
		rmdir(huge_dir);
	return status;
}

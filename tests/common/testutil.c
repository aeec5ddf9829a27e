/* SPDX-License-Identifier: MIT */
/* Helpers shared by the CUnit suites: running a suite, isolation, unique names. */
#include <CUnit/Basic.h>
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

int test_run_suite(const char *suite_name, const struct test_case *cases)
{
	CU_pSuite suite;
	unsigned failures;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		goto fail;
	for (const struct test_case *c = cases; c->name; c++)
		if (!CU_add_test(suite, c->name, c->fn))
			goto fail;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
fail:
	fprintf(stderr, "%s: CUnit setup failed: %s\n", suite_name, CU_get_error_msg());
	CU_cleanup_registry();
	return 1;
}

bool test_isolate_shm(size_t size)
{
	char options[64];

	if (geteuid() != 0)
		return false;
	snprintf(options, sizeof(options), "size=%zu,mode=1777", size);
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, options) < 0) {
		fprintf(stderr, "cannot isolate /dev/shm in a private mount namespace: %s\n",
			strerror(errno));
		exit(1);
	}
	return true;
}

const char *test_name_prefix(void)
{
	static char prefix[64];

	if (!prefix[0])
		snprintf(prefix, sizeof(prefix), "pshmtest-%ld-", (long)getpid());
	return prefix;
}

const char *test_unique_name(const char *tag)
{
	static char names[8][128];
	static unsigned counter;
	char *name = names[counter % 8];

	snprintf(name, sizeof(names[0]), "%s%u-%s", test_name_prefix(), counter, tag);
	counter++;
	return name;
}

int test_as_user(uid_t uid, gid_t gid, int (*fn)(const void *), const void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
			_exit(255);
		umask(022);
		_exit(fn(arg));
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_FATAL(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int test_as_nobody(int (*fn)(const void *), const void *arg)
{
	return test_as_user(TEST_NOBODY, TEST_NOBODY, fn, arg);
}

long test_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

pid_t test_child_ready(int (*setup)(const void *arg), const void *arg)
{
	int ready[2];
	pid_t pid;
	char c;

	CU_ASSERT_FATAL(pipe(ready) == 0);
	fflush(NULL);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		if (setup(arg) < 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		for (;;)
			pause();
	}
	close(ready[1]);
	CU_ASSERT_FATAL(read(ready[0], &c, 1) == 1);
	close(ready[0]);
	return pid;
}

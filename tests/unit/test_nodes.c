/* SPDX-License-Identifier: MIT */
/*
 * The daemon's node table without a mount: lookups and forgets, open
 * files keeping a node, identity checks by name, the name index, keepers.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon_i.h"
#include "nodes_table_i.h" /* white box: the references the kernel holds */
#include "passthrough_i.h"
#include "testutil.h"

/* A daemon made as shmfs makes it (daemon.c), with no session and no mount. */
static struct shmfs *fs;

static int make(const char *name)
{
	int fd = pshm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, NULL);

	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static struct stat stat_of(const char *name)
{
	struct stat st;

	CU_ASSERT_FATAL(pshm_stat_name(name, &st, NULL) == 0);
	return st;
}

/* A handle as the daemon makes one: its descriptor charged to uid 0. */
static struct handle *open_handle(const char *name)
{
	int fd = pshm_open(name, O_RDONLY, 0, NULL);
	struct handle *h;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(limits_take(fs, 0, LIMIT_FDS, 1) == 0);
	h = handle_new(fd, O_RDONLY, 0);
	CU_ASSERT_FATAL(h != NULL);
	return h;
}

static void test_lookups_share_a_node_until_forgotten(void)
{
	const char *name = test_unique_name("look");
	int fd = make(name);
	struct stat st = stat_of(name);
	struct node *a, *b;
	size_t before = nodes_count(fs);

	a = nodes_get(fs, name, 0, &st, 1);
	b = nodes_get(fs, name, 0, &st, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_EQUAL(a, b);
	CU_ASSERT_EQUAL(a->nlookup, 3);
	CU_ASSERT_EQUAL(nodes_count(fs), before + 1);
	nodes_forget(fs, a, 2);
	CU_ASSERT_EQUAL(nodes_count(fs), before + 1);
	nodes_forget(fs, a, 1);
	CU_ASSERT_EQUAL(nodes_count(fs), before);
	close(fd);
	pshm_unlink(name, NULL);
}

static void test_stat_checks_the_name_still_means_the_node(void)
{
	const char *name = test_unique_name("ident");
	int fd = make(name), again;
	struct stat st = stat_of(name), now;
	struct node *node = nodes_get(fs, name, 0, &st, 1);

	CU_ASSERT_EQUAL(nodes_stat(fs, node, &now), 0);
	CU_ASSERT_EQUAL(now.st_ino, st.st_ino);
	CU_ASSERT_EQUAL(nodes_check_name(fs, name), 0);
	/* Replaced behind the table's back: another segment under the same name. */
	close(fd);
	pshm_unlink(name, NULL);
	again = make(name);
	CU_ASSERT_EQUAL(nodes_stat(fs, node, &now), -ESTALE);
	CU_ASSERT_EQUAL(nodes_open(fs, node, O_RDONLY), -ESTALE);
	CU_ASSERT_EQUAL(nodes_check_name(fs, name), -ESTALE);
	/* Gone altogether. */
	close(again);
	pshm_unlink(name, NULL);
	CU_ASSERT_EQUAL(nodes_stat(fs, node, &now), -ENOENT);
	CU_ASSERT_EQUAL(nodes_open(fs, node, O_RDONLY), -ENOENT);
	nodes_forget(fs, node, 1);
}

static void test_an_open_file_keeps_the_node_and_its_segment(void)
{
	const char *name = test_unique_name("open");
	int fd = make(name), reopened;
	struct stat st = stat_of(name), now;
	struct node *node = nodes_get(fs, name, 0, &st, 1);
	struct handle *h = open_handle(name);
	size_t before = nodes_count(fs);
	int held_fd = h->fd;

	nodes_attach(fs, node, h);
	CU_ASSERT_EQUAL(h->node, node);
	nodes_forget(fs, node, 1); /* the kernel forgot it; the open file has not */
	CU_ASSERT_EQUAL(nodes_count(fs), before);
	close(fd);
	pshm_unlink(name, NULL);
	/* Unlinked: stat and reopening go through the open file. */
	CU_ASSERT_EQUAL(nodes_stat(fs, node, &now), 0);
	CU_ASSERT_EQUAL(now.st_ino, st.st_ino);
	CU_ASSERT_EQUAL(now.st_nlink, 0);
	reopened = nodes_open(fs, node, O_RDWR);
	CU_ASSERT(reopened >= 0);
	close(reopened);
	CU_ASSERT_EQUAL(limits_held(fs, 0, LIMIT_FDS), 1);
	nodes_release(fs, node, h, NULL);
	CU_ASSERT_EQUAL(nodes_count(fs), before - 1);
	/* Torn down: its descriptor closed, its charge given back. */
	CU_ASSERT_EQUAL(fcntl(held_fd, F_GETFD), -1);
	CU_ASSERT_EQUAL(limits_held(fs, 0, LIMIT_FDS), 0);
}

static void test_a_kept_segment_outlives_its_unlink(void)
{
	const char *name = test_unique_name("keep");
	int fd = make(name);
	struct stat st = stat_of(name), now;
	struct node *node = nodes_get(fs, name, 0, &st, 1);

	/* An unlink that fails keeps nothing. */
	nodes_kept(fs, nodes_keep(fs, name, 0), false);
	CU_ASSERT_EQUAL(limits_held(fs, 0, LIMIT_FDS), 0);
	nodes_kept(fs, nodes_keep(fs, name, 0), true);
	CU_ASSERT_EQUAL(limits_held(fs, 0, LIMIT_FDS), 1);
	close(fd);
	CU_ASSERT_EQUAL(pshm_unlink(name, NULL), 0);
	CU_ASSERT_EQUAL(nodes_stat(fs, node, &now), 0);
	CU_ASSERT_EQUAL(now.st_ino, st.st_ino);
	fd = nodes_open(fs, node, O_RDONLY);
	CU_ASSERT(fd >= 0);
	close(fd);
	nodes_forget(fs, node, 1);
	CU_ASSERT_EQUAL(limits_held(fs, 0, LIMIT_FDS), 0); /* the keeper went with the node */
}

static void test_the_name_index_follows_renames(void)
{
	const char *from = test_unique_name("from"), *to = test_unique_name("to");
	char path_from[PATH_MAX], path_to[PATH_MAX], name[PSHM_NAME_MAX + 1];
	int fd = make(from);
	struct stat st = stat_of(from);
	struct node *node = nodes_get(fs, from, 0, &st, 1);
	uint64_t anon_id;

	snprintf(path_from, sizeof(path_from), PSHM_DIR "/%s", from);
	snprintf(path_to, sizeof(path_to), PSHM_DIR "/%s", to);
	CU_ASSERT_FATAL(rename(path_from, path_to) == 0);
	nodes_renamed(fs, from, to);
	nodes_identity(fs, node, name, &anon_id);
	CU_ASSERT_STRING_EQUAL(name, to);
	CU_ASSERT_EQUAL(anon_id, 0);
	CU_ASSERT_EQUAL(nodes_check_name(fs, to), 0);
	CU_ASSERT_EQUAL(nodes_check_name(fs, from), 0); /* nobody claims it any more */
	nodes_forget(fs, node, 1);
	close(fd);
	pshm_unlink(to, NULL);
}

/* After an exchange both names are claimed by the nodes they now mean, and checked. */
static void test_the_name_index_follows_an_exchange(void)
{
	const char *a = test_unique_name("xa"), *b = test_unique_name("xb");
	char path_a[PATH_MAX], path_b[PATH_MAX];
	int fa = make(a), fb = make(b), again;
	struct stat sa = stat_of(a), sb = stat_of(b);
	struct node *na = nodes_get(fs, a, 0, &sa, 1), *nb = nodes_get(fs, b, 0, &sb, 1);
	struct stat now;

	snprintf(path_a, sizeof(path_a), PSHM_DIR "/%s", a);
	snprintf(path_b, sizeof(path_b), PSHM_DIR "/%s", b);
	CU_ASSERT_FATAL(renameat2(AT_FDCWD, path_a, AT_FDCWD, path_b, RENAME_EXCHANGE) == 0);
	nodes_exchanged(fs, a, b);
	CU_ASSERT_EQUAL(nodes_stat(fs, na, &now), 0);
	CU_ASSERT_EQUAL(now.st_ino, sa.st_ino);
	CU_ASSERT_EQUAL(nodes_check_name(fs, a), 0);
	CU_ASSERT_EQUAL(nodes_check_name(fs, b), 0);
	/* b now means na's segment: replaced behind the table's back, the claim notices. */
	close(fa);
	pshm_unlink(b, NULL);
	again = make(b);
	CU_ASSERT_EQUAL(nodes_check_name(fs, b), -ESTALE);
	nodes_forget(fs, na, 1);
	nodes_forget(fs, nb, 1);
	close(fb);
	close(again);
	pshm_unlink(a, NULL);
	pshm_unlink(b, NULL);
}

static void test_no_backing_id_without_passthrough(void)
{
	const char *name = test_unique_name("backing");
	int fd = make(name);
	struct stat st = stat_of(name);
	struct node *node = nodes_get(fs, name, 0, &st, 1);

	CU_ASSERT_FALSE(passthrough_active(fs));
	CU_ASSERT_EQUAL(nodes_backing_get(fs, node, fd, NULL), 0);
	nodes_forget(fs, node, 1);
	close(fd);
	pshm_unlink(name, NULL);
}

/* Forgetting more than was looked up is a bug: it asserts (builds with assertions). */
static void test_forgetting_too_much_asserts(void)
{
#ifdef NDEBUG
	printf("(assertions are off in this build) ");
#else
	const char *name = test_unique_name("under");
	int fd = make(name), status;
	struct stat st = stat_of(name);
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct node *node = nodes_get(fs, name, 0, &st, 1);

		signal(SIGABRT, SIG_DFL);
		nodes_forget(fs, node, 2);
		_exit(0);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	close(fd);
	pshm_unlink(name, NULL);
#endif
}

int main(void)
{
	static const struct test_case cases[] = {
		TEST(test_lookups_share_a_node_until_forgotten),
		TEST(test_stat_checks_the_name_still_means_the_node),
		TEST(test_an_open_file_keeps_the_node_and_its_segment),
		TEST(test_a_kept_segment_outlives_its_unlink),
		TEST(test_the_name_index_follows_renames),
		TEST(test_the_name_index_follows_an_exchange),
		TEST(test_no_backing_id_without_passthrough),
		TEST(test_forgetting_too_much_asserts),
		TEST_END,
	};
	struct limits_config limits = {
		.user_fds = 16, .anon_max = 1, .ctl_max = 1, .fd_ceiling = 1024
	};
	int status;

	if (test_isolate_shm(16 << 20))
		printf("running in a private mount namespace with its own /dev/shm\n");
	if (shmfs_new(&(struct shmfs_config){ .prefix = "", .limits = limits }, &fs) < 0)
		return 1;
	status = test_run_suite("node table", cases);
	shmfs_free(fs);
	return status;
}

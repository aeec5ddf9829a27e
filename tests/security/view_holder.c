/* SPDX-License-Identifier: MIT */
/*
 * A holder for the views' tests (test_views): "view_holder TAG DUMPABLE
 * [RUID EUID SUID]". Optionally takes the three uids (and the gids
 * 4242, no groups: it must start as root for that), sets its dumpable
 * flag (0, 1, or "keep"), then creates a memfd TAG-memfd (mode 0777, as
 * memfd_create makes it), a page of MAP_SHARED|MAP_ANONYMOUS memory and
 * a memfd TAG-private (fchmod 0600), each holding "secret-TAG". Prints
 * one line on stdout:
 *   PID RUID EUID SUID RGID EGID DUMPABLE MEMFD_FD MEMFD_INO ANON_INO PRIVATE_FD PRIVATE_INO
 * then holds them until its stdin ends (60 s at most). Exits 125 when a
 * step fails. Installed set-uid and set-gid at run time: no sanitizer.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE 4096
#define HOLDER_GID 4242

/* The inode of the mapping that starts at addr, from /proc/self/maps; 0 when not found. */
static unsigned long mapping_inode(const void *addr)
{
	char line[512];
	unsigned long start, inode, found = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%*x %*s %*s %*s %lu", &start, &inode) == 2 &&
		    start == (unsigned long)addr)
			found = inode;
	fclose(f);
	return found;
}

/* A memfd called name with secret at offset 0, of mode: its descriptor and inode, or -1. */
static int make_memfd(const char *name, const char *secret, mode_t mode, unsigned long *ret_ino)
{
	int fd = memfd_create(name, 0);
	struct stat st;

	if (fd < 0 || ftruncate(fd, PAGE) < 0 ||
	    pwrite(fd, secret, strlen(secret), 0) != (ssize_t)strlen(secret) ||
	    fchmod(fd, mode) < 0 || fstat(fd, &st) < 0)
		return -1;
	*ret_ino = st.st_ino;
	return fd;
}

int main(int argc, char **argv)
{
	char name[64], secret[64], byte;
	unsigned long memfd_ino, private_ino, anon_ino;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	int memfd, private_fd;
	void *anon;

	if (argc != 3 && argc != 6)
		return 2;
	alarm(60);
	if (argc == 6 &&
	    (setgroups(0, NULL) < 0 || setresgid(HOLDER_GID, HOLDER_GID, HOLDER_GID) < 0 ||
	     setresuid((uid_t)atol(argv[3]), (uid_t)atol(argv[4]), (uid_t)atol(argv[5])) < 0))
		return 125;
	/* A change of effective uid made it undumpable: the caller says what it must be. */
	if (strcmp(argv[2], "keep") != 0 && prctl(PR_SET_DUMPABLE, atol(argv[2])) < 0)
		return 125;
	snprintf(secret, sizeof(secret), "secret-%s", argv[1]);
	snprintf(name, sizeof(name), "%s-memfd", argv[1]);
	memfd = make_memfd(name, secret, 0777, &memfd_ino);
	snprintf(name, sizeof(name), "%s-private", argv[1]);
	private_fd = make_memfd(name, secret, 0600, &private_ino);
	anon = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (memfd < 0 || private_fd < 0 || anon == MAP_FAILED)
		return 125;
	memcpy(anon, secret, strlen(secret));
	anon_ino = mapping_inode(anon);
	if (!anon_ino || getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0)
		return 125;
	printf("%ld %u %u %u %u %u %d %d %lu %lu %d %lu\n", (long)getpid(), ruid, euid, suid, rgid,
	       egid, prctl(PR_GET_DUMPABLE), memfd, memfd_ino, anon_ino, private_fd, private_ino);
	if (fflush(stdout) != 0)
		return 125;
	while (read(STDIN_FILENO, &byte, 1) > 0)
		;
	return 0;
}

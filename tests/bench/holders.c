/* SPDX-License-Identifier: MIT */
/*
 * The inventory benchmark's population: forks N processes, each holding
 * four shared memory objects: a /dev/shm segment unlinked while mapped, a
 * memfd open and mapped, a memfd only mapped (its descriptor closed), and
 * a shared anonymous mapping; each object has one page written. Prints
 * "ready N" once all hold theirs, then waits for SIGTERM or SIGINT and
 * takes them all down.
 *
 * usage: shmfs-bench-holders N
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define OBJECT_SIZE 65536

static void *map_fd(int fd)
{
	char *p;

	if (ftruncate(fd, OBJECT_SIZE) < 0)
		return NULL;
	p = mmap(NULL, OBJECT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	p[0] = 1;
	return p;
}

/* The child's four objects; 0, or -1 with errno. */
static int hold(int i)
{
	char name[64];
	char *anon;
	int fd;

	snprintf(name, sizeof(name), "/dev/shm/bench-inventory-%d", i);
	fd = open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || !map_fd(fd) || unlink(name) < 0 || close(fd) < 0)
		return -1;
	fd = memfd_create("bench-open", MFD_CLOEXEC);
	if (fd < 0 || !map_fd(fd))
		return -1;
	fd = memfd_create("bench-mapped", MFD_CLOEXEC);
	if (fd < 0 || !map_fd(fd) || close(fd) < 0)
		return -1;
	anon = mmap(NULL, OBJECT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return -1;
	anon[0] = 1;
	return 0;
}

int main(int argc, char **argv)
{
	int n = argc == 2 ? atoi(argv[1]) : 0, ready[2], sig;
	pid_t *pids;
	sigset_t stop;
	char c;

	if (n <= 0) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_BLOCK, &stop, NULL); /* until sigwait; the children unblock */
	pids = calloc((size_t)n, sizeof(*pids));
	if (!pids || pipe(ready) < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] < 0) {
			perror("fork");
			n = i;
			break;
		}
		if (pids[i] == 0) {
			sigprocmask(SIG_UNBLOCK, &stop, NULL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(ready[0]);
			if (hold(i) < 0) {
				perror("hold");
				_exit(1);
			}
			c = 'y';
			if (write(ready[1], &c, 1) != 1)
				_exit(1);
			close(ready[1]);
			pause();
			_exit(0);
		}
	}
	close(ready[1]);
	for (int i = 0; i < n; i++)
		if (read(ready[0], &c, 1) != 1) {
			fprintf(stderr, "a holder failed\n");
			break;
		}
	printf("ready %d\n", n);
	fflush(stdout);
	/* Until told to stop, the population stays. */
	sigwait(&stop, &sig);
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	free(pids);
	return 0;
}

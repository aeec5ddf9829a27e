/* SPDX-License-Identifier: MIT */
/* pshm-demo: a tour of libpshm on a real segment, used by the README's Quick start. */
#include <pshm.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const struct pshm_error *err)
{
	char text[512];

	pshm_strerror(err, text, sizeof(text));
	fprintf(stderr, "pshm-demo: %s\n", text);
	return 1;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "pshm-demo";
	char flags_text[128], mode_text[128];
	struct pshm_error err;
	struct pshm_iter *it;
	const char *entry;
	struct stat st;
	mode_t mode;
	void *map;
	int oflags, prot, fd, anon;

	if (pshm_parse_oflags("read-write,create,exclusive", &oflags, &err) < 0 ||
	    pshm_parse_mode("read-user,write-user,read-group", &mode, &err) < 0 ||
	    pshm_parse_prot("read,write", &prot, &err) < 0)
		return fail(&err);
	pshm_format_oflags(oflags, flags_text, sizeof(flags_text));
	pshm_format_mode(mode, mode_text, sizeof(mode_text));
	printf("open /%s with %s, mode %s (0%o)\n", name, flags_text, mode_text, mode);

	fd = pshm_open(name, oflags, mode, &err);
	if (fd < 0)
		return fail(&err);
	if (pshm_truncate(fd, 4096, &err) < 0 || pshm_map(fd, NULL, 4096, prot, 0, &map, &err) < 0)
		return fail(&err);
	snprintf(map, 4096, "written through a MAP_SHARED mapping by pid %ld", (long)getpid());

	/* Another process opens the same segment by name and sees the bytes. */
	fflush(stdout);
	if (fork() == 0) {
		int child_fd = pshm_open(name, O_RDONLY, 0, NULL);
		char buf[80] = "";

		if (child_fd >= 0)
			pread(child_fd, buf, sizeof(buf) - 1, 0);
		printf("child %ld reads: %s\n", (long)getpid(), buf);
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);

	if (pshm_iter_open("pshm-", &it, &err) < 0)
		return fail(&err);
	while (pshm_iter_next(it, &entry, &st, NULL) > 0) {
		pshm_format_mode(st.st_mode & 0777, mode_text, sizeof(mode_text));
		printf("listed: %s, %lld bytes, %s\n", entry, (long long)st.st_size, mode_text);
	}
	pshm_iter_free(it);

	pshm_unmap(map, 4096, NULL);
	pshm_close(fd, NULL);
	if (pshm_unlink(name, &err) < 0)
		return fail(&err);
	printf("unlinked /%s\n", name);

	anon = pshm_open_anon(NULL, O_RDWR, 0600, PSHM_ANON_ATTEMPTS, &err);
	if (anon < 0)
		return fail(&err);
	pshm_stat(anon, &st, NULL);
	printf("anonymous segment: fd %d, %lu links, inode %lu\n", anon, (unsigned long)st.st_nlink,
	       (unsigned long)st.st_ino);
	pshm_close(anon, NULL);

	/* What an error looks like. */
	if (pshm_parse_oflags("read-write,rwdr", &oflags, &err) < 0) {
		char text[256];

		pshm_strerror(&err, text, sizeof(text));
		printf("a typo: %s\n", text);
	}
	if (pshm_open(name, O_RDONLY, 0, &err) < 0) {
		char text[512];

		pshm_strerror(&err, text, sizeof(text));
		printf("gone: %s\n", text);
	}
	return 0;
}

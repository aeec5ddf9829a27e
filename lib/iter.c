/* SPDX-License-Identifier: MIT */
/* libpshm: listing the segments that exist now, and stat by name. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pshm_i.h"

/* Named semaphores share the directory with segments; they are not segments. */

struct pshm_iter {
	DIR *dir;
	ino_t ino; /* of the entry last returned */
	char *prefix;
	size_t prefix_len;
};

static bool is_semaphore(const char *name)
{
	return strncmp(name, PSHM_SEMAPHORE_PREFIX, strlen(PSHM_SEMAPHORE_PREFIX)) == 0;
}

PSHM_EXPORT int pshm_iter_open(const char *prefix, struct pshm_iter **ret, struct pshm_error *err)
{
	struct pshm_iter *it;

	if (!ret)
		return pshm_fail(err, EINVAL, "opendir", PSHM_DIR, -1, "no result pointer");
	it = calloc(1, sizeof(*it));
	if (!it)
		return pshm_fail(err, ENOMEM, "opendir", PSHM_DIR, -1, NULL);
	it->prefix = strdup(prefix ? prefix : "");
	if (!it->prefix) {
		free(it);
		return pshm_fail(err, ENOMEM, "opendir", PSHM_DIR, -1, NULL);
	}
	it->prefix_len = strlen(it->prefix);
	it->dir = opendir(PSHM_DIR);
	if (!it->dir) {
		int r = pshm_fail(err, errno, "opendir", PSHM_DIR, -1, NULL);

		free(it->prefix);
		free(it);
		return r;
	}
	*ret = it;
	return 0;
}

PSHM_EXPORT int pshm_iter_next(struct pshm_iter *it, const char **ret_name, struct stat *ret_st,
			       struct pshm_error *err)
{
	struct dirent *de;
	struct stat st;

	if (!it)
		return pshm_fail(err, EINVAL, "readdir", PSHM_DIR, -1, "no iterator");
	for (;;) {
		errno = 0;
		de = readdir(it->dir);
		if (!de)
			return errno ? pshm_fail(err, errno, "readdir", PSHM_DIR, -1, NULL) : 0;
		if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
			continue;
		if (is_semaphore(de->d_name) || strncmp(de->d_name, it->prefix, it->prefix_len))
			continue;
		/* Without a stat wanted, the directory entry's type is enough. */
		if (!ret_st && de->d_type == DT_REG) {
			it->ino = de->d_ino;
			if (ret_name)
				*ret_name = de->d_name;
			return 1;
		}
		if (fstatat(dirfd(it->dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			/* Unlinked since readdir saw it: it no longer exists. */
			if (errno == ENOENT)
				continue;
			return pshm_fail(err, errno, "fstatat", de->d_name, -1, NULL);
		}
		if (!S_ISREG(st.st_mode))
			continue;
		it->ino = st.st_ino;
		if (ret_name)
			*ret_name = de->d_name;
		if (ret_st)
			*ret_st = st;
		return 1;
	}
}

PSHM_EXPORT int pshm_iter_fd(const struct pshm_iter *it)
{
	return it ? dirfd(it->dir) : -EINVAL;
}

PSHM_EXPORT ino_t pshm_iter_ino(const struct pshm_iter *it)
{
	return it ? it->ino : 0;
}

PSHM_EXPORT void pshm_iter_free(struct pshm_iter *it)
{
	if (!it)
		return;
	closedir(it->dir);
	free(it->prefix);
	free(it);
}

PSHM_EXPORT int pshm_stat_name(const char *name, struct stat *ret, struct pshm_error *err)
{
	char path[sizeof(PSHM_DIR) + PSHM_NAME_MAX + 2];
	const char *base;
	struct stat st;
	int r;

	r = pshm_name_check(name, err);
	if (r < 0)
		return r;
	if (!ret)
		return pshm_fail(err, EINVAL, "stat", name, -1, "no stat buffer");
	base = name[0] == '/' ? name + 1 : name;
	if (is_semaphore(base))
		return pshm_fail(err, ENOENT, "stat", name, -1, "a named semaphore, not a segment");
	snprintf(path, sizeof(path), PSHM_DIR "/%s", base);
	if (lstat(path, &st) < 0)
		return pshm_fail(err, errno, "stat", name, -1, NULL);
	if (!S_ISREG(st.st_mode))
		return pshm_fail(err, ENOENT, "stat", name, -1, "not a segment");
	*ret = st;
	return 0;
}

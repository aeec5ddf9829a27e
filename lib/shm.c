/* SPDX-License-Identifier: MIT */
/* libpshm: opening, anonymous segments, and the thin wrappers over the shm calls. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "pshm_i.h"

#define OFLAGS_ALLOWED (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)

/* Room for '/', the longest name and the NUL. */
typedef char shm_path[PSHM_NAME_MAX + 2];

static int check_name(const char *name, const char *op, struct pshm_error *err)
{
	const char *base;
	size_t len;

	if (!name)
		return pshm_fail(err, EINVAL, op, NULL, -1, "no name given");
	base = name[0] == '/' ? name + 1 : name;
	len = strlen(base);
	if (len == 0)
		return pshm_fail(err, EINVAL, op, name, -1, "invalid name: empty");
	if (strchr(base, '/'))
		return pshm_fail(err, EINVAL, op, name, -1, "invalid name: contains '/'");
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return pshm_fail(err, EINVAL, op, name, -1, "invalid name: \".\" or \"..\"");
	if (len > PSHM_NAME_MAX)
		return pshm_fail(err, ENAMETOOLONG, op, name, -1, NULL);
	return 0;
}

/* Checks name and writes its canonical form, with one leading '/', into path. */
static int canonical_name(const char *name, const char *op, shm_path path, struct pshm_error *err)
{
	int r = check_name(name, op, err);

	if (r < 0)
		return r;
	snprintf(path, sizeof(shm_path), "/%s", name[0] == '/' ? name + 1 : name);
	return 0;
}

PSHM_EXPORT int pshm_name_check(const char *name, struct pshm_error *err)
{
	return check_name(name, "check name", err);
}

static int check_oflags_mode(int oflags, mode_t mode, const char *op, const char *name,
			     struct pshm_error *err)
{
	int access = oflags & O_ACCMODE;

	if ((oflags & ~OFLAGS_ALLOWED) || (access != O_RDONLY && access != O_RDWR))
		return pshm_fail(err, EINVAL, op, name, -1, "unsupported open flags");
	if (mode & ~(mode_t)0777)
		return pshm_fail(err, EINVAL, op, name, -1, "mode has bits outside 0777");
	return 0;
}

/* Applies mode exactly to a segment this process just created, whatever the umask. */
static int apply_mode(int fd, mode_t mode, const char *path, struct pshm_error *err)
{
	if (fchmod(fd, mode) < 0)
		return pshm_fail(err, errno, "fchmod", path, fd, NULL);
	return 0;
}

/*
 * Opens the existing segment at path. O_NONBLOCK, so that a FIFO someone
 * put in the directory never parks the caller, and only a regular file is
 * accepted: anything else is closed and reported as -ENXIO.
 */
static int open_existing(const shm_path path, int oflags, struct pshm_error *err)
{
	struct stat st;
	int fd = shm_open(path, (oflags & ~(O_CREAT | O_EXCL)) | O_NONBLOCK, 0);

	if (fd < 0) {
		/* glibc turns a directory's EISDIR into EINVAL; name and flags are checked. */
		if (errno == EISDIR || errno == EINVAL || errno == ENXIO)
			return pshm_fail(err, ENXIO, "shm_open", path, -1,
					 "not a shared memory segment (not a regular file)");
		return pshm_fail(err, errno, "shm_open", path, -1, NULL);
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pshm_fail(err, ENXIO, "shm_open", path, -1,
				 "not a shared memory segment (not a regular file)");
	}
	/* Meaningless on a regular file, but the descriptor is the caller's: leave it clean. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(fd);
		return pshm_fail(err, e, "fcntl", path, -1, NULL);
	}
	return fd;
}

PSHM_EXPORT int pshm_open_ex(const char *name, int oflags, mode_t mode, int *ret_created,
			     struct pshm_error *err)
{
	shm_path path;
	int fd, r;

	r = canonical_name(name, "shm_open", path, err);
	if (r < 0)
		return r;
	r = check_oflags_mode(oflags, mode, "shm_open", path, err);
	if (r < 0)
		return r;

	if (!(oflags & O_CREAT)) {
		fd = open_existing(path, oflags, err);
		if (fd < 0)
			return fd;
		if (ret_created)
			*ret_created = 0;
		return fd;
	}

	/*
	 * Only the creator may set the mode, so find out whether this call
	 * creates the segment: try O_EXCL first, and without the caller's
	 * O_EXCL fall back to opening the existing one (which may vanish in
	 * between, hence the loop).
	 */
	for (;;) {
		fd = shm_open(path, oflags | O_EXCL, mode);
		if (fd >= 0) {
			r = apply_mode(fd, mode, path, err);
			if (r < 0) {
				shm_unlink(path);
				close(fd);
				return r;
			}
			if (ret_created)
				*ret_created = 1;
			return fd;
		}
		if (errno != EEXIST || (oflags & O_EXCL))
			return pshm_fail(err, errno, "shm_open", path, -1, NULL);
		fd = open_existing(path, oflags, err);
		if (fd >= 0) {
			if (ret_created)
				*ret_created = 0;
			return fd;
		}
		if (fd != -ENOENT)
			return fd;
	}
}

PSHM_EXPORT int pshm_open(const char *name, int oflags, mode_t mode, struct pshm_error *err)
{
	return pshm_open_ex(name, oflags, mode, NULL, err);
}

static const char name_alphabet[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static int getrandom_source(char *buf, size_t len, void *userdata)
{
	unsigned char bytes[64];

	(void)userdata;
	if (len > sizeof(bytes))
		return -EINVAL;
	for (size_t got = 0; got < len;) {
		ssize_t n = getrandom(bytes + got, len - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)n;
	}
	/* 62 symbols: the modulo bias is irrelevant for uniqueness. */
	for (size_t i = 0; i < len; i++)
		buf[i] = name_alphabet[bytes[i] % (sizeof(name_alphabet) - 1)];
	return 0;
}

static pshm_name_source_fn name_source = getrandom_source;
static void *name_source_data;

void pshm_set_name_source(pshm_name_source_fn source, void *userdata)
{
	name_source = source ? source : getrandom_source;
	name_source_data = source ? userdata : NULL;
}

PSHM_EXPORT int pshm_open_anon(const char *prefix, int oflags, mode_t mode, unsigned attempts,
			       struct pshm_error *err)
{
	static const char op[] = "shm_open";
	shm_path path;
	size_t prefix_len;
	int fd, r;

	if (!prefix)
		prefix = PSHM_ANON_PREFIX;
	if (prefix[0] == '/')
		prefix++;
	if (attempts == 0)
		return pshm_fail(err, EINVAL, op, prefix, -1, "attempts must be at least 1");
	if (strchr(prefix, '/'))
		return pshm_fail(err, EINVAL, op, prefix, -1, "invalid prefix: contains '/'");
	prefix_len = strlen(prefix);
	if (prefix_len + PSHM_ANON_RANDOM_CHARS > PSHM_NAME_MAX)
		return pshm_fail(err, ENAMETOOLONG, op, prefix, -1,
				 "prefix leaves no room for the random part");
	r = check_oflags_mode(oflags, mode, op, prefix, err);
	if (r < 0)
		return r;

	path[0] = '/';
	memcpy(path + 1, prefix, prefix_len);
	path[1 + prefix_len + PSHM_ANON_RANDOM_CHARS] = '\0';
	for (unsigned i = 0; i < attempts; i++) {
		r = name_source(path + 1 + prefix_len, PSHM_ANON_RANDOM_CHARS, name_source_data);
		if (r < 0)
			return pshm_fail(err, -r, "getrandom", NULL, -1, NULL);
		/*
		 * Mode 0 while it has a name: no one else can open it in the
		 * moment before the unlink; its mode comes after (apply_mode).
		 */
		fd = shm_open(path, oflags | O_CREAT | O_EXCL, 0);
		if (fd < 0) {
			if (errno == EEXIST)
				continue;
			return pshm_fail(err, errno, op, path, -1, NULL);
		}
		if (shm_unlink(path) < 0) {
			r = pshm_fail(err, errno, "shm_unlink", path, -1, NULL);
			close(fd);
			return r;
		}
		r = apply_mode(fd, mode, path, err);
		if (r < 0) {
			close(fd);
			return r;
		}
		return fd;
	}
	return pshm_fail(err, EEXIST, op, prefix, -1, "every attempted name existed already");
}

PSHM_EXPORT int pshm_truncate(int fd, off_t size, struct pshm_error *err)
{
	if (size < 0)
		return pshm_fail(err, EINVAL, "ftruncate", NULL, fd, "negative size");
	if (ftruncate(fd, size) < 0)
		return pshm_fail(err, errno, "ftruncate", NULL, fd, NULL);
	return 0;
}

PSHM_EXPORT int pshm_stat(int fd, struct stat *ret, struct pshm_error *err)
{
	struct stat st;

	if (!ret)
		return pshm_fail(err, EINVAL, "fstat", NULL, fd, "no stat buffer");
	if (fstat(fd, &st) < 0)
		return pshm_fail(err, errno, "fstat", NULL, fd, NULL);
	*ret = st;
	return 0;
}

PSHM_EXPORT int pshm_chmod(int fd, mode_t mode, struct pshm_error *err)
{
	if (mode & ~(mode_t)0777)
		return pshm_fail(err, EINVAL, "fchmod", NULL, fd, "mode has bits outside 0777");
	if (fchmod(fd, mode) < 0)
		return pshm_fail(err, errno, "fchmod", NULL, fd, NULL);
	return 0;
}

PSHM_EXPORT int pshm_chown(int fd, uid_t uid, gid_t gid, struct pshm_error *err)
{
	if (fchown(fd, uid, gid) < 0)
		return pshm_fail(err, errno, "fchown", NULL, fd, NULL);
	return 0;
}

PSHM_EXPORT int pshm_utimens(int fd, const struct timespec times[2], struct pshm_error *err)
{
	if (futimens(fd, times) < 0)
		return pshm_fail(err, errno, "futimens", NULL, fd, NULL);
	return 0;
}

PSHM_EXPORT int pshm_close(int fd, struct pshm_error *err)
{
	/* Linux releases fd even when close fails with EINTR: retrying could close another file. */
	if (close(fd) < 0)
		return pshm_fail(err, errno, "close", NULL, fd, NULL);
	return 0;
}

PSHM_EXPORT int pshm_unlink(const char *name, struct pshm_error *err)
{
	shm_path path;
	int r = canonical_name(name, "shm_unlink", path, err);

	if (r < 0)
		return r;
	if (shm_unlink(path) < 0)
		return pshm_fail(err, errno, "shm_unlink", path, -1, NULL);
	return 0;
}

PSHM_EXPORT int pshm_map(int fd, void *addr, size_t length, int prot, off_t offset, void **ret_addr,
			 struct pshm_error *err)
{
	void *p;

	if (!ret_addr)
		return pshm_fail(err, EINVAL, "mmap", NULL, fd, "no result pointer");
	if (length == 0)
		return pshm_fail(err, EINVAL, "mmap", NULL, fd, "zero length");
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return pshm_fail(err, EINVAL, "mmap", NULL, fd, "unknown protection bits");
	p = mmap(addr, length, prot, MAP_SHARED, fd, offset);
	if (p == MAP_FAILED)
		return pshm_fail(err, errno, "mmap", NULL, fd, NULL);
	*ret_addr = p;
	return 0;
}

PSHM_EXPORT int pshm_unmap(void *addr, size_t length, struct pshm_error *err)
{
	if (munmap(addr, length) < 0)
		return pshm_fail(err, errno, "munmap", NULL, -1, NULL);
	return 0;
}

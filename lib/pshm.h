/* SPDX-License-Identifier: MIT */
/*
 * libpshm: POSIX shared memory made comfortable. (The scan of every object
 * on the machine is declared in pshm_scan.h, which this header includes.)
 *
 * The public interface of libpshm. Every function returns >= 0 on success and
 * -errno on failure. Every function that can fail takes an optional
 * struct pshm_error *err as its last argument: when it is not NULL and the
 * call fails, it receives the errno, the operation that failed, the object it
 * failed on, and (for the keyword parsers) the offending word; it is left
 * untouched on success. Output parameters are named ret_* and are left
 * untouched on failure. The library never prints and never exits.
 */
#ifndef PSHM_H
#define PSHM_H

#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where the segments of this system live (Linux: a tmpfs). */
#define PSHM_DIR "/dev/shm"

/* Names of this prefix in PSHM_DIR are named semaphores (sem_open(3)), not segments. */
#define PSHM_SEMAPHORE_PREFIX "sem."

/* The longest segment name, without its leading '/'. */
#define PSHM_NAME_MAX NAME_MAX

/* The longest keyword the parsers report back in pshm_error.word. */
#define PSHM_WORD_MAX 63

/* How often pshm_open_anon() tries a fresh random name by default. */
#define PSHM_ANON_ATTEMPTS 100

/* The prefix pshm_open_anon() uses when given NULL. */
#define PSHM_ANON_PREFIX "pshm-anon-"

/* How many random characters pshm_open_anon() appends to the prefix. */
#define PSHM_ANON_RANDOM_CHARS 16

/*
 * What went wrong, for people. Filled in by a failing call when the caller
 * passes a non-NULL pointer. All strings are NUL-terminated; op, what and
 * reason point to static storage.
 */
struct pshm_error {
	int code;                     /* the positive errno */
	const char *op;               /* "shm_open", "ftruncate", "parse", ... */
	const char *what;             /* for "parse": "open flags", "mode", ... */
	const char *reason;           /* a detail, or NULL when strerror(code) says it all */
	int fd;                       /* the descriptor involved, or -1 */
	char name[PSHM_NAME_MAX + 2]; /* the segment name involved, or "" (truncated) */
	char word[PSHM_WORD_MAX + 1]; /* for "parse": the offending word (truncated) */
};

/*
 * Formats err for people, e.g.
 *   shm_open("/jobs"): Permission denied
 *   ftruncate(fd 4): No space left on device
 *   parse open flags: unknown word "rwdr"
 * into buf (always NUL-terminated when len > 0): one line, the name and
 * the word written as pshm_name_escape writes them ("a\x0ab" for a name
 * holding a newline).
 * Returns: the length of the text, or -ENOSPC when it was truncated to fit.
 */
int pshm_strerror(const struct pshm_error *err, char *buf, size_t len);

/*
 * The keyword vocabulary as C constants, equal to the system's values, so
 * that a fixed list is a compile-time constant:
 *   pshm_open("/jobs", PSHM_O_READ_WRITE | PSHM_O_CREATE, PSHM_READ_USER | PSHM_WRITE_USER, NULL)
 */
enum pshm_oflag {
	PSHM_O_RDONLY = O_RDONLY,
	PSHM_O_READ = O_RDONLY,
	PSHM_O_RDWR = O_RDWR,
	PSHM_O_READ_WRITE = O_RDWR,
	PSHM_O_CREAT = O_CREAT,
	PSHM_O_CREATE = O_CREAT,
	PSHM_O_EXCL = O_EXCL,
	PSHM_O_EXCLUSIVE = O_EXCL,
	PSHM_O_TRUNC = O_TRUNC,
	PSHM_O_TRUNCATE = O_TRUNC,
};

enum pshm_permission {
	PSHM_RUSR = S_IRUSR,
	PSHM_READ_USER = S_IRUSR,
	PSHM_WUSR = S_IWUSR,
	PSHM_WRITE_USER = S_IWUSR,
	PSHM_XUSR = S_IXUSR,
	PSHM_EXEC_USER = S_IXUSR,
	PSHM_RWXU = S_IRWXU,
	PSHM_ALL_USER = S_IRWXU,
	PSHM_RGRP = S_IRGRP,
	PSHM_READ_GROUP = S_IRGRP,
	PSHM_WGRP = S_IWGRP,
	PSHM_WRITE_GROUP = S_IWGRP,
	PSHM_XGRP = S_IXGRP,
	PSHM_EXEC_GROUP = S_IXGRP,
	PSHM_RWXG = S_IRWXG,
	PSHM_ALL_GROUP = S_IRWXG,
	PSHM_ROTH = S_IROTH,
	PSHM_READ_OTHER = S_IROTH,
	PSHM_WOTH = S_IWOTH,
	PSHM_WRITE_OTHER = S_IWOTH,
	PSHM_XOTH = S_IXOTH,
	PSHM_EXEC_OTHER = S_IXOTH,
	PSHM_RWXO = S_IRWXO,
	PSHM_ALL_OTHER = S_IRWXO,
};

enum pshm_protection {
	PSHM_PROT_NONE = PROT_NONE,
	PSHM_PROT_READ = PROT_READ,
	PSHM_PROT_WRITE = PROT_WRITE,
	PSHM_PROT_EXEC = PROT_EXEC,
};

/*
 * Keyword lists. words holds keywords separated by ',', '|' or white space,
 * in any case, duplicates allowed; empty words are skipped.
 *
 * pshm_parse_oflags: read (rdonly), read-write (rdwr), create (creat),
 *   exclusive (excl), truncate (trunc). At most one of read and read-write;
 *   read is the default when neither is given.
 * pshm_parse_mode: read-user (rusr), write-user (wusr), exec-user (xusr),
 *   all-user (rwxu), and the same for -group (grp, rwxg) and -other (oth,
 *   rwxo); or an octal number no larger than 0777 ("0640").
 * pshm_parse_prot: read, write, exec, none. none combined with anything else
 *   is an error; the empty list is none.
 *
 * Returns: 0 and *ret set, or -EINVAL (unknown word, conflicting words, bad
 * octal number), with err->word naming the word.
 */
int pshm_parse_oflags(const char *words, int *ret, struct pshm_error *err);
int pshm_parse_mode(const char *words, mode_t *ret, struct pshm_error *err);
int pshm_parse_prot(const char *words, int *ret, struct pshm_error *err);

/*
 * The inverse: write the canonical long names, comma-separated, into buf.
 * oflags: access mode first ("read" or "read-write"), then create,
 * exclusive, truncate. mode: all-user when all three user bits are set,
 * otherwise the single bits; likewise group and other; 0 is "". prot: "none"
 * for PROT_NONE.
 * Returns: the length written (without the NUL), -ENOSPC when it does not
 * fit in len, or -EINVAL when the value has bits outside the vocabulary.
 */
int pshm_format_oflags(int oflags, char *buf, size_t len);
int pshm_format_mode(mode_t mode, char *buf, size_t len);
int pshm_format_prot(int prot, char *buf, size_t len);

/*
 * Parses a size: a decimal number with an optional binary suffix K, M, G or
 * T (also KiB, MiB, GiB, TiB; any case): "4096", "64K", "1M", "2G".
 * Returns: 0 and *ret set, -EINVAL for anything else, -ERANGE when the
 * value does not fit in an off_t.
 */
int pshm_parse_size(const char *text, off_t *ret, struct pshm_error *err);

/*
 * Checks a segment name: an optional leading '/', then 1 to PSHM_NAME_MAX
 * bytes without '/', not "." or "..".
 * Returns: 0, -EINVAL (empty, ".", "..", contains '/'), or -ENAMETOOLONG.
 */
int pshm_name_check(const char *name, struct pshm_error *err);

/* The room pshm_name_escape needs for a name of n bytes, with the NUL. */
#define PSHM_NAME_ESCAPED_SIZE(n) (4 * (n) + 1)

/*
 * Writes name for people and for tools that split lines and words: every
 * byte outside printable ASCII 0x21..0x7e (space, tab, newline and the
 * other control bytes, DEL, every byte from 0x80, valid UTF-8 or not) and
 * the backslash itself as \xHH, two lowercase hex digits (as util-linux's
 * lsblk and lsfd do); every other byte as it is. The text is one word with
 * no control byte, it tells every name from every other, and
 * printf '%b' gives the name back. buf (len bytes) is always
 * NUL-terminated when len > 0; PSHM_NAME_ESCAPED_SIZE(strlen(name)) bytes
 * always suffice.
 * Returns: the length of the text, -ENOSPC when it was cut to fit (between
 * two bytes of the name, never inside an escape), or -EINVAL when name or
 * buf is NULL or len is 0.
 */
int pshm_name_escape(const char *name, char *buf, size_t len);

/*
 * Opens (and with O_CREAT creates) the segment name, like shm_open(3).
 * oflags: O_RDONLY or O_RDWR, optionally O_CREAT, O_EXCL, O_TRUNC; nothing
 * else. mode: permission bits (at most 0777). When this call creates the
 * segment, mode is applied exactly with fchmod, whatever the umask; an
 * existing segment keeps its mode. The descriptor is close-on-exec.
 * Only a regular file is a segment: an existing FIFO, socket, device or
 * directory of that name is never opened blocking, and is reported as
 * -ENXIO (with O_CREAT too, unless O_EXCL makes it -EEXIST).
 * Returns: the descriptor, or -EINVAL (bad name, flags or mode),
 * -ENAMETOOLONG, -ENXIO (not a segment), or what shm_open, fchmod report
 * (-EACCES, -EEXIST, -ENOENT, -EMFILE, ...).
 */
int pshm_open(const char *name, int oflags, mode_t mode, struct pshm_error *err);

/*
 * pshm_open, telling whether this call created the segment: *ret_created
 * (when not NULL) is set to 1 when it did, 0 when the segment existed.
 * With O_CREAT and without O_EXCL, only the creator may want to set the
 * owner or the mode, and this is the race-free way to know.
 */
int pshm_open_ex(const char *name, int oflags, mode_t mode, int *ret_created,
		 struct pshm_error *err);

/*
 * The anonymous open: creates a segment with a fresh random name (prefix,
 * NULL for PSHM_ANON_PREFIX, followed by PSHM_ANON_RANDOM_CHARS characters
 * drawn from getrandom(2)) with O_CREAT|O_EXCL added to oflags, unlinks the
 * name at once and returns the descriptor: a segment no other process can
 * open by name. mode is applied exactly. Tries up to attempts names
 * (PSHM_ANON_ATTEMPTS is the usual choice) while they exist already.
 * Returns: the descriptor, -EINVAL (attempts == 0, bad prefix, flags or
 * mode), -ENAMETOOLONG (prefix too long for the random part), -EEXIST when
 * every attempt hit an existing name, or what shm_open, fchmod, shm_unlink
 * report (nothing is left behind on failure).
 */
int pshm_open_anon(const char *prefix, int oflags, mode_t mode, unsigned attempts,
		   struct pshm_error *err);

/* Sets the size of the segment behind fd (ftruncate). -EINVAL for size < 0. */
int pshm_truncate(int fd, off_t size, struct pshm_error *err);

/* Fills *ret with the segment's status (fstat). */
int pshm_stat(int fd, struct stat *ret, struct pshm_error *err);

/* Sets the permission bits (fchmod). -EINVAL for bits outside 0777. */
int pshm_chmod(int fd, mode_t mode, struct pshm_error *err);

/* Sets owner and group (fchown); (uid_t)-1 or (gid_t)-1 leaves one alone. */
int pshm_chown(int fd, uid_t uid, gid_t gid, struct pshm_error *err);

/* Sets access and modification times (futimens; NULL means now). */
int pshm_utimens(int fd, const struct timespec times[2], struct pshm_error *err);

/*
 * Closes fd. Never retried: on Linux the descriptor is released even when
 * close reports -EINTR, so never call it twice for one descriptor.
 */
int pshm_close(int fd, struct pshm_error *err);

/* Removes the name (shm_unlink); open descriptors and mappings live on. */
int pshm_unlink(const char *name, struct pshm_error *err);

/*
 * Maps length bytes of fd at offset with protection prot (PROT_* bits or
 * PROT_NONE), always MAP_SHARED; addr is a hint or NULL. Sets *ret_addr.
 * Returns: 0, -EINVAL (length 0, bits outside PROT_READ|PROT_WRITE|
 * PROT_EXEC, unaligned offset), or what mmap reports (-EACCES, -ENOMEM...).
 */
int pshm_map(int fd, void *addr, size_t length, int prot, off_t offset, void **ret_addr,
	     struct pshm_error *err);

/* Removes a mapping made by pshm_map (munmap). */
int pshm_unmap(void *addr, size_t length, struct pshm_error *err);

/*
 * Listing the segments that exist now: the regular files of PSHM_DIR whose
 * names start with prefix (NULL or "" for all), named semaphores ("sem.*")
 * skipped.
 *
 *   struct pshm_iter *it;
 *   const char *name;
 *   struct stat st;
 *   if (pshm_iter_open(NULL, &it, NULL) < 0) ...
 *   while ((r = pshm_iter_next(it, &name, &st, NULL)) > 0) ...
 *   pshm_iter_free(it);
 *
 * pshm_iter_next returns 1 with the next segment (name without '/', valid
 * until the next call, and its stat), 0 at the end, or -errno. A segment
 * that disappears while the listing runs is skipped, never reported stale.
 * With ret_st NULL no stat is made when the directory tells the type.
 * pshm_iter_ino gives the inode number of the segment last returned, also
 * when no stat was made. pshm_iter_fd gives the directory descriptor.
 * pshm_iter_free accepts NULL.
 */
struct pshm_iter;
int pshm_iter_open(const char *prefix, struct pshm_iter **ret, struct pshm_error *err);
int pshm_iter_next(struct pshm_iter *it, const char **ret_name, struct stat *ret_st,
		   struct pshm_error *err);
ino_t pshm_iter_ino(const struct pshm_iter *it);
int pshm_iter_fd(const struct pshm_iter *it);
void pshm_iter_free(struct pshm_iter *it);

/*
 * Status of the segment called name, without opening it (lstat of
 * PSHM_DIR/name: a symbolic link is not followed; no access rights on the
 * segment are needed).
 * Returns: 0, -EINVAL or -ENAMETOOLONG for bad names, -ENOENT when there is
 * no such segment (or name is a semaphore or not a regular file).
 */
int pshm_stat_name(const char *name, struct stat *ret, struct pshm_error *err);

/* Every shared memory object on the machine, and who holds it: */
#include "pshm_scan.h"

#ifdef __cplusplus
}
#endif

#endif /* PSHM_H */

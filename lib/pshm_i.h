/* SPDX-License-Identifier: MIT */
/* libpshm's private declarations: shared between its files and its unit tests. */
#ifndef PSHM_I_H
#define PSHM_I_H

#include <stdbool.h>
#include <stddef.h>

#include "pshm.h"

#define PSHM_EXPORT __attribute__((visibility("default")))

/* A scan's objects by index, in pshm_scan_next's order (objects.c, for usage.c). */
const struct pshm_object *pshm_scan_at(const struct pshm_scan *s, size_t i);

/*
 * The id (kernfs inode) of process pid's cgroup, v2's or the memory
 * controller's, as the kernel iterators saw it during the scan: 0 when
 * unknown (a scan that walked /proc, or a process not seen).
 */
unsigned long long pshm_scan_task_cgroup(const struct pshm_scan *s, pid_t pid, bool v2);

/*
 * Object i of s's allocated bytes as usage adds them: a segment of several
 * names (hard links) once, for the first of its names viewer sees, 0 for
 * the others (usage.c, for cgroups.c too).
 */
unsigned long long pshm_usage_object_bytes(const struct pshm_scan *s, size_t i,
					   const struct pshm_viewer *viewer);

/* A file system's bytes in use (statvfs), 0 when unknown (mounts.c, for usage.c). */
unsigned long long pshm_used_bytes(const char *path);

/*
 * pshm_tmpfs_mounts with its bounds on other mount namespaces given: at
 * most namespaces_max of them read, none after walk_ms (mounts.c; the
 * public call passes PSHM_MOUNTS_NAMESPACES_MAX and PSHM_MOUNTS_WALK_MS,
 * the unit tests lower them).
 */
int pshm_tmpfs_mounts_within(int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
			     void *ctx, unsigned flags, unsigned namespaces_max, unsigned walk_ms,
			     struct pshm_mounts_walked *ret_walked, struct pshm_error *err);

/* Fills err (when not NULL) and returns -code. name may be NULL. */
int pshm_fail(struct pshm_error *err, int code, const char *op, const char *name, int fd,
	      const char *reason);

/* Like pshm_fail for a keyword parser: what is the kind of list, word the bad word. */
int pshm_fail_parse(struct pshm_error *err, int code, const char *what, const char *word,
		    size_t word_len, const char *reason);

/* One row of a vocabulary: a long name, its short alias, its value. */
struct pshm_word {
	const char *name;     /* canonical long name, e.g. "read-write" */
	const char *alias;    /* the short C-flavoured alias, e.g. "rdwr" */
	const char *constant; /* the C constant's name, e.g. "O_RDWR" */
	int value;
};

/* The one table per kind that drives parsing, formatting and the README check. */
extern const struct pshm_word pshm_oflag_words[];
extern const size_t pshm_oflag_words_len;
extern const struct pshm_word pshm_mode_words[];
extern const size_t pshm_mode_words_len;
extern const struct pshm_word pshm_prot_words[];
extern const size_t pshm_prot_words_len;

/*
 * Where pshm_open_anon draws its names from: fills buf with len random
 * name characters. Returns 0 or -errno. Replaced by unit tests to exercise
 * the retry path; NULL restores the getrandom() source.
 */
typedef int (*pshm_name_source_fn)(char *buf, size_t len, void *userdata);
void pshm_set_name_source(pshm_name_source_fn source, void *userdata);

/*
 * Whether scans read a process's mappings by PROCMAP_QUERY where the
 * kernel has it (true, the default) or always as the text of
 * /proc/PID/maps, the way older kernels need (process_query.c; the unit
 * tests compare the two). Set it before a scan, not during one.
 */
void pshm_set_maps_query(bool enabled);

/*
 * The kernel iterators every scan uses whose options give none, or NULL
 * (the default: none); the unit tests run whole suites through them. Set
 * it before a scan, not during one.
 */
struct pshm_kernel_iter;
void pshm_set_kernel_iter(const struct pshm_kernel_iter *it);

/* The most a run of the kernel iterators reads (0: KITER_RUN_BYTES_MAX; the unit tests lower it). */
void pshm_set_kernel_iter_bytes(size_t max);

/*
 * Whether the scan was made of the kernel iterators' records, and whether
 * process pid was read from /proc instead among the first 16 such (the
 * unit tests ask).
 */
struct pshm_scan;
bool pshm_scan_kernel_iter_used(const struct pshm_scan *s);
bool pshm_scan_kernel_iter_read_proc(const struct pshm_scan *s, pid_t pid);

#endif /* PSHM_I_H */

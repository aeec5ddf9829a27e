/* SPDX-License-Identifier: MIT */
/*
 * libpshm: one process's mappings that may be shared memory objects, asked
 * of the kernel one at a time (PROCMAP_QUERY, an ioctl on an open
 * /proc/PID/maps, Linux 6.11+) instead of read as the text of them all,
 * and given back as that text's lines for process_maps.c to parse.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "process_i.h"
#include "pshm_i.h"

/*
 * struct procmap_query and its flags, as linux/fs.h of Linux 6.11 defines
 * them: Debian 12's headers (6.1) have none of it. The kernel takes the
 * size it is given (the first member), so a longer struct of a later
 * kernel changes nothing here; the ioctl's number encodes this size.
 */
struct pshm_procmap_query {
	uint64_t size;
	uint64_t query_flags; /* in */
	uint64_t query_addr;  /* in */
	uint64_t vma_start;   /* out */
	uint64_t vma_end;     /* out */
	uint64_t vma_flags;   /* out: PSHM_QUERY_VMA_* */
	uint64_t vma_page_size;
	uint64_t vma_offset;    /* out: in the file, as maps shows it */
	uint64_t inode;         /* out */
	uint32_t dev_major;     /* out */
	uint32_t dev_minor;     /* out */
	uint32_t vma_name_size; /* in: room at vma_name_addr (0: no name); out: its length + 1 */
	uint32_t build_id_size;
	uint64_t vma_name_addr; /* in */
	uint64_t build_id_addr;
};

#define PSHM_PROCMAP_QUERY _IOWR('f', 17, struct pshm_procmap_query)
#define PSHM_QUERY_VMA_READABLE 0x01
#define PSHM_QUERY_VMA_WRITABLE 0x02
#define PSHM_QUERY_VMA_EXECUTABLE 0x04
#define PSHM_QUERY_VMA_SHARED 0x08 /* VM_MAYSHARE, maps's 's' */
#define PSHM_QUERY_COVERING_OR_NEXT_VMA 0x10
#define PSHM_QUERY_FILE_BACKED_VMA 0x20

/* Whether scans ask PROCMAP_QUERY at all (pshm_set_maps_query: the unit tests say no). */
static bool query_enabled = true;

void pshm_set_maps_query(bool enabled)
{
	query_enabled = enabled;
}

/*
 * The mapping of fd at addr, or the next file-backed one after it, with
 * its name in name (room for size) when size: 0, or -errno (-ENOENT: no
 * more).
 */
static int query(int fd, unsigned long long addr, bool next, char *name, size_t size,
		 struct pshm_procmap_query *ret)
{
	*ret = (struct pshm_procmap_query){
		.size = sizeof(*ret),
		.query_flags =
			PSHM_QUERY_FILE_BACKED_VMA | (next ? PSHM_QUERY_COVERING_OR_NEXT_VMA : 0),
		.query_addr = addr,
		.vma_name_size = (uint32_t)size,
		.vma_name_addr = (uintptr_t)name,
	};
	return ioctl(fd, PSHM_PROCMAP_QUERY, ret) < 0 ? -errno : 0;
}

/*
 * Appends q's line of /proc/PID/maps to s->buf at *len (room reserved):
 * "START-END PERMS OFFSET MAJOR:MINOR INODE NAME", the name with '\n'
 * as seq_path writes it ("\012"), the only byte maps escapes.
 */
static void append_line(struct pshm_scan *s, size_t *len, const struct pshm_procmap_query *q,
			const char *name)
{
	char *at = s->buf + *len;

	at += sprintf(at, "%" PRIx64 "-%" PRIx64 " %c%c%c%c %08" PRIx64 " %02x:%02x %" PRIu64 " ",
		      q->vma_start, q->vma_end, q->vma_flags & PSHM_QUERY_VMA_READABLE ? 'r' : '-',
		      q->vma_flags & PSHM_QUERY_VMA_WRITABLE ? 'w' : '-',
		      q->vma_flags & PSHM_QUERY_VMA_EXECUTABLE ? 'x' : '-',
		      q->vma_flags & PSHM_QUERY_VMA_SHARED ? 's' : 'p', q->vma_offset, q->dev_major,
		      q->dev_minor, q->inode);
	for (const char *c = name; *c; c++) {
		if (*c == '\n') {
			memcpy(at, "\\012", 4);
			at += 4;
		} else {
			*at++ = *c;
		}
	}
	*at++ = '\n';
	*at = '\0';
	*len = (size_t)(at - s->buf);
}

ssize_t process_query_maps(struct pshm_scan *s, int fd,
			   bool (*wanted)(const struct pshm_scan *s, dev_t dev))
{
	/* d_path gives at most PATH_MAX bytes; each '\n' of them becomes 4. */
	enum { LINE_MAX_BYTES = 128 + 4 * PATH_MAX };
	char name[PATH_MAX];
	struct pshm_procmap_query q;
	unsigned long long addr = 0;
	size_t len = 0;
	bool zeroed = false;
	int r;

	if (!query_enabled)
		return -ENOTTY;
	if (objects_reserve(s, LINE_MAX_BYTES) < 0)
		return -ENOMEM;
	s->buf[0] = '\0';
	/*
	 * Each file-backed mapping without its name first: the name is
	 * d_path's work, the most of what maps's text costs, and only the
	 * few on a device of ours need one.
	 */
	while ((r = query(fd, addr, true, NULL, 0, &q)) == 0) {
		addr = q.vma_end;
		if (!wanted(s, makedev(q.dev_major, q.dev_minor)))
			continue;
		/*
		 * Zeroed once (valgrind cannot know what the kernel writes
		 * there: the struct only says where).
		 */
		if (!zeroed) {
			memset(name, 0, sizeof(name));
			zeroed = true;
		}
		/* The same mapping with its name; it may have changed meanwhile. */
		r = query(fd, q.vma_start, false, name, sizeof(name), &q);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			break;
		addr = q.vma_end;
		if (!wanted(s, makedev(q.dev_major, q.dev_minor)))
			continue;
		if (!q.vma_name_size)
			name[0] = '\0';
		if (objects_reserve(s, len + LINE_MAX_BYTES) < 0)
			return -ENOMEM;
		append_line(s, &len, &q, name);
	}
	/* -ENOENT: no more. */
	return r == -ENOENT ? (ssize_t)len : r;
}

/* SPDX-License-Identifier: MIT */
/*
 * libpshm: one process's mappings (/proc/PID/maps): those on a device of
 * ours asked of the kernel (process_query.c), or the text read whole, and
 * their lines parsed strictly (maps.c): which are shared memory objects (by
 * their device first: a path alone can be anyone's file), each object
 * found or made, and the process added to its holders.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "maps_i.h"
#include "process_i.h"
#include "sysv_i.h"

#define ZERO_PATH "/dev/zero"
#define ANON_HUGE_PATH "/anon_hugepage" /* MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB */

unsigned long long process_huge_mount_page(const struct pshm_scan *s, dev_t dev)
{
	for (size_t i = 0; i < s->huge_mount_count; i++)
		if (s->huge_mount_dev[i] == dev)
			return s->huge_mount_page[i];
	return 0;
}

/*
 * The kind of a mapping by its path, or 0 for none of ours: what it is
 * made as, for those that may be on huge pages (the page size tells,
 * scan_mapping), and PSHM_KIND_HUGETLB for a file of a hugetlbfs mount.
 */
static unsigned mapping_kind(const struct pshm_scan *s, const char *path, const char *perms,
			     dev_t dev)
{
	size_t len;

	if (strncmp(path, PSHM_DIR "/", strlen(PSHM_DIR) + 1) == 0 && dev == s->shm_dev)
		return process_deleted(path, &len) ? PSHM_KIND_DELETED : PSHM_KIND_SEGMENT;
	/* A private mapping of one is the process's own memory, not shared. */
	if (process_huge_mount_page(s, dev))
		return perms[3] == 's' ? PSHM_KIND_HUGETLB : 0;
	/* The others live on the kernel's own mounts: a path alone can be anyone's file. */
	if (!sysv_kernel_device(dev))
		return 0;
	if (strncmp(path, MEMFD_PREFIX, strlen(MEMFD_PREFIX)) == 0)
		return PSHM_KIND_MEMFD;
	if (strncmp(path, SYSV_PREFIX, strlen(SYSV_PREFIX)) == 0 && process_deleted(path, &len))
		return PSHM_KIND_SYSV;
	if ((strcmp(path, ZERO_PATH DELETED) == 0 || strcmp(path, ANON_HUGE_PATH DELETED) == 0) &&
	    perms[3] == 's')
		return PSHM_KIND_SHARED_ANON;
	return 0;
}

/* The status of the file of p's mapping h: known already, or stat'ed through map_files/. */
static int mapping_stat(const struct process *p, const struct pshm_holder *h,
			const struct stat *known, struct stat *ret)
{
	char files[48];

	if (known) {
		*ret = *known;
		return 0;
	}
	snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
	return pshm_link_stat(p->dir, files, ret);
}

int process_mapping(struct pshm_scan *s, struct process *p, struct pshm_holder *h, dev_t dev,
		    ino_t ino, const char *path, const struct stat *known)
{
	unsigned kind = mapping_kind(s, path, h->perms, dev);
	char files[48], opens[64], number[24];
	bool inspected;
	int r;
	struct object *o;
	struct stat st;
	size_t len;

	if (s->only) {
		/* Mapped directly, or through the mount (FUSE passthrough). */
		if (ino != s->only->ino || (dev != s->only->dev && !(s->options.mount_path &&
								     dev == s->options.mount_dev &&
								     process_under_mount(s, path))))
			return 0;
		return process_owned_by(s, p, h) ? objects_add_holder(s, s->only, h) : 0;
	}
	if (s->options.mount_path && dev == s->options.mount_dev && process_in_mount(s, path)) {
		o = objects_segment(s, ino); /* mapped through the mount */
		return o && process_owned_by(s, p, h) ? objects_hold_segment(s, o, h) : 0;
	}
	if (!kind || !(s->kinds & kind) || !process_owned_by(s, p, h))
		return 0;
	if (kind == PSHM_KIND_SEGMENT) {
		o = objects_segment(s, ino);
		return objects_hold_segment(s, o, h);
	}
	if (kind == PSHM_KIND_SYSV) {
		dev_t key;

		/*
		 * The inode of a System V mapping is its id, unique in its IPC
		 * namespace only: the segments of this one are keyed 0, those of
		 * another (read once the walk is done, for root) by its
		 * namespace's inode, and held until then.
		 */
		if (!p->ipc_known)
			return 0;
		key = p->ipc_ns == s->own_ipc ? 0 : (dev_t)p->ipc_ns;
		if (key)
			return sysv_hold_later(s, h, p->ipc_ns, ino, dev, path, p->dir, known);
		o = objects_find(s->parent ? s->parent : s, PSHM_KIND_SYSV, key, ino);
		if (!o || !sysv_mapping(dev, path, o->pub.key))
			return 0;
		o = objects_found_before(s, PSHM_KIND_SYSV, key, ino);
		if (!o)
			return 0;
		/* SHM_HUGETLB: the attach's own status counts its huge pages (root). */
		o->pub.page_size = sysv_huge_page_size(dev);
		if (o->pub.page_size && !o->huge_blocks && mapping_stat(p, h, known, &st) == 0 &&
		    st.st_ino == ino) {
			o->pub.st.st_blocks = st.st_blocks;
			o->huge_blocks = true;
		}
		return objects_add_holder(s, o, h);
	}
	o = objects_find(s, kind, dev, ino);
	if (!o) {
		/* The object itself, through the mapping (root: CAP_SYS_ADMIN). */
		snprintf(files, sizeof(files), "map_files/%llx-%llx", h->start, h->end);
		inspected = mapping_stat(p, h, known, &st) == 0 && st.st_ino == ino;
		if (!inspected) {
			/* Not root: the mapping's length, and its holder as owner. */
			memset(&st, 0, sizeof(st));
			st.st_mode = S_IFREG | 0600;
			st.st_ino = ino;
			st.st_dev = dev;
			st.st_uid = p->uid;
			st.st_gid = p->gid;
			st.st_size = (off_t)(h->end - h->start);
		} else if (kind == PSHM_KIND_DELETED && st.st_nlink > 0) {
			o = objects_segment(s, ino); /* a real name that ends in " (deleted)" */
			return objects_hold_segment(s, o, h);
		}
		o = objects_of(s, kind, dev, ino, &st);
		if (!o)
			return -ENOMEM;
		o->pub.page_size = kind == PSHM_KIND_HUGETLB ? process_huge_mount_page(s, dev)
							     : sysv_huge_page_size(dev);
		o->huge_blocks = o->pub.page_size && inspected;
		snprintf(opens, sizeof(opens), "/proc/%ld/%s", p->pid, files);
		if (kind == PSHM_KIND_DELETED && process_deleted(path, &len))
			r = objects_name(o, path + strlen(PSHM_DIR) + 1, len - strlen(PSHM_DIR) - 1,
					 true, opens);
		else if (kind == PSHM_KIND_MEMFD)
			r = objects_name(o, path + strlen(MEMFD_PREFIX),
					 (process_deleted(path, &len) ? len : strlen(path)) -
						 strlen(MEMFD_PREFIX),
					 true, opens);
		else if (kind == PSHM_KIND_HUGETLB)
			r = objects_name(o, path, process_deleted(path, &len) ? len : strlen(path),
					 true, opens);
		else
			r = objects_set_text(
				o,
				(snprintf(number, sizeof(number), "%ju", (uintmax_t)ino), number),
				opens);
		if (r < 0)
			return r;
	}
	if (h->perms[2] == 'x')
		o->pub.exec_mapped = true;
	/* Not root: its huge pages from smaps, the most any one mapping of it has. */
	if (o->pub.page_size && !o->huge_blocks && process_huge_later(p, o, h->start) < 0)
		return -ENOMEM;
	return objects_add_holder(s, o, h);
}

/*
 * Whether a mapping on dev may be one of ours, whatever its path: the
 * devices mapping_kind and scan_mapping look at. The others need no name,
 * the most of what reading a mapping costs (process_query_maps).
 */
static bool wanted_device(const struct pshm_scan *s, dev_t dev)
{
	return dev == s->shm_dev || process_huge_mount_page(s, dev) || sysv_kernel_device(dev) ||
	       (s->options.mount_path && dev == s->options.mount_dev) ||
	       (s->only && dev == s->only->dev);
}

/*
 * The lines of /proc/PID/maps that may be ours into the scan's buffer,
 * NUL-terminated: only those asked of the kernel, or the text whole
 * (a kernel before 6.11). Their length, or -errno.
 */
static ssize_t read_maps(struct pshm_scan *s, const struct process *p)
{
	int fd = openat(p->dir, "maps", O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = process_query_maps(s, fd, wanted_device);
	if (n >= 0) {
		close(fd);
		return n;
	}
	/* The kernel fills a read with whole lines: read until it has no more. */
	do {
		if (objects_reserve(s, len + 65536) < 0) {
			close(fd);
			return -ENOMEM;
		}
		n = read(fd, s->buf + len, s->buf_size - len - 1);
		if (n > 0)
			len += (size_t)n;
	} while (n > 0);
	close(fd);
	if (n < 0)
		return -errno;
	s->buf[len] = '\0';
	return (ssize_t)len;
}

int process_scan_maps(struct pshm_scan *s, struct process *p)
{
	ssize_t len = read_maps(s, p);
	char *line, *end;
	int r = 0;

	if (len < 0)
		return (int)len;
	for (line = s->buf; r == 0 && line < s->buf + len; line = end + 1) {
		struct pshm_holder h = { .pid = (pid_t)p->pid, .fd = -1 };
		struct maps_line m;

		end = memchr(line, '\n', (size_t)(s->buf + len - line));
		if (!end)
			end = s->buf + len;
		*end = '\0';
		/* Inode 0: no file, but a System V segment's inode is its id, which may be 0. */
		if (!maps_parse_line(line, &m) ||
		    (!m.inode && strncmp(m.path, SYSV_PREFIX, strlen(SYSV_PREFIX)) != 0))
			continue;
		h.start = m.start;
		h.end = m.end;
		memcpy(h.perms, m.perms, sizeof(h.perms));
		r = process_mapping(s, p, &h, makedev(m.major_no, m.minor_no), (ino_t)m.inode,
				    m.path, NULL);
	}
	/* A process that exits meanwhile leaves what was seen of it. */
	if (r == 0 && p->huge_count && process_huge_blocks(p) == -ENOMEM)
		r = -ENOMEM;
	return r;
}

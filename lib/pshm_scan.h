/* SPDX-License-Identifier: MIT */
/*
 * libpshm: finding every shared memory object on the machine and its
 * holders (the scan), what each user and process holds (usage), and the
 * tmpfs mounts of every mount namespace. Part of libpshm's interface:
 * include <pshm.h>, which includes this header, and read its conventions
 * (return values, struct pshm_error) there.
 */
#ifndef PSHM_SCAN_H
#define PSHM_SCAN_H

#ifndef PSHM_H
#error "include <pshm.h>, not <pshm_scan.h>"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every shared memory object on the machine, and who holds it.
 *
 * The kinds, as bits for pshm_scan_open and values of pshm_object.kind:
 * named segments (PSHM_DIR), segments unlinked but still open or mapped,
 * memfd_create(2) objects, System V segments (shmget(2)), shared
 * anonymous mappings (mmap(MAP_SHARED | MAP_ANONYMOUS), which fork
 * shares), and huge pages: any of the last three made on huge pages
 * (SHM_HUGETLB, MFD_HUGETLB, MAP_HUGETLB) and files of hugetlbfs mounts
 * that a process maps. Every object has one kind: a System V segment on
 * huge pages is PSHM_KIND_HUGETLB, not PSHM_KIND_SYSV (its made_as says
 * which). Huge pages are not part of Shmem (/proc/meminfo): their own
 * pool is (HugePages_*).
 */
#define PSHM_KIND_SEGMENT (1u << 0)
#define PSHM_KIND_DELETED (1u << 1)
#define PSHM_KIND_MEMFD (1u << 2)
#define PSHM_KIND_SYSV (1u << 3)
#define PSHM_KIND_SHARED_ANON (1u << 4)
#define PSHM_KIND_HUGETLB (1u << 5)
#define PSHM_KIND_ALL 0x3fu

/* The longest object name, with its terminating NUL. */
#define PSHM_OBJECT_NAME_MAX (3 * PSHM_NAME_MAX + 32)

/* "segment", "deleted", "memfd", "sysv", "shared-anon", "hugetlb"; NULL for anything else. */
const char *pshm_kind_name(unsigned kind);

/*
 * The directory at the top of a shmfs mount that shows the objects of a
 * kind (the named segments are the top itself), as constants for static
 * tables; pshm_kind_dir gives them by kind.
 */
#define PSHM_KIND_DELETED_DIR ".deleted"
#define PSHM_KIND_MEMFD_DIR ".memfd"
#define PSHM_KIND_SYSV_DIR ".sysv"
#define PSHM_KIND_SHARED_ANON_DIR ".shared-anon"
#define PSHM_KIND_HUGETLB_DIR ".hugetlb"

/*
 * ".deleted", ".memfd", ".sysv", ".shared-anon", ".hugetlb" (PSHM_KIND_*_DIR); NULL
 * for PSHM_KIND_SEGMENT and anything else.
 */
const char *pshm_kind_dir(unsigned kind);

/* One process holding an object: through a descriptor, or a mapping (fd == -1). */
struct pshm_holder {
	pid_t pid;
	unsigned long long
		start_time; /* when it started (/proc/PID/stat, clock ticks): who pid is */
	uid_t uid;          /* the process's real uid */
	char comm[16];      /* its command name: one word, no backslash ("_" for them) */
	int fd;             /* the descriptor, or -1 */
	unsigned long long start, end; /* the mapping's addresses */
	char perms[5];                 /* the mapping's permissions, "rw-s" */
};

struct pshm_object {
	unsigned kind;
	/*
	 * Unique within its kind: NAME for a segment, NAME@INODE for a deleted
	 * segment or a memfd ('/', '%', space, control bytes and bytes above
	 * 0x7e as %XX), 0xKEY@SHMID for a System V segment, INODE for a shared
	 * anonymous mapping (NS@0xKEY@SHMID for one of another IPC namespace,
	 * NS its inode, as a container's); for huge pages, what it is made as and that name:
	 * sysv:0xKEY@SHMID, memfd:NAME@INODE, anon:INODE, or file:PATH@INODE
	 * for a file of a hugetlbfs mount (PATH as the holder's maps show it). A segment with several names (hard links in
	 * PSHM_DIR) is one object per name, each with the same inode and the
	 * same holders (a holder through any name holds them all).
	 */
	const char *name; /* at most PSHM_OBJECT_NAME_MAX - 1 bytes; the scan's */
	/*
	 * Its own status: size, allocated blocks, mode, owner, times, inode
	 * (System V: from shmid_ds: st_atime the last attach, st_mtime the last
	 * detach (or, never detached, st_ctime), st_ctime the last change,
	 * st_ino the id, st_nlink the attachments, st_blocks its resident
	 * pages; on huge pages the pages really allocated, never the inflated
 * count /proc/sysvipc/shm gives for them). For an object seen only through a mapping that could not be
	 * inspected (not root), st_size is the mapping's length and st_uid,
	 * st_gid its first holder's (real ids); its times are unknown (0);
	 * on huge pages st_blocks is the huge pages its largest mapping has
	 * (/proc/PID/smaps), else 0.
	 */
	struct stat st;
	/* A path that opens the object itself, for pshm_object_open, or ""; the scan's. */
	const char *path;
	int shmid;            /* System V: its id; else -1 */
	key_t key;            /* System V: its key */
	unsigned long nattch; /* System V: attachments */
	bool exec_mapped;     /* some holder maps it executable */
	size_t holder_count;
	const struct pshm_holder *holders; /* one per descriptor and mapping */
	/* PSHM_KIND_HUGETLB: the size of its huge pages in bytes; else 0. */
	unsigned long long page_size;
	/*
	 * PSHM_KIND_HUGETLB: what it is made as (PSHM_KIND_SYSV, PSHM_KIND_MEMFD,
	 * PSHM_KIND_SHARED_ANON), or 0 for a file of a hugetlbfs mount; else kind.
	 */
	unsigned made_as;
	/*
	 * System V: the IPC namespace it is in, by the inode of its
	 * /proc/PID/ns/ipc link, and a process in it (to act there with
	 * pshm_sysv_*_in); both 0 for the caller's own namespace.
	 */
	unsigned long long ipc_ns;
	pid_t ipc_pid;
};

/* Optional: a shmfs mount, so that files open or mapped through it count for their segment. */
struct pshm_scan_options {
	const char *mount_path; /* its mount point, as /proc shows paths; NULL for none */
	long mount_id;          /* its mount id (/proc/self/mountinfo) */
	dev_t mount_dev;        /* its device */
	bool skip_self;         /* leave the calling process out */
	/*
	 * Asked before each process (NULL: never): true stops the scan there,
	 * and pshm_scan_open returns -ETIMEDOUT (a deadline, a daemon stopping).
	 * Called from the scan's worker threads too, maybe at the same time.
	 */
	bool (*stop)(void *ctx);
	void *stop_ctx;
	/*
	 * Only the segment with this status's identity (st_dev, st_ino),
	 * named or not, or NULL: the scan is then of its holders alone, found
	 * through any name it has or had and through the mount (any file
	 * there but the mount's own entries, mount_skip), and
	 * yields that one object: of kind PSHM_KIND_SEGMENT (st_nlink > 0) or
	 * PSHM_KIND_DELETED, with this status and no name; kinds is ignored.
	 */
	const struct stat *only;
	/*
	 * At most this many holders (0: no limit), so that what processes
	 * hold bounds what the scan allocates: past it, pshm_scan_open
	 * returns -E2BIG (each worker counts its own, so a little more; a
	 * holder of a segment with several names counts once per name).
	 */
	size_t holders_max;
	/*
	 * With readers_only: read only the processes whose real, effective
	 * and saved uids are all reader_uid and gids all reader_gid, the
	 * ones /proc could let that user read (ptrace's rule needs that much
	 * of a caller without CAP_SYS_PTRACE; the kernel still decides the
	 * rest, pshm_holder_visible). A scan for such a user then never
	 * reads, holds or waits on another user's processes, however many
	 * mappings they have. Ignored with only.
	 */
	bool readers_only;
	uid_t reader_uid;
	gid_t reader_gid;
	/*
	 * The names at the top of the mount (mount_path) that are the
	 * mount's own entries, never a segment, NULL-terminated, or NULL for
	 * none: with only, a file open or mapped by one of these names is not
	 * taken for the segment, whatever inode number the mount shows it with.
	 */
	const char *const *mount_skip;
	/*
	 * The kernel's iterators (pshm_kernel_iter_load), or NULL: a scan by
	 * root of everything (neither readers_only nor only) from the
	 * initial pid namespace then reads every process from them, about
	 * ten times cheaper a process than /proc, and /proc only for the few
	 * they cannot say all of (a FUSE daemon, a file open through the
	 * mount). Any other scan, or one whose iterators fail, walks /proc.
	 * The result is the same either way. Shared by scans at the same time.
	 */
	const struct pshm_kernel_iter *kernel_iter;
};

struct pshm_scan;
struct pshm_kernel_iter;

/*
 * Loads the kernel's BPF iterators of processes, their descriptors and
 * their mappings, for scans to read instead of /proc (options.kernel_iter),
 * and checks them against stat(2) and /proc of a memfd, a mapping and a
 * namespace of the caller's own: a kernel they misread is refused. It
 * takes CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), Linux 5.12 or later
 * with its types (BTF, /sys/kernel/btf/vmlinux), and libbpf: loading
 * parses the kernel's types (about 30 ms), so a program that scans often
 * (a daemon) loads them once and keeps them. They read only, and hold
 * nothing of any process between scans. 0 with *ret, or -errno with err:
 * -EOPNOTSUPP when libpshm was built without them, -EPERM without the
 * capabilities, -EPROTO when they misread this kernel.
 */
int pshm_kernel_iter_load(struct pshm_kernel_iter **ret, struct pshm_error *err);
/* Unloads them; NULL is fine. No scan may be using them. */
void pshm_kernel_iter_free(struct pshm_kernel_iter *it);

/*
 * Scans /proc (and PSHM_DIR, /proc/sysvipc/shm) once for the objects of
 * kinds (PSHM_KIND_* bits) and their holders; options may be NULL. A
 * snapshot: nothing is kept open. Processes that cannot be read (another
 * user's, when not root) are counted (pshm_scan_unreadable); an object
 * only they hold is not found, and when not root an object seen only
 * through a mapping has the mapping's length for its size. Many processes
 * are shared out among a few threads (one per CPU, at most 4), joined
 * before it returns; holders come in process order. The scan never
 * stats a file outside PSHM_DIR and the kernel's own shm objects, so it
 * never waits on a FUSE file system.
 * Returns: 0 with *ret (free it with pshm_scan_free), -EINVAL for no or
 * unknown kinds, -ETIMEDOUT when options->stop stopped it, -E2BIG past
 * options->holders_max, -ENOMEM, or
 * what reading /proc reports.
 */
int pshm_scan_open(unsigned kinds, const struct pshm_scan_options *options, struct pshm_scan **ret,
		   struct pshm_error *err);
/* The next object, by kind then name: 1 with *ret (valid until pshm_scan_free), or 0. */
int pshm_scan_next(struct pshm_scan *s, const struct pshm_object **ret);
/* The object of kind called name, or NULL. */
const struct pshm_object *pshm_scan_find(const struct pshm_scan *s, unsigned kind,
					 const char *name);
/* How many processes could not be read. */
unsigned pshm_scan_unreadable(const struct pshm_scan *s);
/* The most of those a scan names (the lowest pids). */
#define PSHM_UNREADABLE_NAMED 16
/* A process the scan could not read, and why. */
struct pshm_unreadable {
	pid_t pid;
	int error;     /* EACCES: /proc refused (another user's, not dumpable); ESRCH: it exited */
	uid_t uid;     /* the owner of /proc/PID as the scan saw it, or (uid_t)-1 */
	char comm[16]; /* its command name, one printable word; "?" when unknown */
};
/*
 * Copies the processes the scan could not read, lowest pid first, into
 * ret (room for max): at most PSHM_UNREADABLE_NAMED of the
 * pshm_scan_unreadable ones, those of the lowest pids. Returns how many.
 */
size_t pshm_scan_unreadable_pids(const struct pshm_scan *s, struct pshm_unreadable *ret,
				 size_t max);
/*
 * How many other IPC namespaces (containers') the scan found but did not
 * read whole, so that some of their System V segments are missing: past
 * what one user's namespaces may make a scan read (64 namespaces, 4,096
 * segments, root's aside), or more namespaces than a scan tells apart
 * (262,144; then 1 more stands for them all). 0 when it is complete.
 */
unsigned pshm_scan_ipc_skipped(const struct pshm_scan *s);
/* How many objects the scan found. */
size_t pshm_scan_count(const struct pshm_scan *s);
/* Frees the scan and its objects; NULL is fine. */
void pshm_scan_free(struct pshm_scan *s);
/*
 * Who looks at a scan, and how to ask whether they may read a process.
 * What a user may see of another process is what /proc grants that user:
 * ptrace_may_access(PTRACE_MODE_READ_FSCREDS), the kernel's rule (the
 * viewer's fsuid and fsgid equal the target's real, effective and saved
 * ids, the target is dumpable and has no capability the viewer lacks, or
 * the viewer has CAP_SYS_PTRACE; LSMs and hidepid= may refuse more).
 */
struct pshm_viewer {
	uid_t uid;
	/*
	 * Whether the viewer may read the process pid that started at
	 * start_time, asked of the kernel (pshm_process_readable, in a thread
	 * acting as the viewer); false when it is gone. NULL: the scan was
	 * made by the viewer itself, so /proc let it read every holder it
	 * found. Called once per holding process and object at most.
	 */
	bool (*may_read)(void *ctx, pid_t pid, unsigned long long start_time);
	void *ctx;
};

/*
 * Whether the calling thread may read process pid, the one that started
 * at start_time (0: whichever has that pid now), as /proc decides: true
 * when it may open /proc/PID/fd and /proc/PID/environ (the directory's
 * owner, hidepid=, and ptrace_may_access(PTRACE_MODE_READ_FSCREDS): real,
 * effective and saved ids, dumpability, capabilities). Gives the thread's own
 * answer, so a daemon asks it in a thread that acts as its caller
 * (fsuid, fsgid, groups, and none of the capabilities the caller lacks).
 * False when the process is gone or its pid belongs to another now.
 */
bool pshm_process_readable(pid_t pid, unsigned long long start_time);
/* Whether viewer may see holder h: viewer->may_read, or true without it. */
bool pshm_holder_visible(const struct pshm_holder *h, const struct pshm_viewer *viewer);
/*
 * Whether viewer sees object o: root sees all; others every named segment
 * (PSHM_DIR lists them all to everyone, as ls does), a System V segment
 * they own, and any object one of whose holders they may read
 * (pshm_holder_visible). An object that lives only in processes (deleted
 * segment, memfd, shared anonymous memory) is never visible by its owner
 * alone: its holders might be processes the owner may not read (set-uid,
 * non-dumpable).
 */
bool pshm_object_visible(const struct pshm_object *o, const struct pshm_viewer *viewer);
/*
 * Opens the object itself (O_RDONLY or O_RDWR), through its path: for an
 * unlinked one through /proc, which only root and the holder's own user
 * may. Never blocks; checks that the file is still the object.
 * Returns: the descriptor, -EINVAL (flags), -ENOENT (no path: a System V
 * segment nobody has attached), -ESTALE (the holder let go meanwhile), or
 * what open reports.
 */
int pshm_object_open(const struct pshm_object *o, int oflags, struct pshm_error *err);
/*
 * The status of the file a /proc link (/proc/PID/fd/N, map_files/A-B; path
 * relative to dir, or AT_FDCWD) leads to, without asking its file system
 * anything (AT_STATX_DONT_SYNC): a FUSE file answers from the kernel's
 * cache, so a process that points its link into a FUSE mount, even the
 * caller's own, can never make the caller wait on it.
 * Returns: 0 with *ret, or -errno.
 */
int pshm_link_stat(int dir, const char *path, struct stat *ret);
/*
 * Opens the regular file dev:ino through a /proc link, only if that is
 * where the link leads: the link is resolved once (O_PATH: no file system
 * is asked anything and nothing is opened, not a device, not a FUSE file),
 * that file's status checked (pshm_link_stat), and that very file opened
 * again with oflags. A process that swaps its link meanwhile gets nothing
 * opened. For a daemon that opens its clients' objects as root.
 * Returns: the descriptor, -ESTALE (the link leads to another file), or -errno.
 */
int pshm_link_open(const char *path, int oflags, dev_t dev, ino_t ino);

/*
 * The status of System V segment shmid now (shmctl(IPC_STAT), and its
 * resident pages from /proc/sysvipc/shm), mapped onto a file's as the
 * scan maps it (pshm_object.st), as long as its key is key: an id is
 * given to another segment once its own is removed.
 * Returns: 0 with *ret, -ENOENT when there is no segment shmid of key, or
 * what shmctl reports (-EACCES without read permission on it).
 */
int pshm_sysv_stat(int shmid, key_t key, struct stat *ret, struct pshm_error *err);
/*
 * Opens System V segment shmid's own memory for reading, as long as its
 * key is key: attached read-only just long enough to open the attach's
 * /proc/self/map_files entry (which takes CAP_SYS_ADMIN), then detached,
 * so its attachments are back to what they were. Reading the descriptor
 * allocates nothing (a read through an attach allocates every page of a
 * hole it touches). The descriptor is close-on-exec.
 * Returns: the descriptor, -ENOENT when there is no segment shmid of key
 * (or it went meanwhile), -EOPNOTSUPP when the attach is not of the size
 * counted (SHM_HUGETLB), or what shmctl, shmat and open report (-EACCES,
 * -EPERM without the capability).
 */
int pshm_sysv_open(int shmid, key_t key, struct pshm_error *err);
/*
 * pshm_sysv_stat and pshm_sysv_open in IPC namespace ipc_ns (an object's
 * ipc_ns), entered through process pid's /proc/PID/ns/ipc by a thread of
 * the library's own (setns moves that thread only); ipc_ns 0 is the
 * caller's namespace. Entering takes CAP_SYS_ADMIN over the namespace
 * (root): -EPERM without it, -ENOENT when pid is gone or in another
 * namespace now.
 */
int pshm_sysv_stat_in(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key, struct stat *ret,
		      struct pshm_error *err);
int pshm_sysv_open_in(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key,
		      struct pshm_error *err);
/*
 * Removes System V segment shmid of key (IPC_RMID) in namespace ipc_ns
 * (0: the caller's) as caller: when caller is not the process's
 * effective uid, from a thread of the library's own that takes caller as
 * its real, effective and saved uid (and so loses every capability)
 * before it asks, so the kernel decides as for caller's own ipcrm(1):
 * the segment's owner, its creator, or CAP_SYS_ADMIN over the namespace
 * (the owner of its user namespace has it). Acting for another uid takes
 * root. Returns: 0, -ENOENT (no such segment now), -EPERM (the kernel
 * refused caller), or what shmctl and setresuid say.
 */
int pshm_sysv_remove(unsigned long long ipc_ns, pid_t pid, int shmid, key_t key, uid_t caller,
		     struct pshm_error *err);

/* How many kinds there are: PSHM_KIND_* is 1 << index, index < PSHM_KINDS. */
#define PSHM_KINDS 6

/* The huge page sizes pshm_usage describes, at most. */
#define PSHM_HUGE_SIZES_MAX 4
/* One huge page size's pool (/sys/kernel/mm/hugepages/hugepages-SIZEkB), and what uses it. */
struct pshm_huge_usage {
	unsigned long long page_size; /* in bytes */
	unsigned long long total;     /* pages in the pool (nr_hugepages, surplus included) */
	unsigned long long free;      /* pages not in use (free_hugepages; reserved ones too) */
	unsigned long long reserved;  /* promised to mappings, not yet in use (resv_hugepages) */
	unsigned long long surplus;   /* above the persistent pool (surplus_hugepages) */
	unsigned long long count;     /* PSHM_KIND_HUGETLB objects of this page size */
	unsigned long long bytes;     /* and their allocated bytes */
	/* (total - free) pages' bytes less bytes: private huge pages, what no scan shows. */
	long long unexplained;
};

/*
 * Where shared memory goes, for "where did my memory go". Every byte of
 * Shmem (/proc/meminfo) is in exactly one of these terms:
 *   shmem = shm_dir_used + tmpfs_used + bytes[memfd] + bytes[sysv]
 *           + bytes[shared-anon] + unexplained
 * and PSHM_DIR's tmpfs holds the segments, named and deleted:
 *   shm_dir_used = bytes[segment] + bytes[deleted] + shm_dir_other
 * Huge pages are never in Shmem: each pool is huge[].bytes + unexplained.
 */
struct pshm_usage {
	/*
	 * By kind index (PSHM_KIND_SEGMENT is 0): objects, and their allocated
	 * bytes (a segment of several names, hard links, counts once per name
	 * in count, once in bytes).
	 */
	unsigned long long count[PSHM_KINDS];
	unsigned long long bytes[PSHM_KINDS];
	unsigned long long shm_dir_used; /* PSHM_DIR's tmpfs: bytes in use (statvfs) */
	/*
	 * What of shm_dir_used no segment counted explains: semaphores (sem.*),
	 * deleted segments only processes the viewer may not read hold; may be
	 * a little negative when files changed while they were added up.
	 */
	long long shm_dir_other;
	unsigned long long tmpfs_used; /* every other tmpfs and devtmpfs (pshm_tmpfs_mounts) */
	unsigned long long shmem;      /* Shmem of /proc/meminfo, in bytes */
	long long unexplained;         /* the last term of shmem's sum (above): may be negative */
	/* Huge pages, by page size (never part of shmem): huge_sizes of them. */
	unsigned huge_sizes;
	struct pshm_huge_usage huge[PSHM_HUGE_SIZES_MAX];
};

/*
 * Adds up a scan's objects visible to viewer (pshm_object_visible) by kind,
 * with the file systems that hold shared memory too, and the kernel's own
 * total (Shmem), into the terms of struct pshm_usage's sums. What no term
 * explains (unexplained) is what the viewer may not see (others'
 * processes' memfds and mappings), the tmpfs mounts a walk did not reach,
 * and the kernel's own. tmpfs_used counts this mount namespace's file
 * systems, and for root other namespaces' too, within that walk's bounds
 * (pshm_tmpfs_mounts). Returns: 0, or what reading /proc reports.
 */
int pshm_usage_of(const struct pshm_scan *scan, const struct pshm_viewer *viewer,
		  struct pshm_usage *ret, struct pshm_error *err);
/* One line of a usage table, by owner or by holding process. */
struct pshm_usage_row {
	unsigned kind; /* PSHM_KIND_* */
	/*
	 * By owner: the owner's uid. By process: the holding process's pid, -1
	 * for the processes viewer may not read (comm "-"), 0 for objects no
	 * process holds (comm "": a named segment, a System V one not attached).
	 */
	long who;
	char comm[16];            /* by process: its command name; by owner: "" */
	unsigned long long count; /* objects */
	/* By owner: their allocated bytes. By process: its shares of them (below). */
	unsigned long long bytes;
	/* By process: of count, the objects it maps (the rest it holds by a descriptor alone). */
	unsigned long long mapped;
	/* By process: its objects' whole allocated bytes, each once (as smaps Rss); by owner: bytes. */
	unsigned long long whole;
};
#define PSHM_USAGE_BY_OWNER 1
#define PSHM_USAGE_BY_PROCESS 2
/*
 * A scan's objects visible to viewer (pshm_object_visible), added up by kind
 * and owner (PSHM_USAGE_BY_OWNER) or by kind and holding process
 * (PSHM_USAGE_BY_PROCESS), so that the rows of a kind add up to
 * pshm_usage_of's count and bytes for it. By process, each object's
 * allocated bytes are shared, as smaps' Pss shares pages: evenly among the
 * distinct processes that map it (a process that maps it twice counts
 * once; the first in process order gets what does not divide); a process
 * that holds it by a descriptor alone while others map it gets 0 (it
 * counts in count, not in mapped); an object no process maps is shared so
 * among the processes that hold it open; one no process holds is in the
 * row of who 0. Processes viewer may not read (pshm_holder_visible) add up
 * in one row per kind of who -1 and comm "-": counted, never named.
 * Rows come largest bytes first (then by kind, then who). Leaves
 * pshm_scan_next's place alone.
 * Returns: the number of rows with *ret (free it), -EINVAL for another
 * by, or -ENOMEM.
 */
ssize_t pshm_usage_by(const struct pshm_scan *scan, const struct pshm_viewer *viewer, int by,
		      struct pshm_usage_row **ret, struct pshm_error *err);
/* The longest cgroup path a pshm_cgroup_row holds (longer ones are cut). */
#define PSHM_CGROUP_PATH_MAX 512
/* One cgroup's part of the shared memory: which container it is, what it holds, the kernel's count. */
struct pshm_cgroup_row {
	/*
	 * Its path in the memory controller's hierarchy (cgroup v2 where that
	 * has the memory controller, else v1's memory one), or "" for the
	 * objects no process the viewer may read holds.
	 */
	char path[PSHM_CGROUP_PATH_MAX];
	/* The container: docker, containerd, cri-o, podman, kubernetes, nspawn, container; or "". */
	char runtime[16];
	char container[72]; /* its id (64 hex digits) or machine name, or "" */
	char pod[40];       /* a Kubernetes pod's UID, or "" */
	/* By kind index: the objects it holds a share of, and its shares of their allocated bytes. */
	unsigned long long count[PSHM_KINDS];
	unsigned long long bytes[PSHM_KINDS];
	unsigned long long tmpfs_bytes; /* tmpfs of other mount namespaces, by a process in it */
	long long kernel_shmem;         /* the kernel's own count: memory.stat shmem; -1 unknown */
};
/*
 * A scan's objects visible to viewer (pshm_object_visible) by cgroup: an
 * object's allocated bytes are shared evenly among the distinct cgroups of
 * the holders viewer may read (the first of them gets what does not
 * divide), so that the rows add up to the objects; an object with no such
 * holder counts in the row "". For root, the tmpfs mounts of other mount
 * namespaces (pshm_tmpfs_mounts) count for the cgroup of a process in
 * that namespace. Each cgroup's kernel_shmem is the kernel's own count of
 * the shmem charged to it (memory.stat shmem: tmpfs, memfd, System V,
 * shared anonymous pages; never huge pages), to set beside its
 * non-huge-page bytes and tmpfs_bytes. Container ids are recognised from
 * the paths Docker, containerd, CRI-O, Kubernetes, Podman and
 * systemd-nspawn give their cgroups; other paths stay paths. Rows come
 * largest first (their bytes of every kind and tmpfs_bytes), then by path.
 * Returns: the number of rows with *ret (free it), or -ENOMEM.
 */
ssize_t pshm_usage_by_cgroup(const struct pshm_scan *scan, const struct pshm_viewer *viewer,
			     struct pshm_cgroup_row **ret, struct pshm_error *err);
/*
 * A row's shmem as the kernel counts it for its cgroup (its bytes of every
 * kind but huge pages, and its tmpfs_bytes), and what that leaves of
 * kernel_shmem unexplained (0 when kernel_shmem is unknown).
 */
unsigned long long pshm_cgroup_shmem(const struct pshm_cgroup_row *row);
long long pshm_cgroup_unexplained(const struct pshm_cgroup_row *row);
/*
 * A row as one line of words, as pshm usage and a shmfs mount's .ctl
 * print it: "PATH container RUNTIME:ID pod UID tmpfs BYTES shmem BYTES
 * unexplained BYTES", PATH escaped (pshm_name_escape), "-" for what is
 * unknown or not there. Returns: 0, or -ENAMETOOLONG when size is short.
 */
int pshm_cgroup_line(const struct pshm_cgroup_row *row, char *buf, size_t size);
/* pshm_tmpfs_mounts: other mount namespaces' too (root: a container's /dev/shm). */
#define PSHM_MOUNTS_ALL_NAMESPACES 1u
/* The bounds of that walk: other namespaces whose mountinfo is read, and its time. */
#define PSHM_MOUNTS_NAMESPACES_MAX 256
#define PSHM_MOUNTS_WALK_MS 2000
/* How far pshm_tmpfs_mounts went through other mount namespaces. */
struct pshm_mounts_walked {
	unsigned namespaces; /* other mount namespaces whose mountinfo was read */
	bool partial;        /* a bound stopped the walk: some tmpfs mounts went unmeasured */
};
/*
 * Calls fn for each tmpfs and devtmpfs mounted in this mount namespace but
 * PSHM_DIR's, with its mount point and bytes in use; with
 * PSHM_MOUNTS_ALL_NAMESPACES, then for those of every other mount
 * namespace a process of /proc is in (that the caller may look into), as
 * /proc/PID/root/MOUNT-POINT, PID a process in it, at most 128 of them.
 * That walk is bounded: it reads at most PSHM_MOUNTS_NAMESPACES_MAX other
 * namespaces' mountinfo and starts none after PSHM_MOUNTS_WALK_MS ms;
 * when a bound (or the 128) stops it, ret_walked->partial says so, with
 * the number of namespaces read (ret_walked may be NULL; it is filled on
 * success only). mount_point is one printable word: space, backslash and
 * control bytes as \ooo (as mountinfo writes them). Each file system comes
 * once; none covered by another mount (no path reaches it to measure it),
 * none below a FUSE mount and none of a namespace whose root is not on a
 * mount its mountinfo shows (a path there could block); what is left out
 * is part of what pshm_usage_of leaves unexplained. fn returns 0, or
 * non-zero to stop the walk. Returns: 0, fn's first non-zero result,
 * -EINVAL for unknown flags, or -ENOMEM.
 */
int pshm_tmpfs_mounts(int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
		      void *ctx, unsigned flags, struct pshm_mounts_walked *ret_walked,
		      struct pshm_error *err);
/*
 * pshm_tmpfs_mounts for what scan found: with PSHM_MOUNTS_ALL_NAMESPACES,
 * the other mount namespaces are those its walk of the processes met (a
 * scan of every kind by root), in the same order and within the same
 * bounds, instead of those of another walk of /proc; otherwise, or when
 * the scan did not note them, as pshm_tmpfs_mounts. Each tmpfs is
 * measured now. Returns: as pshm_tmpfs_mounts.
 */
int pshm_scan_tmpfs_mounts(const struct pshm_scan *scan,
			   int (*fn)(void *ctx, const char *mount_point, unsigned long long used),
			   void *ctx, unsigned flags, struct pshm_mounts_walked *ret_walked,
			   struct pshm_error *err);

/*
 * Points options (mount_path, mount_id, mount_dev) at a shmfs mount of
 * /proc/self/mountinfo, read from there and never through the mount: the
 * FUSE mount on top at mount_point, or with mount_point NULL the first of
 * type fuse.shmfs. Its mount point is copied into path (size bytes), which
 * options then points to. Returns 1 when found, 0 when not (options
 * untouched), or -errno.
 */
int pshm_shmfs_mount(const char *mount_point, struct pshm_scan_options *options, char *path,
		     size_t size);

#ifdef __cplusplus
}
#endif

#endif /* PSHM_SCAN_H */

/* SPDX-License-Identifier: MIT */
/*
 * pshm metrics: the numbers of pshm usage as an OpenMetrics text
 * exposition, for node_exporter's textfile collector (written whole to a
 * temporary file, then renamed over the one it reads): objects and bytes
 * by kind, by owner and by cgroup (container), each cgroup beside the
 * kernel's own shmem count, tmpfs mounts, huge page pools, Shmem and what
 * nothing explains, and what the scan cost. Fleets aggregate these in
 * Prometheus; nothing here collects from other machines.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"

/* A label value as the exposition format wants it: \\, \" and \n escaped. */
static void label(FILE *out, const char *name, const char *value, bool first)
{
	fprintf(out, "%s%s=\"", first ? "" : ",", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(out, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The by-cgroup labels of one row: cgroup, runtime, container, pod ("" when none). */
static void cgroup_labels(FILE *out, const struct pshm_cgroup_row *c)
{
	label(out, "cgroup", c->path, true);
	label(out, "runtime", c->runtime, false);
	label(out, "container", c->container, false);
	label(out, "pod", c->pod, false);
}

static int tmpfs_line(void *ctx, const char *mount_point, unsigned long long used)
{
	FILE *out = ctx;

	fputs("shm_tmpfs_used_bytes{", out);
	label(out, "mount_point", mount_point, true);
	fprintf(out, "} %llu\n", used);
	return 0;
}

struct numbers {
	struct pshm_usage u;
	struct pshm_usage_row *owners;
	ssize_t owner_count;
	struct pshm_cgroup_row *cgroups;
	ssize_t cgroup_count;
	unsigned unreadable;
	unsigned ipc_skipped;
	double seconds;
	const struct pshm_scan *scan; /* its mount namespaces, for the tmpfs lines */
};

static void write_kinds(FILE *out, const struct numbers *n)
{
	family(out, "shm_objects", "gauge", "Shared memory objects the caller may see, by kind.");
	for (int k = 0; k < PSHM_KINDS; k++)
		fprintf(out, "shm_objects{kind=\"%s\"} %llu\n", pshm_kind_name(1u << k),
			n->u.count[k]);
	family(out, "shm_allocated_bytes", "gauge",
	       "Memory allocated to those objects (their own blocks), by kind.");
	for (int k = 0; k < PSHM_KINDS; k++)
		fprintf(out, "shm_allocated_bytes{kind=\"%s\"} %llu\n", pshm_kind_name(1u << k),
			n->u.bytes[k]);
}

static void write_owners(FILE *out, const struct numbers *n)
{
	family(out, "shm_user_allocated_bytes", "gauge",
	       "Memory allocated to shared memory objects, by kind and owner.");
	for (ssize_t i = 0; i < n->owner_count; i++) {
		const struct pshm_usage_row *r = &n->owners[i];
		const struct passwd *pw = getpwuid((uid_t)r->who);
		char uid[24];

		snprintf(uid, sizeof(uid), "%ld", r->who);
		fprintf(out, "shm_user_allocated_bytes{kind=\"%s\"", pshm_kind_name(r->kind));
		label(out, "uid", uid, false);
		label(out, "user", pw ? pw->pw_name : "", false);
		fprintf(out, "} %llu\n", r->bytes);
	}
}

static void write_cgroups(FILE *out, const struct numbers *n)
{
	family(out, "shm_cgroup_allocated_bytes", "gauge",
	       "Shares of shared memory objects held from a cgroup (an object held from several "
	       "is split evenly), by kind.");
	for (ssize_t i = 0; i < n->cgroup_count; i++) {
		for (int k = 0; k < PSHM_KINDS; k++) {
			if (!n->cgroups[i].count[k])
				continue;
			fputs("shm_cgroup_allocated_bytes{", out);
			cgroup_labels(out, &n->cgroups[i]);
			fprintf(out, ",kind=\"%s\"} %llu\n", pshm_kind_name(1u << k),
				n->cgroups[i].bytes[k]);
		}
	}
	family(out, "shm_cgroup_tmpfs_used_bytes", "gauge",
	       "Tmpfs of other mount namespaces (a container's /dev/shm), by the cgroup of a "
	       "process in it.");
	for (ssize_t i = 0; i < n->cgroup_count; i++) {
		fputs("shm_cgroup_tmpfs_used_bytes{", out);
		cgroup_labels(out, &n->cgroups[i]);
		fprintf(out, "} %llu\n", n->cgroups[i].tmpfs_bytes);
	}
	family(out, "shm_cgroup_kernel_shmem_bytes", "gauge",
	       "The kernel's own count of shmem charged to the cgroup (memory.stat shmem).");
	for (ssize_t i = 0; i < n->cgroup_count; i++) {
		if (n->cgroups[i].kernel_shmem < 0)
			continue;
		fputs("shm_cgroup_kernel_shmem_bytes{", out);
		cgroup_labels(out, &n->cgroups[i]);
		fprintf(out, "} %lld\n", n->cgroups[i].kernel_shmem);
	}
	family(out, "shm_cgroup_unexplained_bytes", "gauge",
	       "The cgroup's shmem that its objects and tmpfs do not explain (may be negative).");
	for (ssize_t i = 0; i < n->cgroup_count; i++) {
		if (n->cgroups[i].kernel_shmem < 0)
			continue;
		fputs("shm_cgroup_unexplained_bytes{", out);
		cgroup_labels(out, &n->cgroups[i]);
		fprintf(out, "} %lld\n", pshm_cgroup_unexplained(&n->cgroups[i]));
	}
}

static void write_huge(FILE *out, const struct numbers *n)
{
	static const char *const states[] = { "total", "free", "reserved", "surplus" };

	family(out, "shm_hugepages", "gauge",
	       "Huge pages of each size's pool (/sys/kernel/mm/hugepages), by state.");
	for (unsigned h = 0; h < n->u.huge_sizes; h++) {
		const struct pshm_huge_usage *p = &n->u.huge[h];
		const unsigned long long values[] = { p->total, p->free, p->reserved, p->surplus };

		for (size_t s = 0; s < 4; s++)
			fprintf(out, "shm_hugepages{page_size_bytes=\"%llu\",state=\"%s\"} %llu\n",
				p->page_size, states[s], values[s]);
	}
	family(out, "shm_hugepages_unexplained_bytes", "gauge",
	       "Huge pages in use that no huge page object explains, by page size.");
	for (unsigned h = 0; h < n->u.huge_sizes; h++)
		fprintf(out, "shm_hugepages_unexplained_bytes{page_size_bytes=\"%llu\"} %lld\n",
			n->u.huge[h].page_size, n->u.huge[h].unexplained);
}

static void write_all(FILE *out, const struct numbers *n)
{
	write_kinds(out, n);
	write_owners(out, n);
	write_cgroups(out, n);
	family(out, "shm_tmpfs_used_bytes", "gauge",
	       "Bytes in use of each tmpfs (/dev/shm, others; root: other mount namespaces' too).");
	tmpfs_line(out, PSHM_DIR, n->u.shm_dir_used);
	pshm_scan_tmpfs_mounts(n->scan, tmpfs_line, out,
			       geteuid() == 0 ? PSHM_MOUNTS_ALL_NAMESPACES : 0, NULL, NULL);
	write_huge(out, n);
	family(out, "shm_kernel_shmem_bytes", "gauge", "Shmem of /proc/meminfo.");
	fprintf(out, "shm_kernel_shmem_bytes %llu\n", n->u.shmem);
	family(out, "shm_unexplained_bytes", "gauge",
	       "Shmem less everything the objects and tmpfs explain (may be negative).");
	fprintf(out, "shm_unexplained_bytes %lld\n", n->u.unexplained);
	family(out, "shm_scan_duration_seconds", "gauge", "How long the scan of /proc took.");
	fprintf(out, "shm_scan_duration_seconds %.6f\n", n->seconds);
	family(out, "shm_scan_unreadable_processes", "gauge",
	       "Processes the scan could not read (what they hold is not counted).");
	fprintf(out, "shm_scan_unreadable_processes %u\n", n->unreadable);
	family(out, "shm_scan_ipc_namespaces_skipped", "gauge",
	       "IPC namespaces whose System V segments the scan did not read whole (bounds).");
	fprintf(out, "shm_scan_ipc_namespaces_skipped %u\n", n->ipc_skipped);
	fputs("# EOF\n", out);
}

/* Writes the exposition to path.tmp, then renames it over path: readers never see half of it. */
static int write_file(const char *path, const struct numbers *n)
{
	char tmp[4096];
	FILE *out;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return cli_fail(ENAMETOOLONG, "open", path);
	out = fopen(tmp, "we");
	if (!out)
		return cli_fail(errno, "open", tmp);
	write_all(out, n);
	if (fflush(out) != 0 || fsync(fileno(out)) < 0 || ferror(out)) {
		int e = errno ? errno : EIO;

		fclose(out);
		unlink(tmp);
		return cli_fail(e, "write", tmp);
	}
	fclose(out);
	if (chmod(tmp, 0644) < 0 || rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return cli_fail(e, "rename", path);
	}
	return CLI_OK;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct option options[] = {
		{ "output", required_argument, NULL, 'o' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	const struct pshm_viewer viewer = { .uid = geteuid() };
	struct pshm_scan_options scan_options;
	struct numbers n = { 0 };
	const char *output = NULL;
	struct timespec t0, t1;
	struct pshm_error err;
	struct pshm_scan *s;
	int c, r;

	while ((c = cli_option(argc, argv, "o:h", options)) != -1)
		if (c == 'o')
			output = optarg;
	if (optind != argc)
		return cli_usage("unexpected argument '%s'", argv[optind]);
	cli_scan_options(&scan_options);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pshm_scan_open(PSHM_KIND_ALL, &scan_options, &s, &err) < 0)
		return cli_error(&err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	n.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	n.unreadable = pshm_scan_unreadable(s);
	n.ipc_skipped = pshm_scan_ipc_skipped(s);
	r = pshm_usage_of(s, &viewer, &n.u, &err);
	if (r == 0)
		n.owner_count = pshm_usage_by(s, &viewer, PSHM_USAGE_BY_OWNER, &n.owners, &err);
	if (r == 0 && n.owner_count >= 0)
		n.cgroup_count = pshm_usage_by_cgroup(s, &viewer, &n.cgroups, &err);
	if (r < 0 || n.owner_count < 0 || n.cgroup_count < 0) {
		pshm_scan_free(s);
		free(n.owners);
		free(n.cgroups);
		return cli_error(&err);
	}
	n.scan = s;
	if (output) {
		r = write_file(output, &n);
	} else {
		write_all(stdout, &n);
		r = fflush(stdout) == 0 ? CLI_OK : cli_fail(errno, "write", "standard output");
	}
	pshm_scan_free(s);
	free(n.owners);
	free(n.cgroups);
	return r;
}

/* SPDX-License-Identifier: MIT */
/* shmfs: extended attributes with introspection facts, computed when asked. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anon_i.h"
#include "holders_i.h"
#include "view_i.h"
#include "xattr_i.h"

#define XATTR_PREFIX "user.shmfs."

/* The names, in the order listxattr gives them; anon-id only on anonymous segments. */
static const char *const names[] = {
	XATTR_PREFIX "path",    XATTR_PREFIX "mode",    XATTR_PREFIX "allocated",
	XATTR_PREFIX "holders", XATTR_PREFIX "anon-id",
};

struct text {
	char *data;
	size_t len, cap;
	bool failed;
};

static void text_add(struct text *t, const char *s, size_t len)
{
	if (t->failed)
		return;
	if (t->len + len + 1 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		char *data;

		while (cap < t->len + len + 1)
			cap *= 2;
		data = realloc(t->data, cap);
		if (!data) {
			t->failed = true;
			return;
		}
		t->data = data;
		t->cap = cap;
	}
	memcpy(t->data + t->len, s, len);
	t->len += len;
	t->data[t->len] = '\0';
}

static int add_holder_line(void *ctx, const char *line)
{
	struct text *t = ctx;

	text_add(t, line, strlen(line));
	text_add(t, "\n", 1);
	return t->failed || t->len > HOLDERS_BYTES_MAX ? -1 : 0;
}

/* Computes attribute name of node for the caller of req into t; -ENODATA when it has none. */
static int compute(fuse_req_t req, struct node *node, const char *name, struct text *t)
{
	struct shmfs *fs = shmfs_of(req);
	char segment[PSHM_NAME_MAX + 1], buf[PATH_MAX + 64];
	uint64_t anon_id;
	struct stat st;
	int r;

	nodes_identity(fs, node, segment, &anon_id);
	r = anon_id ? anon_stat(fs, anon_id, &st) : nodes_stat(fs, node, &st);
	if (r < 0)
		return r;
	if (strcmp(name, XATTR_PREFIX "path") == 0) {
		/* A path the caller can open: the daemon's /proc only for its own user. */
		if (!anon_id)
			snprintf(buf, sizeof(buf), PSHM_DIR "/%s", segment);
		else if (!creds_is_daemon(fuse_req_ctx(req)->uid) ||
			 anon_proc_path(fs, anon_id, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s/" ANON_DIR_NAME "/%" PRIu64,
				 holders_mount_path(fs), anon_id);
	} else if (strcmp(name, XATTR_PREFIX "mode") == 0) {
		if (pshm_format_mode(st.st_mode & 0777, buf, sizeof(buf)) < 0)
			return -EIO;
	} else if (strcmp(name, XATTR_PREFIX "allocated") == 0) {
		snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)st.st_blocks * 512);
	} else if (strcmp(name, XATTR_PREFIX "anon-id") == 0) {
		if (!anon_id)
			return -ENODATA;
		snprintf(buf, sizeof(buf), "%" PRIu64, anon_id);
	} else if (strcmp(name, XATTR_PREFIX "holders") == 0) {
		struct holders_count count;
		struct creds viewer;

		/* Visibility needs only the uid and gid: no groups read from /proc. */
		viewer = (struct creds){ .uid = fuse_req_ctx(req)->uid,
					 .gid = fuse_req_ctx(req)->gid };
		r = holders_scan(fs, &st, &viewer, add_holder_line, t, &count);
		if (r < 0)
			return r;
		if (count.cut || t->len > HOLDERS_BYTES_MAX)
			return t->failed ? -ENOMEM : -E2BIG; /* more than an attribute holds */
		text_add(t, buf, holders_tail(&count, "\n", true, buf, sizeof(buf)));
		return t->failed ? -ENOMEM : 0;
	} else {
		return -ENODATA;
	}
	text_add(t, buf, strlen(buf));
	return t->failed ? -ENOMEM : 0;
}

static void reply_value(fuse_req_t req, const char *value, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, value, len);
}

/* The attributes of an entry of another view than the segments' (view_objects.c). */
static const char *const object_names[] = { "kind",        "allocated", "holders",   "seals",
					    "exec-mapped", "path",      "page-size", "made-as" };

static void object_get_reply(fuse_req_t req, struct node *node, const char *name, size_t size)
{
	size_t prefix = strlen(XATTR_PREFIX);
	char *buf;
	int r;

	if (strncmp(name, XATTR_PREFIX, prefix) != 0) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	buf = malloc(HOLDERS_BYTES_MAX + 1);
	r = buf ? nodes_view(node)->node_xattr(req, node, name + prefix, buf, HOLDERS_BYTES_MAX + 1)
		: -ENOMEM;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_value(req, buf, strlen(buf), size);
	free(buf);
}

static void object_list_reply(fuse_req_t req, struct node *node, size_t size)
{
	struct text t = { 0 };
	char value[PATH_MAX];

	for (size_t i = 0; i < sizeof(object_names) / sizeof(object_names[0]); i++) {
		/* holders: always there, and not worth a scan to list. */
		if (strcmp(object_names[i], "holders") != 0 &&
		    nodes_view(node)->node_xattr(req, node, object_names[i], value, sizeof(value)) <
			    0)
			continue;
		text_add(&t, XATTR_PREFIX, strlen(XATTR_PREFIX));
		text_add(&t, object_names[i], strlen(object_names[i]) + 1);
	}
	if (t.failed)
		fuse_reply_err(req, ENOMEM);
	else if (!t.data)
		fuse_reply_err(req, ENOENT); /* gone: not even its kind */
	else
		reply_value(req, t.data, t.len, size);
	free(t.data);
}

void xattr_get_reply(fuse_req_t req, struct node *node, const char *name, size_t size)
{
	struct text t = { 0 };
	int r;

	/*
	 * Only the user namespace has attributes here (the facts below);
	 * security.*, system.* and trusted.* are not supported, and saying so
	 * lets tools stop asking: ls -l asks every file for security.selinux
	 * and an ACL until a filesystem answers EOPNOTSUPP once.
	 */
	if (strncmp(name, "user.", strlen("user.")) != 0) {
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	if (!node) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (nodes_view(node)) {
		object_get_reply(req, node, name, size);
		return;
	}
	r = compute(req, node, name, &t);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		reply_value(req, t.data ? t.data : "", t.len, size);
	free(t.data);
}

void xattr_list_reply(fuse_req_t req, struct node *node, size_t size)
{
	struct shmfs *fs = shmfs_of(req);
	char segment[PSHM_NAME_MAX + 1];
	struct text t = { 0 };
	uint64_t anon_id = 0;
	struct stat st;
	int r;

	if (node && nodes_view(node)) {
		object_list_reply(req, node, size);
		return;
	}
	/* Through a cached name the segment may be gone: say so, as stat does. */
	if (node) {
		nodes_identity(fs, node, segment, &anon_id);
		r = anon_id ? anon_stat(fs, anon_id, &st) : nodes_stat(fs, node, &st);
		if (r < 0) {
			fuse_reply_err(req, -r);
			return;
		}
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (anon_id || strcmp(names[i], XATTR_PREFIX "anon-id") != 0)
				text_add(&t, names[i], strlen(names[i]) + 1);
	}
	if (t.failed)
		fuse_reply_err(req, ENOMEM);
	else
		reply_value(req, t.data ? t.data : "", t.len, size);
	free(t.data);
}

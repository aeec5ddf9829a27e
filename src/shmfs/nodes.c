/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the node table, from the kernel's node ids to segments and their
 * open files.
 *
 * The table lock guards bookkeeping only. Whatever needs a system call (a
 * stat, an open through /proc, registering or closing a backing id, a
 * notification to the kernel, close and munmap) is decided under the lock
 * and done after it is released: an open file is borrowed (a reference on
 * its handle keeps its descriptor open), teardown is collected and
 * performed by dispose(), and a first open registering a backing id marks
 * the node busy while the others wait on a condition.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shmfs_i.h"

#define INITIAL_BUCKETS 1024
/* How long the kernel may keep a name's entry in the default mode (see nodes_stat). */
#define ENTRY_TIMEOUT 60.0
/* The most names one node keeps for the kernel (older ones are dropped from it). */
#define CHECK_NAMES_MAX 8

struct other_name {
	struct other_name *next;
	char name[];
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t backing_done; /* a node's backing registration finished */
	struct nodes_config config;
	struct node **buckets; /* chained by tmpfs inode number */
	size_t bucket_count;   /* a power of two */
	size_t count;
	uint64_t generation;
	/*
	 * The name index: for each name, the node it was last looked up as,
	 * which is the node the kernel's entry for that name means. Chained
	 * by name hash, as many buckets as the table.
	 */
	struct node **names;
} table = { .lock = PTHREAD_MUTEX_INITIALIZER, .backing_done = PTHREAD_COND_INITIALIZER };

/* What a locked section leaves to be done once the lock is released (dispose). */
struct garbage {
	struct node *nodes;     /* unhashed, chained through hash_next */
	struct handle *handles; /* whose last reference went, chained through next */
	int backing_id;         /* to close, or 0 */
	bool inval;             /* make the kernel forget its cached names */
};

static size_t bucket_of(ino_t ino, size_t bucket_count)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull;

	return (size_t)(h >> 32) & (bucket_count - 1);
}

static size_t name_bucket_of(const char *name, size_t bucket_count)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
	return (size_t)(h >> 32) & (bucket_count - 1);
}

struct handle *handle_new(int fd, int flags, uid_t uid)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	if (pthread_rwlock_init(&h->map_lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	h->fd = fd;
	h->flags = flags;
	h->uid = uid;
	h->refs = 1;
	return h;
}

/* The one place a handle's resources go. */
static void handle_destroy(struct handle *h)
{
	if (h->map)
		munmap(h->map, h->map_len);
	close(h->fd);
	limits_give(h->uid, LIMIT_FDS, 1);
	pthread_rwlock_destroy(&h->map_lock);
	free(h);
}

void handle_discard(struct handle *h)
{
	assert(h->refs == 1 && !h->node);
	handle_destroy(h);
}

/* With the lock held: drops one reference of h; the last one leaves it to g. */
static void handle_unref(struct handle *h, struct garbage *g)
{
	assert(h->refs > 0);
	if (--h->refs == 0) {
		h->next = g->handles;
		g->handles = h;
	}
}

static void free_other_names(struct node *node)
{
	while (node->other_names) {
		struct other_name *o = node->other_names;

		node->other_names = o->next;
		free(o);
	}
}

/* A node out of the table: frees what is its own, hands its keeper to g. */
static void node_destroy(struct node *node, struct garbage *g)
{
	assert(!node->handles && node->nlookup == 0 && !node->backing_id);
	if (node->keeper) {
		node->keeper->node = NULL;
		handle_unref(node->keeper, g);
	}
	free_other_names(node);
	free(node->name);
	free(node->view_data);
	free(node);
}

/* Without the lock: does what a locked section decided. req: for the backing id, or NULL. */
static void dispose(struct garbage *g, fuse_req_t req)
{
	if (g->inval)
		inval_all();
	if (g->backing_id)
		passthrough_unregister(req, g->backing_id);
	/* A node's keeper is left in g->handles when the node goes: nodes first. */
	pthread_mutex_lock(&table.lock);
	while (g->nodes) {
		struct node *node = g->nodes;

		g->nodes = node->hash_next;
		node_destroy(node, g);
	}
	pthread_mutex_unlock(&table.lock);
	while (g->handles) {
		struct handle *h = g->handles;

		g->handles = h->next;
		handle_destroy(h);
	}
}

int nodes_init(const struct nodes_config *config)
{
	table.config = *config;
	table.buckets = calloc(INITIAL_BUCKETS, sizeof(*table.buckets));
	table.names = calloc(INITIAL_BUCKETS, sizeof(*table.names));
	if (!table.buckets || !table.names) {
		free(table.buckets);
		free(table.names);
		table.buckets = table.names = NULL;
		return -ENOMEM;
	}
	table.bucket_count = INITIAL_BUCKETS;
	table.count = 0;
	return 0;
}

void nodes_destroy(void)
{
	struct garbage g = { 0 };

	for (size_t i = 0; i < table.bucket_count; i++) {
		while (table.buckets[i]) {
			struct node *node = table.buckets[i];

			table.buckets[i] = node->hash_next;
			/* At exit the kernel may not have sent every release and forget. */
			while (node->handles) {
				struct handle *h = node->handles;

				node->handles = h->next;
				h->refs = 1;
				handle_unref(h, &g);
			}
			node->nlookup = 0;
			node->backing_id = 0;
			node_destroy(node, &g);
		}
	}
	while (g.handles) {
		struct handle *h = g.handles;

		g.handles = h->next;
		handle_destroy(h);
	}
	free(table.buckets);
	free(table.names);
	table.buckets = table.names = NULL;
	table.bucket_count = table.count = 0;
}

size_t nodes_count(void)
{
	size_t count;

	pthread_mutex_lock(&table.lock);
	count = table.count;
	pthread_mutex_unlock(&table.lock);
	return count;
}

/* With the lock held: the node that claims name, or NULL. */
static struct node *claimant(const char *name)
{
	struct node *node = table.names[name_bucket_of(name, table.bucket_count)];

	while (node && strcmp(node->name, name) != 0)
		node = node->name_next;
	return node;
}

/* With the lock held: node gives up its claim on its name. */
static void unclaim(struct node *node)
{
	struct node **p;

	if (!node->name_indexed)
		return;
	p = &table.names[name_bucket_of(node->name, table.bucket_count)];
	while (*p != node)
		p = &(*p)->name_next;
	*p = node->name_next;
	node->name_indexed = false;
}

/* With the lock held: node, just looked up by its name, claims it. */
static void claim(struct node *node)
{
	struct node *other;
	size_t b;

	if (!node->name || node->name_indexed)
		return;
	other = claimant(node->name);
	if (other)
		unclaim(other);
	b = name_bucket_of(node->name, table.bucket_count);
	node->name_next = table.names[b];
	table.names[b] = node;
	node->name_indexed = true;
}

/* Doubles the bucket arrays; a failed allocation just keeps longer chains. */
static void grow(void)
{
	size_t count = table.bucket_count * 2;
	struct node **buckets = calloc(count, sizeof(*buckets));
	struct node **names = calloc(count, sizeof(*names));

	if (!buckets || !names) {
		free(buckets);
		free(names);
		return;
	}
	for (size_t i = 0; i < table.bucket_count; i++) {
		while (table.names[i]) {
			struct node *node = table.names[i];
			size_t b = name_bucket_of(node->name, count);

			table.names[i] = node->name_next;
			node->name_next = names[b];
			names[b] = node;
		}
		while (table.buckets[i]) {
			struct node *node = table.buckets[i];
			size_t b = bucket_of(node->ino, count);

			table.buckets[i] = node->hash_next;
			node->hash_next = buckets[b];
			buckets[b] = node;
		}
	}
	free(table.names);
	free(table.buckets);
	table.names = names;
	table.buckets = buckets;
	table.bucket_count = count;
}

/* A segment is its device and inode: /dev/shm may be another tmpfs tomorrow. */
static bool same(const struct node *node, dev_t dev, ino_t ino)
{
	return node->ino == ino && node->dev == dev;
}

static struct node *find(dev_t dev, ino_t ino)
{
	struct node *node = table.buckets[bucket_of(ino, table.bucket_count)];

	while (node && !same(node, dev, ino))
		node = node->hash_next;
	return node;
}

/* With the lock held: leaves node to g once neither the kernel nor an open file uses it. */
static void release_if_unused(struct node *node, struct garbage *g)
{
	struct node **p;

	if (node->nlookup || node->handles)
		return;
	unclaim(node);
	p = &table.buckets[bucket_of(node->ino, table.bucket_count)];
	while (*p != node)
		p = &(*p)->hash_next;
	*p = node->hash_next;
	table.count--;
	node->hash_next = g->nodes;
	g->nodes = node;
}

/* With the lock held: takes name out of node's other names; whether it was there. */
static bool drop_other_name(struct node *node, const char *name)
{
	for (struct other_name **p = &node->other_names; *p; p = &(*p)->next) {
		if (strcmp((*p)->name, name) == 0) {
			struct other_name *o = *p;

			*p = o->next;
			free(o);
			return true;
		}
	}
	return false;
}

/*
 * With the lock held: node is now known as name. A segment renamed or
 * linked behind our back has several; the ones the kernel may still cache
 * are kept, to be checked (nodes_stat) and dropped when stale. Too many
 * to check: the kernel is to forget them all (g->inval).
 */
static void set_name(struct node *node, const char *name, struct garbage *g)
{
	bool new_cached;
	char *copy;

	if (!name || (node->name && strcmp(node->name, name) == 0))
		return;
	copy = strdup(name);
	if (!copy)
		return;
	new_cached = drop_other_name(node, name);
	if (node->name && node->name_cached) {
		size_t len = strlen(node->name), count = 1;
		struct other_name *o = malloc(sizeof(*o) + len + 1), **last;

		if (o) {
			memcpy(o->name, node->name, len + 1);
			o->next = node->other_names;
			node->other_names = o;
		}
		for (last = &node->other_names; *last && count < CHECK_NAMES_MAX;
		     last = &(*last)->next)
			count++;
		if (*last) {
			g->inval = true;
			free_other_names(node);
			new_cached = false;
		}
	}
	unclaim(node);
	free(node->name);
	node->name = copy;
	node->name_cached = new_cached;
	node->name_gone = false;
}

struct node *nodes_get(const char *name, uint64_t anon_id, const struct stat *st, uint64_t nlookup)
{
	struct garbage g = { 0 };
	struct node *node;
	size_t b;

	pthread_mutex_lock(&table.lock);
	node = find(st->st_dev, st->st_ino);
	if (node) {
		/* Renamed behind our back (in /dev/shm): the inode is what counts. */
		set_name(node, name, &g);
		claim(node);
		node->nlookup += nlookup;
		pthread_mutex_unlock(&table.lock);
		dispose(&g, NULL);
		return node;
	}
	node = calloc(1, sizeof(*node));
	if (node && name)
		node->name = strdup(name);
	if (!node || (name && !node->name)) {
		pthread_mutex_unlock(&table.lock);
		free(node);
		return NULL;
	}
	node->ino = st->st_ino;
	node->dev = st->st_dev;
	node->anon_id = anon_id;
	/* Node ids are addresses and get reused; the generation tells them apart. */
	node->generation = ++table.generation;
	node->nlookup = nlookup;
	if (table.count >= table.bucket_count)
		grow();
	b = bucket_of(node->ino, table.bucket_count);
	node->hash_next = table.buckets[b];
	table.buckets[b] = node;
	table.count++;
	claim(node);
	pthread_mutex_unlock(&table.lock);
	return node;
}

struct node *nodes_get_object(const struct view *view, dev_t key, ino_t ino, const void *data,
			      size_t len, uint64_t nlookup)
{
	struct stat st = { .st_dev = key, .st_ino = ino };
	struct node *node = nodes_get(NULL, 0, &st, nlookup);
	void *copy;
	bool ok;

	if (!node)
		return NULL;
	copy = malloc(len);

	pthread_mutex_lock(&table.lock);
	node->view = view;
	if (copy) {
		memcpy(copy, data, len);
		free(node->view_data); /* only memory: no system call */
		node->view_data = copy;
		node->view_data_len = len;
	}
	ok = node->view_data != NULL;
	pthread_mutex_unlock(&table.lock);
	if (!ok) {
		nodes_forget(node, nlookup);
		return NULL;
	}
	return node;
}

bool nodes_find_object(const struct view *view, dev_t key, ino_t ino, void *buf, size_t len)
{
	struct node *node;
	bool found;

	pthread_mutex_lock(&table.lock);
	node = find(key, ino);
	found = node && node->nlookup && node->view == view && node->view_data &&
		node->view_data_len == len;
	if (found)
		memcpy(buf, node->view_data, len);
	pthread_mutex_unlock(&table.lock);
	return found;
}

void nodes_object_data(struct node *node, void *buf, size_t len)
{
	pthread_mutex_lock(&table.lock);
	memcpy(buf, node->view_data, len < node->view_data_len ? len : node->view_data_len);
	pthread_mutex_unlock(&table.lock);
}

void nodes_set_object_data(struct node *node, const void *data, size_t len)
{
	void *copy = malloc(len);

	if (!copy)
		return;
	memcpy(copy, data, len);
	pthread_mutex_lock(&table.lock);
	free(node->view_data); /* only memory: no system call */
	node->view_data = copy;
	node->view_data_len = len;
	pthread_mutex_unlock(&table.lock);
}

double nodes_lend_entry(struct node *node)
{
	double t = ENTRY_TIMEOUT;

	if (table.config.cache)
		return table.config.cache_timeout;
	if (!inval_available())
		return 0;
	pthread_mutex_lock(&table.lock);
	if (node->handles || node->keeper)
		t = 0;
	else if (node->name)
		node->name_cached = true;
	pthread_mutex_unlock(&table.lock);
	return t;
}

void nodes_forget(struct node *node, uint64_t nlookup)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&table.lock);
	/* More forgotten than looked up is a bug of ours or the kernel's. */
	assert(nlookup <= node->nlookup);
	node->nlookup -= nlookup < node->nlookup ? nlookup : node->nlookup;
	release_if_unused(node, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

void nodes_attach(struct node *node, struct handle *h)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&table.lock);
	h->node = node;
	/*
	 * From the first open on, stats come from the open file, and the name
	 * may come to mean another segment meanwhile: every path lookup must
	 * ask again, so the kernel forgets the entries it caches.
	 */
	if (!node->handles && (node->name_cached || node->other_names)) {
		g.inval = true;
		free_other_names(node);
		node->name_cached = false;
	}
	h->next = node->handles;
	node->handles = h;
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

/* With the lock held: one open file stops using the node's backing id. */
static void backing_put_locked(struct node *node, struct garbage *g)
{
	assert(node->backing_users > 0);
	if (node->backing_users && --node->backing_users == 0) {
		g->backing_id = node->backing_id;
		node->backing_id = 0;
	}
}

void nodes_release(struct node *node, struct handle *h, fuse_req_t req)
{
	struct garbage g = { 0 };
	struct handle **p;

	pthread_mutex_lock(&table.lock);
	for (p = &node->handles; *p && *p != h; p = &(*p)->next)
		;
	assert(*p == h);
	if (*p)
		*p = h->next;
	/*
	 * The last file served from the backing id closes it. The kernel
	 * took its own reference when the open that named the id completed,
	 * and RELEASE comes after that. Decided here, before the node may go:
	 * the kernel's FORGET can overtake the RELEASE of the last open file.
	 */
	if (h->passthrough)
		backing_put_locked(node, &g);
	handle_unref(h, &g);
	release_if_unused(node, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, req);
}

/* With the lock held: an open file of node (or its keeper) to use unlocked, or NULL. */
static struct handle *borrow(struct node *node)
{
	struct handle *h = node->handles ? node->handles : node->keeper;

	if (h)
		h->refs++;
	return h;
}

static void give_back(struct handle *h)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&table.lock);
	handle_unref(h, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

/*
 * Checks the names the kernel may hold for node (its name, and the other
 * names it was seen under). Returns 0 with the status of the segment,
 * -ENOENT when every name is gone, or -ESTALE when a name now means
 * another segment or only some of them are gone (the call may have come
 * through either). With several names, the kernel forgets them all.
 */
static int check_names(struct node *node, struct stat *ret)
{
	char names[CHECK_NAMES_MAX][PSHM_NAME_MAX + 1];
	bool bad[CHECK_NAMES_MAX] = { false };
	size_t count = 0, good = 0, moved = 0;
	struct garbage g = { 0 };
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&table.lock);
	if (!node->name) {
		pthread_mutex_unlock(&table.lock);
		return -ENOENT;
	}
	snprintf(names[count++], sizeof(names[0]), "%s", node->name);
	for (struct other_name *o = node->other_names; o && count < CHECK_NAMES_MAX; o = o->next)
		snprintf(names[count++], sizeof(names[0]), "%s", o->name);
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

	for (size_t i = 0; i < count; i++) {
		int r = pshm_stat_name(names[i], &st, NULL);

		if (r == 0 && st.st_ino == ino && st.st_dev == dev) {
			if (!good++)
				*ret = st;
		} else {
			bad[i] = true;
			if (r == 0)
				moved++; /* the name now means another segment */
		}
	}
	if (good == count)
		return 0;

	/*
	 * One name: the kernel's entry answers ENOENT, or is looked up again
	 * on ESTALE. Several: the stat may have come through a good one, and
	 * the kernel forgets them all, to look each up again.
	 */
	if (count > 1) {
		pthread_mutex_lock(&table.lock);
		g.inval = true;
		free_other_names(node);
		node->name_cached = false;
		for (size_t i = 0; i < count; i++) {
			if (!bad[i]) {
				set_name(node, names[i], &g); /* open by a name that works */
				break;
			}
		}
		pthread_mutex_unlock(&table.lock);
		dispose(&g, NULL);
	}
	return good || moved ? -ESTALE : -ENOENT;
}

/* cache=on: the kernel's entry may be old, ESTALE makes it look again. */
static int gone(int r)
{
	return r == -ENOENT && table.config.cache ? -ESTALE : r;
}

/*
 * An open node's name, after its stat came from the open file: a listing
 * that raced the open may have left the kernel an entry of the name (see
 * nodes_attach). If the name means something else now, that entry goes
 * (once: the file may stay open long after).
 */
static void check_open_name(struct node *node, const struct stat *st)
{
	char name[PSHM_NAME_MAX + 1];
	struct stat now;
	bool check;

	pthread_mutex_lock(&table.lock);
	check = node->name && !node->name_gone && !node->keeper && inval_available();
	if (check)
		snprintf(name, sizeof(name), "%s", node->name);
	pthread_mutex_unlock(&table.lock);
	if (!check)
		return;
	if (pshm_stat_name(name, &now, NULL) == 0 && now.st_ino == st->st_ino &&
	    now.st_dev == st->st_dev)
		return;
	pthread_mutex_lock(&table.lock);
	node->name_gone = true;
	pthread_mutex_unlock(&table.lock);
	inval_all();
}

int nodes_stat(struct node *node, struct stat *ret)
{
	struct handle *h;
	bool open_file;
	int r;

	pthread_mutex_lock(&table.lock);
	h = borrow(node);
	open_file = h && node->handles;
	pthread_mutex_unlock(&table.lock);
	if (h) {
		/* fstat of an open file and stat of its name look the same here. */
		r = pshm_stat(h->fd, ret, NULL);
		give_back(h);
		if (r == 0 && open_file)
			check_open_name(node, ret);
		return r;
	}
	if (node->anon_id) /* fixed for the node's life */
		return gone(anon_stat(node->anon_id, ret));
	return gone(check_names(node, ret));
}

int nodes_open(struct node *node, int oflags)
{
	char name[PSHM_NAME_MAX + 1];
	struct handle *h;
	bool several;
	struct stat st;
	dev_t dev;
	ino_t ino;
	int fd, r;

	pthread_mutex_lock(&table.lock);
	h = borrow(node);
	pthread_mutex_unlock(&table.lock);
	if (h) {
		char path[64];

		/*
		 * Reopening an open file through /proc works for unlinked
		 * segments too; the borrowed reference keeps its descriptor
		 * open meanwhile. The kernel checks this thread's rights.
		 */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", h->fd);
		fd = open(path, oflags | O_CLOEXEC);
		fd = fd < 0 ? -errno : fd;
		give_back(h);
		return fd;
	}
	if (node->anon_id)
		return gone(anon_reopen(node->anon_id, oflags));
	pthread_mutex_lock(&table.lock);
	several = node->other_names != NULL;
	pthread_mutex_unlock(&table.lock);
	if (several) {
		/* Known by several names: the open may have come through a stale one. */
		r = check_names(node, &st);
		if (r < 0)
			return gone(r);
	}
	/* By its one name, the descriptor's identity is the check. */
	pthread_mutex_lock(&table.lock);
	snprintf(name, sizeof(name), "%s", node->name ? node->name : "");
	ino = node->ino;
	dev = node->dev;
	pthread_mutex_unlock(&table.lock);

	fd = pshm_open(name, oflags & ~O_TRUNC, 0, NULL);
	if (fd == -ENXIO)
		return -ESTALE; /* the name means something else now, and no segment */
	if (fd < 0)
		return gone(fd);
	if (pshm_stat(fd, &st, NULL) < 0 || st.st_ino != ino || st.st_dev != dev) {
		pshm_close(fd, NULL);
		return -ESTALE;
	}
	/* Truncate only once we know it is the same segment. */
	if (oflags & O_TRUNC) {
		r = pshm_truncate(fd, 0, NULL);
		if (r < 0) {
			pshm_close(fd, NULL);
			return r;
		}
	}
	return fd;
}

int nodes_backing_get(struct node *node, int fd, fuse_req_t req)
{
	int id;

	if (!passthrough_active())
		return 0;
	pthread_mutex_lock(&table.lock);
	/* Two first opens register one id: the kernel refuses a second for an inode in use. */
	while (node->backing_busy)
		pthread_cond_wait(&table.backing_done, &table.lock);
	if (!node->backing_id) {
		node->backing_busy = true;
		pthread_mutex_unlock(&table.lock);
		id = passthrough_register(req, fd);
		pthread_mutex_lock(&table.lock);
		node->backing_busy = false;
		if (id > 0)
			node->backing_id = id;
		pthread_cond_broadcast(&table.backing_done);
	}
	id = node->backing_id;
	if (id)
		node->backing_users++;
	pthread_mutex_unlock(&table.lock);
	return id;
}

void nodes_backing_put(struct node *node, fuse_req_t req)
{
	struct garbage g = { 0 };

	pthread_mutex_lock(&table.lock);
	backing_put_locked(node, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, req);
}

void nodes_identity(struct node *node, char name[PSHM_NAME_MAX + 1], uint64_t *ret_anon_id)
{
	pthread_mutex_lock(&table.lock);
	snprintf(name, PSHM_NAME_MAX + 1, "%s", node->name ? node->name : "");
	*ret_anon_id = node->anon_id;
	pthread_mutex_unlock(&table.lock);
}

struct handle *nodes_keep(const char *name, uid_t uid)
{
	struct handle *keeper;
	struct node *node;
	struct stat st, now;
	int fd;

	if (pshm_stat_name(name, &st, NULL) < 0)
		return NULL;
	pthread_mutex_lock(&table.lock);
	node = find(st.st_dev, st.st_ino);
	/* The kernel drops its entry for name itself. */
	if (node && node->name && strcmp(node->name, name) == 0)
		node->name_cached = false;
	else if (node)
		drop_other_name(node, name);
	/*
	 * Kept even when files are open on it: they may all close before an
	 * open that looked the name up just before the unlink arrives.
	 * Unknown to the kernel, or kept already: nothing to do.
	 */
	if (!node || node->keeper) {
		pthread_mutex_unlock(&table.lock);
		return NULL;
	}
	pthread_mutex_unlock(&table.lock);

	/* A descriptor held for uid: within their limit, or not kept at all. */
	if (limits_take(uid, LIMIT_FDS, 1) < 0)
		return NULL;
	fd = pshm_open(name, O_RDONLY, 0, NULL);
	keeper = fd < 0 || fstat(fd, &now) < 0 ? NULL : handle_new(fd, O_RDONLY, uid);
	if (!keeper) {
		if (fd >= 0)
			close(fd);
		limits_give(uid, LIMIT_FDS, 1);
		return NULL;
	}
	pthread_mutex_lock(&table.lock);
	node = find(now.st_dev, now.st_ino);
	if (node && !node->keeper) {
		node->keeper = keeper;
		keeper->node = node;
		keeper->refs++; /* the caller's, for nodes_kept */
		pthread_mutex_unlock(&table.lock);
		return keeper;
	}
	pthread_mutex_unlock(&table.lock);
	handle_destroy(keeper);
	return NULL;
}

void nodes_kept(struct handle *keeper, bool unlinked)
{
	struct garbage g = { 0 };
	struct node *node;

	if (!keeper)
		return;
	pthread_mutex_lock(&table.lock);
	node = keeper->node;
	/* The unlink failed: nothing to keep the segment for (if the node is still there). */
	if (!unlinked && node && node->keeper == keeper) {
		node->keeper = NULL;
		handle_unref(keeper, &g);
	}
	handle_unref(keeper, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

int nodes_check_name(const char *name)
{
	struct node *node;
	struct stat st;
	dev_t dev;
	ino_t ino;

	pthread_mutex_lock(&table.lock);
	node = claimant(name);
	if (!node) {
		pthread_mutex_unlock(&table.lock);
		return 0; /* the kernel holds no entry of ours for it */
	}
	dev = node->dev;
	ino = node->ino;
	pthread_mutex_unlock(&table.lock);
	if (pshm_stat_name(name, &st, NULL) < 0 || st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	return 0;
}

/* With the lock held: the node known to the kernel as segment st now means name. */
static void name_now(const struct stat *st, const char *name, struct garbage *g)
{
	struct node *node = find(st->st_dev, st->st_ino), *old = claimant(name);

	/* The kernel's entry for name now means this node: no stale names to check. */
	if (old && old != node)
		unclaim(old);
	if (!node)
		return;
	set_name(node, name, g);
	claim(node);
}

void nodes_exchanged(const char *a, const char *b)
{
	struct garbage g = { 0 };
	struct node *node;
	struct stat at_a, at_b;
	bool have_a = pshm_stat_name(a, &at_a, NULL) == 0;
	bool have_b = pshm_stat_name(b, &at_b, NULL) == 0;

	pthread_mutex_lock(&table.lock);
	/*
	 * Both names moved at once (the kernel swapped its entries): neither
	 * claim holds, neither old name is left to check, then each name is
	 * the other's.
	 */
	for (int i = 0; i < 2; i++) {
		node = claimant(i ? b : a);
		if (node) {
			unclaim(node);
			node->name_cached = false;
		}
	}
	if (have_a)
		name_now(&at_a, a, &g);
	if (have_b)
		name_now(&at_b, b, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

void nodes_renamed(const char *from, const char *to)
{
	struct garbage g = { 0 };
	struct node *node;
	struct stat st;
	bool have = pshm_stat_name(to, &st, NULL) == 0;

	pthread_mutex_lock(&table.lock);
	node = claimant(from);
	if (node) {
		unclaim(node); /* the kernel moved its entry */
		if (node->name && strcmp(node->name, from) == 0)
			node->name_cached = false; /* not a stale name to check later */
	}
	if (have)
		name_now(&st, to, &g);
	pthread_mutex_unlock(&table.lock);
	dispose(&g, NULL);
}

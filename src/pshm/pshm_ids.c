/* SPDX-License-Identifier: MIT */
/* pshm: the names of uids and gids, as listings show owners (pshm_table_i.h), the last few kept. */
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>

#include "pshm_table_i.h"

/*
 * The name of a uid or gid, or NULL: the last few asked are kept, since a
 * listing asks for the same owners over and over and each getpwuid reads
 * the password file again. One table per process, and one thread.
 */
#define NAMES_KEPT 8
struct id_name {
	unsigned id;
	bool known;
	char name[64];
};

static const char *id_name(struct id_name kept[NAMES_KEPT], unsigned *next, unsigned id, bool group)
{
	struct id_name *slot;

	for (int i = 0; i < NAMES_KEPT; i++)
		if (kept[i].name[0] && kept[i].id == id)
			return kept[i].known ? kept[i].name : NULL;
	slot = &kept[(*next)++ % NAMES_KEPT];
	if (group) {
		const struct group *g = getgrgid((gid_t)id);

		slot->known = g != NULL;
		snprintf(slot->name, sizeof(slot->name), "%s", g ? g->gr_name : "?");
	} else {
		const struct passwd *p = getpwuid((uid_t)id);

		slot->known = p != NULL;
		snprintf(slot->name, sizeof(slot->name), "%s", p ? p->pw_name : "?");
	}
	slot->id = id;
	return slot->known ? slot->name : NULL;
}

const char *table_user_name(unsigned uid)
{
	static struct id_name kept[NAMES_KEPT];
	static unsigned next;

	return id_name(kept, &next, uid, false);
}

const char *table_group_name(unsigned gid)
{
	static struct id_name kept[NAMES_KEPT];
	static unsigned next;

	return id_name(kept, &next, gid, true);
}

/* SPDX-License-Identifier: MIT */
/*
 * shmfs: the daemon's doubly linked lists, intrusive as systemd's LIST_*:
 * an item has prev and next pointers, a list is a pointer to its first
 * item. Every list of the daemon (open control sessions, a session's
 * waits, open listings, pending waits) is kept with these two.
 */
#ifndef LIST_I_H
#define LIST_I_H

/* Puts item first in the list whose first item is head. */
#define LIST_PREPEND(head, item)                     \
	do {                                         \
		(item)->prev = NULL;                 \
		(item)->next = (head);               \
		if ((item)->next)                    \
			(item)->next->prev = (item); \
		(head) = (item);                     \
	} while (0)

/* Takes item out of the list whose first item is head. */
#define LIST_REMOVE(head, item)                            \
	do {                                               \
		if ((item)->prev)                          \
			(item)->prev->next = (item)->next; \
		else                                       \
			(head) = (item)->next;             \
		if ((item)->next)                          \
			(item)->next->prev = (item)->prev; \
		(item)->prev = (item)->next = NULL;        \
	} while (0)

#endif /* LIST_I_H */

/* SPDX-License-Identifier: MIT */
/* shmfs: copying out of a mapping that another process may shrink at any moment. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "guard_i.h"
#include "shmfs_i.h"

/*
 * Touching a page of a shared mapping past the segment's current end raises
 * SIGBUS. Another process can shrink a segment between our size check and
 * the copy, so every copy runs under a per-thread recovery point: the
 * handler jumps back and the copy reports -EFAULT instead of killing the
 * daemon. Faults outside a guarded copy are real bugs and keep their
 * default action.
 */
static __thread sigjmp_buf *recovery;

static void on_sigbus(int sig, siginfo_t *info, void *context)
{
	sigjmp_buf *env = recovery;

	(void)info;
	(void)context;
	if (env)
		siglongjmp(*env, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

int guard_init(void)
{
	/* SA_NODEFER: the jump leaves the handler without restoring the signal mask. */
	struct sigaction sa = { .sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int guard_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf env;

	if (sigsetjmp(env, 0)) {
		recovery = NULL;
		return -EFAULT;
	}
	recovery = &env;
	__asm__ volatile("" ::: "memory"); /* keep the copy inside the guarded span */
	memcpy(dst, src, len);
	__asm__ volatile("" ::: "memory");
	recovery = NULL;
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * pshm wait: a segment as it comes, from inotify on PSHM_DIR
 * (pshm_inotify.c). A name created and removed again before it could be
 * looked at is still a creation (--created).
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pshm_cli_i.h"
#include "pshm_inotify_i.h"

/* What wait has learnt from one batch of events about its name. */
struct sighting {
	bool look;    /* something happened to the name (or events were lost): look */
	bool created; /* it was given to something (not a directory) */
	bool lost;    /* the kernel's queue overflowed: events were lost */
};

static struct sighting sight(const char *buf, size_t len, const char *name)
{
	const struct inotify_event *e;
	struct sighting s = { 0 };

	FOR_EACH_EVENT(e, buf, len)
	{
		if (e->mask & IN_Q_OVERFLOW)
			s.lost = s.look = true;
		if (e->mask & IN_IGNORED)
			s.look = true;
		if (!e->len || strcmp(e->name, name) != 0)
			continue;
		s.look = true;
		if ((e->mask & NAME_GIVEN) && !(e->mask & IN_ISDIR))
			s.created = true;
	}
	return s;
}

int cmd_wait(int argc, char **argv)
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "min-size", required_argument, NULL, 's' },
		{ "created", no_argument, NULL, 'c' },
		CLI_HELP_OPTION,
		{ 0 },
	};
	bool created = false, sized = false;
	int64_t deadline = -1;
	off_t min_size = 0;
	double seconds = -1;
	const char *name;
	size_t size;
	char *end, *buf;
	int c, fd, r;

	while ((c = cli_option(argc, argv, "t:s:ch", options)) != -1) {
		if (c == 't') {
			errno = 0;
			seconds = strtod(optarg, &end);
			if (!optarg[0] || *end || errno || !isfinite(seconds) || seconds < 0 ||
			    seconds > TIMEOUT_MAX_SECONDS)
				return cli_usage("bad timeout '%s': seconds, e.g. 5 or 0.3",
						 optarg);
		}
		if (c == 's') {
			if (cli_parse_size(optarg, &min_size) != 0)
				return CLI_USAGE;
			sized = true;
		}
		created |= c == 'c';
	}
	if (argc - optind != 1)
		return cli_usage("expected NAME");
	if (cli_check_name(argv[optind]) != 0)
		return CLI_USAGE;
	name = argv[optind][0] == '/' ? argv[optind] + 1 : argv[optind];
	/* A semaphore shares the directory but is never a segment: the wait could never end. */
	if (is_semaphore(name))
		return cli_usage("'%s' is a named semaphore's name (" PSHM_SEMAPHORE_PREFIX
				 "*), never a segment's",
				 name);
	/* A creation counts whatever happens next, so no size can be vouched for. */
	if (created && sized)
		return cli_usage("--created and --min-size exclude each other: a creation counts "
				 "even when the segment is gone before it can be seen");
	if (seconds >= 0)
		deadline = now_ms() + (int64_t)ceil(seconds * 1000);
	buf = event_buffer(&size);
	if (!buf)
		return CLI_FAILED;
	/*
	 * The watch first, then the look: a segment created (or grown) after
	 * the look has queued an event by then. ftruncate is IN_MODIFY, a
	 * rename into the directory IN_MOVED_TO.
	 */
	fd = watch_dir(WAIT_EVENTS);
	if (fd < 0) {
		free(buf);
		return -fd;
	}
	for (struct sighting s = { .look = true };;) {
		int64_t left = deadline < 0 ? -1 : deadline - now_ms();
		struct stat st;
		ssize_t n;

		if (s.look) {
			enum look found = look_at(name, &st);

			if (found == LOOK_FAILED) {
				r = cli_fail(errno, "lstat", name);
				break;
			}
			if (found == LOOK_SEGMENT && st.st_size >= min_size) {
				r = CLI_OK;
				break;
			}
			/*
			 * Created since the wait began, even if gone by now; but not
			 * when what has the name is no segment (a FIFO made there).
			 */
			if (created && s.created && found != LOOK_OTHER) {
				r = CLI_OK;
				break;
			}
			/* Events lost: a creation among them cannot be known. */
			if (created && s.lost) {
				fprintf(stderr,
					"pshm wait: events were lost (the kernel's inotify queue "
					"overflowed) and '%s' is not there now: whether it was "
					"created meanwhile cannot be known\n",
					name);
				r = CLI_FAILED;
				break;
			}
		}
		if (deadline >= 0 && left <= 0) {
			r = CLI_TIMEOUT;
			break;
		}
		/* Every event queued, before the look they may call for. */
		n = read_events(fd, buf, size,
				left < 0         ? -1
				: left > INT_MAX ? INT_MAX
						 : (int)left);
		if (n < 0) {
			r = cli_fail((int)-n, "read", "inotify");
			break;
		}
		s = sight(buf, (size_t)n, name);
	}
	close(fd);
	free(buf);
	return r;
}

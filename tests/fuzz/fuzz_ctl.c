/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the control file's command parser takes any bytes and stays in bounds. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_parse_i.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly the room the daemon gives a line: the limit and a NUL. */
	char *line = malloc(CTL_LINE_MAX + 1), message[CTL_MESSAGE_MAX];
	struct ctl_command cmd = { .verb = CTL_NONE };
	size_t len = size > CTL_LINE_MAX + 1 ? CTL_LINE_MAX + 1 : size;
	int r;

	if (!line)
		return 0;
	memcpy(line, data, len > CTL_LINE_MAX ? CTL_LINE_MAX : len);
	message[0] = '\0';
	r = ctl_parse(line, len > CTL_LINE_MAX ? CTL_LINE_MAX : len, &cmd, message,
		      sizeof(message));
	if (r < 0 && (r != -EINVAL || !message[0] || strlen(message) >= sizeof(message)))
		abort(); /* -EINVAL with a reason, always */
	if (r == 0) {
		if (cmd.verb == CTL_ANON && (cmd.size < 0 || (cmd.mode & ~0777u)))
			abort();
		if (cmd.verb == CTL_FREE && cmd.id == 0)
			abort();
		if (cmd.verb == CTL_HOLDERS &&
		    (!cmd.name || cmd.name < line || cmd.name > line + CTL_LINE_MAX))
			abort();
		/* A wait names its segment inside the line, and never both created and a size. */
		if (cmd.verb == CTL_WAIT &&
		    (!cmd.name || cmd.name < line || cmd.name > line + CTL_LINE_MAX ||
		     cmd.timeout_ms < -1 || cmd.timeout_ms > (int64_t)CTL_WAIT_MAX_S * 1000 ||
		     cmd.min_size < 0 || (cmd.created && cmd.min_size != 0)))
			abort();
	}
	free(line);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the size parser accepts only what it documents, and never overflows. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pshm.h"

#define INPUT_MAX 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[INPUT_MAX + 1], message[512];
	struct pshm_error err;
	off_t value = -7;
	size_t digits = 0;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	if (pshm_parse_size(text, &value, &err) < 0) {
		if (value != -7 || (err.code != EINVAL && err.code != ERANGE))
			abort(); /* untouched on failure, and only the documented errors */
		pshm_strerror(&err, message, sizeof(message));
		return 0;
	}
	if (value < 0)
		abort();
	while (isdigit((unsigned char)text[digits]))
		digits++;
	/* Accepted: digits, then nothing or one of the documented suffixes. */
	if (digits == 0)
		abort();
	if (text[digits] && strcasecmp(text + digits, "k") && strcasecmp(text + digits, "kib") &&
	    strcasecmp(text + digits, "m") && strcasecmp(text + digits, "mib") &&
	    strcasecmp(text + digits, "g") && strcasecmp(text + digits, "gib") &&
	    strcasecmp(text + digits, "t") && strcasecmp(text + digits, "tib"))
		abort();
	if (!text[digits] && (off_t)strtoll(text, NULL, 10) != value)
		abort();
	return 0;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the keyword parsers, and that whatever they accept formats back to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pshm.h"

#define INPUT_MAX 4096

static void check_oflags(const char *text)
{
	struct pshm_error err;
	char formatted[256], message[512];
	int flags, again;

	if (pshm_parse_oflags(text, &flags, &err) < 0) {
		if (pshm_strerror(&err, message, sizeof(message)) <= 0 && err.code == 0)
			abort();
		return;
	}
	if (pshm_format_oflags(flags, formatted, sizeof(formatted)) < 0 ||
	    pshm_parse_oflags(formatted, &again, NULL) < 0 || again != flags)
		abort();
}

static void check_mode(const char *text)
{
	struct pshm_error err;
	char formatted[256], message[512];
	mode_t mode, again;

	if (pshm_parse_mode(text, &mode, &err) < 0) {
		pshm_strerror(&err, message, sizeof(message));
		return;
	}
	if (mode & ~(mode_t)0777)
		abort();
	if (pshm_format_mode(mode, formatted, sizeof(formatted)) < 0 ||
	    pshm_parse_mode(formatted, &again, NULL) < 0 || again != mode)
		abort();
}

static void check_prot(const char *text)
{
	struct pshm_error err;
	char formatted[256], message[512];
	int prot, again;

	if (pshm_parse_prot(text, &prot, &err) < 0) {
		pshm_strerror(&err, message, sizeof(message));
		return;
	}
	if (pshm_format_prot(prot, formatted, sizeof(formatted)) < 0 ||
	    pshm_parse_prot(formatted, &again, NULL) < 0 || again != prot)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[INPUT_MAX + 1];

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(text, data, size);
	text[size] = '\0';
	check_oflags(text);
	check_mode(text);
	check_prot(text);
	return 0;
}

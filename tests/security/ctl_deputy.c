/* SPDX-License-Identifier: MIT */
/*
 * A confused deputy for the security tests: writes argv[1] to descriptor 3
 * (a .ctl the caller opened) and exits 0, or with the errno of the write.
 * The test installs a copy setuid root at run time; it exits 125 when it
 * does not run as root, so a nosuid /tmp cannot pass for a refusal.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	if (geteuid() != 0)
		return 125;
	if (write(3, argv[1], strlen(argv[1])) < 0)
		return errno;
	return 0;
}

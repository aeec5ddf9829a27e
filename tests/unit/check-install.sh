#!/usr/bin/env bash
# A program outside the tree builds against the installed library with
# pkg-config alone, and runs.
set -euo pipefail
build=$1 sanitize=${2:-none}
cflags=()
[ "$sanitize" = none ] || cflags=("-fsanitize=$sanitize")
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null
pc=$(find "$dest" -name pshm.pc)
[ -n "$pc" ] || { echo "pshm.pc was not installed"; exit 1; }
export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_PATH=$(dirname "$pc")
# off_t and struct stat cross the API: users must get the library's 64-bit ones.
pkg-config --cflags pshm | grep -q -- '-D_FILE_OFFSET_BITS=64' ||
	{ echo "pshm.pc does not pass -D_FILE_OFFSET_BITS=64"; exit 1; }

cat >"$dest/outside.c" <<'C'
#include <pshm.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char buf[64];
	int flags;

	if (pshm_parse_oflags("rdwr|creat", &flags, NULL) < 0)
		return 1;
	pshm_format_oflags(flags, buf, sizeof(buf));
	puts(buf);
	return strcmp(buf, "read-write,create") != 0;
}
C
# shellcheck disable=SC2046
cc "${cflags[@]}" -o "$dest/outside" "$dest/outside.c" $(pkg-config --cflags --libs pshm)
libdir=$(dirname "$(find "$dest" -name 'libpshm.so.0' | head -1)")
out=$(LD_LIBRARY_PATH=$libdir "$dest/outside")
[ "$out" = "read-write,create" ] || { echo "unexpected output: $out"; exit 1; }
echo "built and ran a program against the installed pshm.pc: $out"

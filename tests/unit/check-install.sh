#!/usr/bin/env bash
# meson install puts everything where a system looks for it: pshm in bin,
# shmfs in sbin, both manuals, pshm's completion, shmfs's unit template.
# A program outside the tree builds against the installed library with
# pkg-config alone, and runs.
set -euo pipefail
build=$1 sanitize=${2:-none}
cflags=()
[ "$sanitize" = none ] || cflags=("-fsanitize=$sanitize")
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

meson install -C "$build" --no-rebuild --destdir "$dest" >/dev/null

# The programs, their manuals, pshm's completion and shmfs's unit, where a system looks.
prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
root=$dest$prefix
for f in bin/pshm sbin/shmfs share/man/man1/pshm.1 share/man/man8/shmfs.8 share/man/man3/pshm.3; do
	[ -f "$root/$f" ] || { echo "$f was not installed under $prefix"; exit 1; }
done
[ -x "$root/bin/pshm" ] && [ -x "$root/sbin/shmfs" ] || { echo "pshm or shmfs is not executable"; exit 1; }
completion=$(find "$dest" -path '*/bash-completion/completions/pshm')
[ -n "$completion" ] || { echo "pshm's bash completion was not installed"; exit 1; }
bash -n "$completion" || { echo "the completion is not valid bash"; exit 1; }
unit=$(find "$dest" -path '*/systemd/system/shmfs@.service')
[ -n "$unit" ] || { echo "shmfs@.service was not installed"; exit 1; }
grep -qx "ExecStart=$prefix/sbin/shmfs -o \${SHMFS_OPTIONS} %f" "$unit" ||
	{ echo "shmfs@.service does not start the installed shmfs:"; grep ^ExecStart "$unit"; exit 1; }
if command -v systemd-analyze >/dev/null; then
	# Only the missing binary may be reported: the unit lives in the destdir.
	problems=$(cd "$(dirname "$unit")" && systemd-analyze verify --man=no "$unit" 2>&1 |
		grep -v 'is not executable: No such file or directory' || true)
	[ -z "$problems" ] || { echo "systemd-analyze verify: $problems"; exit 1; }
fi
# pshm metrics every 15 s: the service starts the installed pshm, the timer starts the service.
metrics=$(find "$dest" -path '*/systemd/system/pshm-metrics.service')
timer=$(find "$dest" -path '*/systemd/system/pshm-metrics.timer')
[ -n "$metrics" ] && [ -n "$timer" ] || { echo "pshm-metrics.service or .timer was not installed"; exit 1; }
grep -qx "ExecStart=$prefix/bin/pshm metrics --output /var/lib/prometheus/node-exporter/shm.prom" "$metrics" ||
	{ echo "pshm-metrics.service does not start the installed pshm:"; grep ^ExecStart "$metrics"; exit 1; }
if command -v systemd-analyze >/dev/null; then
	problems=$(cd "$(dirname "$metrics")" && systemd-analyze verify --man=no "$metrics" "$timer" 2>&1 |
		grep -v 'is not executable: No such file or directory' || true)
	[ -z "$problems" ] || { echo "systemd-analyze verify: $problems"; exit 1; }
fi
libdir=$(dirname "$(find "$dest" -name 'libpshm.so.0' | head -1)")
version=$(LD_LIBRARY_PATH=$libdir "$root/bin/pshm" --version)
[ "$version" = "pshm $(meson introspect "$build" --projectinfo | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')" ] ||
	{ echo "the installed pshm says: $version"; exit 1; }
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
out=$(LD_LIBRARY_PATH=$libdir "$dest/outside")
[ "$out" = "read-write,create" ] || { echo "unexpected output: $out"; exit 1; }
echo "installed: $version in bin, shmfs in sbin, pshm.1, shmfs.8, the completion, shmfs@.service, pshm-metrics.service and .timer"
echo "built and ran a program against the installed pshm.pc: $out"

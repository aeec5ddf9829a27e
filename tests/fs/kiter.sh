#!/usr/bin/env bash
# Root's scans from the kernel iterators against the walk of /proc, through
# the daemon: one shmfs with them (kernel_iter=auto), one without
# (kernel_iter=off), and a third shmfs mount that nobody maps a segment
# through (with passthrough, the mapping's file is the daemon's backing
# file, which /proc/PID/maps shows under the third mount's path). The two
# daemons must tell the same usage of that process.
# Usage: kiter.sh PATH-TO-SHMFS
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1
isolate 64M "$@"
py=/usr/bin/python3
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
iter=$(mktemp -d /tmp/shmfs-kiter-XXXXXX)
walk=$(mktemp -d /tmp/shmfs-kiter-walk-XXXXXX)
other=$(mktemp -d /tmp/shmfs-kiter-other-XXXXXX)
ready=$(mktemp -u /tmp/shmfs-kiter-ready-XXXXXX)
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	for m in "$iter" "$walk" "$other"; do
		fusermount3 -u "$m" 2>/dev/null
		rmdir "$m" 2>/dev/null
	done
	rm -f "$ready"
}
trap cleanup EXIT
"$shmfs" -o allow_other "$iter" && "$shmfs" -o allow_other,kernel_iter=off "$walk" &&
	"$shmfs" -o allow_other "$other" || exit 1
if ! grep -q '^kernel-iter on' "$iter/.ctl"; then
	echo "SKIP: no kernel iterators here ($(grep '^kernel-iter' "$iter/.ctl"))"
	exit 77
fi
check "the other daemon walks /proc" "kernel-iter off: -o kernel_iter=off" \
	"$(grep '^kernel-iter' "$walk/.ctl")"

# nobody maps a segment through the third mount, and holds one open there.
"${nobody[@]}" "$py" -c 'import mmap, os, sys, time
fd = os.open(sys.argv[1] + "/kiter-mapped", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[0] = 1
os.close(fd)
kept = os.open(sys.argv[1] + "/kiter-open", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(kept, 4096)
os.write(kept, b"x")
open(sys.argv[2], "w").write("%d\n" % os.getpid())
time.sleep(120)' "$other" "$ready" &
holder=$!
for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.05; done
[ -s "$ready" ] || { echo "the holder did not start"; exit 1; }
passthrough=$(grep '^passthrough' "$other/.ctl")

# The holder's lines only: the rest of the machine may change between two scans.
usage() { (exec 4<>"$1/.ctl"; echo "usage by-process" >&4; cat <&4) | grep -E "^process [a-z-]+ $holder "; }
check "the holder's usage: the iterators' scan is the walk's ($passthrough)" \
	"$(usage "$walk")" "$(usage "$iter")"
check "a mapping through another mount is no holding of either" "" "$(usage "$iter")"
summary kiter

#!/usr/bin/env bash
# Other IPC namespaces cost a scan what their segments cost, and any user
# can make them (a user namespace of their own, then unshare -i): one user
# with 24 namespaces of 32,768 segments once made every System V scan take
# 12-14 s (root's too: ETIMEDOUT) and the daemon hold 1.1 GB, and one with
# 256 namespaces hid any container started after them from root. Attacked
# as two users: uid 4711 makes 260 namespaces of one segment each (more
# than the 256 a scan once read, first by pid), uid 4712 two of 3,000
# each, and root starts a container last (uids of their own: the bounds
# are per user, machine-wide, and nobody may have namespaces already).
# Each user's
# namespaces make a scan read at most 64 namespaces and 4,096 segments;
# root's container is read whole; the scan says how many namespaces it
# left out (pshm usage, .ctl usage, pshm metrics).
# Usage: ipc_bounds.sh PATH-TO-SHMFS PATH-TO-PSHM
set -uo pipefail
here=$(cd "$(dirname "$0")/../fs" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1 pshm=$2
isolate_ipc 16M "$@"
py=/usr/bin/python3
if ! setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U -i true 2>/dev/null; then
	echo "SKIP: no unprivileged user namespaces here: no user can make IPC namespaces"
	exit 77
fi
mnt=$(mktemp -d /tmp/shmfs-ipcbounds-XXXXXX)
work=$(mktemp -d /tmp/shmfs-ipcbounds-work-XXXXXX)
chmod 0755 "$mnt" "$work"
mkdir -m 1777 "$work/ready"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -- "-$pid" "$pid" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" || umount -l "$mnt"; }
	rmdir "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
"$shmfs" -o allow_other "$mnt" || exit 1

# maker.py KEY NAMESPACES SEGMENTS READY: NAMESPACES children, each in a
# user and an IPC namespace of its own, each with SEGMENTS segments of a
# page (never touched: no memory) keyed KEY, KEY+1...; READY when all are.
cat >"$work/maker.py" <<'PY'
import ctypes, os, signal, sys, time
key, namespaces, segments, ready = int(sys.argv[1], 0), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
libc = ctypes.CDLL("libc.so.6", use_errno=True)
CLONE_NEWUSER, CLONE_NEWIPC = 0x10000000, 0x08000000
os.setpgid(0, 0)
r, w = os.pipe()
for _ in range(namespaces):
    if os.fork() == 0:
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWIPC) != 0:
            os._exit(1)
        for i in range(segments):
            if libc.shmget(key + i, 4096, 0o600 | 0o1000) < 0:
                os._exit(2)
        os.write(w, b".")
        signal.pause()
        os._exit(0)
made = 0
while made < namespaces:
    made += len(os.read(r, 4096))
open(ready, "w").close()
signal.pause()
PY
# make USER KEY NAMESPACES SEGMENTS: starts a maker as USER, waits for it.
make() {
	local ready=$work/ready/$2
	setpriv --reuid="$1" --regid="$1" --clear-groups "$py" "$work/maker.py" "$2" "$3" "$4" "$ready" &
	pids+=("$!")
	for _ in $(seq 600); do [ -e "$ready" ] && return 0; sleep 0.05; done
	return 1
}
# What other users' namespaces leave out already (none on a machine of its own).
skipped() { "$pshm" metrics | awk '$1 == "shm_scan_ipc_namespaces_skipped" { print $2 }'; }
already=$(skipped)
make 4711 0x6e620000 260 1
check "uid 4711 made 260 IPC namespaces of 1 segment" "0" "$?"
make 4712 0x6e630000 2 3000
check "uid 4712 made 2 IPC namespaces of 3,000 segments" "0" "$?"
# Root's container, started after both: a detached 1 MiB segment.
unshare -i "$py" -c 'import ctypes, signal, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmget(0x6e640000, 1 << 20, 0o600 | 0o1000)
open(sys.argv[1], "w").close()
signal.pause()' "$work/ready/root" &
pids+=("$!")
for _ in $(seq 100); do [ -e "$work/ready/root" ] && break; sleep 0.05; done
root_ns=$(stat -L -c %i "/proc/${pids[-1]}/ns/ipc")

names=$("$pshm" ls --sysv -n -r -o NAME)
check "uid 4711's namespaces: 64 of 260 read, one segment each" "64" \
	"$(grep -c '@0x6e620000@' <<<"$names")"
check "uid 4712's: 4,096 segments read of 6,000" "4096" "$(grep -c '@0x6e63....@' <<<"$names")"
check "root's container, started last, is read whole" ".sysv/$root_ns@0x6e640000@0" \
	"$(grep '@0x6e640000@' <<<"$names")"
check "the mount shows the same bounds" "64 4096 1" \
	"$(ls "$mnt/.sysv" | awk '/@0x6e620000@/ { a++ } /@0x6e63....@/ { b++ } /@0x6e640000@/ { c++ } END { print a, b, c }')"
# Left out: uid 4711's 196 namespaces past 64, uid 4712's second read in part.
total=$((already + 197))
check "pshm metrics says 197 namespaces more were not read whole" "$total" "$(skipped)"
check "so does .ctl usage" "sysv-partial namespaces $total" \
	"$(exec 4<>"$mnt/.ctl"; echo usage >&4; timeout 30 cat <&4 | grep '^sysv-partial')"
check "and pshm usage, where it counts: in unexplained" "1" \
	"$("$pshm" usage | grep '^unexplained' | grep -c "System V segments of $total IPC namespaces not read")"
check "nobody's own .ctl usage answers" "ok" \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "exec 3<>'$mnt/.ctl'; echo usage >&3; timeout 30 cat <&3" | tail -1 | cut -d' ' -f1)"
summary ipc-bounds

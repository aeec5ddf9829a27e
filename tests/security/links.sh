#!/usr/bin/env bash
# The views reach another process's object through its /proc link
# (/proc/PID/fd/N), which that process controls: it may put any file
# behind the number at any moment. Attacked as nobody, for a bounded time:
# a memfd's link swapped for a file of the mount itself (a stat through
# it once asked the daemon for its own getattr until every worker waited
# on itself, and SIGTERM could not end it) and for a root-only file (the
# daemon opened it as root, then checked). Afterwards root's requests are
# answered at once, the root-only file was never opened, and the daemon
# ends on unmount. The same swap, at the same time, on a descriptor that
# alone keeps an IPC namespace alive, which root's scans of .sysv open to
# enter it. Usage: links.sh PATH-TO-SHMFS
set -uo pipefail
here=$(cd "$(dirname "$0")/../fs" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1
isolate 16M "$@"
py=/usr/bin/python3
seconds=${SHMFS_RACE_SECONDS:-5}
mnt=$(mktemp -d /tmp/shmfs-links-XXXXXX)
work=$(mktemp -d /tmp/shmfs-links-work-XXXXXX)
daemon=
cleanup() {
	pkill -u nobody -f "$work/attack.py" 2>/dev/null
	pkill -u nobody -f "$work/nsattack.py" 2>/dev/null
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" || umount -l "$mnt"; }
	# A daemon stuck on itself is freed only by aborting its connection.
	[ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null && abort_connection && kill -9 "$daemon"
	wait 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
abort_connection() {
	[ -n "${conn:-}" ] || return 0
	mountpoint -q /sys/fs/fuse/connections || mount -t fusectl none /sys/fs/fuse/connections
	echo 1 >"/sys/fs/fuse/connections/$conn/abort" 2>/dev/null
	return 0
}
chmod 0755 "$work"
mkdir -m 0700 "$work/rootonly"
chmod 0711 "$work/rootonly" # nobody may reach it by name (O_PATH), never read it
mkdir -m 1777 "$work/ready"
echo secret >"$work/rootonly/secret"
chmod 0600 "$work/rootonly/secret"

"$shmfs" -f -o allow_other "$mnt" 2>"$work/daemon.err" &
daemon=$!
for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.05; done
check "shmfs mounted" "yes" "$(mountpoint -q "$mnt" && echo yes)"
conn=$(stat -c %d "$mnt") # the FUSE connection's number is the mount's device minor

cat >"$work/attack.py" <<'PY'
import os, socket, sys, threading, time
mnt, secret, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
bait = os.memfd_create("bait")
os.ftruncate(bait, 4096)
# At 10 alone, so the entry leads through /proc/PID/fd/10.
os.dup2(bait, 10)
os.close(bait)
entry = os.path.join(mnt, ".memfd", "bait@%d" % os.fstat(10).st_ino)
deadline = time.monotonic() + 10
while not os.path.exists(entry) and time.monotonic() < deadline:
    time.sleep(0.05)
if not os.path.exists(entry):
    print("no entry"); sys.exit(1)
mount_file = os.open(entry, os.O_PATH)
secret_file = os.open(secret, os.O_PATH)
# 1. The memfd only in flight (no scan finds it), the link on the mount's own file.
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
socket.send_fds(a, [b"x"], [10])
os.dup2(mount_file, 10)
time.sleep(1)  # past the kernel's cached attributes: the next stat asks the daemon
try:
    os.stat("/proc/self/fd/10")
    print("phase 1 stat ok", file=sys.stderr)
except OSError as e:
    print("phase 1", e, file=sys.stderr)
_, fds, _, _ = socket.recv_fds(b, 1, 1)
os.dup2(fds[0], 10)
os.close(fds[0])
# 2. The link swapped every 100 us between the memfd and the mount's file or
#    a root-only file, while others stat, read and ask the entry's xattrs.
#    The memfd is only ever at 10 (in flight meanwhile): every fresh scan
#    leads the entry through /proc/PID/fd/10 again.
stop = time.monotonic() + seconds
def use():
    while time.monotonic() < stop:
        for f in (lambda: os.stat(entry),
                  lambda: os.close(os.open(entry, os.O_RDONLY)),
                  lambda: os.getxattr(entry, "user.shmfs.seals")):
            try:
                f()
            except OSError:
                pass
threads = [threading.Thread(target=use) for _ in range(4)]
for t in threads:
    t.start()
swaps = 0
while time.monotonic() < stop:
    time.sleep(0.0001)
    socket.send_fds(a, [b"x"], [10])
    os.dup2((mount_file, secret_file)[swaps % 2], 10)
    swaps += 1
    time.sleep(0.0001)
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
    os.dup2(fds[0], 10)
    os.close(fds[0])
for t in threads:
    t.join()
print("swapped", swaps)
PY

# The same swap on a descriptor that keeps an IPC namespace alive with no
# process in it (a user namespace of nobody's own), which root's scans of
# .sysv open to enter it: 11 is that namespace's nsfs file, or in flight
# while the mount's own file or the root-only file stands there.
cat >"$work/nsattack.py" <<'PY'
import ctypes, os, socket, sys, time
mnt, secret, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
libc = ctypes.CDLL("libc.so.6", use_errno=True)
if libc.shmget(0x6c6e6b01, 4096, 0o600 | 0o1000) < 0:
    print("shmget failed"); sys.exit(1)
held = os.open("/proc/self/ns/ipc", os.O_RDONLY)
os.dup2(held, 11)
os.close(held)
if libc.unshare(0x08000000) != 0:  # the first namespace is now held by 11 alone
    print("unshare failed"); sys.exit(1)
mount_file = os.open(os.path.join(mnt, ".ctl"), os.O_PATH)
secret_file = os.open(secret, os.O_PATH)
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
open(sys.argv[4], "w").close()
stop = time.monotonic() + seconds
swaps = 0
while time.monotonic() < stop:
    time.sleep(0.0001)
    socket.send_fds(a, [b"x"], [11])
    os.dup2((mount_file, secret_file)[swaps % 2], 11)
    swaps += 1
    time.sleep(0.0001)
    _, fds, _, _ = socket.recv_fds(b, 1, 1)
    os.dup2(fds[0], 11)
    os.close(fds[0])
print("swapped", swaps)
PY

# Root watches the root-only file for opens (inotify, IN_OPEN) throughout.
cat >"$work/watch.py" <<'PY'
import ctypes, os, select, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(os.O_NONBLOCK)
libc.inotify_add_watch(fd, sys.argv[1].encode(), 0x20)  # IN_OPEN
print("watching", flush=True)
sys.stdin.readline()  # until the attack is over
opens = 0
while select.select([fd], [], [], 0)[0]:
    opens += len(os.read(fd, 65536)) // 16  # events without a name: 16 bytes each
print(opens)
PY
coproc watcher { "$py" "$work/watch.py" "$work/rootonly/secret"; }
read -r _ <&"${watcher[0]}"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$py" "$work/attack.py" \
	"$mnt" "$work/rootonly/secret" "$seconds" >"$work/attack.out" 2>&1 &
attacker=$!
nsattacker=
if setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -i true 2>/dev/null; then
	setpriv --reuid=nobody --regid=nogroup --clear-groups unshare -U -r -i "$py" \
		"$work/nsattack.py" "$mnt" "$work/rootonly/secret" "$seconds" "$work/ready/ns" \
		>"$work/nsattack.out" 2>&1 &
	nsattacker=$!
	for _ in $(seq 100); do [ -e "$work/ready/ns" ] && break; sleep 0.05; done
	# Root's scans of .sysv meanwhile: each enters the held namespace through 11.
	scans=0 found=0
	while kill -0 "$nsattacker" 2>/dev/null; do
		entries=$(timeout 5 ls "$mnt/.sysv" 2>/dev/null | grep -c '@0x6c6e6b01@')
		found=$((found + entries))
		scans=$((scans + 1))
	done
	wait "$nsattacker"
	cat "$work/nsattack.out" >&2
	echo "root listed .sysv $scans times, found the held namespace's segment $found times" >&2
	check "the namespace attack ran its course" "swapped" \
		"$(awk '$1 == "swapped" { print $1 }' "$work/nsattack.out")"
	check "root's scans entered the held namespace, between the swaps" "yes" \
		"$([ "$found" -gt 0 ] && echo yes)"
else
	echo "ok - # SKIP no user namespaces for nobody: the namespace descriptor is not swapped"
fi
# A process waiting on a daemon stuck on itself cannot even be killed: the
# attack gets its time and 20 s more, then the connection is aborted.
if ! timeout $((seconds + 20)) tail --pid="$attacker" -f /dev/null; then
	check "the daemon still answered after the attack's time" "yes" "no: stuck"
	abort_connection
fi
wait "$attacker"
attack=$(cat "$work/attack.out")
echo "$attack" >&2
check "the attack ran its course" "swapped" "$(echo "$attack" | awk '$1 == "swapped" { print $1 }')"
echo done >&"${watcher[1]}"
read -r opens <&"${watcher[0]}"
check "the root-only file behind the link was never opened" "0" "$opens"
check "root's requests are answered at once afterwards" "0" \
	"$(timeout 5 stat "$mnt/.ctl" >/dev/null 2>&1; echo $?)"
check "and nobody's too" "0" \
	"$(timeout 5 setpriv --reuid=nobody --regid=nogroup --clear-groups ls "$mnt/.memfd" >/dev/null 2>&1; echo $?)"
start=$(date +%s%N)
timeout 5 fusermount3 -u "$mnt"
status=124
timeout 5 tail --pid="$daemon" -f /dev/null && { wait "$daemon"; status=$?; daemon=; }
check "the daemon ends with 0 on unmount, within 5 s" "0 yes" \
	"$status $([ $(($(date +%s%N) - start)) -lt 5000000000 ] && echo yes)"
check "and said nothing of a fault" "" "$(grep -E 'ERROR|AddressSanitizer|runtime error' "$work/daemon.err")"
summary links

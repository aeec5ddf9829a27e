#!/usr/bin/env bash
# shmfs used the way a test harness script uses it: plain shell tools through
# the mount, each result checked against /dev/shm itself. Runs as root in a
# private mount namespace with its own tmpfs on /dev/shm.
set -uo pipefail
shmfs=$(realpath "$1")
. "$(dirname "$(realpath "$0")")/lib.sh"
isolate 32M "$@"

mnt=$(mktemp -d /tmp/shmfs-harness-XXXXXX)
fstab_mnt=$(mktemp -d /tmp/shmfs-harness-XXXXXX)
opt_mnt=$(mktemp -d /tmp/shmfs-harness-XXXXXX)
cleanup() {
	for m in "$mnt" "$fstab_mnt" "$opt_mnt"; do
		mountpoint -q "$m" && umount "$m"
		rmdir "$m" 2>/dev/null || echo "# $m was not empty: something was written outside the mount" >&2
	done
}
trap cleanup EXIT

# Daemon mode: the mount is usable the moment the command returns.
"$shmfs" "$mnt" || exit 1
touch "$mnt/job"
check "touch creates an empty segment" "regular empty file 0 644" "$(stat -c '%F %s %a' /dev/shm/job)"

truncate -s 1M "$mnt/job"
check "truncate -s sets the size" "1048576" "$(stat -c %s /dev/shm/job)"
chmod 600 "$mnt/job"
check "chmod reaches the segment" "600" "$(stat -c %a /dev/shm/job)"
check "stat agrees with /dev/shm" "$(stat -c '%s %a %U %G %i %b %Y %Z' /dev/shm/job)" \
	"$(stat -c '%s %a %U %G %i %b %Y %Z' "$mnt/job")"

printf 'hello, segment\n' >"$mnt/greeting"
check "printf > file writes the segment" "hello, segment" "$(cat /dev/shm/greeting)"
check "cat reads it back" "hello, segment" "$(cat "$mnt/greeting")"
printf 'more\n' >>"$mnt/greeting"
check ">> appends" "$(printf 'hello, segment\nmore')" "$(cat /dev/shm/greeting)"
# An append through the mount lands at the segment's end as it is now,
# after another process's append.
printf 'a\n' >"$mnt/log"
exec 3>>"$mnt/log"
printf 'b\n' >>/dev/shm/log
printf 'c\n' >&3
exec 3>&-
check "appending through the mount follows an outside append" "a b c" "$(xargs </dev/shm/log)"
rm /dev/shm/log
printf 'new\n' >"$mnt/greeting"
check "> truncates first" "new" "$(cat /dev/shm/greeting)"

# Another program changes the segment behind the mount's back.
python3 - <<'PY'
import mmap, os
fd = os.open("/dev/shm/greeting", os.O_RDWR)
m = mmap.mmap(fd, 4)
m[:4] = b"MAP\n"
PY
check "a write through another process's mmap shows at once" "MAP" "$(cat "$mnt/greeting")"

check "ls lists what /dev/shm has" "$(ls /dev/shm)" "$(ls "$mnt")"
check "ls -l agrees with /dev/shm" "$(ls -l --time-style=+%s /dev/shm | tail -n +2)" \
	"$(ls -l --time-style=+%s "$mnt" | tail -n +2)"
# du of the mount also counts its views of other shared memory: the segments alone agree.
check "du of the segments agrees with /dev/shm" \
	"$(du -s --apparent-size /dev/shm | cut -f1) $(du -s /dev/shm | cut -f1)" \
	"$(du -s --apparent-size --exclude='.*' "$mnt" | cut -f1) $(du -s --exclude='.*' "$mnt" | cut -f1)"
check "df shows the shm filesystem" "$(df --output=size,used,avail /dev/shm | tail -1)" \
	"$(df --output=size,used,avail "$mnt" | tail -1)"

dd if=/dev/urandom of="$mnt/blob" bs=64k count=16 status=none
check "dd through the mount, cmp on /dev/shm" "same" "$(cmp -s "$mnt/blob" /dev/shm/blob && echo same)"
inode=$(stat -c %i /dev/shm/blob)
mv "$mnt/blob" "$mnt/moved"
check "mv renames: the same segment, the old name gone" "moved $inode" \
	"$(cd /dev/shm && ls moved blob 2>/dev/null) $(stat -c %i /dev/shm/moved)"

check "mkdir is refused" "Operation not permitted" \
	"$(mkdir "$mnt/dir" 2>&1 | sed 's/.*: //')"
check "a name too long is refused" "File name too long" \
	"$(touch "$mnt/$(printf 'n%.0s' {1..256})" 2>&1 | sed 's/.*: //')"

rm "$mnt/job" "$mnt/greeting" "$mnt/moved"
check "rm unlinks" "" "$(ls /dev/shm)"

# fstab style: for "shmfs DIR fuse.shmfs allow_other,prefix=app. 0 0", mount(8)
# runs mount.fuse3 like this (with systemd's options and dev,suid added), and
# mount.fuse3 runs "shmfs shmfs DIR -o ..." from PATH.
touch /dev/shm/app.visible /dev/shm/hidden
PATH=$(dirname "$shmfs"):$PATH mount.fuse3 shmfs "$fstab_mnt" -t fuse.shmfs \
	-o allow_other,prefix=app.,x-systemd.automount,x-systemd.idle-timeout=60,nofail,dev,suid
check "mount -t fuse.shmfs with fstab options" "visible" "$(ls "$fstab_mnt")"
check "allow_other turned on default_permissions" "yes" \
	"$(grep " $fstab_mnt " /proc/mounts | grep -q default_permissions && echo yes)"
mountpoint -q "$fstab_mnt" && touch "$fstab_mnt/made"
check "prefix= creates with the prefix" "app.made app.visible hidden" "$(ls /dev/shm | xargs)"

# A bad option is refused with a message that names it, and nothing is mounted.
for opt in cache=maybe cache_timeout=-1 prefix=a/b max_read=100 max_read=lots passthrough=maybe; do
	msg=$("$shmfs" -o "$opt" "$opt_mnt" 2>&1)
	rc=$?
	check "-o $opt is refused" "exit 1, not mounted, names ${opt#*=}" \
		"exit $rc, $(mountpoint -q "$opt_mnt" && echo mounted || echo not mounted), $(
			grep -q -- "${opt#*=}" <<<"$msg" && echo "names ${opt#*=}" || echo "says: $msg")"
done

# Reads through the daemon (passthrough=off): a smaller max_read splits them
# into more requests; a larger one than a pipe holds makes libfuse copy
# instead of splicing. The bytes are the same.
head -c 3000000 /dev/urandom >/dev/shm/random
for size in 16384 1048576; do
	"$shmfs" -o max_read=$size,passthrough=off "$opt_mnt" || exit 1
	check "passthrough=off is reported" "passthrough off: -o passthrough=off" \
		"$(grep ^passthrough "$opt_mnt/.ctl")"
	check "-o max_read=$size reads every byte" "$(md5sum </dev/shm/random)" \
		"$(dd if="$opt_mnt/random" bs=1M status=none | md5sum)"
	umount "$opt_mnt"
done
check "dd with 1 MiB blocks reads every byte" "$(md5sum </dev/shm/random)" \
	"$(dd if="$mnt/random" bs=1M status=none | md5sum)"
rm /dev/shm/random

# A daemon without CAP_SYS_ADMIN (here: root of a user namespace) cannot
# register backing files: it says so, and serves the data itself.
if unshare -U -r -m true 2>/dev/null; then
	userns_out=$(unshare -U -r -m bash -c '
		mount -t tmpfs -o size=8M tmpfs /dev/shm || exit 1
		"$1" "$2" || exit 1
		printf "served\n" >"$2/plain"
		cat "$2/plain"
		grep ^passthrough "$2/.ctl"
		python3 -c "
import mmap, os, sys
try:
    mmap.mmap(os.open(sys.argv[1], os.O_RDWR), 4)
    print(\"mapped\")
except OSError as e:
    print(os.strerror(e.errno))
" "$2/plain"
		umount "$2"' userns "$shmfs" "$opt_mnt" 2>&1)
	check "without CAP_SYS_ADMIN the daemon serves the data itself" \
		"$(printf 'served\npassthrough off: registering a backing file failed: Operation not permitted\nNo such device')" \
		"$userns_out"
else
	echo "# skipped the CAP_SYS_ADMIN check: no user namespaces here"
fi

# /dev/shm on a stacked file system (overlayfs) cannot back a passthrough
# file either: the status says why, and the daemon serves the data.
ovl_out=$(unshare -m bash -c '
	base=$(mktemp -d /tmp/shmfs-ovl-XXXXXX)
	mount -t tmpfs tmpfs "$base" && mkdir "$base/l" "$base/u" "$base/w" || exit 1
	mount -t overlay overlay -o "lowerdir=$base/l,upperdir=$base/u,workdir=$base/w" /dev/shm ||
		{ echo "no overlayfs"; exit 0; }
	"$1" "$2" 2>/dev/null || exit 1
	printf "stacked\n" >"$2/plain"
	cat "$2/plain"
	grep ^passthrough "$2/.ctl"
	umount "$2" /dev/shm "$base"
	rmdir "$base"' ovl "$shmfs" "$opt_mnt" 2>&1)
if [ "$ovl_out" = "no overlayfs" ]; then
	echo "# skipped the stacked /dev/shm check: no overlayfs here"
else
	check "a stacked /dev/shm turns passthrough off and says so" \
		"$(printf 'stacked\npassthrough off: registering a backing file failed: /dev/shm is on a stacked file system')" \
		"$ovl_out"
fi

# Unmounting stops both daemons.
umount "$mnt"
umount "$fstab_mnt"
for _ in $(seq 100); do
	pgrep -f -- "$mnt|$fstab_mnt" >/dev/null || break
	sleep 0.05
done
check "the daemons exit after unmount" "" "$(pgrep -f -- "$mnt|$fstab_mnt")"
rm -f /dev/shm/*

summary harness

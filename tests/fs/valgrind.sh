#!/usr/bin/env bash
# The mount smoke test with the daemon under valgrind: any memory error or
# definite leak makes the daemon exit 99, and the test fails.
set -uo pipefail
shmfs=$(realpath "$1")
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 77; }
. "$(dirname "$(realpath "$0")")/lib.sh"
isolate 64M "$@"

mnt=$(mktemp -d /tmp/shmfs-valgrind-XXXXXX)
log=$(mktemp /tmp/shmfs-valgrind-XXXXXX.log)
cleanup() {
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt"
	rm -f "$log"
}
trap cleanup EXIT

# Both data paths: the kernel's (passthrough) and the daemon's own. Scans
# walk /proc: valgrind knows none of the bpf() commands the kernel
# iterators take (it would call their records uninitialised); the
# sanitizer build runs those.
for mode in auto off; do
	valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--log-file="$log" "$shmfs" -f -o passthrough=$mode,kernel_iter=off "$mnt" &
	daemon=$!
	for _ in $(seq 600); do
		mountpoint -q "$mnt" && break
		kill -0 $daemon 2>/dev/null || { echo "the daemon died before mounting"; cat "$log"; exit 1; }
		sleep 0.05
	done

	set -e
	printf 'hello\n' >"$mnt/a"
	truncate -s 100000 "$mnt/a"
	chmod 600 "$mnt/a"
	cat "$mnt/a" >/dev/null
	head -c 100 "$mnt/a" >/dev/null
	stat "$mnt/a" >/dev/null
	ls -la "$mnt" >/dev/null; df "$mnt" >/dev/null
	getfattr --absolute-names -d -m - "$mnt/a" >/dev/null
	exec 3<>"$mnt/.ctl"
	echo "anon 1M hold" >&3
	read -r reply <&3
	echo "holders a" >&3
	cat <&3 >/dev/null
	echo "list" >&3
	cat <&3 >/dev/null
	echo "bogus" >&3 2>/dev/null || true
	cat <&3 >/dev/null
	echo "wait a 1" >&3
	read -r _ <&3
	(sleep 0.1; touch /dev/shm/vg-later) &
	echo "wait vg-later 5" >&3
	read -r _ <&3
	echo "wait vg-none 0.1" >&3
	read -r _ <&3
	echo "wait vg-never" >&3 # still waiting when the file is closed
	exec 3>&-
	rm -f /dev/shm/vg-later
	cat "$mnt/.ctl" >/dev/null
	rm "$mnt/a"
	set +e

	umount "$mnt"
	wait $daemon
	status=$?
	if [ $status -ne 0 ]; then
		echo "valgrind: the daemon exited $status (passthrough=$mode)"
		cat "$log"
		exit 1
	fi
	echo "valgrind, passthrough=$mode: no memory errors, no definite leaks (reply was: $reply)"
done

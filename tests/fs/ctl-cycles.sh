#!/usr/bin/env bash
# .ctl wait against segments that live for microseconds, through a real
# mount: "created" sees one create+unlink of NAME among 1,000 cycles of
# other names; a plain wait sees a segment that stays after them;
# min-size=BYTES waits for the size. Runs as root in a private mount
# namespace with its own tmpfs on /dev/shm.
set -uo pipefail
shmfs=$(realpath "$1")
cycles=$(realpath "$2")
. "$(dirname "$(realpath "$0")")/lib.sh"
isolate 32M "$@"

mnt=$(mktemp -d /tmp/shmfs-cycles-XXXXXX)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill -CONT "$daemon" 2>/dev/null
	exec 3>&-
	wait 2>/dev/null
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt"
}
trap cleanup EXIT
"$shmfs" "$mnt" || exit 1
# The daemon's own pid, from its summary: this test stops it for a moment.
daemon=$(sed -n 's/^pid //p' "$mnt/.ctl")

# The reply to the command on fd 3, 40 s at most.
reply() {
	local line
	read -r -t 40 line <&3 || line="(no reply in 40 s)"
	echo "$line"
}

exec 3<>"$mnt/.ctl"

# The write returns once the wait is in place: from then on nothing is missed.
echo "wait target 30 created" >&3
"$cycles" 1000 noise --flash target
check "wait NAME TIMEOUT created: one create+unlink of NAME among 1,000 cycles of others" \
	"ok target" "$(reply)"
check "and NAME is gone again" "gone" "$([ -e /dev/shm/target ] && echo there || echo gone)"

echo "wait flash created" >&3
"$cycles" 1000 noise --flash flash
check "wait NAME created, without a timeout" "ok flash" "$(reply)"

echo "wait never 0.3 created" >&3
check "created, and nothing created: the timeout says so" \
	"err ETIMEDOUT never was not created within 0.300 s" "$(reply)"

# The default: the segment there at the reply, even after 1,000 that came and went.
echo "wait stays 30" >&3
"$cycles" 1000 noise --keep stays
check "wait NAME TIMEOUT: a segment that stays, made after 1,000 cycles of others" \
	"ok stays" "$(reply)"
rm -f /dev/shm/stays

# What each promises, told apart: NAME made and unlinked while the daemon is stopped,
# so that it cannot look before it is gone. By default NAME must be there at the
# reply: not so, the timeout; with created, its creation is enough.
echo "wait stopped-plain 1" >&3
echo "wait stopped-created 30 created" >&3
kill -STOP "$daemon"
"$cycles" 1 stopped --flash stopped-plain
"$cycles" 1 stopped --flash stopped-created
kill -CONT "$daemon"
check "wait NAME: gone before the daemon could look, so not there: the timeout" \
	"err ETIMEDOUT stopped-plain did not appear within 1.000 s" "$(reply)"
check "wait NAME created: its creation is enough" "ok stopped-created" "$(reply)"

# min-size=BYTES: not while it is smaller, yes once it is as large.
truncate -s 1K /dev/shm/grows
echo "wait grows 30 min-size=4K" >&3
(sleep 0.3; truncate -s 8K /dev/shm/grows) &
start=$(date +%s%N)
out=$(reply)
took=$((($(date +%s%N) - start) / 1000000))
wait
check "wait NAME TIMEOUT min-size=BYTES: once it has grown" "ok grows" "$out"
check "and not before (${took} ms)" "yes" "$([ "$took" -ge 250 ] && echo yes)"
echo "wait grows 0.3 min-size=1M" >&3
check "min-size=BYTES that never comes: the timeout says so" \
	"err ETIMEDOUT grows did not appear with at least 1048576 bytes within 0.300 s" "$(reply)"
rm -f /dev/shm/grows

# The daemon asks for IN_MODIFY (0x2) only while a wait needs a size: otherwise every
# write(2) to any segment would wake its waits thread.
modify() {
	local mask
	mask=$(grep -h '^inotify' /proc/"$daemon"/fdinfo/* | sed -n 's/.* mask:\([0-9a-f]*\) .*/\1/p')
	echo $((0x${mask:-0} & 2 ? 1 : 0))
}
before=$(modify)
echo "wait sized 30 min-size=4K" >&3
during=$(modify)
truncate -s 4K /dev/shm/sized
out=$(reply)
check "IN_MODIFY only while a min-size wait is pending" "0 1 ok sized 0" "$before $during $out $(modify)"
echo "wait sized-again 30 min-size=4K" >&3
exec 3>&-
for _ in $(seq 100); do [ "$(modify)" = 0 ] && break; sleep 0.05; done
check "and not once the file of a pending one is closed" "0" "$(modify)"
exec 3<>"$mnt/.ctl"
rm -f /dev/shm/sized

# Bad syntax is refused as every command's: the write fails with EINVAL, the reply says why.
usage="err EINVAL usage: wait NAME [TIMEOUT] [created | min-size=BYTES]"
while IFS='|' read -r command why; do
	out=$(echo "$command" 2>&1 >&3)
	check "$command: the write fails" "Invalid argument" "${out##*: }"
	check "$command: and the reply says why" "$why" "$(reply | cut -c1-${#why})"
done <<EOT
wait a created min-size=4K|err EINVAL created and min-size exclude each other
wait a min-size=4K created|err EINVAL created and min-size exclude each other
wait a 5 created created|$usage
wait a created 5|$usage
wait a 5 min-size=4K min-size=8K|$usage
wait a 5 bogus|$usage
wait a 5 min-size=lots|err EINVAL min-size "lots"
wait sem.foo 5 created|err EINVAL sem.foo: a semaphore's name
EOT

summary ctl-cycles

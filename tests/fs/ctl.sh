#!/usr/bin/env bash
# The control file from bash, exactly as a user writes it, and the worked
# example docs/examples/harness.sh. Runs as root in a private mount namespace.
set -uo pipefail
shmfs=$(realpath "$1")
example=$(realpath "$2")
. "$(dirname "$(realpath "$0")")/lib.sh"
isolate 32M "$@"

mnt=$(mktemp -d /tmp/shmfs-ctl-XXXXXX)
cleanup() {
	exec 3>&- 4>&-
	mountpoint -q "$mnt" && umount "$mnt"
	rmdir "$mnt"
}
trap cleanup EXIT
"$shmfs" "$mnt" || exit 1

used_kb() { df --output=used /dev/shm | tail -1 | tr -d ' '; }

check "cat .ctl gives a status summary" "version 0.1.0" "$(cat "$mnt/.ctl" | head -n 1)"

exec 3<>"$mnt/.ctl"
echo "anon 1M hold" >&3
read -r reply <&3
read -r status id size path proc <<<"$reply"
check "anon 1M hold replies ok ID SIZE PATH PROC-PATH" "ok 1048576 .anon/$id /proc/" \
	"$status $size $path ${proc%%[0-9]*}"
check ".anon/ID is the segment" "1048576" "$(stat -c %s "$mnt/$path")"
check "ls without -a shows only named segments" "" "$(ls "$mnt")"
check "ls -a shows the mount's own entries" ". .. .anon .ctl .deleted .hugetlb .memfd .shared-anon .sysv" \
	"$(ls -a "$mnt" | xargs)"

before=$(used_kb)
head -c 1048576 /dev/zero | tr '\0' 'z' >"$mnt/$path"
check "writing through the mount fills it" "1024" "$(($(used_kb) - before))"
check "another process sees it at the /proc path" "zzzz" "$(head -c 4 "$proc")"
check "getfattr shows the path" "$proc" "$(getfattr --absolute-names --only-values -n user.shmfs.path "$mnt/$path")"
check "getfattr -d lists the facts" "user.shmfs.allocated user.shmfs.anon-id user.shmfs.holders user.shmfs.mode user.shmfs.path" \
	"$(getfattr --absolute-names -d -m - "$mnt/$path" | grep -o '^user[^=]*' | sort | xargs)"

out=$(echo "bogus command" 2>&1 >&3)
check "a bad command fails the write" "Invalid argument" "${out##*: }"
read -r reply <&3
check "and its reply says why" 'err EINVAL unknown command "bogus" (try help)' "$reply"

exec 4<>"$mnt/.ctl"
echo "list" >&4
read -r line <&4
check "another descriptor lists the segment" "$id 1048576 0600 0 $path" "$(cut -d' ' -f1-5 <<<"$line")"
read -r line <&4
check "list ends with ok" "ok" "$line"
exec 4>&-

exec 3>&- # hold: closing the descriptor frees the segment
for _ in $(seq 100); do [ -e "$mnt/$path" ] || break; sleep 0.05; done
check "closing the .ctl descriptor frees a held segment" "gone" "$([ -e "$mnt/$path" ] || echo gone)"
check "and df sees the memory back" "0" "$(($(used_kb) - before))"

exec 3<>"$mnt/.ctl"
echo "anon 64K" >&3
read -r status id _ path _ <&3
rm "$mnt/$path"
check "rm .anon/ID releases it" "" "$(ls "$mnt/.anon")"
echo "free $id" >&3 2>/dev/null
read -r reply <&3
check "free of a released one is ENOENT" "err ENOENT no anonymous segment $id" "$reply"
exec 3>&-

# wait, exactly as a harness writes it: the reply comes when a producer makes the segment.
exec 3<>"$mnt/.ctl"
echo "wait jobs 5" >&3
(sleep 0.2; truncate -s 4096 /dev/shm/jobs) &
start=$(date +%s%N)
read -r reply <&3
took=$((($(date +%s%N) - start) / 1000000))
wait
check "wait jobs 5 replies once a producer creates jobs" "ok jobs" "$reply"
check "and not before it does, nor long after (${took} ms)" "yes" \
	"$([ "$took" -ge 150 ] && [ "$took" -lt 2000 ] && echo yes)"
echo "wait jobs" >&3
read -r reply <&3
check "wait for a segment already there replies at once" "ok jobs" "$reply"
echo "wait /lead-slash 5" >&3
(sleep 0.1; truncate -s 0 /dev/shm/lead-slash) &
read -r reply <&3
wait
check "wait /NAME: the leading / is optional, as for shm_open" "ok lead-slash" "$reply"
rm -f /dev/shm/lead-slash
echo "wait nobody-makes-this 0.3" >&3
read -r reply <&3
check "wait with a timeout that passes" "err ETIMEDOUT nobody-makes-this did not appear within 0.300 s" "$reply"
echo "wait never-made" >&3
timeout 1 cat <&3
check "timeout 1 cat on a wait ends after a second (124)" "124" "$?"
echo "list" >&3
touch /dev/shm/never-made
read -r first <&3
read -r second <&3
check "the wait goes on after the signal; later replies come after it" "ok never-made|ok" "$first|$second"
exec 3>&-
rm -f /dev/shm/jobs /dev/shm/never-made

# Names in replies: one reply is one line of printable ASCII, and a name
# comes back as the command wrote it, usable in the next command.
unsafe_lines() { LC_ALL=C grep -caP '[^\x20-\x7e]'; }
exec 3<>"$mnt/.ctl"
out=$(printf 'wait x\033]0;owned\007 1\n' 2>&1 >&3)
check "a command holding ESC or BEL fails its write" "Invalid argument" "${out##*: }"
read -r -t 5 reply <&3
check "its reply names the byte, never echoes it" \
	"err EINVAL the line holds byte 0x1b: commands are printable ASCII" "$reply"
echo 'wait back\slash%2541 5' >&3
(sleep 0.1; truncate -s 0 '/dev/shm/back\slash%2541') &
read -r -t 5 reply <&3
wait
check "wait echoes a name with \\ and % as written" 'ok back\slash%2541' "$reply"
echo "holders ${reply#ok }" >&3
check "and that name works in the next command" "ok" "$(timeout 1 cat <&3 | cut -d" " -f1)"
exec 3>&-
rm -f '/dev/shm/back\slash%2541'
# Whatever else a reply holds is written %XX: here a prefix, the mounter's.
mnt2=$(mktemp -d /tmp/shmfs-ctl-XXXXXX)
if "$shmfs" -o "prefix=p"$'\033[2J\nq\t' "$mnt2"; then
	out=$(cat "$mnt2/.ctl")
	check "a prefix with ESC, a newline and a tab: one summary line, %XX" \
		"prefix p%1B[2J%0Aq%09" "$(grep '^prefix ' <<<"$out")"
	check "and no control byte in any line of the summary" "0" "$(unsafe_lines <<<"$out")"
	umount "$mnt2"
else
	check "shmfs mounts with a prefix holding control bytes" "0" "$?"
fi
rmdir "$mnt2"

# The worked example, as documented.
out=$("$example" "$mnt" 2>&1)
status=$?
echo "$out" | sed 's/^/# /'
check "the harness example succeeds" "0" "$status"
check "the example saw its program map the scratch segment" "yes" \
	"$(grep -q 'holder: [0-9]* python3 map' <<<"$out" && echo yes)"
for _ in $(seq 100); do [ -z "$(ls "$mnt/.anon")" ] && break; sleep 0.05; done
check "the example leaves nothing behind" "" "$(ls -A /dev/shm)$(ls "$mnt/.anon")"

summary ctl

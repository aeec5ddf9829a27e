#!/usr/bin/env bash
# The views of other shared memory (.deleted, .memfd, .sysv, .shared-anon)
# through a real mount, with real Python clients holding each kind: sizes,
# bytes, holders, /proc's own stat, who sees what, and entries vanishing
# with their holder. Usage: views.sh PATH-TO-SHMFS
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1
isolate_ipc 64M "$@"
# Other IPC namespaces' segments (containers', other tests') are named NS@0xKEY@SHMID: not ours.
other_ipc='^[0-9]*@0x'

py=/usr/bin/python3
nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)

mnt=$(mktemp -d /tmp/shmfs-views-XXXXXX)
chmod 755 "$mnt"
holders=()
nsdir=$(mktemp -d /tmp/shmfs-views-ns-XXXXXX)
cleanup() {
	for pid in "${holders[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null
	rmdir "$mnt" "$nsdir" 2>/dev/null
	rm -f "$nsdir.ready"
}
trap cleanup EXIT
"$shmfs" -o allow_other "$mnt" || exit 1

# Holds one object of each kind, each KIND-MARKER at offset 0, then waits.
cat >/tmp/shmfs-views-holder.py <<'PY'
import ctypes, mmap, os, sys, time
from multiprocessing import shared_memory
tag, ready = sys.argv[1], sys.argv[2]
# With a scale: every page written, SCALE times the sizes: a known amount.
full = len(sys.argv) > 3
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
MiB = (1 << 20) * (int(sys.argv[3]) if full else 1)
seg = shared_memory.SharedMemory(name=tag + "-del", create=True, size=2 * MiB)
seg.buf[:12] = b"deleted-" + tag.encode()[:4]
if full:
    seg.buf[12:] = b"d" * (2 * MiB - 12)
seg.unlink()  # unlinked while mapped: a deleted segment
fd = os.memfd_create(tag + "-memfd")
os.ftruncate(fd, 3 * MiB)
os.pwrite(fd, b"memfd---" + tag.encode()[:4], 0)
if full:
    os.pwrite(fd, b"m" * (3 * MiB - 12), 12)
anon = mmap.mmap(-1, 4 * MiB)  # MAP_SHARED|MAP_ANONYMOUS
anon[:12] = b"anon----" + tag.encode()[:4]
if full:
    anon[12:] = b"a" * (4 * MiB - 12)
shmid = libc.shmget(0, 5 * MiB, 0o1644)
addr = libc.shmat(shmid, None, 0)
ctypes.memmove(addr, b"sysv----" + tag.encode()[:4], 12)
if full:
    ctypes.memset(addr + 12, ord("s"), 5 * MiB - 12)
with open(ready, "w") as f:
    f.write("%d %d %d\n" % (os.getpid(), fd, shmid))
time.sleep(60)
PY

# start_holder TAG [full] [USER-PREFIX...]: prints "PID FD SHMID" once its objects exist;
# full: every page written, at 8 times the sizes (112 MiB in all).

start_holder() {
	local tag=$1 ready full=()
	shift
	if [ "${1:-}" = full ]; then
		full=(8)
		shift
	fi
	ready=$(mktemp /tmp/shmfs-views-ready-XXXXXX)
	chmod 666 "$ready"
	rm -f "$ready"
	"$@" "$py" /tmp/shmfs-views-holder.py "$tag" "$ready" "${full[@]}" &
	for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
	cat "$ready"
	rm -f "$ready"
}

read -r pid fd shmid < <(start_holder root)
holders+=("$pid")
check "a holder's objects are ready" "yes" "$([ -n "${pid:-}" ] && echo yes)"

entry() { ls "$mnt/$1" | grep -- "$2" | head -1; }
del=$(entry .deleted root-del@)
memfd=$(entry .memfd root-memfd@)
sysv=$(entry .sysv "^0x[0-9a-f]*@$shmid\$")
# The holder's shared anonymous mapping: its inode, from the holder's maps
# (other processes on the machine may have some too; root sees them all).
anon=$(awk '$2 ~ /s$/ && $6 == "/dev/zero" && $7 == "(deleted)" { print $5; exit }' "/proc/$pid/maps")
check "the deleted segment is NAME@INODE" "root-del@$(stat -L -c %i /proc/$pid/fd/$(ls -l /proc/$pid/fd | awk '/root-del/ {print $9; exit}'))" "$del"
check "the memfd is NAME@INODE, the inode of /proc's link" "root-memfd@$(stat -L -c %i /proc/$pid/fd/$fd)" "$memfd"
check "the System V segment is KEY@ID" "0x00000000@$shmid" "$sysv"
check "the shared anonymous mapping is INODE, the inode in its maps" "$anon" \
	"$(ls "$mnt/.shared-anon" | grep -x -- "${anon:-none}")"
check "sizes are the objects' own" "2097152 3145728 5242880 4194304" \
	"$(stat -c %s "$mnt/.deleted/$del" "$mnt/.memfd/$memfd" "$mnt/.sysv/$sysv" "$mnt/.shared-anon/$anon" | tr '\n' ' ' | sed 's/ $//')"
check "stat matches fstat through /proc/PID/fd" "$(stat -L -c '%s %i %a %u' /proc/$pid/fd/$fd)" \
	"$(stat -c '%s %i %a %u' "$mnt/.memfd/$memfd")"
check "cat returns what each holder wrote" "deleted-root memfd---root sysv----root anon----root" \
	"$(for f in .deleted/$del .memfd/$memfd .sysv/$sysv .shared-anon/$anon; do head -c 12 "$mnt/$f"; echo -n ' '; done | sed 's/ $//')"
check "the System V segment's attachments are back to 1 after reads" "1" \
	"$(ipcs -m -i "$shmid" | sed -n 's/.*nattch=\([0-9]*\).*/\1/p')"
check "user.shmfs.kind says which" "deleted memfd sysv shared-anon" \
	"$(for f in .deleted/$del .memfd/$memfd .sysv/$sysv .shared-anon/$anon; do getfattr --only-values -n user.shmfs.kind "$mnt/$f"; echo -n ' '; done | sed 's/ $//')"
check "user.shmfs.holders names the holder" "yes" \
	"$(getfattr --only-values -n user.shmfs.holders "$mnt/.memfd/$memfd" | grep -q "^$pid python3 fd $fd\$" && echo yes)"
check "holders works on an entry of a view" "$pid python3 fd $fd" \
	"$(exec 4<>"$mnt/.ctl"; echo "holders .memfd/$memfd" >&4; cat <&4 | grep " fd $fd\$")"
check "a view is read-only" "Read-only file system" \
	"$( (echo x >"$mnt/.memfd/$memfd") 2>&1 | sed 's/.*: //')"
before=$(getfattr --only-values -n user.shmfs.allocated "$mnt/.memfd/$memfd")
cat "$mnt/.memfd/$memfd" >/dev/null
check "reading a sparse memfd allocates nothing" "$before" \
	"$(getfattr --only-values -n user.shmfs.allocated "$mnt/.memfd/$memfd")"
sysv_rss() { awk -v id="$1" '$2 == id { print $15 }' /proc/sysvipc/shm; }
check "a System V entry's blocks are its resident bytes" "$(sysv_rss "$shmid")" \
	"$(($(stat -c %b "$mnt/.sysv/$sysv") * 512))"
before=$(sysv_rss "$shmid")
cat "$mnt/.sysv/$sysv" >/dev/null
check "reading a sparse System V segment allocates nothing" "$before" "$(sysv_rss "$shmid")"
ls -l "$mnt/.memfd" >/dev/null
truncate -s 6M "/proc/$pid/fd/$fd"
check "a stat right after ls -l and a growth is fresh" "6291456" "$(stat -c %s "$mnt/.memfd/$memfd")"
check "security.* is not supported (so ls -l stops asking)" "Operation not supported" \
	"$(getfattr -n security.selinux "$mnt/.memfd/$memfd" 2>&1 >/dev/null | sed 's/.*: //')"

# Seals, each by name. A memfd sealed against exec alone (MFD_NOEXEC_SEAL,
# Linux 6.3) has no other seal to list: its value once came out empty,
# after a byte read (and maybe written) before the daemon's buffer.
sready=$(mktemp /tmp/shmfs-views-ready-XXXXXX)
rm -f "$sready"
"$py" -c 'import fcntl, os, sys, time
MFD_NOEXEC_SEAL, F_SEAL_FUTURE_WRITE = 0x0008, 0x0010
noexec = os.memfd_create("noexec", MFD_NOEXEC_SEAL)
every = os.memfd_create("every-seal", os.MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL)
fcntl.fcntl(every, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW |
            fcntl.F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | fcntl.F_SEAL_SEAL)
open(sys.argv[1], "w").write("%d %#x\n" % (os.getpid(), fcntl.fcntl(noexec, fcntl.F_GET_SEALS)))
time.sleep(60)' "$sready" &
for _ in $(seq 100); do [ -s "$sready" ] && break; sleep 0.05; done
read -r spid sseals <"$sready"
rm -f "$sready"
holders+=("$spid")
check "MFD_NOEXEC_SEAL gives F_SEAL_EXEC alone (Linux 6.3+)" "0x20" "${sseals:-}"
check "user.shmfs.seals of a memfd sealed against exec alone" "exec" \
	"$(getfattr --absolute-names --only-values -n user.shmfs.seals "$mnt/.memfd/$(entry .memfd '^noexec@')" 2>&1)"
check "user.shmfs.seals names every seal" "seal,shrink,grow,write,future-write,exec" \
	"$(getfattr --absolute-names --only-values -n user.shmfs.seals "$mnt/.memfd/$(entry .memfd '^every-seal@')" 2>&1)"
check "user.shmfs.seals of a memfd made without sealing" "seal" \
	"$(getfattr --absolute-names --only-values -n user.shmfs.seals "$mnt/.memfd/$memfd" 2>&1)"
check "listxattr of that memfd lists seals, and the daemon lives" "user.shmfs.seals=\"exec\"" \
	"$(getfattr --absolute-names -d -m - "$mnt/.memfd/$(entry .memfd '^noexec@')" 2>&1 | grep '^user.shmfs.seals=')"
kill "$spid"

# An object the kernel will not take as a backing file (a hugetlb memfd,
# no huge pages needed), opened by nobody: that open goes without
# passthrough, and it stays on for everyone (it used to go off for good).
if grep -q '^passthrough on' "$mnt/.ctl"; then
	hready=$(mktemp /tmp/shmfs-views-ready-XXXXXX)
	chmod 666 "$hready"
	rm -f "$hready"
	"${nobody[@]}" "$py" -c 'import os, sys, time
fd = os.memfd_create("huge", os.MFD_HUGETLB)
open(sys.argv[1], "w").write("%d\n" % os.getpid())
time.sleep(60)' "$hready" &
	for _ in $(seq 100); do [ -s "$hready" ] && break; sleep 0.05; done
	hpid=$(cat "$hready")
	rm -f "$hready"
	holders+=("$hpid")
	huge=$("${nobody[@]}" ls "$mnt/.memfd" | grep '^huge@' | head -1)
	"${nobody[@]}" cat "$mnt/.memfd/${huge:-none}" >/dev/null 2>&1
	check "a hugetlb memfd opened by nobody leaves passthrough on" "passthrough on" \
		"$(grep '^passthrough' "$mnt/.ctl")"
	kill "$hpid"
fi

# Another user sees none of root's; their own they do.
check "nobody sees none of root's objects" "" \
	"$("${nobody[@]}" ls "$mnt/.deleted" "$mnt/.memfd" "$mnt/.sysv" "$mnt/.shared-anon" 2>&1 | grep -v '^/\|^$' | grep -v "$other_ipc")"
check "nobody cannot reach one by name" "No such file or directory" \
	"$("${nobody[@]}" stat "$mnt/.memfd/$memfd" 2>&1 | sed 's/.*: //')"
read -r npid nfd nshmid < <(start_holder nbdy "${nobody[@]}")
holders+=("$npid")
check "nobody sees their own, four kinds" "4" \
	"$("${nobody[@]}" ls "$mnt/.deleted" "$mnt/.memfd" "$mnt/.sysv" "$mnt/.shared-anon" | grep -v "$other_ipc" | grep -c 'nbdy\|@'"$nshmid"'$\|^[0-9]')"
check "root sees both users' memfds" "2" "$(ls "$mnt/.memfd" | grep -c 'root-memfd\|nbdy-memfd')"
check "nothing can be created in .sysv" "Operation not permitted" \
	"$("${nobody[@]}" touch "$mnt/.sysv/new" 2>&1 | sed 's/.*: //')"
nsysv=$("${nobody[@]}" ls "$mnt/.sysv" | grep "^0x[0-9a-f]*@$nshmid\$")
# Removed while attached: marked for destruction (SHM_DEST, 01000 in its mode).
check "nobody removes their own System V segment, as ipcrm lets them" "0 removed" \
	"$("${nobody[@]}" rm "$mnt/.sysv/$nsysv"; echo "$? $(awk -v id="$nshmid" '$2 == id { print (length($3) > 3 && substr($3, 1, 1) == "1") ? "removed" : "kept " $3 }' /proc/sysvipc/shm)")"

# The holder gone, its objects are gone.
kill "$pid"
# Not this shell's child (start_holder ran in a process substitution), so
# wait cannot wait for it: look until /proc has it no more.
for _ in $(seq 100); do [ -e "/proc/$pid" ] || break; sleep 0.05; done
check "a deleted segment vanishes with its holder" "No such file or directory" \
	"$(stat "$mnt/.deleted/$del" 2>&1 | sed 's/.*: //')"
check "so does the memfd, and the shared mapping" "" \
	"$(ls "$mnt/.memfd" "$mnt/.shared-anon" | grep 'root-memfd\|^'"$anon"'$')"
check "a System V segment outlives its attacher" "$sysv" "$(entry .sysv "^0x[0-9a-f]*@$shmid\$")"
check "nobody may not remove root's System V segment" "No such file or directory" \
	"$("${nobody[@]}" rm "$mnt/.sysv/$sysv" 2>&1 | sed 's/.*: //')"
rm_out=$(rm "$mnt/.sysv/$sysv" 2>&1)
check "rm of a System V segment says nothing" "" "$rm_out"
check "rm removes it for root (IPC_RMID)" "" "$(ipcs -m | awk -v id="$shmid" '$2 == id')"
check "and the view no longer shows it" "" "$(entry .sysv "^0x[0-9a-f]*@$shmid\$")"

# Where the memory went: each kind's line grows by exactly what was created, to the page.
usage() {
	local out
	exec 4<>"$mnt/.ctl"
	echo usage >&4
	out=$(cat <&4)
	exec 4>&-
	echo "$out"
}
# The bytes of the line KIND [WORD] of a usage 2 reply: its last number ("in WHAT" aside).
bytes() { awk -v k="$1" -v w="${2:-}" '$(NF - 1) == "in" { NF -= 2 } $1 == k && (w == "" || $2 == w) {print $NF}' <<<"$3"; }
before=$(usage)
read -r fpid _ fshmid < <(start_holder full full)
holders+=("$fpid")
# And a tmpfs in a mount namespace of its own, as a container's /dev/shm is:
# 16 MiB this namespace cannot reach by any path but /proc/PID/root.
unshare -m --propagation private sh -c 'mount -t tmpfs -o size=32M tmpfs "$0" &&
	head -c 16777216 /dev/zero >"$0/kept" && touch "$0.ready" && exec sleep 60' "$nsdir" &
nspid=$!
holders+=("$nspid")
for _ in $(seq 100); do [ -e "$nsdir.ready" ] && break; sleep 0.05; done
after=$(usage)
for line in "deleted 16777216" "memfd 25165824" "sysv 41943040" "shared-anon 33554432"; do
	set -- $line
	check "usage: $1 grew by what was written, to the page" "$2" \
		"$(($(bytes "$1" "" "$after") - $(bytes "$1" "" "$before")))"
done
check "usage: another mount namespace's tmpfs, by /proc/PID/root, to the page" "16777216" \
	"$(bytes tmpfs "/proc/$nspid/root$nsdir" "$after")"
check "usage says how many processes it could not read" "yes" \
	"$(grep -qE '^unreadable [0-9]+$' <<<"$after" && echo yes)"
check "nobody cannot read root's processes, and is told so" "yes" \
	"$("${nobody[@]}" sh -c "exec 4<>'$mnt/.ctl'; echo usage >&4; cat <&4" | awk '$1 == "unreadable" && $2 > 0 { print "yes" }')"
check "nobody is not shown other namespaces' mounts" "" \
	"$("${nobody[@]}" sh -c "exec 4<>'$mnt/.ctl'; echo usage >&4; cat <&4" | grep '^tmpfs /proc/')"
check "usage: the deleted segment is in /dev/shm's tmpfs" "16777216" \
	"$(($(bytes tmpfs /dev/shm "$after") - $(bytes tmpfs /dev/shm "$before")))"
# Shmem grew by the 128 MiB created; all of it is explained (within 1%,
# the issue's bound), whatever this machine leaves unexplained at rest
# (here about 7 MiB, outside this namespace; it moves by up to 160 KiB).
grown=$(($(bytes unexplained "" "$after") - $(bytes unexplained "" "$before")))
check "usage: what was created adds nothing unexplained (within 1% of 128 MiB)" "yes" \
	"$(awk -v d="$grown" 'BEGIN { print (d < 0 ? -d : d) <= 128 * 1048576 / 100 ? "yes" : "no: " d " bytes" }')"
check "usage: a version line first, ok last" "usage 2 ok" \
	"$(head -1 <<<"$after") $(tail -1 <<<"$after")"
check "usage: the terms before shmem add up to it, parts (in /dev/shm) aside" "yes" \
	"$("$py" "$here/../common/usage.py" --ctl 'adds_up()' <<<"$after")"
check "usage: /dev/shm's parts add up to its line" "$(bytes tmpfs /dev/shm "$after")" \
	"$(awk '$NF == "/dev/shm" && $(NF - 1) == "in" { s += $(NF - 2) } END { print s }' <<<"$after")"
by_process=$(exec 4<>"$mnt/.ctl"; echo "usage by-process" >&4; cat <&4)
check "usage by-process names the holder's four objects, each all its own (the memfd by fd only, which nobody maps)" \
	"deleted 1 1 16777216 memfd 1 0 25165824 shared-anon 1 1 33554432 sysv 1 1 41943040" \
	"$(awk -v p="$fpid" '$1 == "process" && $3 == p { print $2, $5, $6, $7 }' <<<"$by_process" | sort | xargs)"
check "usage by-process: its rows are parts of their kinds' lines" "yes" \
	"$("$py" "$here/../common/usage.py" --ctl 'adds_up()' <<<"$by_process")"
nobody_usage=$("${nobody[@]}" sh -c "exec 4<>'$mnt/.ctl'; echo usage >&4; cat <&4")
check "usage names the processes nobody could not read, and why" "yes" \
	"$(awk '$1 == "unreadable-process" && $2 ~ /^[0-9]+$/ && $NF == "EACCES" { n++ } END { print (n > 0 && n <= 16 ? "yes" : "no: " n) }' <<<"$nobody_usage")"
check "usage: a walk of a few mount namespaces is complete" "" "$(grep '^tmpfs-partial' <<<"$after")"
# More mount namespaces than root's usage reads (256): the reply says the
# tmpfs lines are partial, and how many namespaces it read.
self_ns=$(readlink /proc/self/ns/mnt)
many=()
for _ in $(seq 257); do
	unshare -m sleep 60 &
	many+=($!)
done
holders+=("${many[@]}")
for _ in $(seq 200); do
	apart=0
	for p in "${many[@]}"; do [ "$(readlink "/proc/$p/ns/mnt")" != "$self_ns" ] && apart=$((apart + 1)); done
	[ "$apart" -eq 257 ] && break
	sleep 0.05
done
check "usage: past 256 mount namespaces, tmpfs-partial says how many were read" "yes" \
	"$(usage | awk '$1 == "tmpfs-partial" && $2 == "namespaces" && $3 > 0 && $3 <= 256 { print "yes" }')"
kill "${many[@]}" 2>/dev/null
check "the summary has a line per kind" "segment deleted memfd sysv shared-anon hugetlb" \
	"$(grep -E '^(segment|deleted|memfd|sysv|shared-anon|hugetlb) [0-9]+ [0-9]+$' "$mnt/.ctl" | awk '{print $1}' | xargs)"

summary views

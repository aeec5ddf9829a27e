#!/usr/bin/env bash
# pshm usage that explains itself, on real objects and the kernel's own
# numbers: known amounts of each kind (a named segment, a deleted one, a
# memfd, a System V segment, shared anonymous memory), the lines adding up
# to Shmem on the page; by-process shares of one object mapped by three
# processes adding up to its allocated bytes, a descriptor-only holder
# said as such; as nobody, the segment count of ls and the processes it
# could not read named. Runs as root in private mount and IPC namespaces
# with its own tmpfs on /dev/shm.
set -uo pipefail
pshm=$(realpath "$1")
usage_py=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
. "$here/../fs/lib.sh"
isolate_ipc 64M "$@"

py=/usr/bin/python3 # Debian's, with nothing of a user's: nobody runs it too
work=$(mktemp -d /tmp/pshm-usage-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
MiB=1048576
page=$(getconf PAGESIZE)
nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)

# The table as JSON, exact; and EXPR of it (tests/common/usage.py).
table() { "$pshm" usage -J -b --output-all "$@"; }
of() { "$py" "$usage_py" "$1"; }

# A process holding one of each kind, every page written, until killed:
# a segment unlinked while mapped (2 MiB), a memfd (3 MiB), a System V
# segment (5 MiB, attached), shared anonymous memory (6 MiB). It writes
# its pid to READY when it holds them all.
cat >"$work/kinds.py" <<'PY'
import ctypes, mmap, os, signal, sys
MiB = 1 << 20
ready = sys.argv[1]
fd = os.open("/dev/shm/gone", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(fd, 2 * MiB)
deleted = mmap.mmap(fd, 2 * MiB)
deleted.write(b"d" * (2 * MiB))
os.close(fd)
os.unlink("/dev/shm/gone")
memfd = os.memfd_create("usage-memfd")
os.ftruncate(memfd, 3 * MiB)
mapped = mmap.mmap(memfd, 3 * MiB)
mapped.write(b"m" * (3 * MiB))
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shmid = libc.shmget(0, 5 * MiB, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
addr = libc.shmat(shmid, None, 0)
if shmid < 0 or addr in (None, ctypes.c_void_p(-1).value):
    sys.exit("shmget/shmat: errno %d" % ctypes.get_errno())
ctypes.memset(addr, ord("s"), 5 * MiB)
libc.shmctl(shmid, 0, None)  # IPC_RMID: gone with its last detach
anon = mmap.mmap(-1, 6 * MiB)
anon.write(b"a" * (6 * MiB))
with open(ready + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(ready + ".tmp", ready)
signal.pause()
PY

# Three processes mapping one segment of 10 pages (the third maps it
# twice), and a fourth holding it by a descriptor alone; READY gets the
# four pids, mappers first.
cat >"$work/shared.py" <<'PY'
import mmap, os, signal, sys
name, size, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open("/dev/shm/" + name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
os.ftruncate(fd, size)
m = mmap.mmap(fd, size)
m.write(b"x" * size)
os.close(fd)
kids = []
for i in range(2):
    pid = os.fork()
    if pid == 0:
        if i == 1:
            again = mmap.mmap(os.open("/dev/shm/" + name, os.O_RDONLY), size, prot=mmap.PROT_READ)
            os.closerange(3, 64)
        signal.pause()
        os._exit(0)
    kids.append(pid)
pid = os.fork()
if pid == 0:
    del m
    os.open("/dev/shm/" + name, os.O_RDONLY)  # kept open, never mapped
    signal.pause()
    os._exit(0)
kids.append(pid)
with open(ready + ".tmp", "w") as f:
    f.write(" ".join(str(p) for p in [os.getpid()] + kids))
os.rename(ready + ".tmp", ready)
signal.pause()
PY

# start FILE ARGS...: runs it until cleanup; $started is what it wrote to READY.
start() {
	local ready="$work/ready-$RANDOM"
	"$py" "$@" "$ready" >/dev/null &
	pids+=($!)
	for _ in $(seq 200); do [ -s "$ready" ] && break; sleep 0.05; done
	started=$(cat "$ready" 2>/dev/null)
	[ -n "$started" ] || echo "# $* did not start" >&2
}

# --- known amounts of each kind
head -c $((4 * MiB)) /dev/zero | tr '\0' n >"$work/4m"
"$pshm" create named 4M
"$pshm" write named <"$work/4m"
start "$work/kinds.py"
holder=$started
out=$(table)
check "the private /dev/shm: the named segment's 4 MiB and the deleted one's 2 MiB" \
	"$((6 * MiB)) $((4 * MiB)) $((2 * MiB)) 0" \
	"$(echo "$out" | of 'line("tmpfs", "/dev/shm")["size"], line("segment")["size"], line("deleted")["size"], line("other")["size"]' | tr -d '(),')"
check "segments and deleted ones are parts of /dev/shm's line, never terms" "/dev/shm /dev/shm /dev/shm" \
	"$(echo "$out" | of 'line("segment")["part-of"], line("deleted")["part-of"], line("other")["part-of"]' | tr -d "(),'")"
procs=$(table --by-process)
for want in "memfd $((3 * MiB))" "sysv $((5 * MiB))" "shared-anon $((6 * MiB))" "deleted $((2 * MiB))"; do
	set -- $want
	check "by-process: the holder's $1, to the byte, one object, mapped" "1 1 $2 $2" \
		"$(echo "$procs" | of '" ".join(str(r[k]) for r in rows if r["kind"] == "'"$1"'" and r["pid"] == '"$holder"' for k in ("count", "mapped", "size", "whole"))')"
	check "usage: the $1 line holds the holder's $2 bytes" "yes" \
		"$(echo "$out" | of '"yes" if line("'"$1"'")["size"] >= '"$2"' else line("'"$1"'")')"
done
check "the named segment, which no process holds, is in a row of its own" "1 $((4 * MiB)) no process holds it" \
	"$(echo "$procs" | of '" ".join(str(r[k]) for r in rows if r["kind"] == "segment" and r["pid"] is None for k in ("count", "size", "note"))' | sed 's/(included above) //')"
for view in "" --by-user --by-process --by-cgroup; do
	check "usage${view:+ $view}: the terms add up to Shmem, huge pages to theirs, to the byte" "yes" \
		"$(table $view | of 'adds_up()')"
done
# On the page: -r one line each, sizes exact; every line down to TOTAL (Shmem)
# that is no part of another (NOTE "(included above)") adds up to it.
page_sum() {
	"$pshm" usage -r -b -o WHAT,SIZE,NOTE "$@" | awk '
		NR == 1 { next }
		$1 == "TOTAL\\x20(Shmem)" { print (sum == $2 ? "yes" : "no: " sum " against " $2); exit }
		$3 !~ /^\(included/ { sum += $2 }'
}
check "on the page: the lines add up to TOTAL (Shmem), as a reader adds them" "yes" "$(page_sum)"
check "on the page, by process too" "yes" "$(page_sum --by-process)"
text=$("$pshm" usage)
check "a header, then sizes for people" "WHAT COUNT SIZE NOTE" "$(echo "$text" | head -1 | xargs)"
check "the segment line: 4M, said to be part of the line above" "segment 1 4M (included above)" \
	"$(echo "$text" | awk '$1 == "segment" { print $1, $2, $3, $4, $5 }')"
check "the total is Shmem's, and unexplained comes just before it" "unexplained TOTAL" \
	"$(echo "$text" | grep -B1 '^TOTAL (Shmem)' | awk '{ print $1 }' | xargs)"
check "huge pages in a group of their own, after Shmem's" "yes" \
	"$(echo "$text" | awk '/^TOTAL \(Shmem\)/ { s = NR } /^TOTAL \(HugePages\)/ { h = NR } END { print (s && h > s ? "yes" : "no") }')"
check "-J is the table's JSON, as lsblk -J" "usage" "$("$pshm" usage -J | "$py" -c 'import json, sys; print(*json.load(sys.stdin))')"
check "-n: no header" "0" "$("$pshm" usage -n | grep -c '^WHAT')"

# --- by process: shares of one object, like smaps Pss
start "$work/shared.py" shared3 $((10 * page))
read -r p1 p2 p3 fdonly <<<"$started"
pids+=("$p2" "$p3" "$fdonly")
allocated=$("$pshm" stat -J -b -o ALLOCATED shared3 | "$py" -c 'import json, sys; print(json.load(sys.stdin)["shm"][0]["allocated"])')
check "the object: 10 pages allocated" "$((10 * page))" "$allocated"
shares=$(table --by-process | of '" ".join("%s:%s:%s" % (r["pid"], r["mapped"], r["size"]) for r in rows if r["kind"] == "segment" and r["pid"] in ('"$p1, $p2, $p3, $fdonly"'))')
each=$((allocated / 3))
first=$(printf '%s\n' "$p1" "$p2" "$p3" | sort -n | head -1)
check "three mappers share it (one maps it twice: once), the first the remainder; the fd holder none" \
	"$(for p in $p1 $p2 $p3 $fdonly; do
		case $p in
		"$first") echo "$p:1:$((each + allocated % 3))" ;;
		"$fdonly") echo "$p:0:0" ;;
		*) echo "$p:1:$each" ;;
		esac
	done | sort -t: -k3,3nr -k1,1n | xargs)" \
	"$(echo "$shares" | tr ' ' '\n' | sort -t: -k3,3nr -k1,1n | xargs)"
check "the shares add up to the object's allocated bytes" "$allocated" \
	"$(echo "$shares" | tr ' ' '\n' | awk -F: '{ s += $3 } END { print s }')"
check "the fd-only holder is said as such" "1 0 1 by fd only: no share" \
	"$(table --by-process | of '" ".join(str(r[k]) for r in rows if r["pid"] == '"$fdonly"' for k in ("count", "mapped", "note"))' | sed 's/(included above) //')"
check "rows come largest first" "yes" \
	"$(table --by-process | of '"yes" if all(a["size"] >= b["size"] for a, b in zip([r for r in rows if r["kind"] == "memfd"], [r for r in rows if r["kind"] == "memfd"][1:])) else "no"')"

# --- by user: names, -N numbers
"$pshm" create theirs 8K
"$pshm" chown theirs nobody
check "--by-user: the owner's name" "nobody" \
	"$("$pshm" usage --by-user -r -o WHAT,OWNER,SIZE -b | awk '$1 == "\\x20\\x20segment" || $1 == "segment" { print $2 }' | grep -x nobody)"
check "--by-user -N: the uid" "65534" \
	"$(table --by-user -N | of '" ".join(str(r["owner"]) for r in rows if r["kind"] == "segment" and r["uid"] == 65534)')"

# --- as nobody: the segments ls lists, and the processes it could not read
check "as nobody, usage counts the segments ls lists" "$("${nobody[@]}" "$pshm" ls -n | wc -l)" \
	"$("${nobody[@]}" "$pshm" usage -J -b --output-all | of 'line("segment")["count"]')"
check "... which are all of them" "$(ls /dev/shm | wc -l)" \
	"$("${nobody[@]}" "$pshm" usage -J -b --output-all | of 'line("segment")["count"]')"
check "as nobody, the terms still add up" "yes" "$("${nobody[@]}" "$pshm" usage -J -b --output-all | of 'adds_up()')"
nobody_json=$("${nobody[@]}" "$pshm" usage -J -b --output-all)
check "as nobody: processes not read, counted" "yes" \
	"$(echo "$nobody_json" | of '"yes" if line("unreadable")["count"] > 0 else "no"')"
check "... and named, at most 16, lowest first, with why: pid 1 is root's" "1 EACCES: not yours" \
	"$(echo "$nobody_json" | of 'rows[[r["kind"] for r in rows].index("unreadable-process")]["pid"], rows[[r["kind"] for r in rows].index("unreadable-process")]["note"]' | tr -d "(),'")"
check "... bounded" "yes" \
	"$(echo "$nobody_json" | of '"yes" if 0 < len([r for r in rows if r["kind"] == "unreadable-process"]) <= 16 else "no"')"
check "... and by process, the root holder's objects are not nobody's to see" "0" \
	"$("${nobody[@]}" "$pshm" usage --by-process -J -b --output-all | of 'len([r for r in rows if r["pid"] == '"$holder"' and r["kind"] != "unreadable-process"])')"
check "as nobody, text names the first ones in the note" "yes" \
	"$("${nobody[@]}" "$pshm" usage | awk '$1 == "unreadable" && /1 [^ ]+ \(EACCES: not yours\)/ { print "yes" }')"

# --- a segment of two names (a hard link) counts once, by cgroup as by kind
"$py" -c 'import mmap, os, sys, time
fd = os.open("/dev/shm/linked", os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(fd, 3 * mmap.PAGESIZE)
m = mmap.mmap(fd, 3 * mmap.PAGESIZE)
m[:] = b"l" * (3 * mmap.PAGESIZE)
open(sys.argv[1], "w").close()
time.sleep(60)' "$work/linked-ready" &
pids+=("$!")
for _ in $(seq 100); do [ -e "$work/linked-ready" ] && break; sleep 0.05; done
# The segment line of usage by kind, and the segment rows of by-cgroup, summed.
segment_sums() {
	echo "$(table | of 'line("segment")["size"]')" \
		"$(table --by-cgroup | of 'sum(r["size"] for r in rows if r["kind"] == "segment")')"
}
before=$(segment_sums)
ln /dev/shm/linked /dev/shm/linked-too
after=$(segment_sums)
check "by-cgroup: a segment's second name adds no bytes, as by kind" "$before" "$after"
check "and by-cgroup's segment rows add up to the segment line, the 3 pages in it" "yes" \
	"$(set -- $after; [ "$1" -ge $((4 * MiB + 3 * page)) ] && [ "$1" = "$2" ] && echo yes)"
rm -f /dev/shm/linked /dev/shm/linked-too

summary usage

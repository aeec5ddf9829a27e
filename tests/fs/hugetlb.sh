#!/usr/bin/env bash
# Huge pages as their own kind (.hugetlb/, pshm ls --all, usage), made by a
# real Python client: a System V SHM_HUGETLB segment attached and one
# detached, an MFD_HUGETLB memfd, a MAP_SHARED|MAP_HUGETLB region and a
# file of a hugetlbfs mount, each checked to the page against
# /sys/kernel/mm/hugepages. The test gives the kernel 2 MiB huge pages
# for its run (vm.nr_hugepages) and gives them back; it skips, saying why,
# where the kernel has none. Usage: hugetlb.sh PATH-TO-SHMFS PATH-TO-PSHM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1 pshm=$2
isolate_ipc 16M "$@"
py=/usr/bin/python3
pool=/sys/kernel/mm/hugepages/hugepages-2048kB
if [ ! -d "$pool" ]; then
	echo "SKIP: this kernel has no 2 MiB huge pages ($pool)"
	exit 77
fi
MiB=$((1 << 20))
pages_wanted=16
mnt=$(mktemp -d /tmp/shmfs-huge-XXXXXX)
hugefs=$(mktemp -d /tmp/shmfs-hugefs-XXXXXX)
ready=$(mktemp -u /tmp/shmfs-huge-ready-XXXXXX)
old_pages=$(cat "$pool/nr_hugepages")
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null
	wait 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null
	umount "$hugefs" 2>/dev/null
	rmdir "$mnt" "$hugefs" 2>/dev/null
	rm -f "$ready" /tmp/shmfs-huge-holder.py
	# The segments (the namespace's, about to go anyway), then the pool back.
	ipcrm -M 0x4a6e0001 2>/dev/null
	ipcrm -M 0x4a6e0002 2>/dev/null
	echo "$old_pages" >"$pool/nr_hugepages"
}
trap cleanup EXIT
echo $((old_pages + pages_wanted)) >"$pool/nr_hugepages" 2>/dev/null
if [ "$(cat "$pool/free_hugepages")" -lt "$pages_wanted" ]; then
	echo "SKIP: the kernel gave fewer than $pages_wanted free 2 MiB huge pages" \
		"(free_hugepages $(cat "$pool/free_hugepages"))"
	exit 77
fi
mount -t hugetlbfs -o pagesize=2M none "$hugefs" || exit 1
"$shmfs" "$mnt" || exit 1

# Each object written whole, but the detached segment: one page of two.
cat >/tmp/shmfs-huge-holder.py <<'PY'
import ctypes, mmap, os, sys, time
ready, hugefs = sys.argv[1], sys.argv[2]
MiB = 1 << 20
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
SHM_HUGETLB, MAP_HUGETLB = 0o4000, 0x40000
def check(ok, what):
    if not ok:
        raise OSError(ctypes.get_errno(), what)
attached = libc.shmget(0x4a6e0001, 4 * MiB, 0o600 | 0o1000 | SHM_HUGETLB)
check(attached >= 0, "shmget")
addr = libc.shmat(attached, None, 0)
check(addr not in (None, 2**64 - 1), "shmat")
ctypes.memset(addr, ord("h"), 4 * MiB)
ctypes.memmove(addr, b"sysv-huge", 9)
detached = libc.shmget(0x4a6e0002, 4 * MiB, 0o600 | 0o1000 | SHM_HUGETLB)
check(detached >= 0, "shmget")
addr2 = libc.shmat(detached, None, 0)
ctypes.memset(addr2, ord("d"), 2 * MiB)
libc.shmdt(ctypes.c_void_p(addr2))
fd = os.memfd_create("huge-memfd", os.MFD_HUGETLB)
os.ftruncate(fd, 4 * MiB)
m = mmap.mmap(fd, 4 * MiB)
m[:] = b"m" * (4 * MiB)
m[:10] = b"memfd-huge"
PROT_RW, MAP_SHARED_ANON = 3, 0x01 | 0x20
anon = libc.mmap(None, 4 * MiB, PROT_RW, MAP_SHARED_ANON | MAP_HUGETLB, -1, 0)
check(anon not in (None, 2**64 - 1), "mmap MAP_HUGETLB")
ctypes.memset(anon, ord("a"), 4 * MiB)
f = os.open(os.path.join(hugefs, "huge-file"), os.O_RDWR | os.O_CREAT, 0o600)
os.ftruncate(f, 2 * MiB)
hf = mmap.mmap(f, 2 * MiB)
hf[:] = b"f" * (2 * MiB)
small = os.memfd_create("small-memfd")
os.pwrite(small, b"s" * MiB, 0)
with open(ready + ".tmp", "w") as out:
    out.write("%d %d %d %d\n" % (os.getpid(), attached, detached, fd))
os.rename(ready + ".tmp", ready)
time.sleep(120)
PY
"$py" /tmp/shmfs-huge-holder.py "$ready" "$hugefs" &
holder=$!
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
read -r pid attached detached fd <"$ready"
check "the holder made every object" "yes" "$([ "${pid:-}" = "$holder" ] && echo yes)"

ino() { stat -L -c %i "$1"; }
anon=$(awk '$2 ~ /s$/ && $6 == "/anon_hugepage" { print $5; exit }' "/proc/$pid/maps")
file_ino=$(stat -c %i "$hugefs/huge-file")
file_name="file:$(echo -n "$hugefs/huge-file" | sed 's|/|%2F|g')@$file_ino"
expected="anon:$anon
$file_name
memfd:huge-memfd@$(ino "/proc/$pid/fd/$fd")
sysv:0x4a6e0001@$attached
sysv:0x4a6e0002@$detached"
check ".hugetlb lists each object, named by what it is made as" "$expected" \
	"$(ls "$mnt/.hugetlb" | sort)"
check "none of them in .sysv, .memfd or .shared-anon; the small memfd in .memfd" "0 1" \
	"$(for d in .sysv .memfd .shared-anon; do ls "$mnt/$d"; done | grep -c "huge\|^0x4a6e000[12]@\|^$anon\$") $(ls "$mnt/.memfd" | grep -c '^small-memfd@')"
allocated() { echo $(($(stat -c %b "$mnt/.hugetlb/$1") * 512)); }
check "each is allocated what it really holds (the detached segment one page of two)" \
	"$((4 * MiB)) $((2 * MiB)) $((4 * MiB)) $((4 * MiB)) $((2 * MiB))" \
	"$(allocated "sysv:0x4a6e0001@$attached") $(allocated "sysv:0x4a6e0002@$detached") \
$(allocated "memfd:huge-memfd@$(ino "/proc/$pid/fd/$fd")") $(allocated "anon:$anon") $(allocated "$file_name")"
check "page-size and made-as attributes" "2097152 sysv 2097152 memfd 2097152 shared-anon 2097152 hugetlbfs-file" \
	"$(for e in "sysv:0x4a6e0001@$attached" "memfd:huge-memfd@$(ino "/proc/$pid/fd/$fd")" "anon:$anon" "$file_name"; do
		echo -n "$(getfattr --only-values -n user.shmfs.page-size "$mnt/.hugetlb/$e") "
		echo -n "$(getfattr --only-values -n user.shmfs.made-as "$mnt/.hugetlb/$e") "
	done | sed 's/ $//')"
check "cat reads what the holder wrote" "sysv-huge memfd-huge" \
	"$(head -c 9 "$mnt/.hugetlb/sysv:0x4a6e0001@$attached") $(head -c 10 "$mnt/.hugetlb/memfd:huge-memfd@$(ino "/proc/$pid/fd/$fd")")"

# The pool, as the kernel counts it, against the objects (5 of them, 16 MiB).
in_use=$((($(cat "$pool/nr_hugepages") - $(cat "$pool/free_hugepages")) * 2 * MiB))
check "the kernel's pool holds what the objects hold" "$((16 * MiB))" "$in_use"
usage_py=$here/../common/usage.py
json=$("$pshm" usage -J -b --output-all)
of() { echo "$json" | "$py" "$usage_py" "$1"; }
check "the .ctl usage reply: the 2 MiB pool's line" \
	"hugepages 2048kB total $(cat "$pool/nr_hugepages") free $(cat "$pool/free_hugepages") reserved $(cat "$pool/resv_hugepages") surplus $(cat "$pool/surplus_hugepages") objects 5 bytes $((16 * MiB)) unexplained 0" \
	"$(exec 4<>"$mnt/.ctl"; echo usage >&4; cat <&4 | grep '^hugepages 2048kB ')"
pages="$(($(cat "$pool/nr_hugepages") - $(cat "$pool/free_hugepages"))) of $(cat "$pool/nr_hugepages") 2M pages ($(cat "$pool/resv_hugepages") reserved, $(cat "$pool/surplus_hugepages") surplus)"
check "pshm usage: the 2 MiB pool, nothing unexplained, its pages in use" "0 yes yes" \
	"$(of 'line("unexplained", "unexplained 2M pages")["size"], "yes" if line("hugepages")["size"] >= '"$in_use"' else "no", "yes" if "'"$pages"'" in line("hugepages")["note"] else line("hugepages")["note"]' | tr -d "(),'")"
check "usage: hugetlb is its own kind" "5 $((16 * MiB))" \
	"$(of 'line("hugetlb")["count"], line("hugetlb")["size"]' | tr -d '(),')"
check "usage: huge pages are never a term of Shmem, and each group adds up" "yes" "$(of 'adds_up()')"
check "usage: hugetlb comes after the TOTAL of Shmem" "yes" \
	"$(of '"yes" if rows.index(line("hugetlb")) > rows.index(line("shmem")) else "no"')"
check "usage: memfd bytes are the .memfd objects' (the huge memfd is not one)" \
	"$("$pshm" ls --all -J -b --output-all | "$py" -c 'import json, sys
print(sum(o["allocated"] for o in json.load(sys.stdin)["shm"] if o["kind"] == "memfd"))')" \
	"$(of 'line("memfd")["size"]')"
check "pshm ls --all -J: page-size and made-as" \
	"hugetlb 2097152 sysv $((2 * MiB))" \
	"$("$pshm" ls --all -J -b --output-all | "$py" -c 'import json, sys
for o in json.load(sys.stdin)["shm"]:
    if o["name"].endswith("@'"$detached"'") and o["kind"] == "hugetlb":
        print(o["kind"], o["page-size"], o["made-as"], o["allocated"])')"
check "pshm stat says the page size" "PAGE-SIZE 2M" \
	"$("$pshm" stat -o PAGE-SIZE ".hugetlb/sysv:0x4a6e0002@$detached" | xargs)"

# rm: a System V segment is removed (IPC_RMID), nothing else has a name.
check "rm of a memfd on huge pages is refused" "Operation not permitted" \
	"$(rm "$mnt/.hugetlb/memfd:huge-memfd@$(ino "/proc/$pid/fd/$fd")" 2>&1 | sed 's/.*: //')"
rm "$mnt/.hugetlb/sysv:0x4a6e0002@$detached"
check "rm of a detached System V segment on huge pages removes it" "" \
	"$(awk -v id="$detached" '$2 == id' /proc/sysvipc/shm)"
check "and its huge page goes back to the pool" "$((14 * MiB))" \
	"$((($(cat "$pool/nr_hugepages") - $(cat "$pool/free_hugepages")) * 2 * MiB))"
kill "$holder"
wait "$holder" 2>/dev/null
holder=
rm -f "$hugefs/huge-file"
check "the holder gone, .hugetlb keeps only the segment that outlives it" \
	"sysv:0x4a6e0001@$attached" "$(ls "$mnt/.hugetlb")"

# Not root, map_files cannot be followed (CAP_SYS_ADMIN): a region seen only
# through mappings is counted from smaps, the huge pages its mappings have.
# nobody maps 8 MiB of huge pages shared, and touches 2 of its 4 pages.
setpriv --reuid=65534 --regid=65534 --clear-groups "$py" -c 'import mmap, os, sys, time
m = mmap.mmap(-1, 8 << 20, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS | 0x40000)
m[0:1] = b"x"
m[(4 << 20):(4 << 20) + 1] = b"y"
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$ready" &
holder=$!
rm -f "$ready"
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
nanon=$(awk '$2 ~ /s$/ && $6 == "/anon_hugepage" { print $5; exit }' "/proc/$holder/maps")
allocated_as() { "$@" "$pshm" ls --hugetlb -r -n -b -o NAME,ALLOCATED | awk -v n=".hugetlb/anon:$nanon" '$1 == n { print $2 }'; }
check "as nobody, a MAP_HUGETLB region is allocated the pages it has, as root sees it" \
	"$((4 * MiB)) $((4 * MiB))" \
	"$(allocated_as setpriv --reuid=65534 --regid=65534 --clear-groups) $(allocated_as env)"
check "as nobody, usage's hugetlb line counts them" "$((4 * MiB))" \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups "$pshm" usage -J -b --output-all | "$py" -c 'import json, sys
print(next(r["size"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "hugetlb"))')"
kill "$holder"
wait "$holder" 2>/dev/null
holder=
summary hugetlb

#!/usr/bin/env bash
# usage by cgroup ("which container holds it"): two cgroups made by the test
# in the memory controller's hierarchy (v2 where it has the memory
# controller, v1's otherwise), named as Kubernetes and Docker name theirs,
# each with a real Python process making and mapping shared memory. Each
# line is checked to the page against the kernel's own memory.stat, the
# share rule (a segment mapped from both is split evenly) adds up, and the
# containers are recognised. Usage: cgroups.sh PATH-TO-SHMFS PATH-TO-PSHM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1 pshm=$2
isolate 64M "$@"
py=/usr/bin/python3
MiB=$((1 << 20))
v2=$(grep ' - cgroup2 ' /proc/self/mountinfo | awk '{ print $5; exit }')
v1=$(grep -E ' - cgroup .*[ ,]memory(,|$)' /proc/self/mountinfo | awk '{ print $5; exit }')
if [ -n "$v2" ] && grep -qw memory "$v2/cgroup.controllers" 2>/dev/null; then
	top=$v2
elif [ -n "$v1" ]; then
	top=$v1
else
	echo "SKIP: no memory controller mounted (cgroup v2 or v1)"
	exit 77
fi
base=shmfs-test-$$
pod=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
ida=$(printf 'a%.0s' $(seq 64))
idb=$(printf 'b%.0s' $(seq 64))
cga=/$base/kubepods/burstable/pod$pod/$ida
cgb=/$base/system.slice/docker-$idb.scope
mnt=$(mktemp -d /tmp/shmfs-cgroups-XXXXXX)
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	for d in "$cga" "$(dirname "$cga")" "$(dirname "$(dirname "$cga")")" \
		"$(dirname "$(dirname "$(dirname "$cga")")")" "$cgb" "$(dirname "$cgb")" "/$base"; do
		rmdir "$top$d" 2>/dev/null
	done
	rm -f /tmp/shmfs-cgroups-holder.py /tmp/shmfs-cgroups-ready-*
}
trap cleanup EXIT
if [ "$top" = "$v2" ]; then
	# Children get the memory controller only when each parent hands it down.
	echo +memory >"$v2/cgroup.subtree_control" 2>/dev/null
fi
mkdir -p "$top$cga" "$top$cgb" || exit 1
if [ "$top" = "$v2" ]; then
	for d in "/$base" "/$base/kubepods" "/$base/kubepods/burstable" "/$base/kubepods/burstable/pod$pod" "/$base/system.slice"; do
		echo +memory >"$top$d/cgroup.subtree_control" 2>/dev/null
	done
fi
"$shmfs" "$mnt" || exit 1

# MODE a: a memfd (8 MiB), a segment (4 MiB) and shared anonymous memory (2 MiB), each written;
# MODE b: maps the segment a wrote.
cat >/tmp/shmfs-cgroups-holder.py <<'PY'
import mmap, os, sys, time
mode, ready = sys.argv[1], sys.argv[2]
MiB = 1 << 20
keep = []
if mode == "a":
    fd = os.memfd_create("cg-memfd")
    os.ftruncate(fd, 8 * MiB)
    os.pwrite(fd, b"m" * (8 * MiB), 0)
    keep.append(fd)
    seg = os.open("/dev/shm/cg-segment", os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(seg, 4 * MiB)
    m = mmap.mmap(seg, 4 * MiB)
    m[:] = b"s" * (4 * MiB)
    anon = mmap.mmap(-1, 2 * MiB)
    anon[:] = b"a" * (2 * MiB)
    keep += [m, anon]
else:
    seg = os.open("/dev/shm/cg-segment", os.O_RDWR)
    keep.append(mmap.mmap(seg, 4 * MiB))
    os.close(seg)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(ready + ".tmp", ready)
time.sleep(120)
PY
# holder MODE CGROUP: a holder running in CGROUP from its first instruction; prints its pid.
holder() {
	local ready
	ready=$(mktemp -u /tmp/shmfs-cgroups-ready-XXXXXX)
	sh -c 'echo $$ >"$1/cgroup.procs" && exec "$2" /tmp/shmfs-cgroups-holder.py "$3" "$4"' \
		sh "$top$2" "$py" "$1" "$ready" >/dev/null &
	for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
	cat "$ready"
	rm -f "$ready"
}
read -r pa < <(holder a "$cga")
pids+=("$pa")
read -r pb < <(holder b "$cgb")
pids+=("$pb")
# A container's own /dev/shm: a tmpfs in a mount namespace of its own, 1 MiB written, in cgroup b.
ready=$(mktemp -u /tmp/shmfs-cgroups-ready-XXXXXX)
sh -c 'echo $$ >"$1/cgroup.procs" && exec unshare -m --propagation private sh -c "
	mount -t tmpfs -o size=4M tmpfs /mnt && head -c 1048576 /dev/zero >/mnt/f &&
	echo \$\$ >$2.tmp && mv $2.tmp $2 && exec sleep 120"' sh "$top$cgb" "$ready" &
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
read -r pc <"$ready"
rm -f "$ready"
pids+=("$pc")
check "each holder runs in its cgroup" "yes" \
	"$(grep -q ":$cga\$" "/proc/$pa/cgroup" && grep -q ":$cgb\$" "/proc/$pb/cgroup" && echo yes)"

kernel_shmem() { awk '$1 == "shmem" { print $2 }' "$top$1/memory.stat"; }
out=$(exec 4<>"$mnt/.ctl"; echo "usage by-cgroup" >&4; cat <&4)
line() { echo "$out" | grep "^cgroup $1 "; }
shares() { echo "$out" | awk -v c="$1" '$1 == "cgroup-kind" && $3 == c && $6 == "in" && $7 == $2 { print $2, $3, $4, $5 }' | sort; }
check "the .ctl reply is usage 2" "usage 2" "$(echo "$out" | head -1)"
check "the pod's container: its kinds, the segment split with the other container" \
	"memfd $cga 1 $((8 * MiB))
segment $cga 1 $((2 * MiB))
shared-anon $cga 1 $((2 * MiB))" \
	"$(shares "$cga")"
check "the docker container: its half of the segment" "segment $cgb 1 $((2 * MiB))" "$(shares "$cgb")"
check "the kernel charged all the pages to their writers: 14 MiB and the tmpfs's 1 MiB" \
	"$((14 * MiB)) $MiB" "$(kernel_shmem "$cga") $(kernel_shmem "$cgb")"
check "the pod's line: kubernetes, its pod, the kernel's shmem, what is not explained" \
	"cgroup $cga container kubernetes:$ida pod $pod tmpfs 0 shmem $(kernel_shmem "$cga") unexplained $(($(kernel_shmem "$cga") - 12 * MiB))" \
	"$(line "$cga")"
check "the docker line: its id, its /dev/shm's tmpfs, its shmem, the half it maps but the other wrote" \
	"cgroup $cgb container docker:$idb pod - tmpfs $MiB shmem $(kernel_shmem "$cgb") unexplained $(($(kernel_shmem "$cgb") - 3 * MiB))" \
	"$(line "$cgb")"
check "the .ctl reply's terms add up to Shmem" "yes" \
	"$(echo "$out" | "$py" "$here/../common/usage.py" --ctl 'adds_up()')"
json=$("$pshm" usage --by-cgroup -J -b --output-all)
check "the shares add up to the segment" "$((4 * MiB))" \
	"$(echo "$json" | "$py" -c 'import json, sys
print(sum(r["size"] for r in json.load(sys.stdin)["usage"]
          if r["kind"] == "segment" and r["cgroup"] and "'"$base"'" in r["cgroup"]))')"
check "pshm usage --by-cgroup gives the .ctl reply's shares" \
	"$(echo "$out" | awk -v b="$base" '$1 == "cgroup-kind" && index($3, b) { print $2, $3, $4, $5 }' | sort)" \
	"$(echo "$json" | "$py" -c 'import json, sys
for r in json.load(sys.stdin)["usage"]:
    if r["kind"] in ("segment", "deleted", "memfd", "sysv", "shared-anon", "hugetlb") and r["cgroup"] and "'"$base"'" in r["cgroup"]:
        print(r["kind"], r["cgroup"], r["count"], r["size"])' | sort)"
check "pshm usage --by-cgroup: each cgroup beside its memory.stat shmem, and the container" \
	"$(kernel_shmem "$cga") kubernetes:$ida pod $pod" \
	"$(echo "$json" | "$py" -c 'import json, sys
print(*[(r["size"], r["container"]) for r in json.load(sys.stdin)["usage"] if r["kind"] == "cgroup" and r["cgroup"] == "'"$cga"'"][0])')"
check "pshm usage --by-cgroup adds up too" "yes" \
	"$(echo "$json" | "$py" "$here/../common/usage.py" 'adds_up()')"
check ".ctl refuses another word" "err EINVAL usage: usage [by-user|by-process|by-cgroup]" \
	"$(exec 4<>"$mnt/.ctl"; echo "usage by-nothing" >&4; cat <&4 | head -1)"
summary cgroups

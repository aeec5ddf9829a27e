#!/usr/bin/env bash
# System V segments of other IPC namespaces (every container has its own):
# two namespaces made with unshare -i, each with the same key, one segment
# detached and one attached by a real Python client, must show in .sysv and
# pshm ls --all under names that never collide (NSINODE@0xKEY@SHMID), with
# their holders, bytes, usage, and an rm that acts in their namespace.
# Usage: ipcns.sh PATH-TO-SHMFS PATH-TO-PSHM
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/fs/lib.sh
. "$here/lib.sh"
shmfs=$1 pshm=$2
isolate_ipc 16M "$@"
py=/usr/bin/python3
MiB=$((1 << 20))
mnt=$(mktemp -d /tmp/shmfs-ipcns-XXXXXX)
chmod 755 "$mnt"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
	wait 2>/dev/null
	fusermount3 -u "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	rm -f /tmp/shmfs-ipcns-holder.py /tmp/shmfs-ipcns-ready-*
}
trap cleanup EXIT
"$shmfs" -o allow_other "$mnt" || exit 1

# A container's segments: 16 MiB detached and 8 MiB attached, both written,
# the same keys in every namespace; the attached one starts with TAG.
cat >/tmp/shmfs-ipcns-holder.py <<'PY'
import ctypes, os, sys, time
tag, ready, mode = sys.argv[1], sys.argv[2], int(sys.argv[3], 8)
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
MiB = 1 << 20
detached = libc.shmget(0x6e730001, 16 * MiB, mode | 0o1000)
a = libc.shmat(detached, None, 0)
ctypes.memset(a, ord("d"), 16 * MiB)
libc.shmdt(ctypes.c_void_p(a))
attached = libc.shmget(0x6e730002, 8 * MiB, mode | 0o1000)
b = libc.shmat(attached, None, 0)
ctypes.memset(b, ord("a"), 8 * MiB)
ctypes.memmove(b, tag.encode(), len(tag))
with open(ready + ".tmp", "w") as f:
    f.write("%d %d %d\n" % (os.getpid(), detached, attached))
os.rename(ready + ".tmp", ready)
time.sleep(120)
PY
# container TAG MODE [WRAPPER...]: a holder in an IPC namespace of its own; prints "PID DETACHED ATTACHED".
container() {
	local tag=$1 mode=$2 ready
	shift 2
	ready=$(mktemp -u /tmp/shmfs-ipcns-ready-XXXXXX)
	unshare -i "$@" "$py" /tmp/shmfs-ipcns-holder.py "$tag" "$ready" "$mode" &
	for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.05; done
	cat "$ready"
	rm -f "$ready"
}
read -r pa da aa < <(container container-a 600)
pids+=("$pa")
read -r pb db ab < <(container container-b 600 setpriv --reuid=65534 --regid=65534 --clear-groups)
pids+=("$pb")
check "two containers made their segments" "yes" "$([ -n "${pa:-}" ] && [ -n "${pb:-}" ] && echo yes)"
nsa=$(stat -L -c %i "/proc/$pa/ns/ipc")
nsb=$(stat -L -c %i "/proc/$pb/ns/ipc")
# The two containers' entries: the machine may have other IPC namespaces (containers, other tests).
ours() { grep "^\($nsa\|$nsb\)@"; }
check "in two IPC namespaces of their own" "yes" "$([ "$nsa" != "$nsb" ] && echo yes)"
expected=$(printf '%s\n' "$nsa@0x6e730001@$da" "$nsa@0x6e730002@$aa" "$nsb@0x6e730001@$db" "$nsb@0x6e730002@$ab" | sort)
check ".sysv names each NSINODE@0xKEY@SHMID: the same keys never collide" "$expected" \
	"$(ls "$mnt/.sysv" | ours | sort)"
check "pshm ls --all names them the same" "$(echo "$expected" | sed 's|^|.sysv/|')" \
	"$("$pshm" ls -n --all | grep '^\.sysv/' | sed 's|^\.sysv/||' | ours | sed 's|^|.sysv/|' | sort)"
# Inode numbers: the mount shows SHMID + 1 (shmid 0 is the first of every
# namespace, and an entry of inode 0 is one readdir skips: ls, find and
# scandir would never list it); pshm and /proc/PID/maps say SHMID.
check "a fresh namespace's first segment is shmid 0" "0" "$da"
check ".sysv: each entry's inode is its SHMID + 1" "$((da + 1)) $((aa + 1))" \
	"$(stat -c %i "$mnt/.sysv/$nsa@0x6e730001@$da" "$mnt/.sysv/$nsa@0x6e730002@$aa" | xargs)"
check ".sysv: find lists shmid 0's entry, by that inode" "$mnt/.sysv/$nsa@0x6e730001@$da" \
	"$(find "$mnt/.sysv" -inum $((da + 1)) -name "$nsa@*")"
check "pshm: INODE is the SHMID, as /proc/PID/maps shows it" \
	"$da $da|$aa $aa|$(awk '/SYSV6e730002/ { print $5 }' "/proc/$pa/maps")" \
	"$("$pshm" ls --sysv -r -n -o INODE,SHMID,NAME | awk -v ns="$nsa" 'index($3, ".sysv/" ns "@") == 1 { print $1, $2 }' | sort -n | paste -sd'|')|$aa"
check "sizes and allocated bytes are the segments' own" \
	"$((16 * MiB)) $((16 * MiB)) $((8 * MiB)) $((8 * MiB))" \
	"$(stat -c '%s %b' "$mnt/.sysv/$nsa@0x6e730001@$da" "$mnt/.sysv/$nsa@0x6e730002@$aa" |
		awk '{ printf "%s %d ", $1, $2 * 512 }' | sed 's/ $//')"
check "holders: the attaching process, through its namespace" "$pa python3 map" \
	"$(getfattr --only-values -n user.shmfs.holders "$mnt/.sysv/$nsa@0x6e730002@$aa" | awk '{ print $1, $2, $3 }')"
check "cat reads each namespace's own segment" "container-a container-b" \
	"$(head -c 11 "$mnt/.sysv/$nsa@0x6e730002@$aa") $(head -c 11 "$mnt/.sysv/$nsb@0x6e730002@$ab")"
check "pshm ls --all -J: ipcns is the namespace's inode" "$nsb $nsb" \
	"$("$pshm" ls --all -J -b --output-all | "$py" -c 'import json, sys
print(*[o["ipcns"] for o in json.load(sys.stdin)["shm"] if o["name"].startswith(".sysv/'"$nsb"'@")])')"
check "their bytes: 48 MiB of System V" "$((48 * MiB))" \
	"$("$pshm" ls --all -J -b --output-all | "$py" -c 'import json, sys
print(sum(o["allocated"] for o in json.load(sys.stdin)["shm"] if o["kind"] == "sysv" and o["ipcns"] in ('"$nsa, $nsb"')))')"
check "usage counts every namespace's System V segments" \
	"$("$pshm" ls --all -J -b --output-all | "$py" -c 'import json, sys
print(sum(o["allocated"] for o in json.load(sys.stdin)["shm"] if o["kind"] == "sysv"))')" \
	"$("$pshm" usage -J -b --output-all | "$py" -c 'import json, sys
print(next(r["size"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "sysv"))')"

# Who sees what: nobody owns container b's segments, not container a's.
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
check "nobody sees through the mount the segments nobody owns" \
	"$(printf '%s\n' "$nsb@0x6e730001@$db" "$nsb@0x6e730002@$ab" | sort)" \
	"$(as_nobody ls "$mnt/.sysv" | ours | sort)"
check "nobody cannot remove container a's segment" "No such file or directory" \
	"$(as_nobody rm "$mnt/.sysv/$nsa@0x6e730001@$da" 2>&1 | sed 's/.*: //')"

# rm acts in the segment's own namespace.
rm "$mnt/.sysv/$nsa@0x6e730001@$da"
check "rm removes it in its namespace" "" "$(nsenter -t "$pa" -i ipcs -m -i "$da" 2>/dev/null | grep -c . | sed 's/^0$//')"
check "the same key in the other namespace is untouched" "1" \
	"$(nsenter -t "$pb" -i ipcs -m | grep -c '0x6e730001')"
check "and .sysv shows the rest" "$(printf '%s\n' "$nsa@0x6e730002@$aa" "$nsb@0x6e730001@$db" "$nsb@0x6e730002@$ab" | sort)" \
	"$(ls "$mnt/.sysv" | ours | sort)"
check "nobody removes their own segment in their container" "" \
	"$(as_nobody rm "$mnt/.sysv/$nsb@0x6e730001@$db" 2>&1)"
check "gone from container b" "0" "$(nsenter -t "$pb" -i ipcs -m | grep -c '0x6e730001')"

# rm is the kernel's decision, taken as the caller (IPC_RMID with the
# caller's uid), never a look-alike of ipcrm's rule checked as root.
# 1. nobody holds root's segment (mode 666) in container b: nobody sees it
#    (through its own holder), and the kernel refuses nobody's rm.
mine=$(mktemp -u /tmp/shmfs-ipcns-ready-XXXXXX)
nsenter -t "$pb" -i "$py" -c 'import ctypes, sys
libc = ctypes.CDLL("libc.so.6", use_errno=True)
print(libc.shmget(0x6e730003, 1 << 20, 0o666 | 0o1000))' >"$mine"
rootseg=$(cat "$mine")
rm -f "$mine"
nsenter -t "$pb" -i setpriv --reuid=65534 --regid=65534 --clear-groups "$py" -c 'import ctypes, sys, time
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat(int(sys.argv[1]), None, 0)
open(sys.argv[2], "w").close()
time.sleep(120)' "$rootseg" "$mine" &
pids+=("$!")
for _ in $(seq 100); do [ -e "$mine" ] && break; sleep 0.05; done
rm -f "$mine"
check "nobody sees root's segment it attached in container b" "$nsb@0x6e730003@$rootseg" \
	"$(as_nobody ls "$mnt/.sysv" | grep "^$nsb@0x6e730003@")"
check "but the kernel refuses nobody's rm of it" "Operation not permitted" \
	"$(as_nobody rm "$mnt/.sysv/$nsb@0x6e730003@$rootseg" 2>&1 | sed 's/.*: //')"
check "and it is still there" "1" "$(nsenter -t "$pb" -i ipcs -m | grep -c '0x6e730003')"
# 2. A user namespace uid 4713 owns (a uid of its own: what one user's
#    namespaces make a scan read is bounded, machine-wide), with a second
#    uid (4242) mapped in it: 4242 makes and attaches two segments there.
#    The kernel lets 4713, the namespace's owner, remove one (CAP_SYS_ADMIN
#    over it), though 4713 is neither its owner nor its creator, which
#    ipcrm's rule alone asks; 4242, their owner, may remove the other;
#    4243 may not.
if unshare -U true 2>/dev/null; then
	# setpriv itself in the background, so that $! is the process that unshares.
	setpriv --reuid=4713 --regid=4713 --clear-groups unshare -U -i sleep 120 &
	owner=$!
	pids+=("$owner")
	self_user=$(readlink /proc/self/ns/user)
	for _ in $(seq 100); do
		user=$(readlink "/proc/$owner/ns/user")
		[ -n "$user" ] && [ "$user" != "$self_user" ] && break
		sleep 0.05
	done
	printf '0 4713 1\n1 4242 1\n' | dd of="/proc/$owner/uid_map" status=none
	printf '0 4713 1\n1 4242 1\n' | dd of="/proc/$owner/gid_map" status=none
	nsu=$(stat -L -c %i "/proc/$owner/ns/ipc")
	mine=$(mktemp -u /tmp/shmfs-ipcns-ready-XXXXXX)
	nsenter -t "$owner" -U -i -S 1 -G 1 "$py" -c 'import ctypes, os, sys, time
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
i = libc.shmget(0x6e730004, 1 << 20, 0o600 | 0o1000)
j = libc.shmget(0x6e730005, 1 << 20, 0o600 | 0o1000)
libc.shmat(i, None, 0)
libc.shmat(j, None, 0)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d\n" % (i, j))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$mine" &
	pids+=("$!")
	for _ in $(seq 100); do [ -s "$mine" ] && break; sleep 0.05; done
	read -r useg useg2 <"$mine"
	rm -f "$mine"
	# 4713 (uid 0 there) attaches the first, so 4713 sees it through its own holder.
	nsenter -t "$owner" -U -i -S 0 -G 0 "$py" -c 'import ctypes, sys, time
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat(int(sys.argv[1]), None, 0)
open(sys.argv[2], "w").close()
time.sleep(120)' "$useg" "$mine" &
	pids+=("$!")
	for _ in $(seq 100); do [ -e "$mine" ] && break; sleep 0.05; done
	rm -f "$mine"
	check "uid 4242 made a segment in 4713's user namespace, 4713 attached it" "4242 4242 2" \
		"$(nsenter -t "$owner" -i awk -v id="$useg" '$2 == id { print $8, $10, $7 }' /proc/sysvipc/shm)"
	check "uid 4713, the namespace's owner, removes it: the kernel's rule" "0" \
		"$(setpriv --reuid=4713 --regid=4713 --clear-groups rm "$mnt/.sysv/$nsu@0x6e730004@$useg" 2>&1; echo $?)"
	check "gone from that namespace" "0" "$(nsenter -t "$owner" -i ipcs -m | grep -c '0x6e730004')"
	check "uid 4243, a stranger to both, may not remove the other" "No such file or directory" \
		"$(setpriv --reuid=4243 --regid=4243 --clear-groups rm "$mnt/.sysv/$nsu@0x6e730005@$useg2" 2>&1 | sed 's/.*: //')"
	check "uid 4242, its owner, may" "0" \
		"$(setpriv --reuid=4242 --regid=4242 --clear-groups rm "$mnt/.sysv/$nsu@0x6e730005@$useg2" 2>&1; echo $?)"
	check "gone too" "0" "$(nsenter -t "$owner" -i ipcs -m | grep -c '0x6e730005')"
else
	echo "ok - # SKIP no user namespaces here: the owner's rule is not tried"
fi
# 3. A namespace no process is in, kept alive by a descriptor of its nsfs
#    file: its process made a segment there, then went back to its own
#    namespace. Found through the descriptor, acted on through it too.
held=$(mktemp -u /tmp/shmfs-ipcns-ready-XXXXXX)
"$py" -c 'import ctypes, os, sys, time
libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.shmat.restype = ctypes.c_void_p
home = os.open("/proc/self/ns/ipc", os.O_RDONLY)
if libc.unshare(0x08000000) != 0:
    sys.exit(1)
shmid = libc.shmget(0x6e730006, 1 << 20, 0o600 | 0o1000)
a = libc.shmat(shmid, None, 0)
ctypes.memset(a, ord("h"), 1 << 20)
libc.shmdt(ctypes.c_void_p(a))
kept = os.open("/proc/self/ns/ipc", os.O_RDONLY)
if libc.setns(home, 0x08000000) != 0:
    sys.exit(2)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %d %d\n" % (os.getpid(), kept, shmid))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(120)' "$held" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$held" ] && break; sleep 0.05; done
read -r hpid hfd hseg <"$held"
rm -f "$held"
nsh=$(stat -L -c %i "/proc/$hpid/fd/$hfd")
check "the holder is back in its own namespace, the other kept by a descriptor" "yes" \
	"$([ "$(stat -L -c %i "/proc/$hpid/ns/ipc")" != "$nsh" ] && echo yes)"
check ".sysv shows the segment of a namespace no process is in" "$nsh@0x6e730006@$hseg" \
	"$(ls "$mnt/.sysv" | grep "^$nsh@")"
check "pshm ls --sysv too" ".sysv/$nsh@0x6e730006@$hseg" \
	"$("$pshm" ls --sysv -n -r -o NAME | grep "^\.sysv/$nsh@")"
check "its stat and bytes, asked in that namespace" "$((1 << 20)) $((1 << 20))" \
	"$(stat -c '%s %b' "$mnt/.sysv/$nsh@0x6e730006@$hseg" | awk '{ print $1, $2 * 512 }')"
check "cat reads it" "hhhh" "$(head -c 4 "$mnt/.sysv/$nsh@0x6e730006@$hseg")"
check "rm removes it there" "0 " \
	"$(rm "$mnt/.sysv/$nsh@0x6e730006@$hseg"; echo "$? $(ls "$mnt/.sysv" | grep "^$nsh@")")"

summary ipcns

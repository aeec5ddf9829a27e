#!/usr/bin/env bash
# pshm beside the tools it imitates, on the same objects: lsipc for System V
# segments, stat(1) field by field for named ones, awk reading -r, eval
# reading -P, numfmt reading sizes for people back, the header and -n, -J
# anywhere on the line, and an unknown column refused by name. Runs as root
# in a private IPC and mount namespace with its own tmpfs on /dev/shm, so
# that the segments compared are the test's own. (Names with control bytes
# and bytes that are not UTF-8, in every format: pshm.sh, "names that
# cannot lie".)
# Usage: conventions.sh PATH-TO-PSHM
set -uo pipefail
pshm=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/fs/lib.sh
. "$here/../fs/lib.sh"
isolate_ipc 64M "$@"
python=/usr/bin/python3
for tool in lsipc numfmt stat; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed"
		exit 77
	fi
done
work=$(mktemp -d /tmp/pshm-conventions-XXXXXX)
chmod 755 "$work"
cleanup() {
	# The System V segments go with the private IPC namespace; removed here all the same.
	for id in $(lsipc -m -r --noheadings -o ID 2>/dev/null); do ipcrm -m "$id" 2>/dev/null; done
	rm -rf "$work"
}
trap cleanup EXIT
status() {
	"$@" >/dev/null 2>&1
	echo $?
}

# --- System V: pshm ls --sysv against lsipc -m
# shmget(KEY, SIZE, MODE) for each KEY:SIZE:MODE, as whoever runs it.
cat >"$work/sysv.py" <<'EOF'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
for spec in sys.argv[1:]:
    key, size, mode = (int(x, 0) for x in spec.split(":"))
    if libc.shmget(key, size, 0o1000 | mode) < 0:
        sys.exit("shmget %s: errno %d" % (spec, ctypes.get_errno()))
EOF
"$python" "$work/sysv.py" 0x1234:4096:0o600 0:3145733:0o640 0x7fffffff:1536:0o644 0x51:1610612736:0o600
setpriv --reuid=65534 --regid=65534 --clear-groups "$python" "$work/sysv.py" 0xbeef:10485760:0o600
check "five System V segments made, as lsipc counts them" "5" "$(lsipc -m -r --noheadings -o ID | wc -l)"
# pshm, as root, also lists other IPC namespaces' segments (containers'):
# those of this one are the rows whose IPCNS is its own.
ns=$(stat -L -c %i /proc/self/ns/ipc)
ours() { awk -v ns="$ns" '$NF == ns { NF--; print }'; }
# lsipc's -n is --newline and its -P numeric permissions: pshm's -n and
# -P are lsblk's, lsfd's and findmnt's (no headings, KEY="value" pairs).
check "pshm ls --sysv -o KEY,SHMID,SIZE,OWNER -b -n == lsipc -m -b --noheadings -o KEY,ID,SIZE,OWNER" \
	"$(lsipc -m -b --noheadings -o KEY,ID,SIZE,OWNER | awk '{ $1 = $1; print }' | sort)" \
	"$("$pshm" ls --sysv -o KEY,SHMID,SIZE,OWNER,IPCNS -b -n | ours | sort)"
check "... and sizes for people, as lsipc prints them" \
	"$(lsipc -m --noheadings -o KEY,ID,SIZE | awk '{ $1 = $1; print }' | sort)" \
	"$("$pshm" ls --sysv -o KEY,SHMID,SIZE,IPCNS -n | ours | sort)"
check "... -r, as lsipc -r (header included)" \
	"$(lsipc -m -r -o KEY,ID,SIZE,OWNER | sed 's/^KEY ID /KEY SHMID /' | sort)" \
	"$("$pshm" ls --sysv -r -o KEY,SHMID,SIZE,OWNER,IPCNS | awk -v ns="$ns" 'NR == 1 || $NF == ns { NF--; print }' | sort)"
check "... -J, value for value (pshm's numbers are JSON numbers, lsipc's strings)" "same 5" \
	"$("$python" -c '
import json, subprocess, sys
pshm, ns = sys.argv[1], int(sys.argv[2])
mine = {(o["key"], str(o["shmid"]), str(o["size"]), o["owner"])
        for o in json.loads(subprocess.check_output([pshm, "ls", "--sysv", "-J", "-b", "-o", "KEY,SHMID,SIZE,OWNER,IPCNS"]))["shm"]
        if o["ipcns"] == ns}
theirs = {(o["key"], o["id"], o["size"], o["owner"])
          for o in json.loads(subprocess.check_output(["lsipc", "-m", "-J", "-b", "-o", "KEY,ID,SIZE,OWNER"]))["sharedmemory"]}
print("same" if mine == theirs else sorted(mine ^ theirs), len(mine))' "$pshm" "$ns")"

# --- named segments: pshm ls -J --output-all -b against stat(1), field by field
"$pshm" create jobs 1M --mode 0640
head -c 5000 /dev/urandom | "$pshm" write jobs
"$pshm" create state 4K
"$pshm" create empty 0 --mode read-user,read-group,read-other
"$pshm" create "two words" 8K
"$pshm" create owned 12K
"$pshm" chown owned nobody:nogroup
ln /dev/shm/state /dev/shm/state-link
segments=$(cd /dev/shm && ls | wc -l)
check "six names of five segments made" "6" "$segments"
# NAME|SIZE|BLOCKS|BLOCK-SIZE|MODE|OCTAL|OWNER|UID|GROUP|GID|INODE|ATIME|MTIME|CTIME per segment.
(cd /dev/shm && stat -c '%n|%s|%b|%B|%A|%a|%U|%u|%G|%g|%i|%X|%Y|%Z' -- *) >"$work/stat"
check "ls -J --output-all -b: every field of every segment is stat's" "ok 6" \
	"$("$pshm" ls -J --output-all -b | "$python" -c '
import datetime, json, sys
seconds = lambda iso: int(datetime.datetime.fromisoformat(iso).timestamp())
want = {}
for line in open(sys.argv[1]):
    n, size, blocks, bsize, mode, octal, owner, uid, group, gid, ino, a, m, c = line.rstrip("\n").split("|")
    want[n] = dict(kind="segment", size=int(size), allocated=int(blocks) * int(bsize), mode=mode,
                   octal="%04o" % int(octal, 8), owner=owner, uid=int(uid), group=group, gid=int(gid),
                   inode=int(ino), atime=int(a), mtime=int(m), ctime=int(c), path="/dev/shm/" + n)
bad, rows = [], json.load(sys.stdin)["shm"]
for o in rows:
    w = want.get(o["name"])
    if w is None:
        bad.append("unexpected " + o["name"])
        continue
    for k, v in w.items():
        got = seconds(o[k]) if k in ("atime", "mtime", "ctime") else o[k]
        if got != v:
            bad.append("%s %s: %r, stat says %r" % (o["name"], k, got, v))
print("; ".join(bad[:4]) or "ok", len(rows))' "$work/stat")"

# -r for awk: one record a line, the same number of fields on every line, blanks escaped.
expected=$(printf 'NAME SIZE MODE OWNER GROUP\n'
	(cd /dev/shm && stat -c '%n %s %A %U %G' -- *) | sed 's/^two words /two\\x20words /')
out=$("$pshm" ls -r -b -o NAME,SIZE,MODE,OWNER,GROUP)
check "ls -r: a header, then NAME SIZE MODE OWNER GROUP as stat says, 'two\\x20words' one field" \
	"$expected" "$out"
check "ls -r: five fields on every line, for awk" "5" "$(awk '{ print NF }' <<<"$out" | sort -u | xargs)"
check "ls -r: awk adds the sizes up as du --apparent-size -l does" \
	"$(cd /dev/shm && du -cbl --apparent-size -- * | tail -1 | cut -f1)" \
	"$(awk 'NR > 1 { sum += $2 } END { print sum }' <<<"$out")"

# -P for eval: KEY="value", a column named A-B as A_B.
out=$("$pshm" ls -P -b -o NAME,SIZE,OCTAL,MADE-AS)
check "ls -P: one line per segment" "$segments" "$(wc -l <<<"$out")"
check "ls -P: eval gives NAME SIZE OCTAL as stat says, MADE-AS as MADE_AS" \
	"$(cd /dev/shm && stat -c '%n|%s|%a|' -- * | awk -F'|' '{ printf "%s|%s|%04d|\n", $1, $2, $3 }')" \
	"$(while read -r line; do
		NAME='' SIZE='' OCTAL='' MADE_AS=unset
		eval "$line"
		echo "$NAME|$SIZE|$OCTAL|$MADE_AS"
	done <<<"$out")"

# --- the header row, and -n
"$python" -c 'import mmap, os, signal
m = mmap.mmap(os.open("/dev/shm/jobs", os.O_RDONLY), 4096, prot=mmap.PROT_READ)
os.close(os.open("/dev/shm/mapped", os.O_CREAT | os.O_WRONLY, 0o600))
signal.pause()' &
mapper=$!
for _ in $(seq 100); do [ -e /dev/shm/mapped ] && break; sleep 0.05; done
rm -f /dev/shm/mapped
check "ls: a header row of the columns chosen" "NAME SIZE" "$("$pshm" ls -o NAME,SIZE | head -1 | xargs)"
check "stat: a header row of the columns chosen" "NAME SIZE" "$("$pshm" stat -o NAME,SIZE jobs state | head -1 | xargs)"
check "holders: a header row, then its mapping (and its descriptors)" "PID PERMS|$mapper r--s" \
	"$("$pshm" holders -o PID,PERMS jobs | awk '{ $1 = $1; print }' | grep -v "^$mapper\$" | paste -sd'|')"
check "holders -n: no header" "$mapper r--s" "$("$pshm" holders -n -o PID,PERMS jobs | awk '{ $1 = $1; print }' | grep -v "^$mapper\$")"
kill "$mapper"
wait "$mapper" 2>/dev/null
check "ls: a header and one line per name; -n: the names alone" "$((segments + 1)) $segments" \
	"$("$pshm" ls | wc -l) $("$pshm" ls -n | wc -l)"
check "ls -n: no line is the header" "0" "$("$pshm" ls -n -o NAME,SIZE | grep -c '^NAME ')"
check "stat -n: one line per name asked" "2" "$("$pshm" stat -n jobs state | wc -l)"

# --- sizes for people: 4K, 1.5M..., read back by numfmt --from=iec within one decimal's precision
sizes=(0 1 1023 1024 1025 1536 10239 10240 1048575 1048576 1572864 1610612736 5368709121 3298534883328)
for s in "${sizes[@]}"; do "$pshm" create "size-$s" "$s"; done
out=$(for s in "${sizes[@]}"; do
	human=$("$pshm" stat -n -o SIZE "size-$s" | xargs)
	number=${human%B} # bytes: 512B
	echo "$s $human $(numfmt --from=iec "$number")"
done)
check "sizes for people: each within half a tenth of its unit of the bytes (numfmt --from=iec)" "ok ${#sizes[@]}" \
	"$(awk '{
		unit = 1; u = substr($2, length($2)); n = index("BKMGTPE", u)
		for (i = 1; i < n; i++) unit *= 1024
		diff = $3 - $1; if (diff < 0) diff = -diff
		if (diff > unit * 0.05 + 0.5 || (u == "B" && diff != 0)) bad = bad " " $0
		count++
	} END { print (bad ? "bad:" bad : "ok"), count }' <<<"$out")"
# 1048575 is 1024K to lsblk and lsipc too (rounded within its unit, never carried to the next).
check "sizes for people: as lsblk writes them" "0B 1B 1023B 1K 1K 1.5K 10K 10K 1024K 1M 1.5M 1.5G 5G 3T" \
	"$(awk '{ print $2 }' <<<"$out" | xargs)"
check "-b: the bytes themselves" "${sizes[*]}" \
	"$(for s in "${sizes[@]}"; do "$pshm" stat -n -b -o SIZE "size-$s" | xargs; done | xargs)"
for s in "${sizes[@]}"; do "$pshm" rm "size-$s"; done

# --- the table options anywhere on the line
check "pshm -J ls == pshm ls -J" "same" \
	"$([ "$("$pshm" -J -b --output-all ls)" = "$("$pshm" ls -J -b --output-all)" ] && echo same)"
check "pshm --json stat NAME == pshm stat --json NAME" "same" \
	"$([ "$("$pshm" --json stat jobs state)" = "$("$pshm" stat jobs state --json)" ] && echo same)"
check "pshm -o NAME,SIZE -b ls == pshm ls -o NAME,SIZE -b" "same" \
	"$([ "$("$pshm" -o NAME,SIZE -b ls)" = "$("$pshm" ls -o NAME,SIZE -b)" ] && echo same)"
check "pshm -J ls is JSON of the segments" "$segments" \
	"$("$pshm" -J ls | "$python" -c 'import json, sys; print(len(json.load(sys.stdin)["shm"]))')"

# --- an unknown column: status 2 and a message naming it, changing nothing
for cmd in "ls -o NO-SUCH" "stat -o NAME,NO-SUCH jobs" "holders -o PID,NO-SUCH jobs" \
	"watch -o EVENT,NO-SUCH" "ls --sort NO-SUCH"; do
	err=$(set -f && timeout 5 "$pshm" $cmd 2>&1 >/dev/null)
	code=$(set -f && status timeout 5 "$pshm" $cmd)
	check "$cmd: status 2, the column named" "2 yes" \
		"$code $(grep -q "unknown column 'NO-SUCH'" <<<"$err" && echo yes)"
done
check "and nothing changed" "$segments" "$(cd /dev/shm && ls | wc -l)"

summary conventions

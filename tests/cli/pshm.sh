#!/usr/bin/env bash
# pshm used the way a test harness uses it: every subcommand against
# /dev/shm, each result checked against the segment itself (stat, the
# bytes); then the visibility and permission rules as nobody. Runs as root
# in a private mount namespace with its own tmpfs on /dev/shm.
set -uo pipefail
pshm=$(realpath "$1")
shmfs=$(realpath "${2:-/nonexistent}")
here=$(dirname "$(realpath "$0")")
. "$here/../fs/lib.sh"
isolate 32M "$@"

python=/usr/bin/python3 # not a pyenv shim: nobody runs it too
work=$(mktemp -d /tmp/pshm-cli-XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	mountpoint -q "$work/mnt" && fusermount3 -u "$work/mnt"
	rm -rf "$work"
}
trap cleanup EXIT

nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
as_nobody() { "${nobody[@]}" "$@"; }

# The status of a command, its output discarded.
status() {
	"$@" >/dev/null 2>&1
	echo $?
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# A process that holds shared memory until killed: "map NAME" maps a
# segment, "memfd NAME" keeps an 8 KiB memfd, "deleted NAME" maps a segment
# and unlinks it. It creates the segment READY when it holds.
cat >"$work/holder.py" <<'PY'
import mmap, os, signal, sys
what, name, ready = sys.argv[1:4]
if what == "map":
    fd = os.open("/dev/shm/" + name, os.O_RDONLY)
    m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
elif what == "memfd":
    fd = os.memfd_create(name)
    os.write(fd, b"x" * 8192)
elif what == "through":  # open and mapped through a shmfs mount, NAME its path there
    fd = os.open(name, os.O_RDONLY)
    m = mmap.mmap(fd, 4096, prot=mmap.PROT_READ)
    name = os.path.basename(name)
elif what == "anon":
    m = mmap.mmap(-1, 8192)  # MAP_SHARED|MAP_ANONYMOUS
    m[:4] = b"anon"
elif what == "deleted":
    fd = os.open("/dev/shm/" + name, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, 4096)
    m = mmap.mmap(fd, 4096)
    m[:4] = b"gone"
    os.unlink("/dev/shm/" + name)
os.close(os.open("/dev/shm/" + ready, os.O_CREAT | os.O_WRONLY, 0o644))
signal.pause()
PY

# holder [setpriv ...] python holder.py WHAT NAME: starts one and waits until it holds (pshm wait, as a harness would).
holder() {
	local ready="ready-$RANDOM"
	"$@" "$ready" &
	pids+=($!)
	"$pshm" wait "$ready" --timeout 10 || echo "# holder $* did not start" >&2
	"$pshm" rm "$ready"
}

# The facts of each object in pshm's JSON (-J -b --output-all) on stdin, one line each:
# NAME SIZE ALLOCATED MODE UID GID INODE ATIME MTIME CTIME USER GROUP (times in seconds)
json_facts() {
	"$python" -c '
import datetime, json, sys
t = lambda s: int(datetime.datetime.fromisoformat(s).timestamp())
for o in json.load(sys.stdin)["shm"]:
    print(o["name"], o["size"], o["allocated"], o["octal"], o["uid"], o["gid"], o["inode"],
          t(o["atime"]), t(o["mtime"]), t(o["ctime"]), o["owner"], o["group"])'
}

# The same facts from stat(1), for segments NAME...
stat_facts() {
	local n
	for n in "$@"; do
		stat -c "$n %s %b %B %a %u %g %i %X %Y %Z %U %G" "/dev/shm/$n" |
			awk '{ printf "%s %s %d %04d %s %s %s %s %s %s %s %s\n", $1, $2, $3 * $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }'
	done
}

# --- conventions
check "--version names the program" "pshm" "$("$pshm" --version | cut -d' ' -f1)"
for cmd in ls stat holders usage create rm truncate chmod chown cat write anon wait watch; do
	check "$cmd --help: usage on stdout, status 0" "Usage: pshm $cmd 0" \
		"$("$pshm" "$cmd" --help | head -1 | cut -d' ' -f1-3) $?"
done
check "no command is a usage error" "2" "$(status "$pshm")"
check "an unknown command is a usage error" "2" "$(status "$pshm" frobnicate)"
check "an unknown option is a usage error" "2" "$(status "$pshm" ls --frobnicate)"
check "ls of an empty /dev/shm: nothing, not even a header (as lsblk), status 0" "0 lines, status 0" \
	"$("$pshm" ls 2>&1 | wc -l) lines, status ${PIPESTATUS[0]}"
check "ls -J of an empty /dev/shm: an empty list" "[]" \
	"$("$pshm" ls -J | "$python" -c 'import json, sys; print(json.load(sys.stdin)["shm"])')"
check "ls -n of an empty /dev/shm: nothing, status 0" "0 lines, status 0" \
	"$("$pshm" ls -n 2>&1 | wc -l) lines, status ${PIPESTATUS[0]}"

# --- create, and what it made
"$pshm" create jobs 1M --mode read-user,write-user,read-group
check "create NAME SIZE --mode WORDS" "1048576 640 root" "$(stat -c '%s %a %U' /dev/shm/jobs)"
"$pshm" create /state 4K
check "create /NAME: default mode 0600, leading / optional" "4096 600" "$(stat -c '%s %a' /dev/shm/state)"
(umask 077 && "$pshm" create open 64K --mode 0604)
check "create --mode OCTAL is exact whatever the umask" "65536 604" "$(stat -c '%s %a' /dev/shm/open)"
check "create --exclusive on an existing segment: the error line" \
	'pshm: shm_open("/jobs"): File exists 1' \
	"$("$pshm" create jobs 4K --exclusive 2>&1) $?"
check "... and it changed nothing" "1048576 640" "$(stat -c '%s %a' /dev/shm/jobs)"
"$pshm" create state 4K --exclusive 2>/dev/null
"$pshm" create empty 0 --exclusive
check "create without --exclusive opens and sizes; 0 is a size" "4096 0" \
	"$(stat -c %s /dev/shm/state) $(stat -c %s /dev/shm/empty)"

# --- bash completion, as bash-completion loads it (this pshm first in PATH: it lists columns and views)
completion=$here/../../src/pshm/pshm.bash-completion
complete_words() {
	PATH=$(dirname "$pshm"):$PATH bash -c '. /usr/share/bash-completion/bash_completion; . "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_pshm 2>/dev/null; echo "${COMPREPLY[*]}"' _ "$completion" "$@"
}
have_completion=$([ -f /usr/share/bash-completion/bash_completion ] && echo yes)
if [ -n "$have_completion" ]; then
	check "completion: commands" "create" "$(complete_words pshm cr)"
	check "completion: segment names" "jobs" "$(complete_words pshm stat jo)"
	check "completion: options" "--timeout --min-size --created --help" "$(complete_words pshm wait jobs --)"
	check "completion: usage's options" "--by-user --by-process --by-cgroup" \
		"$(complete_words pshm usage --by-)"
	check "completion: metrics" "metrics" "$(complete_words pshm met)"
	check "completion: metrics --output is a file" "$work/holder.py" \
		"$(complete_words pshm metrics --output "$work/hol")"
	check "completion: mode keywords after a comma" "read-user,all-user read-user,all-group read-user,all-other" \
		"$(complete_words pshm create x 1M --mode read-user,al)"
	check "completion: ls's kinds" "--segments --sysv --shared-anon --sort" "$(complete_words pshm ls --s)"
	for cmd in ls stat holders watch; do
		check "completion: $cmd's table options" "--output --output-all" "$(complete_words pshm "$cmd" --outp)"
		check "completion: $cmd -o: its columns, from pshm $cmd -H" \
			"$("$pshm" "$cmd" -H -r -n -o COLUMN | grep '^N' | xargs)" "$(complete_words pshm "$cmd" -o N)"
	done
	check "completion: watch --time" "--time" "$(complete_words pshm watch --ti)"
	check "completion: -o LIST: the next column after a comma" "NAME,SIZE" "$(complete_words pshm ls -o NAME,SI)"
	check "completion: -o +LIST" "+OCTAL +OWNER" "$(complete_words pshm ls -l -o +O)"
	check "completion: --sort COLUMN" "OCTAL OWNER" "$(complete_words pshm ls --sort O)"
	check "completion: table options before the command, then the command" "-J|ls" \
		"$(complete_words pshm -J)|$(complete_words pshm -J l)"
	check "completion: the mount's views, for stat and holders" ".deleted/ .hugetlb/ .memfd/ .shared-anon/ .sysv/" \
		"$(complete_words pshm stat . | xargs -n1 | sort | xargs)"
else
	echo "# bash-completion is not installed: completion not checked"
fi

# --- ls
check "ls lists what /dev/shm has, under a header" "NAME $(ls /dev/shm | xargs)" "$("$pshm" ls | xargs)"
check "ls -l: its header" "MODE OWNER GROUP SIZE ALLOCATED HOLDERS MTIME NAME" "$("$pshm" ls -l | head -1 | xargs)"
check "ls -l -b: mode, owner, group, size, allocated, holders, name" \
	"-rw-r----- root root 1048576 0 0 jobs" \
	"$("$pshm" ls -l -b | awk '$NF == "jobs" { print $1, $2, $3, $4, $5, $6, $NF }')"
check "ls -l: sizes for people, as numfmt --to=iec reads them back" "1048576 0" \
	"$("$pshm" ls -l | awk '$NF == "jobs" { print $4, $5 }' | sed 's/B$//g; s/B / /' | numfmt --from=iec --field=1-2)"
check "ls -J is JSON" "0" "$("$pshm" ls -J | "$python" -m json.tool >/dev/null; echo $?)"
check "ls -J --output-all -b agrees with stat, field by field" "$(stat_facts $(ls /dev/shm))" \
	"$("$pshm" ls -J --output-all -b | json_facts)"

# --- write, cat, truncate
printf 'hello' | "$pshm" write state
check "write: stdin into the segment, its size kept" "hello 4096" \
	"$(head -c 5 /dev/shm/state) $(stat -c %s /dev/shm/state)"
printf 'abcd' | "$pshm" write state --offset 4094
check "write --offset past the end grows it" "4098 abcd" \
	"$(stat -c %s /dev/shm/state) $(tail -c 4 /dev/shm/state)"
check "cat: the segment's bytes" "same" "$("$pshm" cat state | cmp -s - /dev/shm/state && echo same)"
head -c 300000 /dev/urandom | "$pshm" write open
check "write and cat of 300000 random bytes" "same 300000" \
	"$("$pshm" cat open | cmp -s - /dev/shm/open && echo same) $(stat -c %s /dev/shm/open)"
check "cat of an empty segment: nothing, status 0" "0 0" "$("$pshm" cat empty | wc -c) $?"
"$pshm" truncate state 8K
check "truncate NAME SIZE" "8192" "$(stat -c %s /dev/shm/state)"
check "the bytes before the new end stay" "hello" "$("$pshm" cat state | head -c 5)"

# --- chmod, chown
"$pshm" chmod jobs 0600
check "chmod OCTAL" "600" "$(stat -c %a /dev/shm/jobs)"
"$pshm" chmod open read-user,read-group,read-other
check "chmod WORDS" "444" "$(stat -c %a /dev/shm/open)"
"$pshm" chown open nobody:nogroup
check "chown USER:GROUP by name" "nobody:nogroup" "$(stat -c %U:%G /dev/shm/open)"
"$pshm" chown open 0
check "chown USER by number keeps the group" "root:nogroup" "$(stat -c %U:%G /dev/shm/open)"
"$pshm" chown open :0
check "chown :GROUP" "root:root" "$(stat -c %U:%G /dev/shm/open)"
"$pshm" chown open nobody:
check "chown USER: takes the user's login group too" "nobody:nogroup" "$(stat -c %U:%G /dev/shm/open)"
"$pshm" chown open 0:0
check "chown back to root:root" "root:root" "$(stat -c %U:%G /dev/shm/open)"
check "chown UID: of a uid no user has is a usage error" "2" "$(status "$pshm" chown open 4242:)"
check "chown to an unknown user is a usage error" "2" "$(status "$pshm" chown open no-such-user)"

# --- stat
check "stat: size, mode in octal and words, owner" \
	"1048576 0600 read-user,write-user root 0" \
	"$("$pshm" stat -n -b -o SIZE,OCTAL,PERMISSIONS,OWNER,UID jobs | xargs)"
check "stat --json agrees with stat, field by field" "$(stat_facts jobs state)" \
	"$("$pshm" stat --json --output-all --bytes jobs /state | json_facts)"
check "stat of a missing segment: the error line, status 1" \
	'pshm: stat("nope"): No such file or directory 1' "$("$pshm" stat nope 2>&1) $?"
check "stat of several, one missing: the others shown, status 1" "jobs 1" \
	"$("$pshm" stat --json jobs nope 2>/dev/null | "$python" -c 'import json,sys; print(*[o["name"] for o in json.load(sys.stdin)["shm"]])') $?"

# --- holders, and ls -l's count
"$pshm" chmod jobs 0644
holder "$python" "$work/holder.py" map jobs
mapper=${pids[-1]}
lines=$("$pshm" holders -n jobs 2>/dev/null)
check "holders: the mapping process alone" "$mapper python3" "$(echo "$lines" | awk '{ print $1, $2 }' | sort -u)"
check "holders: its descriptors and its shared read-only mapping" 'fd map r--s' \
	"$("$pshm" holders -P -o FD,PERMS jobs 2>/dev/null | awk '/^FD="[0-9]+" PERMS=""$/ { f = "fd" } /^FD="" PERMS=/ { m = $2 } END { print f, "map", substr(m, 8, 4) }')"
check "holders: the header" "PID COMMAND USER FD MAPPING PERMS" "$("$pshm" holders jobs 2>/dev/null | head -1 | xargs)"
check "holders --json names the same process" "$mapper" \
	"$("$pshm" holders --json jobs | "$python" -c 'import json,sys; print(*sorted({h["pid"] for h in json.load(sys.stdin)["holders"]}))')"
check "ls -l counts one holding process" "1" "$("$pshm" ls -l | awk '$NF == "jobs" { print $6 }')"
check "holders of a segment nobody holds: nothing" "" "$("$pshm" holders -n state 2>/dev/null)"
check "holders of a missing segment: status 1" "1" "$(status "$pshm" holders nope)"

# A segment with two names (a hard link): each name its own entry, one
# inode, the same holders (a scan once kept only the last name it walked).
"$pshm" create zz_a 4096 --mode 0644
ln /dev/shm/zz_a /dev/shm/zz_b
holder "$python" "$work/holder.py" map zz_a
linker=${pids[-1]}
check "ls -l lists both names of a hard link, each held by its process" "1 zz_a 1 zz_b" \
	"$("$pshm" ls -l | awk '$NF == "zz_a" || $NF == "zz_b" { print $6, $NF }' | xargs)"
check "stat finds both names, with one inode" \
	"zz_a $(stat -c %i /dev/shm/zz_a) zz_b $(stat -c %i /dev/shm/zz_b)" \
	"$("$pshm" stat -n -o NAME,INODE zz_a zz_b | xargs)"
check "holders of the other name: the same process" "$linker" \
	"$("$pshm" holders -n -o PID zz_b 2>/dev/null | sort -u | xargs)"
kill "$linker"
"$pshm" rm zz_a
"$pshm" rm zz_b

# --- the other kinds (--all), as the mount's views name them
# Names of this run's own: /proc is the machine's, other runs may hold a "jit" too.
jit=jit-$$ gone=gone-$$ mine=mine-$$
holder "$python" "$work/holder.py" memfd "$jit"
holder "$python" "$work/holder.py" deleted "$gone"
memfd=$("$pshm" ls -n --all | grep -E "^\\.memfd/$jit@[0-9]+\$")
check "ls --all shows a memfd as .memfd/NAME@INODE" "1" "$(echo "$memfd" | grep -c .)"
check "ls --all shows an unlinked, mapped segment as .deleted/NAME@INODE" "1" \
	"$("$pshm" ls -n --all | grep -cE "^\\.deleted/$gone@[0-9]+\$")"
check "ls without --all shows neither" "0" "$("$pshm" ls -n | grep -c '[@.]')"
if [ -n "$have_completion" ]; then
	check "completion: a memfd's name under .memfd/" "$memfd" "$(complete_words pshm holders ".memfd/$jit")"
	deleted=$("$pshm" ls -r -n -o NAME --deleted | grep "^\.deleted/$gone@[0-9]*$")
	check "completion: a deleted segment's name under .deleted/" "1 $deleted" \
		"$(grep -c . <<<"$deleted") $(complete_words pshm stat ".deleted/$gone")"
fi
check "stat of a memfd: its size and allocation" "8192 8192 memfd" \
	"$("$pshm" stat -n -b -o SIZE,ALLOCATED,KIND "$memfd" | xargs)"
check "holders of a memfd: its process's descriptor" "${pids[-2]} fd" \
	"$("$pshm" holders -n -o PID,FD "$memfd" 2>/dev/null | awk '{ print $1, $2 ? "fd" : "" }' | sort -u)"

# --- usage (tests/cli/usage.sh has the rest: sums, shares, nobody)
"$pshm" create owned 4K
"$pshm" chown owned nobody
segments=$(ls /dev/shm | wc -l)
usage_json() { "$pshm" usage -J -b --output-all "$@"; }
# KEY of the first row of KIND (and WHAT), from usage -J on stdin.
field() {
	"$python" -c 'import json, sys
kind, key, what = sys.argv[1], sys.argv[2], sys.argv[3:]
print(next(r[key] for r in json.load(sys.stdin)["usage"] if r["kind"] == kind and (not what or r["what"].strip() == what[0])))' "$@"
}
check "usage counts the segments" "$segments" "$(usage_json | field segment count)"
check "usage counts the deleted segment" "1 4096" \
	"$(usage_json | field deleted count) $(usage_json | field deleted size)"
check "usage counts the memfd's bytes" "1" "$(usage_json | "$python" -c 'import json, sys
r = next(r for r in json.load(sys.stdin)["usage"] if r["kind"] == "memfd")
print(int(r["count"] >= 1 and r["size"] >= 8192))')"
check "usage: /dev/shm's tmpfs as df says" "$(df -B1 --output=used /dev/shm | tail -1 | tr -d ' ')" \
	"$(usage_json | field tmpfs size /dev/shm)"
check "usage --by-user: nobody owns one segment" "1" \
	"$(usage_json --by-user -N | "$python" -c 'import json, sys
print(sum(r["count"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "segment" and r["uid"] == 65534))')"
check "usage --by-process: the memfd's holder" "1" \
	"$(usage_json --by-process | "$python" -c 'import json, sys
print(sum(r["count"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "memfd" and r["pid"] == '"${pids[-2]}"'))')"
check "usage -J is the table, with a line for every kind" "segment deleted memfd sysv shared-anon hugetlb" \
	"$(usage_json | "$python" -c 'import json, sys
kinds = [r["kind"] for r in json.load(sys.stdin)["usage"]]
print(*[k for k in ("segment", "deleted", "memfd", "sysv", "shared-anon", "hugetlb") if k in kinds])')"
check "usage as nobody says it could not read root's processes" "yes" \
	"$(as_nobody "$pshm" usage | awk '$1 == "unreadable" && $2 > 0 { print "yes" }')"
check "usage -J: the same count, as a number" "yes" \
	"$(as_nobody "$pshm" usage -J -o KIND,COUNT | "$python" -c 'import json,sys; n = [r["count"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "unreadable"][0]; print("yes" if isinstance(n, int) and n > 0 else n)')"
check "usage: the walk of mount namespaces was complete (no tmpfs-partial line)" "" \
	"$(usage_json | "$python" -c 'import json,sys; print(*[r["what"] for r in json.load(sys.stdin)["usage"] if r["kind"] == "tmpfs-partial"])')"
check "--by-user and --by-process together are a usage error" "2" \
	"$(status "$pshm" usage --by-user --by-process)"
check "-J before the subcommand, as util-linux takes it" "usage" \
	"$("$pshm" -J usage | "$python" -c 'import json,sys; print(*json.load(sys.stdin))')"

# --- as nobody: visibility and permissions
check "nobody lists every named segment" "$(ls /dev/shm)" "$(as_nobody "$pshm" ls -n)"
"$pshm" chmod state 0600
check "nobody cannot cat root's 0600 segment: the error line" \
	'pshm: shm_open("/state"): Permission denied 1' "$(as_nobody "$pshm" cat state 2>&1) $?"
check "nobody cannot remove root's segment" "1 exists" \
	"$(status as_nobody "$pshm" rm state) $([ -e /dev/shm/state ] && echo exists)"
check "nobody may not ask who holds a segment they cannot read" \
	'pshm: holders("state"): Permission denied 1' "$(as_nobody "$pshm" holders state 2>&1) $?"
check "nobody is not told of root's process holding a readable segment" "0 lines, status 0" \
	"$(as_nobody "$pshm" holders -n jobs 2>/dev/null | wc -l) lines, status $?"
check "nobody does not see root's memfd or deleted segment" "0" \
	"$(as_nobody "$pshm" ls -n --all | grep -cE "^\\.(memfd/$jit|deleted/$gone)@")"
check "nor can stat it" "1" "$(status as_nobody "$pshm" stat "$memfd")"
as_nobody "$pshm" create sealed 4096 --mode 0200
check "an owner may chmod their own segment they cannot read" "0 600" \
	"$(status as_nobody "$pshm" chmod sealed 0600) $(stat -c %a /dev/shm/sealed)"
"$pshm" chmod sealed 0200
"$pshm" rm sealed
check "but not another's: the error line" 'pshm: fchmod("/state"): Operation not permitted 1 600' \
	"$(as_nobody "$pshm" chmod state 0666 2>&1) $? $(stat -c %a /dev/shm/state)"
holder "${nobody[@]}" "$python" "$work/holder.py" memfd "$mine"
check "nobody sees their own memfd" "1" "$(as_nobody "$pshm" ls -n --all | grep -cE "^\\.memfd/$mine@")"
holder "${nobody[@]}" "$python" "$work/holder.py" anon unused
check "nobody's own shared mapping is nobody's, not root's (map_files is root's only)" "yes" \
	"$(as_nobody "$pshm" ls --all -J -b -o KIND,UID,GID,SIZE | "$python" -c '
import json, sys
mine = [o for o in json.load(sys.stdin)["shm"] if o["kind"] == "shared-anon"]
print("yes" if mine and all(o["uid"] == 65534 and o["gid"] == 65534 and o["size"] == 8192 for o in mine) else mine)')"
check "usage as nobody counts the segments ls lists, as root's does" "$(as_nobody "$pshm" ls -n | wc -l)" \
	"$(as_nobody "$pshm" usage -J -o KIND,COUNT | field segment count)"
as_nobody "$pshm" create theirs 4K
check "nobody's create is nobody's" "nobody 600" "$(stat -c '%U %a' /dev/shm/theirs)"
check "nobody cannot give it away" "1 nobody" \
	"$(status as_nobody "$pshm" chown theirs root) $(stat -c %U /dev/shm/theirs)"
as_nobody "$pshm" rm theirs
check "nobody removes their own" "no" "$([ -e /dev/shm/theirs ] && echo yes || echo no)"
for p in "${pids[@]}"; do kill "$p"; done
wait
pids=()

# --- anon
before=$(df -B1 --output=used /dev/shm | tail -1)
out=$("$pshm" anon 1M -- sh -c '
	head -c 1048576 /dev/zero | tr "\0" x | dd of=/proc/self/fd/$PSHM_FD conv=notrunc status=none
	echo "$PSHM_SIZE $(stat -L -c "%s %a" /proc/self/fd/$PSHM_FD) $(head -c 3 /proc/self/fd/$PSHM_FD)"
	readlink /proc/self/fd/$PSHM_FD | grep -c "(deleted)$"
	df -B1 --output=used /dev/shm | tail -1
	exit 3')
status=$?
check "anon: the child writes through /proc/self/fd/\$PSHM_FD" "1048576 1048576 600 xxx" "$(echo "$out" | sed -n 1p)"
check "anon: the segment has no name" "1" "$(echo "$out" | sed -n 2p)"
check "anon: it holds memory while the child runs" "yes" \
	"$([ "$(echo "$out" | sed -n 3p)" -ge $((before + 1048576)) ] && echo yes || echo "no: $out")"
check "anon: the exit status is the child's" "3" "$status"
check "anon: the memory is freed when the child is gone" "$before" "$(df -B1 --output=used /dev/shm | tail -1)"
check "anon: nothing is left, deleted or not" "" "$("$pshm" ls --all | grep pshm-anon)"
check "anon: a child killed by a signal is 128+signal" "143" \
	"$("$pshm" anon 4K -- sh -c 'kill -TERM $$'; echo $?)"
check "anon: a command that cannot run is 127, with the error line" \
	'pshm: exec("/nonexistent"): No such file or directory 127' \
	"$("$pshm" anon 4K -- /nonexistent 2>&1) $?"
check "anon: options after SIZE, CMD's own options are its own" "0640 -c" \
	"$("$pshm" anon 4K --mode 0640 sh -c 'printf "%04o " 0$(stat -L -c %a /proc/self/fd/$PSHM_FD); echo "$0"' -c)"
# A process the command started keeps the segment until it lets go.
"$pshm" anon 64K -- sh -c "sleep 60 >/dev/null 2>&1 & echo \$! >$work/sleeper"
sleeper=$(cat "$work/sleeper")
check "anon: what the command started still holds it" "1" "$("$pshm" ls --all | grep -c '^\.deleted/pshm-anon-')"
kill "$sleeper"
for _ in $(seq 100); do kill -0 "$sleeper" 2>/dev/null || break; sleep 0.05; done
check "anon: and it is freed when that one ends" "0" "$("$pshm" ls --all | grep -c '^\.deleted/pshm-anon-')"

# --- wait
check "wait for a segment that exists: 0 at once" "0" "$(status "$pshm" wait jobs --timeout 10)"
(sleep 0.2 && "$pshm" create late 4K) &
check "wait is woken by a producer 200 ms later" "0 exists" \
	"$("$pshm" wait late --timeout 10; echo $?) $([ -e /dev/shm/late ] && echo exists)"
wait
"$pshm" create grow 0
(sleep 0.2 && "$pshm" truncate grow 64K) &
check "wait --min-size waits for the resize" "0 65536" \
	"$("$pshm" wait grow --min-size 64K --timeout 10; echo $?) $(stat -c %s /dev/shm/grow)"
wait
start=$(now_ms)
"$pshm" wait never --timeout 0.3
status=$?
took=$(($(now_ms) - start))
check "wait times out with 124" "124" "$status"
check "after the timeout, not before, and not much later" "yes" \
	"$([ "$took" -ge 290 ] && [ "$took" -lt 5000 ] && echo yes || echo "no: $took ms")"
check "wait --min-size on a too small segment times out too" "124" \
	"$(status "$pshm" wait grow --min-size 1M --timeout 0.3)"
# A producer racing the watch: a segment created while wait starts is never missed.
missed=0
for i in $(seq 20); do
	"$pshm" create "race$i" 0 &
	"$pshm" wait "race$i" --timeout 10 || missed=$((missed + 1))
	wait
done
check "20 producers racing wait: none missed" "0" "$missed"
"$pshm" rm $(cd /dev/shm && ls -d race*)
check "wait --timeout that is not a number is a usage error" "2" "$(status "$pshm" wait x --timeout soon)"
check "wait for a name with / is a usage error" "2" "$(status "$pshm" wait a/b --timeout 1)"

# --- watch
# Its rows come through a pipe ($events); each is read with a deadline, in
# order, before the next change is made: each is printed (flushed) as it happens.
start_watch() {
	exec {events}< <(exec "$pshm" watch "$@")
	watcher=$!
	pids+=("$watcher")
	# Ready once its inotify watch is in place (then its snapshot takes microseconds).
	for _ in $(seq 100); do
		grep -qs '^inotify wd:' /proc/"$watcher"/fdinfo/* && break
		sleep 0.05
	done
	sleep 0.2
}
stop_watch() {
	kill "$watcher"
	wait "$watcher" 2>/dev/null
	exec {events}<&-
}
next_event() {
	local line
	read -r -t 10 line <&"$events" || line="(nothing in 10 s)"
	echo "$line"
}
# The first two fields of the next row: EVENT NAME.
next_name() { next_event | cut -d' ' -f1-2; }
# For awk: raw, no header, bytes, every cell filled ("-" when nothing).
facts=EVENT,NAME,SIZE,OCTAL,UID,GID,OLD-SIZE,OLD-OCTAL,OLD-UID,OLD-GID
start_watch -r -n -b -o "$facts"
"$pshm" create w 0
check "watch: created NAME SIZE MODE UID GID, nothing old" "created w 0 0600 0 0 - - - -" "$(next_event)"
"$pshm" truncate w 4K
check "watch: resized, OLD-SIZE" "resized w 4096 0600 0 0 0 - - -" "$(next_event)"
printf 'data only' | "$pshm" write w
"$pshm" chmod w 0640
check "watch: a write of data is no row; chmod is mode, OLD-OCTAL" "mode w 4096 0640 0 0 - 0600 - -" "$(next_event)"
"$pshm" chown w nobody:nogroup
check "watch: owner, OLD-UID and OLD-GID" "owner w 4096 0640 65534 65534 - - 0 0" "$(next_event)"
"$pshm" rm w
check "watch: removed, as it was last known" "removed w 4096 0640 65534 65534 - - - -" "$(next_event)"
"$pshm" create w2 0
"$pshm" create other 0
check "watch: two more" "created w2|created other" "$(next_name)|$(next_name)"
mv /dev/shm/other /dev/shm/w2
check "watch: a rename over a segment: the old one removed, the new one there" \
	"removed other|removed w2|created w2" "$(next_name)|$(next_name)|$(next_name)"
# A FIFO renamed over a segment: the segment is gone, the FIFO is no segment.
"$pshm" create by-fifo 0
check "watch: one to replace by a FIFO" "created by-fifo" "$(next_name)"
mkfifo /dev/shm/a-fifo
mv -T /dev/shm/a-fifo /dev/shm/by-fifo
check "watch: a FIFO renamed over a segment removes it" "removed by-fifo" "$(next_name)"
rm -f /dev/shm/by-fifo
# More events than the kernel queues: what was lost is found by looking again.
"$pshm" create gone-later 0
check "watch: one to remove while it cannot read" "created gone-later" "$(next_name)"
kill -STOP "$watcher"
"$python" - "$(cat /proc/sys/fs/inotify/max_queued_events)" <<'EOF'
import os, sys
a = os.open("/dev/shm/w2", os.O_RDWR)
b = os.open("/dev/shm/j-side", os.O_RDWR | os.O_CREAT, 0o600)
for i in range(int(sys.argv[1]) // 2 + 100):
    os.ftruncate(a, i + 1)  # alternating, so the kernel cannot merge them
    os.ftruncate(b, i + 1)
os.unlink("/dev/shm/gone-later")  # past the queue's end: lost
EOF
kill -CONT "$watcher"
final=$(stat -c %s /dev/shm/w2)
check "watch: after an overflow, the changes, the overflow row and the lost removal" \
	"created j-side $final 0600 0 0 - - - -|resized w2 $final 0600 0 0 0 - - -|overflow - - - - - - - - -|removed gone-later 0 0600 0 0 - - - -" \
	"$(next_event)|$(next_event)|$(next_event)|$(next_event)"
"$pshm" rm w2 j-side
check "watch: and it goes on" "removed w2|removed j-side" "$(next_name)|$(next_name)"
# Made and unlinked while watch cannot look (stopped): still a created and a
# removed row, what could not be known said so (-).
kill -STOP "$watcher"
"$pshm" create flash 4K
"$pshm" rm flash
kill -CONT "$watcher"
check "watch: a segment gone before its look: created, then removed, nothing known" \
	"created flash - - - - - - - -|removed flash - - - - - - - -" "$(next_event)|$(next_event)"
stop_watch

# As people read it: a header, columns aligned row after row, sizes and modes as ls -l's.
start_watch
"$pshm" create aligned 0
"$pshm" truncate aligned 1M
"$pshm" chmod aligned 0640
"$pshm" chown aligned nobody:nogroup
"$pshm" rm aligned
out=$(for _ in 1 2 3 4 5 6; do next_event; done)
stop_watch
check "watch: its header" "EVENT SIZE MODE OWNER GROUP OLD-SIZE OLD-MODE OLD-OWNER OLD-GROUP NAME" \
	"$(head -1 <<<"$out" | xargs)"
check "watch: created, resized, mode, owner, removed, as people read them" \
	"created 0B -rw------- root root - - - - aligned|resized 1M -rw------- root root 0B - - - aligned|mode 1M -rw-r----- root root - -rw------- - - aligned|owner 1M -rw-r----- nobody nogroup - - root root aligned|removed 1M -rw-r----- nobody nogroup - - - - aligned" \
	"$(tail -n +2 <<<"$out" | awk '{ $1 = $1; print }' | paste -sd'|')"
check "watch: rows aligned with the header (NAME starts at one offset)" "1" \
	"$(awk '{ print length($0) - length($NF) }' <<<"$out" | sort -u | wc -l)"
check "watch: rows aligned with the header (SIZE ends at one offset)" "1" \
	"$(awk '{ print index($0, $2) + length($2) }' <<<"$out" | sort -u | wc -l)"

# --time: ISO 8601 to the microsecond, first; -P for eval; -N numbers.
start_watch --time -P -N -b -o EVENT,NAME,SIZE,OWNER
"$pshm" create timed 0
line=$(next_event)
stop_watch
TIME='' EVENT='' NAME='' SIZE='' OWNER=''
eval "$line"
check "watch --time -P -N: eval gives TIME EVENT NAME SIZE OWNER" "created timed 0 0" "$EVENT $NAME $SIZE $OWNER"
check "watch --time: ISO 8601 with microseconds and offset" "yes" \
	"$(grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2}$' <<<"$TIME" && echo yes || echo "no: $TIME")"
"$pshm" rm timed

# -J: one object a line, keyed as ls -J keys its columns, null for nothing.
start_watch -J -b --time -o EVENT,NAME,SIZE,OCTAL,UID,OLD-SIZE
"$pshm" create j 0
"$pshm" truncate j 8K
out="$(next_event)
$(next_event)"
stop_watch
check "watch -J: one object a line, typed, null for nothing" \
	"time event name size octal uid old-size|created j 0 '0600' 0 None|resized j 8192 '0600' 0 0" \
	"$("$python" -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin]
print(" ".join(rows[0]), end="|")
print("|".join(" ".join(repr(r[k]) if k == "octal" else str(r[k]) for k in ("event", "name", "size", "octal", "uid", "old-size")) for r in rows))' <<<"$out")"
"$pshm" rm j

check "watch -H: its columns" \
	"TIME EVENT NAME INODE SIZE MODE OCTAL OWNER UID GROUP GID OLD-SIZE OLD-MODE OLD-OCTAL OLD-OWNER OLD-UID OLD-GROUP OLD-GID" \
	"$("$pshm" watch -H -n -o COLUMN | xargs)"
check "watch -o of an unknown column: status 2, naming it" "'FROB' 2" \
	"$("$pshm" watch -o EVENT,FROB 2>&1 >/dev/null | grep -o "'FROB'") $(status "$pshm" watch -o EVENT,FROB)"
check "watch --sort: status 2 (events come as they come)" "2" "$(status timeout 5 "$pshm" watch --sort NAME)"

# --- names that cannot lie: another user's names, as root sees them
# Each holds what a terminal or a script reading lines would obey: escape
# sequences (a window title, a clear screen), BEL, a newline before a
# forged entry or watch event, a backslash, a space, a tab, DEL, bytes that
# are not UTF-8. pshm writes them as util-linux's tools do (libsmartcols):
# \xHH for each control byte, DEL, byte that is not a character of the
# locale (C here: every byte above 0x7e) and the backslash of a "\x"; -r
# also escapes blanks, so that one line is one entry and a name one field.
export LC_ALL=C
lying=($'title\e]0;owned\a' $'clear\e[2J' $'x\nremoved jobs'
	$'y\n-rw------- root root 1 0 0 2020-01-01 00:00:00 forged' 'back\slash' 'back\x41' 'a space'
	$'tab\there' $'del\x7f' $'bytes\x80\xff\xc3(')
theirs=$(find /dev/shm -maxdepth 1 -user nobody -printf . | wc -c)
for n in "${lying[@]}"; do as_nobody "$pshm" create "$n" 4K; done
# escaped table|raw|pairs NAME...: the names as pshm must print them, one a
# line, from their bytes: the aligned table escapes the backslash of "\x"
# alone, -r every backslash and blank, -P every backslash, $, " and `.
escaped() {
	"$python" -c '
import os, sys
mode, names = sys.argv[1], sys.argv[2:]
for a in names:
    b = os.fsencode(a)
    out = ""
    for i, c in enumerate(b):
        bad = c < 0x20 or c >= 0x7f
        bad |= mode == "table" and c == 0x5c and b[i + 1:i + 2] == b"x"
        bad |= mode == "raw" and c in b" \\"
        bad |= mode == "pairs" and c in b"\\$\"`"
        out += "\\x%02x" % c if bad else chr(c)
    print(out)' "$@"
}
# The lines of stdin holding a byte below 0x20 (tab included), DEL or above 0x7e.
unsafe_lines() { LC_ALL=C grep -caP '[^\x20-\x7e]'; }
segment_count() { find /dev/shm -maxdepth 1 -type f ! -name "sem.*" -printf . | wc -c; }
json_count() { "$python" -c 'import json, sys; print(len(json.load(sys.stdin)["shm"]))'; }
# pshm's JSON names on stdin as bytes: each \xHH the byte HH, the rest UTF-8.
json_names() {
	"$python" -c '
import json, re, sys
for o in json.load(sys.stdin)["shm"]:
    b = o["name"].encode()
    sys.stdout.buffer.write(re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]), b) + b"\0")'
}
check "the names were made, as nobody's" "$((theirs + ${#lying[@]}))" "$(find /dev/shm -maxdepth 1 -user nobody -printf . | wc -c)"
out=$("$pshm" ls -n)
check "ls: no control byte, DEL or byte above 0x7e" "0" "$(unsafe_lines <<<"$out")"
check "ls: one line per segment" "$(segment_count)" "$(wc -l <<<"$out")"
check "ls: each name escaped as \\xHH" "$(escaped table "${lying[@]}" | sort)" \
	"$(grep -Fxf <(escaped table "${lying[@]}") <<<"$out" | sort)"
out=$("$pshm" ls -l -r -n)
check "ls -l -r: no control byte" "0" "$(unsafe_lines <<<"$out")"
check "ls -l -r: one line per segment" "$(segment_count)" "$(wc -l <<<"$out")"
check "ls -l -r: the name is the last field, escaped" "$(escaped raw "${lying[@]}" | sort)" \
	"$(awk '{ print $NF }' <<<"$out" | grep -Fxf <(escaped raw "${lying[@]}") | sort)"
check "ls -l -r: eight fields on every line, for awk" "8" "$(awk '{ print NF }' <<<"$out" | sort -u | xargs)"
out=$("$pshm" ls -P -o NAME,SIZE -b)
check "ls -P: eval gives back each name escaped, and its size" "$(escaped pairs "${lying[@]}" | sort)" \
	"$(while read -r line; do eval "$line"; [ "$SIZE" = 4096 ] && echo "$NAME"; done <<<"$out" | grep -Fxf <(escaped pairs "${lying[@]}") | sort)"
out=$("$pshm" ls -n --all)
check "ls --all: no control byte" "0" "$(unsafe_lines <<<"$out")"
check "ls --all: one line per object" "$("$pshm" ls --all --json | json_count)" "$(wc -l <<<"$out")"
check "ls --json is valid UTF-8 (names that are not are escaped)" "ok" \
	"$("$pshm" ls --json | "$python" -c 'import sys; sys.stdin.buffer.read().decode("utf-8"); print("ok")')"
check "ls --json: the exact names, byte for byte, with one rule (\\xHH is the byte)" "same" \
	"$("$pshm" ls --json | json_names | "$python" -c '
import os, sys
names = set(sys.stdin.buffer.read().split(b"\0")[:-1])
print("same" if names == set(os.listdir(b"/dev/shm")) else sorted(names ^ set(os.listdir(b"/dev/shm"))))')"
for n in "${lying[@]}"; do
	e=$(escaped raw "$n")
	out=$("$pshm" stat -n -r -o NAME,PATH "$n")
	check "stat $e: name and path escaped, one line" "0 1 $e /dev/shm/$e" \
		"$(unsafe_lines <<<"$out") $(wc -l <<<"$out") $out"
	check "stat --json $e: the exact name" "same" \
		"$("$pshm" stat --json "$n" | json_names | "$python" -c '
import os, sys
print("same" if sys.stdin.buffer.read() == os.fsencode(sys.argv[1]) + b"\0" else "differs")' "$n")"
done
out=$("$pshm" stat $'nope\e[2J\nforged' 2>&1)
check "stat of a missing name: one error line, escaped" \
	'pshm: stat("nope\x1b[2J\x0aforged"): No such file or directory' "$out"
holder "$python" "$work/holder.py" map "${lying[2]}"
out=$("$pshm" holders -n "${lying[2]}")
check "holders: no control byte, one line per descriptor or mapping" "0 yes" \
	"$(unsafe_lines <<<"$out") $([ "$(wc -l <<<"$out")" -ge 2 ] &&
		[ "$(wc -l <<<"$out")" = "$("$pshm" holders --json "${lying[2]}" |
			"$python" -c 'import json, sys; print(len(json.load(sys.stdin)["holders"]))')" ] && echo yes)"
"$pshm" chown "${lying[1]}" root
"$pshm" chmod "${lying[1]}" 0600
out=$(as_nobody "$pshm" holders "${lying[1]}" 2>&1)
check "holders refused: one error line, escaped" \
	'pshm: holders("clear\x1b[2J"): Permission denied' "$out"
out=$("$pshm" usage -n)
check "usage: no control byte, one line per row (-J names unreadable processes, text counts them)" "0 $("$pshm" usage -J -o KIND | "$python" -c '
import json, sys
print(len([r for r in json.load(sys.stdin)["usage"] if r["kind"] != "unreadable-process"]))')" "$(unsafe_lines <<<"$out") $(wc -l <<<"$out")"
# watch, in every format: each name made and removed while it runs, then an end mark.
formats=(table raw pairs json)
format_options=("-n" "-r -n" "-P" "-J")
watchers=()
for i in "${!formats[@]}"; do
	"$pshm" watch ${format_options[$i]} -o EVENT,NAME >"$work/watch.${formats[$i]}" &
	watchers+=($!)
	pids+=($!)
done
for w in "${watchers[@]}"; do
	for _ in $(seq 100); do
		grep -qs '^inotify wd:' /proc/"$w"/fdinfo/* && break
		sleep 0.05
	done
done
sleep 0.2
for n in "${lying[@]}"; do "$pshm" rm "$n"; done
for n in "${lying[@]}"; do as_nobody "$pshm" create "$n" 0; done
"$pshm" create watch-end 0
for f in "${formats[@]}"; do
	for _ in $(seq 200); do grep -qs 'watch-end' "$work/watch.$f" && break; sleep 0.05; done
done
kill "${watchers[@]}"
wait "${watchers[@]}" 2>/dev/null
events=$((2 * ${#lying[@]} + 1))
for f in table raw pairs; do
	out=$(cat "$work/watch.$f")
	check "watch ($f): no control byte, DEL or byte above 0x7e" "0" "$(unsafe_lines <<<"$out")"
	check "watch ($f): one line per event" "$events" "$(wc -l <<<"$out")"
done
check "watch: removed NAME, the name escaped as ls escapes it" \
	"$(escaped table "${lying[@]}" | sed 's/^/removed /' | sort)" \
	"$(grep '^removed ' "$work/watch.table" | sed 's/^removed  */removed /' | sort)"
check "watch: created NAME, the name escaped as ls escapes it" \
	"$(escaped table "${lying[@]}" | sed 's/^/created /' | sort)" \
	"$(grep '^created ' "$work/watch.table" | sed 's/^created  */created /' | grep -v watch-end | sort)"
check "watch -r: the name one field, escaped as ls -r escapes it" \
	"$( (escaped raw "${lying[@]}" | sed 's/^/removed /'; escaped raw "${lying[@]}" | sed 's/^/created /') | sort)" \
	"$(awk 'NF == 2 && $2 != "watch-end"' "$work/watch.raw" | sort)"
check "watch -P: eval gives back each name escaped as ls -P escapes it" \
	"$( (escaped pairs "${lying[@]}"; escaped pairs "${lying[@]}") | sort)" \
	"$(while read -r line; do eval "$line"; [ "$NAME" != watch-end ] && echo "$NAME"; done <"$work/watch.pairs" | sort)"
check "watch -J: valid UTF-8, one object per event, the exact names (\\xHH is the byte)" "ok $events" \
	"$("$python" -c '
import json, os, re, sys
raw = open(sys.argv[1], "rb").read()
raw.decode("utf-8")
rows = [json.loads(line) for line in raw.decode().splitlines()]
names = {re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]), r["name"].encode()) for r in rows}
want = {os.fsencode(n) for n in sys.argv[2:]} | {b"watch-end"}
print("ok" if names == want else sorted(names ^ want), len(rows))' "$work/watch.json" "${lying[@]}")"
"$pshm" rm "${lying[@]}" watch-end

# --- bad input changes nothing
snapshot=$(ls -l --time-style=+%s /dev/shm)
check "an unknown mode keyword: the parse line, status 2" \
	'pshm: parse mode: unknown word "rwdr"' "$("$pshm" create x 4K --mode rwdr 2>&1 | head -1)"
check "... status 2" "2" "$(status "$pshm" create x 4K --mode rwdr)"
check "a size that overflows: the parse line" 'pshm: parse size: too large "99999999999T"' \
	"$("$pshm" truncate jobs 99999999999T 2>&1 | head -1)"
check "... status 2" "2" "$(status "$pshm" truncate jobs 99999999999T)"
check "a name with /: status 2" "2" "$(status "$pshm" create a/b 4K)"
check "rm of a good and a bad name removes neither" "2" "$(status "$pshm" rm jobs a/b)"
check "a name too long: status 2" "2" "$(status "$pshm" create "$(printf 'n%.0s' {1..256})" 4K)"
check "truncate of a missing segment: the error line, status 1" \
	'pshm: shm_open("/nope"): No such file or directory 1' "$("$pshm" truncate nope 4K 2>&1) $?"
check "rm of a missing segment: status 1" "1" "$(status "$pshm" rm nope)"
check "chmod with a bad mode: status 2" "2" "$(status "$pshm" chmod jobs 01777)"
check "wrong number of arguments: status 2" "2" "$(status "$pshm" truncate jobs)"
check "none of it changed anything" "$snapshot" "$(ls -l --time-style=+%s /dev/shm)"

# --- through a shmfs mount: its clients hold segments as much as direct ones,
# and its daemon, which holds them for its clients, is never a holder: not
# to pshm, not to the daemon's own .ctl
if [ -x "$shmfs" ]; then
	mkdir "$work/mnt"
	"$shmfs" -f "$work/mnt" &
	daemon=$!
	pids+=("$daemon")
	for _ in $(seq 100); do
		mountpoint -q "$work/mnt" || ! kill -0 "$daemon" 2>/dev/null && break
		sleep 0.05
	done
	check "shmfs mounted, its daemon alive" "yes" \
		"$(mountpoint -q "$work/mnt" && kill -0 "$daemon" && echo yes)"
	"$pshm" create viamount 4K
	holder "$python" "$work/holder.py" through "$work/mnt/viamount"
	client=${pids[-1]}
	check "holders: a client of a shmfs mount holds by fd and by map" "fd map" \
		"$("$pshm" holders -J viamount | "$python" -c '
import json, sys
print(*sorted({"fd" if h["fd"] is not None else "map" for h in json.load(sys.stdin)["holders"] if h["pid"] == int(sys.argv[1])}))' "$client")"
	check "the daemon holds it open for its client" "yes" \
		"$(find /proc/"$daemon"/fd -lname /dev/shm/viamount | grep -q . && echo yes)"
	check "holders: the client alone, never the daemon" "$client" \
		"$("$pshm" holders -n -o PID viamount | sort -u | xargs)"
	check "ls counts one holding process" "1" \
		"$("$pshm" ls -n -o NAME,HOLDERS | awk '$1 == "viamount" { print $2 }')"
	check "holders --json: not the daemon either" "$client" \
		"$("$pshm" holders -J viamount | "$python" -c 'import json, sys; print(*sorted({h["pid"] for h in json.load(sys.stdin)["holders"]}))')"
	exec {ctl}<>"$work/mnt/.ctl"
	echo "holders viamount" >&"$ctl"
	reply=$(timeout 5 sed -u '/^ok/q' <&"$ctl")
	check ".ctl holders: the same processes as pshm holders, the daemon in neither" \
		"$client|ok" "$(awk '/^[0-9]/ { print $1 }' <<<"$reply" | sort -u | xargs)|$(tail -1 <<<"$reply" | cut -c1-2)"
	exec {ctl}<&-
	kill "$client"
	wait "$client" 2>/dev/null
	fusermount3 -u "$work/mnt"
	wait "$daemon"
	check "the daemon exits 0 once unmounted" "0" "$?"
	"$pshm" rm viamount
else
	check "shmfs for the mount checks" "a path" "${2:-none given}"
fi

summary pshm

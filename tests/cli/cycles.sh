#!/usr/bin/env bash
# pshm watch and pshm wait --created against segments that live for
# microseconds: 1,000 create+unlink cycles as fast as a client can make
# them, each one seen. Runs as root in a private mount namespace with its
# own tmpfs on /dev/shm.
set -uo pipefail
pshm=$(realpath "$1")
cycles=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
. "$here/../fs/lib.sh"
isolate 32M "$@"

python=/usr/bin/python3
work=$(mktemp -d /tmp/pshm-cycles-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Waits (5 s at most) until process $1 has its inotify watch: from then on nothing is missed.
watching() {
	for _ in $(seq 100); do
		grep -qs '^inotify wd:' /proc/"$1"/fdinfo/* && return 0
		sleep 0.05
	done
	echo "# process $1 never watched" >&2
	return 1
}

# Waits (20 s at most) until file $1 has a line matching $2.
line_in() {
	for _ in $(seq 400); do
		grep -qs -- "$2" "$1" && return 0
		sleep 0.05
	done
	echo "# no line '$2' in $1" >&2
	return 1
}

# --- watch --time -J: 1,000 segments made and unlinked, every one a created and a removed row
"$pshm" watch --time -J -b -o EVENT,NAME,SIZE,OCTAL,UID,GID >"$work/json" &
watcher=$!
pids+=("$watcher")
watching "$watcher"
"$cycles" 1000 cyc
"$pshm" create cycles-end 0
line_in "$work/json" '"name":"cycles-end"'
kill "$watcher"
wait "$watcher" 2>/dev/null
# Prints what is wrong with the lines, or "ok". Expected: exactly created and
# removed of cyc-0, then of cyc-1... (the kernel's order), their facts
# unknown (null) or numbers, every line a time in ISO 8601 with
# microseconds and offset, never earlier than the line before.
verdict=$("$python" - "$work/json" <<'PY'
import json, re, sys
from datetime import datetime
lines = open(sys.argv[1]).read().splitlines()
iso = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$")
problems, seen, last = [], [], None
for n, line in enumerate(lines, 1):
    e = json.loads(line)
    if not iso.match(e.get("time", "")):
        problems.append("line %d: time %r" % (n, e.get("time")))
        continue
    t = datetime.fromisoformat(e["time"])
    if last and t < last:
        problems.append("line %d: %s before %s" % (n, t, last))
    last = t
    if not e.get("name", "").startswith("cyc-"):
        continue
    if e["event"] == "created":
        for key in ("size", "octal", "uid", "gid"):
            if key not in e or not (e[key] is None or isinstance(e[key], (int, str))):
                problems.append("line %d: %s %r" % (n, key, e.get(key)))
    seen.append((e["event"], e["name"]))
want = [(ev, "cyc-%d" % i) for i in range(1000) for ev in ("created", "removed")]
if seen != want:
    got = {(ev, name) for ev, name in seen}
    missing = [w for w in want if w not in got]
    problems.append("%d events of the 2000 missing (first %s), %d lines for cyc-*"
                    % (len(missing), missing[:2], len(seen)))
    if not missing:
        problems.append("out of order from %s" % next(s for s, w in zip(seen, want) if s != w))
print("; ".join(problems[:5]) or "ok")
PY
)
check "watch --time -J: each of 1,000 create+unlink cycles a created then a removed line, in order, times in order" \
	"ok" "$verdict"
"$pshm" rm cycles-end

# --- the same for awk: a segment gone before it was seen is "created NAME - - - -"
"$pshm" watch --time -r -n -b -o EVENT,NAME,SIZE,OCTAL,UID,GID >"$work/text" &
watcher=$!
pids+=("$watcher")
watching "$watcher"
"$cycles" 200 txt
"$pshm" create cycles-end 0
line_in "$work/text" ' created cycles-end '
kill "$watcher"
wait "$watcher" 2>/dev/null
time='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}[+-][0-9]{2}:[0-9]{2}'
check "watch --time -r: TIME created|removed NAME SIZE MODE UID GID (- when unknown)" \
	"400 lines, 0 others" \
	"$(grep -cE "^$time (created|removed) txt-[0-9]+ (- - - -|[0-9]+ [0-7]{4} [0-9]+ [0-9]+)$" "$work/text") lines, $(grep -v ' cycles-end ' "$work/text" | grep -cvE "^$time (created|removed) txt-") others"
check "watch --time -r: created before removed for each name" "200" \
	"$(awk '$2 == "created" { c[$3] = NR } $2 == "removed" && c[$3] && c[$3] < NR { n++ } END { print n + 0 }' "$work/text")"
"$pshm" rm cycles-end

# --- wait --created: one create+unlink of NAME among 1,000 of other names
"$pshm" wait --created target --timeout 60 2>"$work/err" &
waiter=$!
pids+=("$waiter")
watching "$waiter"
"$cycles" 1000 noise --flash target
start=$(date +%s)
wait "$waiter"
status=$?
check "wait --created: NAME made and unlinked once among 1,000 cycles of others: 0" \
	"0 gone" "$status $([ -e /dev/shm/target ] && echo there || echo gone)"
check "and at once, not at the timeout" "yes" "$([ $(($(date +%s) - start)) -lt 30 ] && echo yes)"

# --- what each promises, told apart: NAME made and unlinked while the wait cannot look
# (stopped). By default it must have been there at the last look: not so, so the
# timeout (124); with --created its creation is enough (0).
flashed() {
	"$pshm" wait "$@" --timeout 2 &
	waiter=$!
	pids+=("$waiter")
	watching "$waiter"
	kill -STOP "$waiter"
	"$cycles" 1 stopped --flash "$1"
	kill -CONT "$waiter"
	wait "$waiter"
	echo $?
}
check "wait: a segment gone before it could be looked at is no segment there: 124" "124" \
	"$(flashed flashed-plain)"
check "wait --created: its creation is enough: 0" "0" "$(flashed flashed-created --created)"

# --- wait (exists at the reply): a segment that stays, after 1,000 that did not
"$pshm" wait stays --timeout 60 &
waiter=$!
pids+=("$waiter")
watching "$waiter"
"$cycles" 1000 noise --keep stays
wait "$waiter"
check "wait: a segment that stays, made after 1,000 cycles of others: 0" "0" "$?"
"$pshm" rm stays

# --- refused at once
status() {
	timeout 5 "$@" >/dev/null 2>&1
	echo $?
}
check "wait for a semaphore's name: usage (2), at once" "2" "$(status "$pshm" wait sem.foo)"
out=$(timeout 5 "$pshm" wait /sem.foo 2>&1)
check "and it says why" "yes" "$(grep -q 'semaphore' <<<"$out" && echo yes)"
check "wait --created --min-size: usage (2)" "2" "$(status "$pshm" wait --created --min-size 4K x)"

summary cycles

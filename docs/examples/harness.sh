#!/usr/bin/env bash
# A test harness that uses shmfs to give a program under test its shared
# memory, look at it while the program runs, and leave nothing behind,
# however the script ends. Usage: harness.sh MOUNTPOINT (shmfs mounted there).
set -euo pipefail
mnt=${1:?usage: harness.sh MOUNTPOINT}

# 1. Set up. A named segment holds the program's input; it is removed on exit.
printf 'job-42\n' >"$mnt/harness.input"
chmod 600 "$mnt/harness.input"
trap 'rm -f "$mnt/harness.input"' EXIT

# A scratch segment for the result: anonymous, and held by descriptor 3, so
# it is freed when this script ends, even if it crashes.
exec 3<>"$mnt/.ctl"
echo "anon 64K hold" >&3
read -r status id size path proc_path <&3
if [ "$status" != ok ]; then
	echo "harness: no scratch segment: $status $id $size $path" >&2
	exit 1
fi
echo "scratch segment $id: $size bytes at $mnt/$path, for other processes $proc_path"

# 2. Run the program under test. It maps both segments, writes its result
# into the scratch one and waits for a stop byte there (at offset 1000).
python3 - "/dev/shm/harness.input" "$proc_path" <<'PY' &
import mmap, os, sys, time
with open(sys.argv[1], "rb") as f:
    job = f.read().strip().decode()
fd = os.open(sys.argv[2], os.O_RDWR)
scratch = mmap.mmap(fd, 64 * 1024)
scratch[:len("result: " + job + " done\n")] = ("result: " + job + " done\n").encode()
for _ in range(500):
    if scratch[1000] != 0:
        break
    time.sleep(0.01)
PY
program=$!

# 3. Inspect while it runs: its result, and who holds the scratch segment.
for _ in $(seq 100); do
	grep -q done "$mnt/$path" 2>/dev/null && break
	sleep 0.02
done
echo "the program wrote: $(head -n 1 "$mnt/$path")"
echo "holders $path" >&3
while read -r line <&3; do
	echo "  holder: $line"
	case $line in ok*) break ;; esac
done
echo "mode of the input: $(getfattr --absolute-names --only-values -n user.shmfs.mode "$mnt/harness.input")"

# 4. Stop the program, check its result, clean up (the trap and fd 3 do the rest).
printf 'x' | dd of="$mnt/$path" bs=1 seek=1000 conv=notrunc status=none
wait "$program"
head -n 1 "$mnt/$path" | grep -qx "result: job-42 done"
echo "result checked; cleaning up"

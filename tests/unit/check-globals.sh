#!/usr/bin/env bash
# The daemon's state lives in struct shmfs (src/shmfs/shmfs_i.h), reached
# from each request: writable file-scope data in its objects is only what
# the process or a thread is the scope of, each named here with its reason.
# Symbols in .data.rel.ro are const tables with pointers (read-only once
# relocated) and are not counted, nor what a sanitizer adds (__odr_asan...).
set -euo pipefail
dir=$1 # the build folder of src/shmfs: its *.p/*.o

declare -A allowed=(
	[creds:self]="the ids this process runs as, read once at start"
	[creds:thread]="what creds_enter changed on this thread (fsuid, groups, caps are per thread)"
	[guard:recovery]="this thread's SIGBUS recovery point (a signal handler reaches it)"
	[data:receive]="this worker's libfuse receive buffer, and how much of it holds pages"
	[passthrough_hooks:current]="the request this worker read last, for the reply hook on the same thread"
	[ctl_reader:registering]="the request this thread registers an interrupt function for"
)

status=0 count=0
while read -r obj section name; do
	key=$obj:$name
	count=$((count + 1))
	if [ -z "${allowed[$key]:-}" ]; then
		echo "writable file-scope data not in struct shmfs: $obj.c $name ($section)"
		status=1
	else
		echo "$obj.c $name ($section): ${allowed[$key]}"
	fi
done < <(for o in "$dir"/*.p/*.o; do
	objdump -t "$o" | awk -v obj="$(basename "$o" .c.o)" \
		'$0 ~ /[ \t]\.t?(data|bss)/ && $0 !~ /\.data\.rel\.ro/ && $NF !~ /^\./ &&
		 $NF !~ /^__(odr_asan|asan|ubsan|sancov)/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^\.t?(data|bss)/) s = $i
			print obj, s, $NF }'
done)
if [ "$count" -gt 6 ]; then
	echo "$count writable file-scope symbols: at most 6"
	status=1
fi
[ $status -eq 0 ] && echo "$count writable file-scope symbols, each for the process or a thread"
exit $status

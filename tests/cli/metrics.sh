#!/usr/bin/env bash
# pshm metrics as node_exporter's textfile collector reads it: parsed by a
# real OpenMetrics parser (Debian's python3-prometheus-client), its numbers
# compared with pshm usage -J and the kernel's own, and --output
# replacing the file whole while a reader keeps reading it. Runs as root in
# a private mount namespace with its own tmpfs on /dev/shm.
# Usage: metrics.sh PATH-TO-PSHM
set -uo pipefail
pshm=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
# shellcheck source=tests/fs/lib.sh
. "$here/../fs/lib.sh"
isolate 32M "$@"
py=/usr/bin/python3
if ! "$py" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
	echo "SKIP: python3-prometheus-client is not installed (scripts/deps installs it)"
	exit 77
fi
work=$(mktemp -d /tmp/pshm-metrics-XXXXXX)
reader=
cleanup() {
	[ -n "$reader" ] && kill "$reader" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Known segments in the private /dev/shm: 3 MiB and 1 MiB, every page written.
"$pshm" create metrics-a 3M && head -c 3145728 /dev/zero | "$pshm" write metrics-a
"$pshm" create metrics-b 1M && head -c 1048576 /dev/zero | "$pshm" write metrics-b

# The families as the parser reads them: "NAME TYPE LABELS VALUE" per sample, sorted.
parse() {
	"$py" -c 'import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for f in text_string_to_metric_families(sys.stdin.read()):
    for s in f.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print(f.name, f.type, labels or "-", int(s.value) if s.value == int(s.value) else s.value)'
}
"$pshm" metrics >"$work/out.prom"
check "pshm metrics exits 0" "0" "$?"
parsed=$(parse <"$work/out.prom")
check "the OpenMetrics parser reads it, with # EOF last" "yes" \
	"$([ -n "$parsed" ] && [ "$(tail -1 "$work/out.prom")" = "# EOF" ] && echo yes)"
check "every family has HELP and TYPE, and every sample is named shm_*" "15 15 0" \
	"$(grep -c '^# HELP shm_' "$work/out.prom") $(grep -c '^# TYPE shm_[a-z_]* gauge$' "$work/out.prom") $(grep -v '^#' "$work/out.prom" | grep -vc '^shm_')"
value() { echo "$parsed" | awk -v n="$1" -v l="$2" '$1 == n && $3 == l { print $4 }'; }
check "segment bytes: the two segments, to the page" "$((4 << 20)) 2" \
	"$(value shm_allocated_bytes kind=segment) $(value shm_objects kind=segment)"
check "the same as pshm usage -J, kind by kind" \
	"$("$pshm" usage -J -b --output-all | "$py" -c 'import json, sys
rows = json.load(sys.stdin)["usage"]
print(" ".join("%s=%d" % (k, next(r["size"] for r in rows if r["kind"] == k)) for k in ("segment", "deleted")))')" \
	"$(echo "$parsed" | awk '$1 == "shm_allocated_bytes" && ($3 == "kind=segment" || $3 == "kind=deleted") { sub("kind=", "", $3); printf "%s%s=%s", sep, $3, $4; sep = " " }')"
check "the tmpfs of /dev/shm as statvfs counts it" \
	"$(df -B1 --output=used /dev/shm | tail -1 | tr -d ' ')" \
	"$(value shm_tmpfs_used_bytes mount_point=/dev/shm)"
pool=/sys/kernel/mm/hugepages/hugepages-2048kB
if [ -d "$pool" ]; then
	check "huge pages: the 2 MiB pool as the kernel counts it" "$(cat "$pool/nr_hugepages")" \
		"$(value shm_hugepages page_size_bytes=2097152,state=total)"
fi
check "Shmem is there, and the scan's cost and unreadable processes" "yes" \
	"$(echo "$parsed" | awk '$1 == "shm_kernel_shmem_bytes" && $4 > 0 { a = 1 }
		$1 == "shm_scan_duration_seconds" && $4 > 0 { b = 1 }
		$1 == "shm_scan_unreadable_processes" { c = 1 } END { if (a && b && c) print "yes" }')"
check "the user label names the owner" "uid=0,user=root" \
	"$(echo "$parsed" | awk '$1 == "shm_user_allocated_bytes" && $3 ~ /kind=segment/ { sub("kind=segment,", "", $3); print $3 }')"

# --output: a reader that parses the file as often as it can while 20 writes replace it.
"$pshm" metrics --output "$work/shm.prom"
check "--output writes the file, readable by node_exporter, no temporary left" "644 0" \
	"$(stat -c %a "$work/shm.prom") $(find "$work" -name '*.tmp' | wc -l)"
(
	while :; do
		if ! parse <"$work/shm.prom" >/dev/null 2>&1 || [ "$(tail -1 "$work/shm.prom")" != "# EOF" ]; then
			echo torn >>"$work/torn"
		fi
	done
) &
reader=$!
for _ in $(seq 20); do "$pshm" metrics --output "$work/shm.prom"; done
kill "$reader"
wait "$reader" 2>/dev/null
reader=
check "a reader never sees half a file while it is replaced" "0" \
	"$(cat "$work/torn" 2>/dev/null | wc -l)"
check "--output into a directory that does not exist fails, naming it" "1" \
	"$("$pshm" metrics --output "$work/none/shm.prom" 2>/dev/null; echo $?)"
summary metrics

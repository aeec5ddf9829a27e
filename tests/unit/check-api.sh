#!/usr/bin/env bash
# The library's contract in four places agrees: every function declared in
# pshm.h (with pshm_scan.h, which it includes) is listed by name in libpshm.sym, exported by libpshm.so (and
# nothing else is), and documented in docs/pshm.3 and README.md.
set -euo pipefail
src=$1 lib=$2

declared=$(cat "$src/lib/pshm.h" "$src/lib/pshm_scan.h" | grep -oE '^[a-z].*\bpshm_[a-z_]+\(' | grep -oE 'pshm_[a-z_]+\($' | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u)
listed=$(sed -n '/global:/,/local:/p' "$src/lib/libpshm.sym" | grep -oE 'pshm_[a-z_]+' | sort -u)
status=0
if [ "$declared" != "$listed" ]; then
	echo "pshm.h and lib/libpshm.sym differ (< header, > version script):"
	diff <(echo "$declared") <(echo "$listed") || true
	status=1
fi
if [ "$declared" != "$exported" ]; then
	echo "pshm.h and the exported symbols differ (< header, > library):"
	diff <(echo "$declared") <(echo "$exported") || true
	status=1
fi
for f in $declared; do
	grep -q "B $f\b\|BI \"[a-z_ ]*\**$f(" "$src/docs/pshm.3" || { echo "docs/pshm.3 does not document $f"; status=1; }
	grep -q "\b$f\b" "$src/README.md" || { echo "README.md does not mention $f"; status=1; }
done
[ $status -eq 0 ] && echo "$(echo "$declared" | wc -l) functions: declared, versioned, exported, documented"
exit $status

# Shared by the shell tests: isolation and the ok/not ok bookkeeping. Source it.

# Runs the calling script again in a private mount namespace with its own
# tmpfs of $1 on /dev/shm (the caller's arguments follow); exits 77 with the
# reason when not root.
isolate() {
	local size=$1
	shift
	if [ -z "${SHMFS_TEST_ISOLATED:-}" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			echo "SKIP: needs root for a private mount namespace"
			exit 77
		fi
		export SHMFS_TEST_ISOLATED=1
		exec unshare -m --propagation private "$0" "$@"
	fi
	mount -t tmpfs -o "size=$size,mode=1777" tmpfs /dev/shm || exit 1
	# Others' shmfs mounts, copied into this namespace, are not the test's
	# (pshm counts clients through the first one it finds): detached here only.
	findmnt -rn -t fuse.shmfs -o TARGET | while read -r target; do
		umount -l "$(printf '%b' "$target")"
	done
}

# As isolate, and first in a private IPC namespace too (System V segments
# belong to one): the test's own segments are private, and what it sees of
# other IPC namespaces is its children's.
isolate_ipc() {
	if [ -z "${SHMFS_TEST_ISOLATED_IPC:-}" ] && [ "$(id -u)" -eq 0 ]; then
		export SHMFS_TEST_ISOLATED_IPC=1
		exec unshare -i "$0" "${@:2}"
	fi
	isolate "$@"
}

passed=0
failed=0

# check DESCRIPTION EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then
		passed=$((passed + 1))
		echo "ok - $1"
	else
		failed=$((failed + 1))
		echo "not ok - $1"
		echo "#   expected: $2"
		echo "#   got:      $3"
	fi
}

# Prints "NAME: N passed, N failed" and exits non-zero on any failure.
summary() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}

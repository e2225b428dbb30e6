# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# shellcheck shell=sh
# What the command-line tests share: run a backend program, wait for it
# (an event; the time limit is only a failure bound, docs/testing.md),
# count the checks, clean up.  Sourced, after "set -u", by a POSIX sh test
# that the harness runs as "$(SHELL) PATH/test.sh" (in-tree or VPATH):
#     . "$(dirname "$0")/lib.sh"                  (a test in tests/cli)
#     . "$(dirname "$0")/../cli/lib.sh"           (elsewhere under tests/)
#
# Sets, when sourced:
#   B      the build tree ($VHD_BUILDDIR, set by make check; else .)
#   T      a new temporary directory; $T/log is the backend's output
#   S      $T/s, the directory expect_exit and run_and_stop empty first
#   pass, fail   the counts ok and bad keep
#   pid    the backend start runs ("" when none)
# and, at exit, SIGKILLs $pid if set and removes $T.
#
# ok DESC, bad DESC   count a check and print "ok - DESC" / "not ok - DESC".
# log_head            the backend's output, its first 300 bytes (for bad).
# start CMD ARGS...   run CMD in the background, stdout and stderr to
#                     $T/log; sets pid.
# wait_until CMD ARGS...
#                     true as soon as CMD succeeds; false if it has not
#                     when the backend ($pid, if set) has exited, or after
#                     30 s.
# wait_for FILE       wait_until FILE exists.
# stop                SIGTERM the backend and wait for it; returns its exit
#                     status, also left in st; pid="".
# kill_backend        SIGKILL the backend and wait for it; pid="".
# expect_exit PROGRAM STATUS PATTERN ARGS...
#                     run $B/PROGRAM ARGS... in an empty $S; one check: it
#                     exits STATUS, its output says PATTERN (grep), and it
#                     created no file in $S.
# run_and_stop PROGRAM DESCRIPTION FILES ARGS...
#                     start $B/PROGRAM ARGS... in an empty $S; one check:
#                     every path of FILES (space-separated) appears,
#                     SIGTERM ends it with status 0, and none of them is
#                     left behind.
# finish              print the counts; exit 0 if no check failed, else 1.

B=${VHD_BUILDDIR:-.}
T=$(mktemp -d "/tmp/vhd-$(basename "$0" .sh).XXXXXX") || exit 99
S=$T/s
pass=0
fail=0
pid=""
st=0

lib_cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$T"
}
trap lib_cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }

log_head() { head -c 300 "$T/log"; }

start() {
	"$@" >"$T/log" 2>&1 &
	pid=$!
}

wait_until() {
	i=0
	while ! "$@"; do
		# A backend that has exited will not bring the event: one last
		# look (it may have come just before the exit), then give up.
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			"$@"
			return
		fi
		[ $i -ge 1200 ] && return 1
		i=$((i + 1))
		sleep 0.025
	done
}

wait_for() { wait_until test -e "$1"; }

stop() {
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	st=$?
	pid=""
	return $st
}

kill_backend() {
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=""
}

fresh_s() {
	rm -rf "$S"
	mkdir -p "$S"
}

expect_exit() {
	prog=$1 want=$2 pat=$3
	shift 3
	fresh_s
	"$B/$prog" "$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		bad "$prog '$*' exits $want (got $got: $(head -c 300 "$T/out"))"
		return
	fi
	if ! grep -q -- "$pat" "$T/out"; then
		bad "$prog '$*' says '$pat' (said: $(head -c 300 "$T/out"))"
		return
	fi
	if [ -n "$(ls -A "$S")" ]; then
		bad "$prog '$*' created no file (found: $(ls "$S"))"
		return
	fi
	ok "$prog '$*' exits $want saying '$pat'"
}

run_and_stop() {
	prog=$1 d=$2 files=$3
	shift 3
	fresh_s
	start "$B/$prog" "$@"
	for f in $files; do
		if ! wait_for "$f"; then
			bad "$d: $f did not appear ($(log_head))"
			kill_backend
			return
		fi
	done
	if ! stop; then
		bad "$d: exit status $st on SIGTERM ($(log_head))"
		return
	fi
	for f in $files; do
		if [ -e "$f" ]; then
			bad "$d: $f left behind"
			return
		fi
	done
	ok "$d"
}

finish() {
	echo "# $pass passed, $fail failed"
	[ "$fail" -eq 0 ] && exit 0
	exit 1
}

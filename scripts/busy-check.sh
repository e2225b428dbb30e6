#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# Run a command while other CPUs are kept busy, to check that tests wait
# for events rather than for time (docs/testing.md, "Testing on a busy
# machine").
#
#   scripts/busy-check.sh [-n LOOPS] [-c CPU] [-t SECONDS] -- COMMAND...
#
#   -n LOOPS    busy loops to start (default 1: "the other core")
#   -c CPU      pin the busy loops and COMMAND to this CPU (taskset), the
#               harshest setting: COMMAND gets at most half of one core
#   -t SECONDS  the busy loops end after this long even if this script is
#               killed with SIGKILL (default 3600)
#
# The busy loops are killed when COMMAND ends (or on INT/TERM/HUP); the
# exit status is COMMAND's.
set -u

loops=1 cpu= limit=3600
while [ $# -gt 0 ]; do
	case $1 in
	-n) loops=$2; shift 2 ;;
	-c) cpu=$2; shift 2 ;;
	-t) limit=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [-n LOOPS] [-c CPU] [-t SECONDS] -- COMMAND..." >&2; exit 2; }

pin=
[ -n "$cpu" ] && pin="taskset -c $cpu"

pids=
stop() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=
}
trap 'stop' EXIT
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM HUP

i=0
while [ "$i" -lt "$loops" ]; do
	# timeout: the loop dies on its own even if nobody kills it.
	$pin timeout "$limit" sh -c 'while :; do :; done' &
	pids="$pids $!"
	i=$((i + 1))
done
echo "busy-check: $loops busy loop(s)${cpu:+ on CPU $cpu}: $*" >&2

$pin "$@"
rc=$?
stop
exit $rc

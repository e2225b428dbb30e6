#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# SCSI throughput through vhost-user, beside io_uring straight on the image.
#
# A 256 MiB image, read once so it sits in the page cache; the figures are
# then what the path costs, not the disk.  For each pattern,
# bench/scsi-load plays the guest of vhost-device-scsi (libvhu-frontend's
# virtio-scsi driver) for BENCH_SECONDS (default 3), then does the same I/O
# on the image with its own io_uring for the same time, in the same run
# (BENCH_ROUNDS turns each, default 3, alternating):
#   4 KiB random read, queue depth 32    target ratio >= 0.70
#   1 MiB sequential read, depth 8       target ratio >= 0.90
#   1 MiB sequential write, depth 8      target ratio >= 0.90
# Printed: both throughputs (MiB/s and IOPS) and their ratio.
# BENCH_STRICT=1 makes a missed target fail the script.
#
# CPUs: the backend, its guest and the raw side all run on CPU
# BENCH_CPU (default 0), so both sides get the same one CPU: the raw side
# is one process, the vhost side two that take turns on it (a kick and a
# completion are each a switch on that CPU rather than a wake-up of
# another one, which costs far more on a virtual machine).  BENCH_CPU=none
# leaves placement to the scheduler.  BENCH_SCSI_ARGS: more options for
# vhost-device-scsi (e.g. "--poll adaptive").
# Polling on two CPUs (docs/benchmarks.md, SCSI): BENCH_SCSI_CPU puts the
# backend on a CPU of its own (default: BENCH_CPU), BENCH_SCSI_SPIN_US
# makes the guest spin that long on its used ring before it sleeps
# (default 0), e.g. BENCH_SCSI_CPU=1 BENCH_SCSI_SPIN_US=200
# BENCH_SCSI_ARGS="--poll adaptive --poll-max-us 200".
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
SECS=${BENCH_SECONDS:-3}
STRICT=${BENCH_STRICT:-0}
ROUNDS=${BENCH_ROUNDS:-3}
SLICE=$(awk -v s="$SECS" -v n="$ROUNDS" 'BEGIN { print s / n }')
CPU=${BENCH_CPU:-0}
PIN=
if [ "$CPU" != none ]; then
	command -v taskset >/dev/null || { echo "bench-scsi: taskset not found (BENCH_CPU=none runs unpinned)" >&2; exit 1; }
	PIN="taskset -c $CPU"
fi
BPIN=$PIN
if [ -n "${BENCH_SCSI_CPU:-}" ]; then
	command -v taskset >/dev/null || { echo "bench-scsi: taskset not found" >&2; exit 1; }
	BPIN="taskset -c $BENCH_SCSI_CPU"
fi
SPIN=${BENCH_SCSI_SPIN_US:-0}
SCSI=$B/vhost-device-scsi
LOAD=$B/bench/scsi-load
for f in "$SCSI" "$LOAD"; do
	[ -x "$f" ] || { echo "bench-scsi: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-bench-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

SIZE=$((256 << 20))
dd if=/dev/urandom of="$T/disk.img" bs=1M count=256 status=none
cat "$T/disk.img" >/dev/null
# shellcheck disable=SC2086 # BPIN and BENCH_SCSI_ARGS are word lists
$BPIN "$SCSI" ${BENCH_SCSI_ARGS:-} -s "$T/scsi.sock" "$T/disk.img" 2>"$T/backend.log" &
PID=$!
i=0
while [ ! -S "$T/scsi.sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
[ -S "$T/scsi.sock" ] || { echo "bench-scsi: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }

missed=0
# The two sides are not hurt alike by a busy machine: the raw side never
# sleeps and gets a runnable task's share, the vhost side's two processes
# sleep and wake in turns and are favoured on each wake-up; figures taken
# with more runnable tasks than CPUs say little about the path.
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
	echo "bench-scsi: warning: load average $load1 on $(nproc) CPUs: the ratios below are not a measure of the path"
fi
echo "bench-scsi: $(nproc) CPUs, ${SECS} s per figure, 256 MiB image in the page cache," \
	"CPU ${CPU}${BENCH_SCSI_CPU:+, backend on CPU $BENCH_SCSI_CPU}${BENCH_SCSI_ARGS:+, backend $BENCH_SCSI_ARGS}, guest spin ${SPIN} us, load$(uptime | sed 's/.*load average//')"
figure() { # NAME MODE BS QD TARGET
	set -- $(echo "$@")
	# The two sides take turns, ROUNDS times each, so that a change of
	# the machine's load weighs on both alike; their sums are compared.
	out=
	n=0
	while [ $n -lt "$ROUNDS" ]; do
		v=$($PIN "$LOAD" vhost "$T/scsi.sock" "$SIZE" "$2" "$3" "$4" "$SLICE" "$SPIN")
		r=$($PIN "$LOAD" raw "$T/disk.img" "$SIZE" "$2" "$3" "$4" "$SLICE")
		out="$out$v $r
"
		n=$((n + 1))
	done
	line=$(printf '%s' "$out" | awk -v name="$1" -v target="$5" '
		{ vb += $2; vs += $4; vi += $6; rb += $8; rs += $10; ri += $12 }
		END {
		vm = vb / vs / 1048576; rm = rb / rs / 1048576; ratio = vm / rm
		ok = ratio >= target
		printf "scsi %-22s vhost %8.1f MiB/s %8.0f IOPS   io_uring %8.1f MiB/s %8.0f IOPS   ratio %.2f (target >= %.2f)%s\n",
			name, vm, vi / vs, rm, ri / rs, ratio, target, ok ? "" : "  MISSED"
		exit ok ? 0 : 3
	}') && rc=0 || rc=$?
	echo "$line"
	[ "$rc" -eq 0 ] || missed=$((missed + 1))
}
figure "4k-randread-qd32" randread 4096 32 0.70
figure "1m-seqread-qd8" seqread 1048576 8 0.90
figure "1m-seqwrite-qd8" seqwrite 1048576 8 0.90
if [ "$missed" -ne 0 ]; then
	echo "bench-scsi: $missed figure(s) missed their target"
	[ "$STRICT" = 1 ] && exit 1
fi
exit 0

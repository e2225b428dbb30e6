#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# RNG throughput through vhost-user, beside a raw read of the same source.
#
# For 64 B, 4 KiB and 64 KiB requests: `vhost-user-frontend rng` against a
# vhost-device-rng reading /dev/urandom, for BENCH_SECONDS (default 2)
# each; then bench/raw-read reading /dev/urandom with the same buffer size
# for the same time, in the same run.  Printed: both throughputs and their
# ratio, requests/s, and the backend's own CPU time per request (utime +
# stime from /proc/PID/stat, before and after, divided by the requests) -
# at 64 B the figure that shows the core's per-request overhead.
#
# Targets: ratio >= 0.90; backend CPU <= 2 us/request at 64 B.
# BENCH_STRICT=1 makes a missed target fail the script.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
SECONDS_EACH=${BENCH_SECONDS:-2}
STRICT=${BENCH_STRICT:-0}
FE=$B/tools/vhost-user-frontend
RNG=$B/vhost-device-rng
RAW=$B/bench/raw-read
for f in "$FE" "$RNG" "$RAW"; do
	[ -x "$f" ] || { echo "bench-rng: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-bench-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$RNG" -s "$T/rng" 2>"$T/backend.log" &
PID=$!
i=0
while [ ! -S "$T/rng0" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
[ -S "$T/rng0" ] || { echo "bench-rng: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }

TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of $PID (fields 14 and 15, after the ")")
	sed 's/.*) //' "/proc/$PID/stat" | awk '{ print $12 + $13 }'
}
field() { awk -v k="$1" -F': ' '$1 == k { print $2 }' "$T/fe.out"; }

missed=0
echo "bench-rng: $(nproc) CPUs, ${SECONDS_EACH} s per figure, queue 256, batch 32"
for size in 64 4096 65536; do
	c0=$(cpu_ticks)
	"$FE" rng "$T/rng0" --seconds "$SECONDS_EACH" --buf-size "$size" \
		--queue-size 256 --batch 32 >"$T/fe.out"
	c1=$(cpu_ticks)
	set -- $("$RAW" /dev/urandom "$size" "$SECONDS_EACH")
	raw_bytes=$1 raw_sec=$2
	fe_mibs=$(field "MiB/s")
	fe_rps=$(field "requests/s")
	fe_req=$(field "requests")
	line=$(awk -v size="$size" -v fe="$fe_mibs" -v rb="$raw_bytes" -v rs="$raw_sec" \
		-v rps="$fe_rps" -v req="$fe_req" -v dt="$((c1 - c0))" -v tck="$TCK" '
	BEGIN {
		raw = rb / rs / 1048576; ratio = fe / raw
		us = req > 0 ? dt / tck * 1e6 / req : 0
		ok = ratio >= 0.90
		printf "rng %5d B: %8.1f MiB/s  raw /dev/urandom: %8.1f MiB/s  ratio %.2f (target >= 0.90)%s\n",
			size, fe, raw, ratio, ok ? "" : "  MISSED"
		printf "            %9.0f requests/s  backend CPU %.3f us/request", rps, us
		if (size == 64) {
			printf " (target <= 2.00)%s", us <= 2.0 ? "" : "  MISSED"
			ok = ok && us <= 2.0
		}
		printf "\n"
		exit ok ? 0 : 3
	}') && rc=0 || rc=$?
	echo "$line"
	[ "$rc" -eq 0 ] || missed=$((missed + 1))
done
if [ "$missed" -ne 0 ]; then
	echo "bench-rng: $missed figure(s) missed their target"
	[ "$STRICT" = 1 ] && exit 1
fi
exit 0

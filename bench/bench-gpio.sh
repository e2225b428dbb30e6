#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# GPIO interrupt latency through vhost-device-gpio: from a simulated pin
# change to the completed interrupt buffer in the used ring, beside the
# round trip of the control socket that makes the change (the limit: the
# pin change itself), from the same run.
#
# The backend serves a simulated chip (-l s8 --sim-socket); `vhost-user-
# frontend gpio ... latency 3 N CTL` plays the guest: line 3 an input with
# a both-edges interrupt, and for each of N edges it queues the interrupt
# buffer (unmask), sends "set 3 0|1" on the control socket, reads the
# "ok", and waits for the used entry (call eventfd, EVENT_IDX).  Latency =
# send of the "set" to the used entry seen; round trip = send of the "set"
# to its "ok".  BENCH_ROUNDS rounds (default 5) of BENCH_GPIO_EDGES edges
# (default 2000); the figures are the medians over the rounds.  Backend and
# frontend are pinned to one CPU (BENCH_CPU, default 0; none to roam), as
# bench-vsock.sh explains.
#
# Target: the median latency at most 2x the control round trip (the
# backend's own share of an interrupt no more than one socket round trip).
# BENCH_STRICT=1 makes a missed target fail the script.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
ROUNDS=${BENCH_ROUNDS:-5}
EDGES=${BENCH_GPIO_EDGES:-2000}
STRICT=${BENCH_STRICT:-0}
FE=$B/tools/vhost-user-frontend
GP=$B/vhost-device-gpio
CPU=${BENCH_CPU:-0}
PIN=
if [ "$CPU" != none ] && command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $CPU"
fi
for f in "$FE" "$GP"; do
	[ -x "$f" ] || { echo "bench-gpio: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-bench-gpio-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

$PIN "$GP" -s "$T/gpio.sock" -l s8 --sim-socket "$T/ctl" 2>"$T/backend.log" &
PID=$!
i=0
while [ ! -S "$T/gpio.sock0" ] && [ $i -lt 500 ]; do
	sleep 0.01
	i=$((i + 1))
done
[ -S "$T/gpio.sock0" ] || { echo "bench-gpio: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$T/lat"; : >"$T/p99"; : >"$T/rt"; : >"$T/ratio"
r=0
while [ $r -lt "$ROUNDS" ]; do
	line=$($PIN "$FE" gpio "$T/gpio.sock0" --timeout 30000 latency 3 "$EDGES" "$T/ctl0")
	echo "  round $((r + 1)): $line"
	echo "$line" | sed 's/.*latency median \([0-9.]*\) us.*/\1/' >>"$T/lat"
	echo "$line" | sed 's/.*p99 \([0-9.]*\) us.*/\1/' >>"$T/p99"
	echo "$line" | sed 's/.*round trip median \([0-9.]*\) us.*/\1/' >>"$T/rt"
	echo "$line" | sed 's/.*ratio \([0-9.]*\).*/\1/' >>"$T/ratio"
	r=$((r + 1))
done
lat=$(median <"$T/lat"); p99=$(median <"$T/p99"); rt=$(median <"$T/rt"); ratio=$(median <"$T/ratio")
echo "gpio interrupt latency: median $lat us (p99 $p99 us) vs control round trip $rt us: ratio $ratio (target <= 2.00)"
if [ "$STRICT" = 1 ] && awk "BEGIN { exit !($ratio > 2.0) }"; then
	echo "bench-gpio: target missed" >&2
	exit 1
fi

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Adaptive polling (--poll adaptive) against no polling (docs/benchmarks.md,
# "Adaptive polling").
#
# 1. QD1 round trips: `vhost-user-frontend rng` with a queue of 1 (one 4 KiB
#    request in flight, the next one added when it completes) against
#    vhost-device-rng reading /dev/urandom, for BENCH_SECONDS (default 3)
#    each, with the backend's polling off, then adaptive; the frontend
#    sleeps on its call eventfd (--spin-us 0) and, in a second pair of
#    runs, polls for up to 50 us (--spin-us 50), as a polling guest driver
#    would.  Beside each, in the same run, bench/raw-read reads /dev/urandom
#    4 KiB at a time (the limit: what the source gives with no ring at
#    all): printed as requests/s, ratio to the limit, and the backend's
#    CPU per request.  BENCH_ROUNDS (default 3) rounds alternate off and
#    adaptive; the summary compares the median ratios.
# 2. Idle CPU: one guest with its ring running and one request served
#    (bench/idle-guests, "rings"), then nothing for BENCH_IDLE_SECONDS
#    (default 60): the backend's CPU time over that period, polling off and
#    adaptive.
#
# Targets: polling adaptive idle CPU within 1% of a CPU (never spins on an
# idle guest); QD1 ratio with polling >= the ratio without.  BENCH_STRICT=1
# makes a missed target fail the script.  Round-trip figures on a busy
# machine are noisy: compare the ratios of one run, not figures of runs.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
SECONDS_EACH=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-60}
STRICT=${BENCH_STRICT:-0}
FE=$B/tools/vhost-user-frontend
RNG=$B/vhost-device-rng
RAW=$B/bench/raw-read
IDLE=$B/bench/idle-guests
for f in "$FE" "$RNG" "$RAW" "$IDLE"; do
	[ -x "$f" ] || { echo "bench-poll: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-poll-XXXXXX)
PID=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

TCK=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$PID/stat" | awk '{ print $12 + $13 }'; }
field() { awk -v k="$1" -F': ' '$1 == k { print $2 }' "$T/fe.out"; }

# start_backend MODE: vhost-device-rng with --poll MODE on $T/rng0.
start_backend() {
	rm -f "$T/rng0"
	"$RNG" -s "$T/rng" --poll "$1" -v 2>"$T/backend-$1.log" &
	PID=$!
	i=0
	while [ ! -S "$T/rng0" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	[ -S "$T/rng0" ] || { echo "bench-poll: the backend did not start" >&2; cat "$T/backend-$1.log" >&2; exit 1; }
}

stop_backend() {
	kill "$PID" && wait "$PID" || true
	PID=
}

missed=0
echo "bench-poll: $(nproc) CPUs, ${SECONDS_EACH} s per figure, 4 KiB requests, queue depth 1"
: >"$T/ratios"
for spin in 0 50; do
	for round in $(seq "$ROUNDS"); do
	for mode in off adaptive; do
		start_backend "$mode"
		c0=$(cpu_ticks)
		"$FE" rng "$T/rng0" --seconds "$SECONDS_EACH" --buf-size 4096 \
			--queue-size 1 --batch 1 --spin-us "$spin" >"$T/fe.out"
		c1=$(cpu_ticks)
		stop_backend
		polled=$(grep -h "adaptive polling" "$T/backend-$mode.log" | tail -1 | sed 's/.*adaptive polling: //')
		set -- $("$RAW" /dev/urandom 4096 "$SECONDS_EACH")
		awk -v mode="$mode" -v spin="$spin" -v rps="$(field "requests/s")" \
			-v req="$(field "requests")" -v rb="$1" -v rs="$2" \
			-v dt="$((c1 - c0))" -v tck="$TCK" '
		BEGIN {
			limit = rb / 4096 / rs
			us = req > 0 ? dt / tck * 1e6 / req : 0
			printf "QD1 4 KiB, frontend spin %2d us, polling %-8s %8.0f round trips/s  raw limit %8.0f reads/s  ratio %.3f  backend CPU %.2f us/request\n",
				spin, mode, rps, limit, rps / limit, us
			printf "%s %s %.4f\n", spin, mode, rps / limit >>"'"$T/ratios"'"
		}'
		[ -n "$polled" ] && echo "    backend loops: $polled"
	done
	done
done
median() { # median of the ratios of one spin and mode
	awk -v s="$1" -v m="$2" '$1 == s && $2 == m { print $3 }' "$T/ratios" | sort -n |
		awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for spin in 0 50; do
	awk -v s="$spin" -v off="$(median "$spin" off)" -v on="$(median "$spin" adaptive)" -v n="$ROUNDS" '
	BEGIN {
		ok = on >= off
		printf "  frontend spin %2d us, median of %d: ratio to the limit %.3f without polling, %.3f with; with / without %.2f (target >= 1.00)%s\n",
			s, n, off, on, (off > 0 ? on / off : 0), (ok ? "" : "  MISSED")
		exit ok ? 0 : 3
	}' || missed=$((missed + 1))
done

echo "bench-poll: idle CPU, one guest with its ring running, ${IDLE_SECONDS} s"
for mode in off adaptive; do
	start_backend "$mode"
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	"$IDLE" "$T/rng" 1 rings <"$T/fifo" >"$T/idle.out" &
	IPID=$!
	exec 3>"$T/fifo"
	i=0
	while ! grep -q ready "$T/idle.out" 2>/dev/null; do
		kill -0 "$IPID" 2>/dev/null || { echo "bench-poll: idle-guests failed" >&2; exit 1; }
		[ $i -lt 6000 ] || { echo "bench-poll: idle-guests not ready after 60 s" >&2; exit 1; }
		sleep 0.01; i=$((i + 1))
	done
	c0=$(cpu_ticks)
	sleep "$IDLE_SECONDS"
	c1=$(cpu_ticks)
	exec 3>&-
	wait "$IPID" || true
	stop_backend
	awk -v mode="$mode" -v dt="$((c1 - c0))" -v tck="$TCK" -v s="$IDLE_SECONDS" '
	BEGIN {
		pct = dt / tck / s * 100
		ok = pct <= 1.0
		printf "  polling %-8s backend CPU %.2f s in %d s idle (%.2f%% of a CPU; target <= 1%%)%s\n",
			mode, dt / tck, s, pct, ok ? "" : "  MISSED"
		exit ok ? 0 : 3
	}' || missed=$((missed + 1))
	grep -h "adaptive polling" "$T/backend-$mode.log" | sed 's/^/    backend: /' || true
done
if [ "$missed" -ne 0 ]; then
	echo "bench-poll: $missed figure(s) missed their target"
	[ "$STRICT" = 1 ] && exit 1
fi
exit 0

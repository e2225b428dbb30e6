#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Cost of idle guests in one backend process (docs/benchmarks.md, "Scale").
#
# For N = 1, 16, 64, 256: start `vhost-device-rng -s DIR/rng -c N`, connect
# N idle frontends (bench/idle-guests, built on tools/' libvhu-frontend),
# and once all are set up read the backend's VmRSS (with its anonymous and
# shared parts: guest rings are shared memory), thread count
# (/proc/PID/status) and open fds (/proc/PID/fd).  Two kinds of idle guest
# (BENCH_MODES, default both): "negotiated" (features agreed, driver not
# started) and "rings" (memory table, queue 0 running, one request served).
# Per-guest cost = (figure at 256 - figure at 1) / 255.
#
# Targets: 256 idle guests under 4 MiB RSS; threads do not grow with the
# guest count; one idle guest under 1 MiB RSS.  BENCH_STRICT=1 makes a
# missed target fail the script.  BENCH_RNG=path measures another build
# of vhost-device-rng (before/after comparisons).  RSS, threads and fds
# do not depend on the machine's load.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
STRICT=${BENCH_STRICT:-0}
RNG=${BENCH_RNG:-$B/vhost-device-rng}
IDLE=$B/bench/idle-guests
MODES=${BENCH_MODES:-negotiated rings}
for f in "$RNG" "$IDLE"; do
	[ -x "$f" ] || { echo "bench-scale: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-scale-XXXXXX)
PID=
cleanup() {
	exec 3>&- 2>/dev/null || true
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }

# measure MODE N: prints "N rss_kb anon_kb shmem_kb threads fds"
measure() {
	mode=$1 n=$2
	rm -rf "$T/s" && mkdir "$T/s"
	"$RNG" -s "$T/s/rng" -c "$n" 2>"$T/backend.log" &
	PID=$!
	i=0
	while [ ! -S "$T/s/rng$((n - 1))" ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i + 1)); done
	[ -S "$T/s/rng$((n - 1))" ] || { echo "bench-scale: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }
	rm -f "$T/fifo" && mkfifo "$T/fifo"
	"$IDLE" "$T/s/rng" "$n" "$mode" <"$T/fifo" >"$T/idle.out" &
	IPID=$!
	exec 3>"$T/fifo"
	i=0
	while ! grep -q ready "$T/idle.out" 2>/dev/null; do
		kill -0 "$IPID" 2>/dev/null || { echo "bench-scale: idle-guests failed" >&2; cat "$T/backend.log" >&2; exit 1; }
		[ $i -lt 6000 ] || { echo "bench-scale: idle-guests not ready after 60 s" >&2; exit 1; }
		sleep 0.01; i=$((i + 1))
	done
	echo "$n $(status_kb VmRSS) $(status_kb RssAnon) $(status_kb RssShmem) $(status_kb Threads) $(ls "/proc/$PID/fd" | wc -l)"
	exec 3>&-
	wait "$IPID" || true
	kill "$PID" && wait "$PID" || true
	PID=
}

missed=0
echo "bench-scale: $(nproc) CPUs usable; backend $RNG"
for mode in $MODES; do
	echo "idle guests: $mode"
	printf '  %5s %10s %10s %10s %8s %6s\n' N "RSS KiB" "anon KiB" "shmem KiB" threads fds
	: >"$T/rows"
	for n in 1 16 64 256; do
		row=$(measure "$mode" "$n")
		echo "$row" >>"$T/rows"
		set -- $row
		printf '  %5s %10s %10s %10s %8s %6s\n' "$1" "$2" "$3" "$4" "$5" "$6"
	done
	awk -v cpus="$(nproc)" '
	{ n[NR] = $1; rss[NR] = $2; own[NR] = $3 + $4; thr[NR] = $5; fds[NR] = $6 }
	END {
		k = NR
		per = (rss[k] - rss[1]) / (n[k] - n[1])
		pfd = (fds[k] - fds[1]) / (n[k] - n[1])
		ok1 = rss[k] < 4096; ok3 = own[1] < 1024
		ok2 = 1
		for (i = 1; i <= k; i++)
			if (thr[i] > 1 + cpus || (i > 1 && n[i - 1] >= cpus && thr[i] != thr[i - 1]))
				ok2 = 0
		printf "  per guest: %.1f KiB RSS, %.2f fds\n", per, pfd
		printf "  %d guests: %d KiB RSS (target < 4096)%s\n", n[k], rss[k], ok1 ? "" : "  MISSED"
		printf "  threads: %d at %d guests .. %d at %d (target: at most 1 + %d CPUs, no growth once the pool is full)%s\n", thr[1], n[1], thr[k], n[k], cpus, ok2 ? "" : "  MISSED"
		printf "  1 guest: %d KiB RSS, of which %d KiB the process own (anon + shmem; the rest are libc and binary pages shared with other processes) (target < 1024 own)%s\n", rss[1], own[1], ok3 ? "" : "  MISSED"
		exit (ok1 && ok2 && ok3) ? 0 : 3
	}' "$T/rows" || missed=$((missed + 1))
done
if [ "$missed" -ne 0 ]; then
	echo "bench-scale: targets missed in $missed mode(s)"
	[ "$STRICT" = 1 ] && exit 3
fi
exit 0

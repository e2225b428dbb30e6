#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vsock stream throughput through vhost-device-vsock, beside a raw AF_UNIX
# socketpair doing the same transfer in the same run.
#
# `vhost-user-frontend vsock` plays the guest (libvhu-vsock: split rings of
# 256, EVENT_IDX, 16 rx buffers of 64 KiB -- a 1 MiB pool, as a Linux
# guest's 256 buffers of 4 KiB --, Linux >= 6.8 credit updates) and the host
# side (Unix sockets on the backend's --uds-path), with 64 KiB writes on
# both sides:
#   g2h  guest -> host: guest sends, a host thread reads the Unix socket
#   h2g  host -> guest: a host thread connects with "CONNECT <port>" and
#        writes, the guest receives (one copy into an application buffer)
#   raw  a writer thread -> a reader over socketpair(AF_UNIX, SOCK_STREAM)
# Each receiver checks the bytes (memcmp against the pattern) in all three.
# BENCH_ROUNDS rounds (default 7) of raw, g2h, h2g back to back; the
# figure is the median of the per-round ratios (this machine is shared, so
# single runs scatter).  Done for --tx-buffer-size 65536 (the default, as
# the Rust backend) and 262144 (Linux's own default socket buffer).
# Backend and frontend (the raw pair too) run pinned to one CPU
# (BENCH_CPU, default 0; BENCH_CPU=none to let them roam): on this VM a
# wake-up across CPUs costs tens of microseconds, and unpinned runs land
# at random in a fast or a slow mode (factor 3), which hides everything
# else.  Pinned, every party shares the CPU, as in a busy host.
# Then: round-trip latency of 1-byte messages against a socketpair, and
# memory: 64 connections whose host peer never reads, the growth of the
# backend's private memory (RssAnon) per connection against tx-buffer-size.
#
# Targets: ratio >= 0.60 each way; RSS growth per stalled connection <=
# tx-buffer-size (plus 16 KiB of bookkeeping).  BENCH_STRICT=1 makes a
# missed target fail the script.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
ROUNDS=${BENCH_ROUNDS:-7}
BYTES=${BENCH_VSOCK_BYTES:-256M}
STRICT=${BENCH_STRICT:-0}
FE=$B/tools/vhost-user-frontend
VS=$B/vhost-device-vsock
CPU=${BENCH_CPU:-0}
PIN=
if [ "$CPU" != none ] && command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $CPU"
fi
for f in "$FE" "$VS"; do
	[ -x "$f" ] || { echo "bench-vsock: $f not built (run 'make bench')" >&2; exit 1; }
done

T=$(mktemp -d /tmp/vhd-bench-vsock-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

start_backend() { # tx-buffer-size
	$PIN "$VS" --socket "$T/vhost.sock" --uds-path "$T/vm.vsock" --tx-buffer-size "$1" \
		2>"$T/backend.log" &
	PID=$!
	i=0
	while { [ ! -S "$T/vhost.sock" ] || [ ! -S "$T/vm.vsock" ]; } && [ $i -lt 500 ]; do
		sleep 0.01
		i=$((i + 1))
	done
	[ -S "$T/vhost.sock" ] || { echo "bench-vsock: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }
}
stop_backend() {
	kill "$PID"
	wait "$PID" || { echo "bench-vsock: the backend failed" >&2; cat "$T/backend.log" >&2; exit 1; }
	PID=
}
field() { awk -v k="$1" -F': ' '$1 == k { print $2 }' "$2"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

missed=0
echo "bench-vsock: $(nproc) CPUs, ${PIN:-not pinned}, $BYTES per transfer, 64 KiB writes, $ROUNDS rounds (median)"
for tb in 65536 262144; do
	start_backend "$tb"
	: >"$T/g2h" ; : >"$T/h2g"; : >"$T/raw"; : >"$T/g2hm"; : >"$T/h2gm"
	r=0
	while [ $r -lt "$ROUNDS" ]; do
		$PIN "$FE" vsock "$T/vhost.sock" --uds-path "$T/vm.vsock" --bytes "$BYTES" \
			--only raw,g2h,h2g >"$T/out" || { echo "bench-vsock: the run failed" >&2; cat "$T/out" >&2; exit 1; }
		field "raw MiB/s" "$T/out" >>"$T/raw"
		field "g2h ratio" "$T/out" >>"$T/g2h"
		field "h2g ratio" "$T/out" >>"$T/h2g"
		field "g2h MiB/s" "$T/out" >>"$T/g2hm"
		field "h2g MiB/s" "$T/out" >>"$T/h2gm"
		r=$((r + 1))
	done
	raw=$(median <"$T/raw")
	for dir in g2h h2g; do
		ratio=$(median <"$T/$dir")
		mibs=$(median <"$T/${dir}m")
		all=$(tr '\n' ' ' <"$T/$dir")
		line=$(awk -v d="$dir" -v tb="$tb" -v m="$mibs" -v raw="$raw" -v q="$ratio" -v rounds="$all" 'BEGIN {
			ok = (q >= 0.60)
			printf "vsock %s tx-buffer %6d: %7.0f MiB/s  raw AF_UNIX %7.0f MiB/s  ratio %.2f (target >= 0.60)%s  [rounds: %s]\n",
				d, tb, m, raw, q, (ok ? "" : "  MISSED"), rounds
			exit (ok ? 0 : 3) }') && rc=0 || rc=$?
		echo "$line"
		[ "$rc" -eq 0 ] || missed=$((missed + 1))
	done
	if [ "$tb" -eq 65536 ]; then
		$PIN "$FE" vsock "$T/vhost.sock" --uds-path "$T/vm.vsock" --only rr --rr 20000 >"$T/out"
		echo "vsock round trip, 1 byte: $(field "rr vsock us mean/p50/p99" "$T/out") us (mean/p50/p99); socketpair $(field "rr raw us mean/p50/p99" "$T/out") us"
	fi
	$PIN "$FE" vsock "$T/vhost.sock" --uds-path "$T/vm.vsock" --only none --hold 64 \
		--backend-pid "$PID" >"$T/out"
	line=$(awk -v tb="$tb" -v conns="$(field "hold conns" "$T/out")" \
		-v bytes="$(field "hold bytes/conn" "$T/out")" \
		-v kib="$(field "hold backend RSS growth KiB/conn" "$T/out")" 'BEGIN {
		lim = tb / 1024 + 16
		ok = (kib <= lim)
		printf "vsock memory tx-buffer %6d: %d stalled connections, %d bytes each got out, backend RSS +%.1f KiB/conn (target <= %.0f)%s\n",
			tb, conns, bytes, kib, lim, (ok ? "" : "  MISSED")
		exit (ok ? 0 : 3) }') && rc=0 || rc=$?
	echo "$line"
	[ "$rc" -eq 0 ] || missed=$((missed + 1))
	stop_backend
done
if [ "$missed" -ne 0 ]; then
	echo "bench-vsock: $missed figure(s) missed their target"
	[ "$STRICT" = 1 ] && exit 1
fi
exit 0

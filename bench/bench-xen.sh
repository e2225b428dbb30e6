#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Xen grant path vs plain memfd: vhost-device-rng throughput with the RNG
# requests' buffers mapped per request through (fake) grant mappings, and
# the map calls per request.  Needs an --enable-xen build ('make bench'
# builds the test programs first).  Seconds per measurement:
# VHD_BENCH_SECONDS (default 3).  Prints a Markdown table for
# docs/benchmarks.md, section "Xen grant path".
set -eu
B=${VHD_BUILDDIR:-.}
T="$B/tests/xen/xen-rng-test"
if [ ! -x "$T" ] || [ ! -f "$B/tests/xen/libfakexen.so" ]; then
	echo "bench-xen: $T or the fake libxen is missing (configure --enable-xen; make check)" >&2
	exit 1
fi
echo "Xen grant path vs memfd, $(nproc) CPUs, ${VHD_BENCH_SECONDS:-3} s per cell:"
# The backends' logs go to a file, shown only if the run fails.
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
if ! VHD_BUILDDIR="$B" "$T" --bench "${VHD_BENCH_SECONDS:-3}" 2>"$LOG"; then
	cat "$LOG" >&2
	exit 1
fi

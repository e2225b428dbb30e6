#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-sound's CPU time per second of 48 kHz stereo S16 playback to
# an ALSA PCM, beside bench/sound-alsa-direct writing the same stream to
# the same PCM directly, in the same run.
#
# The PCM: ALSA's file plugin writing the raw frames to /dev/null over the
# null PCM (an ALSA_CONFIG_PATH of our own), the PCM of the byte-exact
# integration test.  It has no clock (no sound card here): the backend
# paces it by the host clock (docs/sound.md, "Pacing") and the direct
# program paces itself the same way, so both play in real time, and the
# figure is CPU time per second of audio after the first second (start-up
# left out): the backend's (its threads' /proc/PID/task/*/schedstat, in
# nanoseconds, read by bench/sound-play as it plays BENCH_SOUND_SECONDS of
# audio through it as the guest: 20 ms periods, four in flight) against the
# direct program's own for the same frames.  Backend and players pinned to
# one CPU (BENCH_CPU, default 0; none to roam).  BENCH_ROUNDS rounds
# (default 3), medians.
#
# Target: the backend at most 4x the direct writer's CPU per audio second
# (the vhost-user path: one tx message per period read from guest memory,
# completed and notified).  BENCH_STRICT=1 makes a missed target fail.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SOUND_SECONDS:-10}
STRICT=${BENCH_STRICT:-0}
SND=$B/vhost-device-sound
PLAY=$B/bench/sound-play
DIRECT=$B/bench/sound-alsa-direct
CPU=${BENCH_CPU:-0}
PIN=
if [ "$CPU" != none ] && command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $CPU"
fi
for f in "$SND" "$PLAY" "$DIRECT"; do
	[ -x "$f" ] || { echo "bench-sound: $f not built (run 'make bench')" >&2; exit 1; }
done
if "$SND" --socket /nonexistent/x --backend alsa --output-streams 99 2>&1 | grep -q "no ALSA"; then
	echo "bench-sound: this build has no ALSA backend" >&2
	exit 77
fi

T=$(mktemp -d /tmp/vhd-bench-sound-XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat >"$T/alsa.conf" <<'CONF'
pcm.bench { type file slave.pcm { type null } file "/dev/null" format "raw" }
CONF
export ALSA_CONFIG_PATH="$T/alsa.conf"

$PIN "$SND" --socket "$T/snd.sock" --backend alsa --alsa-device bench 2>"$T/backend.log" &
PID=$!
i=0
while [ ! -S "$T/snd.sock" ] && [ $i -lt 500 ]; do
	sleep 0.01
	i=$((i + 1))
done
[ -S "$T/snd.sock" ] || { echo "bench-sound: the backend did not start" >&2; cat "$T/backend.log" >&2; exit 1; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$T/be"; : >"$T/raw"; : >"$T/ratio"
r=0
while [ $r -lt "$ROUNDS" ]; do
	out=$($PIN "$PLAY" "$T/snd.sock" "$SECS" "$PID")
	bytes=$(echo "$out" | sed -n 1p)
	[ "$bytes" -eq $((SECS * 192000)) ] || { echo "bench-sound: played $bytes bytes" >&2; exit 1; }
	be=$(echo "$out" | sed -n 2p | awk '{ printf "%.2f", $1 / 1e3 }')
	raw=$($PIN "$DIRECT" bench "$SECS" | awk '{ printf "%.2f", $1 / 1e3 }')
	echo "$be" >>"$T/be"
	echo "$raw" >>"$T/raw"
	awk -v a="$be" -v b="$raw" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }' >>"$T/ratio"
	echo "round $((r + 1)): backend ${be} us CPU per audio second, direct ${raw} us"
	r=$((r + 1))
done
BE=$(median <"$T/be")
RAW=$(median <"$T/raw")
RATIO=$(median <"$T/ratio")
echo "sound: 48 kHz stereo S16 to ALSA file/null PCM, $SECS s of audio per round, $ROUNDS rounds"
echo "sound: backend CPU per audio second: ${BE} us; direct ALSA writer: ${RAW} us; ratio ${RATIO} (target <= 4)"
if awk -v r="$RATIO" 'BEGIN { exit !(r > 4) }'; then
	echo "sound: ratio target missed"
	[ "$STRICT" = 1 ] && exit 1
fi
exit 0

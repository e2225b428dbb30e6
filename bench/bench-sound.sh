#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-sound's CPU time per second of 48 kHz stereo S16 playback to
# an ALSA PCM, beside bench/sound-alsa-direct writing the same stream to
# the same PCM directly, in the same run.
#
# The PCM: ALSA's file plugin writing the raw frames to /dev/null over the
# null PCM (an ALSA_CONFIG_PATH of our own), the PCM of the byte-exact
# integration test.  It is not paced (no sound card here), so both sides
# run as fast as they can and the figure is CPU time per second of audio:
# the backend's (utime + stime from /proc, while bench/sound-play plays
# BENCH_SOUND_SECONDS of audio through it as the guest: 20 ms periods,
# four in flight) against the direct program's own (getrusage) for the
# same number of frames.  Backend and players pinned to one CPU
# (BENCH_CPU, default 0; none to roam).  BENCH_ROUNDS rounds (default 5),
# medians.
#
# Target: the backend at most 4x the direct writer's CPU per audio second
# (the vhost-user path: one tx message per period read from guest memory,
# completed and notified).  BENCH_STRICT=1 makes a missed target fail.
set -eu

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SOUND_SECONDS:-600}
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

ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
HZ=$(getconf CLK_TCK)
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$T/be"; : >"$T/raw"; : >"$T/ratio"
r=0
while [ $r -lt "$ROUNDS" ]; do
	t0=$(ticks)
	bytes=$($PIN "$PLAY" "$T/snd.sock" "$SECS")
	t1=$(ticks)
	[ "$bytes" -eq $((SECS * 192000)) ] || { echo "bench-sound: played $bytes bytes" >&2; exit 1; }
	us=$($PIN "$DIRECT" bench "$SECS")
	be=$(awk -v t=$((t1 - t0)) -v hz="$HZ" -v s="$SECS" 'BEGIN { printf "%.2f", t * 1e6 / hz / s }')
	raw=$(awk -v u="$us" -v s="$SECS" 'BEGIN { printf "%.2f", u / s }')
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

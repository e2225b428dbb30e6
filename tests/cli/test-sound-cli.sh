#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-sound as a program: argument errors exit 1
# with a message and create no socket; --socket is used exactly, as the
# Rust binary names it; SIGTERM removes it.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

P=vhost-device-sound
expect_exit $P 0 "--output-streams N" --help
expect_exit $P 0 "alsa or pipewire" --help
expect_exit $P 0 '"type": "sound"' --print-capabilities
expect_exit $P 1 "missing --backend" --socket "$S/a.sock"
expect_exit $P 1 "missing --socket" --backend null
expect_exit $P 1 "needs --backend alsa" --socket "$S/a.sock" --backend null --alsa-device hw:0
expect_exit $P 1 "empty PCM name" --socket "$S/a.sock" --backend alsa --alsa-device ""
expect_exit $P 1 "gstreamer: not available" --socket "$S/a.sock" --backend gstreamer
expect_exit $P 1 "needs --backend pipewire" --socket "$S/a.sock" --backend null --pipewire-target x
expect_exit $P 1 "expected null, alsa" --socket "$S/a.sock" --backend oss
expect_exit $P 1 "exclude each other" --socket "$S/a.sock" --socket-fd 0 --backend null
expect_exit $P 1 "exclude each other" --socket "$S/a.sock" --socket-fd=0 --backend null
expect_exit $P 1 "no streams" --socket "$S/a.sock" --backend null --output-streams 0 --input-streams 0
expect_exit $P 1 "expected 0..16" --socket "$S/a.sock" --backend null --output-streams 17
expect_exit $P 1 "expected 0..16" --socket "$S/a.sock" --backend null --input-streams -1
expect_exit $P 1 "bad rate '7'" --socket "$S/a.sock" --backend null --rates 44100,7
expect_exit $P 1 "bad format 'u16'" --socket "$S/a.sock" --backend null --formats s16,u16
expect_exit $P 1 "bad format" --socket "$S/a.sock" --backend null --formats s16,
expect_exit $P 1 "socket-path" -s "$S/a.sock" --backend null
run_and_stop $P "sound --socket: exactly a.sock, removed on SIGTERM" \
	"$S/a.sock" --socket "$S/a.sock" --backend null
# --backend alsa opens nothing before a stream is prepared (or this build
# has no ALSA, which it says).
if ! "$B/$P" --socket "$S/x.sock" --backend alsa --output-streams 99 2>&1 | grep -q "no ALSA"; then
	run_and_stop $P "sound --backend alsa --alsa-device null: starts without opening the PCM" \
		"$S/c.sock" --socket "$S/c.sock" --backend alsa --alsa-device null
else
	expect_exit $P 1 "no ALSA" --socket "$S/a.sock" --backend alsa
fi
# --backend pipewire connects to no daemon before a stream is prepared (or
# this build has no PipeWire, which it says).
if ! "$B/$P" --socket "$S/x.sock" --backend pipewire --output-streams 99 2>&1 | grep -q "no PipeWire"; then
	expect_exit $P 1 "empty node name" --socket "$S/a.sock" --backend pipewire --pipewire-target ""
	run_and_stop $P "sound --backend pipewire: starts without connecting to a daemon" \
		"$S/d.sock" --socket "$S/d.sock" --backend pipewire
else
	expect_exit $P 1 "no PipeWire" --socket "$S/a.sock" --backend pipewire
fi
run_and_stop $P "sound with 2 outputs, no input, s16 at 48000 Hz" \
	"$S/b.sock" --socket "$S/b.sock" --backend null --output-streams 2 --input-streams 0 \
	--formats s16 --rates 48000

# --socket-fd: an inherited listening socket (as a service manager passes
# it) is served; the Rust flag is the core's --fd.
fresh_s
start python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(4)
if s.fileno() != 3: os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.execv(sys.argv[2], [sys.argv[2], "--socket-fd", "3", "--backend", "null"])
' "$S/fd.sock" "$B/$P"
if wait_for "$S/fd.sock" &&
   "$B/tools/vhost-user-frontend" info "$S/fd.sock" --config-size 16 >"$T/out" 2>&1 &&
   grep -q "00 00 00 00 02 00 00 00 02 00 00 00 00 00 00 00" "$T/out"; then
	ok "sound --socket-fd 3: served (config: 0 jacks, 2 streams, 2 chmaps)"
else
	bad "sound --socket-fd 3: $(head -c 300 "$T/out") $(log_head)"
fi
stop

finish

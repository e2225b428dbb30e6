#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The vhost-user-frontend command: arguments, exit statuses (0 ok, 1 bad
# command line, 2 device failure), `info` and `rng` against real backends,
# `vsock` failing cleanly.
set -u

B=${VHD_BUILDDIR:?VHD_BUILDDIR not set}
FE=$B/tools/vhost-user-frontend
RNG=$B/vhost-device-rng
TPL=$B/vhost-device-template
T=$(mktemp -d /tmp/vhd-cli-XXXXXX)
PIDS=
fails=0

cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# expect STATUS DESCRIPTION -- command...
expect() {
	want=$1; what=$2; shift 3
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "$what: exit $got, expected $want"
		sed 's/^/  | /' "$T/out" "$T/err"
	else
		ok "$what"
	fi
}

has() { # has FILE PATTERN DESCRIPTION
	if grep -q -- "$2" "$1"; then ok "$3"; else fail "$3: '$2' not in output"; sed 's/^/  | /' "$1"; fi
}

# Wait for the socket (the event); 30 s is only the failure bound.
wait_sock() {
	i=0
	while [ ! -S "$1" ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i + 1)); done
	[ -S "$1" ] || { fail "socket $1 never appeared"; exit 1; }
}

# -- command line -----------------------------------------------------------
expect 0 "--help" -- "$FE" --help
has "$T/out" "info SOCKET" "--help shows info"
has "$T/out" "rng SOCKET" "--help shows rng"
expect 0 "--version" -- "$FE" --version
has "$T/out" "vhost-user-frontend" "--version names the program"
expect 1 "no arguments" -- "$FE"
expect 1 "unknown command" -- "$FE" frobnicate /tmp/x
has "$T/err" "unknown command 'frobnicate'" "unknown command is named"
expect 1 "rng without socket" -- "$FE" rng
has "$T/err" "missing SOCKET" "missing socket is named"
expect 1 "--bytes 0" -- "$FE" rng /tmp/x --bytes 0
expect 1 "--bytes garbage" -- "$FE" rng /tmp/x --bytes 12q
expect 1 "--queue-size 100" -- "$FE" rng /tmp/x --queue-size 100
has "$T/err" "power of two" "queue size error says why"
expect 1 "--seconds -1" -- "$FE" rng /tmp/x --seconds -1
expect 1 "--bytes with --seconds" -- "$FE" rng /tmp/x --bytes 1 --seconds 1
expect 1 "unknown option" -- "$FE" rng /tmp/x --frob
expect 1 "extra argument" -- "$FE" rng /tmp/x /tmp/y
expect 1 "rng option on info" -- "$FE" info /tmp/x --bytes 5
expect 2 "no backend" -- "$FE" rng "$T/none" --timeout 100
has "$T/err" "cannot connect to $T/none" "connection failure is named"

# -- against vhost-device-rng -------------------------------------------------
"$RNG" -s "$T/rng" 2>"$T/rng.log" &
PIDS="$PIDS $!"
wait_sock "$T/rng0"

expect 0 "info rng" -- "$FE" info "$T/rng0"
for f in "VERSION_1" "RING_EVENT_IDX" "RING_INDIRECT_DESC" "PROTOCOL_FEATURES" \
	 "REPLY_ACK" "CONFIGURE_MEM_SLOTS" "queues: 1" "max mem slots: 32" "config: not offered"; do
	has "$T/out" "$f" "info rng shows $f"
done

expect 0 "rng --bytes 100000 --out" -- "$FE" rng "$T/rng0" --bytes 100000 --buf-size 3000 --out "$T/data"
has "$T/out" "^bytes: 100000$" "rng reports the bytes"
has "$T/out" "^MiB/s: " "rng reports MiB/s"
has "$T/out" "^requests/s: " "rng reports requests/s"
size=$(wc -c <"$T/data")
[ "$size" -eq 100000 ] && ok "--out has 100000 bytes" || fail "--out has $size bytes"
expect 0 "rng --out - (data on stdout)" -- "$FE" rng "$T/rng0" --bytes 5000 --out -
size=$(wc -c <"$T/out")
[ "$size" -eq 5000 ] && ok "stdout has the 5000 bytes" || fail "stdout has $size bytes"
has "$T/err" "^bytes: 5000$" "figures on stderr with --out -"
expect 0 "rng --seconds 0.3 --buf-size 64 --indirect" -- \
	"$FE" rng "$T/rng0" --seconds 0.3 --buf-size 64 --indirect --batch 8 --queue-size 64
has "$T/out" "^seconds: 0.3" "--seconds is honoured"
expect 0 "rng --packed --indirect" -- \
	"$FE" rng "$T/rng0" --bytes 300000 --buf-size 1000 --packed --indirect --batch 8 --queue-size 64
has "$T/out" "^bytes: 300000$" "a packed ring reads every byte"
expect 0 "rng --packed (chains wrap the ring)" -- \
	"$FE" rng "$T/rng0" --bytes 200000 --buf-size 100 --packed --batch 3 --queue-size 16
has "$T/out" "^bytes: 200000$" "a packed ring of 16 reads every byte"

# -- adaptive polling (--poll adaptive).  (1) Data flows on both ring formats
# with one request in flight (a queue of 1), and the loop's polling finds
# work: with a 1 s maximum the budget grows as long as requests keep coming
# within a second, whatever the machine's load.  (2) An idle backend (maximum 50 us) uses no CPU after its guest's
# last request: a spinning worker would use most of a CPU; the bound is
# generous, a correct one uses ~0 ticks. -------------------------------------
"$RNG" -s "$T/pollw" --poll adaptive --poll-max-us 1000000 -v 2>"$T/pollw.log" &
POLL_PID=$!
PIDS="$PIDS $POLL_PID"
wait_sock "$T/pollw0"
expect 0 "rng through a polling backend, split" -- "$FE" rng "$T/pollw0" --bytes 1M --buf-size 4096 --batch 1 --queue-size 1
has "$T/out" "^bytes: 1048576$" "polling backend: every byte (split)"
expect 0 "rng through a polling backend, packed" -- "$FE" rng "$T/pollw0" --bytes 1M --buf-size 4096 --batch 1 --queue-size 1 --packed
has "$T/out" "^bytes: 1048576$" "polling backend: every byte (packed)"
kill -TERM "$POLL_PID"
wait "$POLL_PID" 2>/dev/null || true
has "$T/pollw.log" "adaptive polling: [0-9]* windows, [1-9][0-9]* found work" "the backend polled and found work"

"$RNG" -s "$T/poll" --poll adaptive --poll-max-us 50 2>"$T/poll.log" &
POLL_PID=$!
PIDS="$PIDS $POLL_PID"
wait_sock "$T/poll0"
expect 0 "rng through a polling backend (50 us)" -- "$FE" rng "$T/poll0" --bytes 256K --buf-size 4096 --batch 1 --packed
ticks() { awk '{ print $14 + $15 }' "/proc/$POLL_PID/stat"; }
t0=$(ticks)
sleep 2
t1=$(ticks)
[ $((t1 - t0)) -le 20 ] && ok "idle polling backend: $((t1 - t0)) CPU ticks in 2 s" ||
	fail "idle polling backend used $((t1 - t0)) CPU ticks in 2 s (spinning?)"
kill -TERM "$POLL_PID"
wait "$POLL_PID" 2>/dev/null || true

# -- a file source: bytes match; at EOF the command times out with exit 2 -----
head -c 70000 /dev/urandom >"$T/src"
"$RNG" -s "$T/frng" -f "$T/src" 2>"$T/frng.log" &
PIDS="$PIDS $!"
wait_sock "$T/frng0"
expect 0 "rng from a file" -- "$FE" rng "$T/frng0" --bytes 70000 --buf-size 4096 --out "$T/fdata"
cmp -s "$T/src" "$T/fdata" && ok "data equals the source file" || fail "data differs from the source file"
"$RNG" -s "$T/prng" -f "$T/src" 2>"$T/prng.log" &
PIDS="$PIDS $!"
wait_sock "$T/prng0"
expect 0 "rng from a file, packed ring" -- "$FE" rng "$T/prng0" --bytes 70000 --buf-size 1000 --packed --queue-size 32 --out "$T/fdata1"
cmp -s "$T/src" "$T/fdata1" && ok "packed: data equals the source file (in order)" || fail "packed: data differs from the source file"
# The stall is what the timeout detects, but --timeout also bounds every
# reply of the set-up: 3 s, so that a backend that is slow to answer on a
# busy machine still gets to the stall (300 ms did not always).
expect 2 "rng past end of file" -- "$FE" rng "$T/frng0" --bytes 10 --timeout 3000
has "$T/err" "no completion for 3000 ms" "EOF stall is reported"

# -- against vhost-device-template: a config space ---------------------------
"$TPL" -s "$T/tpl" 2>"$T/tpl.log" &
PIDS="$PIDS $!"
wait_sock "$T/tpl"
expect 0 "info template" -- "$FE" info "$T/tpl"
has "$T/out" " 9 CONFIG" "template offers CONFIG"
has "$T/out" "config (8 bytes):" "config size found by probing"
expect 0 "info template --config-size 4" -- "$FE" info "$T/tpl" --config-size 4
has "$T/out" "config (4 bytes):" "--config-size is used"
expect 2 "info template --config-size 9" -- "$FE" info "$T/tpl" --config-size 9
has "$T/err" "refused GET_CONFIG" "refused config read is named"

# -- vsock rr whose host side is unreachable: exit 2, nothing left behind ----
# The tool's echo listens under its own --uds-path; the backend forwards the
# guest's connection under another, so the connect is refused.
VS=$B/vhost-device-vsock
"$VS" --socket "$T/vs.sock" --uds-path "$T/vm.vsock" 2>"$T/vs.log" &
PIDS="$PIDS $!"
wait_sock "$T/vs.sock"
expect 2 "vsock rr, host side unreachable" -- \
	"$FE" vsock "$T/vs.sock" --uds-path "$T/other.vsock" --only rr --rr 1
has "$T/err" "rr connect to host port 9002" "rr connect failure is named"
if [ -e "$T/other.vsock_9002" ]; then
	fail "rr left its listening socket $T/other.vsock_9002 behind"
else
	ok "rr removed its listening socket after the failed connect"
fi

echo "$fails failure(s)"
[ "$fails" -eq 0 ]

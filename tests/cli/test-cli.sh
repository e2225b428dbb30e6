#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Command-line and daemon behaviour of the device binaries: argument errors
# exit 1 before any socket exists, socket naming as the Rust suite, --fd in
# its listening and connected forms, --print-capabilities, stale and live
# sockets, SIGTERM removing the sockets.
set -u
B=${VHD_BUILDDIR:-.}
RNG=$B/vhost-device-rng
TPL=$B/vhost-device-template
T=$(mktemp -d /tmp/vhd-cli.XXXXXX)
pass=0
fail=0
pids=""
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

ok() { pass=$((pass + 1)); echo "ok - $1"; }
bad() { fail=$((fail + 1)); echo "not ok - $1"; }
check() { # description, command...: command must succeed
	d=$1; shift
	if "$@"; then ok "$d"; else bad "$d"; fi
}

# expect_exit STATUS PATTERN ARGS...: run the binary, check status and that
# stderr+stdout match PATTERN, and that no file appeared in $T/s.
expect_exit() {
	want=$1 pat=$2; shift 2
	rm -rf "$T/s"; mkdir -p "$T/s"
	"$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ]; then
		bad "'$*' exits $want (got $got: $(head -c 300 "$T/out"))"; return
	fi
	if ! grep -q -- "$pat" "$T/out"; then
		bad "'$*' says '$pat' (said: $(head -c 300 "$T/out"))"; return
	fi
	if [ -n "$(ls -A "$T/s")" ]; then
		bad "'$*' created no file (found: $(ls "$T/s"))"; return
	fi
	ok "'$*' exits $want saying '$pat'"
}

# Waits are for events (a file, a process ending); 30 s is only the
# failure bound (docs/testing.md, "Testing on a busy machine").
wait_for() { # path: wait up to 30 s for it to exist
	i=0
	while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$1" ]
}

# wait_bounded PID: wait until our child PID ended (a zombie counts: a
# shell may reap it only in wait), SIGKILL it after 30 s (then its status
# is 137, which fails the caller's check); return its status.
wait_bounded() {
	i=0
	while kill -0 "$1" 2>/dev/null &&
	      [ "$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null)" != Z ] && [ $i -lt 600 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ $i -lt 600 ] || kill -KILL "$1" 2>/dev/null
	wait "$1"
}

# --- help, version, capabilities ---------------------------------------
expect_exit 0 "--rng-source" "$RNG" --help
expect_exit 0 "--period" "$RNG" --help
expect_exit 0 "vhost-device-c" "$RNG" --version
expect_exit 0 '"type": "rng"' "$RNG" --print-capabilities
expect_exit 0 '"type": "rng"' "$RNG" --print-capabilities --bogus-option -c 0
expect_exit 0 '"type": "template"' "$TPL" --print-capabilities
expect_exit 0 "--xor-byte" "$TPL" --help

# --- argument errors: exit 1, nothing created ---------------------------
expect_exit 1 "missing --socket-path" "$RNG"
expect_exit 1 "socket-count" "$RNG" -s "$T/s/r" -c 0
expect_exit 1 "socket-count" "$RNG" -s "$T/s/r" -c abc
expect_exit 1 "socket-count" "$RNG" -s "$T/s/r" -c " 2"
expect_exit 1 "socket-count" "$RNG" -s "$T/s/r" -c "+2"
expect_exit 1 "workers" "$RNG" -s "$T/s/r" --workers 0
expect_exit 1 "workers" "$RNG" -s "$T/s/r" --workers 1025
expect_exit 1 "period" "$RNG" -s "$T/s/r" -p 0
expect_exit 1 "period" "$RNG" -s "$T/s/r" -p 65537
expect_exit 1 "period" "$RNG" -s "$T/s/r" --period=-5
expect_exit 1 "max-bytes" "$RNG" -s "$T/s/r" -m 0
expect_exit 1 "leaves 0 bytes per socket" "$RNG" -s "$T/s/r" -m 3 -c 4
expect_exit 1 "/nonexistent/src" "$RNG" -s "$T/s/r" -f /nonexistent/src
expect_exit 1 "is a directory" "$RNG" -s "$T/s/r" --filename /tmp
# A source that opens but cannot be stat'ed is refused (not looked at
# through an unset struct stat).  The shim fails fstat for that one path;
# timeout is only a failure bound for an rng that would start serving.
: >"$T/src"
expect_exit 1 "cannot stat rng source $T/src: Input/output error" \
	timeout 60 env VHD_FAIL_FSTAT_PATH="$T/src" LD_PRELOAD="$B/tests/cli/fail-fstat.so" \
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	"$RNG" -s "$T/s/r" -f "$T/src"
expect_exit 1 "exclude each other" "$RNG" -s "$T/s/r" --fd 0
expect_exit 1 "unknown option" "$RNG" -s "$T/s/r" --no-such-option
expect_exit 1 "needs an argument" "$RNG" -s
expect_exit 1 "unexpected argument" "$RNG" -s "$T/s/r" extra
expect_exit 1 "too long" "$RNG" -s "$T/s/$(printf 'x%.0s' $(seq 1 120))"
expect_exit 1 "log-level" "$RNG" -s "$T/s/r" --log-level loud
expect_exit 1 "xor-byte" "$TPL" -s "$T/s/t" --xor-byte 256
expect_exit 1 "expected auto, on or off" "$RNG" -s "$T/s/r" --xen maybe
if ! grep -q 'define HAVE_XEN 1' "$B/config.h" 2>/dev/null; then
	expect_exit 1 "no Xen support" "$RNG" -s "$T/s/r" --xen on
fi
expect_exit 1 "not a socket" sh -c "exec 9</dev/null; exec '$RNG' --fd 9"

# --- sockets: naming, live/stale/non-socket paths, SIGTERM ---------------
mkdir -p "$T/run"
"$RNG" -s "$T/run/rng.sock" -c 2 2>"$T/rng.err" &
rp=$!
pids="$pids $rp"
check "rng -c 2 creates rng.sock0 and rng.sock1" sh -c "
	i=0; while [ ! -S '$T/run/rng.sock1' ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done
	[ -S '$T/run/rng.sock0' ] && [ -S '$T/run/rng.sock1' ] && [ ! -e '$T/run/rng.sock' ]"
"$RNG" -s "$T/run/rng.sock" -c 2 >"$T/out" 2>&1
check "a second rng on the same live socket exits 1 (in use)" sh -c "[ $? -eq 1 ] && grep -q 'in use' '$T/out'"
check "...and the first one's sockets are untouched" test -S "$T/run/rng.sock0"

kill -TERM "$rp"
wait_bounded "$rp"
st=$?
check "SIGTERM ends rng with status 0 (got $st)" test "$st" -eq 0
check "SIGTERM removes the sockets" sh -c "[ ! -e '$T/run/rng.sock0' ] && [ ! -e '$T/run/rng.sock1' ]"

# A stale socket file (no listener) is replaced.
python3 -c "
import socket,sys
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$T/run/stale0"
"$RNG" -s "$T/run/stale" 2>"$T/stale.err" &
sp=$!
pids="$pids $sp"
# Served: a frontend's connect succeeds (the event), while the backend
# still runs.
check "a stale socket file is replaced and served" python3 -c "
import os, socket, sys, time
end = time.monotonic() + 30
while True:
    os.kill(int(sys.argv[2]), 0)    # the backend must not have exited
    c = socket.socket(socket.AF_UNIX)
    try:
        c.connect(sys.argv[1])
        break
    except OSError:
        if time.monotonic() > end:
            raise
        time.sleep(0.02)
" "$T/run/stale0" "$sp"
kill -TERM "$sp"; wait_bounded "$sp"

# A regular file in the way is an error and is left alone.
echo keep >"$T/run/file0"
"$RNG" -s "$T/run/file" >"$T/out" 2>&1
check "a regular file at the socket path: exit 1" sh -c "[ $? -eq 1 ] && grep -q 'not a socket' '$T/out'"
check "...and the file is untouched" grep -q keep "$T/run/file0"

# template uses the exact path (as the Rust template does)
"$TPL" -s "$T/run/tpl.sock" 2>/dev/null &
tp=$!
pids="$pids $tp"
check "template listens on the exact path" wait_for "$T/run/tpl.sock"
kill -TERM "$tp"; wait_bounded "$tp"

# --- --fd: listening and connected sockets, GET_FEATURES over each -------
cat >"$T/fdtest.py" <<'EOF'
import os, socket, struct, subprocess, sys, time
binary, mode = sys.argv[1], sys.argv[2]
def get_features(s):
    s.sendall(struct.pack("=III", 1, 1, 0))
    hdr = s.recv(12, socket.MSG_WAITALL)
    req, flags, size = struct.unpack("=III", hdr)
    val, = struct.unpack("=Q", s.recv(size, socket.MSG_WAITALL))
    assert req == 1 and flags == 5 and size == 8, (req, flags, size)
    assert val & (1 << 30) and val & (1 << 32), hex(val)
if mode == "listen":
    path = sys.argv[3]
    l = socket.socket(socket.AF_UNIX); l.bind(path); l.listen(4)
    p = subprocess.Popen([binary, "--fd", str(l.fileno())], pass_fds=[l.fileno()])
    for i in range(3):   # the backend accepts frontend after frontend
        c = socket.socket(socket.AF_UNIX); c.connect(path); get_features(c); c.close()
    p.terminate(); assert p.wait(30) == 0
else:
    a, b = socket.socketpair()
    p = subprocess.Popen([binary, "--fd", str(b.fileno())], pass_fds=[b.fileno()])
    b.close()
    get_features(a)
    a.close()           # connected mode: the backend ends with its frontend
    assert p.wait(30) == 0
print("fdtest ok")
EOF
check "--fd with a listening socket accepts several frontends" python3 "$T/fdtest.py" "$RNG" listen "$T/run/l.sock"
check "--fd with a connected socket serves it and exits 0 when it closes" python3 "$T/fdtest.py" "$RNG" connected

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]

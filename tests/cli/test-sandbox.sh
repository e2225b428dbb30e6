#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The sandbox in the real programs (docs/security.md): by default a running
# backend is in seccomp filter mode (/proc/PID/status "Seccomp: 2"), with
# --sandbox off it is not ("Seccomp: 0"), and a bad --sandbox value exits 1
# before any socket exists.  The filter itself is tested in
# tests/unit/test-sandbox.c; every other test runs the backends with it.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# Where this kernel has no seccomp filters, there is nothing to see.
if ! grep -q '^Seccomp:' /proc/self/status; then
	echo "1..0 # SKIP no seccomp in this kernel"
	exit 77
fi

seccomp_mode() {
	awk '/^Seccomp:/ { print $2 }' "/proc/$pid/status"
}

# expect MODE DESCRIPTION PROG ARGS...
expect() {
	want=$1 d=$2
	shift 2
	# The event: the line logged once the workers run, after the
	# sandbox step.
	start "$@" -v
	if ! wait_until grep -q "worker threads" "$T/log"; then
		bad "$d: the backend runs (log: $(head -c 400 "$T/log"))"
		stop
		return
	fi
	got=$(seccomp_mode)
	if [ "$got" = "$want" ]; then ok "$d: Seccomp: $got"; else bad "$d: Seccomp: $got, expected $want"; fi
	if stop; then ok "$d: SIGTERM ends it with status 0"; else bad "$d: SIGTERM ends it with status 0 (got $st; log: $(head -c 400 "$T/log"))"; fi
}

# A sanitizer build installs the filter only with --sandbox on, and its
# LeakSanitizer then hangs at exit (docs/security.md): there, only --sandbox
# off and the default's not installing are checked.
if grep -q __asan_init "$B/vhost-device-rng"; then
	expect 0 "vhost-device-rng (default, sanitizer build)" "$B/vhost-device-rng" -s "$T/rng.sock"
	expect 0 "vhost-device-rng --sandbox off" "$B/vhost-device-rng" -s "$T/rng.sock" --sandbox off
	finish
fi

for dev in rng template; do
	expect 2 "vhost-device-$dev (default)" "$B/vhost-device-$dev" -s "$T/$dev.sock"
	if grep -q "sandbox: seccomp allow-list installed" "$T/log"; then
		ok "vhost-device-$dev says the sandbox is installed"
	else
		bad "vhost-device-$dev says the sandbox is installed ($(head -c 400 "$T/log"))"
	fi
	expect 2 "vhost-device-$dev --sandbox on" "$B/vhost-device-$dev" -s "$T/$dev.sock" --sandbox on
	expect 0 "vhost-device-$dev --sandbox off" "$B/vhost-device-$dev" -s "$T/$dev.sock" --sandbox off
done

"$B/vhost-device-rng" -s "$T/bad.sock" --sandbox maybe >"$T/out" 2>&1
st=$?
if [ $st -eq 1 ] && grep -q "expected auto, on or off" "$T/out" && ! ls "$T"/bad.sock* >/dev/null 2>&1; then
	ok "--sandbox maybe exits 1 before any socket"
else
	bad "--sandbox maybe exits 1 before any socket (status $st: $(cat "$T/out"))"
fi

finish

#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-i2c and vhost-device-spi as programs: argument errors exit 1
# with a message and create no file; sockets are suffixed (PATH0..), as the
# Rust binaries; SIGTERM removes them.
set -u
# shellcheck source-path=SCRIPTDIR source=../cli/lib.sh
. "$(dirname "$0")/../cli/lib.sh"

I=vhost-device-i2c
expect_exit $I 0 "--device-list" --help
expect_exit $I 0 '"type": "i2c"' --print-capabilities
expect_exit $I 1 "required" -s "$S/i.sock"
expect_exit $I 1 "expected a decimal 7-bit address" -s "$S/i.sock" -l sim:120
expect_exit $I 1 "expected a decimal 7-bit address" -s "$S/i.sock" -l sim:0x50
expect_exit $I 1 "expected a decimal 7-bit address" -s "$S/i.sock" -l sim:2
expect_exit $I 1 "given twice" -s "$S/i.sock" -l sim:80,sim-smbus:80
expect_exit $I 1 "given twice" -s "$S/i.sock" -l sim:80:81:80
expect_exit $I 1 "bus 'sim' is given twice" -s "$S/i.sock" -l sim:80,sim:81
expect_exit $I 1 "no address given" -s "$S/i.sock" -l sim
expect_exit $I 1 "empty adapter entry" -s "$S/i.sock" -l sim:80,
expect_exit $I 1 "/dev/i2c-999" -s "$S/i.sock" -l 999:80
run_and_stop $I "i2c -c 2: sockets i.sock0 and i.sock1, removed on SIGTERM" \
	"$S/i.sock0 $S/i.sock1" -s "$S/i.sock" -c 2 -l sim:80:81,sim-smbus:32

# vhost-user-frontend i2c against a running simulated bus: a write, then a
# write-then-read transfer prints the bytes; an absent address fails (2).
fresh_s
start "$B/$I" -s "$S/f.sock" -l sim:80
if wait_for "$S/f.sock0"; then
	FE=$B/tools/vhost-user-frontend
	"$FE" i2c "$S/f.sock0" w3@0x50 0x10 0xaa 0xbb >"$T/out" 2>&1 &&
		"$FE" i2c "$S/f.sock0" w1@0x50 0x10 r2@0x50 >"$T/out" 2>&1
	if [ "$(cat "$T/out")" = "0xaa 0xbb" ]; then
		ok "vhost-user-frontend i2c: write, then read back '0xaa 0xbb'"
	else
		bad "vhost-user-frontend i2c read back: $(head -c 300 "$T/out")"
	fi
	"$FE" i2c "$S/f.sock0" w1@0x51 0x10 r1@0x50 >"$T/out" 2>&1
	st=$?
	if [ "$st" -eq 2 ] && grep -q "0 of 2 messages" "$T/out"; then
		ok "vhost-user-frontend i2c: a transfer with an absent address fails as a whole (2)"
	else
		bad "vhost-user-frontend i2c, absent address: status $st: $(head -c 300 "$T/out")"
	fi
	stop
else
	bad "i2c for the frontend: no socket ($(log_head))"
	kill_backend
fi

P=vhost-device-spi
expect_exit $P 0 "--device PATH" --help
expect_exit $P 0 '"type": "spi"' --print-capabilities
expect_exit $P 1 "required" -s "$S/p.sock"
expect_exit $P 1 "/nonexistent/spidev0.0" -s "$S/p.sock" -l /nonexistent/spidev0.0
run_and_stop $P "spi -l loopback: socket p.sock0, removed on SIGTERM" \
	"$S/p.sock0" -s "$S/p.sock" -l loopback

finish

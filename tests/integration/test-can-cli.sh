#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# vhost-device-can as a program, on a host without any CAN interface (the
# protocol is tested in the guest: tests/vm/can-vcan.test): argument
# errors exit 1 with a message saying what is wrong and create no file --
# -d missing, a count that differs from -c, an interface that does not
# exist, one that is not CAN, a name that cannot be an interface.
set -u
. "$(dirname "$0")/../cli/lib.sh"

SOCK=$S/can.sock
expect_exit vhost-device-can 1 "-d/--can-devices is required" -s "$SOCK"
expect_exit vhost-device-can 1 "no network interface 'nosuchcan0'" -s "$SOCK" -d nosuchcan0
expect_exit vhost-device-can 1 "'lo' is not a CAN interface" -s "$SOCK" --can-devices lo
expect_exit vhost-device-can 1 "names 2 interfaces for 1 socket" -s "$SOCK" -d "lo lo"
expect_exit vhost-device-can 1 "names 1 interface for 3 sockets" -s "$SOCK" -c 3 -d "	nosuchcan0  "
expect_exit vhost-device-can 1 "names 0 interfaces for 1 socket" -s "$SOCK" -d "  "
expect_exit vhost-device-can 1 "is not a network interface name" -s "$SOCK" -d "a/b"
expect_exit vhost-device-can 1 "is not a network interface name" -s "$SOCK" -d "abcdefghijklmnopq"
# Checked in order: the first bad name is named.
expect_exit vhost-device-can 1 "no network interface 'nosuchcan1'" -s "$SOCK" -c 2 -d "nosuchcan1 lo"
expect_exit vhost-device-can 1 "needs an argument" -s "$SOCK" -d
expect_exit vhost-device-can 0 "can-devices" --help

# vhost-user-frontend can against the backend on a fake interface (the
# preloaded shim of tests/integration/test-can-fakeif: its CAN socket is a
# Unix SEQPACKET socket to the bus below, played by python).
F=$B/tools/vhost-user-frontend
expect_tool() {
	want=$1 pat=$2
	shift 2
	"$F" can "$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -ne "$want" ] || ! grep -q -- "$pat" "$T/out"; then
		bad "vhost-user-frontend can '$*' exits $want saying '$pat' (got $got: $(head -c 300 "$T/out"))"
	else
		ok "vhost-user-frontend can '$*' exits $want saying '$pat'"
	fi
}
expect_tool 1 "expected <id>#<data>" "$T/none" 12#11
expect_tool 1 "expected <id>#<data>" "$T/none" 800#11
expect_tool 1 "expected <id>#<data>" "$T/none" 123#112233445566778899
expect_tool 1 "expected <id>#<data>" "$T/none" 123#R9
expect_tool 1 "expected <id>#<data>" "$T/none" 123##1112233445566778899
expect_tool 1 "expected a frame count" "$T/none" --dump x
expect_tool 0 "cansend" --help

mkdir -p "$T/bus"
python3 - "$T/bus" >"$T/bus.out" 2>&1 <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(60)    # a failure bound only: the tool's exit ends the test
s.bind(sys.argv[1] + "/fakecan0")
s.listen(1)
open(sys.argv[1] + "/ready", "w").close()
c, _ = s.accept()
c.settimeout(60)
for _ in range(3):
    f = c.recv(128)
    cid, n = struct.unpack_from("<IB", f)
    print("%d %08x %d %s" % (len(f), cid, n, f[8:8 + n].hex()), flush=True)
c.send(struct.pack("<IBBBB8s", 0x42, 2, 0, 0, 0, bytes([0xab, 0xcd])))
c.send(struct.pack("<IBBBB64s", 0x80000000 | 0x1234567, 12, 0, 0, 0, bytes(range(12))))
c.recv(128)     # end of file: STOP closed the controller's socket
print("eof", flush=True)
PY
bus=$!
i=0
while [ ! -e "$T/bus/ready" ] && [ $i -lt 1200 ]; do sleep 0.025; i=$((i + 1)); done
VHD_FAKECAN_BUS=$T/bus "$B/tests/integration/test-can-fakeif" -s "$T/c.sock" -d fakecan0 2>"$T/be.log" &
be=$!
"$F" can "$T/c.sock0" --timeout 30000 --dump 2 123#DEADBEEF 12345678#R3 \
	321##1001122334455667788990011 >"$T/out" 2>&1
st=$?
[ $st -eq 0 ] || kill $bus 2>/dev/null
wait $bus
kill $be 2>/dev/null
wait $be
if [ $st -eq 0 ] && grep -q "^042   \[2\]  AB CD$" "$T/out" &&
   grep -q "^01234567  \[12\]  00 01 02 03 04 05 06 07 08 09 0A 0B$" "$T/out"; then
	ok "vhost-user-frontend can --dump 2 prints the bus's classic and FD frames"
else
	bad "vhost-user-frontend can --dump 2 (status $st): $(cat "$T/out") $(cat "$T/be.log")"
fi
if grep -q "^16 00000123 4 deadbeef$" "$T/bus.out" && grep -q "^16 d2345678 3 000000$" "$T/bus.out" &&
   grep -q "^72 00000321 12 001122334455667788990011$" "$T/bus.out" && grep -q "^eof$" "$T/bus.out"; then
	ok "vhost-user-frontend can: classic, extended RTR and FD frames on the bus, then STOP"
else
	bad "vhost-user-frontend can: the bus saw: $(cat "$T/bus.out")"
fi

finish

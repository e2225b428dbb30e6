# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of tests/vm/i2c-stub.test: vhost-device-i2c on real kernel
# adapters, which the machines CI runs on lack and our guest kernel has.
# The backend (/vhd/bin/vhost-device-i2c) runs here and is driven by the
# frontend tool (/vhd/bin/vhost-user-frontend i2c) over a Unix socket; it
# serves two adapters at once:
#   - i2c-stub (the module, /vhd/bin/i2c-stub.ko): SMBus only, so every
#     transfer goes through the backend's SMBus mapping (I2C_SMBUS);
#   - the guest's own i2c-virtio adapter, a full I2C adapter (I2C_RDWR)
#     that QEMU connects to a second vhost-device-i2c on the host with a
#     simulated EEPROM.
# Parameters (from /vhd/params):
#   STUB_ADDR    7-bit address of the i2c-stub chip (0x..)
#   STUB_EMPTY   an address configured in the backend where no chip answers
#   VIRT_ADDR    the host EEPROM's address, reached through i2c-virtio
#   UNCONF_ADDR  an address the backend was not given
. /vhd/lib.sh

# Debian's i2c-tools are called by path: busybox sh runs its own applets of
# the same names (fewer modes) before searching PATH.
S=$STUB_ADDR
V=$VIRT_ADDR
SOCK=/tmp/i2c.sock
# Under a sanitized build: leaks are errors, as on the host.
export ASAN_OPTIONS=detect_leaks=1

# bus_named PATTERN: the number of the adapter whose sysfs name matches.
bus_named() {
	for d in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$d/name" ] || continue
		case $(cat "$d/name") in $1) echo "${d##*/i2c-}"; return 0 ;; esac
	done
	return 1
}

# All SMBus functions of i2c-stub (its STUB_FUNC_ALL): quick, byte, byte
# data, word data, SMBus block and I2C block.  Block data is off by default.
FUNC_ALL=0x0f7f0000
# The same without I2C block read/write: the backend must fall back to
# SMBus block transfers.
FUNC_NO_I2C_BLOCK=0x037f0000

insmod /vhd/bin/i2c-stub.ko chip_addr=$S functionality=$FUNC_ALL ||
	fail "insmod i2c-stub.ko failed"
stub=$(bus_named "SMBus stub driver") || fail "no i2c-stub adapter in sysfs after insmod"
i=0
until virt=$(bus_named "*virtio*"); do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no i2c_virtio adapter in /sys/bus/i2c/devices"
	sleep 0.1
done
wait_for /dev/i2c-$stub 10 || fail "no /dev/i2c-$stub for i2c-stub"
wait_for /dev/i2c-$virt 10 || fail "no /dev/i2c-$virt for i2c-virtio"
info "i2c-stub is i2c-$stub, i2c-virtio is i2c-$virt"

be_pid=""
# start_backend: vhost-device-i2c on both adapters, by adapter name for the
# stub (the name path of -l) and by number for i2c-virtio.
start_backend() {
	rm -f ${SOCK}0
	vhost-device-i2c -s $SOCK \
		-l "SMBus stub driver:$(($S)):$(($STUB_EMPTY)),$virt:$(($V))" \
		>/tmp/be.log 2>&1 &
	be_pid=$!
	wait_for ${SOCK}0 30 || fail "vhost-device-i2c made no socket: $(cat /tmp/be.log)"
}
stop_backend() {
	kill $be_pid
	wait $be_pid
	rc=$?
	# 143: SIGTERM's status; anything else (a sanitizer report) is a failure.
	[ $rc = 0 ] || [ $rc = 143 ] || fail "vhost-device-i2c exited $rc: $(cat /tmp/be.log)"
}

# xfer MSG...: one transfer through the backend; prints the reads.
xfer() {
	vhost-user-frontend i2c ${SOCK}0 --timeout 60000 "$@" 2>/tmp/xfer.err
}
expect() { [ "$2" = "$3" ] || fail "$1: got '$3', expected '$2'"; }
# refused WHAT MSG...: the transfer must fail (frontend exit status 2).
refused() {
	what=$1
	shift
	xfer "$@" >/tmp/out
	rc=$?
	[ $rc = 2 ] || fail "$what: expected the transfer to fail (exit 2), got exit $rc: $(cat /tmp/out /tmp/xfer.err)"
}

start_backend

# --- SMBus-only path: i2c-stub with every function ---------------------
xfer w0@$S || fail "quick write to the stub chip: $(cat /tmp/xfer.err)"
refused "quick write where no chip is" w0@$STUB_EMPTY
refused "an address the backend was not given" w1@$UNCONF_ADDR 0
xfer w2@$S 0x10 0xab || fail "byte-data write: $(cat /tmp/xfer.err)"
# What the backend wrote is on the adapter: i2c-tools on the same bus.
expect "i2cget (direct) after the byte-data write" 0xab "$(/vhd/bin/i2cget -y $stub $S 0x10)"
expect "byte-data read" 0xab "$(xfer w1@$S 0x10 r1@$S)"
xfer w3@$S 0x11 0x34 0x12 || fail "word-data write: $(cat /tmp/xfer.err)"
expect "i2cget (direct) word" 0x1234 "$(/vhd/bin/i2cget -y $stub $S 0x11 w)"
expect "word-data read" "0x34 0x12" "$(xfer w1@$S 0x11 r2@$S)"
xfer w5@$S 0x40 1 2 3 4 || fail "I2C block write: $(cat /tmp/xfer.err)"
expect "I2C block read" "0x01 0x02 0x03 0x04" "$(xfer w1@$S 0x40 r4@$S)"
# Send byte (sets the chip's pointer), then receive byte.
xfer w1@$S 0x41 || fail "send byte: $(cat /tmp/xfer.err)"
expect "receive byte" 0x02 "$(xfer r1@$S)"
# Three messages have no SMBus form: that transfer fails, alone.
refused "three messages on an SMBus-only adapter" w1@$S 0x40 r1@$S r1@$S
expect "byte-data read after the refusal" 0xab "$(xfer w1@$S 0x10 r1@$S)"
info "i2c-stub (all functions): quick, byte, byte data, word data, I2C block; refusals alone"

# --- SMBus block transfers: the stub without I2C block -----------------
stop_backend
echo $FUNC_NO_I2C_BLOCK >/sys/module/i2c_stub/parameters/functionality ||
	fail "cannot change i2c-stub's functionality"
/vhd/bin/i2cdetect -F $stub >/tmp/funcs
grep -iq "i2c block read.*no" /tmp/funcs || fail "i2c-stub still offers I2C block read: $(grep -i block /tmp/funcs | tr -s " ")"
start_backend
# Byte 1 is the count: an SMBus block write.
xfer w5@$S 0x60 3 0x0a 0x0b 0x0c || fail "SMBus block write: $(cat /tmp/xfer.err)"
expect "SMBus block read" "0x03 0x0a 0x0b 0x0c" "$(xfer w1@$S 0x60 r4@$S)"
expect "SMBus block read past the block" "0x03 0x0a 0x0b 0x0c 0xff 0xff" "$(xfer w1@$S 0x60 r6@$S)"
expect "i2cget (direct) SMBus block" "0x0a 0x0b 0x0c" \
	"$(/vhd/bin/i2cget -y $stub $S 0x60 s 2>&1 | tr '\n' ' ' | sed 's/ *$//')"
# A multi-byte write whose byte 1 is not a count has no SMBus form now.
refused "a 4-byte write without I2C block" w4@$S 0x70 9 9 9
info "i2c-stub (no I2C block): SMBus block write and read"

# --- I2C_RDWR path: i2c-virtio, a full I2C adapter ----------------------
xfer w3@$V 0x00 0xde 0xad || fail "write through i2c-virtio: $(cat /tmp/xfer.err)"
expect "write-then-read through i2c-virtio" "0xde 0xad" "$(xfer w1@$V 0x00 r2@$V)"
# Three messages: only one I2C_RDWR can carry them.
expect "three-message transfer through i2c-virtio" "$(printf '0xde\n0xad')" \
	"$(xfer w1@$V 0x00 r1@$V r1@$V)"
expect "i2ctransfer (direct) on i2c-virtio" "0xde 0xad" "$(/vhd/bin/i2ctransfer -y $virt w1@$V 0x00 r2)"
info "i2c-virtio: write, write-then-read, three messages in one I2C_RDWR"

stop_backend
pass "vhost-device-i2c on i2c-stub (SMBus mapping incl. block transfers) and i2c-virtio (I2C_RDWR), driven by the frontend tool"

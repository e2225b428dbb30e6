# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the I2C test: Debian's i2c-tools (in /vhd/bin) through the
# guest's i2c-virtio driver and i2c-dev.  Parameters (from /vhd/params):
#   I2C_EEPROM   7-bit address (0x..) of a simulated EEPROM on a full I2C bus
#   I2C_SMBUS    address of a simulated EEPROM on an SMBus-only bus
#   I2C_ABSENT   an address that was not configured
. /vhd/lib.sh
# Debian's tools are called by path: busybox sh runs its own applets of the
# same names (smaller, fewer modes) before searching PATH.

E=$I2C_EEPROM
S=$I2C_SMBUS
A=$I2C_ABSENT

# The virtio adapter: "i2c_virtio at virtio bus N" in sysfs.
bus=""
i=0
while [ -z "$bus" ]; do
	for d in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$d/name" ] || continue
		case $(cat "$d/name") in *virtio*) bus=${d##*/i2c-} ;; esac
	done
	[ -n "$bus" ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no i2c_virtio adapter in /sys/bus/i2c/devices ($(ls /sys/bus/i2c/devices 2>/dev/null | tr '\n' ' '))"
	sleep 0.1
done
wait_for /dev/i2c-$bus 10 || fail "no /dev/i2c-$bus for the virtio adapter"
info "virtio adapter: i2c-$bus ($(cat /sys/bus/i2c/devices/i2c-$bus/name))"
/vhd/bin/i2cdetect -F "$bus" | sed 's/^/VHD-GUEST-INFO: funcs: /' | grep -iE 'I2C |quick|byte|word|block' 

# expect WHAT WANT GOT
expect() { [ "$2" = "$3" ] || fail "$1: got '$3', expected '$2'"; }

# Probe with read-byte (i2cdetect -r): the configured devices answer,
# the absent address does not.
/vhd/bin/i2cdetect -y -r "$bus" >/tmp/detect 2>&1 || fail "i2cdetect failed: $(cat /tmp/detect)"
row() { grep "^$(printf '%02x' $(( $1 & 0x70 ))):" /tmp/detect; }
cell() { row "$1" | cut -c $(( 5 + ($1 & 15) * 3 ))-$(( 6 + ($1 & 15) * 3 )); }
expect "i2cdetect at $E" "$(printf '%02x' $E)" "$(cell $E)"
expect "i2cdetect at $S" "$(printf '%02x' $S)" "$(cell $S)"
expect "i2cdetect at $A" "--" "$(cell $A)"
info "i2cdetect -r: $E and $S answer, $A does not"

# xfer_sent N ARGS...: i2ctransfer ARGS must report that only N messages
# went through (the driver counts the messages before the first failure;
# i2ctransfer then warns "only N/M messages sent" and still exits 0).
xfer_sent() {
	want=$1
	shift
	/vhd/bin/i2ctransfer -y "$bus" "$@" >/tmp/out 2>&1
	grep -q "only $want/" /tmp/out || fail "i2ctransfer $*: expected only $want messages to go through, got: $(cat /tmp/out)"
}

# A zero-length write (SMBus QUICK) through i2ctransfer.
/vhd/bin/i2ctransfer -y "$bus" w0@$E >/tmp/out 2>&1 || fail "zero-length write to $E failed: $(cat /tmp/out)"
grep -q warning /tmp/out && fail "zero-length write to $E: $(cat /tmp/out)"
xfer_sent 0 w0@$A

for dev in $E $S; do
	# Byte data and word data (i2cset/i2cget: SMBus calls the kernel
	# emulates over I2C; on the SMBus-only bus the backend maps them back).
	/vhd/bin/i2cset -y "$bus" $dev 0x10 0xab || fail "i2cset $dev 0x10 0xab failed"
	expect "i2cget $dev 0x10" 0xab "$(/vhd/bin/i2cget -y "$bus" $dev 0x10)"
	/vhd/bin/i2cset -y "$bus" $dev 0x11 0x1234 w || fail "i2cset word to $dev failed"
	expect "i2cget $dev 0x11 w" 0x1234 "$(/vhd/bin/i2cget -y "$bus" $dev 0x11 w)"
	expect "i2cget $dev 0x10 w" 0x34ab "$(/vhd/bin/i2cget -y "$bus" $dev 0x10 w)"
	# Block transfers: write 8 bytes at 0x40, read them back as one
	# write-then-read transfer.
	/vhd/bin/i2ctransfer -y "$bus" w9@$dev 0x40 1 2 3 4 5 6 7 8 || fail "i2ctransfer block write to $dev failed"
	expect "i2ctransfer read 8 from $dev" "0x01 0x02 0x03 0x04 0x05 0x06 0x07 0x08" \
		"$(/vhd/bin/i2ctransfer -y "$bus" w1@$dev 0x40 r8)"
	info "device $dev: byte, word and block transfers read back"
done

# The absent address fails, and only its own transfer.
if /vhd/bin/i2cget -y "$bus" $A 0x00 >/tmp/out 2>&1; then fail "i2cget from absent $A succeeded: $(cat /tmp/out)"; fi
info "i2cget from absent $A: $(cat /tmp/out)"
expect "i2cget $E 0x10 after the failure" 0xab "$(/vhd/bin/i2cget -y "$bus" $E 0x10)"
# A transfer whose messages span the absent device fails as a whole
# (FAIL_NEXT), its first message included.
xfer_sent 0 w1@$E 0x40 r1@$A

pass "i2c-$bus: i2cdetect, i2cset, i2cget, i2ctransfer on $E (I2C) and $S (SMBus-only); $A absent"

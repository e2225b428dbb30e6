# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of input-pci.test: two virtio input devices made from evemu
# recordings, seen through the guest's virtio_input driver with Debian's
# evtest (in /vhd/bin) and input-tool (guest/input-tool.c).  Parameters:
#   KB_NAME   the keyboard's name     TB_NAME   the pointer's name
. /vhd/lib.sh

# find NAME: the event device of that name (the driver may still probe).
find() {
	i=0
	while ! input-tool find "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 300 ] && fail "no event device named '$1' ($(cat /proc/bus/input/devices | grep Name= | tr '\n' ' '))"
		sleep 0.1
	done
}
kb=$(find "$KB_NAME") || exit 0
tb=$(find "$TB_NAME") || exit 0
info "keyboard $kb, pointer $tb"

# describe DEV FILE: evtest's description of DEV (it prints it, then
# "Testing ..." and waits for events: stopped once that line is there).
describe() {
	evtest "$1" >"$2" 2>&1 &
	pid=$!
	i=0
	while ! grep -q "^Testing" "$2"; do
		i=$((i + 1))
		[ $i -gt 300 ] && { kill $pid; fail "evtest $1 printed no description: $(cat "$2")"; }
		sleep 0.1
	done
	kill $pid
	wait $pid 2>/dev/null
}
has() { grep -Eq "$2" "$1" || fail "$3: not in evtest's description: $(tr '\n' '|' <"$1")"; }
lacks() { grep -Eq "$2" "$1" && fail "$3: in evtest's description"; }

describe "$kb" /tmp/kb
has /tmp/kb 'bus 0x11 vendor 0x1 product 0x1 version 0xab41' "keyboard ids"
has /tmp/kb 'Event code 1 \(KEY_ESC\)' KEY_ESC
has /tmp/kb 'Event code 28 \(KEY_ENTER\)' KEY_ENTER
has /tmp/kb 'Event code 30 \(KEY_A\)' KEY_A
has /tmp/kb 'Event code 58 \(KEY_CAPSLOCK\)' KEY_CAPSLOCK
lacks /tmp/kb 'Event code 48 \(KEY_B\)' KEY_B
has /tmp/kb 'Event code 1 \(LED_CAPSL\)' LED_CAPSL
has /tmp/kb 'Event code 4 \(MSC_SCAN\)' MSC_SCAN
has /tmp/kb 'Repeat type 20 \(EV_REP\)' EV_REP
info "keyboard: ids, keys, LEDs, MSC_SCAN and autorepeat as recorded"

describe "$tb" /tmp/tb
has /tmp/tb 'Property type 0 \(INPUT_PROP_POINTER\)' INPUT_PROP_POINTER
has /tmp/tb 'Event code 272 \(BTN_LEFT\)' BTN_LEFT
has /tmp/tb 'Event code 330 \(BTN_TOUCH\)' BTN_TOUCH
tr '\n' ' ' </tmp/tb >/tmp/tb1
has /tmp/tb1 'Event code 0 \(ABS_X\) +Value +[-0-9]+ +Min +0 +Max +32767 +Resolution +12' "ABS_X 0..32767, resolution 12"
has /tmp/tb1 'Event code 1 \(ABS_Y\) +Value +[-0-9]+ +Min +-100 +Max +4095 +Fuzz +4 +Flat +8' "ABS_Y -100..4095, fuzz 4, flat 8"
info "pointer: property, buttons, axis ranges as recorded"

# The replayed events: the keyboard's recording ends with KEY_A held
# (evtest --query exits 10 when the key is down), the pointer's with ABS_X
# at 16384 and ABS_Y at -50.
i=0
while true; do
	evtest --query "$kb" EV_KEY KEY_A
	[ $? -eq 10 ] && break
	i=$((i + 1))
	[ $i -gt 600 ] && fail "KEY_A never went down: the recording's events did not arrive"
	sleep 0.1
done
i=0
while true; do
	describe "$tb" /tmp/tb
	tr '\n' ' ' </tmp/tb | grep -Eq 'ABS_X\) +Value +16384' && break
	i=$((i + 1))
	[ $i -gt 100 ] && fail "ABS_X never reached 16384: $(tr '\n' ' ' </tmp/tb)"
	sleep 0.5
done
info "events: KEY_A down, ABS_X 16384 (replayed)"

# An LED from the guest: the status queue carries it to the backend.
input-tool led "$kb" 1 1 || fail "could not set LED_CAPSL on $kb"
host_step led
pass "keyboard and pointer described as recorded, events replayed, LED_CAPSL reached the backend"

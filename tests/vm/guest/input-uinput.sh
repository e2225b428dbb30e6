# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of input-uinput.test: /vhd/bin/vhost-device-input on a uinput
# keyboard made by input-tool, driven by /vhd/bin/vhost-user-frontend input
# (the frontend tool plays the backend's guest).  Parameters:
#   UI_NAME   the uinput device's name
. /vhd/lib.sh

mkfifo /tmp/ctl || fail "mkfifo"
input-tool uinput "$UI_NAME" </tmp/ctl >/tmp/u.out 2>&1 &
upid=$!
# Hold the fifo open: input-tool reads commands until we close it.
exec 3>/tmp/ctl
i=0
while ! grep -q '^DEV ' /tmp/u.out; do
	i=$((i + 1))
	[ $i -gt 300 ] && fail "input-tool made no uinput device: $(cat /tmp/u.out)"
	sleep 0.1
done
dev=$(sed -n 's/^DEV //p' /tmp/u.out)
info "uinput keyboard: $dev"

# (3>&-: the fifo stays open in this shell only, or input-tool never sees
# its end.)
vhost-device-input -s /tmp/in.sock -e "$dev" --grab -v 2>/tmp/be.log 3>&- &
bpid=$!
wait_for /tmp/in.sock0 30 || fail "the backend made no socket: $(cat /tmp/be.log)"
# The backend holds the device open: the kernel keeps these events for it
# until the frontend connects.
echo press >&3
vhost-user-frontend input /tmp/in.sock0 --status 17:1:1 --events 4 --timeout 60000 \
	>/tmp/fe.out 2>&1 3>&- &
fpid=$!
echo "led 1 1" >&3
wait $fpid
rc=$?
sed 's/^/VHD-GUEST-INFO: frontend: /' /tmp/fe.out
[ $rc -eq 0 ] || fail "vhost-user-frontend input failed (exit $rc); backend: $(tr '\n' '|' </tmp/be.log)"
exec 3>&-
wait $upid
rc=$?
sed 's/^/VHD-GUEST-INFO: uinput: /' /tmp/u.out
[ $rc -eq 0 ] || fail "the LED never reached the uinput device; backend: $(tr '\n' '|' </tmp/be.log)"
grep -q '^LED 1 1$' /tmp/u.out || fail "input-tool did not see LED_CAPSL on"

expect() { grep -qx "$1" /tmp/fe.out || fail "frontend output lacks '$1'"; }
expect "name: $UI_NAME"
expect "ids: bus 0x0006 vendor 0x1234 product 0x5678 version 0x0000"
expect "type 1: 28 30"
expect "type 17: 0 1"
[ "$(grep '^event' /tmp/fe.out | tr '\n' '|')" = "event 1 30 1|event 0 0 0|event 1 30 0|event 0 0 0|" ] ||
	fail "events: $(grep '^event' /tmp/fe.out | tr '\n' '|')"

kill $bpid
wait $bpid
rc=$?
[ $rc -eq 0 ] || fail "the backend ended with $rc on SIGTERM: $(tr '\n' '|' </tmp/be.log)"
[ -e /tmp/in.sock0 ] && fail "the backend left its socket"
pass "evdev (uinput) keyboard: config space, a key press and release as two reports, LED_CAPSL written back"

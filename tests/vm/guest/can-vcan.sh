# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of tests/vm/can-vcan.test: vhost-device-can needs SocketCAN
# interfaces, which the machines CI runs on lack and our guest kernel has
# (CONFIG_CAN_VCAN, CONFIG_CAN_RAW).  So the whole integration test runs
# here: busybox's ip creates vcan0 and vcan1, then /vhd/bin/test-can starts
# /vhd/bin/vhost-device-can -c 2 -d "vcan0 vcan1", plays its virtio guests
# over vhost-user and is the other end of both buses.  A skip is a failure.
# Parameters (from /vhd/params): CAN_TIMEOUT seconds for the whole run.
. /vhd/lib.sh

# busybox's ip creates links over netlink, but sets them up with an
# AF_INET ioctl socket, and this kernel has no INET: test-can brings them
# up itself (SIOCSIFFLAGS on an AF_UNIX socket).
for i in vcan0 vcan1; do
	ip link add dev $i type vcan || fail "ip link add dev $i type vcan failed"
done
info "$(ip -o link show type vcan 2>/dev/null || ip -o link show | grep vcan)"

export VHD_BUILDDIR=/vhd/bin
# Under a sanitized build: leaks are errors, as on the host.
export ASAN_OPTIONS=detect_leaks=1
info "running test-can (the backend and the bus peers inside this guest)"
timeout "${CAN_TIMEOUT:-400}" test-can >/tmp/can.log 2>&1
rc=$?
sed 's/^/VHD-GUEST-INFO: /' /tmp/can.log
case $rc in
0) ;;
77) fail "test-can skipped: vcan0/vcan1 missing" ;;
124|143) fail "test-can did not finish within ${CAN_TIMEOUT:-400} s" ;;
*) fail "test-can failed (exit $rc): see the lines above" ;;
esac
grep -q 'PASSED  \] 13 test' /tmp/can.log ||
	fail "test-can exited 0 without 13 passed tests"
pass "CAN on vcan: classic/FD/RTR both ways, no echo, malformed frames refused, LATE_TX_ACK, bus-off on link down, link deleted and on an error frame, two sockets"

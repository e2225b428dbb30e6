# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of tests/vm/vsock-forward.test: the AF_VSOCK host backend
# (--forward-cid / --forward-listen) needs vsock loopback (CID 1), which
# the machines CI runs on lack and our guest kernel has.  So the whole
# integration test runs here: /vhd/bin/test-vsock-forward starts
# /vhd/bin/vhost-device-vsock --forward-cid 1, plays its virtio guest over
# vhost-user, and puts the AF_VSOCK peers on CID 1.  A skip is a failure.
# Parameters (from /vhd/params): FWD_TIMEOUT seconds for the whole run.
. /vhd/lib.sh

export VHD_BUILDDIR=/vhd/bin
# Under a sanitized build: leaks are errors, as on the host.
export ASAN_OPTIONS=detect_leaks=1
info "running test-vsock-forward (the backend and its peers inside this guest)"
timeout "${FWD_TIMEOUT:-400}" test-vsock-forward >/tmp/fwd.log 2>&1
rc=$?
sed 's/^/VHD-GUEST-INFO: /' /tmp/fwd.log
case $rc in
0) ;;
77) fail "test-vsock-forward skipped: no AF_VSOCK loopback in this kernel (CONFIG_VSOCKETS_LOOPBACK)" ;;
124|143) fail "test-vsock-forward did not finish within ${FWD_TIMEOUT:-400} s" ;;
*) fail "test-vsock-forward failed (exit $rc): see the lines above" ;;
esac
grep -q 'PASSED  \] 3 test' /tmp/fwd.log ||
	fail "test-vsock-forward exited 0 without 3 passed tests"
pass "AF_VSOCK backend: guest->host and host->guest (2 listen ports), 4 MiB each way with checksums, RST on refused connect"

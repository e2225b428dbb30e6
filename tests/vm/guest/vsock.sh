# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the vsock tests: the guest's virtio_vsock driver talks
# AF_VSOCK through vhost-device-vsock to Unix sockets on the host, with
# the static helper /vhd/bin/vsock-tool.  Parameters (from /vhd/params):
#   VSOCK_STEPS   space-separated steps, run in order:
#                   cid:N              the guest's CID must be N (from the
#                                      device's config space)
#                   refused:PORT       a connect to host port PORT, where
#                                      nobody listens, is refused at once
#                   send:PORT:BYTES    send BYTES to host port PORT; the host
#                                      confirms count and CRC
#                   recv:PORT:TAG      listen on PORT, let the host do step
#                                      TAG (connect with CONNECT PORT and send
#                                      data), check count and CRC
#                   seq:PORT:S1,S2,..  SEQPACKET messages of sizes S1.. to
#                                      host port PORT, each echoed whole
#                   host:TAG           let the host do step TAG
#                   feature:B          the vsock device negotiated feature
#                                      bit B
#                   bg-send:PORT:BYTES like send, in the background (a
#                                      transfer in flight during host steps)
#                   bg-wait            wait for the bg-send, check its result
#                   rebind             unbind the guest's vsock driver and
#                                      bind it again (a virtio reset), wait
#                                      for the transport to come back
. /vhd/lib.sh

tool() {
	out=$(vsock-tool "$@" 2>&1)
	rc=$?
	info "$out"
	[ $rc -eq 0 ] || fail "vsock-tool $*: ${out#vsock-tool: FAIL }"
}

wait_vsock() {
	wait_for /dev/vsock 60 || fail "no /dev/vsock: the virtio_vsock driver did not bind (virtio devices: $(ls /sys/bus/virtio/devices 2>/dev/null))"
	# The transport registers once the device is probed.
	i=0
	while ! cid=$(vsock-tool cid 2>/dev/null); do
		i=$((i + 1))
		[ $i -gt 600 ] && fail "no vsock transport: $(vsock-tool cid 2>&1)"
		sleep 0.1
	done
}

wait_vsock
done_steps=""
for step in $VSOCK_STEPS; do
	case $step in
	feature:*)
		check_feature 0x0013 "${step#feature:}"
		;;
	cid:*)
		want=${step#cid:}
		cid=$(vsock-tool cid 2>&1)
		[ "$cid" = "$want" ] || fail "the guest's CID is '$cid', the device should report $want"
		info "guest CID $cid"
		;;
	refused:*)
		tool refused 2 "${step#refused:}"
		;;
	send:*)
		rest=${step#send:}
		tool send 2 "${rest%%:*}" "${rest#*:}"
		;;
	recv:*)
		rest=${step#recv:}
		port=${rest%%:*}
		tag=${rest#*:}
		rm -f /tmp/recv.out
		vsock-tool recv "$port" >/tmp/recv.out 2>&1 &
		pid=$!
		i=0
		while ! grep -q listening /tmp/recv.out 2>/dev/null; do
			i=$((i + 1))
			[ $i -gt 600 ] && fail "vsock-tool recv did not start: $(cat /tmp/recv.out)"
			sleep 0.1
		done
		host_step "$tag"
		wait $pid
		rc=$?
		info "$(grep -v listening /tmp/recv.out)"
		[ $rc -eq 0 ] || fail "vsock-tool recv $port: $(grep FAIL /tmp/recv.out)"
		;;
	seq:*)
		rest=${step#seq:}
		# shellcheck disable=SC2046
		tool seq 2 "${rest%%:*}" $(echo "${rest#*:}" | tr ',' ' ')
		;;
	host:*)
		host_step "${step#host:}"
		;;
	bg-send:*)
		rest=${step#bg-send:}
		vsock-tool send 2 "${rest%%:*}" "${rest#*:}" >/tmp/bg.out 2>&1 &
		bg_pid=$!
		;;
	bg-wait)
		[ -n "${bg_pid:-}" ] || fail "bg-wait without a bg-send"
		wait "$bg_pid"
		rc=$?
		bg_pid=
		info "$(cat /tmp/bg.out)"
		[ $rc -eq 0 ] || fail "background vsock-tool send: $(sed 's/^vsock-tool: FAIL //' /tmp/bg.out)"
		;;
	rebind)
		# The driver is vmw_vsock_virtio_transport.
		dev=
		for d in /sys/bus/virtio/drivers/*vsock*/virtio*; do
			[ -e "$d" ] && dev=${d##*/} && drv=${d%/*} && break
		done
		[ -n "$dev" ] || fail "no device bound to a vsock driver ($(ls /sys/bus/virtio/drivers))"
		before=$(vsock-tool cid 2>&1)
		echo "$dev" >"$drv/unbind" || fail "unbinding $dev from ${drv##*/} failed"
		now=$(vsock-tool cid 2>&1)
		[ "$now" != "$before" ] || fail "after unbinding $dev the guest's CID is still $now"
		echo "$dev" >"$drv/bind" || fail "binding $dev to ${drv##*/} again failed"
		i=0
		while [ "$(vsock-tool cid 2>&1)" != "$before" ]; do
			i=$((i + 1))
			[ $i -gt 600 ] && fail "after binding $dev again the guest's CID is '$(vsock-tool cid 2>&1)', not $before"
			sleep 0.1
		done
		info "rebound $dev to ${drv##*/} (a virtio reset of the device); CID $before, '$now' while unbound"
		;;
	*)
		fail "unknown step '$step'"
		;;
	esac
	done_steps="$done_steps $step"
done
pass "vsock:$done_steps"

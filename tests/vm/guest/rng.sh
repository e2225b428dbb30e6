# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the RNG tests.  Parameters (from /vhd/params):
#   RNG_STEPS     space-separated steps, run in order:
#                   check        virtio_rng must be the current hwrng
#                   read:N       read N bytes (multiple of 4096) from /dev/hwrng
#                                and check them (count, not constant, not
#                                compressible)
#                   rebind       unbind the virtio_rng driver, check the hwrng
#                                goes away, bind it again, check it is back
#                   host:TAG     let the host do step TAG (QMP stop/cont, ...)
#                   feature:B    the rng device negotiated feature bit B
#                   bg-read      keep a reader running in the background
#                                (requests in flight when the host pulls the plug)
#   RNG_TIMEOUT   seconds allowed for each read (default 60)
#   RNG_STALL     a read fails after this many seconds without data (default 30:
#                 on a busy host a slow guest is not a stalled device)
#   RNG_MIN_GZIP_PCT  gzip must not shrink the data below this (default 95)
. /vhd/lib.sh

RNG_TIMEOUT=${RNG_TIMEOUT:-60}
RNG_STALL=${RNG_STALL:-30}
RNG_MIN_GZIP_PCT=${RNG_MIN_GZIP_PCT:-95}
HWRNG=/sys/class/misc/hw_random
total=0

rng_current() { cat $HWRNG/rng_current 2>/dev/null; }

# virtio_devices: "virtio0(device id 0x0004) ..." -- what the guest found on the bus.
virtio_devices() {
	for d in /sys/bus/virtio/devices/*; do
		[ -e "$d" ] && printf '%s(device id %s) ' "${d##*/}" "$(cat "$d/device")"
	done
}

check_current() {
	wait_for $HWRNG/rng_current 60 ||
		fail "no $HWRNG/rng_current: the hwrng core has no device (virtio devices: $(virtio_devices))"
	# The driver registers asynchronously after probe: wait for it (60 s
	# is only the failure bound).
	i=0
	while :; do
		cur=$(rng_current)
		case $cur in virtio_rng*) break ;; esac
		i=$((i + 1))
		[ $i -gt 600 ] &&
			fail "current hwrng is '$cur', not virtio_rng (available: '$(cat $HWRNG/rng_available 2>/dev/null)'; virtio devices: $(virtio_devices))"
		sleep 0.1
	done
	info "current hwrng: $cur (available: $(cat $HWRNG/rng_available))"
}

read_bytes() {
	want=$1
	cur=$(rng_current)
	rm -f /tmp/rng /tmp/rng-watch
	: >/tmp/rng
	irq0=$(virtio_irqs)
	t0=$(uptime_cs)
	dd if=/dev/hwrng of=/tmp/rng bs=4096 count=$((want / 4096)) \
		iflag=fullblock 2>/tmp/dd.err &
	dd_pid=$!
	# Watchdog: end the read when no byte arrived for RNG_STALL seconds
	# (a stalled device fails in seconds, not at the overall limit).
	(
		last=-1 still=0 n=0
		while sleep 0.5; do
			sz=$(wc -c </tmp/rng)
			if [ "$sz" = "$last" ]; then still=$((still + 1)); else still=0 last=$sz; fi
			n=$((n + 1))
			if [ $still -ge $((RNG_STALL * 2)) ]; then
				echo "no data arrived for ${RNG_STALL}s" >/tmp/rng-watch
			elif [ $n -ge $((RNG_TIMEOUT * 2)) ]; then
				echo "the read took longer than ${RNG_TIMEOUT}s" >/tmp/rng-watch
			else
				continue
			fi
			kill -9 $dd_pid
			exit 0
		done
	) &
	wd_pid=$!
	wait $dd_pid
	rc=$?
	t1=$(uptime_cs)
	kill $wd_pid 2>/dev/null
	wait $wd_pid 2>/dev/null
	irq1=$(virtio_irqs)
	got=$(wc -c </tmp/rng)
	cs=$((t1 - t0))
	[ $cs -gt 0 ] || cs=1
	secs="$((cs / 100)).$((cs % 100 / 10))$((cs % 10))"
	if [ "$got" -lt "$want" ]; then
		why=$(cat /tmp/rng-watch 2>/dev/null || echo "dd ended with status $rc")
		irqs="virtio interrupts: $((irq1 - irq0)) during the read, $irq1 since boot"
		if [ "$got" = 0 ]; then
			irqs="$irqs (no byte at all: the device never completed the driver's buffer, or completed it with used length 0, after which this driver posts no new buffer and waits forever; the backend log at debug level tells which)"
		fi
		[ -s /tmp/dd.err ] && info "dd: $(tr '\n' ' ' </tmp/dd.err)"
		fail "read only $got of $want bytes from /dev/hwrng ($cur) in ${secs}s: $why; $irqs"
	fi
	distinct=$(od -An -v -tu1 -N4096 /tmp/rng | tr -s ' ' '\n' | grep -v '^$' | sort -un | wc -l)
	if [ "$distinct" -lt 2 ]; then
		fail "the $got bytes read from /dev/hwrng are constant: first bytes $(hexdump -v -n 16 -e '16/1 "%02x"' /tmp/rng)"
	fi
	gz=$(gzip -c /tmp/rng | wc -c)
	pct=$((gz * 100 / got))
	if [ $pct -lt "$RNG_MIN_GZIP_PCT" ]; then
		fail "the $got bytes read from /dev/hwrng gzip to $pct% of their size (want >= $RNG_MIN_GZIP_PCT%): repeated or patterned data, first bytes $(hexdump -v -n 32 -e '32/1 "%02x"' /tmp/rng)"
	fi
	info "read $got bytes from $cur in ${secs}s ($((got * 100 / cs / 1024)) KiB/s), $distinct distinct byte values in the first 4 KiB, gzip -> $pct%"
	hexdump -C -n 64 /tmp/rng | head -n 4 | sed 's/^/VHD-GUEST-INFO:   /'
	total=$((total + got))
}

rebind() {
	dev=
	for d in /sys/bus/virtio/drivers/virtio_rng/virtio*; do
		[ -e "$d" ] && dev=${d##*/} && break
	done
	[ -n "$dev" ] || fail "no device bound to the virtio_rng driver"
	echo "$dev" >/sys/bus/virtio/drivers/virtio_rng/unbind ||
		fail "unbinding $dev from virtio_rng failed"
	cur=$(rng_current)
	case $cur in virtio_rng*) fail "after unbinding $dev the current hwrng is still '$cur'" ;; esac
	info "unbound $dev (current hwrng now '$cur')"
	echo "$dev" >/sys/bus/virtio/drivers/virtio_rng/bind ||
		fail "binding $dev to virtio_rng again failed"
	check_current
	info "bound $dev again"
}

for step in $RNG_STEPS; do
	case $step in
	check) check_current ;;
	read:*) read_bytes "${step#read:}" ;;
	rebind) rebind ;;
	feature:*) check_feature 0x0004 "${step#feature:}" ;;
	host:*) host_step "${step#host:}"; info "host step '${step#host:}' done" ;;
	bg-read)
		dd if=/dev/hwrng of=/dev/null bs=4096 2>/dev/null &
		info "background reader running (pid $!)" ;;
	*) fail "unknown step '$step' in RNG_STEPS" ;;
	esac
done
pass "read $total bytes from $(rng_current) (steps: $RNG_STEPS)"

# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the SCMI test (arm64 guest; the SCMI node is in the device
# tree, vhdvm.py scmi_dtb).  Parameters (from /vhd/params):
#   SCMI_FAKE   space-separated names of the backend's fake accelerometers:
#               the IIO devices of the guest must be exactly these (empty:
#               the guest must have no IIO device at all)
#   SCMI_READS  rounds of reading every axis of every fake sensor (default 20)
#   SCMI_IIO_NAME   the name of the backend's iio sensor (an accelerometer
#               over a fake sysfs tree on the host), if it has one
#   SCMI_IIO_WANT   its X,Y,Z in 10^-3 m/s^2, as the host's tree gives them
#   SCMI_IIO_WANT2  the same after the host step "iio-change", in which the
#               host writes new _raw values into its tree
# A fake accelerometer's k-th reading (k = 0, 1, ... counted per sensor by
# the backend, vhost-device-scmi(8)) is X = k, Y = 1000 + k, Z = 2000 + k
# (raw, unit 10^-3 m/s^2).  Each read of an in_accel_*_raw file is one
# SCMI SENSOR_READING_GET of all three axes (Linux's iio-scmi), so k must
# grow from each read to the next of the same sensor, whichever axis is
# read: by one, or by more when the backend also took readings for the
# continuous-update notifications iio-scmi asks for (they are sampled
# while the sensor is enabled, which it is during each read).
. /vhd/lib.sh

SCMI_READS=${SCMI_READS:-20}
SCMI_DEV=/sys/bus/platform/devices/firmware:scmi

# The SCMI platform driver binds (driver link) only after its probe has
# created every protocol device, whose drivers (scmi-hwmon, iio-scmi) probe
# synchronously as they are created: once it is there, the sensor list is
# final.  60 s is a failure bound only.
wait_for $SCMI_DEV 60 ||
	fail "no $SCMI_DEV: the device tree has no arm,scmi-virtio node"
wait_for $SCMI_DEV/driver 60 || {
	dmesg | grep -i scmi | tail -n 20 | sed 's/^/VHD-GUEST-INFO: dmesg: /'
	fail "the SCMI driver did not bind to $SCMI_DEV within 60 s (virtio devices: $(ls /sys/bus/virtio/devices))"
}
dmesg | grep -i 'scmi' | sed 's/^/VHD-GUEST-INFO: dmesg: /'
info "scmi protocol devices: $(ls /sys/bus/scmi_protocol/devices 2>/dev/null | tr '\n' ' ')"

# The IIO devices and their names.
found=""
for d in /sys/bus/iio/devices/iio:device*; do
	[ -e "$d/name" ] || continue
	found="$found $(cat "$d/name")"
done
found=$(echo $found | tr ' ' '\n' | sort | tr '\n' ' ')
want=$(echo $SCMI_FAKE $SCMI_IIO_NAME | tr ' ' '\n' | sort | tr '\n' ' ')
info "IIO devices: '$found' (expected '$want')"
[ "$found" = "$want" ] ||
	fail "the guest's IIO devices are '$found', the backend serves '$want'"
[ -n "$SCMI_FAKE$SCMI_IIO_NAME" ] || pass "no sensors served, none in the guest"

# iio_dir NAME: the IIO device of that name.
iio_dir() {
	for d in /sys/bus/iio/devices/iio:device*; do
		[ "$(cat "$d/name")" = "$1" ] && { echo "$d"; return 0; }
	done
	return 1
}

for n in $SCMI_FAKE; do
	d=$(iio_dir "$n")
	for a in x y z; do
		[ -r "$d/in_accel_${a}_raw" ] ||
			fail "$n ($d): no in_accel_${a}_raw (has: $(ls "$d" | tr '\n' ' '))"
	done
	info "$n: $d, scale $(cat "$d/in_accel_x_scale" 2>/dev/null || echo none)"
	eval "last_$(echo "$n" | tr -c 'A-Za-z0-9\n' _)="
done

# Rounds: every sensor, every axis, interleaved across the sensors (their
# counters are independent).
total=0
skipped=0
r=0
while [ $r -lt "$SCMI_READS" ]; do
	for n in $SCMI_FAKE; do
		d=$(iio_dir "$n")
		var=last_$(echo "$n" | tr -c 'A-Za-z0-9\n' _)
		off=0
		for a in x y z; do
			v=$(cat "$d/in_accel_${a}_raw") ||
				fail "$n: reading in_accel_${a}_raw failed (round $r)"
			case $v in
			'' | *[!0-9-]*) fail "$n: in_accel_${a}_raw read '$v' (round $r)" ;;
			esac
			k=$((v - off))
			eval "last=\$$var"
			if [ -n "$last" ] && [ "$k" -le "$last" ]; then
				fail "$n: in_accel_${a}_raw = $v (reading $k) after reading $last: the backend's fake gives X = k, Y = 1000 + k, Z = 2000 + k, k growing with each reading"
			fi
			[ -n "$last" ] && skipped=$((skipped + k - last - 1))
			[ $r = 0 ] && [ $a = x ] && info "$n: first reading X = $v"
			eval "$var=$k"
			off=$((off + 1000))
			total=$((total + 1))
		done
	done
	r=$((r + 1))
done
for n in $SCMI_FAKE; do
	eval "info \"$n: last reading k = \$last_$(echo "$n" | tr -c 'A-Za-z0-9\n' _)\""
done
info "readings the backend took between the guest's (notification samples): $skipped"
summary="$total readings of $(echo $SCMI_FAKE | wc -w) fake SCMI sensors ($SCMI_FAKE) in sequence"
[ -n "$SCMI_IIO_NAME" ] || pass "$summary"

# iio_check WANT: the iio sensor's axes, in 10^-3 m/s^2 (raw times the
# guest's in_accel_<axis>_scale, which the SCMI axis's exponent gives),
# must be WANT (x,y,z).
iio_check() {
	d=$(iio_dir "$SCMI_IIO_NAME")
	got=""
	for a in x y z; do
		scale=$(cat "$d/in_accel_${a}_scale") ||
			fail "$SCMI_IIO_NAME: no in_accel_${a}_scale"
		v=$(cat "$d/in_accel_${a}_raw") ||
			fail "$SCMI_IIO_NAME: reading in_accel_${a}_raw failed"
		m=$(awk -v v="$v" -v s="$scale" 'BEGIN { x = v * s * 1000; printf "%d", x < 0 ? x - 0.5 : x + 0.5 }')
		got="$got${got:+,}$m"
		info "$SCMI_IIO_NAME: in_accel_${a}_raw $v x scale $scale = $m mm/s^2"
	done
	[ "$got" = "$1" ] ||
		fail "$SCMI_IIO_NAME: the guest reads $got (10^-3 m/s^2), the host's IIO tree gives $1"
}
iio_check "$SCMI_IIO_WANT"
host_step iio-change
iio_check "$SCMI_IIO_WANT2"
pass "$summary; the iio sensor $SCMI_IIO_NAME read $SCMI_IIO_WANT, then $SCMI_IIO_WANT2 after the host changed it"

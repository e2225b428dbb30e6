# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of tests/vm/gpio-sim.test: vhost-device-gpio (in /vhd/bin) on
# a gpio-sim chip made through configfs, its virtio guest played by
# vhost-user-frontend gpio.  Parameters (from /vhd/params):
#   SIM_TIMEOUT  seconds: the bound of every wait (a failure bound only)
#   GPIO_BACKEND_ARGS  more backend options (e.g. -v -v)
. /vhd/lib.sh

T=${SIM_TIMEOUT:-120}
export ASAN_OPTIONS=detect_leaks=1
expect() { [ "$2" = "$3" ] || fail "$1: got '$3', expected '$2'"; }

# wait_value FILE WANT: until FILE reads WANT (bounded by $T).
wait_value() {
	i=0
	while [ "$(cat "$1" 2>/dev/null)" != "$2" ]; do
		i=$((i + 1))
		[ $i -gt $((T * 10)) ] && fail "$1 is '$(cat "$1" 2>/dev/null)', expected '$2' after $T s"
		sleep 0.1
	done
}
# wait_line FILE TEXT: until FILE has a line TEXT.
wait_line() {
	i=0
	while ! grep -qx "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((T * 10)) ] && fail "no line '$2' in $1 after $T s: $(cat "$1")"
		sleep 0.1
	done
}

# A gpio-sim chip of 8 lines named pin0..pin7, labelled vhd-sim.
grep -q configfs /proc/mounts || mount -t configfs none /sys/kernel/config ||
	fail "cannot mount configfs"
cfg=/sys/kernel/config/gpio-sim/vhd
mkdir "$cfg" "$cfg/bank0" || fail "no gpio-sim in configfs (CONFIG_GPIO_SIM)"
echo 8 >"$cfg/bank0/num_lines"
echo vhd-sim >"$cfg/bank0/label"
n=0
while [ $n -lt 8 ]; do
	mkdir "$cfg/bank0/line$n"
	echo "pin$n" >"$cfg/bank0/line$n/name"
	n=$((n + 1))
done
echo 1 >"$cfg/live" || fail "gpio-sim chip did not go live"
chip=$(cat "$cfg/bank0/chip_name")
sim=/sys/devices/platform/$(cat "$cfg/dev_name")/$chip
wait_for "/dev/$chip" "$T" || fail "no /dev/$chip"
info "gpio-sim: /dev/$chip, label vhd-sim, pins in $sim"

F="vhost-user-frontend gpio /tmp/g.sock0 --timeout $((T * 1000))"
backend() {
	vhost-device-gpio -s /tmp/g.sock -l "$1" $GPIO_BACKEND_ARGS 2>/tmp/backend.log &
	bpid=$!
	wait_for /tmp/g.sock0 "$T" || fail "backend on $1 made no socket: $(cat /tmp/backend.log)"
}
stop_backend() {
	kill $bpid
	wait $bpid || fail "backend on $1 exited with $? on SIGTERM: $(cat /tmp/backend.log)"
}

backend "/dev/$chip"
# Names come from the chip.
$F info >/tmp/info 2>&1 || fail "info: $(cat /tmp/info)"
expect "line count" "8 lines" "$(head -n 1 /tmp/info)"
n=0
while [ $n -lt 8 ]; do
	grep -qx "line $n: \"pin$n\" none" /tmp/info || fail "line $n: $(cat /tmp/info)"
	n=$((n + 1))
done
info "names pin0..pin7 from the chip"

# Values the driver sets appear on the pins while the session holds them;
# the end of the session releases the line (gpio-sim then shows the pull).
mkfifo /tmp/hold
$F set 2=1 hold </tmp/hold >/tmp/set.out 2>&1 &
fpid=$!
exec 3>/tmp/hold
wait_value "$sim/sim_gpio2/value" 1
exec 3>&-
wait $fpid || fail "set 2=1: $(cat /tmp/set.out)"
wait_value "$sim/sim_gpio2/value" 0
$F set 5=1 set 5=0 hold </tmp/hold >/tmp/set.out 2>&1 &
fpid=$!
exec 3>/tmp/hold
# 5 was driven high, then low: low now, and not released yet.
wait_value "$sim/sim_gpio5/value" 0
exec 3>&-
wait $fpid || fail "set 5: $(cat /tmp/set.out)"
info "set: the pins follow the driver's values"

# Pulls are read back.
echo pull-up >"$sim/sim_gpio4/pull"
expect "get 4 after pull-up" 1 "$($F get 4 2>&1)"
echo pull-down >"$sim/sim_gpio4/pull"
expect "get 4 after pull-down" 0 "$($F get 4 2>&1)"
info "get: the driver reads the pulls"

# irq_thread_ready PID: the kernel's thread for the line's event interrupt
# ("irq/N-vhu-gpio", the consumer name, cut to 15 characters) has started and sleeps waiting for
# interrupts.  An interrupt that comes before the thread first ran can be
# lost by this 6.1 kernel (the thread's first wake-up is consumed by its
# start), so an edge made right after the request may never reach the line
# request fd: a race of the kernel under the backend, seen here with
# gpio-sim, not of the backend (it has its fd in its loop before it answers
# SET_IRQ_TYPE).  Waiting for the thread's sleeping state is waiting for an
# event, not for time.
irq_thread_ready() {
	i=0
	while :; do
		seen=""
		for c in /proc/[0-9]*/comm; do
			case $(cat "$c" 2>/dev/null) in
			irq/*-vhu-gp*)
				st=$(cut -d' ' -f3 "${c%comm}stat" 2>/dev/null)
				[ "$st" = S ] && return 0
				seen="$seen $(cat "$c"):$st"
				;;
			esac
		done
		i=$((i + 1))
		# (A waiter that already ended makes the caller report it.)
		kill -0 "$1" 2>/dev/null || return 0
		[ $i -gt $((T * 10)) ] && fail "no sleeping irq/N-vhu-gpio thread after $T s (seen:$seen)"
		sleep 0.1
	done
}

# Interrupts: the frontend says "armed" once the interrupt is enabled
# (an edge is latched from then on); then the pull makes it.
irq() {
	# irq TYPE PULL [N]: wait for N interrupts of TYPE on line 3 made by PULL
	$F wait 3 "$1" ${3:-1} >/tmp/irq.out 2>&1 &
	wpid=$!
	wait_line /tmp/irq.out "3 armed"
	irq_thread_ready $wpid
	echo "$2" >"$sim/sim_gpio3/pull"
	if ! wait $wpid; then
		grep -E "gpio line|connect" /tmp/backend.log | tail -n 20 | sed 's/^/VHD-GUEST-INFO: backend: /'
		fail "wait 3 $1: $(cat /tmp/irq.out)"
	fi
	expect "events for $1" "${3:-1}" "$(grep -c '^3 event$' /tmp/irq.out)"
}
irq rising pull-up
irq falling pull-down
irq both pull-up
# A level interrupt waits for its level (the line is high when low is
# armed, and the other way round), then fires again on each unmask while
# the level holds.
irq low pull-down 2
irq high pull-up 3
info "interrupts: rising, falling, both, low (2 while low), high (3 while high)"
stop_backend "/dev/$chip"

# The same chip by its label; line 3 is free again.
backend vhd-sim
expect "by label" "8 lines" "$($F info 2>&1 | head -n 1)"
stop_backend vhd-sim

pass "$chip through libgpiod: names, values on the pins, pulls read back, edge and level interrupts; chip by path and by label"

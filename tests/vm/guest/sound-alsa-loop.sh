# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of tests/vm/sound-alsa-loop.test: vhost-device-sound's ALSA
# backend on a PCM that runs at its rate, which the build machines lack and
# our guest kernel has (snd-aloop, card "Loopback").  /vhd/bin/test-sound
# (VHD_SOUND_ALSA_REAL) starts /vhd/bin/vhost-device-sound --backend alsa
# --alsa-device hw:Loopback,0 and plays its virtio guest over vhost-user.
# No alsa.conf in the initramfs: a minimal one defines the "hw" PCM.
. /vhd/lib.sh

cat >/tmp/alsa.conf <<'CONF'
pcm.hw {
	@args [ CARD DEV SUBDEV ]
	@args.CARD { type string }
	@args.DEV { type integer default 0 }
	@args.SUBDEV { type integer default -1 }
	type hw
	card $CARD
	device $DEV
	subdevice $SUBDEV
}
CONF
export ALSA_CONFIG_PATH=/tmp/alsa.conf
export VHD_BUILDDIR=/vhd/bin
export VHD_SOUND_ALSA_REAL=hw:Loopback,0
export ASAN_OPTIONS=detect_leaks=1
grep -q Loopback /proc/asound/cards || fail "no Loopback card: $(cat /proc/asound/cards)"
timeout 300 test-sound >/tmp/snd.log 2>&1
rc=$?
sed 's/^/VHD-GUEST-INFO: /' /tmp/snd.log
[ $rc -eq 0 ] || fail "test-sound (ALSA at the PCM's rate) failed (exit $rc): see the lines above"
grep -q 'PASSED  \] 2 test' /tmp/snd.log || fail "test-sound exited 0 without 2 passed tests"
pass "ALSA backend on snd-aloop: playback and capture paced by the PCM"

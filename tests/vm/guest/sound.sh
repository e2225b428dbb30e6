# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the sound test: Debian's aplay and arecord (in /vhd/bin)
# through the guest's virtio-snd driver.  Parameters (from /vhd/params):
#   SND_WAV      the WAV file to play (in /vhd/bin), S16_LE mono 48000 Hz
#   SND_CS       its duration in centiseconds
# Debian's tools are called by path (busybox sh prefers its own applets).
# No alsa.conf in the initramfs: a minimal one here defines the "hw" PCM.
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

# The virtio card by name (snd-aloop is card 0 in our guest kernel).
card=""
i=0
while [ -z "$card" ]; do
	card=$(grep -i 'virtio' /proc/asound/cards 2>/dev/null | head -n 1 | awk '{ print $1 }')
	[ -n "$card" ] && break
	i=$((i + 1))
	[ $i -gt 100 ] && fail "no virtio card in /proc/asound/cards: $(cat /proc/asound/cards 2>&1 | tr '\n' ' ')"
	sleep 0.1
done
info "virtio card: $card ($(grep "^ *$card " /proc/asound/cards))"
[ -e /proc/asound/card$card/pcm0p ] || fail "card $card has no playback PCM: $(ls /proc/asound/card$card)"
[ -e /proc/asound/card$card/pcm0c ] || fail "card $card has no capture PCM: $(ls /proc/asound/card$card)"

# Playback of a known file takes at least its duration: the device
# completes a period only when its frames have been played.  The host
# times it between the two host steps (the guest's clock under TCG is not
# the host's: the guest's own figure is only shown).
host_step play-start
t0=$(uptime_cs)
/vhd/bin/aplay -q -D hw:$card,0 "/vhd/bin/$SND_WAV" >/tmp/out 2>&1 || fail "aplay failed: $(cat /tmp/out)"
t1=$(uptime_cs)
host_step play-end
took=$((t1 - t0))
info "aplay of ${SND_CS} cs of audio took $took cs of guest time"

# Capture one second of the null backend's silence (timed by the host too).
host_step rec-start
t0=$(uptime_cs)
/vhd/bin/arecord -q -D hw:$card,0 -f S16_LE -r 48000 -c 1 -d 1 /tmp/rec.wav >/tmp/out 2>&1 ||
	fail "arecord failed: $(cat /tmp/out)"
t1=$(uptime_cs)
host_step rec-end
size=$(wc -c </tmp/rec.wav)
[ "$size" -eq $((44 + 96000)) ] || fail "arecord: $size bytes, expected 44 + 96000"
nonzero=$(tail -c 96000 /tmp/rec.wav | tr -d '\000' | wc -c)
[ "$nonzero" -eq 0 ] || fail "arecord: $nonzero bytes of the capture are not silence"
info "arecord: 1 s of silence (96000 bytes) in $((t1 - t0)) cs of guest time"

# Again, to see the stream set up a second time after release.
/vhd/bin/aplay -q -D hw:$card,0 "/vhd/bin/$SND_WAV" >/tmp/out 2>&1 || fail "second aplay failed: $(cat /tmp/out)"
pass "virtio card $card: aplay played $SND_CS cs of audio, arecord got 1 s of silence"

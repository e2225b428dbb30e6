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

# play K FILE: aplay FILE between the host steps playK-start and
# playK-end (the host times it, and checks the bytes that arrived on its
# side at playK-end; the guest's clock under TCG is not the host's: the
# guest's own figure is only shown).
# A buffer of 1 s (aplay's default is the driver's 160 ms): a TCG guest on
# a busy host can stall longer than 160 ms, and an underrun makes the
# driver STOP, RELEASE and PREPARE the stream again, which reopens the
# host's PCM -- the file plugin then starts out.raw afresh and the bytes
# before the underrun are gone from it.  What aplay said (an underrun is
# reported there) is shown before the host checks.
play() {
	host_step "play$1-start"
	t0=$(uptime_cs)
	/vhd/bin/aplay -q -B 1000000 -F 100000 -D hw:$card,0 "/vhd/bin/$2" >/tmp/out 2>&1 ||
		fail "aplay $2 failed: $(cat /tmp/out)"
	t1=$(uptime_cs)
	[ -s /tmp/out ] && info "aplay $2 said: $(tr '\n' ' ' </tmp/out)"
	host_step "play$1-end"
	info "aplay $2 took $((t1 - t0)) cs of guest time"
}

set -- $SND_WAV
play 0 "$1"

# Record one second: the host's capture source, byte for byte (a 1 s
# buffer too: an overrun would lose bytes).
host_step rec-start
t0=$(uptime_cs)
/vhd/bin/arecord -q -B 1000000 -F 100000 -D hw:$card,0 -f S16_LE -r 48000 -c 1 -d 1 /tmp/rec.wav >/tmp/out 2>&1 ||
	fail "arecord failed: $(cat /tmp/out)"
t1=$(uptime_cs)
host_step rec-end
size=$(wc -c </tmp/rec.wav)
[ "$size" -eq $((44 + SND_REC_BYTES)) ] || fail "arecord: $size bytes, expected 44 + $SND_REC_BYTES"
tail -c "$SND_REC_BYTES" /tmp/rec.wav >/tmp/rec.raw
cmp /tmp/rec.raw "/vhd/bin/$SND_REC" >/tmp/out 2>&1 ||
	fail "arecord: the recording is not the host's source: $(cat /tmp/out)"
info "arecord: 1 s ($SND_REC_BYTES bytes) equal to the host's source in $((t1 - t0)) cs of guest time"

# Again, after the streams were released, with another waveform.
play 1 "$2"
pass "virtio card $card: aplay played $1 and $2, arecord recorded the host's source"

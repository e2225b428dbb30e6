#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# The ring code's memory ordering, checked in the arm64 code the compiler
# made (docs/architecture.md, "Ring memory ordering"): each function that
# carries one of the barriers the virtio spec requires must still contain
# the arm64 instruction that implements it -- a load-acquire (ldar/ldarh),
# a store-release (stlrh) or a full barrier (dmb ish).  On x86 these are
# plain moves (and mfence), so only the arm64 build can show that an
# __ATOMIC_ACQUIRE became __ATOMIC_RELAXED; Arm's weaker ordering is where
# that breaks a guest.
#
# Usage: check-arm64-barriers.sh BUILD_DIR   (an aarch64 build of the tree)
# Exit 0 when every barrier is there, 1 naming each one that is not.
set -eu
B=${1:?usage: check-arm64-barriers.sh BUILD_DIR}
OBJDUMP=${OBJDUMP:-aarch64-linux-gnu-objdump}
VQ=$B/src/vq/libvhost_device_core_la-virtqueue.o
PK=$B/src/vq/libvhost_device_core_la-packed.o
for o in "$VQ" "$PK"; do
	[ -f "$o" ] || { echo "check-arm64-barriers: $o missing (build the tree for aarch64 first)" >&2; exit 1; }
done
command -v "$OBJDUMP" >/dev/null || { echo "check-arm64-barriers: $OBJDUMP not found (Debian package binutils-aarch64-linux-gnu)" >&2; exit 1; }

bad=0
# need OBJECT FUNCTION INSTRUCTION WHY
need() {
	n=$("$OBJDUMP" -d --no-show-raw-insn --disassemble="$2" "$1" |
		awk -v want="$3" '{ i = $2 " " $3 } $2 == want || i == want { n++ } END { print n + 0 }')
	if [ "$n" -eq 0 ]; then
		echo "check-arm64-barriers: MISSING $3 in $2 ($4)"
		bad=1
	else
		echo "check-arm64-barriers: ok $2: $3 x$n ($4)"
	fi
}
# Split ring (virtio 1.2, 2.7.13 and 2.7.7-2.7.10).
need "$VQ" vq_pop ldarh "avail->idx read with acquire before the ring entries and descriptors"
need "$VQ" vq_avail_pending ldarh "avail->idx read with acquire by the poller"
need "$VQ" vq_push stlrh "used entry written before used->idx (release)"
need "$VQ" vq_notify "dmb ish" "used->idx visible before the used_event / avail->flags read"
need "$VQ" vq_enable_notify "dmb ish" "avail_event / used->flags visible before avail->idx is read again"
# Packed ring (virtio 1.2, 2.8.21 and 2.8.10-2.8.14).
need "$PK" vq_packed_pop ldar "descriptor flags read with acquire before its other fields"
need "$PK" vq_packed_publish stlrh "used descriptor's id and len written before its flags (release)"
need "$PK" vq_packed_set_kicks stlrh "device event off_wrap written before its flags (release)"
need "$PK" vq_packed_want_call "dmb ish" "used flags visible before the driver event structure is read"
exit $bad

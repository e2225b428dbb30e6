# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of the SCSI test: the guest's virtio_scsi and sd drivers and
# Debian's sg3-utils, e2fsprogs and util-linux (in /vhd/bin).  Two
# controllers: one with two LUNs (0: SCSI_SIZE0 bytes, serial SCSI_SER0;
# 1: SCSI_SIZE1, SCSI_SER1), one with a read-only LUN (SCSI_SIZER,
# SCSI_SERR, its first MiB filled with 'Z').  The PASS line carries the
# SHA-256 of the first 64 MiB the guest wrote to LUN 0, which the host
# compares with the image.  With SCSI_VERIFY_SUM (a second guest on the same
# backends) it only checks that LUN 0 still holds those 64 MiB.
. /vhd/lib.sh

serial() { sg_vpd -p sn "/dev/$1" 2>/dev/null | sed -n 's/.*Unit serial number: *//p'; }
expect() { [ "$2" = "$3" ] || fail "$1: got '$3', expected '$2'"; }

i=0
while [ "$(ls -d /sys/block/sd* 2>/dev/null | wc -l)" -lt 3 ]; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "expected 3 SCSI disks, /sys/block has: $(ls /sys/block | tr '\n' ' ')"
	sleep 0.1
done
D0= D1= DR=
for d in /sys/block/sd*; do
	sd=${d##*/}
	wait_for /dev/$sd 10 || fail "no /dev/$sd"
	s=$(serial $sd)
	info "$sd: serial '$s', $(cat $d/size) sectors, ro=$(cat $d/ro), $(readlink $d/device | sed 's,.*/,,')"
	case "$s" in
	"$SCSI_SER0") D0=$sd ;;
	"$SCSI_SER1") D1=$sd ;;
	"$SCSI_SERR") DR=$sd ;;
	esac
done
[ -n "$D0" ] && [ -n "$D1" ] && [ -n "$DR" ] || fail "disks by serial: lun0='$D0' lun1='$D1' ro='$DR'"
expect "size of $D0" "$SCSI_SIZE0" $(( $(cat /sys/block/$D0/size) * 512 ))
expect "size of $D1" "$SCSI_SIZE1" $(( $(cat /sys/block/$D1/size) * 512 ))
expect "size of $DR" "$SCSI_SIZER" $(( $(cat /sys/block/$DR/size) * 512 ))
expect "$D0 read-only" 0 "$(cat /sys/block/$D0/ro)"
expect "$DR read-only" 1 "$(cat /sys/block/$DR/ro)"
# A second guest on the same backends (a restarted QEMU reattaching):
# LUN 0 still holds what the first guest wrote.
if [ -n "${SCSI_VERIFY_SUM:-}" ]; then
	sum=$(dd if=/dev/$D0 bs=1M count=64 2>/dev/null | sha256sum | cut -d' ' -f1)
	expect "first 64 MiB of $D0 after the reconnect" "$SCSI_VERIFY_SUM" "$sum"
	pass "reattached: $D0 holds the first guest's 64 MiB"
fi

# LUN 0 and LUN 1 of one target.
h0=$(readlink /sys/block/$D0/device | sed 's,.*/,,')
h1=$(readlink /sys/block/$D1/device | sed 's,.*/,,')
expect "LUN of $D0" "0" "${h0##*:}"
expect "LUN of $D1" "${h0%:*}:1" "$h1"

# sg3-utils.
sg_inq /dev/$D0 >/tmp/out 2>&1 || fail "sg_inq: $(cat /tmp/out)"
grep -q "Vendor identification: VHD-C" /tmp/out || fail "sg_inq: $(cat /tmp/out)"
sg_vpd -p bl /dev/$D0 >/tmp/out 2>&1 || fail "sg_vpd -p bl: $(cat /tmp/out)"
grep -q "Maximum unmap LBA count: [1-9]" /tmp/out || fail "sg_vpd -p bl: $(cat /tmp/out)"
sg_vpd -p lbpv /dev/$D0 >/tmp/out 2>&1 || fail "sg_vpd -p lbpv: $(cat /tmp/out)"
grep -q "Unmap command supported (LBPU): 1" /tmp/out || fail "sg_vpd -p lbpv: $(cat /tmp/out)"
sg_vpd -p bdc /dev/$D0 >/tmp/out 2>&1 || fail "sg_vpd -p bdc: $(cat /tmp/out)"
grep -qi "non-rotating" /tmp/out || fail "sg_vpd -p bdc (--solid-state): $(cat /tmp/out)"
sg_readcap -l /dev/$D0 >/tmp/out 2>&1 || fail "sg_readcap -l: $(cat /tmp/out)"
grep -q "Last LBA=$(( SCSI_SIZE0 / 512 - 1 )) " /tmp/out || fail "sg_readcap -l: $(cat /tmp/out)"
grep -q "Logical block length=512 bytes" /tmp/out || fail "sg_readcap -l: $(cat /tmp/out)"
grep -q "lbpme=1" /tmp/out || fail "sg_readcap -l: $(cat /tmp/out)"
sg_luns /dev/$D0 >/tmp/out 2>&1 || fail "sg_luns: $(cat /tmp/out)"
grep -q "Lun list length = 16 " /tmp/out || fail "sg_luns: $(cat /tmp/out)"
sg_sync /dev/$D0 >/tmp/out 2>&1 || fail "sg_sync: $(cat /tmp/out)"
info "sg_inq, sg_vpd (bl, lbpv, bdc), sg_readcap -l, sg_luns, sg_sync: as expected"

# 64 MiB of random data, read back past the page cache.
dd if=/dev/urandom of=/dev/$D0 bs=1M count=64 conv=fsync 2>/tmp/out || fail "dd to $D0: $(cat /tmp/out)"
blockdev --flushbufs /dev/$D0
echo 3 >/proc/sys/vm/drop_caches
sum=$(dd if=/dev/$D0 bs=1M count=64 2>/dev/null | sha256sum | cut -d' ' -f1)
sum2=$(dd if=/dev/$D0 bs=64k count=1024 2>/dev/null | sha256sum | cut -d' ' -f1)
expect "second read of 64 MiB" "$sum" "$sum2"
info "64 MiB written and read back: sha256 $sum"

# sg_unmap of 1 MiB of data at 140 MiB: reads as zeros afterwards.
dd if=/dev/urandom of=/dev/$D0 bs=1M seek=140 count=1 conv=fsync 2>/tmp/out || fail "dd: $(cat /tmp/out)"
sg_unmap --lba=286720 --num=2048 /dev/$D0 >/tmp/out 2>&1 || fail "sg_unmap: $(cat /tmp/out)"
blockdev --flushbufs /dev/$D0
echo 3 >/proc/sys/vm/drop_caches
nz=$(dd if=/dev/$D0 bs=512 skip=286720 count=2048 2>/dev/null | tr -d '\000' | wc -c)
expect "non-zero bytes after sg_unmap" 0 "$nz"

# The read-only LUN: reads work, a WRITE(10) sent around the block layer
# is refused with DATA PROTECT / WRITE PROTECTED (sg_raw -R opens the
# read-only disk O_RDONLY; root may send any command through SG_IO).
nz=$(dd if=/dev/$DR bs=1M count=1 2>/dev/null | tr -d 'Z' | wc -c)
expect "bytes other than Z in the read-only image" 0 "$nz"
dd if=/dev/zero of=/tmp/blk bs=512 count=1 2>/dev/null
sg_raw -R -s 512 -i /tmp/blk /dev/$DR 2a 00 00 00 00 00 00 00 01 00 >/tmp/out 2>&1
grep -qi "write protected" /tmp/out || fail "WRITE(10) to the read-only LUN: $(cat /tmp/out)"
info "read-only LUN: readable, WRITE(10) refused: $(grep -i 'sense' /tmp/out | tr '\n' ' ')"

# Queue depth 32 with verification, across a QMP stop/cont.
scsi-aio /dev/$D0 80 32 >/tmp/aio 2>&1 &
aio=$!
host_step stopcont
wait $aio || fail "scsi-aio across stop/cont: $(cat /tmp/aio)"
info "$(cat /tmp/aio)"

# ext4 on LUN 1: make, check, mount, write, check again; then discard it
# all (the host finds the image's blocks freed).
mkdir -p /mnt
mkfs.ext4 -q -F /dev/$D1 >/tmp/out 2>&1 || fail "mkfs.ext4: $(cat /tmp/out)"
e2fsck -f -n /dev/$D1 >/tmp/out 2>&1 || fail "e2fsck: $(cat /tmp/out)"
mount -t ext4 /dev/$D1 /mnt || fail "mount ext4 on $D1"
dd if=/dev/urandom of=/mnt/file bs=1M count=4 2>/dev/null || fail "write to ext4"
fsum=$(sha256sum /mnt/file | cut -d' ' -f1)
umount /mnt || fail "umount"
echo 3 >/proc/sys/vm/drop_caches
e2fsck -f -n /dev/$D1 >/tmp/out 2>&1 || fail "e2fsck after use: $(cat /tmp/out)"
mount -t ext4 -o ro /dev/$D1 /mnt || fail "mount ext4 again"
expect "file on ext4" "$fsum" "$(sha256sum /mnt/file | cut -d' ' -f1)"
umount /mnt
info "ext4 on $D1: mkfs.ext4, e2fsck, mount, 4 MiB file read back after remount"
blkdiscard /dev/$D1 >/tmp/out 2>&1 || fail "blkdiscard: $(cat /tmp/out)"

pass "lun0-sha256 $sum"

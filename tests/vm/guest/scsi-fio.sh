# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
# Guest half of scsi-fio.test: Debian's fio (a dynamic helper in /vhd/bin,
# its libraries copied by mkinitramfs.sh) on the one disk of a
# vhost-device-scsi backend (serial SCSI_SER, SCSI_SIZE bytes): random 4 KiB
# writes at queue depth 32 through libaio with O_DIRECT, each block carrying
# a CRC32C and its offset, then every block read back at queue depth 32 and
# verified (fio's verify phase); fio's exit status and its error count judge.
. /vhd/lib.sh

i=0
while ! ls -d /sys/block/sd* >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 600 ] && fail "no SCSI disk: /sys/block has $(ls /sys/block | tr '\n' ' ')"
	sleep 0.1
done
D=$(ls -d /sys/block/sd* | head -n 1)
D=${D##*/}
wait_for /dev/$D 10 || fail "no /dev/$D"
size=$(( $(cat /sys/block/$D/size) * 512 ))
[ "$size" = "$SCSI_SIZE" ] || fail "$D: $size bytes, expected $SCSI_SIZE"
info "$D: $size bytes"

# fio keeps its job state in shared memory (/dev/shm) unless it runs jobs
# as threads: --thread keeps it in one process.
run_fio() {
	job=$1
	shift
	/vhd/bin/fio --thread --name="$job" --filename=/dev/$D --ioengine=libaio \
		--direct=1 --iodepth=32 --bs=4k --size="$SCSI_FIO_SIZE" \
		--verify=crc32c --verify_fatal=1 --verify_dump=1 \
		--randrepeat=1 --norandommap=0 --output-format=terse \
		--terse-version=3 "$@" >/tmp/fio.out 2>&1
}
run_fio randwrite-verify --rw=randwrite --do_verify=1 ||
	fail "fio randwrite at QD32 with verify: status $?: $(tail -n 20 /tmp/fio.out)"
# terse v3: field 5 is the error count.
err=$(cut -d';' -f5 /tmp/fio.out | tail -n 1)
[ "$err" = "0" ] || fail "fio reported error $err: $(cat /tmp/fio.out)"
w_kb=$(cut -d';' -f47 /tmp/fio.out | tail -n 1)
r_kb=$(cut -d';' -f6 /tmp/fio.out | tail -n 1)
info "fio randwrite QD32 + verify: ${w_kb} KiB written, ${r_kb} KiB read back and verified"
[ "${r_kb:-0}" -ge $((SCSI_FIO_SIZE / 1024)) ] ||
	fail "fio verified only ${r_kb:-0} KiB of $((SCSI_FIO_SIZE / 1024))"
# The same blocks read again by a separate job (fresh state): every block
# checked against the header the write job put in it.
run_fio read-verify --rw=randread --verify_only=0 ||
	fail "fio randread at QD32 with verify: status $?: $(tail -n 20 /tmp/fio.out)"
err=$(cut -d';' -f5 /tmp/fio.out | tail -n 1)
[ "$err" = "0" ] || fail "fio read-verify reported error $err: $(cat /tmp/fio.out)"
r_kb=$(cut -d';' -f6 /tmp/fio.out | tail -n 1)
[ "${r_kb:-0}" -ge $((SCSI_FIO_SIZE / 1024)) ] ||
	fail "fio read-verify read only ${r_kb:-0} KiB of $((SCSI_FIO_SIZE / 1024))"
info "fio randread QD32 + verify: ${r_kb} KiB read and verified"
pass "fio: $((SCSI_FIO_SIZE >> 20)) MiB random 4 KiB writes at QD32 verified, then read-verified at QD32"

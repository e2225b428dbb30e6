/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: SCSI commands (SPC-4, SBC-3) through vhost-device-scsi's
 * real CDB decoder and command emulation (scsi-cdb.c), on a logical unit
 * opened by the device's own scsi_disk_open() (scsi-disk.c) over a 1 MiB
 * image in a memfd: any 32-byte CDB addressed to the unit, an absent LUN
 * or the REPORT LUNS well-known LUN, with the parameter lists of UNMAP and
 * MODE SELECT (scsi_unmap_parse, scsi_mode_select) taken from the input
 * as the data-out the driver sent.
 *
 * Input: records of a LUN byte (% 3: present, absent, W-LUN), 32 CDB
 * bytes, a le16 data-out length, then that many data-out bytes.
 * Checks: an emulated answer's data fits its allocation length and
 * SCSI_DATA_IN_MAX; sense is fixed format when the status is CHECK
 * CONDITION; a host operation's LBA range lies inside the medium (the
 * range is read from the image, and a WRITE's blocks written back, as the
 * device would), its transfer within SCSI_MAX_XFER_BYTES; UNMAP ranges
 * inside the medium.  (The device's io_uring submission and its
 * synchronous VERIFY/WRITE SAME/UNMAP execution live in scsi.c's request
 * loop and are not reached here.)
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "devices/scsi/scsi-cdb.h"
#include "devices/scsi/scsi-disk.h"

#define IMAGE (1u << 20)

static struct scsi_disk *disk_get(void)
{
	static struct scsi_disk d;
	static bool made;
	struct scsi_disk_opts o = { .block_size = 512, .solid_state = true };
	char path[64], err[256];
	int fd;

	if (made)
		return &d;
	fd = memfd_create("fuzz-scsi-image", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, IMAGE) < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (scsi_disk_open(&d, path, 0, &o, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz-scsi: %s\n", err);
		abort();
	}
	close(fd);
	made = true;
	return &d;
}

static void check_answer(const struct scsi_cmd *c)
{
	if (c->status == SCSI_STATUS_CHECK_CONDITION) {
		/* Fixed format (SPC-4 4.5.3): response code 70h. */
		if (c->sense_len != SCSI_SENSE_LEN || (c->sense[0] & 0x7f) != 0x70)
			abort();
	} else if (c->status != SCSI_STATUS_GOOD) {
		abort();
	}
	if (c->io == SCSI_IO_NONE && c->status == SCSI_STATUS_GOOD &&
	    (c->data_len > c->xfer || c->data_len > SCSI_DATA_IN_MAX))
		abort();
}

static void host_io(const struct scsi_disk *d, struct scsi_lu *lu, struct scsi_cmd *c,
		    const uint8_t *out, size_t out_len)
{
	static uint8_t buf[SCSI_MAX_XFER_BYTES];
	uint64_t lba[SCSI_UNMAP_MAX_DESC];
	uint32_t nblk[SCSI_UNMAP_MAX_DESC];
	uint64_t bytes = (uint64_t)c->nblocks * lu->block_size;
	int n;

	if (c->xfer > SCSI_MAX_XFER_BYTES)
		abort();
	switch (c->io) {
	case SCSI_IO_READ:
	case SCSI_IO_WRITE:
	case SCSI_IO_VERIFY:
		if (c->lba > lu->nblocks || c->nblocks > lu->nblocks - c->lba ||
		    bytes > SCSI_MAX_XFER_BYTES)
			abort();
		if (pread(d->fd, buf, bytes, (off_t)(c->lba * lu->block_size)) != (ssize_t)bytes)
			abort();
		if (c->io == SCSI_IO_WRITE &&
		    pwrite(d->fd, buf, bytes, (off_t)(c->lba * lu->block_size)) != (ssize_t)bytes)
			abort();
		break;
	case SCSI_IO_WRITE_SAME:
		if (c->lba > lu->nblocks || c->nblocks > lu->nblocks - c->lba)
			abort();
		break;
	case SCSI_IO_UNMAP:
		n = scsi_unmap_parse(lu, out, out_len < c->xfer ? out_len : c->xfer, lba, nblk,
				     SCSI_UNMAP_MAX_DESC, c);
		for (int i = 0; i < n; i++)
			if (lba[i] > lu->nblocks || nblk[i] > lu->nblocks - lba[i])
				abort();
		break;
	case SCSI_IO_MODE_SELECT:
		(void)scsi_mode_select(lu, out, out_len < c->xfer ? out_len : c->xfer, c);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dbuf[SCSI_DATA_IN_MAX];
	struct fuzz_in in = { data, size };
	struct scsi_disk *d = disk_get();
	struct scsi_target tgt = { .nluns = 1 };

	vhd_log_set_level(VHD_LOG_ERROR);
	while (in.left) {
		static const enum scsi_target_lu kinds[] = {
			SCSI_LU_PRESENT, SCSI_LU_ABSENT, SCSI_LU_WLUN_REPORT };
		enum scsi_target_lu which = kinds[fuzz_u8(&in) % 3];
		uint8_t cdb[SCSI_CDB_MAX];
		uint16_t out_len;
		uint8_t *out;
		struct scsi_lu lu = d->lu;   /* MODE SELECT changes a copy */
		struct scsi_cmd c;

		fuzz_take(&in, cdb, sizeof(cdb));
		out_len = fuzz_u16(&in);
		out = malloc(out_len ? out_len : 1);
		if (!out)
			abort();
		fuzz_take(&in, out, out_len);
		memset(&c, 0, sizeof(c));
		scsi_decode(&tgt, which, which == SCSI_LU_PRESENT ? &lu : NULL, cdb, sizeof(cdb),
			    &c, dbuf);
		check_answer(&c);
		if (c.status == SCSI_STATUS_GOOD && c.io != SCSI_IO_NONE) {
			if (which != SCSI_LU_PRESENT)
				abort();        /* a host operation on no medium */
			host_io(d, &lu, &c, out, out_len);
			check_answer(&c);
		}
		free(out);
	}
	return 0;
}

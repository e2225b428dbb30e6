/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The host side of one logical unit: a raw image file or a block device.
 *
 * Promises: scsi_disk_open() refuses, with a message naming the path and
 * the reason, a path that does not exist, a directory or any other file
 * that is neither regular nor a block device, an empty medium and a size
 * that is not a multiple of the block size -- before any socket exists.
 * A read-only unit's file is opened O_RDONLY, so an image the user may
 * only read is served.  The size of a block device comes from
 * BLKGETSIZE64.
 */
#ifndef VHD_SCSI_DISK_H
#define VHD_SCSI_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi-cdb.h"

struct scsi_disk {
	struct scsi_lu lu;         /* lu.wce is the boot value; see wce below */
	int fd;
	bool is_blk;
	/* The caching page's WCE bit, changed by MODE SELECT on any request
	 * queue: read and written atomically. */
	bool wce;
};

struct scsi_disk_opts {
	uint32_t block_size;
	bool read_only;
	bool solid_state;
	bool direct;               /* O_DIRECT */
};

/* Open `path` as LUN `lun`.  0, or -1 with err filled. */
int scsi_disk_open(struct scsi_disk *d, const char *path, unsigned lun,
		   const struct scsi_disk_opts *o, char *err, size_t errlen);
void scsi_disk_close(struct scsi_disk *d);

#endif

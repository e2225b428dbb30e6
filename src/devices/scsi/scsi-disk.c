/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
#include "config.h"
#include "scsi-disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* FNV-1a over the image's identity: a stable NAA identifier for VPD 83h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* The serial number (VPD 80h): the image's file name, printable ASCII,
 * at most 32 bytes (docs/scsi.md, "Identity"). */
static void make_serial(char *out, size_t cap, const char *path, unsigned lun)
{
	const char *base = strrchr(path, '/');
	size_t n = 0;

	base = base && base[1] ? base + 1 : path;
	for (; *base && n + 1 < cap; base++)
		out[n++] = (*base > 0x20 && *base < 0x7f) ? *base : '_';
	out[n] = 0;
	if (!n)
		snprintf(out, cap, "lun%u", lun);
}

int scsi_disk_open(struct scsi_disk *d, const char *path, unsigned lun,
		   const struct scsi_disk_opts *o, char *err, size_t errlen)
{
	struct stat st;
	uint64_t size, h;
	int flags = (o->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->direct ? O_DIRECT : 0);

	memset(d, 0, sizeof(*d));
	d->fd = -1;
	if (stat(path, &st) < 0) {
		snprintf(err, errlen, "'%s': %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		snprintf(err, errlen, "'%s': %s", path, S_ISDIR(st.st_mode)
			 ? "is a directory (expected a raw image file or a block device)"
			 : "not a raw image file or a block device");
		return -1;
	}
	d->fd = open(path, flags);
	if (d->fd < 0) {
		snprintf(err, errlen, "'%s': cannot open %s%s: %s", path,
			 o->read_only ? "for reading" : "for reading and writing",
			 o->direct ? " with O_DIRECT" : "", strerror(errno));
		return -1;
	}
	d->is_blk = S_ISBLK(st.st_mode);
	if (d->is_blk) {
		if (ioctl(d->fd, BLKGETSIZE64, &size) < 0) {
			snprintf(err, errlen, "'%s': BLKGETSIZE64: %s", path, strerror(errno));
			goto fail;
		}
	} else {
		size = (uint64_t)st.st_size;
	}
	if (size == 0 || size % o->block_size) {
		snprintf(err, errlen, "'%s': size %llu is %s", path, (unsigned long long)size,
			 size ? "not a multiple of the block size" : "zero");
		if (size)
			snprintf(err + strlen(err), errlen - strlen(err), " (%u)", o->block_size);
		goto fail;
	}
	d->lu.nblocks = size / o->block_size;
	d->lu.block_size = o->block_size;
	d->lu.read_only = o->read_only;
	d->lu.solid_state = o->solid_state;
	/* Holes are punched in files and discarded on block devices
	 * (fallocate PUNCH_HOLE does both). */
	d->lu.unmap = !o->read_only;
	d->lu.wce = true;
	d->wce = true;
	make_serial(d->lu.serial, sizeof(d->lu.serial), path, lun);
	h = fnv1a(0xcbf29ce484222325ull, &st.st_dev, sizeof(st.st_dev));
	h = fnv1a(h, &st.st_ino, sizeof(st.st_ino));
	h = fnv1a(h, &st.st_rdev, sizeof(st.st_rdev));
	h = fnv1a(h, &lun, sizeof(lun));
	/* NAA 3: locally assigned (SPC-4 7.8.6.6.4). */
	d->lu.naa = 0x3ull << 60 | (h & 0x0fffffffffffffffull);
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return -1;
}

void scsi_disk_close(struct scsi_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

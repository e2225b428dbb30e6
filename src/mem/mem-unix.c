/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory, unix kind: a region is an mmap of the file the frontend
 * passed (memfd, tmpfs or hugetlbfs file), mapped once for the region's
 * lifetime.  Translation is pointer arithmetic.
 *
 * The file is mapped from offset 0 and the region starts at
 * base + mmap_offset, because mmap_offset need not be page (or huge page)
 * aligned (libvhost-user and DPDK do the same).  The mapping length is
 * rounded up to the file's block size: on hugetlbfs munmap() of a length
 * that is not a multiple of the huge page size fails, which would leak the
 * mapping.
 *
 * A file shorter than mmap_offset + size is rejected: touching a page past
 * its end raises SIGBUS, and a frontend must not be able to crash us with
 * a truncated memfd.  It can still shrink the file after we mapped it (only
 * F_SEAL_SHRINK on its side prevents that): every mapping is therefore
 * registered with the truncation guard (mem-sigbus.h), which turns such a
 * SIGBUS into a zero page, and the loss is logged when the region goes.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mem/mem-backend.h"
#include "mem/mem-sigbus.h"

static unsigned unix_log_budget;

static int unix_check(const struct gm_region_desc *d)
{
	return 0;
}

static int unix_map(struct gm_region *r, int fd)
{
	const struct gm_region_desc *d = &r->desc;
	uint64_t need = d->mmap_offset + d->size;  /* no overflow: checked */
	uint64_t align, len;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0) {
		int e = errno;

		vhd_log_ratelimited(&unix_log_budget, 32, VHD_LOG_WARN,
				    "guest-mem: region gpa 0x%llx: fstat(fd %d): %s",
				    (unsigned long long)d->gpa, fd, strerror(e));
		return -e;
	}
	/* Only a regular file has a size we can check against. */
	if (!S_ISREG(st.st_mode)) {
		vhd_log_ratelimited(&unix_log_budget, 32, VHD_LOG_WARN,
				    "guest-mem: region gpa 0x%llx: fd %d is not a regular file (mode 0%o)",
				    (unsigned long long)d->gpa, fd,
				    (unsigned)st.st_mode);
		return -EINVAL;
	}
	if (st.st_size < 0 || (uint64_t)st.st_size < need) {
		vhd_log_ratelimited(&unix_log_budget, 32, VHD_LOG_WARN,
				    "guest-mem: region gpa 0x%llx size 0x%llx mmap_offset 0x%llx: file has only 0x%llx bytes",
				    (unsigned long long)d->gpa,
				    (unsigned long long)d->size,
				    (unsigned long long)d->mmap_offset,
				    (unsigned long long)st.st_size);
		return -EINVAL;
	}

	align = (uint64_t)sysconf(_SC_PAGESIZE);
	if (st.st_blksize > 0 && (uint64_t)st.st_blksize > align &&
	    ((uint64_t)st.st_blksize & ((uint64_t)st.st_blksize - 1)) == 0)
		align = (uint64_t)st.st_blksize;
	if (need > UINT64_MAX - (align - 1))
		return -EINVAL;
	len = (need + align - 1) & ~(align - 1);
	if (len > SIZE_MAX)
		return -ENOMEM;

	p = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;

		vhd_log_ratelimited(&unix_log_budget, 32, VHD_LOG_WARN,
				    "guest-mem: region gpa 0x%llx: mmap of 0x%llx bytes from fd %d: %s",
				    (unsigned long long)d->gpa,
				    (unsigned long long)len, fd, strerror(e));
		return -e;
	}
	r->map_base = p;
	r->map_len = (size_t)len;
	r->priv = gm_sigbus_guard_add(p, (size_t)len, (size_t)align);
	if (!r->priv)
		vhd_log_ratelimited(&unix_log_budget, 32, VHD_LOG_WARN,
				    "guest-mem: region gpa 0x%llx: no truncation guard (table full): a frontend that shrinks this file can crash the backend",
				    (unsigned long long)d->gpa);
	r->host = (uint8_t *)p + d->mmap_offset;
	r->file_dev = st.st_dev;
	r->file_ino = st.st_ino;
	LOG_DEBUG("guest-mem: mapped region gpa 0x%llx size 0x%llx uva 0x%llx offset 0x%llx at %p",
		  (unsigned long long)d->gpa, (unsigned long long)d->size,
		  (unsigned long long)d->uva,
		  (unsigned long long)d->mmap_offset, (void *)r->host);
	return 0;
}

static void unix_unmap(struct gm_region *r)
{
	unsigned long lost;

	if (!r->map_base)
		return;
	lost = gm_sigbus_guard_del(r->priv);
	r->priv = NULL;
	if (lost)
		LOG_WARN("guest-mem: region gpa 0x%llx size 0x%llx: the frontend shrank its memory file while it was mapped; %lu page(s) past the new end were replaced by zero pages",
			 (unsigned long long)r->desc.gpa, (unsigned long long)r->desc.size, lost);
	if (munmap(r->map_base, r->map_len) < 0)
		LOG_ERR("guest-mem: munmap of region gpa 0x%llx (%p, 0x%zx bytes): %s",
			(unsigned long long)r->desc.gpa, r->map_base,
			r->map_len, strerror(errno));
	r->map_base = NULL;
	r->host = NULL;
}

/* Same inode => same memory (QEMU passes a fresh fd of the same memfd
 * every time it re-sends the table). */
static bool unix_same(const struct gm_region *r, const struct gm_region_desc *d,
		      int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return false;
	return st.st_dev == r->file_dev && st.st_ino == r->file_ino;
}

const struct gm_kind gm_kind_unix = {
	.name = "unix",
	.check = unix_check,
	.map = unix_map,
	.unmap = unix_unmap,
	.same = unix_same,
};

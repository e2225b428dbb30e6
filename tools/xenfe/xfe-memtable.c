/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * xen-vhost-frontend's memory table layout (contract in xfe-memtable.h).
 */
#include "config.h"
#include "xfe-memtable.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct range {
	uint64_t start, end;            /* [start, end) */
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static void ring_ranges(const struct xfe_mmio *m, unsigned q, struct range r[3])
{
	const struct xfe_queue *vq = &m->q[q];
	bool packed = m->driver_features & VHD_BIT(VIRTIO_F_RING_PACKED);
	uint64_t n = vq->num;

	r[0] = (struct range){ vq->desc, vq->desc + 16 * n };
	r[1] = (struct range){ vq->driver, vq->driver + (packed ? 4 : 6 + 2 * n) };
	r[2] = (struct range){ vq->device, vq->device + (packed ? 4 : 6 + 8 * n) };
}

static struct vhu_mem_region_xen region(uint64_t start, uint64_t end, uint32_t flags,
					uint32_t domid)
{
	return (struct vhu_mem_region_xen){
		.guest_phys_addr = start, .memory_size = end - start, .userspace_addr = start,
		.mmap_offset = 0, .xen_mmap_flags = flags, .domid = domid,
	};
}

int xfe_memtable_grant(const struct xfe_mmio *m, uint32_t domid, uint64_t ram,
		       struct vhu_mem_region_xen *reg, unsigned *nreg, char *why, size_t whylen)
{
	struct range rings[3 * XFE_MAX_QUEUES], merged[3 * XFE_MAX_QUEUES];
	uint64_t span = ram > XFE_GRANT_SPAN_MIN ? ram : XFE_GRANT_SPAN_MIN;
	uint64_t pos = XFE_GRANT_ADDR, end = XFE_GRANT_ADDR + span;
	unsigned n = 0, nm = 0, out = 0;

	*nreg = 0;
	for (unsigned q = 0; q < m->nqueues; q++) {
		if (!m->q[q].ready)
			continue;
		ring_ranges(m, q, &rings[n]);
		for (unsigned i = n; i < n + 3; i++) {
			if (!(rings[i].start & XFE_GRANT_ADDR) || rings[i].end <= rings[i].start) {
				snprintf(why, whylen, "queue %u has ring address 0x%llx without "
					 "the grant bit 63 (or wrapping): the guest does not use "
					 "grants (grant_usage=0?) but the device is in grant mode",
					 q, (unsigned long long)rings[i].start);
				return -EINVAL;
			}
		}
		n += 3;
	}
	qsort(rings, n, sizeof(rings[0]), cmp_range);
	for (unsigned i = 0; i < n; i++) {
		if (nm && rings[i].start < merged[nm - 1].end) {
			if (rings[i].end > merged[nm - 1].end)
				merged[nm - 1].end = rings[i].end;
		} else {
			merged[nm++] = rings[i];
		}
	}
	for (unsigned i = 0; i <= nm; i++) {
		uint64_t gap_end = i < nm ? merged[i].start : end;

		if (gap_end > end)
			gap_end = end;
		if (gap_end > pos) {
			if (out == VHU_MAX_TABLE_REGIONS)
				goto too_many;
			reg[out++] = region(pos, gap_end,
					    VHU_XEN_MMAP_GRANT | VHU_XEN_MMAP_NO_ADVANCE_MAP, domid);
		}
		if (i == nm)
			break;
		if (out == VHU_MAX_TABLE_REGIONS)
			goto too_many;
		reg[out++] = region(merged[i].start, merged[i].end, VHU_XEN_MMAP_GRANT, domid);
		if (merged[i].end > pos)
			pos = merged[i].end;
	}
	*nreg = out;
	return 0;
too_many:
	snprintf(why, whylen, "the rings of %u queues need more than %u memory regions",
		 m->nqueues, VHU_MAX_TABLE_REGIONS);
	return -E2BIG;
}

int xfe_memtable_foreign(enum xfe_arch arch, uint32_t domid, uint64_t ram,
			 struct vhu_mem_region_xen *reg, unsigned *nreg, char *why, size_t whylen)
{
	struct xfe_ram banks;

	*nreg = 0;
	if (!ram) {
		snprintf(why, whylen, "the guest's RAM size is unknown (no memory/static-max "
			 "in xenstore): give ram= with -d");
		return -EINVAL;
	}
	xfe_ram_layout(arch, ram, &banks);
	for (unsigned i = 0; i < banks.nbanks; i++)
		reg[i] = region(banks.base[i], banks.base[i] + banks.size[i], VHU_XEN_MMAP_FOREIGN,
				domid);
	*nreg = banks.nbanks;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The memory table xen-vhost-frontend sends (SET_MEM_TABLE with
 * VHOST_USER_PROTOCOL_F_XEN_MMAP, docs/xen.md "The device model"), as a
 * pure function of the register file's queues and the guest's RAM.
 *
 * Promises:
 *  - every region has userspace_addr == guest_phys_addr, mmap_offset 0
 *    and the guest's domid;
 *  - grant: the ring areas of every ready queue (split: desc 16n, avail
 *    6+2n, used 6+8n; packed: desc 16n and two 4-byte event structures;
 *    virtio 1.2 2.7 and 2.8), byte-exact, as 0x2 regions (overlapping
 *    areas merged into one), and every gap of [1<<63, 1<<63 + span) as a
 *    0xA region, span = max(ram, 128 MiB); regions in address order;
 *    -EINVAL (and why) if a ring address lacks bit 63 or wraps, -E2BIG
 *    past 32 regions;
 *  - foreign: one 0x1 region per RAM bank (xfe_ram_layout); -EINVAL if
 *    the RAM size is unknown (0).
 */
#ifndef VHD_XFE_MEMTABLE_H
#define VHD_XFE_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "vhost-user/proto.h"
#include "xfe-conf.h"
#include "xfe-mmio.h"

#define XFE_GRANT_ADDR          (1ull << 63)
/* Xen's default max_grant_frames (64) of v1 entries: 32768 refs. */
#define XFE_GRANT_SPAN_MIN      (32768ull << 12)

int xfe_memtable_grant(const struct xfe_mmio *m, uint32_t domid, uint64_t ram,
		       struct vhu_mem_region_xen *reg, unsigned *nreg, char *why, size_t whylen);
int xfe_memtable_foreign(enum xfe_arch arch, uint32_t domid, uint64_t ram,
			 struct vhu_mem_region_xen *reg, unsigned *nreg, char *why, size_t whylen);

#endif

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory, Xen kinds (mem-xen.c): the constants the Xen region kinds
 * and their tests share.  The kinds themselves are reached only through
 * gm_xen_kind() (mem-backend.h).
 *
 * Xen addresses are always in 4 KiB Xen pages, whatever the host page
 * size: a grant reference names one 4 KiB page, a foreign gfn too.
 */
#ifndef VHD_MEM_XEN_H
#define VHD_MEM_XEN_H

#include <stdint.h>

#define GM_XEN_PAGE_SHIFT       12u
#define GM_XEN_PAGE_SIZE        (1u << GM_XEN_PAGE_SHIFT)
#define GM_XEN_PAGE_MASK        ((uint64_t)GM_XEN_PAGE_SIZE - 1)

/* Linux grant DMA addresses (drivers/xen/grant-dma-ops.c): bit 63 set,
 * grant reference in bits 12..62, in-page offset in bits 0..11. */
#define GM_XEN_GRANT_ADDR_OFF   (1ull << 63)

/* XEN_MMAP region flags (vhost-user spec).  NO_ADVANCE_MAP is 0x8: the
 * spec text says "bit 8", every implementation uses the value 0x8. */
#define GM_XEN_FLAG_FOREIGN     0x1u
#define GM_XEN_FLAG_GRANT       0x2u
#define GM_XEN_FLAG_NO_ADVANCE  0x8u

/* Domain ids from DOMID_FIRST_RESERVED (0x7ff0: DOMID_SELF, DOMID_IO...)
 * never name a guest. */
#define GM_XEN_DOMID_LIMIT      0x7ff0u

/* Most 4 KiB pages one map call may ask for: Linux gntdev refuses larger
 * requests with its default `limit` (64 Ki grants), and one call for a
 * whole guest's worth of buffers would be a frontend/guest bug anyway. */
#define GM_XEN_MAX_MAP_PAGES    65536u

/* Foreign regions: guest physical addresses above 2^52 do not exist (a
 * region there is a grant address sent as foreign: mode mismatch). */
#define GM_XEN_MAX_PHYS_BITS    52u

#endif

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * fakexen: a stand-in for libxengnttab and libxenforeignmemory on a host
 * without Xen (tests/xen/fakexen.c, loaded into a backend with
 * LD_PRELOAD).  This header is the contract between the shim and the test
 * "frontend" that plays the guest: the files it reads and the counters it
 * publishes.
 *
 * Environment of the process the shim is loaded into:
 *   FAKEXEN_RAM     path of the guest RAM file (any regular file or memfd
 *                   path such as /proc/<pid>/fd/<n>); unset: the open
 *                   calls fail with ENOENT, as without /dev/xen.
 *   FAKEXEN_RAM_GFN gfn of the file's first page (default 0), for
 *                   foreign maps: gfn g is at (g - FAKEXEN_RAM_GFN) * 4096.
 *   FAKEXEN_GNTTAB  path of the grant table file: an array of struct
 *                   fakexen_grant indexed by grant ref (may be rewritten
 *                   while the backend runs; it is read at each map).
 *   FAKEXEN_DOMID   the guest's domain id (default 1): any other domid is
 *                   refused (ESRCH).
 *   FAKEXEN_STATS   path of a file the shim creates and keeps the
 *                   counters below in (shared mapping, updated atomically
 *                   before each call returns).
 *   FAKEXEN_VERBOSE if set, one line per close on stderr.
 *
 * Behaviour, as the real libraries on Linux:
 *   - a map names refs/gfns; each 4 KiB page is mapped MAP_SHARED from the
 *     RAM file at one contiguous fresh address, with the prot asked for;
 *   - a writable map of a read-only grant fails (EPERM, as
 *     GNTST_permission_denied), an invalid ref fails (EINVAL), nothing
 *     stays mapped on failure;
 *   - unmap must name exactly the address and count of a live mapping
 *     (the real library checks with IOCTL_GNTDEV_GET_OFFSET_FOR_VADDR),
 *     else it fails with EINVAL and counts a bad unmap;
 *   - close unmaps what is left and counts it as leaked.
 */
#ifndef VHD_FAKEXEN_H
#define VHD_FAKEXEN_H

#include <stdint.h>

#define FAKEXEN_GRANT_VALID     1u
#define FAKEXEN_GRANT_READONLY  2u

/* One grant table entry: ref r grants page `gfn` of the RAM file. */
struct fakexen_grant {
	uint32_t flags;         /* FAKEXEN_GRANT_* */
	uint32_t pad;
	uint64_t gfn;           /* page index in the RAM file */
};

#define FAKEXEN_STATS_MAGIC 0x6e6578656b6166ull /* "fakexen" */

/* Counters (all cumulative except *_live*). */
struct fakexen_stats {
	uint64_t magic;
	uint64_t gnt_opens, gnt_closes;
	uint64_t gnt_maps;              /* successful grant map calls */
	uint64_t gnt_unmaps;
	uint64_t gnt_pages;             /* pages mapped, over all calls */
	uint64_t gnt_ro_maps;           /* maps with PROT_READ only */
	uint64_t gnt_live;              /* grant mappings alive now */
	uint64_t gnt_live_pages;
	uint64_t gnt_refused;           /* writable map of a read-only grant */
	uint64_t gnt_invalid;           /* bad ref, domid, count or prot */
	uint64_t fm_opens, fm_closes;
	uint64_t fm_maps, fm_unmaps, fm_live, fm_bad_gfns;
	uint64_t bad_unmaps;            /* unmap of no live mapping */
	uint64_t leaked;                /* still mapped when a handle closed */
};

#endif

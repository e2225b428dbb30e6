/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Guest memory, internal: the seam between the table code (mem-table.c)
 * and a region *kind* -- how one region's memory reaches this process.
 * Nothing outside src/mem/ (and its unit tests) includes this header;
 * callers see only guest-mem.h.
 *
 * Kinds:
 *  - unix (mem-unix.c, always built): xen_flags == 0, mmap of the fd.
 *  - Xen foreign / grant / grant-no-advance (mem-xen.c, built only with
 *    HAVE_XEN): gm_xen_kind() picks one from the flags.
 *
 * The table code does everything that does not depend on the kind:
 * generic validation (size, u64 overflows, overlaps, region count, fd < 0),
 * fd ownership, reference counting, copy-on-write tables, address lookup,
 * splitting a buffer at region boundaries and iovec bookkeeping.
 *
 * What a kind must do:
 *  - deferred: false if map() makes the whole region addressable (then
 *    the region's uva range must not overlap another direct region's),
 *    true if buffers are mapped per request through map_segs() (then the
 *    uva is ignored: Xen no-advance regions all carry uva 0).
 *  - check(): reject descriptions the kind cannot serve (e.g. Xen requires
 *    mmap_offset == 0 and a valid flag combination) with -EINVAL.  Called
 *    before anything is mapped; must not touch the fd.
 *  - map(): called once when a region enters its first table.  The fd is
 *    *borrowed*: the table code closes it after map() returns, success or
 *    not, so a kind that needs it later must dup() it.  On success set
 *    r->host to the host address of r->desc.gpa if the whole region is now
 *    directly addressable ("direct" kinds: unix, foreign, grant in
 *    advance), or leave it NULL ("deferred" kinds: grant no-advance), and
 *    keep whatever unmap() needs in r->map_base / r->map_len / r->priv.
 *    On failure return -errno with nothing left mapped or allocated.
 *  - unmap(): undo map(); called exactly once, when the last table and
 *    the last request referencing the region are gone.  Must not fail.
 *  - same(): optional.  True if an existing region r (whose desc equals d
 *    field by field) is backed by the same memory as fd, so SET_MEM_TABLE
 *    may reuse it instead of mapping again.  NULL = never reuse.
 *  - map_segs()/unmap_segs(): required for deferred kinds, unused for
 *    direct ones.  The table code calls map_segs() once per direction
 *    and *group* of a request: a group is every deferred segment of the
 *    request's readable (or writable) buffers whose region has the same
 *    kind and the same desc.domid.  So the n segments may lie in several
 *    regions: xen-vhost-frontend cuts one guest's grant space into many
 *    adjacent and non-adjacent no-advance regions, and a chain touching
 *    two of them must still cost one map per direction.
 *      segs[i].r is the region holding segment i.  r is segs[0].r, the
 *    group's representative: a kind may take from it only what every
 *    region of the group shares (r->desc.domid, kind-wide state such as
 *    the per-process grant handle in r->priv), never assume a segment
 *    lies inside r.  Segments come in the order of their buffers in the
 *    chain, groups in the order of their first segment.
 *      map_segs() maps the n segments with as few calls as it can (Xen:
 *    one xengnttab_map_domain_grant_refs), sets each segs[i].iov->iov_base
 *    (iov_len is already set) and returns an opaque cookie.  Readable
 *    segments (writable == false) should be mapped read-only.  On failure
 *    nothing of this call stays mapped; the table code unmaps the groups
 *    mapped before it.  unmap_segs() gets the same r and the cookie, runs
 *    before the request is completed (gm_unmap_chain) and must not fail;
 *    every region of the group is alive until then (the request holds
 *    the table).  gm_read() maps through the same grouping, read-only.
 *    Both may be called from any worker thread, concurrently for
 *    different requests: keep per-process handles thread-safe or per
 *    thread.
 *  - seg_granule(): optional, deferred kinds.  A power of two g (bytes),
 *    or 0: the table code then cuts deferred segments so that none
 *    crosses a multiple of g in guest addresses, one iovec per piece.
 *    Xen grants on a kernel whose pages are larger than 4 KiB: gntdev
 *    maps each 4 KiB grant into a kernel page of its own, so two grants
 *    are never adjacent in the process (mem-xen.c).
 *
 * Thread safety of the table code: tables are immutable after
 * construction; reference counts are atomic; a region's fields are
 * written only before it is published in a table.
 */
#ifndef VHD_MEM_BACKEND_H
#define VHD_MEM_BACKEND_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "mem/guest-mem.h"

struct gm_kind;

/* One region, shared by every table that contains it. */
struct gm_region {
	atomic_uint ref;
	const struct gm_kind *kind;
	struct gm_region_desc desc;     /* as validated */
	uint8_t *host;          /* host address of desc.gpa; NULL if deferred */
	void *map_base;         /* kind-private: what unmap() releases */
	size_t map_len;
	dev_t file_dev;         /* kind-private: backing identity for same() */
	ino_t file_ino;
	void *priv;             /* kind-private */
};

/* A piece of one buffer that lies inside one deferred region. */
struct gm_seg {
	uint64_t gpa;
	struct iovec *iov;      /* iov_len set by the table code */
	struct gm_region *r;    /* the region holding [gpa, gpa + iov_len) */
};

struct gm_kind {
	const char *name;
	bool deferred;          /* map() leaves host NULL; map_segs() needed */
	int (*check)(const struct gm_region_desc *d);
	int (*map)(struct gm_region *r, int fd);
	void (*unmap)(struct gm_region *r);
	bool (*same)(const struct gm_region *r, const struct gm_region_desc *d,
		     int fd);
	/* r == segs[0].r; every segs[i].r has r's kind and domid. */
	int (*map_segs)(struct gm_region *r, struct gm_seg *segs, unsigned n,
			bool writable, void **cookie);
	void (*unmap_segs)(struct gm_region *r, void *cookie);
	uint64_t (*seg_granule)(void);
};

/* xen_flags == 0: plain mmap of a memfd/hugetlbfs/tmpfs file. */
extern const struct gm_kind gm_kind_unix;

#ifdef HAVE_XEN
/* mem-xen.c: the kind for non-zero XEN_MMAP flags, or NULL if the
 * combination is invalid (the table code then returns -EINVAL). */
const struct gm_kind *gm_xen_kind(uint32_t xen_flags);
#endif

/*
 * Unit tests only: serve every region with non-zero xen_flags with `k`
 * (NULL restores the normal behaviour).  Lets the tests drive the
 * deferred-kind path of mem-table.c without Xen.  Not thread-safe; call
 * before building tables.
 */
void gm_kind_set_test_override(const struct gm_kind *k);

#endif

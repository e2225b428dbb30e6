/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The Xen frontend's side of the Xen integration tests (docs/xen.md): the
 * grant region table xen-vhost-frontend sends, and the checks on the fake
 * libxen's counters (xen-fx.h) that every test makes.
 *
 * Promises:
 *  - xen_rig_grant_table(): the table for guest memory m whose vrings are
 *    vq[0..nvq): each ring (desc, avail, used) one in-advance grant region
 *    (flags 0x2, uva = our address of it) at its exact grant address
 *    (VHU_XEN_GRANT_ADDR | offset) and size; the rest of [0, size) cut in
 *    order into no-advance grant regions (flags 0xA, uva 0) of at most
 *    `chunk` bytes; every region for domain XEN_RIG_DOMID.  Rings are put
 *    in address order first.  The region count, or 0 when rings overlap,
 *    nvq > XEN_RIG_MAX_QUEUES or the table would not fit `cap` regions.
 *  - xen_rig_send_mem(): a vhu_session_opts.send_mem (opaque: the struct
 *    xen_rig): refuses (-ENOTSUP, with a FAIL line) a backend that did not
 *    offer XEN_MMAP, turns on grant addressing (descriptors carry grant
 *    addresses from then on), attaches the memory to the fake (ref i
 *    grants page i), builds the table into rig->reg (rig->n; -E2BIG when
 *    0) and sends it with SET_MEM_TABLE.  The session must have exactly
 *    rig->nvq queues when nvq is set.  The no-advance region size is
 *    rig->chunk bytes if set, else the memory size / rig->pieces (16 if
 *    pieces is 0).
 *  - xen_rig_wait_live(): true once exactly `want` grant mappings are alive
 *    (checked every 10 ms, for at most XEN_RIG_T_MS); false on the bound.
 *  - xen_rig_check_closed(): after the guest left, waits (XEN_RIG_T_MS at
 *    most) until every gnttab handle is closed and nothing is mapped, then
 *    checks: opens == closes, nothing alive or leaked, maps == unmaps, no
 *    bad unmap.  0, or -1 with one FAIL line on stderr.
 * Not thread-safe; no global state.
 */
#ifndef VHD_TEST_XEN_RIG_H
#define VHD_TEST_XEN_RIG_H

#include <stdbool.h>
#include <stdint.h>

#include "vhu-frontend.h"
#include "xen-fx.h"

#define XEN_RIG_DOMID 5u        /* what xen-fx.c tells the shim */
#define XEN_RIG_MAX_QUEUES 8u   /* struct vhu_session's queue array */
#define XEN_RIG_MAX_REGIONS 32u  /* vhu_send_mem_xen()'s limit */
/* Every wait's failure bound, never a pass condition. */
#define XEN_RIG_T_MS 30000

struct xen_rig {
	struct fx *x;           /* the fake's files (fx_create()d) */
	unsigned nvq;           /* queues the session must have; 0: any */
	uint64_t chunk;         /* no-advance region size at most, bytes */
	unsigned pieces;        /* or memory size / pieces (default 16) */
	struct vhu_xen_region reg[XEN_RIG_MAX_REGIONS];
	unsigned n;             /* regions sent */
};

unsigned xen_rig_grant_table(const struct vhu_mem *m, struct vhu_vq *const *vq, unsigned nvq,
			     uint64_t chunk, struct vhu_xen_region *r, unsigned cap);
int xen_rig_send_mem(void *opaque, struct vhu_session *s);

bool xen_rig_wait_live(const struct fx *x, uint64_t want);
int xen_rig_check_closed(const struct fx *x);
/* No grant map was invalid or refused and no unmap named an unknown
 * mapping so far: 0, or -1 with the counts on stderr. */
int xen_rig_check_maps(const struct fx *x);

/* CLOCK_MONOTONIC in ms. */
int64_t xen_rig_now_ms(void);

#endif

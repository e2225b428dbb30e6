/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Packed virtqueue, device side (virtio 1.2, 2.8 "Packed Virtqueues"):
 * reading available descriptors, writing used ones, both event
 * suppression structures.  Contract in virtqueue.h; layout in vring.h.
 * virtqueue.c dispatches here when VIRTIO_F_RING_PACKED is negotiated;
 * the element bookkeeping (held list, unpop, release) is shared.
 *
 * Policies decided here, the packed twins of the split checklist
 * (docs/architecture.md, "Ring walker"):
 *  - The ring state (next avail / next used position, from
 *    SET_VRING_BASE) must lie inside the ring: else the queue breaks at
 *    its first pop rather than read or write past the descriptor ring.
 *  - A list (descriptors chained by NEXT in ring order) takes at most the
 *    descriptors the ring holds besides those already in flight: more
 *    means the driver made available again a descriptor we have not used
 *    yet, or a list that wraps onto itself (the split ring's "loop").
 *  - INDIRECT: only with VIRTIO_RING_F_INDIRECT_DESC negotiated, never
 *    with NEXT and never after chained descriptors (2.8.6: "each list only
 *    contains descriptors of a given type"); the table is a non-zero
 *    multiple of 16 bytes, at most chain_cap entries, inside guest memory.
 *    In the table only WRITE counts (2.8.7: NEXT, INDIRECT and the ID are
 *    ignored, so a table has no loops and no nesting).
 *  - Buffers: no zero length, no address overflow, readable before
 *    writable, at most 4 GiB in total, inside guest memory (as split).
 *  - The buffer ID is the one in the last descriptor of the list (2.8.6)
 *    and is reported back as it is: the driver matches it.
 *  - Barriers (2.8.21, as QEMU's virtio core): the head descriptor's
 *    flags are read with acquire before the rest of the list; a used
 *    descriptor's flags are stored with release after its ID and length;
 *    full fences before reading the driver's event suppression and after
 *    publishing our own wish for kicks.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "log.h"
#include "vq/vq-priv.h"
#include "vq/vring.h"

#define POS_MASK 0x7fffu

/* ---- ring state ---------------------------------------------------------- */

/* Both wrap counters start at 1 (2.8.1), both positions at 0. */
#define PACKED_FRESH_BASE 0x80008000u

void vq_packed_decode_base(struct virtqueue *q)
{
	uint32_t b = q->base_set ? q->base : PACKED_FRESH_BASE;

	q->last_avail_idx = (uint16_t)(b & POS_MASK);
	q->avail_wrap = b & (1u << 15);
	q->used_idx = (uint16_t)((b >> 16) & POS_MASK);
	q->used_wrap = b & (1u << 31);
}

uint32_t vq_packed_base(const struct virtqueue *q)
{
	return (uint32_t)q->last_avail_idx | (q->avail_wrap ? 1u << 15 : 0) |
	       (uint32_t)q->used_idx << 16 | (q->used_wrap ? 1u << 31 : 0);
}

static inline void advance(const struct virtqueue *q, uint16_t *pos, bool *wrap,
			   unsigned n)
{
	unsigned p = *pos + n;

	if (p >= q->num) {
		p -= q->num;
		*wrap = !*wrap;
	}
	*pos = (uint16_t)p;
}

/* Available: AVAIL matches our wrap counter, USED does not (2.8.1). */
static inline bool desc_avail(uint16_t flags, bool wrap)
{
	return !!(flags & VRING_PACKED_DESC_F_AVAIL) == wrap &&
	       !!(flags & VRING_PACKED_DESC_F_USED) != wrap;
}

/* Bytes 8-15 of a descriptor: len, id, flags (little-endian). */
static inline uint64_t desc_hi(const struct vring_packed_desc *d, int order)
{
	const uint64_t *w = (const uint64_t *)(const void *)d;

	return le64toh(__atomic_load_n(&w[1], order));
}

static inline uint64_t desc_addr(const struct vring_packed_desc *d)
{
	const uint64_t *w = (const uint64_t *)(const void *)d;

	return le64toh(__atomic_load_n(&w[0], __ATOMIC_RELAXED));
}

static inline uint16_t hi_flags(uint64_t hi) { return (uint16_t)(hi >> 48); }
static inline uint16_t hi_id(uint64_t hi) { return (uint16_t)(hi >> 32); }
static inline uint32_t hi_len(uint64_t hi) { return (uint32_t)hi; }

bool vq_packed_has_avail(const struct virtqueue *q)
{
	if (q->last_avail_idx >= q->num)
		return false;
	return desc_avail(hi_flags(desc_hi(&q->pdesc[q->last_avail_idx],
					   __ATOMIC_ACQUIRE)), q->avail_wrap);
}

/* ---- walking a list ------------------------------------------------------ */

struct walk {
	struct gm_buf *buf;
	unsigned n, n_wr;
	uint64_t rd_total, wr_total;
	uint16_t head;
};

/* One buffer of the list (ring entry or table entry idx, `where` names
 * which): the split walker's buffer checks. */
static int add_buf(struct virtqueue *q, struct walk *w, uint64_t addr,
		   uint32_t len, bool writable, const char *where, unsigned idx)
{
	if (unlikely(len == 0))
		return vq_fail(q, "head %u: %sdescriptor %u has a zero-length buffer at 0x%llx",
			       w->head, where, idx, (unsigned long long)addr);
	if (unlikely(len - 1 > UINT64_MAX - addr))
		return vq_fail(q, "head %u: %sdescriptor %u: buffer 0x%llx + %u overflows",
			       w->head, where, idx, (unsigned long long)addr, len);
	if (writable) {
		w->n_wr++;
		w->wr_total += len;
	} else {
		if (unlikely(w->n_wr))
			return vq_fail(q, "head %u: %sdescriptor %u is device-readable after a device-writable one",
				       w->head, where, idx);
		w->rd_total += len;
	}
	if (unlikely(w->rd_total + w->wr_total > UINT32_MAX))
		return vq_fail(q, "head %u: chain is longer than 4 GiB (%llu bytes so far)",
			       w->head, (unsigned long long)(w->rd_total + w->wr_total));
	if (unlikely(w->n == q->chain_cap))
		return vq_fail(q, "head %u: chain has more than %u buffers",
			       w->head, q->chain_cap);
	w->buf[w->n].addr = addr;
	w->buf[w->n].len = len;
	w->n++;
	return 0;
}

/* The indirect table named by ring descriptor `pos` (addr, len, flags
 * read once by the caller). */
static int walk_indirect(struct virtqueue *q, struct walk *w, unsigned pos,
			 uint64_t addr, uint32_t len, uint16_t flags,
			 unsigned ring_n)
{
	const struct vring_packed_desc *t = vq_scratch_ind(q);
	unsigned cnt = len / sizeof(struct vring_packed_desc);
	int r;

	if (!q->indirect)
		return vq_fail(q, "head %u: descriptor %u is INDIRECT but INDIRECT_DESC was not negotiated",
			       w->head, pos);
	if (flags & VRING_DESC_F_NEXT)
		return vq_fail(q, "head %u: descriptor %u has both INDIRECT and NEXT",
			       w->head, pos);
	if (ring_n > 1)
		return vq_fail(q, "head %u: descriptor %u is INDIRECT after chained descriptors (a packed list has one kind)",
			       w->head, pos);
	if (len == 0 || len % sizeof(struct vring_packed_desc))
		return vq_fail(q, "head %u: indirect table length %u is not a non-zero multiple of 16",
			       w->head, len);
	if (cnt > q->chain_cap)
		return vq_fail(q, "head %u: indirect table of %u descriptors exceeds the limit %u",
			       w->head, cnt, q->chain_cap);
	/* Copied out: one read of guest memory, and it may span regions. */
	if (gm_read(q->mem, addr, vq_scratch_ind(q), len) < 0)
		return vq_fail(q, "head %u: indirect table at 0x%llx, %u bytes, is outside guest memory",
			       w->head, (unsigned long long)addr, len);
	for (unsigned i = 0; i < cnt; i++) {
		uint16_t fl = le16toh(t[i].flags);

		r = add_buf(q, w, le64toh(t[i].addr), le32toh(t[i].len),
			    fl & VRING_DESC_F_WRITE, "indirect ", i);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Walk the list starting at the next position (whose bytes 8-15 the
 * caller read with acquire: hi) into the scratch buffers.  *id = its
 * buffer ID, *ndesc = ring descriptors it takes.
 */
static int walk_list(struct virtqueue *q, uint64_t hi, struct chain *c,
		     uint16_t *id, unsigned *ndesc)
{
	unsigned limit = q->num - q->inflight_descs, ring_n = 0;
	unsigned pos = q->last_avail_idx;
	struct walk w = { .buf = vq_scratch(q), .head = q->last_avail_idx };
	int r;

	for (;;) {
		const struct vring_packed_desc *d = &q->pdesc[pos];
		uint64_t addr = desc_addr(d);
		uint16_t flags = hi_flags(hi);

		ring_n++;
		if (unlikely(flags & VRING_DESC_F_INDIRECT)) {
			r = walk_indirect(q, &w, pos, addr, hi_len(hi), flags, ring_n);
			if (r < 0)
				return r;
			*id = hi_id(hi);
			break;
		}
		r = add_buf(q, &w, addr, hi_len(hi), flags & VRING_DESC_F_WRITE,
			    "", pos);
		if (r < 0)
			return r;
		if (!(flags & VRING_DESC_F_NEXT)) {
			*id = hi_id(hi);
			break;
		}
		if (unlikely(ring_n >= limit))
			return vq_fail(q, "head %u: list runs over %u descriptors, more than the ring holds besides the %u in flight (queue size %u)",
				       w.head, ring_n, q->inflight_descs, q->num);
		if (++pos == q->num)
			pos = 0;
		/* Ordered after the head's acquire: the driver makes the
		 * head available last (2.8.6). */
		hi = desc_hi(&q->pdesc[pos], __ATOMIC_RELAXED);
	}
	c->n_rd = w.n - w.n_wr;
	c->n_wr = w.n_wr;
	c->rd_len = (uint32_t)w.rd_total;
	c->wr_len = (uint32_t)w.wr_total;
	*ndesc = ring_n;
	return 0;
}

/* ---- event suppression --------------------------------------------------- */

/* Device area: our wish for available buffer notifications (2.8.10).
 * The offset is written before the flags that make it count. */
static void set_device_event(struct virtqueue *q, uint16_t flags)
{
	struct vring_packed_event *ev = q->device_event;

	if (flags == VRING_PACKED_EVENT_F_DESC) {
		uint16_t ow = (uint16_t)(q->last_avail_idx |
					 (q->avail_wrap ? VRING_PACKED_EVENT_WRAP : 0));

		__atomic_store_n(&ev->off_wrap, htole16(ow), __ATOMIC_RELAXED);
	}
	if (flags != q->dev_event_flags) {
		__atomic_store_n(&ev->flags, htole16(flags), __ATOMIC_RELEASE);
		q->dev_event_flags = flags;
	}
}

void vq_packed_set_kicks(struct virtqueue *q, bool on)
{
	if (!on)
		set_device_event(q, VRING_PACKED_EVENT_F_DISABLE);
	else
		set_device_event(q, q->event_idx ? VRING_PACKED_EVENT_F_DESC
						 : VRING_PACKED_EVENT_F_ENABLE);
}

bool vq_packed_want_call(struct virtqueue *q)
{
	uint16_t now = (uint16_t)(q->used_idx |
				  (q->used_wrap ? VRING_PACKED_EVENT_WRAP : 0));
	uint16_t old = q->signalled_used;
	bool valid = q->signalled_used_valid;
	uint16_t flags, off_wrap;

	if (valid && old == now)
		return false;   /* nothing used since the last decision */
	/* Our used descriptors are visible before we read the driver's
	 * suppression structure (pairs with the driver's barrier). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->signalled_used = now;
	q->signalled_used_valid = true;
	if (q->notify_on_empty && q->inflight == 0 && !vq_packed_has_avail(q))
		return true;    /* ran out of buffers: notify even if suppressed */
	flags = le16toh(__atomic_load_n(&q->driver_event->flags, __ATOMIC_RELAXED)) & 3u;
	if (flags == VRING_PACKED_EVENT_F_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_F_DESC || !q->event_idx || !valid)
		return true;    /* ENABLE; DESC without EVENT_IDX or the reserved
				 * value 3: an extra interrupt is harmless */
	off_wrap = le16toh(__atomic_load_n(&q->driver_event->off_wrap,
					   __ATOMIC_RELAXED));
	return vring_packed_need_event(off_wrap, q->used_wrap, q->used_idx,
				       old & POS_MASK, q->num);
}

/* ---- pop and publish ----------------------------------------------------- */

int vq_packed_pop(struct virtqueue *q, struct vq_elem **out)
{
	struct vq_elem_priv *p = NULL;
	struct chain c = { 0 };
	uint16_t head = q->last_avail_idx, id = 0;
	unsigned ndesc = 0;
	uint64_t hi;
	int r;

	if (unlikely(head >= q->num || q->used_idx >= q->num))
		return vq_fail(q, "ring state (next avail %u, next used %u) is outside the ring of %u descriptors",
			       head, q->used_idx, q->num);
	/* Acquire: the rest of the list is read after the head's flags. */
	hi = desc_hi(&q->pdesc[head], __ATOMIC_ACQUIRE);
	if (!desc_avail(hi_flags(hi), q->avail_wrap))
		return -EAGAIN;
	if (unlikely(q->inflight_descs >= q->num))
		return vq_fail(q, "descriptor %u made available while all %u descriptors are in flight",
			       head, q->num);

	r = walk_list(q, hi, &c, &id, &ndesc);
	if (r < 0)
		return r;
	r = vq_map_chain(q, head, &c, &p);
	if (r < 0)
		return r;

	p->e.head = id;
	p->e.rd_len = c.rd_len;
	p->e.wr_len = c.wr_len;
	p->pos = (uint16_t)(head | (q->avail_wrap ? VRING_PACKED_EVENT_WRAP : 0));
	p->ndesc = (uint16_t)ndesc;
	vq_hold(q, p);
	advance(q, &q->last_avail_idx, &q->avail_wrap, ndesc);
	/* Kicks on: ask for one when the driver makes the next one
	 * available. */
	if (q->event_idx && !q->kicks_off)
		set_device_event(q, VRING_PACKED_EVENT_F_DESC);
	*out = &p->e;
	return 0;
}

void vq_packed_publish(struct virtqueue *q, uint16_t id, uint16_t ndesc,
		       uint32_t written)
{
	struct vring_packed_desc *d;
	uint16_t flags = q->used_wrap ? (VRING_PACKED_DESC_F_AVAIL |
					 VRING_PACKED_DESC_F_USED) : 0;

	if (unlikely(q->used_idx >= q->num)) {
		vq_fail(q, "next used position %u is outside the ring of %u descriptors",
			q->used_idx, q->num);
		return;
	}
	d = &q->pdesc[q->used_idx];
	if (written)
		flags |= VRING_DESC_F_WRITE;
	__atomic_store_n(&d->id, htole16(id), __ATOMIC_RELAXED);
	__atomic_store_n(&d->len, htole32(written), __ATOMIC_RELAXED);
	/* Release: ID and length are visible before the flags that make
	 * the descriptor used. */
	__atomic_store_n(&d->flags, htole16(flags), __ATOMIC_RELEASE);
	advance(q, &q->used_idx, &q->used_wrap, ndesc ? ndesc : 1);
}

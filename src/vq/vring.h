/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The split virtqueue layout (virtio 1.x, 2.7), shared by the device side
 * (virtqueue.c) and by tools that play the driver (they build rings with
 * these structures).  Our own definitions: <linux/virtio_ring.h> is not
 * included so the layout stays the one written here on every host.
 *
 * Every ring field is little-endian (VERSION_1); convert with
 * le16toh/htole16 and friends from <endian.h>.  The structures only give
 * offsets: a ring lives in guest memory that the other side changes
 * concurrently, so read each field once (the device walker copies each
 * descriptor before looking at it).
 *
 * Sizes for queue size N (a power of two, at most 32768):
 *   descriptor table  16 * N        bytes, 16-aligned
 *   available ring    6 + 2 * N     bytes, 2-aligned  (flags, idx, ring[N], used_event)
 *   used ring         6 + 8 * N     bytes, 4-aligned  (flags, idx, ring[N], avail_event)
 */
#ifndef VHD_VRING_H
#define VHD_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Descriptor flags. */
#define VRING_DESC_F_NEXT      1u  /* chain continues at .next */
#define VRING_DESC_F_WRITE     2u  /* device-writable buffer */
#define VRING_DESC_F_INDIRECT  4u  /* buffer is a table of descriptors */

/* avail->flags: the driver does not want used-buffer notifications
 * (ignored by the device when EVENT_IDX is negotiated). */
#define VRING_AVAIL_F_NO_INTERRUPT 1u
/* used->flags: the device does not want kicks (without EVENT_IDX). */
#define VRING_USED_F_NO_NOTIFY     1u

/* Feature bits of the ring itself (same values as vhost-user/proto.h). */
#ifndef VIRTIO_F_NOTIFY_ON_EMPTY
#define VIRTIO_F_NOTIFY_ON_EMPTY      24
#endif
#ifndef VIRTIO_RING_F_INDIRECT_DESC
#define VIRTIO_RING_F_INDIRECT_DESC   28
#endif
#ifndef VIRTIO_RING_F_EVENT_IDX
#define VIRTIO_RING_F_EVENT_IDX       29
#endif

#define VRING_DESC_ALIGN  16u
#define VRING_AVAIL_ALIGN 2u
#define VRING_USED_ALIGN  4u

struct vring_desc {
	uint64_t addr;          /* le64: guest physical address */
	uint32_t len;           /* le32 */
	uint16_t flags;         /* le16: VRING_DESC_F_* */
	uint16_t next;          /* le16: next index if F_NEXT */
};

struct vring_avail {
	uint16_t flags;         /* le16: VRING_AVAIL_F_* */
	uint16_t idx;           /* le16: free-running */
	uint16_t ring[];        /* le16 heads; ring[N] is used_event */
};

struct vring_used_elem {
	uint32_t id;            /* le32: head of the completed chain */
	uint32_t len;           /* le32: bytes written to writable buffers */
};

struct vring_used {
	uint16_t flags;         /* le16: VRING_USED_F_* */
	uint16_t idx;           /* le16: free-running */
	struct vring_used_elem ring[]; /* then le16 avail_event */
};

_Static_assert(sizeof(struct vring_desc) == 16, "vring_desc layout");
_Static_assert(sizeof(struct vring_avail) == 4, "vring_avail layout");
_Static_assert(sizeof(struct vring_used_elem) == 8, "vring_used_elem layout");
_Static_assert(offsetof(struct vring_used, ring) == 4, "vring_used layout");

static inline size_t vring_desc_size(unsigned num)
{
	return (size_t)16 * num;
}

/* Including used_event (present whether or not EVENT_IDX is used). */
static inline size_t vring_avail_size(unsigned num)
{
	return 6 + (size_t)2 * num;
}

/* Including avail_event. */
static inline size_t vring_used_size(unsigned num)
{
	return 6 + (size_t)8 * num;
}

/* Driver -> device: "interrupt me when used idx passes this". */
static inline uint16_t *vring_used_event(struct vring_avail *a, unsigned num)
{
	return &a->ring[num];
}

/* Device -> driver: "kick me when avail idx passes this". */
static inline uint16_t *vring_avail_event(struct vring_used *u, unsigned num)
{
	return (uint16_t *)(void *)&u->ring[num];
}

/*
 * EVENT_IDX: the index moved from old to new_idx; does that cross event
 * (i.e. is event in [old, new_idx) modulo 2^16)?  All arithmetic is u16,
 * so it holds across the wrap at 65535.
 */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx,
				    uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/*
 * The packed layout (virtio 1.2, 2.8 "Packed Virtqueues"), negotiated by
 * VIRTIO_F_RING_PACKED.  Sizes for queue size N (1..32768, any N):
 *   descriptor ring           16 * N bytes, 16-aligned  (vhost-user "desc")
 *   driver event suppression  4 bytes, 4-aligned        (vhost-user "avail")
 *   device event suppression  4 bytes, 4-aligned        (vhost-user "used")
 * A descriptor is available when its AVAIL bit equals the reader's ring
 * wrap counter and its USED bit does not; used when both equal the
 * writer's wrap counter (2.8.1).  Both wrap counters start at 1.
 */
#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED          34
#endif
#define VRING_PACKED_MAX_SIZE         32768u

#define VRING_PACKED_DESC_F_AVAIL     (1u << 7)
#define VRING_PACKED_DESC_F_USED      (1u << 15)

/* Event suppression flags (2.8.10). */
#define VRING_PACKED_EVENT_F_ENABLE   0u
#define VRING_PACKED_EVENT_F_DISABLE  1u
#define VRING_PACKED_EVENT_F_DESC     2u   /* only with EVENT_IDX */
/* off_wrap: bits 0-14 ring offset, bit 15 wrap counter. */
#define VRING_PACKED_EVENT_WRAP       (1u << 15)

#define VRING_PACKED_EVENT_ALIGN      4u

struct vring_packed_desc {
	uint64_t addr;          /* le64 */
	uint32_t len;           /* le32 */
	uint16_t id;            /* le16: buffer ID (in the last of a list) */
	uint16_t flags;         /* le16: VRING_DESC_F_* and AVAIL/USED */
};

struct vring_packed_event {
	uint16_t off_wrap;      /* le16 */
	uint16_t flags;         /* le16: VRING_PACKED_EVENT_F_* */
};

_Static_assert(sizeof(struct vring_packed_desc) == 16, "vring_packed_desc layout");
_Static_assert(sizeof(struct vring_packed_event) == 4, "vring_packed_event layout");

static inline size_t vring_packed_event_size(void)
{
	return sizeof(struct vring_packed_event);
}

/*
 * Packed EVENT_IDX: should the writer signal, having moved its position
 * from old to new_pos (both in 0..num-1; new_pos <= old means it went
 * past the end of the ring) with its wrap counter now `wrap`, for the
 * event offset/wrap the reader asked for?  An event in the previous lap
 * is moved back by num so that plain u16 arithmetic applies.
 */
static inline bool vring_packed_need_event(uint16_t off_wrap, bool wrap,
					   uint16_t new_pos, uint16_t old,
					   unsigned num)
{
	uint16_t off = off_wrap & (uint16_t)~VRING_PACKED_EVENT_WRAP;

	if (new_pos <= old)
		old = (uint16_t)(old - num);
	if (wrap != !!(off_wrap & VRING_PACKED_EVENT_WRAP))
		off = (uint16_t)(off - num);
	return vring_need_event(off, new_pos, old);
}

#endif

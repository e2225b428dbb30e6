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

#endif

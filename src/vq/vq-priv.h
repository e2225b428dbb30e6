/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Virtqueue internals shared by the split walker (virtqueue.c) and the
 * packed one (packed.c).  Not for the vhost-user layer or devices: they
 * use virtqueue.h.
 */
#ifndef VHD_VQ_PRIV_H
#define VHD_VQ_PRIV_H

#include "vq/virtqueue.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* What vq_pop allocates: the public element, then core-private fields,
 * then the iovec array (one allocation per request). */
struct vq_elem_priv {
	struct vq_elem e;
	struct vq_elem_priv *prev, *next;   /* q->held or q->stale, pop order */
	uint16_t pos;           /* where it was popped: split avail index;
				 * packed ring position | wrap << 15 */
	uint16_t ndesc;         /* ring descriptors it takes (packed) */
	struct iovec iov[];
};

static inline struct vq_elem_priv *elem_priv(struct vq_elem *e)
{
	return (struct vq_elem_priv *)e;
}

/* A walked chain: its buffers are in the walk scratch (vq_scratch). */
struct chain {
	unsigned n_rd, n_wr;
	uint32_t rd_len, wr_len;
};

const char *vq_name(const struct virtqueue *q);

/* Mark the queue broken because of what the driver wrote; returns -EIO. */
int vq_fail(struct virtqueue *q, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), cold));

/* The chain walk buffers of the calling thread, chain_cap entries each
 * (reserved by vq_pop before it walks). */
struct gm_buf *vq_scratch(const struct virtqueue *q);
void *vq_scratch_ind(const struct virtqueue *q);

/* Map the walked chain into a new element (not yet on the held list). */
int vq_map_chain(struct virtqueue *q, uint16_t head, const struct chain *c,
		 struct vq_elem_priv **out);

/* Put a freshly mapped element on the held list. */
void vq_hold(struct virtqueue *q, struct vq_elem_priv *p);

/* ---- packed ring (packed.c) ------------------------------------------ */

int vq_packed_pop(struct virtqueue *q, struct vq_elem **out);
void vq_packed_publish(struct virtqueue *q, uint16_t id, uint16_t ndesc,
		       uint32_t written);
/* Decide whether to call the driver (suppression read); updates the
 * signalled position. */
bool vq_packed_want_call(struct virtqueue *q);
void vq_packed_set_kicks(struct virtqueue *q, bool on);
/* Is the descriptor at the next position available (acquire)? */
bool vq_packed_has_avail(const struct virtqueue *q);
void vq_packed_decode_base(struct virtqueue *q);
uint32_t vq_packed_base(const struct virtqueue *q);

#endif

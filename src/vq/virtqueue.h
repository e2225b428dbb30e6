/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Virtqueue: the device side of a split ring (virtio 1.x, 2.7) or, when
 * VIRTIO_F_RING_PACKED is negotiated, of a packed ring (virtio 1.2, 2.8).
 *
 * Promises:
 *  - Everything read from the ring is hostile.  vq_pop() checks every item
 *    of the validation checklist (docs/architecture.md, "Ring walker"):
 *    avail idx jumps, head and next indices, loops and chain length,
 *    indirect tables (length, alignment, nesting, INDIRECT+NEXT, indirect
 *    after chained descriptors), readable-after-writable, zero-length and
 *    out-of-memory buffers, u32 overflow of the total, too many requests in
 *    flight.  Each descriptor is read once into a local copy.  A packed
 *    ring has the same checks, adapted to its layout (docs/architecture.md,
 *    "Packed rings"): ring state outside the ring, chains longer than the
 *    free ring, INDIRECT mixed with other descriptors in one list, more
 *    descriptors in flight than the ring holds.
 *  - On a violation the queue goes *broken*: sticky until the ring is set
 *    up again (vq_reset), logged once, the err eventfd signalled once; the
 *    other queues and the connection go on.  vq_pop returns -EIO from then
 *    on; completing elements popped earlier stays safe.
 *  - Buffers are mapped through guest-mem (gm_map_chain) when popped and
 *    unmapped in vq_push before the used entry is published.
 *  - Barriers as QEMU's virtio core places them (docs/architecture.md,
 *    "Ring walker"; virtio 1.2, 2.7.13): acquire on avail->idx, release on
 *    used->idx, full fences before reading used_event/flags and after
 *    re-enabling notifications.
 *  - EVENT_IDX both ways (used_event for our calls, avail_event for the
 *    driver's kicks) and NO_INTERRUPT / NO_NOTIFY without it.
 *  - Devices use only vq_pop/vq_push/vq_notify/vq_*_notify/vq_broken and the
 *    vq_elem fields; the rest is for the vhost-user layer.  The ring format
 *    is internal: split and packed rings behind the same calls (for a
 *    packed ring vq_elem.head is the buffer ID).
 *  - Held elements: a device may keep any number of popped elements and
 *    vq_push them later in any order (the used entry carries the head, so
 *    the driver matches completions itself; virtio 1.x 2.7.8).  The queue
 *    tracks every popped-not-pushed element in pop order, so nothing can be
 *    forgotten: vq_release_held() gives back the ones that may be popped
 *    again and completes the others (see there); the vhost-user layer calls
 *    it whenever a queue stops.  vq_push/vq_unpop find the element on that
 *    list by address before touching it, so a push of an element the queue
 *    does not hold (pushed twice, released, given to the wrong queue)
 *    publishes nothing, reads nothing and is logged.  The search starts at
 *    the newest pop: O(1) for in-order devices, O(held) at worst.
 *  - Not thread-safe: one queue is used by one thread at a time (the
 *    connection's worker, or the queue's own thread, vhost-device.h).
 */
#ifndef VHD_VIRTQUEUE_H
#define VHD_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/guest-mem.h"

#define VQ_MAX_SIZE      32768u   /* split ring limit */
/* Longest chain accepted: a queue's size, but at least 515 because Windows
 * drivers exceed the queue size (yc-libvhost-server's bound). */
#define VQ_MIN_CHAIN_CAP 515u

/* One request popped from the ring. */
struct vq_elem {
	uint16_t head;          /* descriptor index reported in the used ring */
	uint16_t n_rd;          /* device-readable iovecs (driver -> device) */
	uint16_t n_wr;          /* device-writable iovecs (device -> driver) */
	uint32_t rd_len;        /* total readable bytes */
	uint32_t wr_len;        /* total writable bytes (capacity) */
	struct iovec *rd;       /* n_rd entries */
	struct iovec *wr;       /* n_wr entries */
	struct gm_mapping map;  /* core-private */
	void *dev_data;         /* free for the device's use */
};

struct vring_desc;
struct vring_avail;
struct vring_used;
struct vring_packed_desc;
struct vring_packed_event;
struct vq_elem_priv;

/* Fields are the core's; devices use the functions below. */
struct virtqueue {
	unsigned index;
	unsigned num;               /* queue size, 0 = not set */
	uint64_t desc_uva, avail_uva, used_uva;  /* as SET_VRING_ADDR gave them */
	bool addr_set;

	struct vring_desc *desc;    /* translated (NULL until vq_attach_mem ok) */
	struct vring_avail *avail;
	struct vring_used *used;
	struct gm_table *mem;       /* reference */

	/* Packed ring (packed true): the same three areas. */
	bool packed;                /* VIRTIO_F_RING_PACKED negotiated */
	struct vring_packed_desc *pdesc;          /* descriptor ring */
	struct vring_packed_event *driver_event;  /* driver area: we read */
	struct vring_packed_event *device_event;  /* device area: we write */
	bool avail_wrap, used_wrap; /* ring wrap counters (2.8.1) */
	unsigned inflight_descs;    /* ring descriptors popped, not yet used */
	uint16_t dev_event_flags;   /* last flags written to device_event */
	uint32_t base;              /* last SET_VRING_BASE value */
	bool base_set;              /* else packed starts at 0 with wrap 1 */

	/* Split: free-running indices.  Packed: ring positions 0..num-1. */
	uint16_t last_avail_idx;    /* next avail entry to pop */
	uint16_t used_idx;          /* our shadow of used->idx */
	uint16_t signalled_used;    /* used idx at our last call (packed: + wrap bit 15) */
	bool signalled_used_valid;
	unsigned inflight;          /* popped, not yet pushed (= held list length) */
	/* Popped-not-pushed elements, oldest pop first, and the ones a
	 * vq_reset let go of (still their owner's to push, publishing
	 * nothing).  Core-private links. */
	struct vq_elist { struct vq_elem_priv *first, *last; } held, stale;

	bool event_idx;             /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;              /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	bool notify_on_empty;
	bool kicks_off;             /* vq_disable_notify in effect */
	uint32_t gen;               /* ring incarnation, bumped by vq_reset */
	uint32_t pops;              /* requests popped (wraps), for pollers */

	int call_fd;                /* -1 = none */
	int err_fd;                 /* -1 = none */
	bool broken;
	const char *log_name;       /* e.g. "rng0.sock0 q0", for log lines */

	/* Longest chain accepted; the walk buffers are the thread's
	 * (virtqueue.c). */
	unsigned chain_cap;
};

/* ---- control side (vhost-user layer) -------------------------------- */

void vq_init(struct virtqueue *q, unsigned index, const char *log_name);
/* Free held elements, drop the memory reference, close call/err fds.
 * The queue must have no element in flight. */
void vq_destroy(struct virtqueue *q);

/* SET_VRING_NUM: 1..max_size (max_size <= VQ_MAX_SIZE), a power of two
 * unless the ring is packed (2.8.10.1: any size).  -EINVAL otherwise;
 * -EBUSY while elements are in flight. */
int vq_set_num(struct virtqueue *q, unsigned num, unsigned max_size);
/* SET_VRING_ADDR: remembered; translated by vq_attach_mem.
 * -EINVAL on misalignment (desc 16, avail 2, used 4; packed: 16, 4, 4). */
int vq_set_addr(struct virtqueue *q, uint64_t desc_uva, uint64_t avail_uva,
		uint64_t used_uva);
/*
 * SET_VRING_BASE / GET_VRING_BASE, vhost-user.rst "Ring states":
 * split: bits 0-15 the next avail index; packed: bits 0-14 the next
 * descriptor to read, bit 15 its wrap counter, bits 16-30 the next used
 * position, bit 31 the used wrap counter.  The value is decoded for the
 * ring format negotiated when the ring is used (vq_set_features again
 * decodes the last value).  A packed position outside the ring breaks the
 * queue at its first pop.
 */
void vq_set_base(struct virtqueue *q, uint32_t base);
uint32_t vq_get_base(const struct virtqueue *q);
/* Ring features.  A change of ring format forgets the translated rings
 * (they are translated again, for their new sizes, by vq_attach_mem). */
void vq_set_features(struct virtqueue *q, uint64_t features);

/* (Re)translate the ring addresses in table t, each for its full size,
 * and take a reference on t (dropping the previous one).  Call after
 * SET_VRING_ADDR and after every memory table change.  -EFAULT if a ring
 * is not wholly inside one region (queue not usable until fixed), -EINVAL
 * if num or the addresses are unset.  On success also resets used_idx
 * from the ring (used->idx) so a restarted ring continues where it was. */
int vq_attach_mem(struct virtqueue *q, struct gm_table *t);

/* Replace the call / err fd (takes ownership, closes the old; -1 = none).
 * The fd is made non-blocking: a signal never blocks the worker, whatever
 * kind of fd the frontend passed (a full pipe drops the signal). */
void vq_set_call_fd(struct virtqueue *q, int fd);
void vq_set_err_fd(struct virtqueue *q, int fd);
/* Signal the call fd now, whatever the driver's suppression says. */
void vq_call(struct virtqueue *q);

/* Forget ring addresses and broken state (ring set up again / reset).
 * Keeps call/err fds and memory.  Elements still held (the vhost-user
 * layer releases them before; only a direct caller can leave some) stay
 * allocated for their owner, but are no longer held: their vq_push frees
 * them and publishes nothing. */
void vq_reset(struct virtqueue *q);

/*
 * Resolve every held element, so that the next avail index (vq_get_base)
 * lets the driver continue with no request lost or repeated.  On either
 * ring format the index can only be rewound over a *suffix* of the popped
 * sequence: the held elements popped after the last element that was
 * pushed.  Those are given back (as vq_unpop, newest first) and will be
 * popped again; each other held element is completed (oldest first),
 * because rewinding over it would hand the driver the pushed ones again.
 *
 * `cancel(e, give_back, opaque)` is called for each element first: the
 * owner forgets e (its references, e->dev_data).  With give_back false
 * it may write its "cancelled" status into e->wr and returns the bytes
 * written (clamped to wr_len); with give_back true the result is
 * ignored.  cancel may be NULL (0-byte completions).  Afterwards used
 * idx - avail base is what it was when the ring started: a frontend that
 * lost the connection and restarts the ring from used->idx (QEMU does)
 * neither skips nor repeats a request.  Returns the number completed
 * (the caller notifies); *given_back (may be NULL) = the number given
 * back.
 */
typedef uint32_t (*vq_cancel_fn)(struct vq_elem *e, bool give_back, void *opaque);
unsigned vq_release_held(struct virtqueue *q, vq_cancel_fn cancel, void *opaque,
			 unsigned *given_back);

/* True when the ring can be processed (size, addresses translated). */
bool vq_ready(const struct virtqueue *q);

/* For polling (vhost-user layer): does the ring hold a request not
 * popped yet?  One acquire load; false when not ready or broken. */
bool vq_avail_pending(const struct virtqueue *q);

/* ---- data side (devices) ------------------------------------------- */

/*
 * Pop the next request.  0 and *out set; -EAGAIN when the ring is empty;
 * -EIO when the queue is (or just went) broken; -ENOMEM.
 * The element stays mapped until vq_push (or vq_unpop).
 */
int vq_pop(struct virtqueue *q, struct vq_elem **out);

/* Complete a request: unmap its buffers, publish a used entry with
 * `written` bytes (clamped to wr_len), free the element.  Does not notify.
 * Any held element, in any order.  An element that is not held by q
 * (pushed twice, released by vq_release_held, given to the wrong queue)
 * is refused with a log line and not touched; one popped before vq_reset
 * is freed, publishing nothing. */
void vq_push(struct virtqueue *q, struct vq_elem *e, uint32_t written);

/* Give an unprocessed element back: unmap, free, and rewind
 * last_avail_idx so it is popped again.  Only the most recent pop can be
 * given back (repeat for older ones, newest first); any other element is
 * completed with 0 bytes instead, with a log line (rewinding over a
 * pushed element would make the driver see it completed twice). */
void vq_unpop(struct virtqueue *q, struct vq_elem *e);

/* Signal the call eventfd if the driver wants an interrupt for the used
 * entries published since the last call (EVENT_IDX / NO_INTERRUPT). */
void vq_notify(struct virtqueue *q);

/* Ask the driver not to kick us (we are polling). */
void vq_disable_notify(struct virtqueue *q);
/* Ask for kicks again.  Returns true if buffers arrived meanwhile (the
 * caller must process them: the driver will not kick for those). */
bool vq_enable_notify(struct virtqueue *q);

bool vq_broken(const struct virtqueue *q);
/* Mark broken from outside (a device found the request malformed beyond
 * recovery); logs reason once. */
void vq_mark_broken(struct virtqueue *q, const char *reason);

/* ---- iovec helpers -------------------------------------------------- */

/* Copy from/to an iovec array starting at byte `offset`; returns the
 * bytes copied (less than len when the iovecs end). */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset,
		  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset,
		    const void *buf, size_t len);

#endif

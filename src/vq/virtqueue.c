/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Virtqueue, device side: ring setup (control) and the per-request path
 * (pop, push, notifications) of the split ring, and the calls shared with
 * the packed ring (packed.c).  Contract in virtqueue.h; ring layout in
 * vring.h; the rules are virtio 1.2, 2.7 "Split Virtqueues" (barriers:
 * 2.7.13 "Supplying Buffers to The Device" and 2.7.7/2.7.10 on notification
 * suppression) and the validation list of docs/architecture.md, "Ring
 * walker".
 *
 * Policies decided here:
 *  - INDIRECT without VIRTIO_RING_F_INDIRECT_DESC negotiated is a driver
 *    bug (spec: MUST NOT) and breaks the queue, like any other violation.
 *    The core always offers the feature, so no correct driver meets this.
 *  - Chains: at most chain_cap = max(num, VQ_MIN_CHAIN_CAP) buffers in
 *    total (main table plus indirect table); at most num descriptors
 *    visited in the main table and len/16 in an indirect table (more means
 *    a loop).
 *  - Zero-length buffers are rejected (libvhost-user does the same; no
 *    driver we serve sends them).
 *  - A violation leaves last_avail_idx on the offending head: nothing more
 *    is popped from a broken queue, and GET_VRING_BASE reports where the
 *    device stopped.
 *  - The chain walk buffers (chain_cap buffers and an indirect table copy,
 *    16 KiB for the usual queue sizes) belong to the thread, not to the
 *    queue: a walk never outlives one vq_pop and a queue is used by one
 *    thread at a time, so one set per worker serves all its queues (256
 *    guests would otherwise hold 4 MiB of them, docs/benchmarks.md
 *    "Scale").  They grow to the largest chain_cap the thread met and are
 *    freed when the thread ends.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "vq/vq-priv.h"
#include "vq/vring.h"

/* Extra iovecs beyond one per buffer, for buffers that cross regions. */
#define VQ_IOV_SLACK 8u

static const char *qname(const struct virtqueue *q)
{
	return q->log_name ? q->log_name : "virtqueue";
}

const char *vq_name(const struct virtqueue *q)
{
	return qname(q);
}

/* ---- broken state ----------------------------------------------------- */

static void signal_fd(int fd)
{
	uint64_t one = 1;

	/* EAGAIN: the counter is saturated (or a pipe the frontend passed
	 * is full), a signal is pending anyway. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG_DEBUG("eventfd %d: write failed: %s", fd, strerror(errno));
}

/* A notification must never block the worker: the frontend may pass any
 * kind of fd as call or err fd (the write end of a pipe, a socket), and a
 * blocking write to a full one would stall every ring and message of the
 * connection.  So the fd is made non-blocking when it arrives.  The flag
 * belongs to the open file description the frontend shares with us;
 * QEMU's own eventfds are created non-blocking anyway. */
static int take_notify_fd(struct virtqueue *q, int fd)
{
	int fl;

	if (fd < 0)
		return fd;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		LOG_WARN("%s: cannot make notification fd %d non-blocking: %s; notifications to it are dropped",
			 qname(q), fd, strerror(errno));
	else
		return fd;
	close(fd);
	return -1;
}

static void __attribute__((format(printf, 2, 0)))
go_broken(struct virtqueue *q, const char *fmt, va_list ap)
{
	char why[256];

	if (q->broken)
		return;
	q->broken = true;
	vsnprintf(why, sizeof(why), fmt, ap);
	if (q->log_name)
		LOG_ERR("%s: virtqueue broken, stopped until it is set up again: %s",
			q->log_name, why);
	else
		LOG_ERR("queue %u: virtqueue broken, stopped until it is set up again: %s",
			q->index, why);
	if (q->err_fd >= 0)
		signal_fd(q->err_fd);
}

int __attribute__((noinline))
vq_fail(struct virtqueue *q, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	go_broken(q, fmt, ap);
	va_end(ap);
	return -EIO;
}

void vq_mark_broken(struct virtqueue *q, const char *reason)
{
	vq_fail(q, "%s", reason ? reason : "marked broken by the device");
}

bool vq_broken(const struct virtqueue *q)
{
	return q->broken;
}

/* ---- control side ------------------------------------------------------ */

static void drop_rings(struct virtqueue *q)
{
	q->desc = NULL;
	q->avail = NULL;
	q->used = NULL;
	q->pdesc = NULL;
	q->driver_event = NULL;
	q->device_event = NULL;
	q->dev_event_flags = 0xffff;    /* unknown: written at the next use */
}

void vq_init(struct virtqueue *q, unsigned index, const char *log_name)
{
	memset(q, 0, sizeof(*q));
	q->index = index;
	q->log_name = log_name;
	q->call_fd = -1;
	q->err_fd = -1;
	q->dev_event_flags = 0xffff;
}

static void list_append(struct vq_elist *l, struct vq_elem_priv *p)
{
	p->next = NULL;
	p->prev = l->last;
	if (l->last)
		l->last->next = p;
	else
		l->first = p;
	l->last = p;
}

static void list_unlink(struct vq_elist *l, struct vq_elem_priv *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		l->first = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		l->last = p->prev;
	p->prev = p->next = NULL;
}

/* Is p on l?  Compares addresses only: p itself is not read, so a freed
 * or foreign pointer is found absent without touching it.  Newest first:
 * in-order devices push the element they just popped. */
static bool list_has(const struct vq_elist *l, const struct vq_elem_priv *p)
{
	for (const struct vq_elem_priv *i = l->last; i; i = i->prev)
		if (i == p)
			return true;
	return false;
}

static void held_unlink(struct virtqueue *q, struct vq_elem_priv *p)
{
	list_unlink(&q->held, p);
	if (q->inflight)
		q->inflight--;
	q->inflight_descs -= p->ndesc <= q->inflight_descs ? p->ndesc
							     : q->inflight_descs;
}

void vq_hold(struct virtqueue *q, struct vq_elem_priv *p)
{
	list_append(&q->held, p);
	q->inflight++;
	q->inflight_descs += p->ndesc;
}

static void elem_free(struct vq_elem_priv *p)
{
	gm_unmap_chain(&p->e.map);
	free(p);
}

void vq_destroy(struct virtqueue *q)
{
	if (q->inflight)
		LOG_WARN("%s: destroyed with %u requests in flight", qname(q),
			 q->inflight);
	/* The owner is gone with the connection: free what it held.  (A
	 * later push of one of these finds it on no list: ignored.) */
	while (q->held.first) {
		struct vq_elem_priv *p = q->held.first;

		held_unlink(q, p);
		elem_free(p);
	}
	while (q->stale.first) {
		struct vq_elem_priv *p = q->stale.first;

		list_unlink(&q->stale, p);
		elem_free(p);
	}
	gm_table_unref(q->mem);
	if (q->call_fd >= 0)
		close(q->call_fd);
	if (q->err_fd >= 0)
		close(q->err_fd);
	vq_init(q, q->index, q->log_name);
}

int vq_set_num(struct virtqueue *q, unsigned num, unsigned max_size)
{
	unsigned cap;

	if (max_size == 0 || max_size > VQ_MAX_SIZE)
		max_size = VQ_MAX_SIZE;
	if (num == 0 || num > max_size || (!q->packed && (num & (num - 1))))
		return -EINVAL;
	if (q->inflight)
		return -EBUSY;
	cap = num > VQ_MIN_CHAIN_CAP ? num : VQ_MIN_CHAIN_CAP;
	q->chain_cap = cap;
	if (num != q->num)
		drop_rings(q);  /* sizes changed: translate again */
	q->num = num;
	return 0;
}

int vq_set_addr(struct virtqueue *q, uint64_t desc_uva, uint64_t avail_uva,
		uint64_t used_uva)
{
	size_t avail_align = q->packed ? VRING_PACKED_EVENT_ALIGN : VRING_AVAIL_ALIGN;
	size_t used_align = q->packed ? VRING_PACKED_EVENT_ALIGN : VRING_USED_ALIGN;

	if (desc_uva % VRING_DESC_ALIGN || avail_uva % avail_align ||
	    used_uva % used_align)
		return -EINVAL;
	/* QEMU re-sends the same addresses on a running ring (log flag);
	 * keep the translation then, vq_attach_mem refreshes it. */
	if (!q->addr_set || desc_uva != q->desc_uva ||
	    avail_uva != q->avail_uva || used_uva != q->used_uva)
		drop_rings(q);
	q->desc_uva = desc_uva;
	q->avail_uva = avail_uva;
	q->used_uva = used_uva;
	q->addr_set = true;
	return 0;
}

static void decode_base(struct virtqueue *q)
{
	if (q->packed)
		vq_packed_decode_base(q);
	else
		q->last_avail_idx = (uint16_t)q->base;
	q->signalled_used_valid = false;
}

void vq_set_base(struct virtqueue *q, uint32_t base)
{
	q->base = base;
	q->base_set = true;
	decode_base(q);
}

uint32_t vq_get_base(const struct virtqueue *q)
{
	return q->packed ? vq_packed_base(q) : q->last_avail_idx;
}

void vq_set_features(struct virtqueue *q, uint64_t features)
{
	bool packed = features & (1ull << VIRTIO_F_RING_PACKED);

	q->event_idx = features & (1ull << VIRTIO_RING_F_EVENT_IDX);
	q->indirect = features & (1ull << VIRTIO_RING_F_INDIRECT_DESC);
	q->notify_on_empty = features & (1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	if (packed != q->packed) {
		/* Other layout, other sizes: never use a translation made
		 * for the other one. */
		q->packed = packed;
		drop_rings(q);
		decode_base(q);
		/* A packed ring may have any size, a split one not: set
		 * again before use. */
		if (!packed && (q->num & (q->num - 1)))
			q->num = 0;
	}
}

/* Host pointer of ring `what`, or NULL (logged) if not wholly inside one
 * region or not aligned in our mapping (an odd mmap_offset could do that;
 * the ring fields are accessed atomically and must be aligned). */
static void *ring_ptr(struct virtqueue *q, struct gm_table *t,
		      const char *what, uint64_t uva, size_t len, size_t align)
{
	void *p = gm_uva_to_ptr(t, uva, len);

	if (!p) {
		LOG_WARN("%s: %s ring at 0x%llx, %zu bytes (queue size %u), is not inside one memory region",
			 qname(q), what, (unsigned long long)uva, len, q->num);
		return NULL;
	}
	if ((uintptr_t)p % align) {
		LOG_WARN("%s: %s ring at 0x%llx maps to a host address not %zu-aligned (region mmap_offset?)",
			 qname(q), what, (unsigned long long)uva, align);
		return NULL;
	}
	return p;
}

int vq_attach_mem(struct virtqueue *q, struct gm_table *t)
{
	struct vring_desc *d;
	struct vring_avail *a;
	struct vring_used *u;

	if (!q->num || !q->addr_set)
		return -EINVAL;
	drop_rings(q);
	if (t != q->mem) {
		if (t)
			gm_table_ref(t);
		gm_table_unref(q->mem);
		q->mem = t;
	}
	if (q->packed) {
		struct vring_packed_desc *pd;
		struct vring_packed_event *drv, *dev;

		pd = ring_ptr(q, t, "descriptor", q->desc_uva,
			      (size_t)16 * q->num, VRING_DESC_ALIGN);
		drv = ring_ptr(q, t, "driver event", q->avail_uva,
			       vring_packed_event_size(), VRING_PACKED_EVENT_ALIGN);
		dev = ring_ptr(q, t, "device event", q->used_uva,
			       vring_packed_event_size(), VRING_PACKED_EVENT_ALIGN);
		if (!pd || !drv || !dev)
			return -EFAULT;
		/* The used position comes with SET_VRING_BASE: the ring
		 * has no index to read it back from. */
		q->pdesc = pd;
		q->driver_event = drv;
		q->device_event = dev;
		q->signalled_used_valid = false;
		return 0;
	}
	d = ring_ptr(q, t, "descriptor", q->desc_uva, vring_desc_size(q->num),
		     VRING_DESC_ALIGN);
	a = ring_ptr(q, t, "available", q->avail_uva, vring_avail_size(q->num),
		     VRING_AVAIL_ALIGN);
	u = ring_ptr(q, t, "used", q->used_uva, vring_used_size(q->num),
		     VRING_USED_ALIGN);
	if (!d || !a || !u)
		return -EFAULT;
	q->desc = d;
	q->avail = a;
	q->used = u;
	/* A restarted ring continues where the used index is. */
	q->used_idx = le16toh(__atomic_load_n(&u->idx, __ATOMIC_ACQUIRE));
	q->signalled_used_valid = false;
	return 0;
}

void vq_set_call_fd(struct virtqueue *q, int fd)
{
	if (q->call_fd >= 0 && q->call_fd != fd)
		close(q->call_fd);
	q->call_fd = take_notify_fd(q, fd);
}

void vq_set_err_fd(struct virtqueue *q, int fd)
{
	if (q->err_fd >= 0 && q->err_fd != fd)
		close(q->err_fd);
	q->err_fd = take_notify_fd(q, fd);
}

void vq_call(struct virtqueue *q)
{
	if (q->call_fd >= 0)
		signal_fd(q->call_fd);
}

void vq_reset(struct virtqueue *q)
{
	if (q->inflight)
		LOG_WARN("%s: ring reset with %u requests in flight: their completions will be dropped",
			 qname(q), q->inflight);
	/* Their owner may still push them: keep them allocated, not held. */
	while (q->held.first) {
		struct vq_elem_priv *p = q->held.first;

		held_unlink(q, p);
		list_append(&q->stale, p);
	}
	drop_rings(q);
	q->addr_set = false;
	q->desc_uva = q->avail_uva = q->used_uva = 0;
	q->broken = false;
	q->inflight = 0;
	q->inflight_descs = 0;
	q->gen++;
	q->signalled_used_valid = false;
	q->kicks_off = false;
}

bool vq_ready(const struct virtqueue *q)
{
	if (q->packed)
		return q->num && q->pdesc && q->driver_event && q->device_event;
	return q->num && q->desc && q->avail && q->used;
}

/* ---- the calling thread's walk buffers ------------------------------------ */

struct walk_scratch {
	struct gm_buf *buf;     /* cap entries */
	void *ind;              /* cap descriptors (16 bytes, both formats) */
	unsigned cap;
};

static __thread struct walk_scratch *thread_scratch;
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static bool scratch_key_ok;

static void scratch_free(void *p)
{
	struct walk_scratch *ws = p;

	if (!ws)
		return;
	free(ws->buf);
	free(ws->ind);
	free(ws);
}

static void scratch_key_create(void)
{
	scratch_key_ok = pthread_key_create(&scratch_key, scratch_free) == 0;
}

/* Make the calling thread's buffers hold cap entries: 0 or -ENOMEM. */
static int scratch_reserve(unsigned cap)
{
	struct walk_scratch *ws = thread_scratch;
	struct gm_buf *b;
	void *d;

	if (likely(ws && ws->cap >= cap))
		return 0;
	if (!ws) {
		pthread_once(&scratch_once, scratch_key_create);
		ws = calloc(1, sizeof(*ws));
		if (!ws)
			return -ENOMEM;
		thread_scratch = ws;
		/* Freed at thread exit; without a key (never seen) they stay
		 * for the process's life, reachable from the thread. */
		if (scratch_key_ok)
			pthread_setspecific(scratch_key, ws);
	}
	b = malloc(cap * sizeof(*b));
	d = malloc(cap * sizeof(struct vring_desc));
	if (!b || !d) {
		free(b);
		free(d);
		return -ENOMEM;
	}
	free(ws->buf);
	free(ws->ind);
	ws->buf = b;
	ws->ind = d;
	ws->cap = cap;
	return 0;
}

struct gm_buf *vq_scratch(const struct virtqueue *q)
{
	(void)q;
	return thread_scratch->buf;
}

void *vq_scratch_ind(const struct virtqueue *q)
{
	(void)q;
	return thread_scratch->ind;
}

/* ---- ring access -------------------------------------------------------- */

/* Read one descriptor exactly once (two aligned 8-byte loads: the driver
 * may rewrite it while we look, and we must act on one version). */
static inline void desc_read(const struct vring_desc *src, struct vring_desc *d)
{
	const uint64_t *w = (const uint64_t *)(const void *)src;
	uint64_t lo = le64toh(__atomic_load_n(&w[0], __ATOMIC_RELAXED));
	uint64_t hi = le64toh(__atomic_load_n(&w[1], __ATOMIC_RELAXED));

	/* Bytes 8-11 len, 12-13 flags, 14-15 next, all little-endian. */
	d->addr = lo;
	d->len = (uint32_t)hi;
	d->flags = (uint16_t)(hi >> 32);
	d->next = (uint16_t)(hi >> 48);
}

static inline uint16_t avail_idx_acquire(const struct virtqueue *q)
{
	return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
}

static inline void set_avail_event(struct virtqueue *q, uint16_t v)
{
	__atomic_store_n(vring_avail_event(q->used, q->num), htole16(v),
			 __ATOMIC_RELAXED);
}

/* ---- pop ---------------------------------------------------------------- */

/*
 * Walk the chain at head into the walk buffers: readable buffers first, then
 * writable ones (anything else is rejected), checklist items 3-8.
 */
static int walk_chain(struct virtqueue *q, uint16_t head, struct chain *c)
{
	const struct vring_desc *table = q->desc;
	struct gm_buf *buf = vq_scratch(q);
	unsigned max = q->num, idx = head, seen = 0, n = 0, n_wr = 0;
	uint64_t rd_total = 0, wr_total = 0;
	bool in_ind = false;
	const char *where = "";

	for (;;) {
		struct vring_desc d;

		if (unlikely(++seen > max))
			return vq_fail(q, "head %u: descriptor loop (more than %u descriptors in the %s table)",
				       head, max, in_ind ? "indirect" : "descriptor");
		desc_read(&table[idx], &d);

		if (unlikely(d.flags & VRING_DESC_F_INDIRECT)) {
			unsigned cnt = d.len / sizeof(struct vring_desc);

			if (in_ind)
				return vq_fail(q, "head %u: nested indirect descriptor (indirect entry %u)",
					       head, idx);
			if (!q->indirect)
				return vq_fail(q, "head %u: descriptor %u is INDIRECT but INDIRECT_DESC was not negotiated",
					       head, idx);
			if (d.flags & VRING_DESC_F_NEXT)
				return vq_fail(q, "head %u: descriptor %u has both INDIRECT and NEXT",
					       head, idx);
			if (d.len == 0 || d.len % sizeof(struct vring_desc))
				return vq_fail(q, "head %u: indirect table length %u is not a non-zero multiple of 16",
					       head, d.len);
			if (cnt > q->chain_cap)
				return vq_fail(q, "head %u: indirect table of %u descriptors exceeds the limit %u",
					       head, cnt, q->chain_cap);
			/* Copy it out: one read of guest memory, and it may
			 * span regions. */
			if (gm_read(q->mem, d.addr, vq_scratch_ind(q), d.len) < 0)
				return vq_fail(q, "head %u: indirect table at 0x%llx, %u bytes, is outside guest memory",
					       head, (unsigned long long)d.addr, d.len);
			table = vq_scratch_ind(q);
			max = cnt;
			idx = 0;
			seen = 0;
			in_ind = true;
			where = "indirect ";
			continue;
		}

		if (unlikely(d.len == 0))
			return vq_fail(q, "head %u: %sdescriptor %u has a zero-length buffer at 0x%llx",
				       head, where, idx, (unsigned long long)d.addr);
		if (unlikely(d.len - 1 > UINT64_MAX - d.addr))
			return vq_fail(q, "head %u: %sdescriptor %u: buffer 0x%llx + %u overflows",
				       head, where, idx, (unsigned long long)d.addr, d.len);
		if (d.flags & VRING_DESC_F_WRITE) {
			n_wr++;
			wr_total += d.len;
		} else {
			if (unlikely(n_wr))
				return vq_fail(q, "head %u: %sdescriptor %u is device-readable after a device-writable one",
					       head, where, idx);
			rd_total += d.len;
		}
		if (unlikely(rd_total + wr_total > UINT32_MAX))
			return vq_fail(q, "head %u: chain is longer than 4 GiB (%llu bytes so far)",
				       head, (unsigned long long)(rd_total + wr_total));
		if (unlikely(n == q->chain_cap))
			return vq_fail(q, "head %u: chain has more than %u buffers",
				       head, q->chain_cap);
		buf[n].addr = d.addr;
		buf[n].len = d.len;
		n++;

		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (unlikely(d.next >= max))
			return vq_fail(q, "head %u: %sdescriptor %u: next %u is out of range (table of %u)",
				       head, where, idx, d.next, max);
		idx = d.next;
	}
	c->n_rd = n - n_wr;
	c->n_wr = n_wr;
	c->rd_len = (uint32_t)rd_total;
	c->wr_len = (uint32_t)wr_total;
	return 0;
}

/* gm_map_chain said -EFAULT: find which buffer, for the log line. */
static int __attribute__((noinline, cold))
fail_unmapped(struct virtqueue *q, uint16_t head, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct iovec iov[GM_MAX_REGIONS];
		struct gm_mapping m;
		unsigned nr, nw;
		const struct gm_buf *b = &vq_scratch(q)[i];

		if (gm_map_chain(q->mem, b, 1, NULL, 0, iov, GM_MAX_REGIONS,
				 &nr, &nw, &m) == 0) {
			gm_unmap_chain(&m);
			continue;
		}
		return vq_fail(q, "head %u: buffer %u of %u (0x%llx, %u bytes) is outside guest memory",
			       head, i, n, (unsigned long long)b->addr, b->len);
	}
	return vq_fail(q, "head %u: a buffer of the chain is outside guest memory",
		       head);
}

int vq_map_chain(struct virtqueue *q, uint16_t head, const struct chain *c,
		     struct vq_elem_priv **out)
{
	unsigned n = c->n_rd + c->n_wr;
	unsigned cap = n + VQ_IOV_SLACK;
	struct vq_elem_priv *p;
	unsigned nr = 0, nw = 0;
	struct gm_buf *buf = vq_scratch(q);
	int r;

	for (;;) {
		p = malloc(sizeof(*p) + cap * sizeof(struct iovec));
		if (!p)
			return -ENOMEM;
		r = gm_map_chain(q->mem, buf, c->n_rd, buf + c->n_rd, c->n_wr,
				 p->iov, cap, &nr, &nw, &p->e.map);
		if (r != -ENOBUFS || cap >= n * GM_MAX_REGIONS)
			break;
		/* Many region crossings: no buffer splits into more pieces
		 * than there are regions. */
		free(p);
		cap = n * GM_MAX_REGIONS;
	}
	if (r < 0) {
		free(p);
		if (r == -ENOMEM)
			return r;
		if (r == -EFAULT)
			return fail_unmapped(q, head, n);
		return vq_fail(q, "head %u: mapping %u buffers failed: %s",
			       head, n, strerror(-r));
	}
	if (nr > UINT16_MAX || nw > UINT16_MAX) {
		gm_unmap_chain(&p->e.map);
		free(p);
		return vq_fail(q, "head %u: %u + %u iovecs after region splits, more than an element holds",
			       head, nr, nw);
	}
	*out = p;
	p->e.n_rd = (uint16_t)nr;
	p->e.n_wr = (uint16_t)nw;
	p->e.rd = p->iov;
	p->e.wr = p->iov + nr;
	p->e.dev_data = NULL;
	p->ndesc = 1;
	return 0;
}

static int split_pop(struct virtqueue *q, struct vq_elem **out)
{
	struct vq_elem_priv *p = NULL;
	struct chain c = { 0 };
	uint16_t avail_idx, pending, head;
	int r;

	/* Acquire: the ring entry and descriptors are read after idx. */
	avail_idx = avail_idx_acquire(q);
	pending = (uint16_t)(avail_idx - q->last_avail_idx);
	if (pending == 0)
		return -EAGAIN;
	if (unlikely(pending > q->num))
		return vq_fail(q, "avail idx moved from %u to %u (more than queue size %u)",
			       q->last_avail_idx, avail_idx, q->num);
	if (unlikely(q->inflight >= q->num))
		return vq_fail(q, "more than queue size %u requests in flight (avail idx %u)",
			       q->num, avail_idx);

	head = le16toh(__atomic_load_n(&q->avail->ring[q->last_avail_idx & (q->num - 1)],
				       __ATOMIC_RELAXED));
	if (unlikely(head >= q->num))
		return vq_fail(q, "avail ring entry %u: head %u out of range (queue size %u)",
			       q->last_avail_idx, head, q->num);

	r = walk_chain(q, head, &c);
	if (r < 0)
		return r;
	r = vq_map_chain(q, head, &c, &p);
	if (r < 0)
		return r;

	p->e.head = head;
	p->e.rd_len = c.rd_len;
	p->e.wr_len = c.wr_len;
	p->pos = q->last_avail_idx;
	vq_hold(q, p);
	q->last_avail_idx++;
	/* Kicks on: ask for one when the driver adds past what we took. */
	if (q->event_idx && !q->kicks_off)
		set_avail_event(q, q->last_avail_idx);
	*out = &p->e;
	return 0;
}

int vq_pop(struct virtqueue *q, struct vq_elem **out)
{
	int r;

	*out = NULL;
	if (unlikely(q->broken))
		return -EIO;
	if (unlikely(!vq_ready(q)))
		return -EAGAIN;
	if (unlikely(scratch_reserve(q->chain_cap) < 0))
		return -ENOMEM;
	r = q->packed ? vq_packed_pop(q, out) : split_pop(q, out);
	if (r == 0)
		q->pops++;
	return r;
}

bool vq_avail_pending(const struct virtqueue *q)
{
	if (!vq_ready(q) || q->broken)
		return false;
	if (q->packed)
		return vq_packed_has_avail(q);
	return avail_idx_acquire(q) != q->last_avail_idx;
}

/* ---- push / unpop / release ---------------------------------------------- */

/*
 * Check that e is held by q, by address (e is not read before).  True:
 * unlinked, still mapped (the caller publishes or rewinds, then frees).
 * False: nothing to publish; e was freed when vq_reset had let go of it,
 * and is left alone when it is no element of q at all.
 */
static bool elem_take(struct virtqueue *q, struct vq_elem *e, const char *op)
{
	struct vq_elem_priv *p = elem_priv(e);

	if (likely(list_has(&q->held, p))) {
		held_unlink(q, p);
		return true;
	}
	if (list_has(&q->stale, p)) {
		/* Popped before vq_reset: its ring is gone. */
		LOG_DEBUG("%s: %s of a request popped before the ring was reset: dropped",
			  qname(q), op);
		list_unlink(&q->stale, p);
		elem_free(p);
		return false;
	}
	LOG_ERR("%s: %s of a request this queue does not hold (completed twice, released at a stop, or another queue's): ignored",
		qname(q), op);
	return false;
}

/* Publish a used entry for head (q ready). */
static void used_publish(struct virtqueue *q, uint16_t head, uint32_t written)
{
	struct vring_used_elem *u = &q->used->ring[q->used_idx & (q->num - 1)];

	u->id = htole32(head);
	u->len = htole32(written);
	q->used_idx++;
	/* Release: the entry is visible before the index that covers it. */
	__atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
}

void vq_push(struct virtqueue *q, struct vq_elem *e, uint32_t written)
{
	uint16_t head, ndesc;

	if (!elem_take(q, e, "push"))
		return;
	head = e->head;
	ndesc = elem_priv(e)->ndesc;
	if (written > e->wr_len)
		written = e->wr_len;
	/* Unmap before the driver may reuse the buffers. */
	elem_free(elem_priv(e));
	if (unlikely(!vq_ready(q)))
		return;
	if (q->packed)
		vq_packed_publish(q, head, ndesc, written);
	else
		used_publish(q, head, written);
}

/* Where the next pop reads, in vq_elem_priv.pos form. */
static uint16_t next_pos(const struct virtqueue *q)
{
	return q->packed ? (uint16_t)(q->last_avail_idx |
				      (q->avail_wrap ? VRING_PACKED_EVENT_WRAP : 0))
			 : q->last_avail_idx;
}

/* Where the pop after p read (p's position plus its descriptors). */
static uint16_t pos_after(const struct virtqueue *q, const struct vq_elem_priv *p)
{
	unsigned idx, wrap;

	if (!q->packed)
		return (uint16_t)(p->pos + 1);
	idx = (p->pos & 0x7fffu) + p->ndesc;
	wrap = p->pos & VRING_PACKED_EVENT_WRAP;
	if (q->num && idx >= q->num) {
		idx -= q->num;
		wrap ^= VRING_PACKED_EVENT_WRAP;
	}
	return (uint16_t)(idx | wrap);
}

/* True if p is the most recent pop (only that one can be rewound). */
static bool is_last_pop(const struct virtqueue *q, const struct vq_elem_priv *p)
{
	return p == q->held.last && pos_after(q, p) == next_pos(q);
}

void vq_unpop(struct virtqueue *q, struct vq_elem *e)
{
	struct vq_elem_priv *p = elem_priv(e);

	if (!is_last_pop(q, p) && list_has(&q->held, p)) {
		LOG_ERR("%s: head %u given back after later requests were popped: completed empty instead",
			qname(q), e->head);
		vq_push(q, e, 0);
		return;
	}
	if (!elem_take(q, e, "unpop"))
		return;
	if (q->packed) {
		q->last_avail_idx = p->pos & 0x7fffu;
		q->avail_wrap = p->pos & VRING_PACKED_EVENT_WRAP;
	} else {
		q->last_avail_idx = p->pos;
	}
	elem_free(p);
}

unsigned vq_release_held(struct virtqueue *q, vq_cancel_fn cancel, void *opaque,
			 unsigned *given_back)
{
	unsigned done = 0, back = 0;

	/* The suffix: newest first, as long as each is the latest pop. */
	while (q->held.last && is_last_pop(q, q->held.last)) {
		struct vq_elem *e = &q->held.last->e;

		if (cancel)
			cancel(e, true, opaque);
		vq_unpop(q, e);
		back++;
	}
	/* The rest sit before a pushed element: complete them, oldest
	 * first. */
	while (q->held.first) {
		struct vq_elem *e = &q->held.first->e;
		uint32_t n = cancel ? cancel(e, false, opaque) : 0;

		vq_push(q, e, n);
		done++;
	}
	if (back || done)
		LOG_DEBUG("%s: released held requests: %u given back, %u completed as cancelled",
			  qname(q), back, done);
	if (given_back)
		*given_back = back;
	return done;
}

/* ---- notifications ------------------------------------------------------ */

void vq_notify(struct virtqueue *q)
{
	uint16_t old = q->signalled_used, now = q->used_idx;
	bool valid = q->signalled_used_valid, want;

	if (!vq_ready(q))
		return;
	if (q->packed) {
		if (vq_packed_want_call(q))
			vq_call(q);
		return;
	}
	if (valid && old == now)
		return;         /* nothing published since the last decision */
	/* Our used->idx store is visible before we read the driver's
	 * suppression fields (pairs with the driver's barrier). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->notify_on_empty && q->inflight == 0 &&
	    avail_idx_acquire(q) == q->last_avail_idx) {
		want = true;    /* ran out of buffers: notify even if suppressed */
	} else if (q->event_idx) {
		uint16_t ev = le16toh(__atomic_load_n(vring_used_event(q->avail, q->num),
						      __ATOMIC_RELAXED));

		want = !valid || vring_need_event(ev, now, old);
	} else {
		uint16_t fl = le16toh(__atomic_load_n(&q->avail->flags,
						      __ATOMIC_RELAXED));

		want = !(fl & VRING_AVAIL_F_NO_INTERRUPT);
	}
	q->signalled_used = now;
	q->signalled_used_valid = true;
	if (want)
		vq_call(q);
}

static void set_used_flags(struct virtqueue *q, bool no_notify)
{
	uint16_t fl = le16toh(__atomic_load_n(&q->used->flags, __ATOMIC_RELAXED));

	if (no_notify)
		fl |= VRING_USED_F_NO_NOTIFY;
	else
		fl &= (uint16_t)~VRING_USED_F_NO_NOTIFY;
	__atomic_store_n(&q->used->flags, htole16(fl), __ATOMIC_RELAXED);
}

void vq_disable_notify(struct virtqueue *q)
{
	q->kicks_off = true;
	if (!vq_ready(q))
		return;
	if (q->packed) {
		vq_packed_set_kicks(q, false);
		return;
	}
	/* With EVENT_IDX, avail_event simply stops following our pops: the
	 * driver kicks at most once more. */
	if (!q->event_idx)
		set_used_flags(q, true);
}

bool vq_enable_notify(struct virtqueue *q)
{
	q->kicks_off = false;
	if (!vq_ready(q) || q->broken)
		return false;
	if (q->packed) {
		vq_packed_set_kicks(q, true);
		/* As below: the request for kicks is visible before we
		 * look at the ring again. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return vq_packed_has_avail(q);
	}
	if (q->event_idx)
		set_avail_event(q, q->last_avail_idx);
	else
		set_used_flags(q, false);
	/* Publish the request for kicks before looking at avail idx again:
	 * a buffer added before the driver saw it gets no kick. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return avail_idx_acquire(q) != q->last_avail_idx;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: the driver side of a split virtqueue (contract in
 * vhu-frontend.h; layout in vq/vring.h; barriers per virtio 1.2, 2.7.13
 * "Supplying Buffers to The Device" and 2.7.14 "Receiving Used Buffers
 * From The Device"), or of a packed one when VIRTIO_F_RING_PACKED was
 * acked (virtio 1.2, 2.8.21-2.8.23: lists written head last, buffer IDs
 * from a free list, used descriptors found by the used wrap counter).
 *
 * Bookkeeping (free list, chain links, tokens) is private to this process:
 * nothing is read back from the descriptor table, so a device that
 * scribbles on it cannot confuse the driver.  The only shared fields read
 * are used->idx, used->ring[], used->flags and avail_event, each once.
 *
 * The per-request path makes no system call: adding, publishing and
 * collecting touch only the rings; kicks are written only when the device
 * asked for them, and the call eventfd is only polled when there is
 * nothing to collect.
 */
#include "config.h"
#include "vhu-frontend.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct vhu_slot {
	void *token;
	uint16_t ndesc;         /* descriptors the chain holds in the table */
	bool in_use;
};

struct vhu_vq {
	struct vhu_conn *c;
	struct vhu_mem *m;
	unsigned index;
	unsigned num;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_desc *indirect;    /* num tables of max_indirect entries */
	unsigned max_indirect;
	int kick_fd, call_fd, err_fd;

	uint16_t *next;         /* free-list link / chain link per descriptor */
	struct vhu_slot *slots; /* per head */
	uint16_t free_head;
	unsigned num_free;
	unsigned in_flight;

	uint16_t avail_idx;     /* next avail entry to fill (shadow) */
	uint16_t kicked_idx;    /* avail idx when we last decided about a kick */
	uint16_t last_used;     /* next used entry to collect */
	uint32_t base;          /* SET_VRING_BASE value for the next start */
	bool event_idx;
	bool use_indirect;
	struct vhu_vq_stats stats;

	/* Packed ring: desc is the descriptor ring, avail the driver event
	 * structure, used the device event structure; next[] is the free
	 * list of buffer IDs, slots[] is per ID. */
	bool packed;
	struct vring_packed_desc *pdesc;
	struct vring_packed_event *drv_ev, *dev_ev;
	uint16_t p_next;        /* next slot to fill */
	bool p_wrap;            /* driver ring wrap counter */
	uint16_t p_used;        /* next slot to look for a used descriptor */
	bool p_used_wrap;
	uint16_t p_kicked;      /* p_next | p_wrap << 15 at the last kick decision */
	/* Heads written but not yet made available (vhu_vq_publish). */
	uint16_t *pend_pos, *pend_flags;
	unsigned n_pend;
};

static inline uint16_t load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static inline void store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	return fd < 0 ? -errno : fd;
}

int vhu_vq_create(struct vhu_conn *c, struct vhu_mem *m, unsigned index,
		  const struct vhu_vq_opts *opts, struct vhu_vq **out)
{
	unsigned num = opts->num;
	struct vhu_vq *q;
	int r = -ENOMEM;

	*out = NULL;
	if (num == 0 || num > 32768 || (num & (num - 1)) || index > VHU_VRING_IDX_MASK)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->kick_fd = q->call_fd = q->err_fd = -1;
	q->c = c;
	q->m = m;
	q->index = index;
	q->num = num;
	q->next = calloc(num, sizeof(*q->next));
	q->slots = calloc(num, sizeof(*q->slots));
	if (!q->next || !q->slots)
		goto fail;
	q->packed = vhu_has_feature(c, VIRTIO_F_RING_PACKED);
	if (q->packed) {
		q->pend_pos = calloc(num, sizeof(*q->pend_pos));
		q->pend_flags = calloc(num, sizeof(*q->pend_flags));
		if (!q->pend_pos || !q->pend_flags)
			goto fail;
	}
	/* The used ring on its own cache line: the device writes it while
	 * we write the avail ring. */
	q->desc = vhu_mem_alloc(m, vring_desc_size(num), VRING_DESC_ALIGN);
	q->avail = vhu_mem_alloc(m, vring_avail_size(num), 64);
	q->used = vhu_mem_alloc(m, vring_used_size(num), 64);
	if (!q->desc || !q->avail || !q->used)
		goto fail;
	if (opts->max_indirect) {
		if (opts->max_indirect > 65536 / 16)
			goto inval;
		q->max_indirect = opts->max_indirect;
		q->indirect = vhu_mem_alloc(m, (size_t)num * opts->max_indirect *
					    sizeof(struct vring_desc), VRING_DESC_ALIGN);
		if (!q->indirect)
			goto fail;
	}
	memset(q->desc, 0, vring_desc_size(num));
	memset(q->avail, 0, vring_avail_size(num));
	memset(q->used, 0, vring_used_size(num));
	for (unsigned i = 0; i < num; i++)
		q->next[i] = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = num;
	if (q->packed) {
		/* Same allocations (larger than the 4-byte event structures,
		 * suitably aligned); both wrap counters start at 1 (2.8.1). */
		q->pdesc = (struct vring_packed_desc *)(void *)q->desc;
		q->drv_ev = (struct vring_packed_event *)(void *)q->avail;
		q->dev_ev = (struct vring_packed_event *)(void *)q->used;
		q->p_wrap = q->p_used_wrap = true;
		q->p_kicked = 0x8000;
		q->base = 0x80008000u;
	}

	if ((q->kick_fd = new_eventfd()) < 0 || (q->call_fd = new_eventfd()) < 0 ||
	    (opts->err_fd && (q->err_fd = new_eventfd()) < 0)) {
		r = q->kick_fd < 0 ? q->kick_fd : q->call_fd < 0 ? q->call_fd : q->err_fd;
		goto fail;
	}
	*out = q;
	return 0;
inval:
	r = -EINVAL;
fail:
	vhu_vq_destroy(q);
	return r;
}

void vhu_vq_destroy(struct vhu_vq *q)
{
	if (!q)
		return;
	if (q->kick_fd >= 0)
		close(q->kick_fd);
	if (q->call_fd >= 0)
		close(q->call_fd);
	if (q->err_fd >= 0)
		close(q->err_fd);
	free(q->next);
	free(q->slots);
	free(q->pend_pos);
	free(q->pend_flags);
	free(q);
}

/* Interrupts off: we poll used->idx and ask for an interrupt only in
 * vhu_vq_wait().  With EVENT_IDX "off" is an event already behind us. */
static void disable_cb(struct vhu_vq *q)
{
	if (q->packed) {
		store16(&q->drv_ev->flags, VRING_PACKED_EVENT_F_DISABLE, __ATOMIC_RELAXED);
		return;
	}
	if (q->event_idx)
		store16(vring_used_event(q->avail, q->num), (uint16_t)(q->last_used - 1),
			__ATOMIC_RELAXED);
	else
		store16(&q->avail->flags, VRING_AVAIL_F_NO_INTERRUPT, __ATOMIC_RELAXED);
}

static void enable_cb(struct vhu_vq *q)
{
	if (q->packed) {
		if (q->event_idx) {
			store16(&q->drv_ev->off_wrap, (uint16_t)(q->p_used |
				(q->p_used_wrap ? VRING_PACKED_EVENT_WRAP : 0)), __ATOMIC_RELAXED);
			store16(&q->drv_ev->flags, VRING_PACKED_EVENT_F_DESC, __ATOMIC_RELEASE);
		} else {
			store16(&q->drv_ev->flags, VRING_PACKED_EVENT_F_ENABLE, __ATOMIC_RELAXED);
		}
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return;
	}
	if (q->event_idx)
		store16(vring_used_event(q->avail, q->num), q->last_used, __ATOMIC_RELAXED);
	else
		store16(&q->avail->flags, 0, __ATOMIC_RELAXED);
	/* The device must see the request before we look at used->idx
	 * again (else both sides may decide the other one acts). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

int vhu_vq_start(struct vhu_vq *q)
{
	struct vhu_conn *c = q->c;
	struct vhu_vring_addr a = {
		.index = q->index,
		.flags = 0,
		.desc_uaddr = (uint64_t)(uintptr_t)q->desc,
		.used_uaddr = (uint64_t)(uintptr_t)q->used,
		.avail_uaddr = (uint64_t)(uintptr_t)q->avail,
		.log_guest_addr = vhu_mem_gpa(q->m, q->used),
	};
	int r;

	q->event_idx = vhu_has_feature(c, VIRTIO_RING_F_EVENT_IDX);
	q->use_indirect = vhu_has_feature(c, VIRTIO_RING_F_INDIRECT_DESC) && q->max_indirect;
	disable_cb(q);
	/* The order QEMU 7.2 uses when it starts a ring (vhost_virtqueue_start):
	 * call and err fds, size, base, addresses, kick, enable, and the call
	 * fd once more (as QEMU does after it unmasks the notifier). */
	if ((r = vhu_set_vring_file(c, VHU_SET_VRING_CALL, q->index, q->call_fd)) < 0)
		return r;
	if (q->err_fd >= 0 &&
	    (r = vhu_set_vring_file(c, VHU_SET_VRING_ERR, q->index, q->err_fd)) < 0)
		return r;
	if ((r = vhu_set_state(c, VHU_SET_VRING_NUM, q->index, q->num)) < 0)
		return r;
	if ((r = vhu_set_state(c, VHU_SET_VRING_BASE, q->index, q->base)) < 0)
		return r;
	if ((r = vhu_request(c, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0, NULL, 0)) < 0)
		return r;
	if ((r = vhu_set_vring_file(c, VHU_SET_VRING_KICK, q->index, q->kick_fd)) < 0)
		return r;
	if (vhu_has_feature(c, VHOST_USER_F_PROTOCOL_FEATURES) &&
	    (r = vhu_set_state(c, VHU_SET_VRING_ENABLE, q->index, 1)) < 0)
		return r;
	return vhu_set_vring_file(c, VHU_SET_VRING_CALL, q->index, q->call_fd);
}

int vhu_vq_stop(struct vhu_vq *q, uint16_t *base)
{
	struct vhu_vring_state s = { .index = q->index, .num = 0 };
	int r;

	if (vhu_has_feature(q->c, VHOST_USER_F_PROTOCOL_FEATURES) &&
	    (r = vhu_set_state(q->c, VHU_SET_VRING_ENABLE, q->index, 0)) < 0)
		return r;
	r = vhu_request(q->c, VHU_GET_VRING_BASE, 0, &s, sizeof(s), NULL, 0, &s, sizeof(s));
	if (r < 0)
		return r;
	if (s.index != q->index || (!q->packed && s.num > 0xffff))
		return -EPROTO;
	q->base = s.num;
	if (base)
		*base = (uint16_t)s.num;
	return 0;
}

unsigned vhu_vq_num(const struct vhu_vq *q) { return q->num; }
bool vhu_vq_packed(const struct vhu_vq *q) { return q->packed; }
uint32_t vhu_vq_base(const struct vhu_vq *q) { return q->base; }
unsigned vhu_vq_num_free(const struct vhu_vq *q) { return q->num_free; }
unsigned vhu_vq_in_flight(const struct vhu_vq *q) { return q->in_flight; }
int vhu_vq_kick_fd(const struct vhu_vq *q) { return q->kick_fd; }
int vhu_vq_call_fd(const struct vhu_vq *q) { return q->call_fd; }
int vhu_vq_err_fd(const struct vhu_vq *q) { return q->err_fd; }
struct vring_desc *vhu_vq_desc(const struct vhu_vq *q) { return q->desc; }
struct vring_avail *vhu_vq_avail(const struct vhu_vq *q) { return q->avail; }
struct vring_used *vhu_vq_used(const struct vhu_vq *q) { return q->used; }
const struct vhu_vq_stats *vhu_vq_stats(const struct vhu_vq *q) { return &q->stats; }

static inline void fill_desc(struct vring_desc *d, uint64_t gpa, uint32_t len,
			     uint16_t flags, uint16_t next)
{
	d->addr = htole64(gpa);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Take n descriptors off the free list (already checked available); they
 * stay linked through q->next in order.  Returns the head. */
static uint16_t take(struct vhu_vq *q, unsigned n, uint16_t *last)
{
	uint16_t head = q->free_head, cur = head;

	for (unsigned i = 1; i < n; i++)
		cur = q->next[cur];
	*last = cur;
	q->free_head = q->next[cur];
	q->num_free -= n;
	return head;
}

static void expose(struct vhu_vq *q, uint16_t head, unsigned ndesc, void *token)
{
	q->slots[head].token = token;
	q->slots[head].ndesc = (uint16_t)ndesc;
	q->slots[head].in_use = true;
	q->in_flight++;
	q->avail->ring[q->avail_idx & (q->num - 1)] = htole16(head);
	q->avail_idx++;
}

/* ---- packed ring ---------------------------------------------------- */

static inline uint16_t p_avail_bits(bool wrap)
{
	return wrap ? VRING_PACKED_DESC_F_AVAIL : VRING_PACKED_DESC_F_USED;
}

/*
 * Write a list of n descriptors (d[i]: addr, len, flags without NEXT or
 * AVAIL/USED) at the next slots under a new buffer ID.  All but the
 * head are written now; the head's flags wait for vhu_vq_publish (2.8.6:
 * the head is made available last).  Returns the ID.
 */
static int p_add(struct vhu_vq *q, const struct vring_desc *d, unsigned n,
		 void *token)
{
	uint16_t id, head = q->p_next, pos = q->p_next;
	bool wrap = q->p_wrap;
	uint16_t head_flags = 0;

	if (n == 0)
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	id = q->free_head;
	q->free_head = q->next[id];
	for (unsigned i = 0; i < n; i++) {
		struct vring_packed_desc *p = &q->pdesc[pos];
		uint16_t fl = (uint16_t)(d[i].flags | p_avail_bits(wrap) |
					 (i + 1 < n ? VRING_DESC_F_NEXT : 0));

		p->addr = htole64(d[i].addr);
		p->len = htole32(d[i].len);
		p->id = htole16(id);
		if (i == 0)
			head_flags = fl;
		else
			store16(&p->flags, fl, __ATOMIC_RELAXED);
		if (++pos == q->num) {
			pos = 0;
			wrap = !wrap;
		}
	}
	q->pend_pos[q->n_pend] = head;
	q->pend_flags[q->n_pend] = head_flags;
	q->n_pend++;
	q->p_next = pos;
	q->p_wrap = wrap;
	q->num_free -= n;
	q->slots[id].token = token;
	q->slots[id].ndesc = (uint16_t)n;
	q->slots[id].in_use = true;
	q->in_flight++;
	return id;
}

static int p_add_sg(struct vhu_vq *q, const struct vhu_sg *out, unsigned n_out,
		    const struct vhu_sg *in, unsigned n_in, void *token, bool indirect)
{
	unsigned total = n_out + n_in;
	struct vring_desc one, *d;
	int r;

	if (indirect) {
		struct vring_packed_desc *t;

		if (!q->use_indirect || total > q->max_indirect)
			return -EINVAL;
		if (q->num_free < 1)
			return -ENOSPC;
		/* The table of the ID the list is going to get. */
		t = (struct vring_packed_desc *)(void *)
		    &q->indirect[(size_t)q->free_head * q->max_indirect];
		for (unsigned i = 0; i < total; i++) {
			const struct vhu_sg *s = i < n_out ? &out[i] : &in[i - n_out];

			t[i].addr = htole64(s->gpa);
			t[i].len = htole32(s->len);
			t[i].id = 0;
			t[i].flags = htole16(i < n_out ? 0 : VRING_DESC_F_WRITE);
		}
		one = (struct vring_desc){ vhu_mem_gpa(q->m, t),
					   (uint32_t)(total * sizeof(*t)),
					   VRING_DESC_F_INDIRECT, 0 };
		return p_add(q, &one, 1, token);
	}
	if (total > q->num_free)
		return -ENOSPC;
	d = malloc(total * sizeof(*d));
	if (!d)
		return -ENOMEM;
	for (unsigned i = 0; i < total; i++) {
		const struct vhu_sg *s = i < n_out ? &out[i] : &in[i - n_out];

		d[i] = (struct vring_desc){ s->gpa, s->len,
					    i < n_out ? 0 : VRING_DESC_F_WRITE, 0 };
	}
	r = p_add(q, d, total, token);
	free(d);
	return r;
}

static void p_publish(struct vhu_vq *q)
{
	/* Release: each list's other descriptors before its head. */
	for (unsigned i = 0; i < q->n_pend; i++)
		store16(&q->pdesc[q->pend_pos[i]].flags, q->pend_flags[i],
			__ATOMIC_RELEASE);
	q->n_pend = 0;
}

static bool p_need_kick(struct vhu_vq *q)
{
	uint16_t now = (uint16_t)(q->p_next | (q->p_wrap ? VRING_PACKED_EVENT_WRAP : 0));
	uint16_t old = q->p_kicked, flags, off_wrap;

	q->p_kicked = now;
	flags = load16(&q->dev_ev->flags, __ATOMIC_RELAXED) & 3u;
	if (flags == VRING_PACKED_EVENT_F_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_F_DESC || !q->event_idx)
		return true;
	off_wrap = load16(&q->dev_ev->off_wrap, __ATOMIC_RELAXED);
	return vring_packed_need_event(off_wrap, q->p_wrap, q->p_next,
				       old & 0x7fffu, q->num);
}

static bool p_has_used(const struct vhu_vq *q)
{
	uint16_t fl = load16(&q->pdesc[q->p_used].flags, __ATOMIC_ACQUIRE);

	return !!(fl & VRING_PACKED_DESC_F_AVAIL) == q->p_used_wrap &&
	       !!(fl & VRING_PACKED_DESC_F_USED) == q->p_used_wrap;
}

static int p_get_used(struct vhu_vq *q, uint32_t *len, void **token)
{
	struct vring_packed_desc *d = &q->pdesc[q->p_used];
	struct vhu_slot *s;
	unsigned pos;
	uint16_t id;

	if (!p_has_used(q))     /* acquire: ID and length after the flags */
		return 0;
	id = le16toh(d->id);
	if (id >= q->num || !q->slots[id].in_use)
		return -EPROTO;
	s = &q->slots[id];
	if (len)
		*len = le32toh(d->len);
	if (token)
		*token = s->token;
	pos = q->p_used + s->ndesc;
	if (pos >= q->num) {
		pos -= q->num;
		q->p_used_wrap = !q->p_used_wrap;
	}
	q->p_used = (uint16_t)pos;
	q->num_free += s->ndesc;
	s->in_use = false;
	s->token = NULL;
	q->next[id] = q->free_head;
	q->free_head = id;
	q->in_flight--;
	q->stats.used++;
	return 1;
}

/* ---- adding, publishing, kicking, collecting --------------------------- */

int vhu_vq_add(struct vhu_vq *q, const struct vhu_sg *out, unsigned n_out,
	       const struct vhu_sg *in, unsigned n_in, void *token, bool indirect)
{
	unsigned total = n_out + n_in;
	uint16_t head, last, cur;

	if (total == 0 || total < n_out)
		return -EINVAL;
	if (q->packed)
		return p_add_sg(q, out, n_out, in, n_in, token, indirect);
	if (indirect) {
		struct vring_desc *t;

		if (!q->use_indirect || total > q->max_indirect)
			return -EINVAL;
		if (q->num_free < 1)
			return -ENOSPC;
		head = take(q, 1, &last);
		t = &q->indirect[(size_t)head * q->max_indirect];
		for (unsigned i = 0; i < total; i++) {
			const struct vhu_sg *s = i < n_out ? &out[i] : &in[i - n_out];
			uint16_t fl = (i < n_out ? 0 : VRING_DESC_F_WRITE) |
				      (i + 1 < total ? VRING_DESC_F_NEXT : 0);
			fill_desc(&t[i], s->gpa, s->len, fl, (uint16_t)(i + 1 < total ? i + 1 : 0));
		}
		fill_desc(&q->desc[head], vhu_mem_gpa(q->m, t),
			  (uint32_t)(total * sizeof(*t)), VRING_DESC_F_INDIRECT, 0);
		expose(q, head, 1, token);
		return head;
	}
	if (total > q->num_free)
		return -ENOSPC;
	head = take(q, total, &last);
	cur = head;
	for (unsigned i = 0; i < total; i++) {
		const struct vhu_sg *s = i < n_out ? &out[i] : &in[i - n_out];
		uint16_t fl = (i < n_out ? 0 : VRING_DESC_F_WRITE) |
			      (i + 1 < total ? VRING_DESC_F_NEXT : 0);
		fill_desc(&q->desc[cur], s->gpa, s->len, fl,
			  i + 1 < total ? q->next[cur] : 0);
		cur = q->next[cur];
	}
	expose(q, head, total, token);
	return head;
}

int vhu_vq_add_raw(struct vhu_vq *q, const struct vring_desc *descs, unsigned n,
		   void *token)
{
	uint16_t head, last, cur;

	if (q->packed)
		return p_add(q, descs, n, token);
	if (n == 0)
		return -EINVAL;
	if (n > q->num_free)
		return -ENOSPC;
	head = take(q, n, &last);
	cur = head;
	for (unsigned i = 0; i < n; i++) {
		uint16_t fl = descs[i].flags;

		if (i + 1 < n)
			fl |= VRING_DESC_F_NEXT;
		fill_desc(&q->desc[cur], descs[i].addr, descs[i].len, fl,
			  i + 1 < n ? q->next[cur] : descs[i].next);
		cur = q->next[cur];
	}
	expose(q, head, n, token);
	return head;
}

void vhu_vq_publish(struct vhu_vq *q)
{
	if (q->packed) {
		p_publish(q);
		return;
	}
	/* Release: descriptors and ring entries before the index. */
	store16(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

/* Split: has avail idx moved past what the device asked for?  -1 if
 * nothing was published since the last decision. */
static int split_need_kick(struct vhu_vq *q)
{
	uint16_t new_idx = q->avail_idx, old = q->kicked_idx;
	bool need;

	if (new_idx == old)
		return -1;
	/* Our avail->idx store before reading the device's wish. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (q->event_idx)
		need = vring_need_event(load16(vring_avail_event(q->used, q->num),
					       __ATOMIC_RELAXED), new_idx, old);
	else
		need = !(load16(&q->used->flags, __ATOMIC_RELAXED) & VRING_USED_F_NO_NOTIFY);
	q->kicked_idx = new_idx;
	return need;
}

int vhu_vq_kick(struct vhu_vq *q)
{
	uint64_t one = 1;
	int need;

	if (q->packed) {
		if (q->p_kicked == (uint16_t)(q->p_next |
				(q->p_wrap ? VRING_PACKED_EVENT_WRAP : 0)))
			return 0;
		/* Our heads' flags before reading the device's wish. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		need = p_need_kick(q);
	} else {
		need = split_need_kick(q);
		if (need < 0)
			return 0;
	}
	if (!need) {
		q->stats.kicks_suppressed++;
		return 0;
	}
	while (write(q->kick_fd, &one, sizeof(one)) < 0) {
		if (errno == EINTR)
			continue;
		/* EAGAIN: the counter is saturated, a kick is pending. */
		if (errno == EAGAIN)
			break;
		return -errno;
	}
	q->stats.kicks++;
	return 1;
}

int vhu_vq_publish_kick(struct vhu_vq *q, bool force)
{
	uint64_t one = 1;

	vhu_vq_publish(q);
	if (!force)
		return vhu_vq_kick(q);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	q->kicked_idx = q->avail_idx;
	q->p_kicked = (uint16_t)(q->p_next | (q->p_wrap ? VRING_PACKED_EVENT_WRAP : 0));
	if (write(q->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	q->stats.kicks++;
	return 1;
}

bool vhu_vq_has_used(const struct vhu_vq *q)
{
	if (q->packed)
		return p_has_used(q);
	return load16(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

int vhu_vq_get_used(struct vhu_vq *q, uint32_t *len, void **token)
{
	/* Acquire: the entry is read after the index that covers it. */
	uint16_t uidx = load16(&q->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem e;
	struct vhu_slot *s;
	uint16_t cur;
	uint32_t id;

	if (q->packed)
		return p_get_used(q, len, token);
	if (uidx == q->last_used)
		return 0;
	if ((uint16_t)(uidx - q->last_used) > q->in_flight)
		return -EPROTO;     /* more completions than requests */
	e = q->used->ring[q->last_used & (q->num - 1)];
	id = le32toh(e.id);
	if (id >= q->num || !q->slots[id].in_use)
		return -EPROTO;
	s = &q->slots[id];
	if (len)
		*len = le32toh(e.len);
	if (token)
		*token = s->token;
	/* Give the chain's descriptors back. */
	cur = (uint16_t)id;
	for (unsigned i = 1; i < s->ndesc; i++)
		cur = q->next[cur];
	q->next[cur] = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free += s->ndesc;
	s->in_use = false;
	s->token = NULL;
	q->in_flight--;
	q->last_used++;
	q->stats.used++;
	return 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ __volatile__("pause" ::: "memory");
#else
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
#endif
}

int vhu_vq_wait(struct vhu_vq *q, int timeout_ms, unsigned spin_ns)
{
	uint64_t start = now_ns(), deadline;
	uint64_t cnt;
	int ret = 0;

	if (vhu_vq_has_used(q))
		return 1;
	if (spin_ns) {
		for (unsigned i = 0;; i++) {
			cpu_relax();
			if (vhu_vq_has_used(q))
				return 1;
			if ((i & 63) == 63 && now_ns() - start >= spin_ns)
				break;
		}
	}
	deadline = timeout_ms < 0 ? UINT64_MAX : start + (uint64_t)timeout_ms * 1000000u;
	enable_cb(q);
	for (;;) {
		struct pollfd p = { .fd = q->call_fd, .events = POLLIN };
		uint64_t now;
		int t, r;

		if (vhu_vq_has_used(q)) {
			ret = 1;
			break;
		}
		now = now_ns();
		if (now >= deadline) {
			ret = 0;
			break;
		}
		t = deadline == UINT64_MAX ? -1 :
		    (int)((deadline - now + 999999) / 1000000);
		r = poll(&p, 1, t);
		if (r < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (r > 0) {
			/* Consume the interrupt; the ring tells what happened. */
			if (read(q->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
				q->stats.calls++;
		}
	}
	disable_cb(q);
	return ret;
}

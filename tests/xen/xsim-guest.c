/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The simulated guest's virtio-mmio driver (xsim-guest.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "xsim-guest.h"

void xg_init(struct xg *g, struct xsim *sim, uint32_t domid, uint64_t base, unsigned irq,
	     struct vhu_mem *ram, bool grant, uint64_t ram_gpa)
{
	memset(g, 0, sizeof(*g));
	g->sim = sim;
	g->domid = domid;
	g->base = base;
	g->irq = irq;
	g->ram = ram;
	g->grant = grant;
	g->ram_gpa = ram_gpa;
	g->timeout_ms = 20000;
	g->irq_seen = xsim_irq_count(sim, domid, irq);
}

uint64_t xg_dma(const struct xg *g, const void *p)
{
	uint64_t off = (uint64_t)((const char *)p - (const char *)vhu_mem_base(g->ram));

	return g->grant ? VHU_XEN_GRANT_ADDR | off : g->ram_gpa + off;
}

int xg_rd(struct xg *g, unsigned off, uint32_t *v)
{
	uint64_t d = 0;
	int r = xsim_mmio(g->sim, g->domid, g->vcpu, g->base + off, 4, false, &d);

	g->accesses++;
	*v = (uint32_t)d;
	return r;
}

int xg_rd8(struct xg *g, unsigned off, uint8_t *v)
{
	uint64_t d = 0;
	int r = xsim_mmio(g->sim, g->domid, g->vcpu, g->base + off, 1, false, &d);

	g->accesses++;
	*v = (uint8_t)d;
	return r;
}

int xg_wr(struct xg *g, unsigned off, uint32_t v)
{
	uint64_t d = v;

	g->accesses++;
	return xsim_mmio(g->sim, g->domid, g->vcpu, g->base + off, 4, true, &d);
}

#define TRY(x) do { int r_ = (x); if (r_ < 0) return r_; } while (0)

int xg_probe(struct xg *g, uint32_t *device_id)
{
	uint32_t v;

	TRY(xg_rd(g, VIRTIO_MMIO_MAGIC_VALUE, &v));
	if (v != ('v' | 'i' << 8 | 'r' << 16 | (uint32_t)'t' << 24))
		return -EPROTO;
	TRY(xg_rd(g, VIRTIO_MMIO_VERSION, &v));
	if (v != 2)
		return -EPROTO;         /* only the modern interface */
	TRY(xg_rd(g, VIRTIO_MMIO_DEVICE_ID, device_id));
	/* 4.2.3.1.1: DeviceID 0 is a placeholder, no device. */
	return *device_id ? 0 : -ENODEV;
}

int xg_reset(struct xg *g)
{
	uint32_t v;

	TRY(xg_wr(g, VIRTIO_MMIO_STATUS, 0));
	TRY(xg_rd(g, VIRTIO_MMIO_STATUS, &v));
	memset(g->q, 0, sizeof(g->q));
	g->nq = 0;
	return v == 0 ? 0 : -EPROTO;
}

static int setup_queue(struct xg *g, unsigned i)
{
	struct xg_vq *q = &g->q[i];
	uint32_t max, ready;
	uint64_t a;

	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_SEL, i));
	TRY(xg_rd(g, VIRTIO_MMIO_QUEUE_READY, &ready));
	if (ready)
		return -EPROTO;         /* 4.2.3.2: must read 0 before set-up */
	TRY(xg_rd(g, VIRTIO_MMIO_QUEUE_NUM_MAX, &max));
	if (!max)
		return -ENOENT;
	q->num = max < XG_QSIZE ? max : XG_QSIZE;
	q->desc = vhu_mem_alloc(g->ram, 16u * q->num, 4096);
	q->avail = vhu_mem_alloc(g->ram, 6 + 2u * q->num, 4096);
	q->used = vhu_mem_alloc(g->ram, 6 + 8u * q->num, 4096);
	if (!q->desc || !q->avail || !q->used)
		return -ENOMEM;
	memset(q->desc, 0, 16u * q->num);
	memset(q->avail, 0, 6 + 2u * q->num);
	memset(q->used, 0, 6 + 8u * q->num);
	q->avail_idx = q->last_used = 0;
	q->nfree = q->num;
	for (unsigned k = 0; k < q->num; k++)
		q->free[k] = (uint16_t)(q->num - 1 - k);
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_NUM, q->num));
	a = xg_dma(g, q->desc);
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)a));
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(a >> 32)));
	a = xg_dma(g, q->avail);
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_AVAIL_LOW, (uint32_t)a));
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(a >> 32)));
	a = xg_dma(g, q->used);
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_USED_LOW, (uint32_t)a));
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_USED_HIGH, (uint32_t)(a >> 32)));
	TRY(xg_wr(g, VIRTIO_MMIO_QUEUE_READY, 1));
	TRY(xg_rd(g, VIRTIO_MMIO_QUEUE_READY, &ready));
	return ready == 1 ? 0 : -EPROTO;
}

int xg_start(struct xg *g, uint64_t want, unsigned nq)
{
	uint32_t lo, hi, st;

	if (nq > XG_MAX_QUEUES)
		return -EINVAL;
	TRY(xg_reset(g));
	TRY(xg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE));
	TRY(xg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER));
	TRY(xg_wr(g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0));
	TRY(xg_rd(g, VIRTIO_MMIO_DEVICE_FEATURES, &lo));
	TRY(xg_wr(g, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1));
	TRY(xg_rd(g, VIRTIO_MMIO_DEVICE_FEATURES, &hi));
	g->offered = (uint64_t)hi << 32 | lo;
	/* Version 2 of the transport goes with VERSION_1 (4.2.2); a guest
	 * using grants needs ACCESS_PLATFORM (virtio 1.2 6.1: the device
	 * sees addresses through a translation, here the grant table), a
	 * guest whose memory is mapped foreign does not. */
	if (!(g->offered & (1ull << VIRTIO_F_VERSION_1)) ||
	    (g->grant && !(g->offered & (1ull << VIRTIO_F_ACCESS_PLATFORM))))
		return -EPROTO;
	g->acked = (want & g->offered) | 1ull << VIRTIO_F_VERSION_1 |
		   (g->offered & 1ull << VIRTIO_F_ACCESS_PLATFORM);
	TRY(xg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0));
	TRY(xg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)g->acked));
	TRY(xg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1));
	TRY(xg_wr(g, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(g->acked >> 32)));
	TRY(xg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK));
	TRY(xg_rd(g, VIRTIO_MMIO_STATUS, &st));
	if (!(st & VIRTIO_CONFIG_S_FEATURES_OK))
		return -EPROTO;         /* 3.1.1 step 6: features refused */
	for (unsigned i = 0; i < nq; i++)
		TRY(setup_queue(g, i));
	g->nq = nq;
	TRY(xg_wr(g, VIRTIO_MMIO_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		  VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK));
	TRY(xg_rd(g, VIRTIO_MMIO_STATUS, &st));
	return st & VIRTIO_CONFIG_S_NEEDS_RESET ? -EPROTO : 0;
}

int xg_add(struct xg *g, unsigned qi, const struct xg_buf *b, unsigned n)
{
	struct xg_vq *q = &g->q[qi];
	uint16_t head, prev = 0;

	if (qi >= g->nq || !n || n > q->nfree)
		return -ENOSPC;
	head = q->free[q->nfree - 1];
	for (unsigned i = 0; i < n; i++) {
		uint16_t d = q->free[--q->nfree];

		q->desc[d].addr = xg_dma(g, b[i].p);
		q->desc[d].len = b[i].len;
		q->desc[d].flags = b[i].write ? VRING_DESC_F_WRITE : 0;
		q->desc[d].next = 0;
		if (i)
			q->desc[prev].flags |= VRING_DESC_F_NEXT, q->desc[prev].next = d;
		prev = d;
	}
	q->chain_len[head] = (uint16_t)n;
	q->in_flight[head] = true;
	q->avail->ring[q->avail_idx % q->num] = head;
	/* 2.7.13: the ring entry before the index that publishes it. */
	__atomic_store_n(&q->avail->idx, (uint16_t)(q->avail_idx + 1), __ATOMIC_RELEASE);
	q->avail_idx++;
	return head;
}

int xg_kick(struct xg *g, unsigned q)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return xg_wr(g, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

int xg_poll(struct xg *g, unsigned qi, uint16_t *head, uint32_t *len)
{
	struct xg_vq *q = &g->q[qi];
	uint16_t idx = __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE);
	struct vring_used_elem e;
	uint16_t d;

	if (idx == q->last_used)
		return 0;
	if ((uint16_t)(idx - q->last_used) > q->num)
		return -EPROTO;
	e = q->used->ring[q->last_used % q->num];
	q->last_used++;
	if (e.id >= q->num || !q->in_flight[e.id])
		return -EPROTO;
	q->in_flight[e.id] = false;
	d = (uint16_t)e.id;
	for (unsigned i = 0; i < q->chain_len[e.id]; i++) {
		uint16_t next = q->desc[d].next;

		q->free[q->nfree++] = d;
		d = next;
	}
	*head = (uint16_t)e.id;
	*len = e.len;
	return 1;
}

int xg_wait_irq(struct xg *g)
{
	uint64_t n = xsim_irq_count(g->sim, g->domid, g->irq);
	uint32_t isr;

	if (n == g->irq_seen) {
		TRY(xsim_irq_wait(g->sim, g->domid, g->irq, g->irq_seen, g->timeout_ms));
		n = xsim_irq_count(g->sim, g->domid, g->irq);
	}
	/* The interrupt handler (4.2.3.4): status, then ack. */
	g->irq_seen = n;
	TRY(xg_rd(g, VIRTIO_MMIO_INTERRUPT_STATUS, &isr));
	g->isr |= isr;
	if (isr)
		TRY(xg_wr(g, VIRTIO_MMIO_INTERRUPT_ACK, isr));
	return 0;
}

int xg_get(struct xg *g, unsigned qi, uint16_t *head, uint32_t *len)
{
	for (;;) {
		int r = xg_poll(g, qi, head, len);

		if (r)
			return r < 0 ? r : 0;
		TRY(xg_wait_irq(g));
	}
}

int xg_get_irq(struct xg *g, unsigned qi, uint16_t *head, uint32_t *len)
{
	for (;;) {
		int r;

		TRY(xg_wait_irq(g));
		r = xg_poll(g, qi, head, len);
		if (r)
			return r < 0 ? r : 0;
	}
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The simulated guest's virtio-vsock driver (xsim-vsock.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_vsock.h>

#include "xsim-vsock.h"

#define HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define BUF_ALLOC (256u * 1024)
#define HOST_CID 2
#define Q_RX 0
#define Q_TX 1

#define TRY(x) do { int r_ = (x); if (r_ < 0) return r_; } while (0)

static int post_rx(struct xv *v, unsigned i)
{
	struct xg_buf b = { v->rx[i], HDR + XV_PAYLOAD, true };
	int h = xg_add(v->g, Q_RX, &b, 1);

	if (h < 0)
		return h;
	v->rx_head[h] = (uint16_t)i;
	return 0;
}

static int reclaim_tx(struct xv *v)
{
	uint16_t h;
	uint32_t len;
	int r;

	while ((r = xg_poll(v->g, Q_TX, &h, &len)) > 0)
		v->tx_busy--;
	return r;
}

/* Handle what the device used; with block, wait for at least one. */
static int pump(struct xv *v, bool block);

static int send_pkt(struct xv *v, uint16_t op, uint32_t flags, const void *p, uint32_t len)
{
	struct xg_vq *q = &v->g->q[Q_TX];
	struct virtio_vsock_hdr h = {
		.src_cid = v->cid, .dst_cid = HOST_CID, .src_port = v->lport,
		.dst_port = v->pport, .len = len, .type = VIRTIO_VSOCK_TYPE_STREAM,
		.op = op, .flags = flags, .buf_alloc = BUF_ALLOC, .fwd_cnt = v->fwd_cnt,
	};
	struct xg_buf b;
	uint16_t d;

	while (q->nfree == 0)
		TRY(pump(v, true));
	d = q->free[q->nfree - 1];
	if (!v->tx[d]) {
		v->tx[d] = vhu_mem_alloc(v->g->ram, HDR + XV_PAYLOAD, 64);
		if (!v->tx[d])
			return -ENOMEM;
	}
	memcpy(v->tx[d], &h, HDR);
	if (len)
		memcpy(v->tx[d] + HDR, p, len);
	b = (struct xg_buf){ v->tx[d], HDR + len, false };
	TRY(xg_add(v->g, Q_TX, &b, 1));
	v->tx_busy++;
	v->pkts_tx++;
	v->fwd_sent = v->fwd_cnt;
	return xg_kick(v->g, Q_TX);
}

/* One packet the device put in rx buffer i (len bytes used). */
static int rx_pkt(struct xv *v, const uint8_t *buf, uint32_t used)
{
	struct virtio_vsock_hdr h;

	if (used < HDR)
		return -EPROTO;
	memcpy(&h, buf, HDR);
	if (h.len > used - HDR || h.len > XV_PAYLOAD || h.dst_cid != v->cid ||
	    h.src_cid != HOST_CID || h.type != VIRTIO_VSOCK_TYPE_STREAM)
		return -EPROTO;
	v->pkts_rx++;
	if (h.op == VIRTIO_VSOCK_OP_REQUEST) {
		if (v->state == 0 && v->listen_port && h.dst_port == v->listen_port) {
			v->lport = h.dst_port;
			v->pport = h.src_port;
			v->peer_buf_alloc = h.buf_alloc;
			v->peer_fwd_cnt = h.fwd_cnt;
			v->state = 2;
			return send_pkt(v, VIRTIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		}
		{
			uint32_t lp = v->lport, pp = v->pport;
			int r;

			v->lport = h.dst_port;
			v->pport = h.src_port;
			r = send_pkt(v, VIRTIO_VSOCK_OP_RST, 0, NULL, 0);
			v->lport = lp;
			v->pport = pp;
			return r;
		}
	}
	if (v->state == 0 || h.dst_port != v->lport || h.src_port != v->pport)
		return h.op == VIRTIO_VSOCK_OP_RST ? 0 : -EPROTO;
	v->peer_buf_alloc = h.buf_alloc;
	v->peer_fwd_cnt = h.fwd_cnt;
	switch (h.op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (v->state != 1)
			return -EPROTO;
		v->state = 2;
		return 0;
	case VIRTIO_VSOCK_OP_RST:
		v->state = v->state == 1 ? 4 : 3;
		return 0;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		v->peer_shut = true;
		return 0;
	case VIRTIO_VSOCK_OP_RW:
		/* 5.10.6.3.1: the device sends no more than our credit. */
		if (v->rx_cnt + h.len - v->fwd_cnt > BUF_ALLOC)
			return -EPROTO;
		if (v->in_len + h.len > v->in_cap)
			return -EPROTO;
		memcpy(v->in + v->in_len, buf + HDR, h.len);
		v->in_len += h.len;
		v->rx_cnt += h.len;
		v->fwd_cnt += h.len;    /* consumed at once */
		if (v->fwd_cnt - v->fwd_sent >= BUF_ALLOC / 2)
			return send_pkt(v, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		return 0;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		return 0;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		return send_pkt(v, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	default:
		return -EPROTO;
	}
}

static int pump(struct xv *v, bool block)
{
	bool any = false, reposted = false;
	uint16_t h;
	uint32_t len;
	int r;

	for (;;) {
		r = reclaim_tx(v);
		if (r < 0)
			return r;
		while ((r = xg_poll(v->g, Q_RX, &h, &len)) > 0) {
			unsigned i = v->rx_head[h];

			any = true;
			r = rx_pkt(v, v->rx[i], len);
			if (r < 0)
				return r;
			TRY(post_rx(v, i));
			reposted = true;
		}
		if (r < 0)
			return r;
		if (reposted)
			TRY(xg_kick(v->g, Q_RX));
		if (any || !block)
			return 0;
		TRY(xg_wait_irq(v->g));
	}
}

int xv_open(struct xv *v, struct xg *g)
{
	uint32_t lo, hi;

	memset(v, 0, sizeof(*v));
	v->g = g;
	TRY(xg_start(g, 0, 3));
	TRY(xg_rd(g, 0x100, &lo));
	TRY(xg_rd(g, 0x104, &hi));
	v->cid = (uint64_t)hi << 32 | lo;
	for (unsigned i = 0; i < XV_RX; i++) {
		v->rx[i] = vhu_mem_alloc(g->ram, HDR + XV_PAYLOAD, 64);
		if (!v->rx[i])
			return -ENOMEM;
		TRY(post_rx(v, i));
	}
	return xg_kick(g, Q_RX);
}

static void conn_reset(struct xv *v)
{
	v->state = 0;
	v->peer_shut = false;
	v->tx_cnt = v->rx_cnt = v->fwd_cnt = v->fwd_sent = 0;
	v->peer_buf_alloc = v->peer_fwd_cnt = 0;
	v->in_len = 0;
}

int xv_connect(struct xv *v, uint32_t port)
{
	conn_reset(v);
	v->lport = 40000 + (uint32_t)(v->pkts_tx % 1000);
	v->pport = port;
	v->state = 1;
	TRY(send_pkt(v, VIRTIO_VSOCK_OP_REQUEST, 0, NULL, 0));
	while (v->state == 1)
		TRY(pump(v, true));
	if (v->state == 4) {
		v->state = 0;
		return -ECONNREFUSED;
	}
	return v->state == 2 ? 0 : -ECONNRESET;
}

int xv_accept(struct xv *v, uint32_t port)
{
	conn_reset(v);
	v->listen_port = port;
	while (v->state != 2)
		TRY(pump(v, true));
	v->listen_port = 0;
	return 0;
}

int xv_send(struct xv *v, const void *p, size_t len)
{
	const uint8_t *b = p;

	while (len) {
		uint32_t credit = v->peer_buf_alloc - (v->tx_cnt - v->peer_fwd_cnt);
		uint32_t n = (uint32_t)(len < XV_PAYLOAD ? len : XV_PAYLOAD);

		if (v->state != 2)
			return -ECONNRESET;
		if (credit == 0) {
			TRY(pump(v, true));
			continue;
		}
		if (n > credit)
			n = credit;
		TRY(send_pkt(v, VIRTIO_VSOCK_OP_RW, 0, b, n));
		v->tx_cnt += n;
		b += n;
		len -= n;
		TRY(pump(v, false));
	}
	return 0;
}

long xv_recv(struct xv *v, size_t want)
{
	while (v->in_len < want && !v->peer_shut && v->state == 2)
		TRY(pump(v, true));
	return (long)v->in_len;
}

int xv_close(struct xv *v)
{
	if (v->state != 2)
		return 0;
	TRY(send_pkt(v, VIRTIO_VSOCK_OP_SHUTDOWN, VIRTIO_VSOCK_SHUTDOWN_RCV |
		     VIRTIO_VSOCK_SHUTDOWN_SEND, NULL, 0));
	/* 5.10.6.6: the device answers a full shutdown with RST. */
	while (v->state == 2)
		TRY(pump(v, true));
	conn_reset(v);
	while (v->tx_busy)
		TRY(pump(v, true));
	return 0;
}

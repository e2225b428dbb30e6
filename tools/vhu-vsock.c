/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: a virtio-vsock guest driver for tests and benchmarks
 * (contract in vhu-vsock.h).
 */
#include "config.h"
#include "vhu-vsock.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VV_HDR ((uint32_t)sizeof(struct virtio_vsock_hdr))
#define VV_UNMATCHED 1024u
#define VV_CTL_QUEUE 4096u
#define VV_MAX_LISTEN 16u
#define VV_FIRST_PORT 50000u

struct vv_msg {
	uint32_t len;
	bool eor;
};

struct vhu_vsock_conn {
	struct vhu_vsock *v;
	struct vhu_vsock_conn *next;
	uint64_t peer_cid;
	uint32_t local_port, peer_port;
	uint16_t type;
	enum vhu_vsock_conn_state state;
	bool accept_pending;        /* accepted, not yet handed out */
	bool closing;               /* we sent SHUTDOWN(both) */
	bool credit_requested;
	uint32_t peer_shut, our_shut;
	uint32_t buf_alloc;
	/* receive side */
	uint8_t *rbuf;
	size_t rhead, rlen, rcap;
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	struct vv_msg *msgs;        /* SEQPACKET: complete messages queued */
	unsigned msg_head, msg_count, msg_cap;
	uint32_t partial;           /* bytes of the message being received */
	int (*sink)(void *, const uint8_t *, uint32_t);
	void *sink_opaque;
	bool sink_drained;          /* the sink took bytes in this rx batch */
	/* send side */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
};

struct vhu_vsock {
	struct vhu_vsock_opts o;
	struct vhu_session *s;
	struct vhu_vq *rxq, *txq;
	uint64_t cid;
	bool seqpacket;
	uint8_t *rx_mem;
	uint8_t *tx_mem;
	uint32_t tx_slot_size;
	unsigned *tx_free, tx_nfree;
	struct virtio_vsock_hdr *ctlq;      /* control packets waiting for a slot */
	unsigned ctl_head, ctl_count;
	struct vhu_vsock_conn *conns;
	uint32_t next_port;
	uint32_t listen[VV_MAX_LISTEN];
	unsigned n_listen;
	struct virtio_vsock_hdr unmatched[VV_UNMATCHED];
	unsigned um_head, um_count;
	struct vhu_vsock_stats st;
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left until deadline (UINT64_MAX: forever -> -1). */
static int left_ms(uint64_t deadline)
{
	uint64_t now;

	if (deadline == UINT64_MAX)
		return -1;
	now = now_ms();
	return now >= deadline ? 0 : (int)(deadline - now);
}

static uint64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? UINT64_MAX : now_ms() + (uint64_t)timeout_ms;
}

void vhu_vsock_hdr_set(struct virtio_vsock_hdr *h, uint64_t src_cid, uint32_t src_port,
		       uint64_t dst_cid, uint32_t dst_port, uint16_t type, uint16_t op,
		       uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(src_cid);
	h->dst_cid = htole64(dst_cid);
	h->src_port = htole32(src_port);
	h->dst_port = htole32(dst_port);
	h->type = htole16(type);
	h->op = htole16(op);
	h->len = htole32(len);
}

void vhu_vsock_defaults(struct vhu_vsock_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 256;
	o->rx_buf_size = 4096 + VV_HDR;
	o->buf_alloc = 256 * 1024;
	o->max_pkt = 64 * 1024;
	o->tx_slots = 64;
}

uint64_t vhu_vsock_cid(const struct vhu_vsock *v) { return v->cid; }
struct vhu_session *vhu_vsock_session(struct vhu_vsock *v) { return v->s; }
bool vhu_vsock_seqpacket(const struct vhu_vsock *v) { return v->seqpacket; }
bool vhu_vsock_credit_61(const struct vhu_vsock *v) { return v->o.credit_61; }
const struct vhu_vsock_stats *vhu_vsock_stats(const struct vhu_vsock *v) { return &v->st; }

enum vhu_vsock_conn_state vhu_vsock_conn_state(const struct vhu_vsock_conn *c) { return c->state; }
uint32_t vhu_vsock_conn_local_port(const struct vhu_vsock_conn *c) { return c->local_port; }
uint32_t vhu_vsock_conn_peer_port(const struct vhu_vsock_conn *c) { return c->peer_port; }
uint64_t vhu_vsock_conn_peer_cid(const struct vhu_vsock_conn *c) { return c->peer_cid; }
uint32_t vhu_vsock_conn_peer_shutdown(const struct vhu_vsock_conn *c) { return c->peer_shut; }
size_t vhu_vsock_conn_pending(const struct vhu_vsock_conn *c) { return c->rlen; }

uint32_t vhu_vsock_conn_peer_credit(const struct vhu_vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

void vhu_vsock_conn_set_sink(struct vhu_vsock_conn *c,
			     int (*fn)(void *opaque, const uint8_t *data, uint32_t len),
			     void *opaque)
{
	c->sink = fn;
	c->sink_opaque = opaque;
}

void vhu_vsock_conn_set_buf_alloc(struct vhu_vsock_conn *c, uint32_t buf_alloc)
{
	c->buf_alloc = buf_alloc;
}

/* ---- tx ------------------------------------------------------------------ */

static void reclaim_tx(struct vhu_vsock *v)
{
	uint32_t len;
	void *tok;

	while (vhu_vq_get_used(v->txq, &len, &tok) == 1)
		v->tx_free[v->tx_nfree++] = (unsigned)((uintptr_t)tok - 1);
}

/* Queue one packet (header + payload) in a free slot; -EAGAIN if none. */
static int tx_packet(struct vhu_vsock *v, const struct virtio_vsock_hdr *h,
		     const void *payload, uint32_t len)
{
	uint8_t *slot;
	uint64_t gpa;
	struct vhu_sg sg[2];
	unsigned n, i;
	int r;

	/* As Linux frees a sent skb on completion and its allocator hands
	 * the warm memory out again: take back what the device used, then
	 * reuse the slot freed last (tx_free is a stack). */
	reclaim_tx(v);
	if (!v->tx_nfree || vhu_vq_num_free(v->txq) < (v->o.indirect ? 1u : 2u))
		return -EAGAIN;
	i = v->tx_free[--v->tx_nfree];
	slot = v->tx_mem + (size_t)i * v->tx_slot_size;
	gpa = vhu_mem_gpa(v->s->m, slot);
	memcpy(slot, h, VV_HDR);
	if (len)
		memcpy(slot + VV_HDR, payload, len);
	if (v->o.split_hdr && len) {
		sg[0] = (struct vhu_sg){ gpa, VV_HDR };
		sg[1] = (struct vhu_sg){ gpa + VV_HDR, len };
		n = 2;
	} else {
		sg[0] = (struct vhu_sg){ gpa, VV_HDR + len };
		n = 1;
	}
	r = vhu_vq_add(v->txq, sg, n, NULL, 0, (void *)(uintptr_t)(i + 1), v->o.indirect);
	if (r < 0) {
		v->tx_free[v->tx_nfree++] = i;
		return r == -ENOSPC ? -EAGAIN : r;
	}
	vhu_vq_publish_kick(v->txq, false);
	v->st.tx_pkts++;
	v->st.tx_bytes += len;
	return 0;
}

/* Control packets go out as soon as a slot is free, in order. */
static void flush_ctl(struct vhu_vsock *v)
{
	while (v->ctl_count) {
		if (tx_packet(v, &v->ctlq[v->ctl_head], NULL, 0) < 0)
			return;
		v->ctl_head = (v->ctl_head + 1) % VV_CTL_QUEUE;
		v->ctl_count--;
	}
}

static void send_ctl(struct vhu_vsock *v, const struct virtio_vsock_hdr *h)
{
	if (v->ctl_count == 0 && tx_packet(v, h, NULL, 0) == 0)
		return;
	if (v->ctl_count == VV_CTL_QUEUE)
		return;     /* cannot happen in our tests; keep memory bounded */
	v->ctlq[(v->ctl_head + v->ctl_count) % VV_CTL_QUEUE] = *h;
	v->ctl_count++;
}

static void conn_hdr(struct vhu_vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op,
		     uint32_t flags, uint32_t len)
{
	vhu_vsock_hdr_set(h, c->v->cid, c->local_port, c->peer_cid, c->peer_port, c->type, op, len);
	h->flags = htole32(flags);
	h->buf_alloc = htole32(c->buf_alloc);
	h->fwd_cnt = htole32(c->fwd_cnt);
	c->fwd_cnt_sent = c->fwd_cnt;
}

static void conn_ctl(struct vhu_vsock_conn *c, uint16_t op, uint32_t flags)
{
	struct virtio_vsock_hdr h;

	conn_hdr(c, &h, op, flags, 0);
	if (op == VIRTIO_VSOCK_OP_CREDIT_UPDATE)
		c->v->st.credit_updates_sent++;
	send_ctl(c->v, &h);
}

/* ---- connections --------------------------------------------------------- */

static struct vhu_vsock_conn *conn_find(struct vhu_vsock *v, uint64_t peer_cid,
					 uint32_t peer_port, uint32_t local_port)
{
	for (struct vhu_vsock_conn *c = v->conns; c; c = c->next)
		if (c->peer_cid == peer_cid && c->peer_port == peer_port &&
		    c->local_port == local_port)
			return c;
	return NULL;
}

static struct vhu_vsock_conn *conn_new(struct vhu_vsock *v, uint64_t peer_cid,
					uint32_t peer_port, uint32_t local_port, uint16_t type)
{
	struct vhu_vsock_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->v = v;
	c->peer_cid = peer_cid;
	c->peer_port = peer_port;
	c->local_port = local_port;
	c->type = type;
	c->buf_alloc = v->o.buf_alloc;
	c->next = v->conns;
	v->conns = c;
	return c;
}

static void conn_free(struct vhu_vsock_conn *c)
{
	struct vhu_vsock_conn **pp;

	for (pp = &c->v->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	free(c->rbuf);
	free(c->msgs);
	free(c);
}

static void push_unmatched(struct vhu_vsock *v, const struct virtio_vsock_hdr *h)
{
	if (v->um_count == VV_UNMATCHED) {
		v->um_head = (v->um_head + 1) % VV_UNMATCHED;
		v->um_count--;
		v->st.unmatched_dropped++;
	}
	v->unmatched[(v->um_head + v->um_count) % VV_UNMATCHED] = *h;
	v->um_count++;
}

static bool listening(struct vhu_vsock *v, uint32_t port)
{
	for (unsigned i = 0; i < v->n_listen; i++)
		if (v->listen[i] == port)
			return true;
	return false;
}

static void reply_rst(struct vhu_vsock *v, const struct virtio_vsock_hdr *req)
{
	struct virtio_vsock_hdr h;

	if (le16toh(req->op) == VIRTIO_VSOCK_OP_RST)
		return;
	vhu_vsock_hdr_set(&h, v->cid, le32toh(req->dst_port), le64toh(req->src_cid),
			  le32toh(req->src_port), le16toh(req->type), VIRTIO_VSOCK_OP_RST, 0);
	send_ctl(v, &h);
}

/* As Linux's virtio_transport_stream_do_dequeue: tell the peer about
 * consumed bytes once less than 64 KiB of the window it knows is left,
 * and (Linux >= 6.8, unless opts.credit_61) also whenever the reader has
 * drained the receive queue ("rx_bytes < SO_RCVLOWAT"), so that a sender
 * is not left waiting while the reader idles. */
static void maybe_credit_update(struct vhu_vsock_conn *c, bool drained)
{
	uint32_t unacked = c->fwd_cnt - c->fwd_cnt_sent;

	if (c->state == VHU_VSOCK_CONNECTED && !(c->our_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
	    unacked && (c->buf_alloc - unacked < 65536 || (drained && !c->v->o.credit_61)))
		conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
}

/* Append received payload to the connection's buffer (or sink). */
static void conn_data(struct vhu_vsock_conn *c, const uint8_t *p, uint32_t len, uint32_t flags)
{
	struct vhu_vsock *v = c->v;

	if ((c->rx_cnt - c->fwd_cnt) + len > c->buf_alloc) {
		v->st.credit_violations++;
		return;
	}
	c->rx_cnt += len;
	if (c->sink && c->type == VIRTIO_VSOCK_TYPE_STREAM) {
		if (len)
			c->sink(c->sink_opaque, p, len);
		c->fwd_cnt += len;
		maybe_credit_update(c, false);
		/* The queue counts as drained once this rx batch is done. */
		c->sink_drained = true;
		return;
	}
	if (len) {
		if (c->rhead + c->rlen + len > c->rcap) {
			if (c->rhead) {
				memmove(c->rbuf, c->rbuf + c->rhead, c->rlen);
				c->rhead = 0;
			}
			if (c->rlen + len > c->rcap) {
				size_t cap = c->rcap ? c->rcap : 65536;
				uint8_t *nb;
				while (cap < c->rlen + len)
					cap *= 2;
				nb = realloc(c->rbuf, cap);
				if (!nb)
					return;
				c->rbuf = nb;
				c->rcap = cap;
			}
		}
		memcpy(c->rbuf + c->rhead + c->rlen, p, len);
		c->rlen += len;
	}
	if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET) {
		c->partial += len;
		if (flags & VIRTIO_VSOCK_SEQ_EOM) {
			if (c->msg_count == c->msg_cap) {
				unsigned cap = c->msg_cap ? c->msg_cap * 2 : 16;
				struct vv_msg *m = malloc(cap * sizeof(*m));
				if (!m)
					return;
				for (unsigned i = 0; i < c->msg_count; i++)
					m[i] = c->msgs[(c->msg_head + i) % c->msg_cap];
				free(c->msgs);
				c->msgs = m;
				c->msg_cap = cap;
				c->msg_head = 0;
			}
			c->msgs[(c->msg_head + c->msg_count) % c->msg_cap] =
				(struct vv_msg){ c->partial, (flags & VIRTIO_VSOCK_SEQ_EOR) != 0 };
			c->msg_count++;
			c->partial = 0;
		}
	}
}

/* One packet the device put in an rx buffer. */
static void handle_pkt(struct vhu_vsock *v, const uint8_t *buf, uint32_t used)
{
	struct virtio_vsock_hdr h;
	struct vhu_vsock_conn *c;
	uint32_t len, flags;
	uint16_t op, type;

	v->st.rx_pkts++;
	if (used < VV_HDR) {
		v->st.bad_pkts++;
		return;
	}
	memcpy(&h, buf, VV_HDR);
	len = le32toh(h.len);
	op = le16toh(h.op);
	type = le16toh(h.type);
	flags = le32toh(h.flags);
	if (len != used - VV_HDR || le64toh(h.dst_cid) != v->cid ||
	    op == VIRTIO_VSOCK_OP_INVALID || op > VIRTIO_VSOCK_OP_CREDIT_REQUEST ||
	    (op != VIRTIO_VSOCK_OP_RW && len)) {
		v->st.bad_pkts++;
		return;
	}
	if (op == VIRTIO_VSOCK_OP_RW)
		v->st.rx_bytes += len;
	c = conn_find(v, le64toh(h.src_cid), le32toh(h.src_port), le32toh(h.dst_port));
	if (!c || c->state == VHU_VSOCK_RESET || c->state == VHU_VSOCK_CLOSED) {
		if (!c && op == VIRTIO_VSOCK_OP_REQUEST && listening(v, le32toh(h.dst_port)) &&
		    (type == VIRTIO_VSOCK_TYPE_STREAM ||
		     (type == VIRTIO_VSOCK_TYPE_SEQPACKET && v->seqpacket))) {
			c = conn_new(v, le64toh(h.src_cid), le32toh(h.src_port),
				     le32toh(h.dst_port), type);
			if (!c)
				return;
			c->state = VHU_VSOCK_CONNECTED;
			c->accept_pending = true;
			c->peer_buf_alloc = le32toh(h.buf_alloc);
			c->peer_fwd_cnt = le32toh(h.fwd_cnt);
			conn_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
			return;
		}
		push_unmatched(v, &h);
		if (!c)
			reply_rst(v, &h);
		return;
	}
	if (type != c->type) {
		v->st.bad_pkts++;
		return;
	}
	if (op != VIRTIO_VSOCK_OP_RST) {
		c->peer_buf_alloc = le32toh(h.buf_alloc);
		c->peer_fwd_cnt = le32toh(h.fwd_cnt);
		if (vhu_vsock_conn_peer_credit(c))
			c->credit_requested = false;
	}
	switch (op) {
	case VIRTIO_VSOCK_OP_REQUEST:
		conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
		c->state = VHU_VSOCK_RESET;
		break;
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == VHU_VSOCK_CONNECTING) {
			c->state = VHU_VSOCK_CONNECTED;
		} else {
			conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			c->state = VHU_VSOCK_RESET;
		}
		break;
	case VIRTIO_VSOCK_OP_RST:
		c->state = c->closing ? VHU_VSOCK_CLOSED : VHU_VSOCK_RESET;
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->peer_shut |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		/* As Linux: the peer will neither send nor receive: answer
		 * RST (the clean end of a connection); data already received
		 * stays readable. */
		if (c->peer_shut == (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND) &&
		    c->state == VHU_VSOCK_CONNECTED) {
			conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
			c->state = VHU_VSOCK_CLOSED;
		}
		break;
	case VIRTIO_VSOCK_OP_RW:
		if (c->state != VHU_VSOCK_CONNECTED) {
			v->st.bad_pkts++;
			break;
		}
		conn_data(c, buf + VV_HDR, len, flags);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		v->st.credit_updates_rcvd++;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
		break;
	}
}

/* ---- rx ------------------------------------------------------------------ */

static int post_rx(struct vhu_vsock *v, unsigned i)
{
	uint8_t *b = v->rx_mem + (size_t)i * v->o.rx_buf_size;
	uint64_t gpa = vhu_mem_gpa(v->s->m, b);
	struct vhu_sg sg[2];
	unsigned n = 1;

	if (v->o.split_hdr) {
		sg[0] = (struct vhu_sg){ gpa, VV_HDR };
		sg[1] = (struct vhu_sg){ gpa + VV_HDR, v->o.rx_buf_size - VV_HDR };
		n = 2;
	} else {
		sg[0] = (struct vhu_sg){ gpa, v->o.rx_buf_size };
	}
	return vhu_vq_add(v->rxq, NULL, 0, sg, n, (void *)(uintptr_t)(i + 1), false);
}

static int process_rx(struct vhu_vsock *v)
{
	unsigned n = 0;
	uint32_t len;
	void *tok;
	int r;

	while ((r = vhu_vq_get_used(v->rxq, &len, &tok)) == 1) {
		unsigned i = (unsigned)((uintptr_t)tok - 1);

		if (len > v->o.rx_buf_size) {
			v->st.bad_pkts++;
			return -EIO;
		}
		handle_pkt(v, v->rx_mem + (size_t)i * v->o.rx_buf_size, len);
		if (post_rx(v, i) < 0)
			return -EIO;
		n++;
	}
	if (r < 0)
		return r;
	if (n) {
		/* Sinks consume as the packets come: at the end of the batch
		 * their queue is empty. */
		for (struct vhu_vsock_conn *c = v->conns; c; c = c->next)
			if (c->sink_drained) {
				c->sink_drained = false;
				maybe_credit_update(c, true);
			}
		vhu_vq_publish_kick(v->rxq, false);
	}
	return (int)n;
}

int vhu_vsock_poll(struct vhu_vsock *v, int timeout_ms)
{
	uint64_t deadline = deadline_of(timeout_ms);

	for (;;) {
		int n, r, t;

		reclaim_tx(v);
		flush_ctl(v);
		n = process_rx(v);
		if (n != 0) {
			reclaim_tx(v);
			flush_ctl(v);
			return n;
		}
		t = left_ms(deadline);
		if (t == 0)
			return 0;
		if (v->ctl_count) {
			/* Control packets wait for tx slots the device still
			 * holds: watch tx too, in short steps. */
			r = vhu_vq_wait(v->txq, t < 0 || t > 5 ? 5 : t, v->o.spin_ns);
			if (r < 0)
				return r;
			continue;
		}
		r = vhu_vq_wait(v->rxq, t, v->o.spin_ns);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;
	}
}

/* Serve the device until something happens or the deadline passes: 0
 * after a poll, -ETIMEDOUT once the deadline has passed, or the poll's
 * error.  The loops of connect, accept, recv ... wait with it. */
static int wait_until(struct vhu_vsock *v, uint64_t deadline)
{
	int t = left_ms(deadline), r;

	if (t == 0)
		return -ETIMEDOUT;
	r = vhu_vsock_poll(v, t);
	return r < 0 ? r : 0;
}

/* Wait for a free tx slot, serving rx meanwhile. */
static int wait_slot(struct vhu_vsock *v, uint64_t deadline)
{
	for (;;) {
		int r, t;

		reclaim_tx(v);
		flush_ctl(v);
		if (v->tx_nfree && !v->ctl_count)
			return 0;
		r = process_rx(v);
		if (r < 0)
			return r;
		t = left_ms(deadline);
		if (t == 0)
			return -ETIMEDOUT;
		r = vhu_vq_wait(v->txq, t < 0 || t > 5 ? 5 : t, v->o.spin_ns);
		if (r < 0)
			return r;
	}
}

/* ---- open / close -------------------------------------------------------- */

int vhu_vsock_open(const struct vhu_vsock_opts *o, struct vhu_vsock **out,
		   char *err, size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_vsock *v;
	uint8_t cfg[8];
	uint64_t cid;
	size_t mem;
	int r;

	*out = NULL;
	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->o = *o;
	if (!v->o.queue_size)
		v->o.queue_size = 256;
	if (!v->o.rx_buf_size)
		v->o.rx_buf_size = 4096 + VV_HDR;
	if (!v->o.rx_bufs || v->o.rx_bufs > v->o.queue_size)
		v->o.rx_bufs = v->o.queue_size;
	if (v->o.split_hdr && v->o.rx_bufs > v->o.queue_size / 2)
		v->o.rx_bufs = v->o.queue_size / 2;
	if (!v->o.buf_alloc)
		v->o.buf_alloc = 256 * 1024;
	if (!v->o.max_pkt)
		v->o.max_pkt = 64 * 1024;
	if (!v->o.tx_slots)
		v->o.tx_slots = 64;
	if (v->o.tx_slots > v->o.queue_size / 2)
		v->o.tx_slots = v->o.queue_size / 2 ? v->o.queue_size / 2 : 1;
	v->next_port = VV_FIRST_PORT;
	v->tx_slot_size = (VV_HDR + v->o.max_pkt + 63) & ~63u;
	v->ctlq = calloc(VV_CTL_QUEUE, sizeof(*v->ctlq));
	v->tx_free = calloc(v->o.tx_slots, sizeof(*v->tx_free));
	if (!v->ctlq || !v->tx_free) {
		snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
		goto fail;
	}

	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms ? o->connect_ms : 5000;
	if (o->seqpacket)
		so.features |= VHD_BIT(VIRTIO_VSOCK_F_SEQPACKET);
	if (o->no_event_idx)
		so.features &= ~VHD_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	so.nqueues = 2;         /* rx and tx: the event queue is the VMM's */
	so.vq.num = v->o.queue_size;
	so.vq.max_indirect = o->indirect ? 2 : 0;
	mem = (size_t)v->o.rx_bufs * v->o.rx_buf_size + (size_t)v->o.tx_slots * v->tx_slot_size +
	      2 * (24u * v->o.queue_size + 4096 + (size_t)v->o.queue_size * 2 * 16) + (2u << 20);
	so.mem_size = (mem + 0xfffff) & ~(size_t)0xfffff;
	r = vhu_session_open(&so, &v->s, err, errlen);
	if (r < 0)
		goto fail;
	v->rxq = v->s->vq[0];
	v->txq = v->s->vq[1];
	v->seqpacket = vhu_has_feature(v->s->c, VIRTIO_VSOCK_F_SEQPACKET);
	r = vhu_get_config(v->s->c, 0, sizeof(cfg), cfg);
	if (r < 0) {
		snprintf(err, errlen, "reading the config space: %s", vhu_conn_error(v->s->c));
		goto fail;
	}
	memcpy(&cid, cfg, sizeof(cid));
	v->cid = le64toh(cid);
	v->rx_mem = vhu_mem_alloc(v->s->m, (size_t)v->o.rx_bufs * v->o.rx_buf_size, 64);
	v->tx_mem = vhu_mem_alloc(v->s->m, (size_t)v->o.tx_slots * v->tx_slot_size, 64);
	if (!v->rx_mem || !v->tx_mem) {
		snprintf(err, errlen, "guest memory too small for the buffers");
		r = -ENOSPC;
		goto fail;
	}
	for (unsigned i = 0; i < v->o.tx_slots; i++)
		v->tx_free[v->tx_nfree++] = v->o.tx_slots - 1 - i;
	for (unsigned i = 0; i < v->o.rx_bufs; i++) {
		r = post_rx(v, i);
		if (r < 0) {
			snprintf(err, errlen, "posting rx buffer %u: %s", i, strerror(-r));
			goto fail;
		}
	}
	vhu_vq_publish_kick(v->rxq, true);
	*out = v;
	return 0;
fail:
	vhu_vsock_close(v);
	return r;
}

void vhu_vsock_close(struct vhu_vsock *v)
{
	if (!v)
		return;
	while (v->conns)
		conn_free(v->conns);
	vhu_session_close(v->s);
	free(v->ctlq);
	free(v->tx_free);
	free(v);
}

/* ---- connection calls ---------------------------------------------------- */

int vhu_vsock_connect_start(struct vhu_vsock *v, uint64_t cid, uint32_t port,
			    uint16_t type, struct vhu_vsock_conn **out)
{
	struct vhu_vsock_conn *c;
	uint32_t local;

	do {
		local = v->next_port++;
		if (v->next_port == 0xffffffffu)
			v->next_port = VV_FIRST_PORT;
	} while (conn_find(v, cid, port, local));
	c = conn_new(v, cid, port, local, type);
	if (!c)
		return -ENOMEM;
	c->state = VHU_VSOCK_CONNECTING;
	conn_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	*out = c;
	return 0;
}

int vhu_vsock_connect(struct vhu_vsock *v, uint64_t cid, uint32_t port, uint16_t type,
		      int timeout_ms, struct vhu_vsock_conn **out)
{
	uint64_t deadline = deadline_of(timeout_ms);
	struct vhu_vsock_conn *c;
	int r;

	*out = NULL;
	r = vhu_vsock_connect_start(v, cid, port, type, &c);
	if (r < 0)
		return r;
	while (c->state == VHU_VSOCK_CONNECTING) {
		r = wait_until(v, deadline);
		if (r == -ETIMEDOUT) {
			vhu_vsock_reset_conn(c);
			return r;
		}
		if (r < 0) {
			conn_free(c);
			return r;
		}
	}
	if (c->state != VHU_VSOCK_CONNECTED) {
		conn_free(c);
		return -ECONNREFUSED;
	}
	*out = c;
	return 0;
}

int vhu_vsock_listen(struct vhu_vsock *v, uint32_t port)
{
	if (listening(v, port))
		return 0;
	if (v->n_listen == VV_MAX_LISTEN)
		return -ENOSPC;
	v->listen[v->n_listen++] = port;
	return 0;
}

int vhu_vsock_accept(struct vhu_vsock *v, uint32_t port, int timeout_ms,
		     struct vhu_vsock_conn **out)
{
	uint64_t deadline = deadline_of(timeout_ms);

	*out = NULL;
	for (;;) {
		struct vhu_vsock_conn *found = NULL;
		int r;

		/* The oldest pending one is the last in the list. */
		for (struct vhu_vsock_conn *c = v->conns; c; c = c->next)
			if (c->accept_pending && c->local_port == port)
				found = c;
		if (found) {
			found->accept_pending = false;
			*out = found;
			return 0;
		}
		r = wait_until(v, deadline);
		if (r < 0)
			return r;
	}
}

ssize_t vhu_vsock_send(struct vhu_vsock_conn *c, const void *buf, size_t len,
		       bool eor, int timeout_ms)
{
	struct vhu_vsock *v = c->v;
	uint64_t deadline = deadline_of(timeout_ms);
	const uint8_t *p = buf;
	size_t off = 0;
	bool seq = c->type == VIRTIO_VSOCK_TYPE_SEQPACKET;

	do {
		struct virtio_vsock_hdr h;
		uint32_t credit, n, flags = 0;
		int r, t;

		if (c->state != VHU_VSOCK_CONNECTED)
			return -ECONNRESET;
		if ((c->our_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
		    (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_RCV))
			return -EPIPE;
		credit = vhu_vsock_conn_peer_credit(c);
		n = len - off > v->o.max_pkt ? v->o.max_pkt : (uint32_t)(len - off);
		if (n > credit)
			n = credit;
		if (n == 0 && len != 0) {
			/* Like Linux, wait for the peer's CREDIT_UPDATE; ask
			 * with CREDIT_REQUEST only when none came for a while
			 * (a backend must not depend on being asked). */
			t = left_ms(deadline);
			if (t == 0)
				return off ? (ssize_t)off : -ETIMEDOUT;
			if (!c->credit_requested && (t < 0 || t > 100))
				t = 100;
			r = vhu_vsock_poll(v, t);
			if (r < 0)
				return r;
			if (r == 0 && !c->credit_requested && vhu_vsock_conn_peer_credit(c) == 0 &&
			    c->state == VHU_VSOCK_CONNECTED) {
				conn_ctl(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
				c->credit_requested = true;
			}
			continue;
		}
		r = wait_slot(v, deadline);
		if (r < 0)
			return off ? (ssize_t)off : r;
		if (seq && off + n == len)
			flags = VIRTIO_VSOCK_SEQ_EOM | (eor ? VIRTIO_VSOCK_SEQ_EOR : 0);
		conn_hdr(c, &h, VIRTIO_VSOCK_OP_RW, flags, n);
		r = tx_packet(v, &h, p + off, n);
		if (r < 0)
			return off ? (ssize_t)off : r;
		c->tx_cnt += n;
		off += n;
	} while (off < len);
	return (ssize_t)len;
}

ssize_t vhu_vsock_recv(struct vhu_vsock_conn *c, void *buf, size_t len, int timeout_ms,
		       bool *eor, bool *trunc)
{
	struct vhu_vsock *v = c->v;
	uint64_t deadline = deadline_of(timeout_ms);

	if (eor)
		*eor = false;
	if (trunc)
		*trunc = false;
	for (;;) {
		int r;

		if (c->type == VIRTIO_VSOCK_TYPE_SEQPACKET && c->msg_count) {
			struct vv_msg m = c->msgs[c->msg_head];
			size_t n = m.len < len ? m.len : len;

			memcpy(buf, c->rbuf + c->rhead, n);
			c->rhead += m.len;
			c->rlen -= m.len;
			c->msg_head = (c->msg_head + 1) % c->msg_cap;
			c->msg_count--;
			c->fwd_cnt += m.len;
			if (eor)
				*eor = m.eor;
			if (trunc)
				*trunc = m.len > len;
			maybe_credit_update(c, c->rlen == 0);
			return (ssize_t)n;
		}
		if (c->type == VIRTIO_VSOCK_TYPE_STREAM && c->rlen) {
			size_t n = c->rlen < len ? c->rlen : len;

			memcpy(buf, c->rbuf + c->rhead, n);
			c->rhead += n;
			c->rlen -= n;
			if (!c->rlen)
				c->rhead = 0;
			c->fwd_cnt += (uint32_t)n;
			maybe_credit_update(c, c->rlen == 0);
			return (ssize_t)n;
		}
		if (c->peer_shut & VIRTIO_VSOCK_SHUTDOWN_SEND)
			return 0;
		if (c->state == VHU_VSOCK_RESET || c->state == VHU_VSOCK_CLOSED)
			return -ECONNRESET;
		r = wait_until(v, deadline);
		if (r < 0)
			return r;
	}
}

int vhu_vsock_shutdown(struct vhu_vsock_conn *c, uint32_t flags)
{
	if (c->state != VHU_VSOCK_CONNECTED)
		return -ENOTCONN;
	c->our_shut |= flags;
	conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN, flags);
	return 0;
}

int vhu_vsock_close_conn(struct vhu_vsock_conn *c, int timeout_ms)
{
	struct vhu_vsock *v = c->v;
	uint64_t deadline = deadline_of(timeout_ms);
	int ret = -ETIMEDOUT;

	if (c->state == VHU_VSOCK_CONNECTED) {
		c->closing = true;
		c->our_shut = VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
		conn_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN, c->our_shut);
		while (c->state == VHU_VSOCK_CONNECTED) {
			int t = left_ms(deadline);
			if (t == 0 || vhu_vsock_poll(v, t) < 0)
				break;
		}
		if (c->state == VHU_VSOCK_CLOSED || c->state == VHU_VSOCK_RESET)
			ret = 0;
		else
			conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
	} else {
		ret = 0;
	}
	conn_free(c);
	return ret;
}

void vhu_vsock_reset_conn(struct vhu_vsock_conn *c)
{
	if (c->state == VHU_VSOCK_CONNECTED || c->state == VHU_VSOCK_CONNECTING)
		conn_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
	conn_free(c);
}

/* ---- raw ----------------------------------------------------------------- */

int vhu_vsock_send_raw(struct vhu_vsock *v, const void *bytes, size_t len)
{
	uint8_t *slot;
	struct vhu_sg sg;
	unsigned i;
	int r;

	r = wait_slot(v, deadline_of(5000));
	if (r < 0)
		return r;
	if (len > v->tx_slot_size)
		return -EMSGSIZE;
	i = v->tx_free[--v->tx_nfree];
	slot = v->tx_mem + (size_t)i * v->tx_slot_size;
	memcpy(slot, bytes, len);
	sg = (struct vhu_sg){ vhu_mem_gpa(v->s->m, slot), (uint32_t)len };
	r = vhu_vq_add(v->txq, &sg, 1, NULL, 0, (void *)(uintptr_t)(i + 1), false);
	if (r < 0) {
		v->tx_free[v->tx_nfree++] = i;
		return r;
	}
	vhu_vq_publish_kick(v->txq, false);
	return 0;
}

int vhu_vsock_next_unmatched(struct vhu_vsock *v, struct virtio_vsock_hdr *h, int timeout_ms)
{
	uint64_t deadline = deadline_of(timeout_ms);

	for (;;) {
		int r;

		if (v->um_count) {
			*h = v->unmatched[v->um_head];
			v->um_head = (v->um_head + 1) % VV_UNMATCHED;
			v->um_count--;
			return 1;
		}
		r = wait_until(v, deadline);
		if (r < 0)
			return r == -ETIMEDOUT ? 0 : r;
	}
}

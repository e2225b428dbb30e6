/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The engine of one vsock device (vsock-mux.h): connection table, rx
 * scheduling, tx dispatch, timeouts, lifecycle.  Accepting host
 * connections is in vsock-accept.c.
 */
#include "config.h"
#include "devices/vsock/vsock-mux.h"
#include "devices/vsock/vsock-mux-int.h"
#include "vhost-device.h"
#include "devices/vsock/vsock-conn.h"
#include "devices/vsock/vsock-host.h"
#include "devices/vsock/vsock-pkt.h"
#include "devices/vsock/vsock-sibling.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

uint64_t mux_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const struct vsock_vm *vsock_mux_vm(const struct vsock_mux *m)
{
	return m->vm;
}

bool mux_seqpacket(const struct vsock_mux *m)
{
	return m->dev && (vu_dev_features(m->dev) & VHD_BIT(VSOCK_F_SEQPACKET));
}

static void mux_tx(struct vsock_mux *m);

void mux_arm_timer(struct vsock_mux *m)
{
	if (m->timer && !vhd_timer_armed(m->timer))
		vhd_timer_arm(m->timer, MUX_TIMER_NS);
}

/* ---- connection table ------------------------------------------------ */

static unsigned bucket(uint32_t local_port, uint32_t peer_port)
{
	return ((local_port * 2654435761u) ^ peer_port) % MUX_BUCKETS;
}

struct vsock_conn *mux_lookup(struct vsock_mux *m, uint32_t local_port, uint32_t peer_port)
{
	for (struct vsock_conn *c = m->buckets[bucket(local_port, peer_port)]; c; c = c->hnext)
		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	return NULL;
}

static void unhash(struct vsock_mux *m, struct vsock_conn *c)
{
	struct vsock_conn **pp = &m->buckets[bucket(c->local_port, c->peer_port)];

	if (!c->hashed)
		return;
	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == c) {
			*pp = c->hnext;
			break;
		}
	c->hnext = NULL;
	c->hashed = false;
}

static void rx_list_del(struct vsock_mux *m, struct vsock_conn *c)
{
	if (!c->on_rx_list)
		return;
	if (c->rx_prev)
		c->rx_prev->rx_next = c->rx_next;
	else
		m->rx_head = c->rx_next;
	if (c->rx_next)
		c->rx_next->rx_prev = c->rx_prev;
	else
		m->rx_tail = c->rx_prev;
	c->rx_next = c->rx_prev = NULL;
	c->on_rx_list = false;
	m->n_rx--;
}

static void rx_list_add(struct vsock_mux *m, struct vsock_conn *c)
{
	if (c->on_rx_list)
		return;
	c->rx_next = NULL;
	c->rx_prev = m->rx_tail;
	if (m->rx_tail)
		m->rx_tail->rx_next = c;
	else
		m->rx_head = c;
	m->rx_tail = c;
	c->on_rx_list = true;
	m->n_rx++;
}

static void conn_fd_cb(struct vhd_handler *h, uint32_t events);

/* Enter c into the table (it has a host fd). */
int mux_conn_add(struct vsock_mux *m, struct vsock_conn *c)
{
	struct mux_fd *f = calloc(1, sizeof(*f));
	unsigned b = bucket(c->local_port, c->peer_port);

	if (!f)
		return -ENOMEM;
	f->h.fd = c->fd;
	f->h.cb = conn_fd_cb;
	f->h.opaque = f;
	f->m = m;
	f->c = c;
	c->ev = f;
	c->owner = m;
	c->hnext = m->buckets[b];
	m->buckets[b] = c;
	c->hashed = true;
	c->all_prev = NULL;
	c->all_next = m->all;
	if (m->all)
		m->all->all_prev = c;
	m->all = c;
	m->n_conns++;
	return 0;
}

static void conn_free(struct vsock_mux *m, struct vsock_conn *c)
{
	struct mux_fd *f = c->ev;

	unhash(m, c);
	rx_list_del(m, c);
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		m->all = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	/* vhd_loop_del also keeps events of the current epoll batch away from f. */
	vhd_loop_del(&f->h);
	free(f);
	vsock_conn_free(c);
	m->n_conns--;
}

/*
 * After every call into a connection: free it when dead, keep its epoll
 * registration and its place on the rx list in line with what it wants.
 * Must run before any other fd is opened, because a connection that just
 * closed its fd still has it registered under the old number.
 */
void mux_sync_conn(struct vsock_mux *m, struct vsock_conn *c)
{
	struct mux_fd *f = c->ev;
	uint32_t want;

	if (vsock_conn_state(c) == VSOCK_CONN_DEAD) {
		conn_free(m, c);
		return;
	}
	if (vsock_conn_state(c) == VSOCK_CONN_DRAINING)
		unhash(m, c);
	want = vsock_conn_events(c);
	if (want != c->ev_mask) {
		int r = 0;
		if (!want)
			vhd_loop_del(&f->h);
		else if (!c->ev_mask)
			r = vhd_loop_add(m->loop, &f->h, want);
		else
			r = vhd_loop_mod(&f->h, want);
		if (r < 0) {
			vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_ERROR,
					    "%s: cannot watch a host socket: %s; resetting the connection",
					    m->name, strerror(-r));
			vhd_loop_del(&f->h);
			c->ev_mask = 0;
			vsock_conn_reset(c, false, "epoll");
			mux_sync_conn(m, c);
			return;
		}
		c->ev_mask = want;
	}
	if (vsock_conn_has_rx(c))
		rx_list_add(m, c);
	else
		rx_list_del(m, c);
	if (c->deadline_ns)
		mux_arm_timer(m);
}

static void conn_fd_cb(struct vhd_handler *h, uint32_t events)
{
	struct mux_fd *f = h->opaque;
	struct vsock_mux *m = f->m;

	vsock_conn_host_event(f->c, events);
	mux_sync_conn(m, f->c);
	mux_rx(m);
}

/* ---- RST replies ------------------------------------------------------- */

/* Answer a guest packet that reaches no connection with RST. */
static void queue_rst(struct vsock_mux *m, const struct vsock_hdr *req)
{
	struct vsock_hdr *r;

	if (req->op == VSOCK_OP_RST || m->rst_count == VSOCK_RST_QUEUE)
		return;
	r = &m->rstq[(m->rst_head + m->rst_count) % VSOCK_RST_QUEUE];
	vsock_hdr_reply(req, VSOCK_OP_RST, r);
	if (r->type != VSOCK_TYPE_SEQPACKET)
		r->type = VSOCK_TYPE_STREAM;
	m->rst_count++;
}

/* ---- rx ------------------------------------------------------------------ */

/* ---- sibling connections --------------------------------------------------- */

/* An RST from this guest's side of a sibling flow to its peer. */
static void flow_reset(const struct vsock_flow *fl, void *opaque)
{
	struct vsock_mux *m = opaque;
	struct vsock_sib *to = vsock_sib_lookup(m->sib, fl->peer_cid);
	struct vsock_hdr rst = {
		.src_cid = m->vm->guest_cid, .src_port = fl->local_port,
		.dst_cid = fl->peer_cid, .dst_port = fl->peer_port,
		.type = fl->type, .op = VSOCK_OP_RST,
	};

	if (to)
		vsock_sib_send_rst(m->sib, to, &rst);
}

/* A packet from a sibling to this guest: deliver it and learn the flow,
 * or refuse a REQUEST the flow table has no room for (RST to the
 * sender).  Bytes written into e, 0 if nothing waits. */
static size_t sibling_rx(struct vsock_mux *m, struct vq_elem *e)
{
	struct vsock_hdr h;
	size_t len;

	while (vsock_sib_peek(m->sib, &h) && h.op == VSOCK_OP_REQUEST &&
	       vsock_flows_full(&m->flows)) {
		struct vsock_sib *from = vsock_sib_lookup(m->sib, h.src_cid);
		struct vsock_hdr rst;

		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: REQUEST from CID %llu: %u sibling connections open already; refused",
				    m->name, (unsigned long long)h.src_cid, VSOCK_FLOWS_MAX);
		vsock_sib_drop_head(m->sib);
		vsock_hdr_reply(&h, VSOCK_OP_RST, &rst);
		if (from)
			vsock_sib_send_rst(m->sib, from, &rst);
	}
	len = vsock_sib_fill(m->sib, e->wr, e->n_wr, e->wr_len, &h);
	if (len && vsock_flows_note(&m->flows, h.op, h.type, h.dst_port, h.src_cid, h.src_port) < 0)
		LOG_WARN("%s: out of memory for the sibling connection table", m->name);
	return len;
}

static size_t next_packet(struct vsock_mux *m, struct vq_elem *e)
{
	size_t len;
	unsigned budget;

	if (m->rst_count) {
		vsock_hdr_write(e->wr, e->n_wr, e->wr_len, &m->rstq[m->rst_head]);
		m->rst_head = (m->rst_head + 1) % VSOCK_RST_QUEUE;
		m->rst_count--;
		return VSOCK_HDR_SIZE;
	}
	if (m->sib && (len = sibling_rx(m, e)))
		return len;
	/* Round robin: a connection that sent goes to the back. */
	budget = m->n_rx;
	while (budget-- && m->rx_head) {
		struct vsock_conn *c = m->rx_head;

		rx_list_del(m, c);
		len = vsock_conn_fill(c, e->wr, e->n_wr, e->wr_len);
		mux_sync_conn(m, c);
		if (len)
			return len;
	}
	return 0;
}

static bool rx_handle(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct vsock_mux *m = opaque;
	size_t len;

	if (e->wr_len < VSOCK_HDR_SIZE) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: rx buffer of %u writable bytes cannot hold a 44-byte header; returned empty",
				    m->name, e->wr_len);
		vq_push(q, e, 0);
		return true;
	}
	len = next_packet(m, e);
	if (!len) {
		vq_unpop(q, e);
		return false;
	}
	vq_push(q, e, (uint32_t)len);
	return true;
}

static bool rx_wanted(struct vsock_mux *m)
{
	return m->rst_count || m->rx_head || (m->sib && vsock_sib_pending(m->sib));
}

void mux_rx(struct vsock_mux *m)
{
	if (!m->dev || m->in_rx || !rx_wanted(m))
		return;
	m->in_rx = true;
	vu_queue_process(m->dev, VSOCK_QUEUE_RX, rx_handle, m);
	m->in_rx = false;
	if ((m->tx_block & BLOCK_RST) && m->rst_count < VSOCK_RST_QUEUE) {
		m->tx_block &= ~BLOCK_RST;
		if (!m->tx_block)
			mux_tx(m);
	}
}

/* ---- tx ------------------------------------------------------------------ */

static void open_guest_conn(struct vsock_mux *m, const struct vsock_hdr *h)
{
	int type = h->type == VSOCK_TYPE_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM;
	bool in_progress = false;
	struct vsock_conn *c;
	int fd;

	if (m->n_conns >= VSOCK_MAX_CONNS) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: %u connections open; refusing guest port %u -> host port %u",
				    m->name, m->n_conns, h->src_port, h->dst_port);
		queue_rst(m, h);
		return;
	}
	if (m->vm->uds_path)
		fd = vsock_uds_connect(m->vm->uds_path, h->dst_port, type);
	else
		fd = vsock_vsock_connect(m->vm->forward_cid, h->dst_port, type, &in_progress);
	if (fd < 0) {
		/* Nobody listens there: the guest learns it at once. */
		if (m->vm->uds_path)
			LOG_INFO("%s: guest port %u -> host port %u: connect %s_%u: %s; sending RST",
				 m->name, h->src_port, h->dst_port, m->vm->uds_path, h->dst_port,
				 strerror(-fd));
		else
			LOG_INFO("%s: guest port %u -> host port %u: connect vsock %u:%u: %s; sending RST",
				 m->name, h->src_port, h->dst_port, m->vm->forward_cid, h->dst_port,
				 strerror(-fd));
		queue_rst(m, h);
		return;
	}
	c = vsock_conn_new(&m->cfg, h->type, VSOCK_CID_HOST, h->dst_port, h->src_port, fd);
	if (!c || mux_conn_add(m, c) < 0) {
		if (c)
			vsock_conn_free(c);
		else
			close(fd);
		queue_rst(m, h);
		return;
	}
	vsock_conn_start_guest(c, h, in_progress);
	if (in_progress)
		c->deadline_ns = mux_now_ns() + VSOCK_CONNECT_TIMEOUT_NS;
	mux_sync_conn(m, c);
}

static void host_pkt(struct vsock_mux *m, const struct vsock_hdr *h, struct vq_elem *e)
{
	struct vsock_conn *c = mux_lookup(m, h->dst_port, h->src_port);

	if (c) {
		vsock_conn_guest_pkt(c, h, e->rd, e->n_rd);
		mux_sync_conn(m, c);
		return;
	}
	if (h->op == VSOCK_OP_REQUEST) {
		open_guest_conn(m, h);
		return;
	}
	/* Linux answers a packet for no socket with RST; so do we. */
	queue_rst(m, h);
}

/* false: the sibling's mailbox is full, try again later. */
static bool sibling_pkt(struct vsock_mux *m, const struct vsock_hdr *h, struct vq_elem *e)
{
	struct vsock_sib *to = m->sib ? vsock_sib_lookup(m->sib, h->dst_cid) : NULL;
	int r;

	if (!to) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_INFO,
				    "%s: %s to CID %llu: no device with that CID in a common group; %s",
				    m->name, vsock_op_str(h->op), (unsigned long long)h->dst_cid,
				    h->op == VSOCK_OP_RST ? "dropped" : "sending RST");
		queue_rst(m, h);
		return true;
	}
	if (h->op == VSOCK_OP_REQUEST && vsock_flows_full(&m->flows)) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: REQUEST to CID %llu: %u sibling connections open already; sending RST",
				    m->name, (unsigned long long)h->dst_cid, VSOCK_FLOWS_MAX);
		queue_rst(m, h);
		return true;
	}
	r = vsock_sib_send(m->sib, to, h, e->rd, e->n_rd);
	if (r == 0 && vsock_flows_note(&m->flows, h->op, h->type, h->src_port, h->dst_cid,
				       h->dst_port) < 0)
		LOG_WARN("%s: out of memory for the sibling connection table", m->name);
	LOG_DEBUG("%s: %s %u -> CID %llu port %u, len %u: relayed to the sibling: %s",
		  m->name, vsock_op_str(h->op), h->src_port, (unsigned long long)h->dst_cid,
		  h->dst_port, h->len, r == 0 ? "ok" : strerror(-r));
	if (r == -EAGAIN)
		return false;
	if (r < 0)
		queue_rst(m, h);
	return true;
}

static bool tx_handle(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct vsock_mux *m = opaque;
	enum vsock_pkt_verdict v;
	struct vsock_hdr h;

	/* Any packet may need an RST reply: keep a slot for it. */
	if (m->rst_count == VSOCK_RST_QUEUE) {
		vq_unpop(q, e);
		m->tx_block |= BLOCK_RST;
		return false;
	}
	if (vsock_hdr_read(e->rd, e->n_rd, e->rd_len, &h) < 0) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: tx buffer of %u readable bytes is shorter than the 44-byte header; dropped",
				    m->name, e->rd_len);
		vq_push(q, e, 0);
		return true;
	}
	v = vsock_pkt_check(&h, e->rd_len, m->vm->guest_cid, mux_seqpacket(m));
	if (v != VSOCK_PKT_OK) {
		vhd_log_ratelimited(&m->log_budget, 10, VHD_LOG_WARN,
				    "%s: guest packet %s %llu:%u -> %llu:%u type %u len %u: %s; %s",
				    m->name, vsock_op_str(h.op), (unsigned long long)h.src_cid,
				    h.src_port, (unsigned long long)h.dst_cid, h.dst_port, h.type,
				    h.len, vsock_pkt_verdict_str(v),
				    vsock_pkt_verdict_rst(v) && h.op != VSOCK_OP_RST ? "sending RST" : "dropped");
		if (vsock_pkt_verdict_rst(v))
			queue_rst(m, &h);
		vq_push(q, e, 0);
		return true;
	}
	if (h.dst_cid == VSOCK_CID_HOST) {
		host_pkt(m, &h, e);
	} else if (!sibling_pkt(m, &h, e)) {
		vq_unpop(q, e);
		m->tx_block |= BLOCK_SIB;
		return false;
	}
	vq_push(q, e, 0);
	return true;
}

static void mux_tx(struct vsock_mux *m)
{
	if (m->in_tx) {
		m->tx_again = true;
		return;
	}
	m->in_tx = true;
	do {
		m->tx_again = false;
		if (m->dev && !m->tx_block)
			vu_queue_process(m->dev, VSOCK_QUEUE_TX, tx_handle, m);
		/* Replies and credit updates the packets caused. */
		mux_rx(m);
	} while (m->tx_again && m->dev);
	m->in_tx = false;
}

void vsock_mux_kick(struct vsock_mux *m, unsigned q)
{
	if (q == VSOCK_QUEUE_RX)
		mux_rx(m);
	else if (q == VSOCK_QUEUE_TX)
		mux_tx(m);
}

/* ---- timer and sibling wake-ups ----------------------------------------- */

static void timer_cb(struct vhd_timer *t, void *opaque)
{
	struct vsock_mux *m = opaque;
	uint64_t now = mux_now_ns();
	bool again;
	struct vsock_conn *c, *nc;

	if (!m->dev)
		return;
	again = mux_clients_expire(m, now);
	for (c = m->all; c; c = nc) {
		nc = c->all_next;
		if (!c->deadline_ns)
			continue;
		/* The guest's clock starts when the REQUEST goes out. */
		if (vsock_conn_state(c) == VSOCK_CONN_GUEST_CONNECTING &&
		    (c->pending & VSOCK_P_REQUEST)) {
			c->deadline_ns = now + VSOCK_CONNECT_TIMEOUT_NS;
			again = true;
			continue;
		}
		if (vsock_conn_state(c) != VSOCK_CONN_GUEST_CONNECTING &&
		    vsock_conn_state(c) != VSOCK_CONN_HOST_CONNECTING) {
			c->deadline_ns = 0;
			continue;
		}
		if (now >= c->deadline_ns) {
			LOG_INFO("%s: connection guest port %u <-> host port %u: no answer within %llu s; reset",
				 m->name, c->peer_port, c->local_port,
				 VSOCK_CONNECT_TIMEOUT_NS / 1000000000ull);
			c->deadline_ns = 0;
			vsock_conn_reset(c, false, "timeout");
			mux_sync_conn(m, c);
		} else {
			again = true;
		}
	}
	if (m->accept_paused)
		mux_listen_start(m);
	if (again)
		mux_arm_timer(m);
	mux_rx(m);
}

static void sib_cb(struct vhd_handler *h, uint32_t events)
{
	struct vsock_mux *m = h->opaque;

	vsock_sib_ack(m->sib);
	if (!m->dev)
		return;
	if (m->tx_block & BLOCK_SIB) {
		m->tx_block &= ~BLOCK_SIB;
		if (!m->tx_block)
			mux_tx(m);
	}
	mux_rx(m);
}

/* ---- lifecycle ----------------------------------------------------------- */

void vsock_mux_connected(struct vsock_mux *m, struct vu_dev *dev)
{
	m->dev = dev;
	m->loop = vu_dev_loop(dev);
	if (!m->timer) {
		m->timer = vhd_timer_new(m->loop, timer_cb, m);
		if (!m->timer)
			LOG_ERR("%s: cannot create a timer: connection timeouts are off", m->name);
	}
	if (m->sib && !m->sib_h.loop && vhd_loop_add(m->loop, &m->sib_h, EPOLLIN) < 0)
		LOG_ERR("%s: cannot watch the sibling eventfd: %s", m->name, strerror(errno));
	mux_listen_start(m);
	if (m->sib)
		vsock_sib_set_active(m->sib, true);
}

void vsock_mux_reset(struct vsock_mux *m)
{
	/* The guest is gone with all its sockets: host peers see their
	 * connections close; siblings get RST for new packets, for what
	 * waited in the mailbox and for every connection they had with this
	 * guest (vsock-flows.h), whether or not it had reached the guest. */
	if (m->sib) {
		vsock_sib_set_active(m->sib, false);
		vsock_flows_drain(&m->flows, flow_reset, m);
	}
	while (m->clients)
		mux_client_free(m, m->clients, true);
	while (m->all)
		conn_free(m, m->all);
	m->rst_count = 0;
	m->rst_head = 0;
	m->tx_block = 0;
	mux_listen_stop(m);
	/* The next connection may be served by another worker thread
	 * (vhost-device.h, "Threading promise"): nothing stays on this
	 * connection's loop. */
	vhd_timer_free(m->timer);
	m->timer = NULL;
	vhd_loop_del(&m->sib_h);
	m->dev = NULL;
}

int vsock_mux_new(const struct vsock_vm *vm, struct vsock_mux **out, char *err, size_t errlen)
{
	struct vsock_mux *m = calloc(1, sizeof(*m));
	char path[4200];
	int fd, r;

	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	m->vm = vm;
	snprintf(m->name, sizeof(m->name), "%s (cid %llu)", vm->socket ? vm->socket : "fd",
		 (unsigned long long)vm->guest_cid);
	m->cfg.guest_cid = vm->guest_cid;
	m->cfg.buf_alloc = vm->tx_buffer_size;
	m->cfg.name = m->name;
	m->next_port = VSOCK_LOCAL_PORT_BASE;
	m->listeners = calloc(2 + vm->n_listen, sizeof(*m->listeners));
	if (!m->listeners)
		goto nomem;
	if (vm->uds_path) {
		/* Made in instance_new, as root under --user: the core gives
		 * these to the target user, whose programs connect to them
		 * (vhost-device.h, vhd_startup_path). */
		fd = vhd_unix_listen(vm->uds_path, SOCK_STREAM, 128, err, errlen);
		if (fd < 0)
			goto fail;
		if (mux_add_listener(m, L_UDS_STREAM, fd, vm->uds_path, 0) < 0)
			goto nomem;
		if (vhd_startup_path(vm->uds_path) < 0)
			goto unrecorded;
		/* Our SEQPACKET extension; a path too long for it only costs
		 * host-initiated SEQPACKET connections. */
		snprintf(path, sizeof(path), "%s_seqpacket", vm->uds_path);
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			LOG_WARN("%s: %s is too long for a Unix socket: no host-initiated SEQPACKET connections",
				 m->name, path);
		} else {
			fd = vhd_unix_listen(path, SOCK_SEQPACKET, 128, err, errlen);
			if (fd < 0)
				goto fail;
			if (mux_add_listener(m, L_UDS_SEQPACKET, fd, path, 0) < 0)
				goto nomem;
			if (vhd_startup_path(path) < 0)
				goto unrecorded;
		}
	}
	for (unsigned i = 0; i < vm->n_listen; i++) {
		fd = vsock_vsock_listen(vm->listen_ports[i], err, errlen);
		if (fd < 0)
			goto fail;
		if (mux_add_listener(m, L_VSOCK, fd, NULL, vm->listen_ports[i]) < 0)
			goto nomem;
	}
	r = vsock_sib_register(vm, &m->sib);
	if (r < 0) {
		snprintf(err, errlen, "cannot set up sibling forwarding: %s", strerror(-r));
		goto fail;
	}
	m->sib_h.fd = m->sib->efd;
	m->sib_h.cb = sib_cb;
	m->sib_h.opaque = m;
	*out = m;
	return 0;
unrecorded:
	snprintf(err, errlen, "%s: cannot record the socket for --user/--group", vm->uds_path);
	goto fail;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	vsock_mux_free(m);
	return -1;
}

void vsock_mux_free(struct vsock_mux *m)
{
	if (!m)
		return;
	vsock_mux_reset(m);
	for (unsigned i = 0; i < m->n_listeners; i++) {
		struct mux_listener *l = &m->listeners[i];
		vhd_loop_del(&l->h);
		close(l->h.fd);
		if (l->path) {
			unlink(l->path);
			free(l->path);
		}
	}
	free(m->listeners);
	vhd_loop_del(&m->sib_h);
	vsock_sib_unregister(m->sib);
	vhd_timer_free(m->timer);
	free(m);
}

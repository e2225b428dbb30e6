/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-can: the virtio CAN controller (virtio 1.4 draft, "CAN
 * Device", device ID 36) on a host SocketCAN interface, command-line
 * compatible with the Rust vhost-device-can (-s, -c, -d/--can-devices;
 * sockets PATH0..PATH<N-1>, one interface per socket).
 *
 * Queues: 0 tx (each frame written on the controller's raw CAN socket,
 * with its own result), 1 rx (buffers held until a frame arrives: the
 * socket is watched in the connection's event loop), 2 control (START
 * opens the socket, STOP closes it).  Config: le16 status with
 * VIRTIO_CAN_S_CTRL_BUSOFF, and a config-change notification when the
 * controller stops by itself: a bus-off error frame, or the interface
 * going down or away.
 *
 * Differences from the Rust backend, on purpose:
 *  - one socket per controller, without CAN_RAW_RECV_OWN_MSGS: the guest
 *    never receives its own frames back (the Rust backend reads on a
 *    second socket and echoes every guest frame);
 *  - VIRTIO_CAN_F_RTR_FRAMES and VIRTIO_CAN_F_LATE_TX_ACK are offered; with
 *    LATE_TX_ACK a tx request completes when the kernel hands the frame
 *    back as sent (MSG_CONFIRM: on tx completion for drivers with
 *    IFF_ECHO, i.e. once on the bus);
 *  - every field of a tx frame is checked (flags, reserved fields, id and
 *    length ranges against the negotiated features);
 *  - the controller starts STOPPED and follows START/STOP (the Rust
 *    backend only gates its queues); the bus-off bit is the spec's bit 0,
 *    sent with a config-change notification;
 *  - an interface that is down is reported, never fatal (START fails
 *    until it is up); one that goes down or away is a bus-off.
 *
 * No QEMU release has a vhost-user CAN frontend: tests drive the device
 * with tools/vhu-can.c (docs/can.md).
 */
#include "config.h"
#include "vhost-device.h"
#include "can-frame.h"
#include "can-host.h"

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/can/error.h>

#define CAN_QUEUE_SIZE 1024
#define CAN_NUM_QUEUES 3
#define CAN_TXQ 0
#define CAN_RXQ 1
#define CAN_CTRLQ 2
/* Frames kept while the guest has no rx buffer (a controller's receive
 * FIFO); beyond it frames are dropped and counted, as on an overrun. */
#define CAN_BACKLOG 256
/* Frames read per socket event: other instances of the worker get a turn
 * (the fd is level-triggered and comes back). */
#define CAN_READ_BUDGET 64
/* Retry delay when the interface's tx queue is full (ENOBUFS: the kernel
 * gives no wake-up for it). */
#define CAN_TX_RETRY_NS 2000000u

struct can_opts {
	const char *devices;        /* -d: whitespace-separated names */
	char **names;               /* split by check_options, one per socket */
	unsigned count;
};

struct can_backlog_frame {
	struct canfd_frame f;
	uint8_t n;                  /* CAN_MTU or CANFD_MTU */
};

/* A tx frame written, waiting for its MSG_CONFIRM (LATE_TX_ACK). */
struct can_tx_wait {
	struct vq_elem *e;
	struct can_msg m;
};

struct can_dev {
	char ifname[CAN_IFNAME_MAX];
	/* Per connection. */
	struct vu_dev *dev;
	uint64_t features;          /* acked, taken at START */
	uint16_t status;            /* config status */
	bool started;
	int fd;
	struct vhd_handler h;
	struct vhd_timer *retry;
	struct vq_elem **rxb;       /* held rx buffers, oldest first */
	unsigned nrxb;
	struct can_tx_wait *txw;    /* written, unconfirmed, in write order */
	unsigned ntxw;
	struct can_backlog_frame *bl;
	unsigned bl_head, bl_n;
	uint64_t rx_dropped;
	unsigned log_tx, log_rx, log_ctrl;
};

static bool has(const struct can_dev *c, unsigned bit)
{
	return (c->features >> bit) & 1;
}

static void push_result(struct virtqueue *q, struct vq_elem *e, uint8_t result)
{
	if (e->wr_len < 1) {
		vq_push(q, e, 0);
		return;
	}
	iov_from_buf(e->wr, e->n_wr, 0, &result, 1);
	vq_push(q, e, 1);
}

/* ---- controller state ------------------------------------------------- */

static void close_socket(struct can_dev *c)
{
	if (c->fd < 0)
		return;
	vhd_loop_del(&c->h);
	close(c->fd);
	c->fd = -1;
}

/* STOPPED: "the device cancels all CAN messages already pending for
 * transmission and marks them as used with VIRTIO_CAN_RESULT_NOT_OK"
 * (virtio CAN, "Controller Mode"). */
static void stop_controller(struct can_dev *c)
{
	struct virtqueue *txq = vu_dev_queue(c->dev, CAN_TXQ);

	for (unsigned i = 0; i < c->ntxw; i++)
		push_result(txq, c->txw[i].e, VIRTIO_CAN_RESULT_NOT_OK);
	if (c->ntxw)
		vq_notify(txq);
	c->ntxw = 0;
	c->bl_n = c->bl_head = 0;
	close_socket(c);
	vhd_timer_disarm(c->retry);
	c->started = false;
}

/* The controller stopped by itself: set the bus-off bit and tell the
 * driver (virtio CAN, "BusOff Indication"). */
static void bus_off(struct can_dev *c, const char *why)
{
	int r;

	if (!c->started)
		return;
	LOG_WARN("%s: %s: %s: controller stopped, bus-off reported to the guest",
		 vu_dev_name(c->dev), c->ifname, why);
	c->status |= VIRTIO_CAN_S_CTRL_BUSOFF;
	stop_controller(c);
	r = vu_dev_config_changed(c->dev);
	if (r < 0)
		LOG_INFO("%s: no config-change notification (%s): the driver sees bus-off "
			 "when it reads the config", vu_dev_name(c->dev), strerror(-r));
}

/* ---- rx ---------------------------------------------------------------- */

/* Give one encoded message to the oldest held rx buffer (each holds a
 * whole message: hold_rx).  False when there is none (the caller keeps
 * the frame). */
static bool deliver(struct can_dev *c, const uint8_t *msg, size_t len)
{
	struct virtqueue *rxq = vu_dev_queue(c->dev, CAN_RXQ);
	struct vq_elem *e;

	if (!c->nrxb)
		return false;
	e = c->rxb[0];
	c->nrxb--;
	memmove(&c->rxb[0], &c->rxb[1], c->nrxb * sizeof(c->rxb[0]));
	iov_from_buf(e->wr, e->n_wr, 0, msg, len);
	vq_push(rxq, e, (uint32_t)len);
	return true;
}

static bool deliver_frame(struct can_dev *c, const struct canfd_frame *f, size_t n)
{
	uint8_t msg[VIRTIO_CAN_MSG_MAX];
	size_t len = can_rx_encode(f, n, c->features, msg);

	if (!len) {
		c->rx_dropped++;
		vhd_log_ratelimited(&c->log_rx, 5, VHD_LOG_INFO,
				    "%s: frame 0x%x (%zu bytes) of a type the driver did not "
				    "negotiate: dropped", vu_dev_name(c->dev), f->can_id, n);
		return true;
	}
	return deliver(c, msg, len);
}

static void backlog_add(struct can_dev *c, const struct canfd_frame *f, size_t n)
{
	struct can_backlog_frame *b;

	if (c->bl_n == CAN_BACKLOG) {
		c->rx_dropped++;
		vhd_log_ratelimited(&c->log_rx, 5, VHD_LOG_WARN,
				    "%s: no rx buffer from the guest and %u frames waiting: "
				    "frame dropped (%llu so far)", vu_dev_name(c->dev),
				    CAN_BACKLOG, (unsigned long long)c->rx_dropped);
		return;
	}
	b = &c->bl[(c->bl_head + c->bl_n) % CAN_BACKLOG];
	memcpy(&b->f, f, n);
	b->n = (uint8_t)n;
	c->bl_n++;
}

/* Backlogged frames into the buffers the guest just gave. */
static bool drain_backlog(struct can_dev *c)
{
	bool any = false;

	while (c->bl_n && c->nrxb) {
		struct can_backlog_frame *b = &c->bl[c->bl_head];

		deliver_frame(c, &b->f, b->n);
		c->bl_head = (c->bl_head + 1) % CAN_BACKLOG;
		c->bl_n--;
		any = true;
	}
	return any;
}

/* ---- tx ---------------------------------------------------------------- */

static bool same_frame(const struct can_msg *m, const struct canfd_frame *f, size_t n)
{
	return (n == CANFD_MTU) == m->fd && f->can_id == m->f.can_id && f->len == m->f.len &&
	       ((m->f.can_id & CAN_RTR_FLAG) || memcmp(f->data, m->f.data, f->len) == 0);
}

/* Our own frame came back (MSG_CONFIRM): it has been sent.  Frames go
 * out in write order, so the match completes it and any older one whose
 * confirmation the kernel dropped (a full receive buffer). */
static bool tx_confirmed(struct can_dev *c, const struct canfd_frame *f, size_t n)
{
	struct virtqueue *txq = vu_dev_queue(c->dev, CAN_TXQ);
	unsigned k;

	for (k = 0; k < c->ntxw; k++)
		if (same_frame(&c->txw[k].m, f, n))
			break;
	if (k == c->ntxw)
		return false;
	if (k)
		LOG_DEBUG("%s: %u tx confirmations lost; completed in order", vu_dev_name(c->dev), k);
	for (unsigned i = 0; i <= k; i++)
		push_result(txq, c->txw[i].e, VIRTIO_CAN_RESULT_OK);
	c->ntxw -= k + 1;
	memmove(&c->txw[0], &c->txw[k + 1], c->ntxw * sizeof(c->txw[0]));
	return true;
}

static bool handle_tx(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct can_dev *c = opaque;
	uint8_t buf[VIRTIO_CAN_MSG_MAX + 1];
	size_t len = iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf));
	struct can_msg m;
	const char *why;
	ssize_t w;

	if (e->wr_len < 1) {
		vhd_log_ratelimited(&c->log_tx, 5, VHD_LOG_WARN,
				    "%s: tx request without a result byte", vu_dev_name(dev));
		vq_push(q, e, 0);
		return true;
	}
	if (can_tx_parse(buf, len, vu_dev_features(dev), &m, &why) != VIRTIO_CAN_RESULT_OK) {
		vhd_log_ratelimited(&c->log_tx, 5, VHD_LOG_WARN, "%s: tx frame refused: %s",
				    vu_dev_name(dev), why);
		push_result(q, e, VIRTIO_CAN_RESULT_NOT_OK);
		return true;
	}
	if (!c->started) {
		/* "In the STOPPED state the device marks messages ... as used
		 * with VIRTIO_CAN_RESULT_NOT_OK without transmitting them." */
		push_result(q, e, VIRTIO_CAN_RESULT_NOT_OK);
		return true;
	}
	w = write(c->fd, &m.f, m.fd ? CANFD_MTU : CAN_MTU);
	if (w < 0 && (errno == EAGAIN || errno == ENOBUFS)) {
		/* The interface queue is full: try again shortly. */
		vq_unpop(q, e);
		vhd_timer_arm(c->retry, CAN_TX_RETRY_NS);
		return false;
	}
	if (w < 0 && (errno == ENETDOWN || errno == ENODEV || errno == ENXIO)) {
		push_result(q, e, VIRTIO_CAN_RESULT_NOT_OK);
		bus_off(c, errno == ENETDOWN ? "interface down" : "interface gone");
		return true;
	}
	if (w < 0) {
		vhd_log_ratelimited(&c->log_tx, 5, VHD_LOG_WARN, "%s: %s: sending frame 0x%x: %s",
				    vu_dev_name(dev), c->ifname, m.f.can_id, strerror(errno));
		push_result(q, e, VIRTIO_CAN_RESULT_NOT_OK);
		return true;
	}
	if (has(c, VIRTIO_CAN_F_LATE_TX_ACK)) {
		/* At most one per ring entry: the core pops no more. */
		c->txw[c->ntxw].e = e;
		c->txw[c->ntxw].m = m;
		c->ntxw++;
		return true;
	}
	push_result(q, e, VIRTIO_CAN_RESULT_OK);
	return true;
}

static void retry_cb(struct vhd_timer *t, void *opaque)
{
	struct can_dev *c = opaque;

	vu_queue_schedule(c->dev, CAN_TXQ);
}

/* ---- the socket ---------------------------------------------------------- */

static void sock_event(struct vhd_handler *h, uint32_t events)
{
	struct can_dev *c = h->opaque;
	bool rx = false, tx = false;

	for (unsigned i = 0; i < CAN_READ_BUDGET && c->started; i++) {
		struct canfd_frame f;
		struct iovec iov = { &f, sizeof(f) };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(c->fd, &msg, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno == ENETDOWN || errno == ENODEV || errno == ENXIO) {
				bus_off(c, errno == ENETDOWN ? "interface down" : "interface gone");
				break;
			}
			LOG_WARN("%s: %s: reading: %s", vu_dev_name(c->dev), c->ifname,
				 strerror(errno));
			break;
		}
		if (n == 0) {
			/* A raw CAN socket never reads 0 bytes; whatever
			 * stands in for one has gone away. */
			bus_off(c, "interface gone (end of file)");
			break;
		}
		if (n != CAN_MTU && n != CANFD_MTU)
			continue;
		if (msg.msg_flags & MSG_CONFIRM) {
			tx |= tx_confirmed(c, &f, (size_t)n);
			continue;
		}
		if (f.can_id & CAN_ERR_FLAG) {
			if (f.can_id & CAN_ERR_BUSOFF)
				bus_off(c, "bus-off error frame");
			continue;
		}
		if (c->bl_n || !deliver_frame(c, &f, (size_t)n))
			backlog_add(c, &f, (size_t)n);
		else
			rx = true;
	}
	if (rx)
		vq_notify(vu_dev_queue(c->dev, CAN_RXQ));
	if (tx)
		vq_notify(vu_dev_queue(c->dev, CAN_TXQ));
}

static uint8_t start_controller(struct can_dev *c)
{
	char err[256];
	int r;

	if (c->started)
		return VIRTIO_CAN_RESULT_OK;
	c->features = vu_dev_features(c->dev);
	r = can_sock_open(c->ifname, has(c, VIRTIO_CAN_F_CAN_FD),
			  has(c, VIRTIO_CAN_F_LATE_TX_ACK), &c->fd, err, sizeof(err));
	if (r < 0) {
		vhd_log_ratelimited(&c->log_ctrl, 10, VHD_LOG_WARN,
				    "%s: controller start refused: %s", vu_dev_name(c->dev), err);
		return VIRTIO_CAN_RESULT_NOT_OK;
	}
	c->h = (struct vhd_handler){ .fd = c->fd, .cb = sock_event, .opaque = c };
	if (vhd_loop_add(vu_dev_loop(c->dev), &c->h, EPOLLIN) < 0) {
		LOG_ERR("%s: watching the CAN socket: %s", vu_dev_name(c->dev), strerror(errno));
		close(c->fd);
		c->fd = -1;
		return VIRTIO_CAN_RESULT_NOT_OK;
	}
	c->started = true;
	/* The driver's own transition clears bus-off; no notification is
	 * needed for it ("Controller Mode"). */
	c->status &= (uint16_t)~VIRTIO_CAN_S_CTRL_BUSOFF;
	LOG_INFO("%s: controller started on %s", vu_dev_name(c->dev), c->ifname);
	return VIRTIO_CAN_RESULT_OK;
}

static bool handle_ctrl(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct can_dev *c = opaque;
	uint8_t buf[2];
	int type = can_ctrl_parse(buf, iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf)));
	uint8_t result = VIRTIO_CAN_RESULT_NOT_OK;

	if (type == VIRTIO_CAN_SET_CTRL_MODE_START) {
		result = start_controller(c);
	} else if (type == VIRTIO_CAN_SET_CTRL_MODE_STOP) {
		stop_controller(c);
		result = VIRTIO_CAN_RESULT_OK;
	} else {
		vhd_log_ratelimited(&c->log_ctrl, 10, VHD_LOG_WARN,
				    "%s: control request of type %d refused", vu_dev_name(dev), type);
	}
	push_result(q, e, result);
	return true;
}

static bool hold_rx(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e, void *opaque)
{
	struct can_dev *c = opaque;
	bool fd = (vu_dev_features(dev) >> VIRTIO_CAN_F_CAN_FD) & 1;

	if (e->wr_len < VIRTIO_CAN_HDR_SIZE + (fd ? CANFD_MAX_DLEN : CAN_MAX_DLEN)) {
		/* Too small for every frame the driver may get: the spec asks
		 * for buffers of a whole struct virtio_can_rx. */
		vhd_log_ratelimited(&c->log_rx, 5, VHD_LOG_WARN,
				    "%s: rx buffer of %u bytes is too small: completed empty",
				    vu_dev_name(dev), e->wr_len);
		vq_push(q, e, 0);
		return true;
	}
	c->rxb[c->nrxb++] = e;
	return true;
}

/* ---- ops ---------------------------------------------------------------- */

static void can_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct can_dev *c = vu_dev_priv(dev);

	if (!c->rxb || !c->txw || !c->bl || !c->retry)
		return;     /* connected() could not allocate */
	if (q == CAN_TXQ) {
		vu_queue_process(dev, q, handle_tx, c);
	} else if (q == CAN_CTRLQ) {
		vu_queue_process(dev, q, handle_ctrl, c);
	} else if (q == CAN_RXQ) {
		if (!c->features)
			c->features = vu_dev_features(dev);
		vu_queue_process(dev, q, hold_rx, c);
		if (drain_backlog(c))
			vq_notify(vu_dev_queue(dev, q));
	}
}

static void can_queue_stop(struct vu_dev *dev, unsigned q)
{
	struct can_dev *c = vu_dev_priv(dev);
	struct virtqueue *txq = vu_dev_queue(dev, CAN_TXQ);

	if (q != CAN_TXQ)
		return;
	/* Frames already written have had their effect: complete them. */
	for (unsigned i = 0; i < c->ntxw; i++)
		push_result(txq, c->txw[i].e, VIRTIO_CAN_RESULT_OK);
	c->ntxw = 0;
}

static uint32_t can_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e, bool give_back)
{
	struct can_dev *c = vu_dev_priv(dev);

	if (q == CAN_RXQ) {
		for (unsigned i = 0; i < c->nrxb; i++)
			if (c->rxb[i] == e) {
				c->nrxb--;
				memmove(&c->rxb[i], &c->rxb[i + 1], (c->nrxb - i) * sizeof(c->rxb[0]));
				break;
			}
		return 0;
	}
	if (!give_back && e->wr_len >= 1) {
		uint8_t r = VIRTIO_CAN_RESULT_NOT_OK;

		iov_from_buf(e->wr, e->n_wr, 0, &r, 1);
		return 1;
	}
	return 0;
}

static void can_connected(struct vu_dev *dev)
{
	struct can_dev *c = vu_dev_priv(dev);

	c->dev = dev;
	c->fd = -1;
	c->status = 0;
	c->started = false;
	c->features = 0;
	c->nrxb = c->ntxw = c->bl_n = c->bl_head = 0;
	c->rx_dropped = 0;
	c->rxb = calloc(CAN_QUEUE_SIZE, sizeof(*c->rxb));
	c->txw = calloc(CAN_QUEUE_SIZE, sizeof(*c->txw));
	c->bl = calloc(CAN_BACKLOG, sizeof(*c->bl));
	c->retry = vhd_timer_new(vu_dev_loop(dev), retry_cb, c);
	if (!c->rxb || !c->txw || !c->bl || !c->retry)
		LOG_ERR("%s: out of memory: the device will not serve its queues",
			vu_dev_name(dev));
}

static void can_reset(struct vu_dev *dev)
{
	struct can_dev *c = vu_dev_priv(dev);

	/* Queues are stopped: nothing is held any more. */
	c->ntxw = c->nrxb = 0;
	close_socket(c);
	c->started = false;
	c->status = 0;
	vhd_timer_free(c->retry);
	c->retry = NULL;
	free(c->rxb);
	free(c->txw);
	free(c->bl);
	c->rxb = NULL;
	c->txw = NULL;
	c->bl = NULL;
}

static int can_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct can_dev *c = vu_dev_priv(dev);
	uint16_t le = htole16(c->status);

	memcpy(buf, &le, sizeof(le));
	return 0;
}

static int can_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct can_opts *o = ctx;
	struct can_dev *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	snprintf(c->ifname, sizeof(c->ifname), "%s", o->names[index]);
	c->fd = -1;
	*priv = c;
	return 0;
}

static void can_instance_free(void *priv)
{
	struct can_dev *c = priv;

	if (c->fd >= 0)
		close(c->fd);
	vhd_timer_free(c->retry);
	free(c->rxb);
	free(c->txw);
	free(c->bl);
	free(c);
}

static int can_parse_option(void *ctx, int key, const char *arg)
{
	struct can_opts *o = ctx;

	if (key == 'd') {
		o->devices = arg;
		return 0;
	}
	return -1;
}

/* Split -d at whitespace into o->names. */
static int split_names(struct can_opts *o)
{
	const char *p = o->devices;

	while (*p) {
		const char *s;
		char **n;

		while (isspace((unsigned char)*p))
			p++;
		if (!*p)
			break;
		s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		n = realloc(o->names, (o->count + 1) * sizeof(*n));
		if (!n)
			return -1;
		o->names = n;
		o->names[o->count] = strndup(s, (size_t)(p - s));
		if (!o->names[o->count])
			return -1;
		o->count++;
	}
	return 0;
}

static int can_check_options(void *ctx, unsigned socket_count)
{
	struct can_opts *o = ctx;
	char err[256];

	if (!o->devices) {
		fprintf(stderr, "vhost-device-can: -d/--can-devices is required (one CAN interface "
			"per socket, e.g. -d \"vcan0 vcan1\" -c 2)\n");
		return -1;
	}
	if (split_names(o) < 0) {
		fprintf(stderr, "vhost-device-can: out of memory\n");
		return -1;
	}
	if (o->count != socket_count) {
		fprintf(stderr, "vhost-device-can: --can-devices names %u interface%s for %u "
			"socket%s (-c): give one per socket\n", o->count, o->count == 1 ? "" : "s",
			socket_count, socket_count == 1 ? "" : "s");
		return -1;
	}
	for (unsigned i = 0; i < o->count; i++) {
		bool up = false;

		if (can_if_check(o->names[i], &up, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhost-device-can: --can-devices: %s\n", err);
			return -1;
		}
		if (!up)
			LOG_WARN("%s is down: the guest's controller start fails until it is up",
				 o->names[i]);
	}
	return 0;
}

static const struct option can_options[] = {
	{ "can-devices", required_argument, NULL, 'd' },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): the guest's START opens a raw CAN socket
 * on the interface (can-host.c: the index through SIOCGIFINDEX on an
 * AF_UNIX socket, bind, the CAN_RAW options) and reads the interface's
 * flags; socket ioctls are type 0x89 (<linux/sockios.h>). */
static int can_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	static const char *const calls[] = { "bind", "setsockopt", NULL };

	(void)ctx;
	if (vhd_sandbox_allow(sb, calls) < 0 ||
	    vhd_sandbox_allow_socket(sb, AF_CAN) < 0 ||
	    vhd_sandbox_allow_socket(sb, AF_UNIX) < 0 ||
	    vhd_sandbox_allow_ioctl(sb, 0x89) < 0)
		return -1;
	return 0;
}

static const struct vu_device_ops can_ops = {
	.name = "can",
	.summary = "vhost-user CAN controller (virtio-can): each guest's controller is a host\n"
		   "SocketCAN interface (a real controller or vcan).",
	.virtio_id = VIRTIO_ID_CAN,
	.num_queues = CAN_NUM_QUEUES,
	.max_queue_size = CAN_QUEUE_SIZE,
	.features = (1ull << VIRTIO_CAN_F_CAN_CLASSIC) | (1ull << VIRTIO_CAN_F_CAN_FD) |
		    (1ull << VIRTIO_CAN_F_RTR_FRAMES) | (1ull << VIRTIO_CAN_F_LATE_TX_ACK),
	.config_size = VIRTIO_CAN_CONFIG_SIZE,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = can_options,
	.short_options = "d:",
	.options_help =
		"  -d, --can-devices LIST   CAN interfaces, whitespace-separated, one per socket\n"
		"                           (e.g. \"can0 vcan1\"); each must exist\n",
	.parse_option = can_parse_option,
	.check_options = can_check_options,
	.instance_new = can_instance_new,
	.instance_free = can_instance_free,
	.connected = can_connected,
	.reset = can_reset,
	.queue_kick = can_queue_kick,
	.queue_stop = can_queue_stop,
	.elem_cancel = can_elem_cancel,
	.get_config = can_get_config,
	.sandbox = can_sandbox,
};

int main(int argc, char **argv)
{
	struct can_opts o = { .devices = NULL };
	int st = vhd_main(&can_ops, &o, argc, argv);

	for (unsigned i = 0; i < o.count; i++)
		free(o.names[i]);
	free(o.names);
	return st;
}

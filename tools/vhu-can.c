/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-can guest driver (see vhu-can.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhu-can.h"

#define CAN_TXQ 0
#define CAN_RXQ 1
#define CAN_CTRLQ 2

struct vhu_can {
	struct vhu_session *s;
	uint64_t features;          /* device bits acked */
	uint8_t *rx;                /* rx_bufs buffers of VHU_CAN_MSG_MAX */
	unsigned rx_bufs;
	char err[160];
};

static void put16(uint8_t *p, uint16_t v)
{
	v = htole16(v);
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static int post_rx(struct vhu_can *d, uint8_t *buf)
{
	struct vhu_sg in = { vhu_mem_gpa(d->s->m, buf), VHU_CAN_MSG_MAX };

	memset(buf, 0xee, VHU_CAN_MSG_MAX);
	return vhu_vq_add(d->s->vq[CAN_RXQ], NULL, 0, &in, 1, buf, false) < 0 ? -ENOSPC : 0;
}

int vhu_can_open(const struct vhu_can_opts *o, struct vhu_can **out, char *err, size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_can *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.features |= o->features & 0xffffff;
	so.protocol |= VHD_BIT(VHU_PF_BACKEND_REQ);
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	so.nqueues = 3;
	so.vq.num = 256;
	so.mem_size = 4u << 20;
	r = vhu_session_open(&so, &d->s, err, errlen);
	if (r < 0) {
		free(d);
		return r;
	}
	d->features = vhu_conn_info(d->s->c)->acked_features & 0xffffff;
	d->rx_bufs = o->rx_bufs ? o->rx_bufs : 32;
	d->rx = vhu_mem_alloc(d->s->m, (size_t)d->rx_bufs * VHU_CAN_MSG_MAX, 8);
	r = d->rx ? 0 : -ENOSPC;
	for (unsigned i = 0; r == 0 && i < d->rx_bufs; i++)
		r = post_rx(d, d->rx + (size_t)i * VHU_CAN_MSG_MAX);
	if (r == 0)
		r = vhu_vq_publish_kick(d->s->vq[CAN_RXQ], false) < 0 ? -EIO : 0;
	if (r < 0) {
		snprintf(err, errlen, "posting rx buffers: %s", strerror(-r));
		vhu_can_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void vhu_can_close(struct vhu_can *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_can_session(struct vhu_can *d)
{
	return d->s;
}

const char *vhu_can_error(const struct vhu_can *d)
{
	return d->err;
}

int vhu_can_status(struct vhu_can *d, uint16_t *status)
{
	uint8_t b[2];
	int r = vhu_get_config(d->s->c, 0, 2, b);

	if (r == 0)
		*status = get16(b);
	return r;
}

/* One chain (out bytes, 1 result byte) on queue q; wait for it. */
static int request(struct vhu_can *d, unsigned qi, const void *out, size_t len,
		   uint8_t *result, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[qi];
	size_t mark = vhu_mem_mark(d->s->m);
	uint8_t *buf = vhu_mem_alloc(d->s->m, len ? len : 1, 8);
	uint8_t *res = vhu_mem_alloc(d->s->m, 1, 1);
	struct vhu_sg o = { 0, (uint32_t)len }, in;
	uint32_t used;
	void *tok;
	int r;

	d->err[0] = 0;
	if (!buf || !res)
		return -ENOSPC;
	if (len)
		memcpy(buf, out, len);
	*res = 0xee;
	o.gpa = vhu_mem_gpa(d->s->m, buf);
	in = (struct vhu_sg){ vhu_mem_gpa(d->s->m, res), 1 };
	if (vhu_vq_add(q, len ? &o : NULL, len ? 1 : 0, &in, 1, res, false) < 0)
		return -ENOSPC;
	if (vhu_vq_publish_kick(q, false) < 0)
		return -EIO;
	for (;;) {
		r = vhu_vq_get_used(q, &used, &tok);
		if (r < 0)
			return r;
		if (r == 1)
			break;
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0) {
			snprintf(d->err, sizeof(d->err), "no answer on queue %u", qi);
			return -ETIMEDOUT;
		}
	}
	if (tok != res || used != 1) {
		snprintf(d->err, sizeof(d->err), "queue %u: used length %u (expected 1)", qi, used);
		return -EPROTO;
	}
	*result = *res;
	vhu_mem_release(d->s->m, mark);
	return 0;
}

int vhu_can_control(struct vhu_can *d, uint16_t type, uint8_t *result, int timeout_ms)
{
	uint8_t b[2];

	put16(b, type);
	return request(d, CAN_CTRLQ, b, 2, result, timeout_ms);
}

int vhu_can_send_raw(struct vhu_can *d, const void *msg, size_t len, uint8_t *result,
		     int timeout_ms)
{
	return request(d, CAN_TXQ, msg, len, result, timeout_ms);
}

int vhu_can_send(struct vhu_can *d, const struct vhu_can_frame *f, uint8_t *result,
		 int timeout_ms)
{
	uint8_t b[VHU_CAN_MSG_MAX];
	size_t n = f->flags & VHU_CAN_FLAG_RTR ? 0 : f->len;

	if (n > 64)
		return -EINVAL;
	memset(b, 0, sizeof(b));
	put16(b, VHU_CAN_TX);
	put16(b + 2, f->len);
	b[4] = f->classic_dlc;
	put32(b + 8, f->flags);
	put32(b + 12, f->can_id);
	memcpy(b + VHU_CAN_HDR, f->data, n);
	return request(d, CAN_TXQ, b, VHU_CAN_HDR + n, result, timeout_ms);
}

int vhu_can_recv(struct vhu_can *d, struct vhu_can_frame *f, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[CAN_RXQ];
	uint32_t used;
	void *tok;
	uint8_t *b;
	int r;

	d->err[0] = 0;
	for (;;) {
		r = vhu_vq_get_used(q, &used, &tok);
		if (r < 0)
			return r;
		if (r == 1)
			break;
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
	b = tok;
	memset(f, 0, sizeof(*f));
	r = 0;
	if (used < VHU_CAN_HDR || used > VHU_CAN_MSG_MAX || get16(b) != VHU_CAN_RX) {
		snprintf(d->err, sizeof(d->err), "rx: used length %u, msg_type 0x%04x", used,
			 get16(b));
		r = -EPROTO;
	} else {
		f->len = get16(b + 2);
		f->classic_dlc = b[4];
		f->flags = get32(b + 8);
		f->can_id = get32(b + 12);
		if (used != VHU_CAN_HDR + (uint32_t)f->len ||
		    (f->flags & ~(VHU_CAN_FLAG_EXT | VHU_CAN_FLAG_FD | VHU_CAN_FLAG_RTR))) {
			snprintf(d->err, sizeof(d->err), "rx: used length %u for length %u, "
				 "flags 0x%x", used, f->len, f->flags);
			r = -EPROTO;
		} else if (!(f->flags & VHU_CAN_FLAG_RTR)) {
			memcpy(f->data, b + VHU_CAN_HDR, f->len);
		}
	}
	if (post_rx(d, b) < 0 || vhu_vq_publish_kick(q, false) < 0)
		return -EIO;
	return r;
}

int vhu_can_wait_config_change(struct vhu_can *d, int timeout_ms)
{
	int fd = vhu_backend_channel(d->s->c);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct vhu_hdr h;
	ssize_t n;

	if (fd < 0)
		return -ENOTCONN;
	n = poll(&p, 1, timeout_ms);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ETIMEDOUT;
	n = read(fd, &h, sizeof(h));
	if (n != (ssize_t)sizeof(h) || h.request != VHU_BACKEND_CONFIG_CHANGE_MSG || h.size != 0) {
		snprintf(d->err, sizeof(d->err), "backend channel: unexpected message");
		return -EPROTO;
	}
	return 0;
}

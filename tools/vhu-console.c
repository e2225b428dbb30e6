/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-console guest driver (see vhu-console.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-console.h"

#define CTRL_BUFS 16
#define CTRL_SIZE 72
#define TX_CHUNK 4096

struct vhu_console {
	struct vhu_session *s;
	uint8_t *ctrl_rx;               /* CTRL_BUFS buffers */
	uint8_t *ctrl_tx;
	uint8_t *tx;                    /* a TX_CHUNK staging buffer per slot */
	unsigned rx_posted;
};

void vhu_console_defaults(struct vhu_console_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 128;
}

static int post_ctrl(struct vhu_console *d, uint8_t *b)
{
	struct vhu_sg in = { vhu_mem_gpa(d->s->m, b), CTRL_SIZE };

	return vhu_vq_add(d->s->vq[2], NULL, 0, &in, 1, b, false);
}

int vhu_console_open(const struct vhu_console_opts *o, struct vhu_console **out, char *err,
		     size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_console *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.vq.num = o->queue_size;
	so.vq.max_indirect = 0;
	so.nqueues = 4;
	so.mem_size = 8u << 20;
	so.features |= VHD_BIT(0);          /* VIRTIO_CONSOLE_F_SIZE */
	if (!o->no_multiport)
		so.features |= VHD_BIT(1);  /* VIRTIO_CONSOLE_F_MULTIPORT */
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	r = vhu_session_open(&so, &d->s, err, errlen);
	if (r < 0) {
		free(d);
		return r;
	}
	d->ctrl_rx = vhu_mem_alloc(d->s->m, CTRL_BUFS * CTRL_SIZE, 8);
	d->ctrl_tx = vhu_mem_alloc(d->s->m, CTRL_SIZE, 8);
	d->tx = vhu_mem_alloc(d->s->m, (size_t)o->queue_size * TX_CHUNK, 8);
	if (!d->ctrl_rx || !d->ctrl_tx || !d->tx) {
		snprintf(err, errlen, "out of guest memory");
		vhu_console_close(d);
		return -ENOMEM;
	}
	if (!o->no_multiport) {
		for (unsigned i = 0; i < CTRL_BUFS; i++)
			post_ctrl(d, d->ctrl_rx + i * CTRL_SIZE);
		vhu_vq_publish_kick(d->s->vq[2], false);
	}
	*out = d;
	return 0;
}

void vhu_console_close(struct vhu_console *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_console_session(struct vhu_console *d)
{
	return d->s;
}

int vhu_console_config(struct vhu_console *d, uint16_t *cols, uint16_t *rows, uint32_t *ports)
{
	uint8_t c[12];
	int r = vhu_get_config(d->s->c, 0, sizeof(c), c);

	if (r < 0)
		return r;
	*cols = (uint16_t)(c[0] | c[1] << 8);
	*rows = (uint16_t)(c[2] | c[3] << 8);
	*ports = (uint32_t)c[4] | (uint32_t)c[5] << 8 | (uint32_t)c[6] << 16 |
		 (uint32_t)c[7] << 24;
	return 0;
}

/* Wait for one used entry on q: 0, -ETIMEDOUT or -errno. */
static int wait_used(struct vhu_vq *q, int timeout_ms, uint32_t *len, void **tok)
{
	int r;

	if (!vhu_vq_has_used(q)) {
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
	r = vhu_vq_get_used(q, len, tok);
	return r == 1 ? 0 : r < 0 ? r : -EPROTO;
}

int vhu_console_send(struct vhu_console *d, uint32_t id, uint16_t event, uint16_t value,
		     int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[3];
	uint32_t le32 = htole32(id), len;
	uint16_t ev = htole16(event), val = htole16(value);
	struct vhu_sg out = { vhu_mem_gpa(d->s->m, d->ctrl_tx), 8 };
	void *tok;

	memcpy(d->ctrl_tx, &le32, 4);
	memcpy(d->ctrl_tx + 4, &ev, 2);
	memcpy(d->ctrl_tx + 6, &val, 2);
	if (vhu_vq_add(q, &out, 1, NULL, 0, d->ctrl_tx, false) < 0)
		return -ENOSPC;
	vhu_vq_publish_kick(q, false);
	return wait_used(q, timeout_ms, &len, &tok);
}

int vhu_console_recv(struct vhu_console *d, struct vhu_console_msg *m, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[2];
	uint32_t len, le32;
	uint16_t le16;
	void *tok;
	uint8_t *b;
	int r = wait_used(q, timeout_ms, &len, &tok);

	if (r == -ETIMEDOUT)
		return 0;
	if (r < 0)
		return r;
	b = tok;
	if (len < 8 || len > CTRL_SIZE)
		return -EPROTO;
	memcpy(&le32, b, 4);
	m->id = le32toh(le32);
	memcpy(&le16, b + 4, 2);
	m->event = le16toh(le16);
	memcpy(&le16, b + 6, 2);
	m->value = le16toh(le16);
	m->extra_len = len - 8;
	memcpy(m->extra, b + 8, m->extra_len);
	post_ctrl(d, b);
	vhu_vq_publish_kick(q, false);
	return 1;
}

int vhu_console_rx_post(struct vhu_console *d, unsigned n, uint32_t size)
{
	struct vhu_vq *q = d->s->vq[0];
	unsigned done = 0;

	for (; done < n; done++) {
		uint8_t *b = vhu_mem_alloc(d->s->m, size, 8);
		struct vhu_sg in;

		if (!b)
			break;
		/* Token: the buffer; its size sits in front of it. */
		in = (struct vhu_sg){ vhu_mem_gpa(d->s->m, b), size };
		if (vhu_vq_add(q, NULL, 0, &in, 1, b, false) < 0)
			break;
		d->rx_posted++;
	}
	if (done)
		vhu_vq_publish_kick(q, false);
	return (int)done;
}

unsigned vhu_console_rx_posted(const struct vhu_console *d)
{
	return d->rx_posted;
}

int vhu_console_read(struct vhu_console *d, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[0];
	size_t got = 0;
	uint32_t len;
	void *tok;
	int r;

	if (!vhu_vq_has_used(q)) {
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r <= 0)
			return r;
	}
	while (got < cap && (r = vhu_vq_get_used(q, &len, &tok)) == 1) {
		d->rx_posted--;
		if (len > cap - got)
			return -ENOSPC;
		memcpy(buf + got, tok, len);
		got += len;
	}
	return (int)got;
}

int vhu_console_write(struct vhu_console *d, const void *data, size_t len, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[1];
	const uint8_t *p = data;
	unsigned slots = vhu_vq_num(q), inflight = 0, slot = 0;
	size_t off = 0;

	while (off < len || inflight) {
		while (off < len && inflight < slots) {
			size_t n = len - off < TX_CHUNK ? len - off : TX_CHUNK;
			uint8_t *b = d->tx + (size_t)slot * TX_CHUNK;
			struct vhu_sg out = { vhu_mem_gpa(d->s->m, b), (uint32_t)n };

			memcpy(b, p + off, n);
			if (vhu_vq_add(q, &out, 1, NULL, 0, b, false) < 0)
				break;
			slot = (slot + 1) % slots;
			inflight++;
			off += n;
		}
		vhu_vq_publish_kick(q, false);
		{
			uint32_t l;
			void *tok;
			int r = wait_used(q, timeout_ms, &l, &tok);

			if (r < 0)
				return r;
			inflight--;
			while (vhu_vq_get_used(q, &l, &tok) == 1)
				inflight--;
		}
	}
	return 0;
}

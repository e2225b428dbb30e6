/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The console's control protocol and byte buffers: console-proto.h. */
#include "config.h"
#include "console-proto.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void con_msgq_put(struct con_msgq *q, uint32_t id, uint16_t event, uint16_t value,
		  const void *extra, size_t extra_len)
{
	struct con_msg *m;
	uint32_t le32 = htole32(id);
	uint16_t le_ev = htole16(event), le_val = htole16(value);

	if (q->count == CON_MSGQ_LEN) {
		/* A driver that never posts control buffers: forget the
		 * oldest, the newest state matters. */
		con_msgq_pop(q);
		q->lost++;
	}
	if (extra_len > CON_NAME_MAX)
		extra_len = CON_NAME_MAX;
	m = &q->m[(q->head + q->count) % CON_MSGQ_LEN];
	memcpy(m->bytes, &le32, 4);
	memcpy(m->bytes + 4, &le_ev, 2);
	memcpy(m->bytes + 6, &le_val, 2);
	if (extra_len)
		memcpy(m->bytes + CON_CTRL_HDR, extra, extra_len);
	m->len = (uint32_t)(CON_CTRL_HDR + extra_len);
	q->count++;
}

const struct con_msg *con_msgq_peek(const struct con_msgq *q)
{
	return q->count ? &q->m[q->head] : NULL;
}

void con_msgq_pop(struct con_msgq *q)
{
	if (!q->count)
		return;
	q->head = (q->head + 1) % CON_MSGQ_LEN;
	q->count--;
}

int con_ctrl_parse(const uint8_t *buf, size_t len, uint32_t *id, uint16_t *event,
		   uint16_t *value)
{
	uint32_t le32;
	uint16_t le16;

	if (len < CON_CTRL_HDR)
		return -1;
	memcpy(&le32, buf, 4);
	*id = le32toh(le32);
	memcpy(&le16, buf + 4, 2);
	*event = le16toh(le16);
	memcpy(&le16, buf + 6, 2);
	*value = le16toh(le16);
	return 0;
}

static void send_resize(struct con_port *p, struct con_msgq *q)
{
	/* struct virtio_console_resize: le16 cols, le16 rows (5.3.6.2). */
	uint16_t size[2] = { htole16(p->cols), htole16(p->rows) };

	con_msgq_put(q, 0, VIRTIO_CONSOLE_RESIZE, 0, size, sizeof(size));
}

int con_ctrl_handle(struct con_port *p, struct con_msgq *q, uint32_t id, uint16_t event,
		    uint16_t value)
{
	switch (event) {
	case VIRTIO_CONSOLE_DEVICE_READY:
		if (id != 0 && value == 0)
			return -1;
		p->device_ready = value == 1;
		if (p->device_ready)
			con_msgq_put(q, 0, VIRTIO_CONSOLE_DEVICE_ADD, 0, NULL, 0);
		return 0;
	case VIRTIO_CONSOLE_PORT_READY:
		if (id != 0)
			return -1;
		p->port_ready = value == 1;
		if (!p->port_ready)
			return 0;
		/* 5.3.6.2: the device answers a ready port with its kind,
		 * name, size and host state. */
		if (p->console)
			con_msgq_put(q, 0, VIRTIO_CONSOLE_CONSOLE_PORT, 1, NULL, 0);
		if (p->name[0])
			con_msgq_put(q, 0, VIRTIO_CONSOLE_PORT_NAME, 0, p->name, strlen(p->name));
		if (p->console && p->cols && p->rows)
			send_resize(p, q);
		if (p->host_open)
			con_msgq_put(q, 0, VIRTIO_CONSOLE_PORT_OPEN, 1, NULL, 0);
		return 0;
	case VIRTIO_CONSOLE_PORT_OPEN:
		if (id != 0)
			return -1;
		p->guest_open = value != 0;
		return p->guest_open ? 1 : 0;
	default:
		/* DEVICE_ADD, CONSOLE_PORT, RESIZE, PORT_NAME, DEVICE_REMOVE
		 * go the other way. */
		return -1;
	}
}

void con_host_open(struct con_port *p, struct con_msgq *q, bool open)
{
	if (p->host_open == open)
		return;
	p->host_open = open;
	if (p->port_ready)
		con_msgq_put(q, 0, VIRTIO_CONSOLE_PORT_OPEN, open ? 1 : 0, NULL, 0);
}

void con_resize(struct con_port *p, struct con_msgq *q, uint16_t cols, uint16_t rows)
{
	if (p->cols == cols && p->rows == rows)
		return;
	p->cols = cols;
	p->rows = rows;
	if (p->port_ready && p->console)
		send_resize(p, q);
}

int con_buf_init(struct con_buf *b, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->data = malloc(cap);
	if (!b->data)
		return -ENOMEM;
	b->cap = cap;
	return 0;
}

void con_buf_free(struct con_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

size_t con_buf_put(struct con_buf *b, const void *src, size_t n)
{
	const uint8_t *s = src;
	size_t done = 0;

	while (done < n && b->len < b->cap) {
		size_t tail = (b->head + b->len) % b->cap;
		size_t run = b->cap - tail;

		if (run > b->cap - b->len)
			run = b->cap - b->len;
		if (run > n - done)
			run = n - done;
		memcpy(b->data + tail, s + done, run);
		b->len += run;
		done += run;
	}
	return done;
}

size_t con_buf_front(const struct con_buf *b, const uint8_t **p)
{
	size_t run = b->cap - b->head;

	*p = b->data + b->head;
	return run < b->len ? run : b->len;
}

void con_buf_consume(struct con_buf *b, size_t n)
{
	if (n > b->len)
		n = b->len;
	b->head = (b->head + n) % b->cap;
	b->len -= n;
	if (!b->len)
		b->head = 0;
}

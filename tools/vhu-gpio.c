/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-gpio guest driver (see vhu-gpio.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-gpio.h"

#define RAW_MAX 4096

/* One line's interrupt buffers in guest memory. */
struct irq_slot {
	uint16_t *req;          /* le16 gpio */
	uint8_t *status;
	uint32_t line;          /* what completion reports */
	bool queued;
};

struct vhu_gpio {
	struct vhu_session *s;
	unsigned ngpio;
	uint32_t names_size;
	uint8_t *req;           /* 8 bytes (or RAW_MAX for raw requests) */
	uint8_t *resp;          /* max(RAW_MAX, 1 + names_size) */
	char *names_copy;
	const char **names;
	struct irq_slot *slots; /* ngpio + VHU_GPIO_RAW_IRQ_SLOTS */
	unsigned irq_in_flight;
	char err[160];
};

void vhu_gpio_defaults(struct vhu_gpio_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 256;
}

static int read_config(struct vhu_gpio *d, char *err, size_t errlen)
{
	uint8_t cfg[8];
	uint16_t n;
	uint32_t sz;
	int r = vhu_get_config(d->s->c, 0, sizeof(cfg), cfg);

	if (r < 0) {
		snprintf(err, errlen, "GET_CONFIG: %s", vhu_conn_error(d->s->c));
		return r;
	}
	memcpy(&n, cfg, 2);
	memcpy(&sz, cfg + 4, 4);
	d->ngpio = le16toh(n);
	d->names_size = le32toh(sz);
	if (d->ngpio == 0 || d->names_size > (1u << 20)) {
		snprintf(err, errlen, "config space: ngpio %u, gpio_names_size %u", d->ngpio,
			 d->names_size);
		return -EPROTO;
	}
	return 0;
}

static int alloc_buffers(struct vhu_gpio *d)
{
	struct vhu_mem *m = d->s->m;
	size_t resp = d->names_size + 1 > RAW_MAX ? d->names_size + 1 : RAW_MAX;
	unsigned nslots = d->ngpio + VHU_GPIO_RAW_IRQ_SLOTS;

	d->req = vhu_mem_alloc(m, RAW_MAX, 8);
	d->resp = vhu_mem_alloc(m, resp, 8);
	d->names_copy = malloc(d->names_size + 1);
	d->names = calloc(d->ngpio, sizeof(*d->names));
	d->slots = calloc(nslots, sizeof(*d->slots));
	if (!d->req || !d->resp || !d->names_copy || !d->names || !d->slots)
		return -ENOSPC;
	for (unsigned i = 0; i < nslots; i++) {
		d->slots[i].req = vhu_mem_alloc(m, 2, 2);
		d->slots[i].status = vhu_mem_alloc(m, 1, 1);
		if (!d->slots[i].req || !d->slots[i].status)
			return -ENOSPC;
		d->slots[i].line = i < d->ngpio ? i : VHU_GPIO_RAW_LINE(i - d->ngpio);
	}
	return 0;
}

int vhu_gpio_open(const struct vhu_gpio_opts *o, struct vhu_gpio **out, char *err, size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_gpio *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.nqueues = 2;
	so.vq.num = o->queue_size;
	so.vq.max_indirect = 0;
	/* Room for the interrupt buffers of 65535 lines and a names blob. */
	so.mem_size = 4u << 20;
	if (!o->no_irq)
		so.features |= VHD_BIT(VHU_GPIO_F_IRQ);
	if (o->no_event_idx)
		so.features &= ~VHD_BIT(VIRTIO_RING_F_EVENT_IDX);
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	r = vhu_session_open(&so, &d->s, err, errlen);
	if (r < 0) {
		free(d);
		return r;
	}
	r = read_config(d, err, errlen);
	if (r == 0 && (r = alloc_buffers(d)) < 0)
		snprintf(err, errlen, "out of guest memory for %u lines", d->ngpio);
	if (r < 0) {
		vhu_gpio_close(d);
		return r;
	}
	*out = d;
	return 0;
}

void vhu_gpio_close(struct vhu_gpio *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d->names_copy);
	free(d->names);
	free(d->slots);
	free(d);
}

struct vhu_session *vhu_gpio_session(struct vhu_gpio *d)
{
	return d->s;
}

unsigned vhu_gpio_ngpio(const struct vhu_gpio *d)
{
	return d->ngpio;
}

uint32_t vhu_gpio_names_size(const struct vhu_gpio *d)
{
	return d->names_size;
}

const char *vhu_gpio_error(const struct vhu_gpio *d)
{
	return d->err;
}

/* Post one requestq chain and wait for it (requests go one at a time). */
static int roundtrip(struct vhu_gpio *d, uint32_t rd_len, uint32_t wr_len, uint32_t *used,
		     int timeout_ms)
{
	struct vhu_mem *m = d->s->m;
	struct vhu_vq *q = d->s->vq[0];
	struct vhu_sg out = { vhu_mem_gpa(m, d->req), rd_len };
	struct vhu_sg in = { vhu_mem_gpa(m, d->resp), wr_len };
	void *tok;
	int r;

	r = vhu_vq_add(q, &out, rd_len ? 1 : 0, &in, wr_len ? 1 : 0, d, false);
	if (r < 0)
		return r;
	r = vhu_vq_publish_kick(q, false);
	if (r < 0)
		return r;
	for (;;) {
		r = vhu_vq_get_used(q, used, &tok);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
}

int vhu_gpio_raw(struct vhu_gpio *d, const void *rd, uint32_t rd_len, uint32_t wr_len,
		 void *wr, uint32_t *used, int timeout_ms)
{
	int r;

	if (rd_len > RAW_MAX || wr_len > RAW_MAX)
		return -EINVAL;
	memcpy(d->req, rd, rd_len);
	memset(d->resp, 0xee, wr_len);
	r = roundtrip(d, rd_len, wr_len, used, timeout_ms);
	if (r == 0 && wr)
		memcpy(wr, d->resp, wr_len);
	return r;
}

static void put_request(struct vhu_gpio *d, uint16_t type, uint16_t gpio, uint32_t value)
{
	uint16_t t = htole16(type), g = htole16(gpio);
	uint32_t v = htole32(value);

	memcpy(d->req, &t, 2);
	memcpy(d->req + 2, &g, 2);
	memcpy(d->req + 4, &v, 4);
}

int vhu_gpio_request(struct vhu_gpio *d, uint16_t type, uint16_t gpio, uint32_t value,
		     uint8_t *status, uint8_t *value_out, int timeout_ms)
{
	uint32_t used;
	int r;

	put_request(d, type, gpio, value);
	/* 0xee: neither OK nor ERR, so an unwritten status shows. */
	d->resp[0] = d->resp[1] = 0xee;
	r = roundtrip(d, 8, 2, &used, timeout_ms);
	if (r < 0)
		return r;
	*status = d->resp[0];
	if (value_out)
		*value_out = d->resp[1];
	if (used != 2 || *status > 1) {
		snprintf(d->err, sizeof(d->err), "request type %u line %u: used length %u "
			 "(expected 2), status 0x%02x", type, gpio, used, *status);
		return -EPROTO;
	}
	return 0;
}

int vhu_gpio_line_names(struct vhu_gpio *d, uint8_t *status, const char ***names,
			int timeout_ms)
{
	uint32_t used, n = d->names_size;
	const char *p;
	int r;

	put_request(d, VHU_GPIO_GET_LINE_NAMES, 0, 0);
	memset(d->resp, 0xee, n + 1);
	r = roundtrip(d, 8, n + 1, &used, timeout_ms);
	if (r < 0)
		return r;
	*status = d->resp[0];
	if (*status != 0)
		return 0;
	if (used != n + 1 || n == 0 || d->resp[n] != 0) {
		snprintf(d->err, sizeof(d->err), "GET_LINE_NAMES: used length %u (expected %u)",
			 used, n + 1);
		return -EPROTO;
	}
	memcpy(d->names_copy, d->resp + 1, n);
	d->names_copy[n] = 0;
	p = d->names_copy;
	for (unsigned i = 0; i < d->ngpio; i++) {
		if (p >= d->names_copy + n) {
			snprintf(d->err, sizeof(d->err), "GET_LINE_NAMES: %u names for %u lines",
				 i, d->ngpio);
			return -EPROTO;
		}
		d->names[i] = p;
		p += strlen(p) + 1;
	}
	if (p != d->names_copy + n) {
		snprintf(d->err, sizeof(d->err), "GET_LINE_NAMES: bytes after the last name");
		return -EPROTO;
	}
	*names = d->names;
	return 0;
}

static int add_irq(struct vhu_gpio *d, struct irq_slot *sl, uint16_t gpio)
{
	struct vhu_mem *m = d->s->m;
	struct vhu_sg out = { vhu_mem_gpa(m, sl->req), 2 };
	struct vhu_sg in = { vhu_mem_gpa(m, sl->status), 1 };
	int r;

	if (sl->queued)
		return -EBUSY;
	*sl->req = htole16(gpio);
	*sl->status = 0xee;
	r = vhu_vq_add(d->s->vq[1], &out, 1, &in, 1, sl, false);
	if (r < 0)
		return r;
	sl->queued = true;
	d->irq_in_flight++;
	return 0;
}

int vhu_gpio_irq_unmask_many(struct vhu_gpio *d, const uint16_t *lines, unsigned n)
{
	int r = 0;

	for (unsigned i = 0; i < n && r == 0; i++)
		r = lines[i] < d->ngpio ? add_irq(d, &d->slots[lines[i]], lines[i]) : -EINVAL;
	if (r == 0)
		r = vhu_vq_publish_kick(d->s->vq[1], false);
	return r < 0 ? r : 0;
}

int vhu_gpio_irq_unmask(struct vhu_gpio *d, uint16_t line)
{
	return vhu_gpio_irq_unmask_many(d, &line, 1);
}

int vhu_gpio_irq_unmask_raw(struct vhu_gpio *d, unsigned k, uint16_t gpio)
{
	int r;

	if (k >= VHU_GPIO_RAW_IRQ_SLOTS)
		return -EINVAL;
	r = add_irq(d, &d->slots[d->ngpio + k], gpio);
	if (r == 0)
		r = vhu_vq_publish_kick(d->s->vq[1], false);
	return r < 0 ? r : 0;
}

int vhu_gpio_irq_wait(struct vhu_gpio *d, int timeout_ms, uint32_t *line, uint8_t *status)
{
	struct vhu_vq *q = d->s->vq[1];
	struct irq_slot *sl;
	uint32_t used;
	void *tok;
	int r;

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
	sl = tok;
	sl->queued = false;
	d->irq_in_flight--;
	*line = sl->line;
	*status = *sl->status;
	if (used != 1 || *status > 1) {
		snprintf(d->err, sizeof(d->err), "interrupt buffer of line %u: used length %u "
			 "(expected 1), status 0x%02x", (unsigned)sl->line, used, *status);
		return -EPROTO;
	}
	return 0;
}

bool vhu_gpio_irq_queued(const struct vhu_gpio *d, uint16_t line)
{
	return line < d->ngpio && d->slots[line].queued;
}

unsigned vhu_gpio_irq_in_flight(const struct vhu_gpio *d)
{
	return d->irq_in_flight;
}

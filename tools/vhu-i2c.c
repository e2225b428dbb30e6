/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-i2c guest driver (see vhu-i2c.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-i2c.h"

#define I2C_F_ZERO_LENGTH_REQUEST 0

/* Guest-memory parts of one chain. */
struct slot {
	struct vhu_i2c_msg *msg;
	uint8_t *hdr;           /* 8 bytes */
	uint8_t *buf;
	uint8_t *status;
	bool done;
};

struct vhu_i2c {
	struct vhu_session *s;
	struct slot sl[VHU_I2C_MAX_POSTED];
	unsigned nposted;
	size_t mark;
	char err[160];
};

void vhu_i2c_defaults(struct vhu_i2c_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 256;
}

int vhu_i2c_open(const struct vhu_i2c_opts *o, struct vhu_i2c **out, char *err, size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_i2c *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.vq.num = o->queue_size;
	so.vq.max_indirect = 0;
	so.mem_size = 2u << 20;
	if (!o->no_zero_length)
		so.features |= VHD_BIT(I2C_F_ZERO_LENGTH_REQUEST);
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
	*out = d;
	return 0;
}

void vhu_i2c_close(struct vhu_i2c *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_i2c_session(struct vhu_i2c *d)
{
	return d->s;
}

const char *vhu_i2c_error(const struct vhu_i2c *d)
{
	return d->err;
}

static int add_chain(struct vhu_i2c *d, struct vhu_i2c_msg *m, struct slot *sl)
{
	struct vhu_mem *mem = d->s->m;
	struct vhu_sg out[2], in[2];
	unsigned n_out = 0, n_in = 0;
	uint16_t addr = htole16((uint16_t)(m->addr << 1));
	uint32_t flags = htole32((m->fail_next ? VHU_I2C_FLAGS_FAIL_NEXT : 0) |
				 (m->read ? VHU_I2C_FLAGS_M_RD : 0));

	sl->hdr = vhu_mem_alloc(mem, 8, 8);
	sl->status = vhu_mem_alloc(mem, 1, 1);
	sl->buf = m->len ? vhu_mem_alloc(mem, m->len, 8) : NULL;
	if (!sl->hdr || !sl->status || (m->len && !sl->buf))
		return -ENOSPC;
	memset(sl->hdr, 0, 8);
	memcpy(sl->hdr, &addr, 2);
	memcpy(sl->hdr + 4, &flags, 4);
	*sl->status = 0xee;     /* neither OK nor ERR: the device must write it */
	out[n_out++] = (struct vhu_sg){ vhu_mem_gpa(mem, sl->hdr), 8 };
	if (m->len && !m->read) {
		memcpy(sl->buf, m->buf, m->len);
		out[n_out++] = (struct vhu_sg){ vhu_mem_gpa(mem, sl->buf), m->len };
	} else if (m->len) {
		memset(sl->buf, 0, m->len);
		in[n_in++] = (struct vhu_sg){ vhu_mem_gpa(mem, sl->buf), m->len };
	}
	in[n_in++] = (struct vhu_sg){ vhu_mem_gpa(mem, sl->status), 1 };
	return vhu_vq_add(d->s->vq[0], out, n_out, in, n_in, sl, false) < 0 ? -ENOSPC : 0;
}

static int collect(struct vhu_i2c *d, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[0];
	unsigned left = 0;

	for (unsigned i = 0; i < d->nposted; i++)
		left += !d->sl[i].done;
	while (left) {
		uint32_t len, expect;
		void *tok;
		struct slot *s;
		struct vhu_i2c_msg *m;
		int r = vhu_vq_get_used(q, &len, &tok);

		if (r < 0)
			return r;
		if (r == 0) {
			r = vhu_vq_wait(q, timeout_ms, 0);
			if (r < 0)
				return r;
			if (r == 0)
				return -ETIMEDOUT;
			continue;
		}
		s = tok;
		if (s < d->sl || s >= d->sl + d->nposted || s->done) {
			snprintf(d->err, sizeof(d->err), "used entry for a chain not in flight");
			return -EPROTO;
		}
		m = s->msg;
		s->done = true;
		left--;
		m->status = *s->status;
		expect = m->read ? m->len + 1 : 1;
		if (len != expect || m->status > 1) {
			snprintf(d->err, sizeof(d->err), "message %u: used length %u (expected %u), "
				 "status 0x%02x", (unsigned)(s - d->sl), len, expect, m->status);
			return -EPROTO;
		}
		if (m->read && m->len && m->status == 0)
			memcpy(m->buf, s->buf, m->len);
	}
	return 0;
}

int vhu_i2c_post(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n)
{
	int r = 0;

	if (d->nposted == 0)
		d->mark = vhu_mem_mark(d->s->m);
	if (d->nposted + n > VHU_I2C_MAX_POSTED)
		return -ENOSPC;
	d->err[0] = 0;
	for (unsigned i = 0; i < n && r == 0; i++) {
		struct slot *sl = &d->sl[d->nposted];

		memset(sl, 0, sizeof(*sl));
		sl->msg = &msgs[i];
		r = add_chain(d, &msgs[i], sl);
		if (r == 0)
			d->nposted++;
	}
	if (r == 0)
		r = vhu_vq_publish_kick(d->s->vq[0], false);
	return r < 0 ? r : 0;
}

int vhu_i2c_wait(struct vhu_i2c *d, int timeout_ms)
{
	int r = collect(d, timeout_ms);

	/* Memory is reused only when the device gave every chain back. */
	if (r == 0) {
		vhu_mem_release(d->s->m, d->mark);
		d->nposted = 0;
	}
	return r;
}

int vhu_i2c_submit(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n, int timeout_ms)
{
	int r = vhu_i2c_post(d, msgs, n);

	return r < 0 ? r : vhu_i2c_wait(d, timeout_ms);
}

int vhu_i2c_transfer(struct vhu_i2c *d, struct vhu_i2c_msg *msgs, unsigned n, int timeout_ms)
{
	int r;
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		msgs[i].fail_next = i + 1 < n;
	r = vhu_i2c_submit(d, msgs, n, timeout_ms);
	if (r < 0)
		return r;
	while (ok < n && msgs[ok].status == 0)
		ok++;
	return (int)ok;
}

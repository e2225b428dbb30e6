/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-spi guest driver (see vhu-spi.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-spi.h"

struct vhu_spi {
	struct vhu_session *s;
	char err[160];
};

int vhu_spi_open(const struct vhu_spi_opts *o, struct vhu_spi **out, char *err, size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_spi *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	so.vq.num = 256;
	so.mem_size = 4u << 20;
	r = vhu_session_open(&so, &d->s, err, errlen);
	if (r < 0) {
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

void vhu_spi_close(struct vhu_spi *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_spi_session(struct vhu_spi *d)
{
	return d->s;
}

const char *vhu_spi_error(const struct vhu_spi *d)
{
	return d->err;
}

int vhu_spi_config(struct vhu_spi *d, uint8_t cfg[VHU_SPI_CONFIG_SIZE])
{
	return vhu_get_config(d->s->c, 0, VHU_SPI_CONFIG_SIZE, cfg);
}

struct slot {
	struct vhu_spi_xfer *x;
	uint8_t *head, *tx, *rx, *result;
	bool done;
};

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static int add_chain(struct vhu_spi *d, struct slot *sl)
{
	struct vhu_mem *m = d->s->m;
	struct vhu_spi_xfer *x = sl->x;
	struct vhu_sg out[2], in[2];
	unsigned n_out = 0, n_in = 0;

	sl->head = vhu_mem_alloc(m, 32, 8);
	sl->result = vhu_mem_alloc(m, 1, 1);
	sl->tx = x->tx ? vhu_mem_alloc(m, x->len, 8) : NULL;
	sl->rx = x->rx ? vhu_mem_alloc(m, x->len, 8) : NULL;
	if (!sl->head || !sl->result || (x->tx && !sl->tx) || (x->rx && !sl->rx))
		return -ENOSPC;
	memset(sl->head, 0, 32);
	sl->head[0] = x->chip_select_id;
	sl->head[1] = x->bits_per_word;
	sl->head[2] = x->cs_change;
	sl->head[3] = x->tx_nbits;
	sl->head[4] = x->rx_nbits;
	put32(sl->head + 8, x->mode);
	put32(sl->head + 12, x->freq);
	put32(sl->head + 16, x->word_delay_ns);
	put32(sl->head + 20, x->cs_setup_ns);
	put32(sl->head + 24, x->cs_delay_hold_ns);
	put32(sl->head + 28, x->cs_change_delay_inactive_ns);
	*sl->result = 0xee;
	out[n_out++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->head), 32 };
	if (sl->tx) {
		memcpy(sl->tx, x->tx, x->len);
		out[n_out++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->tx), x->len };
	}
	if (sl->rx) {
		memset(sl->rx, 0x5a, x->len);
		in[n_in++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->rx), x->len };
	}
	in[n_in++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->result), 1 };
	return vhu_vq_add(d->s->vq[0], out, n_out, in, n_in, sl, false) < 0 ? -ENOSPC : 0;
}

static int collect(struct vhu_spi *d, struct slot *sl, unsigned n, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[0];
	unsigned left = n;

	while (left) {
		uint32_t len, expect;
		void *tok;
		struct slot *s;
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
		if (s < sl || s >= sl + n || s->done) {
			snprintf(d->err, sizeof(d->err), "used entry for a chain not in flight");
			return -EPROTO;
		}
		s->done = true;
		left--;
		s->x->result = *s->result;
		expect = (s->rx ? s->x->len : 0) + 1;
		if (len != expect || s->x->result > 2) {
			snprintf(d->err, sizeof(d->err), "transfer %u: used length %u (expected %u), "
				 "result 0x%02x", (unsigned)(s - sl), len, expect, s->x->result);
			return -EPROTO;
		}
		if (s->rx && s->x->result == 0)
			memcpy(s->x->rx, s->rx, s->x->len);
	}
	return 0;
}

int vhu_spi_submit(struct vhu_spi *d, struct vhu_spi_xfer *x, unsigned n, int timeout_ms)
{
	struct slot *sl = calloc(n ? n : 1, sizeof(*sl));
	size_t mark = vhu_mem_mark(d->s->m);
	int r = 0;

	if (!sl)
		return -ENOMEM;
	d->err[0] = 0;
	for (unsigned i = 0; i < n && r == 0; i++) {
		sl[i].x = &x[i];
		r = add_chain(d, &sl[i]);
	}
	if (r == 0)
		r = vhu_vq_publish_kick(d->s->vq[0], false);
	if (r >= 0)
		r = collect(d, sl, n, timeout_ms);
	if (r == 0)
		vhu_mem_release(d->s->m, mark);
	free(sl);
	return r < 0 ? r : 0;
}

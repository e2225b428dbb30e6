/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-scsi guest driver (see vhu-scsi.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-scsi.h"

#define CTRL_Q 0
#define REQ_Q  2
#define REQ_HDR 51        /* lun 8, tag 8, attr, prio, crn, cdb 32 */
#define RESP_HDR 108      /* sense_len 4, resid 4, qualifier 2, status, response, sense 96 */

/* A chain's guest memory, reused by later commands that fit. */
struct slot {
	struct vhu_scsi_cmd *c;    /* in flight, or NULL */
	uint8_t *hdr, *resp, *out, *in;
	uint32_t out_cap, in_cap;
};

struct vhu_scsi {
	struct vhu_session *s;
	unsigned nreq;             /* request queues */
	struct slot sl[VHU_SCSI_MAX_POSTED];
	unsigned nslots, inflight;
	size_t mark;
	uint8_t *tmf_buf;          /* 28 + 1 bytes, in guest memory */
	bool tmf_pending;
	unsigned spin_ns;          /* vhu_scsi_set_spin */
};

void vhu_scsi_lun(uint8_t out[8], unsigned target, unsigned lun)
{
	memset(out, 0, 8);
	out[0] = 1;
	out[1] = (uint8_t)target;
	out[2] = (uint8_t)(0x40 | (lun >> 8));
	out[3] = (uint8_t)lun;
}

int vhu_scsi_open(const char *path, int connect_ms, unsigned queue_size, size_t mem_size,
		  struct vhu_scsi **out, char *err, size_t errlen)
{
	struct vhu_scsi_opts o = { .path = path, .connect_ms = connect_ms,
				   .queue_size = queue_size, .mem_size = mem_size };

	return vhu_scsi_open_opts(&o, out, err, errlen);
}

int vhu_scsi_open_opts(const struct vhu_scsi_opts *o, struct vhu_scsi **out, char *err,
		       size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_scsi *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.vq.num = o->queue_size;
	so.vq.max_indirect = 0;
	so.mem_size = o->mem_size ? o->mem_size : 16u << 20;
	so.nqueues = 2 + (o->request_queues ? o->request_queues : 1);
	if (so.nqueues > 8) {
		free(d);
		return -EINVAL;
	}
	if (o->xen_mmap)
		so.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	so.send_mem = o->send_mem;
	so.send_mem_opaque = o->send_mem_opaque;
	r = vhu_session_open(&so, &d->s, err, errlen);
	if (r < 0) {
		free(d);
		return r;
	}
	d->nreq = so.nqueues - 2;
	d->tmf_buf = vhu_mem_alloc(d->s->m, 64, 8);
	d->mark = vhu_mem_mark(d->s->m);
	*out = d;
	return 0;
}

void vhu_scsi_close(struct vhu_scsi *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_scsi_session(struct vhu_scsi *d)
{
	return d->s;
}

void vhu_scsi_set_spin(struct vhu_scsi *d, unsigned spin_ns)
{
	d->spin_ns = spin_ns;
}

unsigned vhu_scsi_in_flight(const struct vhu_scsi *d)
{
	return d->inflight;
}

int vhu_scsi_add(struct vhu_scsi *d, struct vhu_scsi_cmd *c)
{
	struct vhu_mem *m = d->s->m;
	struct slot *sl;
	struct vhu_sg o[2], i[2];
	unsigned no = 0, ni = 0;
	int r;

	if (c->queue >= d->nreq)
		return -EINVAL;
	sl = NULL;
	for (unsigned k = 0; k < d->nslots && !sl; k++)
		if (!d->sl[k].c && d->sl[k].out_cap >= c->out_len && d->sl[k].in_cap >= c->in_len)
			sl = &d->sl[k];
	if (!sl) {
		if (!d->inflight) {     /* nothing in flight: start the memory afresh */
			vhu_mem_release(m, d->mark);
			d->nslots = 0;
		}
		if (d->nslots >= VHU_SCSI_MAX_POSTED)
			return -ENOSPC;
		sl = &d->sl[d->nslots];
		memset(sl, 0, sizeof(*sl));
		sl->hdr = vhu_mem_alloc(m, REQ_HDR, 8);
		sl->resp = vhu_mem_alloc(m, RESP_HDR, 8);
		sl->out = c->out_len ? vhu_mem_alloc(m, c->out_len, 4096) : NULL;
		sl->in = c->in_len ? vhu_mem_alloc(m, c->in_len, 4096) : NULL;
		if (!sl->hdr || !sl->resp || (c->out_len && !sl->out) || (c->in_len && !sl->in))
			return -ENOSPC;
		sl->out_cap = c->out_len;
		sl->in_cap = c->in_len;
		d->nslots++;
	}
	memcpy(sl->hdr, c->lun, 8);
	{
		uint64_t tag = htole64(c->tag);

		memcpy(sl->hdr + 8, &tag, 8);
	}
	sl->hdr[16] = 0;        /* SIMPLE */
	sl->hdr[17] = 0;
	sl->hdr[18] = 0;
	memcpy(sl->hdr + 19, c->cdb, 32);
	memset(sl->resp, 0xee, RESP_HDR);
	o[no++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->hdr), REQ_HDR };
	if (c->out_len) {
		if (c->out)
			memcpy(sl->out, c->out, c->out_len);
		o[no++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->out), c->out_len };
	}
	i[ni++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->resp), RESP_HDR };
	if (c->in_len)
		i[ni++] = (struct vhu_sg){ vhu_mem_gpa(m, sl->in), c->in_len };
	c->done = false;
	r = vhu_vq_add(d->s->vq[REQ_Q + c->queue], o, no, i, ni, sl, false);
	if (r < 0)
		return r;
	sl->c = c;
	d->inflight++;
	return 0;
}

int vhu_scsi_kick(struct vhu_scsi *d)
{
	for (unsigned i = 0; i < d->nreq; i++) {
		int r = vhu_vq_publish_kick(d->s->vq[REQ_Q + i], false);

		if (r < 0)
			return r;
	}
	return 0;
}

static uint32_t le32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

int vhu_scsi_collect(struct vhu_scsi *d, struct vhu_scsi_cmd **done, int timeout_ms)
{
	/* With one queue, sleep on its call fd; with several, wait on each
	 * in turn for a slice (the timeout stays a failure bound). */
	int slice = d->nreq > 1 ? 10 : timeout_ms, waited = 0;

	for (unsigned qi = 0;; qi = (qi + 1) % d->nreq) {
		struct vhu_vq *q = d->s->vq[REQ_Q + qi];
		uint32_t len;
		void *tok;
		struct slot *sl;
		struct vhu_scsi_cmd *c;
		int r = vhu_vq_get_used(q, &len, &tok);

		if (r < 0)
			return r;
		if (r == 0) {
			if (d->nreq > 1 && qi + 1 < d->nreq)
				continue;       /* look at the others first */
			if (timeout_ms >= 0 && waited >= timeout_ms)
				return -ETIMEDOUT;
			r = vhu_vq_wait(q, slice, d->spin_ns);
			waited += slice;
			if (r < 0)
				return r;
			if (r == 0 && d->nreq == 1)
				return -ETIMEDOUT;
			continue;
		}
		sl = tok;
		if (sl < d->sl || sl >= d->sl + d->nslots || !sl->c || sl->c->done)
			return -EPROTO;
		c = sl->c;
		c->done = true;
		c->used_len = len;
		c->sense_len = le32(sl->resp);
		c->resid = le32(sl->resp + 4);
		c->status = sl->resp[10];
		c->response = sl->resp[11];
		memcpy(c->sense, sl->resp + 12, VHU_SCSI_SENSE_MAX);
		if (c->in_len && c->in)
			memcpy(c->in, sl->in, c->in_len);
		sl->c = NULL;
		d->inflight--;
		*done = c;
		return 0;
	}
}

int vhu_scsi_run(struct vhu_scsi *d, struct vhu_scsi_cmd *c, int timeout_ms)
{
	struct vhu_scsi_cmd *got;
	int r = vhu_scsi_add(d, c);

	if (r < 0 || (r = vhu_scsi_kick(d)) < 0)
		return r;
	while (!c->done) {
		r = vhu_scsi_collect(d, &got, timeout_ms);
		if (r < 0)
			return r;
	}
	return 0;
}

static int ctrl_post(struct vhu_scsi *d, const void *req, uint32_t req_len, uint32_t resp_len)
{
	struct vhu_mem *m = d->s->m;
	struct vhu_sg o = { vhu_mem_gpa(m, d->tmf_buf), req_len };
	struct vhu_sg i = { vhu_mem_gpa(m, d->tmf_buf + 32), resp_len };
	int r;

	if (d->tmf_pending)
		return -EBUSY;
	memcpy(d->tmf_buf, req, req_len);
	memset(d->tmf_buf + 32, 0xee, resp_len);
	r = vhu_vq_add(d->s->vq[CTRL_Q], &o, 1, &i, 1, d, false);
	if (r < 0)
		return r;
	d->tmf_pending = true;
	r = vhu_vq_publish_kick(d->s->vq[CTRL_Q], false);
	return r < 0 ? r : 0;
}

int vhu_scsi_tmf_post(struct vhu_scsi *d, uint32_t subtype, const uint8_t lun[8], uint64_t tag)
{
	uint8_t req[28];
	uint32_t t = htole32(0), st = htole32(subtype);
	uint64_t tg = htole64(tag);

	memcpy(req, &t, 4);
	memcpy(req + 4, &st, 4);
	memcpy(req + 8, lun, 8);
	memcpy(req + 16, &tg, 8);
	return ctrl_post(d, req, 24, 1);
}

bool vhu_scsi_tmf_done(struct vhu_scsi *d)
{
	return vhu_vq_has_used(d->s->vq[CTRL_Q]);
}

static int ctrl_wait(struct vhu_scsi *d, uint32_t *len, int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[CTRL_Q];
	void *tok;

	for (;;) {
		int r = vhu_vq_get_used(q, len, &tok);

		if (r < 0)
			return r;
		if (r == 1) {
			d->tmf_pending = false;
			return 0;
		}
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
}

int vhu_scsi_tmf_wait(struct vhu_scsi *d, uint8_t *response, int timeout_ms)
{
	uint32_t len;
	int r = ctrl_wait(d, &len, timeout_ms);

	if (r < 0)
		return r;
	if (len != 1)
		return -EPROTO;
	*response = d->tmf_buf[32];
	return 0;
}

int vhu_scsi_an(struct vhu_scsi *d, uint32_t type, uint32_t requested, uint32_t *actual,
		uint8_t *response, int timeout_ms)
{
	uint8_t req[16] = { 0 };
	uint32_t t = htole32(type), ev = htole32(requested), len;
	int r;

	memcpy(req, &t, 4);
	req[4] = 1;
	memcpy(req + 12, &ev, 4);
	r = ctrl_post(d, req, sizeof(req), 5);
	if (r < 0 || (r = ctrl_wait(d, &len, timeout_ms)) < 0)
		return r;
	if (len != 5)
		return -EPROTO;
	*actual = le32(d->tmf_buf + 32);
	*response = d->tmf_buf[36];
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-scmi guest driver (see vhu-scmi.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-scmi.h"

#define SCMI_F_P2A_CHANNELS 0
#define CMDQ 0
#define EVENTQ 1
#define MAX_EVENT_BUFS 256

struct vhu_scmi {
	struct vhu_session *s;
	unsigned token;
	uint8_t *ev[MAX_EVENT_BUFS];
	size_t ev_size;
	unsigned nev;
	char err[160];
};

void vhu_scmi_defaults(struct vhu_scmi_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 256;
}

int vhu_scmi_open(const struct vhu_scmi_opts *o, struct vhu_scmi **out, char *err,
		  size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_scmi *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.vq.num = o->queue_size;
	so.nqueues = 2;
	so.mem_size = 2u << 20;
	if (!o->no_p2a)
		so.features |= VHD_BIT(SCMI_F_P2A_CHANNELS);
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

void vhu_scmi_close(struct vhu_scmi *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d);
}

struct vhu_session *vhu_scmi_session(struct vhu_scmi *d)
{
	return d->s;
}

const char *vhu_scmi_error(const struct vhu_scmi *d)
{
	return d->err;
}

const char *vhu_scmi_status_name(int32_t status)
{
	static const char *const names[] = {
		"SUCCESS", "NOT_SUPPORTED", "INVALID_PARAMETERS", "DENIED", "NOT_FOUND",
		"OUT_OF_RANGE", "BUSY", "COMMS_ERROR", "GENERIC_ERROR", "HARDWARE_ERROR",
		"PROTOCOL_ERROR",
	};

	return status <= 0 && status >= -10 ? names[-status] : "(unknown status)";
}

/* Wait for the used entry with this token on queue q. */
static int wait_used(struct vhu_vq *q, void *token, uint32_t *len, int timeout_ms)
{
	for (;;) {
		void *tok;
		int r = vhu_vq_get_used(q, len, &tok);

		if (r < 0)
			return r;
		if (r > 0) {
			if (tok != token)
				return -EPROTO;
			return 0;
		}
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
}

int vhu_scmi_raw(struct vhu_scmi *d, const void *req, size_t req_len, void *resp,
		 size_t resp_cap, uint32_t *resp_len, int timeout_ms)
{
	struct vhu_mem *mem = d->s->m;
	size_t mark = vhu_mem_mark(mem);
	struct vhu_sg out, in;
	uint8_t *rq = vhu_mem_alloc(mem, req_len ? req_len : 1, 8);
	uint8_t *rs = vhu_mem_alloc(mem, resp_cap ? resp_cap : 1, 8);
	int r;

	if (!rq || !rs) {
		vhu_mem_release(mem, mark);
		return -ENOSPC;
	}
	memcpy(rq, req, req_len);
	memset(rs, 0xee, resp_cap);
	out = (struct vhu_sg){ vhu_mem_gpa(mem, rq), (uint32_t)req_len };
	in = (struct vhu_sg){ vhu_mem_gpa(mem, rs), (uint32_t)resp_cap };
	d->err[0] = 0;
	if (vhu_vq_add(d->s->vq[CMDQ], &out, req_len ? 1 : 0, &in, resp_cap ? 1 : 0, rs,
		       false) < 0) {
		vhu_mem_release(mem, mark);
		return -ENOSPC;
	}
	r = vhu_vq_publish_kick(d->s->vq[CMDQ], false);
	if (r >= 0)
		r = wait_used(d->s->vq[CMDQ], rs, resp_len, timeout_ms);
	if (r == -EPROTO)
		snprintf(d->err, sizeof(d->err), "used entry for a chain not in flight");
	if (r == 0 && *resp_len > resp_cap) {
		snprintf(d->err, sizeof(d->err), "used length %u over the %zu-byte buffer",
			 *resp_len, resp_cap);
		r = -EPROTO;
	}
	if (r == 0)
		memcpy(resp, rs, *resp_len);
	/* Memory is reused only when the device gave the chain back. */
	if (r != -ETIMEDOUT)
		vhu_mem_release(mem, mark);
	return r;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t le;

	memcpy(&le, p, sizeof(le));
	return le32toh(le);
}

int vhu_scmi_cmd(struct vhu_scmi *d, unsigned proto, unsigned msg, const uint32_t *params,
		 unsigned nparams, int32_t *status, void *ret, size_t ret_cap, size_t *ret_len,
		 int timeout_ms)
{
	uint8_t req[4 + 4 * 8], resp[VHU_SCMI_RESP_SIZE];
	uint32_t hdr, len, le;
	size_t n;
	int r;

	if (nparams > 8)
		return -EINVAL;
	d->token = (d->token + 1) & 0x3ff;
	/* message_id 7:0, type 9:8 (command), protocol_id 17:10, token 27:18 */
	hdr = (msg & 0xff) | (proto & 0xff) << 10 | d->token << 18;
	le = htole32(hdr);
	memcpy(req, &le, 4);
	for (unsigned i = 0; i < nparams; i++) {
		le = htole32(params[i]);
		memcpy(req + 4 + 4 * i, &le, 4);
	}
	r = vhu_scmi_raw(d, req, 4 + 4 * nparams, resp, sizeof(resp), &len, timeout_ms);
	if (r < 0)
		return r;
	if (len < 8 || get32(resp) != hdr) {
		snprintf(d->err, sizeof(d->err), "response of %u bytes, header 0x%08x for 0x%08x",
			 len, len >= 4 ? get32(resp) : 0, hdr);
		return -EPROTO;
	}
	*status = (int32_t)get32(resp + 4);
	n = len - 8 < ret_cap ? len - 8 : ret_cap;
	if (ret)
		memcpy(ret, resp + 8, n);
	if (ret_len)
		*ret_len = len - 8;
	return 0;
}

static int sext5(uint32_t v)
{
	v &= 0x1f;
	return v & 0x10 ? (int)v - 32 : (int)v;
}

/* Status check for the listing calls. */
static int cmd_ok(struct vhu_scmi *d, unsigned proto, unsigned msg, const uint32_t *params,
		  unsigned nparams, uint8_t *ret, size_t *len, int timeout_ms)
{
	int32_t st;
	int r = vhu_scmi_cmd(d, proto, msg, params, nparams, &st, ret, 128, len, timeout_ms);

	if (r < 0)
		return r;
	if (st != 0) {
		snprintf(d->err, sizeof(d->err), "protocol 0x%x message 0x%x: %s", proto, msg,
			 vhu_scmi_status_name(st));
		return -EREMOTEIO;
	}
	return 0;
}

static int axes(struct vhu_scmi *d, struct vhu_scmi_sensor *s, int timeout_ms)
{
	unsigned got = 0;

	while (got < s->num_axes) {
		uint8_t ret[128];
		size_t len, off = 4;
		uint32_t p[2] = { s->id, got }, flags, nret;
		int r = cmd_ok(d, VHU_SCMI_PROTO_SENSOR, 0x7, p, 2, ret, &len, timeout_ms);

		if (r < 0)
			return r;
		flags = len >= 4 ? get32(ret) : 0;
		nret = flags & 0x3f;
		if (len < 4 || !nret || nret > s->num_axes - got) {
			snprintf(d->err, sizeof(d->err), "axis description of sensor %u: %zu bytes, "
				 "%u returned", s->id, len, nret);
			return -EPROTO;
		}
		for (unsigned i = 0; i < nret; i++, got++) {
			struct vhu_scmi_axis *a = &s->axis[got];
			uint32_t low, high;

			if (off + 28 > len)
				return -EPROTO;
			low = get32(ret + off + 4);
			high = get32(ret + off + 8);
			a->type = high & 0xff;
			a->scale = sext5(high >> 11);
			memcpy(a->name, ret + off + 12, VHU_SCMI_NAME);
			a->name[VHU_SCMI_NAME - 1] = 0;
			off += 28 + ((low & (1u << 8)) ? 20 : 0);
		}
	}
	return 0;
}

int vhu_scmi_sensors(struct vhu_scmi *d, struct vhu_scmi_sensor **out, unsigned *n,
		     int timeout_ms)
{
	struct vhu_scmi_sensor *v;
	uint8_t ret[128];
	size_t len;
	unsigned total, got = 0;
	int r = cmd_ok(d, VHU_SCMI_PROTO_SENSOR, 0x1, NULL, 0, ret, &len, timeout_ms);

	if (r < 0)
		return r;
	if (len < 16) {
		snprintf(d->err, sizeof(d->err), "sensor attributes of %zu bytes", len);
		return -EPROTO;
	}
	total = get32(ret) & 0xffff;
	v = calloc(total ? total : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (got < total) {
		uint32_t p = got, nret, left;
		size_t off = 4;

		r = cmd_ok(d, VHU_SCMI_PROTO_SENSOR, 0x3, &p, 1, ret, &len, timeout_ms);
		if (r < 0)
			goto fail;
		nret = len >= 4 ? get32(ret) & 0xffff : 0;
		left = len >= 4 ? get32(ret) >> 16 : 0;
		if (!nret || nret > total - got || left != total - got - nret) {
			snprintf(d->err, sizeof(d->err), "sensor descriptions from %u: %u returned, "
				 "%u remaining of %u", got, nret, left, total);
			r = -EPROTO;
			goto fail;
		}
		for (unsigned i = 0; i < nret; i++, got++) {
			struct vhu_scmi_sensor *s = &v[got];
			uint32_t low, high;

			if (off + 28 > len) {
				r = -EPROTO;
				goto fail;
			}
			s->id = get32(ret + off);
			low = get32(ret + off + 4);
			high = get32(ret + off + 8);
			s->notify = low & (1u << 30);
			s->timestamped = low & (1u << 9);
			s->tstamp_exp = sext5(low >> 10);
			s->type = high & 0xff;
			s->scale = sext5(high >> 11);
			s->num_axes = (high & (1u << 8)) ? (high >> 16) & 0x3f : 0;
			memcpy(s->name, ret + off + 12, VHU_SCMI_NAME);
			s->name[VHU_SCMI_NAME - 1] = 0;
			/* Extended attributes: power, and for a scalar
			 * sensor resolution and range. */
			off += 28;
			if (low & (1u << 8))
				off += s->num_axes ? 4 : 24;
		}
	}
	for (unsigned i = 0; i < total; i++) {
		r = axes(d, &v[i], timeout_ms);
		if (r < 0)
			goto fail;
	}
	*out = v;
	*n = total;
	return 0;
fail:
	free(v);
	return r;
}

int vhu_scmi_read(struct vhu_scmi *d, uint32_t id, struct vhu_scmi_reading *rd, unsigned max,
		  unsigned *n, int32_t *status, int timeout_ms)
{
	uint8_t ret[128];
	uint32_t p[2] = { id, 0 };
	size_t len;
	int r = vhu_scmi_cmd(d, VHU_SCMI_PROTO_SENSOR, 0x6, p, 2, status, ret, sizeof(ret), &len,
			     timeout_ms);

	*n = 0;
	if (r < 0 || *status != 0)
		return r;
	for (size_t off = 0; off + 16 <= len && off + 16 <= sizeof(ret) && *n < max; off += 16) {
		rd[*n].value = (int64_t)((uint64_t)get32(ret + off) |
					 (uint64_t)get32(ret + off + 4) << 32);
		rd[*n].timestamp = (uint64_t)get32(ret + off + 8) |
				   (uint64_t)get32(ret + off + 12) << 32;
		(*n)++;
	}
	return 0;
}

int vhu_scmi_post_events(struct vhu_scmi *d, unsigned n, size_t size)
{
	struct vhu_mem *mem = d->s->m;
	int r;

	if (d->nev + n > MAX_EVENT_BUFS || (d->nev && size != d->ev_size))
		return -ENOSPC;
	d->ev_size = size;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *b = vhu_mem_alloc(mem, size, 8);
		struct vhu_sg in;

		if (!b)
			return -ENOSPC;
		in = (struct vhu_sg){ vhu_mem_gpa(mem, b), (uint32_t)size };
		if (vhu_vq_add(d->s->vq[EVENTQ], NULL, 0, &in, 1, b, false) < 0)
			return -ENOSPC;
		d->ev[d->nev++] = b;
	}
	r = vhu_vq_publish_kick(d->s->vq[EVENTQ], false);
	return r < 0 ? r : 0;
}

int vhu_scmi_next_event(struct vhu_scmi *d, void *buf, size_t cap, uint32_t *len,
			int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[EVENTQ];
	struct vhu_sg in;
	void *tok;
	int r;

	for (;;) {
		r = vhu_vq_get_used(q, len, &tok);
		if (r < 0)
			return r;
		if (r > 0)
			break;
		r = vhu_vq_wait(q, timeout_ms, 0);
		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
	}
	if (*len > d->ev_size) {
		snprintf(d->err, sizeof(d->err), "event of %u bytes in a %zu-byte buffer", *len,
			 d->ev_size);
		return -EPROTO;
	}
	memcpy(buf, tok, *len < cap ? *len : cap);
	/* Back on the ring, as a driver does with its event buffers. */
	in = (struct vhu_sg){ vhu_mem_gpa(d->s->m, tok), (uint32_t)d->ev_size };
	if (vhu_vq_add(q, NULL, 0, &in, 1, tok, false) < 0)
		return -ENOSPC;
	r = vhu_vq_publish_kick(q, false);
	return r < 0 ? r : 0;
}

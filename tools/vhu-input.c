/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* libvhu-frontend's virtio-input guest driver (see vhu-input.h). */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vhu-input.h"

#define INPUT_CONFIG_SIZE 136

struct le_event {
	uint16_t type, code;
	uint32_t value;
};

struct vhu_input {
	struct vhu_session *s;
	unsigned num;
	struct le_event *evbuf;         /* num event buffers in guest memory */
	bool *posted;
	unsigned nposted;
	struct le_event *stbuf;         /* one status buffer */
	char err[160];
};

void vhu_input_defaults(struct vhu_input_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->queue_size = 64;
}

int vhu_input_open(const struct vhu_input_opts *o, struct vhu_input **out, char *err,
		   size_t errlen)
{
	struct vhu_session_opts so;
	struct vhu_input *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	vhu_session_defaults(&so, o->path);
	so.connect_ms = o->connect_ms;
	so.vq.num = o->queue_size;
	so.vq.max_indirect = 0;
	so.nqueues = 2;
	so.mem_size = 2u << 20;
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
	d->num = o->queue_size;
	d->evbuf = vhu_mem_alloc(d->s->m, d->num * sizeof(*d->evbuf), 8);
	d->stbuf = vhu_mem_alloc(d->s->m, sizeof(*d->stbuf), 8);
	d->posted = calloc(d->num, sizeof(*d->posted));
	if (!d->evbuf || !d->stbuf || !d->posted) {
		snprintf(err, errlen, "out of guest memory");
		vhu_input_close(d);
		return -ENOMEM;
	}
	*out = d;
	return 0;
}

void vhu_input_close(struct vhu_input *d)
{
	if (!d)
		return;
	vhu_session_close(d->s);
	free(d->posted);
	free(d);
}

struct vhu_session *vhu_input_session(struct vhu_input *d)
{
	return d->s;
}

const char *vhu_input_error(const struct vhu_input *d)
{
	return d->err;
}

int vhu_input_config(struct vhu_input *d, uint8_t select, uint8_t subsel, uint8_t u[128],
		     uint8_t *size)
{
	uint8_t msg[sizeof(struct vhu_config_hdr) + 2];
	struct vhu_config_hdr h = { .offset = 0, .size = 2, .flags = VHU_CONFIG_FLAG_WRITABLE };
	uint8_t cfg[INPUT_CONFIG_SIZE];
	uint32_t flags = vhu_has_protocol(d->s->c, VHU_PF_REPLY_ACK) ? VHU_FLAG_NEED_REPLY : 0;
	int r;

	/* As Linux writes them: select, then subsel (5.8.4). */
	memcpy(msg, &h, sizeof(h));
	msg[sizeof(h)] = select;
	msg[sizeof(h) + 1] = subsel;
	r = vhu_request(d->s->c, VHU_SET_CONFIG, flags, msg, sizeof(msg), NULL, 0, NULL, 0);
	if (r < 0)
		return r;
	r = vhu_get_config(d->s->c, 0, INPUT_CONFIG_SIZE, cfg);
	if (r < 0)
		return r;
	if (cfg[0] != select || cfg[1] != subsel) {
		snprintf(d->err, sizeof(d->err), "config space says select %u subsel %u, not %u %u",
			 cfg[0], cfg[1], select, subsel);
		return -EPROTO;
	}
	if (cfg[2] > 128) {
		snprintf(d->err, sizeof(d->err), "config size %u is more than 128", cfg[2]);
		return -EPROTO;
	}
	memcpy(u, cfg + 8, 128);
	*size = cfg[2];
	return 0;
}

int vhu_input_post(struct vhu_input *d, unsigned n)
{
	struct vhu_vq *q = d->s->vq[0];
	unsigned done = 0;

	for (unsigned i = 0; i < d->num && done < n; i++) {
		struct vhu_sg in;

		if (d->posted[i])
			continue;
		memset(&d->evbuf[i], 0xee, sizeof(d->evbuf[i]));
		in = (struct vhu_sg){ vhu_mem_gpa(d->s->m, &d->evbuf[i]), sizeof(d->evbuf[i]) };
		if (vhu_vq_add(q, NULL, 0, &in, 1, &d->evbuf[i], false) < 0)
			break;
		d->posted[i] = true;
		d->nposted++;
		done++;
	}
	if (done)
		vhu_vq_publish_kick(q, false);
	return (int)done;
}

unsigned vhu_input_posted(const struct vhu_input *d)
{
	return d->nposted;
}

int vhu_input_read(struct vhu_input *d, struct vhu_input_event *ev, unsigned max,
		   int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[0];
	unsigned n = 0;
	int bad = 0;

	if (!vhu_vq_has_used(q)) {
		int r = vhu_vq_wait(q, timeout_ms, 0);

		if (r <= 0)
			return r;
	}
	while (n < max) {
		uint32_t len;
		void *token;
		int r = vhu_vq_get_used(q, &len, &token);
		struct le_event *b = token;

		if (r < 0)
			return r;
		if (r == 0)
			break;
		d->posted[b - d->evbuf] = false;
		d->nposted--;
		if (len != sizeof(*b)) {
			snprintf(d->err, sizeof(d->err), "an event buffer used with %u bytes", len);
			bad = -EPROTO;
			continue;
		}
		ev[n].type = le16toh(b->type);
		ev[n].code = le16toh(b->code);
		ev[n].value = (int32_t)le32toh(b->value);
		n++;
	}
	return bad ? bad : (int)n;
}

int vhu_input_status(struct vhu_input *d, uint16_t type, uint16_t code, int32_t value,
		     int timeout_ms)
{
	struct vhu_vq *q = d->s->vq[1];
	struct vhu_sg out = { vhu_mem_gpa(d->s->m, d->stbuf), sizeof(*d->stbuf) };
	uint32_t len;
	void *token;
	int r;

	d->stbuf->type = htole16(type);
	d->stbuf->code = htole16(code);
	d->stbuf->value = htole32((uint32_t)value);
	if (vhu_vq_add(q, &out, 1, NULL, 0, d->stbuf, false) < 0)
		return -ENOSPC;
	vhu_vq_publish_kick(q, false);
	r = vhu_vq_wait(q, timeout_ms, 0);
	if (r < 0)
		return r;
	if (r == 0)
		return -ETIMEDOUT;
	r = vhu_vq_get_used(q, &len, &token);
	return r < 0 ? r : 0;
}

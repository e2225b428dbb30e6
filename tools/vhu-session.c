/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend: a whole device set-up in one call, and the reader pump
 * that the rng command, the tests and the benchmarks share (contract in
 * vhu-frontend.h).
 */
#include "config.h"
#include "vhu-frontend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void vhu_session_defaults(struct vhu_session_opts *o, const char *path)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	o->connect_ms = 5000;
	o->features = VHD_BIT(VIRTIO_F_VERSION_1) | VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		      VHD_BIT(VIRTIO_RING_F_EVENT_IDX);
	o->protocol = VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) |
		      VHD_BIT(VHU_PF_CONFIG) | VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) |
		      VHD_BIT(VHU_PF_STATUS);
	o->nqueues = 1;
	o->vq.num = 256;
}

void vhu_session_close(struct vhu_session *s)
{
	if (!s)
		return;
	/* The connection first: the backend stops using the rings before
	 * their memory goes away (it has its own mapping anyway). */
	vhu_close(s->c);
	for (unsigned i = 0; i < s->nvq; i++)
		vhu_vq_destroy(s->vq[i]);
	vhu_mem_destroy(s->m);
	free(s);
}

int vhu_session_open(const struct vhu_session_opts *o, struct vhu_session **out,
		     char *err, size_t errlen)
{
	struct vhu_session *s;
	size_t mem = o->mem_size;
	const char *step;
	int r;

	*out = NULL;
	if (o->nqueues > sizeof(s->vq) / sizeof(s->vq[0])) {
		snprintf(err, errlen, "%u queues requested, at most %zu", o->nqueues,
			 sizeof(s->vq) / sizeof(s->vq[0]));
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	step = "connecting";
	r = vhu_connect(o->path, o->connect_ms, &s->c);
	if (r < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", o->path, strerror(-r));
		goto fail_quiet;
	}
	if (o->timeout_ms > 0)
		vhu_conn_set_timeout(s->c, o->timeout_ms);
	step = "negotiating features";
	r = vhu_negotiate(s->c, o->features, o->protocol);
	if (r < 0)
		goto fail;
	if (o->nqueues > 1 && vhu_conn_info(s->c)->queue_num &&
	    o->nqueues > vhu_conn_info(s->c)->queue_num) {
		snprintf(err, errlen, "%s: device has %llu queues, %u requested", o->path,
			 (unsigned long long)vhu_conn_info(s->c)->queue_num, o->nqueues);
		r = -EINVAL;
		goto fail_quiet;
	}
	if (!mem) {
		size_t ring = 16 * (size_t)o->vq.num + 64 + 8 * (size_t)o->vq.num + 128 +
			      (size_t)o->vq.num * o->vq.max_indirect * 16;
		mem = (ring * (o->nqueues ? o->nqueues : 1) + (1u << 20) + 0xfffff) &
		      ~(size_t)0xfffff;
	}
	step = "creating guest memory";
	r = vhu_mem_create(mem, o->mem_split, o->mem_hole, &s->m);
	if (r < 0) {
		snprintf(err, errlen, "creating %zu bytes of guest memory: %s", mem, strerror(-r));
		goto fail_quiet;
	}
	if (!o->send_mem) {
		step = "sending the memory table";
		r = vhu_send_mem(s->c, s->m, o->add_mem_reg);
		if (r < 0)
			goto fail;
	}
	for (unsigned i = 0; i < o->nqueues; i++) {
		step = "creating a queue";
		r = vhu_vq_create(s->c, s->m, i, &o->vq, &s->vq[i]);
		if (r < 0) {
			snprintf(err, errlen, "creating queue %u (size %u): %s", i, o->vq.num,
				 strerror(-r));
			goto fail_quiet;
		}
		s->nvq++;
		if (o->send_mem)
			continue;       /* started once the memory is described */
		step = "starting a queue";
		r = vhu_vq_start(s->vq[i]);
		if (r < 0)
			goto fail;
	}
	if (o->send_mem) {
		/* vhu_vq_create sent nothing: the memory table still comes
		 * before the first ring message, as from QEMU. */
		step = "describing the memory (caller's send_mem)";
		r = o->send_mem(o->send_mem_opaque, s);
		if (r < 0)
			goto fail;
		for (unsigned i = 0; i < s->nvq; i++) {
			step = "starting a queue";
			r = vhu_vq_start(s->vq[i]);
			if (r < 0)
				goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	if (*vhu_conn_error(s->c))
		snprintf(err, errlen, "%s: %s", step, vhu_conn_error(s->c));
	else
		snprintf(err, errlen, "%s: %s", step, strerror(-r));
fail_quiet:
	vhu_session_close(s);
	return r;
}

/* ---- reader pump --------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int vhu_pump_read(struct vhu_vq *q, struct vhu_mem *m, const struct vhu_pump_opts *o,
		  struct vhu_pump_result *res)
{
	unsigned depth = o->depth ? o->depth : vhu_vq_num(q);
	unsigned batch = o->batch ? o->batch : 1;
	uint64_t outstanding = 0, start, last, end;
	size_t mark = vhu_mem_mark(m);
	uint32_t *posted = NULL;
	unsigned *free_stack = NULL, nfree;
	uint8_t *bufs;
	bool stop = false, sink_stop = false;
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (o->buf_size == 0 || (!o->max_bytes && !o->duration_ns))
		return -EINVAL;
	if (vhu_vq_in_flight(q))
		return -EBUSY;      /* tokens in the ring would not be ours */
	if (depth > vhu_vq_num_free(q))
		depth = vhu_vq_num_free(q);
	if (depth == 0)
		return -ENOSPC;
	if (batch > depth)
		batch = depth;
	bufs = vhu_mem_alloc(m, (size_t)depth * o->buf_size, 64);
	posted = calloc(depth, sizeof(*posted));
	free_stack = calloc(depth, sizeof(*free_stack));
	if (!bufs || !posted || !free_stack) {
		r = bufs ? -ENOMEM : -ENOSPC;
		goto out;
	}
	for (nfree = 0; nfree < depth; nfree++)
		free_stack[nfree] = depth - 1 - nfree;

	start = now_ns();
	end = o->duration_ns ? start + o->duration_ns : UINT64_MAX;
	last = start;
	for (;;) {
		unsigned got = 0;
		uint64_t now;
		uint32_t len;
		void *tok;

		/* Refill in batches: one publish (and at most one kick) for
		 * many buffers. */
		if (!stop && (nfree >= batch || nfree == depth)) {
			unsigned added = 0;

			while (nfree) {
				uint64_t want = o->buf_size;
				unsigned b;

				if (o->max_bytes) {
					if (res->bytes + outstanding >= o->max_bytes)
						break;
					if (want > o->max_bytes - res->bytes - outstanding)
						want = o->max_bytes - res->bytes - outstanding;
				}
				b = free_stack[nfree - 1];
				struct vhu_sg sg = {
					vhu_mem_gpa(m, bufs + (size_t)b * o->buf_size),
					(uint32_t)want,
				};
				r = vhu_vq_add(q, NULL, 0, &sg, 1, (void *)(uintptr_t)(b + 1),
					       o->indirect);
				if (r < 0)
					goto out;
				nfree--;
				posted[b] = (uint32_t)want;
				outstanding += want;
				added++;
			}
			if (added) {
				r = vhu_vq_publish_kick(q, false);
				if (r < 0)
					goto out;
			}
		}

		while ((r = vhu_vq_get_used(q, &len, &tok)) == 1) {
			unsigned b = (unsigned)((uintptr_t)tok - 1);

			if (b >= depth || len > posted[b]) {
				r = -EPROTO;    /* more bytes than the buffer holds */
				goto out;
			}
			res->bytes += len;
			res->requests++;
			if (len == 0)
				res->empty++;
			outstanding -= posted[b];
			if (o->sink && !sink_stop && len &&
			    o->sink(o->opaque, bufs + (size_t)b * o->buf_size, len))
				sink_stop = stop = true;
			free_stack[nfree++] = b;
			got++;
		}
		if (r < 0)
			goto out;
		now = now_ns();
		if (got)
			last = now;
		if (o->max_bytes && res->bytes >= o->max_bytes)
			stop = true;
		/* Duration over: what arrived counts; buffers still in flight
		 * stay with the device (rate-limited devices may hold them for
		 * many periods). */
		if (now >= end) {
			last = end;
			break;
		}
		if (stop && (sink_stop || vhu_vq_in_flight(q) == 0))
			break;
		if (got == 0) {
			int64_t t = -1;

			if (o->idle_timeout_ms > 0) {
				int64_t idle_ns = (int64_t)o->idle_timeout_ms * 1000000;
				int64_t left = idle_ns - (int64_t)(now - last);
				if (left <= 0) {
					r = -ETIMEDOUT;
					goto out;
				}
				t = (left + 999999) / 1000000;
			}
			if (end != UINT64_MAX) {
				int64_t e = (int64_t)((end - now + 999999) / 1000000);
				if (t < 0 || e < t)
					t = e;
			}
			r = vhu_vq_wait(q, (int)t, o->spin_ns);
			if (r < 0)
				goto out;
		}
	}
	r = 0;
	res->seconds = (double)(last - start) / 1e9;
out:
	/* Buffers still in flight belong to the device: keep them. */
	if (vhu_vq_in_flight(q) == 0)
		vhu_mem_release(m, mark);
	free(posted);
	free(free_stack);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* The Xen frontend's grant table and the fake's counters (xen-rig.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "xen-rig.h"

#define G VHU_XEN_GRANT_ADDR
#define NRINGS_MAX (3u * XEN_RIG_MAX_QUEUES)

struct span {
	uint64_t off, len;
};

int64_t xen_rig_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The three rings of each queue (virtio 1.2, 2.7: descriptor table 16
 * bytes, available ring 6 + 2 bytes, used ring 6 + 8 bytes per entry),
 * as offsets into the memory, by address. */
static unsigned ring_spans(const struct vhu_mem *m, struct vhu_vq *const *vq, unsigned nvq,
			   struct span *ring)
{
	const uint8_t *base = vhu_mem_base(m);
	unsigned nr = 0;

	for (unsigned q = 0; q < nvq; q++) {
		uint64_t num = vhu_vq_num(vq[q]);

		ring[nr++] = (struct span){
			(uint64_t)((const uint8_t *)vhu_vq_desc(vq[q]) - base), 16 * num };
		ring[nr++] = (struct span){
			(uint64_t)((const uint8_t *)vhu_vq_avail(vq[q]) - base), 6 + 2 * num };
		ring[nr++] = (struct span){
			(uint64_t)((const uint8_t *)vhu_vq_used(vq[q]) - base), 6 + 8 * num };
	}
	for (unsigned i = 1; i < nr; i++)
		for (unsigned j = i; j > 0 && ring[j].off < ring[j - 1].off; j--) {
			struct span t = ring[j];

			ring[j] = ring[j - 1];
			ring[j - 1] = t;
		}
	return nr;
}

unsigned xen_rig_grant_table(const struct vhu_mem *m, struct vhu_vq *const *vq, unsigned nvq,
			     uint64_t chunk, struct vhu_xen_region *r, unsigned cap)
{
	const uint8_t *base = vhu_mem_base(m);
	uint64_t size = vhu_mem_size(m), pos = 0;
	struct span ring[NRINGS_MAX];
	unsigned nr, n = 0;

	if (nvq > XEN_RIG_MAX_QUEUES || chunk == 0)
		return 0;
	nr = ring_spans(m, vq, nvq, ring);
	for (unsigned i = 0; i <= nr; i++) {
		uint64_t end = i < nr ? ring[i].off : size;

		if (end < pos)
			return 0;
		while (pos < end) {
			uint64_t len = end - pos < chunk ? end - pos : chunk;

			if (n == cap)
				return 0;
			r[n++] = (struct vhu_xen_region){ G | pos, len, 0, 0xa, XEN_RIG_DOMID };
			pos += len;
		}
		if (i < nr) {
			if (n == cap)
				return 0;
			r[n++] = (struct vhu_xen_region){ G | ring[i].off, ring[i].len,
				(uint64_t)(uintptr_t)(base + ring[i].off), 0x2, XEN_RIG_DOMID };
			pos = ring[i].off + ring[i].len;
		}
	}
	return n;
}

int xen_rig_send_mem(void *opaque, struct vhu_session *s)
{
	struct xen_rig *rig = opaque;
	uint64_t chunk = rig->chunk;
	int r;

	if (!vhu_has_protocol(s->c, VHU_PF_XEN_MMAP)) {
		fprintf(stderr, "FAIL: the backend did not offer XEN_MMAP with --xen on\n");
		return -ENOTSUP;
	}
	if (rig->nvq && s->nvq != rig->nvq) {
		fprintf(stderr, "FAIL: the session has %u queues, the test expects %u\n", s->nvq,
			rig->nvq);
		return -EINVAL;
	}
	/* Before any descriptor is written: they carry grant addresses. */
	r = vhu_mem_set_grant_addressing(s->m, true);
	if (r < 0)
		return r;
	r = fx_attach(rig->x, s->m);
	if (r < 0) {
		fprintf(stderr, "FAIL: fake Xen files for the guest memory: %s\n", strerror(-r));
		return r;
	}
	if (!chunk)
		chunk = vhu_mem_size(s->m) / (rig->pieces ? rig->pieces : 16);
	rig->n = xen_rig_grant_table(s->m, s->vq, s->nvq, chunk, rig->reg, XEN_RIG_MAX_REGIONS);
	if (rig->n == 0) {
		fprintf(stderr, "FAIL: the grant region table does not fit %u regions\n",
			XEN_RIG_MAX_REGIONS);
		return -E2BIG;
	}
	return vhu_send_mem_xen(s->c, s->m, rig->reg, rig->n, false);
}

bool xen_rig_wait_live(const struct fx *x, uint64_t want)
{
	for (int64_t t0 = xen_rig_now_ms(); xen_rig_now_ms() - t0 < XEN_RIG_T_MS; usleep(10000))
		if (fx_ld(&x->st->gnt_live) == want)
			return true;
	return false;
}

#define ULL(v) ((unsigned long long)(v))

int xen_rig_check_maps(const struct fx *x)
{
	const struct fakexen_stats *st = x->st;

	if (fx_ld(&st->gnt_invalid) == 0 && fx_ld(&st->gnt_refused) == 0 &&
	    fx_ld(&st->bad_unmaps) == 0)
		return 0;
	fprintf(stderr, "FAIL: %llu invalid and %llu refused grant maps, %llu bad unmaps\n",
		ULL(fx_ld(&st->gnt_invalid)), ULL(fx_ld(&st->gnt_refused)),
		ULL(fx_ld(&st->bad_unmaps)));
	return -1;
}

int xen_rig_check_closed(const struct fx *x)
{
	const struct fakexen_stats *st = x->st;

	for (int64_t t0 = xen_rig_now_ms(); xen_rig_now_ms() - t0 < XEN_RIG_T_MS; usleep(10000))
		if (fx_ld(&st->gnt_closes) == fx_ld(&st->gnt_opens) && fx_ld(&st->gnt_live) == 0)
			break;
	if (fx_ld(&st->gnt_closes) != fx_ld(&st->gnt_opens)) {
		fprintf(stderr, "FAIL: gnttab: %llu opened, %llu closed\n", ULL(fx_ld(&st->gnt_opens)),
			ULL(fx_ld(&st->gnt_closes)));
		return -1;
	}
	if (fx_ld(&st->gnt_live) != 0 || fx_ld(&st->leaked) != 0) {
		fprintf(stderr, "FAIL: %llu alive, %llu leaked\n", ULL(fx_ld(&st->gnt_live)),
			ULL(fx_ld(&st->leaked)));
		return -1;
	}
	if (fx_ld(&st->gnt_maps) != fx_ld(&st->gnt_unmaps) || fx_ld(&st->bad_unmaps) != 0) {
		fprintf(stderr, "FAIL: %llu maps, %llu unmaps, %llu bad unmaps\n",
			ULL(fx_ld(&st->gnt_maps)), ULL(fx_ld(&st->gnt_unmaps)),
			ULL(fx_ld(&st->bad_unmaps)));
		return -1;
	}
	return 0;
}

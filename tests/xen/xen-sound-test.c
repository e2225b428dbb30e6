/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration test of vhost-device-sound (--backend null) over Xen grant
 * mappings, without Xen: the real binary runs with the fake libxen
 * (tests/xen/libfakexen.so, LD_PRELOAD, set up by xen-fx.c as for the
 * other Xen tests) and this program plays the Xen frontend and the
 * guest's virtio-snd driver on a libvhu-frontend session.
 *
 * Memory as xen-vhost-frontend describes it: XEN_MMAP acked, one grant
 * region (flags 0x2, mapped once) per vring of the four queues at its
 * exact address and size, the rest as no-advance grant regions (0xA) of a
 * quarter of the memory at most (a table holds 32 regions), so that every
 * request's buffers are mapped and unmapped per request.  Descriptors
 * carry grant addresses (1<<63 | offset).
 *
 * Checked: PCM_INFO answered, 8 periods of playback and 4 of capture
 * (silence) held and completed OK from the timer, no invalid or refused
 * grant map, no bad unmap; once idle only the 12 vrings mapped; after the guest left
 * every gnttab handle closed, maps == unmaps, nothing leaked; the backend
 * exits 0 on SIGTERM.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (no /proc/self/fd access, which the
 * shim needs to open our memfd).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/virtio_snd.h>

#include "backend.h"
#include "vhu-frontend.h"
#include "xen-fx.h"
#include "xen-rig.h"

#define NQ 4u
#define NRINGS (3u * NQ)
#define T_MS 30000             /* every wait's failure bound */
/* 8000 Hz U8 mono: 8000 bytes/s; a period of 400 bytes = 50 ms. */
#define PERIOD 400

#define EXPECT(cond, ...) do { \
	if (!(cond)) { \
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__); \
		fputc('\n', stderr); \
		goto out; \
	} \
} while (0)

/* One chain on queue q: rd bytes readable, wr bytes writable (each in one
 * buffer); waits for its completion.  Returns the used length, or -1. */
static int request(struct vhu_session *s, unsigned q, const void *rd, uint32_t rd_len,
		   uint8_t **wr, uint32_t wr_len)
{
	uint8_t *a = vhu_mem_alloc(s->m, rd_len, 8), *b = vhu_mem_alloc(s->m, wr_len, 8);
	struct vhu_sg out, in;
	uint32_t used = 0;
	void *tok = NULL;

	if (!a || !b)
		return -1;
	memcpy(a, rd, rd_len);
	memset(b, 0xee, wr_len);
	out = (struct vhu_sg){ vhu_mem_gpa(s->m, a), rd_len };
	in = (struct vhu_sg){ vhu_mem_gpa(s->m, b), wr_len };
	if (vhu_vq_add(s->vq[q], &out, 1, &in, 1, b, false) < 0 ||
	    vhu_vq_publish_kick(s->vq[q], false) < 0)
		return -1;
	while (vhu_vq_get_used(s->vq[q], &used, &tok) == 0)
		if (vhu_vq_wait(s->vq[q], T_MS, 0) != 1)
			return -1;
	*wr = b;
	return tok == b ? (int)used : -1;
}

static uint32_t ctl(struct vhu_session *s, const void *req, uint32_t len)
{
	uint8_t *resp;
	uint32_t st;

	if (request(s, 0, req, len, &resp, 4) != 4)
		return 0;
	memcpy(&st, resp, 4);
	return le32toh(st);
}

static uint32_t pcm(struct vhu_session *s, uint32_t code, uint32_t stream)
{
	struct virtio_snd_pcm_hdr h = { { htole32(code) }, htole32(stream) };

	return ctl(s, &h, sizeof(h));
}

static uint32_t set_params(struct vhu_session *s, uint32_t stream)
{
	struct virtio_snd_pcm_set_params p;

	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.hdr.stream_id = htole32(stream);
	p.buffer_bytes = htole32(4 * PERIOD);
	p.period_bytes = htole32(PERIOD);
	p.channels = 1;
	p.format = VIRTIO_SND_PCM_FMT_U8;
	p.rate = VIRTIO_SND_PCM_RATE_8000;
	return ctl(s, &p, sizeof(p));
}

/* n I/O messages on stream (tx for 0, rx for 1), all posted, then START,
 * then all collected in order.  0 or -1. */
static int stream_io(struct vhu_session *s, unsigned stream, unsigned n)
{
	unsigned q = stream ? 3 : 2;
	uint8_t *buf[16];
	uint32_t used;
	void *tok;

	if (set_params(s, stream) != VIRTIO_SND_S_OK ||
	    pcm(s, VIRTIO_SND_R_PCM_PREPARE, stream) != VIRTIO_SND_S_OK)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint8_t *hdr = vhu_mem_alloc(s->m, 4, 8);
		uint32_t id = htole32(stream);
		struct vhu_sg sg[3];

		buf[i] = vhu_mem_alloc(s->m, PERIOD + 8, 8);
		if (!hdr || !buf[i])
			return -1;
		memcpy(hdr, &id, 4);
		memset(buf[i], 0x11, PERIOD + 8);
		sg[0] = (struct vhu_sg){ vhu_mem_gpa(s->m, hdr), 4 };
		sg[1] = (struct vhu_sg){ vhu_mem_gpa(s->m, buf[i]), PERIOD };
		sg[2] = (struct vhu_sg){ vhu_mem_gpa(s->m, buf[i] + PERIOD), 8 };
		if ((stream ? vhu_vq_add(s->vq[q], sg, 1, &sg[1], 2, buf[i], false)
			    : vhu_vq_add(s->vq[q], sg, 2, &sg[2], 1, buf[i], false)) < 0)
			return -1;
	}
	if (vhu_vq_publish_kick(s->vq[q], false) < 0 ||
	    pcm(s, VIRTIO_SND_R_PCM_START, stream) != VIRTIO_SND_S_OK)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		uint32_t st;

		while (vhu_vq_get_used(s->vq[q], &used, &tok) == 0)
			if (vhu_vq_wait(s->vq[q], T_MS, 0) != 1)
				return -1;
		if (tok != buf[i] || used != (stream ? PERIOD + 8u : 8u))
			return -1;
		memcpy(&st, buf[i] + PERIOD, 4);
		if (le32toh(st) != VIRTIO_SND_S_OK)
			return -1;
		for (unsigned k = 0; stream && k < PERIOD; k++)
			if (buf[i][k] != 0x80)      /* U8 silence */
				return -1;
	}
	if (pcm(s, VIRTIO_SND_R_PCM_STOP, stream) != VIRTIO_SND_S_OK ||
	    pcm(s, VIRTIO_SND_R_PCM_RELEASE, stream) != VIRTIO_SND_S_OK)
		return -1;
	return 0;
}

int main(void)
{
	struct backend b = { 0 };
	struct fx x;
	struct xen_rig rig = { .x = &x, .nvq = NQ, .pieces = 4 };
	struct vhu_session *s = NULL;
	struct vhu_session_opts o;
	char sock[160], err[512] = "";
	const char *args[] = { "--socket", sock, "--backend", "null", "--xen", "on", NULL };
	const char *wait_for[] = { sock, NULL };
	bool inited = false;
	int r, st, ret = 1;

	signal(SIGPIPE, SIG_IGN);
	if (access("/proc/self/fd", R_OK) < 0) {
		fprintf(stderr, "SKIP: no /proc/self/fd\n");
		return 77;
	}
	r = fx_create(&x);
	EXPECT(r == 0, "fake Xen files: %s", strerror(-r));
	EXPECT(backend_init(&b) == 0, "backend directory");
	inited = true;
	backend_file(&b, "snd.sock", sock, sizeof(sock));
	fx_env_push(&x);
	r = backend_spawn(&b, "vhost-device-sound", args, wait_for);
	fx_env_pop(&x);
	EXPECT(r == 0, "starting vhost-device-sound: %s", strerror(-r));

	vhu_session_defaults(&o, sock);
	o.connect_ms = T_MS;
	o.nqueues = NQ;
	o.vq.num = 64;
	o.vq.max_indirect = 0;
	o.mem_size = 2u << 20;
	o.protocol |= VHD_BIT(VHU_PF_XEN_MMAP);
	o.send_mem = xen_rig_send_mem;
	o.send_mem_opaque = &rig;
	r = vhu_session_open(&o, &s, err, sizeof(err));
	EXPECT(r == 0, "opening a session over grant memory: %s", err);
	EXPECT(xen_rig_wait_live(&x, NRINGS), "after open: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	{
		struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_PCM_INFO) }, 0,
						   htole32(2), htole32(32) };
		uint8_t *resp;
		uint32_t status;

		EXPECT(request(s, 0, &q, sizeof(q), &resp, 4 + 64) == 4 + 64, "PCM_INFO");
		memcpy(&status, resp, 4);
		EXPECT(le32toh(status) == VIRTIO_SND_S_OK && resp[4 + 24] == VIRTIO_SND_D_OUTPUT &&
		       resp[4 + 32 + 24] == VIRTIO_SND_D_INPUT, "PCM_INFO answer");
	}
	EXPECT(stream_io(s, 0, 8) == 0, "8 periods of playback");
	EXPECT(stream_io(s, 1, 4) == 0, "4 periods of capture");
	EXPECT(xen_rig_wait_live(&x, NRINGS), "idle: %llu grant mappings alive, want the %u vrings",
	       (unsigned long long)fx_ld(&x.st->gnt_live), NRINGS);
	EXPECT(xen_rig_check_maps(&x) == 0, "bad grant maps or unmaps");
	printf("sound: %u grant regions, %llu map calls (%llu read-only)\n", rig.n,
	       (unsigned long long)fx_ld(&x.st->gnt_maps),
	       (unsigned long long)fx_ld(&x.st->gnt_ro_maps));
	vhu_session_close(s);
	s = NULL;
	EXPECT(xen_rig_check_closed(&x) == 0, "grant mappings after the guest left");
	EXPECT(backend_alive(&b), "backend died");
	ret = 0;
out:
	vhu_session_close(s);
	if (inited) {
		st = backend_stop(&b);
		if (st != 0 && ret == 0) {
			fprintf(stderr, "FAIL: exit status %d on SIGTERM\n", st);
			ret = 1;
		}
	}
	fx_destroy(&x);
	if (ret == 0)
		printf("sound over Xen grant mappings: all checks passed\n");
	return ret;
}

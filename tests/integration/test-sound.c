/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-sound --backend null (src/devices/sound/),
 * driven as a virtio-snd driver would (virtio 1.2, 5.14): config space,
 * info queries, a playback and a capture stream's life cycle, bad
 * requests, RELEASE completing held messages, a reconnect with messages
 * in flight.  Timing is checked as a property: N periods complete no
 * earlier than N periods of real time after START was sent (the device's
 * clock starts when it handles START, which is later); the only upper
 * limits are failure bounds.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <linux/virtio_snd.h>

#include "backend.h"
#include "it-util.h"

#define Q_CTL 0
#define Q_EVT 1
#define Q_TX 2
#define Q_RX 3
#define WAIT_MS 30000           /* failure bound only */
/* 48000 Hz mono S16: 96000 bytes/s; a period of 4800 bytes = 50 ms. */
#define PERIOD 4800
#define PERIOD_NS 50000000ll

struct fixture {
	struct backend be;
	char sock[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "--backend", "null", "--socket", NULL, NULL };

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = backend_stop(&f->be);

	free(f);
	return st == 0 ? 0 : -1;
}

static struct vhu_session *open_snd(struct fixture *f)
{
	struct vhu_session_opts o;

	it_opts(&o, f->sock);
	o.nqueues = 4;
	o.vq.num = 64;
	o.mem_size = 8u << 20;
	return it_open(&o);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* One control request; returns the used length, response in resp. */
static uint32_t ctl(struct vhu_session *s, const void *req, uint32_t len, void *resp,
		    uint32_t resp_len)
{
	uint8_t *rd = vhu_mem_alloc(s->m, len, 8);
	uint8_t *wr = vhu_mem_alloc(s->m, resp_len, 8);
	struct vhu_sg out = { vhu_mem_gpa(s->m, rd), len };
	struct vhu_sg in = { vhu_mem_gpa(s->m, wr), resp_len };
	uint32_t used = 0;
	void *tok = NULL;

	assert_non_null(rd);
	assert_non_null(wr);
	memcpy(rd, req, len);
	memset(wr, 0xee, resp_len);
	assert_true(vhu_vq_add(s->vq[Q_CTL], &out, 1, &in, 1, wr, false) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[Q_CTL], false) >= 0);
	assert_int_equal(vhu_vq_wait(s->vq[Q_CTL], WAIT_MS, 0), 1);
	assert_int_equal(vhu_vq_get_used(s->vq[Q_CTL], &used, &tok), 1);
	assert_ptr_equal(tok, wr);
	memcpy(resp, wr, resp_len);
	return used;
}

static uint32_t ctl_status(struct vhu_session *s, const void *req, uint32_t len)
{
	uint32_t st;

	assert_int_equal(ctl(s, req, len, &st, sizeof(st)), sizeof(st));
	return le32toh(st);
}

static uint32_t pcm(struct vhu_session *s, uint32_t code, uint32_t stream)
{
	struct virtio_snd_pcm_hdr h = { { htole32(code) }, htole32(stream) };

	return ctl_status(s, &h, sizeof(h));
}

static uint32_t set_params_f(struct vhu_session *s, uint32_t stream, uint8_t rate,
			     uint32_t features)
{
	struct virtio_snd_pcm_set_params p;

	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.hdr.stream_id = htole32(stream);
	p.buffer_bytes = htole32(4 * PERIOD);
	p.period_bytes = htole32(PERIOD);
	p.channels = 1;
	p.format = VIRTIO_SND_PCM_FMT_S16;
	p.rate = rate;
	p.features = htole32(features);
	return ctl_status(s, &p, sizeof(p));
}

static uint32_t set_params(struct vhu_session *s, uint32_t stream, uint8_t rate)
{
	return set_params_f(s, stream, rate, 0);
}

/* The PCM_INFO features of a stream. */
static uint32_t pcm_features(struct vhu_session *s, uint32_t stream)
{
	struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_PCM_INFO) }, htole32(stream),
					   htole32(1), htole32(sizeof(struct virtio_snd_pcm_info)) };
	uint8_t resp[4 + sizeof(struct virtio_snd_pcm_info)];
	struct virtio_snd_pcm_info pi;

	assert_int_equal(ctl(s, &q, sizeof(q), resp, sizeof(resp)), sizeof(resp));
	assert_int_equal(le32toh(*(uint32_t *)resp), VIRTIO_SND_S_OK);
	memcpy(&pi, resp + 4, sizeof(pi));
	return le32toh(pi.features);
}

/* An I/O message as Linux's virtio-snd lays it out: xfer header, payload
 * (tx: readable; rx: writable), status. */
struct io {
	uint8_t *hdr;
	uint8_t *data;
	struct virtio_snd_pcm_status *st;
	uint32_t len;
};

static void post_io(struct vhu_session *s, unsigned q, uint32_t stream, uint32_t len, struct io *io)
{
	struct vhu_sg sg[3];
	uint32_t le = htole32(stream);

	io->hdr = vhu_mem_alloc(s->m, 4, 8);
	io->data = vhu_mem_alloc(s->m, len ? len : 1, 8);
	io->st = vhu_mem_alloc(s->m, sizeof(*io->st), 8);
	io->len = len;
	assert_non_null(io->hdr);
	assert_non_null(io->data);
	assert_non_null(io->st);
	memcpy(io->hdr, &le, 4);
	memset(io->data, 0x5a, len);
	memset(io->st, 0xee, sizeof(*io->st));
	sg[0] = (struct vhu_sg){ vhu_mem_gpa(s->m, io->hdr), 4 };
	sg[1] = (struct vhu_sg){ vhu_mem_gpa(s->m, io->data), len };
	sg[2] = (struct vhu_sg){ vhu_mem_gpa(s->m, io->st), sizeof(*io->st) };
	if (q == Q_TX)
		assert_true(vhu_vq_add(s->vq[q], sg, 2, &sg[2], 1, io, false) >= 0);
	else
		assert_true(vhu_vq_add(s->vq[q], sg, 1, &sg[1], 2, io, false) >= 0);
}

/* Wait for the next used entry of q: the io and its used length. */
static struct io *next_used(struct vhu_session *s, unsigned q, uint32_t *used)
{
	void *tok = NULL;
	int r;

	while ((r = vhu_vq_get_used(s->vq[q], used, &tok)) == 0)
		assert_int_equal(vhu_vq_wait(s->vq[q], WAIT_MS, 0), 1);
	assert_int_equal(r, 1);
	return tok;
}

static void test_info(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	uint32_t cfg[4];
	uint8_t resp[4 + 2 * sizeof(struct virtio_snd_pcm_info)];
	struct virtio_snd_pcm_info pi;
	struct virtio_snd_chmap_info ci;
	struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_PCM_INFO) }, 0, htole32(2),
					   htole32(sizeof(pi)) };

	assert_int_equal(vhu_get_config(s->c, 0, sizeof(cfg), cfg), 0);
	assert_int_equal(le32toh(cfg[0]), 0);       /* jacks */
	assert_int_equal(le32toh(cfg[1]), 2);       /* streams */
	assert_int_equal(le32toh(cfg[2]), 2);       /* chmaps */

	assert_int_equal(ctl(s, &q, sizeof(q), resp, sizeof(resp)), sizeof(resp));
	assert_int_equal(le32toh(*(uint32_t *)resp), VIRTIO_SND_S_OK);
	memcpy(&pi, resp + 4, sizeof(pi));
	assert_int_equal(pi.direction, VIRTIO_SND_D_OUTPUT);
	assert_int_equal(le64toh(pi.formats) & (1ull << VIRTIO_SND_PCM_FMT_S16),
			 1ull << VIRTIO_SND_PCM_FMT_S16);
	assert_int_equal(le64toh(pi.rates) & (1ull << VIRTIO_SND_PCM_RATE_48000),
			 1ull << VIRTIO_SND_PCM_RATE_48000);
	memcpy(&pi, resp + 4 + sizeof(pi), sizeof(pi));
	assert_int_equal(pi.direction, VIRTIO_SND_D_INPUT);

	q.hdr.code = htole32(VIRTIO_SND_R_CHMAP_INFO);
	q.count = htole32(1);
	q.size = htole32(sizeof(ci));
	assert_int_equal(ctl(s, &q, sizeof(q), resp, 4 + sizeof(ci)), 4 + sizeof(ci));
	memcpy(&ci, resp + 4, sizeof(ci));
	assert_int_equal(ci.channels, 2);
	assert_int_equal(ci.positions[0], VIRTIO_SND_CHMAP_FL);

	/* Bad requests: no jacks, out of range, response too small, short,
	 * unknown. */
	q.hdr.code = htole32(VIRTIO_SND_R_JACK_INFO);
	q.size = htole32(sizeof(struct virtio_snd_jack_info));
	assert_int_equal(ctl_status(s, &q, sizeof(q)), VIRTIO_SND_S_BAD_MSG);
	q.hdr.code = htole32(VIRTIO_SND_R_PCM_INFO);
	q.start_id = htole32(1);
	q.count = htole32(2);
	q.size = htole32(sizeof(pi));
	assert_int_equal(ctl_status(s, &q, sizeof(q)), VIRTIO_SND_S_BAD_MSG);
	q.start_id = 0;
	assert_int_equal(ctl_status(s, &q, sizeof(q)), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(ctl_status(s, &q, 8), VIRTIO_SND_S_BAD_MSG);
	q.hdr.code = htole32(0x7777);
	assert_int_equal(ctl_status(s, &q, sizeof(q)), VIRTIO_SND_S_NOT_SUPP);
	/* The null backend has no xruns: EVT_XRUNS is neither offered nor
	 * selectable. */
	assert_int_equal(pcm_features(s, 0), 0);
	assert_int_equal(set_params_f(s, 0, VIRTIO_SND_PCM_RATE_48000,
				      1u << VIRTIO_SND_PCM_F_EVT_XRUNS), VIRTIO_SND_S_NOT_SUPP);
	vhu_session_close(s);
}

/* Playback of N periods: completes in order, each no earlier than its
 * periods of real time after START, with status OK and the latency of
 * what is still queued. */
static void test_playback(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	enum { N = 6 };
	struct io io[N];
	int64_t t_start;

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	/* Prefilled before START, as Linux does. */
	for (int i = 0; i < N; i++)
		post_io(s, Q_TX, 0, PERIOD, &io[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < N; i++) {
		uint32_t used = 0;
		struct io *d = next_used(s, Q_TX, &used);
		int64_t elapsed = now_ns() - t_start;

		assert_ptr_equal(d, &io[i]);
		assert_int_equal(used, sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(d->st->status), VIRTIO_SND_S_OK);
		assert_int_equal(le32toh(d->st->latency_bytes), (uint32_t)(N - 1 - i) * PERIOD);
		if (elapsed < (i + 1) * PERIOD_NS)
			fail_msg("period %d completed after %lld ns, before its %lld ns of audio",
				 i, (long long)elapsed, (long long)((i + 1) * PERIOD_NS));
	}
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	/* And again after RELEASE: PREPARE, START. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	t_start = now_ns();
	post_io(s, Q_TX, 0, 2 * PERIOD, &io[0]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	{
		uint32_t used;
		assert_ptr_equal(next_used(s, Q_TX, &used), &io[0]);
		assert_true(now_ns() - t_start >= 2 * PERIOD_NS);
	}
	vhu_session_close(s);
}

/* Capture: silence at the real rate, payload and status in the used
 * length. */
static void test_capture(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	enum { N = 3 };
	struct io io[N];
	int64_t t_start;

	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < N; i++)
		post_io(s, Q_RX, 1, PERIOD, &io[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < N; i++) {
		uint32_t used = 0;
		struct io *d = next_used(s, Q_RX, &used);

		assert_ptr_equal(d, &io[i]);
		assert_true(now_ns() - t_start >= (i + 1) * PERIOD_NS);
		assert_int_equal(used, PERIOD + sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(d->st->status), VIRTIO_SND_S_OK);
		for (uint32_t k = 0; k < PERIOD; k++)
			if (d->data[k] != 0)
				fail_msg("capture byte %u: 0x%02x, not silence", k, d->data[k]);
	}
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	vhu_session_close(s);
}

/* Commands out of order and I/O the stream cannot take: BAD_MSG. */
static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	struct io io;
	uint32_t used;

	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 2), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_96000), VIRTIO_SND_S_NOT_SUPP);
	/* I/O before parameters: answered at once. */
	post_io(s, Q_TX, 0, PERIOD, &io);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_ptr_equal(next_used(s, Q_TX, &used), &io);
	assert_int_equal(used, 8);
	assert_int_equal(le32toh(io.st->status), VIRTIO_SND_S_BAD_MSG);
	/* Playback on the capture stream, capture on the playback stream. */
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	post_io(s, Q_TX, 1, PERIOD, &io);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_ptr_equal(next_used(s, Q_TX, &used), &io);
	assert_int_equal(le32toh(io.st->status), VIRTIO_SND_S_BAD_MSG);
	post_io(s, Q_RX, 0, PERIOD, &io);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	assert_ptr_equal(next_used(s, Q_RX, &used), &io);
	assert_int_equal(le32toh(io.st->status), VIRTIO_SND_S_BAD_MSG);
	/* STOP while prepared, START twice. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_true(backend_alive(&f->be));
	vhu_session_close(s);
}

/* RELEASE completes the held messages before answering (5.14.6.6.5.1). */
static void test_release_completes(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	struct io io[3];
	uint32_t used;

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_8000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 3; i++)
		post_io(s, Q_TX, 0, PERIOD, &io[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	/* The first completion proves the device holds them all (it pops
	 * every available message on a kick); the others are still playing
	 * (300 ms each) when STOP and RELEASE arrive, or completed by then. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	assert_ptr_equal(next_used(s, Q_TX, &used), &io[0]);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	for (int i = 1; i < 3; i++) {
		assert_true(vhu_vq_has_used(s->vq[Q_TX]));
		assert_ptr_equal(next_used(s, Q_TX, &used), &io[i]);
		assert_int_equal(le32toh(io[i].st->status), VIRTIO_SND_S_OK);
	}
	vhu_session_close(s);
}

/* A disconnect with messages held and the event queue full of buffers;
 * the next connection starts from fresh streams. */
static void test_reconnect(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	struct io io[4];
	uint8_t *ev;

	ev = vhu_mem_alloc(s->m, 8, 8);
	assert_non_null(ev);
	struct vhu_sg esg = { vhu_mem_gpa(s->m, ev), 8 };
	assert_true(vhu_vq_add(s->vq[Q_EVT], NULL, 0, &esg, 1, ev, false) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[Q_EVT], false) >= 0);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_8000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		post_io(s, Q_TX, 0, PERIOD, &io[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	vhu_session_close(s);

	s = open_snd(f);
	/* Fresh streams: no parameters. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	post_io(s, Q_TX, 0, PERIOD, &io[0]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	{
		uint32_t used;
		assert_ptr_equal(next_used(s, Q_TX, &used), &io[0]);
		assert_int_equal(le32toh(io[0].st->status), VIRTIO_SND_S_OK);
	}
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}

/* Stopping the tx ring with messages held (GET_VRING_BASE): none is lost;
 * those never completed are given back (the index rewinds over them). */
static void test_queue_stop(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	struct io io[3];
	uint16_t base = 0xffff;

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_8000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 3; i++)
		post_io(s, Q_TX, 0, PERIOD, &io[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vhu_vq_stop(s->vq[Q_TX], &base), 0);
	/* 4800 bytes at 8000 Hz S16 mono last 300 ms: none played yet, all
	 * given back -- unless the machine is so slow that one was played
	 * meanwhile, then it completed first. */
	{
		uint32_t used;
		void *tok;
		unsigned done = 0;

		while (vhu_vq_get_used(s->vq[Q_TX], &used, &tok) == 1) {
			assert_ptr_equal(tok, &io[done]);
			assert_int_equal(le32toh(io[done].st->status), VIRTIO_SND_S_OK);
			done++;
		}
		assert_int_equal(base, done);
	}
	/* The control queue still answers. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	vhu_session_close(s);
}

#ifdef VHD_SOUND_ALSA
/*
 * --backend alsa against ALSA's null PCM (an ALSA_CONFIG_PATH of our own
 * where "default" is a null PCM and "broken" a hw PCM of a card that does
 * not exist).  The null PCM takes and gives frames at once, so this checks
 * the data path and the statuses, not the timing.
 */
static int setup_alsa_args(void **state, const char *device)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[200];
	FILE *cf;
	const char *args[] = { "--backend", "alsa", "--socket", NULL, "--alsa-device", device,
			       NULL };

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	backend_file(&f->be, "alsa.conf", conf, sizeof(conf));
	cf = fopen(conf, "w");
	if (!cf)
		return -1;
	fprintf(cf, "pcm.default { type null }\n"
		    "pcm.broken { type hw card 31 device 0 }\n");
	fclose(cf);
	setenv("ALSA_CONFIG_PATH", conf, 1);
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int setup_alsa(void **state) { return setup_alsa_args(state, "default"); }

/* VHD_SOUND_ALSA_REAL=PCM (tests/vm/sound-alsa-loop.test, inside a guest
 * with snd-aloop): a PCM that runs at its rate; ALSA_CONFIG_PATH is the
 * caller's. */
static int setup_alsa_real(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "--backend", "alsa", "--socket", NULL, "--alsa-device",
			       getenv("VHD_SOUND_ALSA_REAL"), "-v", NULL };

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/*
 * At the PCM's rate: 20 periods of playback (1 s) cannot all be taken
 * before ALSA's buffer (about 4 periods) has room for the last, so the
 * last completes no earlier than 20 - 8 periods after START (8: room for
 * a buffer rounded up by the PCM); 10 periods of capture cannot be filled
 * before they have been captured (10 periods).  Each direction's poll
 * descriptors must wake the backend for this to finish at all; an
 * underrun is recovered; and each
 * completion must be notified: a run lasting 20 s (the frontend's wait
 * gives up on the call eventfd at 30 s and finds the entries anyway) is a
 * failure.
 */
#define REAL_BOUND_NS 20000000000ll
static void test_alsa_real_rate(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	enum { NOUT = 20, NIN = 10 };
	struct io out[NOUT], in[NIN];
	uint32_t used;
	int64_t t_start, el;
	const uint32_t xruns = 1u << VIRTIO_SND_PCM_F_EVT_XRUNS;
	struct virtio_snd_event *ev;

	/* The ALSA backend offers xrun events; this driver selects them and
	 * posts an event buffer. */
	assert_int_equal(pcm_features(s, 0), xruns);
	ev = vhu_mem_alloc(s->m, sizeof(*ev), 8);
	assert_non_null(ev);
	memset(ev, 0xee, sizeof(*ev));
	struct vhu_sg esg = { vhu_mem_gpa(s->m, ev), sizeof(*ev) };
	assert_true(vhu_vq_add(s->vq[Q_EVT], NULL, 0, &esg, 1, ev, false) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[Q_EVT], false) >= 0);
	assert_int_equal(set_params_f(s, 0, VIRTIO_SND_PCM_RATE_48000, xruns), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < NOUT; i++)
		post_io(s, Q_TX, 0, PERIOD, &out[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < NOUT; i++) {
		assert_ptr_equal(next_used(s, Q_TX, &used), &out[i]);
		assert_int_equal(le32toh(out[i].st->status), VIRTIO_SND_S_OK);
	}
	el = now_ns() - t_start;
	print_message("playback of %d periods of 50 ms: last taken after %lld ms\n", NOUT,
		      (long long)(el / 1000000));
	if (el < (NOUT - 8) * PERIOD_NS)
		fail_msg("%d periods taken in %lld ns: not at the PCM's rate", NOUT, (long long)el);
	if (el > REAL_BOUND_NS)
		fail_msg("%d periods took %lld ns: completions not notified", NOUT, (long long)el);
	/* An underrun: the PCM plays its last ~4 buffered periods (200 ms)
	 * and runs dry while the driver sends nothing for 600 ms (the sleep
	 * makes the underrun happen; it is not what the test waits for).
	 * The next message meets -EPIPE, the backend recovers (its log says
	 * so) and the stream goes on. */
	it_sleep_ms(600);
	post_io(s, Q_TX, 0, PERIOD, &out[0]);
	post_io(s, Q_TX, 0, PERIOD, &out[1]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	for (int i = 0; i < 2; i++) {
		assert_ptr_equal(next_used(s, Q_TX, &used), &out[i]);
		assert_int_equal(le32toh(out[i].st->status), VIRTIO_SND_S_OK);
	}
	assert_int_equal(backend_wait_log(&f->be, "recovering", 30000), 0);
	/* ... and the driver is told (5.14.6.2): PCM_XRUN for stream 0. */
	assert_ptr_equal(next_used(s, Q_EVT, &used), ev);
	assert_int_equal(used, sizeof(*ev));
	assert_int_equal(le32toh(ev->hdr.code), VIRTIO_SND_EVT_PCM_XRUN);
	assert_int_equal(le32toh(ev->data), 0);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);

	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < NIN; i++)
		post_io(s, Q_RX, 1, PERIOD, &in[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < NIN; i++) {
		assert_ptr_equal(next_used(s, Q_RX, &used), &in[i]);
		assert_int_equal(used, PERIOD + 8);
		assert_int_equal(le32toh(in[i].st->status), VIRTIO_SND_S_OK);
	}
	el = now_ns() - t_start;
	print_message("capture of %d periods of 50 ms: %lld ms\n", NIN, (long long)(el / 1000000));
	if (el < NIN * PERIOD_NS)
		fail_msg("%d periods captured in %lld ns: faster than the PCM's rate", NIN,
			 (long long)el);
	if (el > REAL_BOUND_NS)
		fail_msg("%d periods took %lld ns: completions not notified", NIN, (long long)el);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}
static int setup_alsa_broken(void **state) { return setup_alsa_args(state, "broken"); }

/*
 * Every byte, both ways: --alsa-device names an asym PCM whose playback
 * half is ALSA's file plugin writing the raw frames to out.raw and whose
 * capture half is the file plugin reading in.raw (its `infile`), each over
 * a slave PCM: ALSA's null PCM on the host (it has no clock: the backend
 * finds that and paces the stream by the host clock, docs/sound.md
 * "Pacing"), the PCM named by VHD_SOUND_ALSA_REAL inside the snd-aloop
 * guest (tests/vm/sound-alsa-loop.test), which runs at its own rate.  The
 * completion rate is checked on both.
 */
struct alsa_file {
	char conf[200], out[200], in[200], capcopy[200];
	bool real;
};

static struct alsa_file g_af;

/* A pattern that shows a lost, doubled or shifted byte anywhere. */
static uint8_t pattern(uint32_t i, uint32_t seed)
{
	uint32_t x = (i + 1) * 2654435761u ^ seed;

	x ^= x >> 15;
	return (uint8_t)(x ^ (x >> 8));
}

static int setup_alsa_file(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *real = getenv("VHD_SOUND_ALSA_REAL");
	const char *caller_conf = getenv("ALSA_CONFIG_PATH");
	char slave[160];
	FILE *cf;
	const char *args[] = { "--backend", "alsa", "--socket", NULL, "--alsa-device", "vhdfile",
			       NULL };

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	backend_file(&f->be, "alsa-file.conf", g_af.conf, sizeof(g_af.conf));
	backend_file(&f->be, "out.raw", g_af.out, sizeof(g_af.out));
	backend_file(&f->be, "in.raw", g_af.in, sizeof(g_af.in));
	backend_file(&f->be, "capture-copy.raw", g_af.capcopy, sizeof(g_af.capcopy));
	g_af.real = real != NULL;
	if (real)
		snprintf(slave, sizeof(slave), "\"%s\"", real);
	else
		snprintf(slave, sizeof(slave), "{ type null }");
	/* The capture source: 2 s of the pattern (more than the test reads). */
	cf = fopen(g_af.in, "w");
	if (!cf)
		return -1;
	for (uint32_t i = 0; i < 2 * 96000; i++)
		fputc(pattern(i, 0xc0ffee), cf);
	fclose(cf);
	cf = fopen(g_af.conf, "w");
	if (!cf)
		return -1;
	/* Inside the guest the caller's configuration defines the slave. */
	if (real && caller_conf)
		fprintf(cf, "<%s>\n", caller_conf);
	fprintf(cf,
		"pcm.vhdfile {\n"
		"  type asym\n"
		"  playback.pcm { type file slave.pcm %s file \"%s\" format \"raw\" }\n"
		"  capture.pcm { type file slave.pcm %s file \"%s\" infile \"%s\" format \"raw\" }\n"
		"}\n",
		slave, g_af.out, slave, g_af.capcopy, g_af.in);
	fclose(cf);
	setenv("ALSA_CONFIG_PATH", g_af.conf, 1);
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	if (real && caller_conf)
		setenv("ALSA_CONFIG_PATH", caller_conf, 1);
	*state = f;
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "r");
	uint8_t *b;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return b;
}

#define FILE_BOUND_NS 20000000000ll
static void test_alsa_file_bytes(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	enum { NOUT = 20, NIN = 10 };
	struct io out[NOUT], in[NIN];
	uint32_t used;
	int64_t t_start, el, t_first = 0;
	uint8_t *got;
	size_t len;

	/* Playback: 20 periods of the pattern (1 s at 48 kHz mono S16). */
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < NOUT; i++) {
		post_io(s, Q_TX, 0, PERIOD, &out[i]);
		for (uint32_t k = 0; k < PERIOD; k++)
			out[i].data[k] = pattern((uint32_t)i * PERIOD + k, 0x5eed);
	}
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < NOUT; i++) {
		assert_ptr_equal(next_used(s, Q_TX, &used), &out[i]);
		assert_int_equal(used, sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(out[i].st->status), VIRTIO_SND_S_OK);
		if (i == 0)
			t_first = now_ns();
	}
	el = now_ns() - t_start;
	print_message("file playback: %d periods of 50 ms taken in %lld ms (first after %lld ms)%s\n",
		      NOUT, (long long)(el / 1000000), (long long)((t_first - t_start) / 1000000),
		      g_af.real ? "" : " (null slave: the host clock)");
	/* snd-aloop takes a buffer (4 periods, rounded up) ahead of its
	 * rate; the host clock's pacing of the null PCM takes nothing ahead:
	 * the last period is taken when it has been played. */
	if (el < (g_af.real ? NOUT - 8 : NOUT) * PERIOD_NS)
		fail_msg("%d periods taken in %lld ns: faster than the PCM's rate", NOUT,
			 (long long)el);
	if (el > FILE_BOUND_NS)
		fail_msg("%d periods took %lld ns", NOUT, (long long)el);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	/* RELEASE closes the PCM: the file plugin has written everything. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	got = read_file(g_af.out, &len);
	if (len != (size_t)NOUT * PERIOD)
		fail_msg("the PCM's file has %zu bytes, %d were played", len, NOUT * PERIOD);
	for (size_t k = 0; k < len; k++)
		if (got[k] != pattern((uint32_t)k, 0x5eed))
			fail_msg("played byte %zu: 0x%02x, sent 0x%02x", k, got[k],
				 pattern((uint32_t)k, 0x5eed));
	free(got);

	/* Capture: 10 periods read from in.raw, byte for byte. */
	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < NIN; i++)
		post_io(s, Q_RX, 1, PERIOD, &in[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < NIN; i++) {
		assert_ptr_equal(next_used(s, Q_RX, &used), &in[i]);
		assert_int_equal(used, PERIOD + sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(in[i].st->status), VIRTIO_SND_S_OK);
	}
	el = now_ns() - t_start;
	print_message("file capture: %d periods of 50 ms in %lld ms%s\n", NIN,
		      (long long)(el / 1000000), g_af.real ? "" : " (null slave: the host clock)");
	if (el < NIN * PERIOD_NS)
		fail_msg("%d periods captured in %lld ns: faster than the PCM's rate", NIN,
			 (long long)el);
	if (el > FILE_BOUND_NS)
		fail_msg("%d periods took %lld ns", NIN, (long long)el);
	for (int i = 0; i < NIN; i++)
		for (uint32_t k = 0; k < PERIOD; k++) {
			uint32_t at = (uint32_t)i * PERIOD + k;

			if (in[i].data[k] != pattern(at, 0xc0ffee))
				fail_msg("captured byte %u: 0x%02x, the file has 0x%02x", at,
					 in[i].data[k], pattern(at, 0xc0ffee));
		}
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}

static void test_alsa_playback_capture(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	struct io out[4], in[2];
	uint32_t used;

	/* ALSA offers xrun events on both streams (the null backend does not:
	 * test_info). */
	assert_int_equal(pcm_features(s, 0), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
	assert_int_equal(pcm_features(s, 1), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		post_io(s, Q_TX, 0, PERIOD, &out[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	for (int i = 0; i < 2; i++)
		post_io(s, Q_RX, 1, PERIOD, &in[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++) {
		assert_ptr_equal(next_used(s, Q_TX, &used), &out[i]);
		assert_int_equal(used, 8);
		assert_int_equal(le32toh(out[i].st->status), VIRTIO_SND_S_OK);
	}
	for (int i = 0; i < 2; i++) {
		assert_ptr_equal(next_used(s, Q_RX, &used), &in[i]);
		assert_int_equal(used, PERIOD + 8);
		assert_int_equal(le32toh(in[i].st->status), VIRTIO_SND_S_OK);
		for (uint32_t k = 0; k < PERIOD; k++)
			if (in[i].data[k] != 0)
				fail_msg("capture byte %u: 0x%02x, not silence", k, in[i].data[k]);
	}
	/* STOP, START again, RELEASE; then the stream can be prepared anew. */
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	post_io(s, Q_TX, 0, PERIOD, &out[0]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_ptr_equal(next_used(s, Q_TX, &used), &out[0]);
	assert_int_equal(le32toh(out[0].st->status), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	/* A reconnect closes the PCMs and starts afresh. */
	s = open_snd(f);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_BAD_MSG);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}

/* A PCM that cannot be opened: PREPARE answers IO_ERR, the stream stays
 * where it was. */
static void test_alsa_broken(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_IO_ERR);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_44100), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}
#endif

#ifdef VHD_SOUND_PIPEWIRE
/*
 * --backend pipewire against a PipeWire daemon of the test's own: Debian's
 * `pipewire` started with a minimal configuration in the backend's private
 * directory (its XDG_RUNTIME_DIR, so no other daemon is reached): the
 * native protocol, the adapter, a timer driver ("Dummy-Driver", what
 * paces the graph when no sound card does) and a null sink.  No session
 * manager (WirePlumber wants a D-Bus session): the test does its two jobs
 * with Debian's pw-cli and pw-link -- it configures the ports of the sink
 * and of each of our streams (PortConfig, "dsp" mode, which an adapter
 * node needs before it has ports) and links them.
 */
static pid_t g_pw_pid = -1;

/* tests/integration/sound-pw-link.sh with args; 0 if it exited 0. */
static int pw_link_sh(const char *args)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "sh '%s/tests/integration/sound-pw-link.sh' %s", VHD_SRCDIR,
		 args);
	return system(cmd) == 0 ? 0 : -1;
}

/* Configure node `name`'s ports and link it to the null sink.  The node
 * appears once the backend handled PREPARE: retried until then, 10 s at
 * most (a failure bound). */
static void pw_link_stream(const char *name, bool output)
{
	int64_t t0 = now_ns();
	char args[128];

	snprintf(args, sizeof(args), "%s %s", name, output ? "output" : "input");
	while (pw_link_sh(args) < 0) {
		if (now_ns() - t0 > 10000000000ll)
			fail_msg("cannot configure and link the PipeWire node %s", name);
		it_sleep_ms(20);
	}
}

static int setup_pw(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char conf[200], log[200], sockp[200];
	FILE *cf;
	const char *args[] = { "--backend", "pipewire", "--socket", NULL, NULL };
	int64_t t0;

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	backend_file(&f->be, "pipewire.conf", conf, sizeof(conf));
	backend_file(&f->be, "pipewire.log", log, sizeof(log));
	backend_file(&f->be, "pipewire-0", sockp, sizeof(sockp));
	cf = fopen(conf, "w");
	if (!cf)
		return -1;
	fprintf(cf,
		"context.properties = { core.daemon = true core.name = pipewire-0\n"
		"  default.clock.rate = 48000 support.dbus = false mem.allow-mlock = false }\n"
		"context.spa-libs = { audio.convert.* = audioconvert/libspa-audioconvert\n"
		"  support.* = support/libspa-support }\n"
		"context.modules = [ { name = libpipewire-module-protocol-native }\n"
		"  { name = libpipewire-module-access } { name = libpipewire-module-metadata }\n"
		"  { name = libpipewire-module-client-node } { name = libpipewire-module-adapter }\n"
		"  { name = libpipewire-module-link-factory } { name = libpipewire-module-spa-node-factory } ]\n"
		"context.objects = [\n"
		"  { factory = spa-node-factory args = { factory.name = support.node.driver\n"
		"      node.name = Dummy-Driver node.group = pipewire.dummy priority.driver = 20000 } }\n"
		"  { factory = adapter args = { factory.name = support.null-audio-sink\n"
		"      node.name = vhd-null-sink media.class = Audio/Sink audio.position = [ FL FR ] } } ]\n");
	fclose(cf);
	setenv("XDG_RUNTIME_DIR", f->be.dir, 1);
	setenv("PIPEWIRE_RUNTIME_DIR", f->be.dir, 1);
	unsetenv("PIPEWIRE_REMOTE");
	g_pw_pid = fork();
	if (g_pw_pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execlp("pipewire", "pipewire", "-c", conf, (char *)NULL);
		_exit(127);
	}
	/* Failure bound: the daemon makes its socket at once. */
	t0 = now_ns();
	while (access(sockp, F_OK) < 0) {
		if (waitpid(g_pw_pid, NULL, WNOHANG) == g_pw_pid ||
		    now_ns() - t0 > 10000000000ll) {
			fprintf(stderr, "test-sound: the PipeWire daemon did not start (see below)\n");
			char cmd[260];

			snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
			if (system(cmd)) {
			}
			kill(g_pw_pid, SIGKILL);
			waitpid(g_pw_pid, NULL, 0);
			g_pw_pid = -1;
			backend_stop(&f->be);
			free(f);
			return -1;
		}
		it_sleep_ms(10);
	}
	/* The sink's ports, with monitor ports for capture. */
	t0 = now_ns();
	while (pw_link_sh("sink") < 0) {
		if (now_ns() - t0 > 10000000000ll) {
			fprintf(stderr, "test-sound: cannot configure the null sink's ports\n");
			break;
		}
		it_sleep_ms(20);
	}
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_pw(void **state)
{
	/* The daemon first: its runtime directory is the backend's. */
	if (g_pw_pid > 0) {
		kill(g_pw_pid, SIGTERM);
		waitpid(g_pw_pid, NULL, 0);
		g_pw_pid = -1;
	}
	return teardown(state);
}

/*
 * Playback: 20 periods of 50 ms (1 s) with a 4-period ring: the last
 * message cannot complete before the graph has taken 16 periods (one
 * quantum of 1024 frames, 21 ms, of slack: PipeWire takes a quantum per
 * cycle); capture: 10 periods cannot be filled before the graph has
 * produced them.  Byte counts: every capture message comes back full.
 * Upper limits are failure bounds.
 */
#define PW_BOUND_NS 20000000000ll
#define PW_QUANTUM_NS 21333333ll
static void test_pw_playback_capture(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);
	enum { NOUT = 20, NIN = 10 };
	struct io out[NOUT], in[NIN];
	uint32_t used;
	int64_t t_start, el;

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	pw_link_stream("vhost-device-sound.0", true);
	for (int i = 0; i < NOUT; i++)
		post_io(s, Q_TX, 0, PERIOD, &out[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < NOUT; i++) {
		assert_ptr_equal(next_used(s, Q_TX, &used), &out[i]);
		assert_int_equal(used, sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(out[i].st->status), VIRTIO_SND_S_OK);
		/* The ring never holds more than the driver's buffer. */
		assert_true(le32toh(out[i].st->latency_bytes) <= 4 * PERIOD);
	}
	el = now_ns() - t_start;
	print_message("pipewire playback: %d periods of 50 ms taken in %lld ms\n", NOUT,
		      (long long)(el / 1000000));
	if (el < (NOUT - 4) * PERIOD_NS - PW_QUANTUM_NS)
		fail_msg("%d periods taken in %lld ns: faster than the graph", NOUT, (long long)el);
	if (el > PW_BOUND_NS)
		fail_msg("%d periods took %lld ns", NOUT, (long long)el);
	/* STOP with a message held, START: it plays again; RELEASE. */
	post_io(s, Q_TX, 0, PERIOD, &out[0]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_TX], false) >= 0);
	assert_ptr_equal(next_used(s, Q_TX, &used), &out[0]);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);

	assert_int_equal(set_params(s, 1, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	pw_link_stream("vhost-device-sound.1", false);
	for (int i = 0; i < NIN; i++)
		post_io(s, Q_RX, 1, PERIOD, &in[i]);
	assert_true(vhu_vq_publish_kick(s->vq[Q_RX], false) >= 0);
	t_start = now_ns();
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 1), VIRTIO_SND_S_OK);
	for (int i = 0; i < NIN; i++) {
		assert_ptr_equal(next_used(s, Q_RX, &used), &in[i]);
		assert_int_equal(used, PERIOD + sizeof(struct virtio_snd_pcm_status));
		assert_int_equal(le32toh(in[i].st->status), VIRTIO_SND_S_OK);
	}
	el = now_ns() - t_start;
	print_message("pipewire capture: %d periods of 50 ms in %lld ms\n", NIN,
		      (long long)(el / 1000000));
	/* The stream runs from PREPARE, so up to a quantum of captured frames
	 * may already wait when START comes, and the clocks of the two
	 * processes are read at different moments: a period of slack. */
	if (el < (NIN - 1) * PERIOD_NS - PW_QUANTUM_NS)
		fail_msg("%d periods captured in %lld ns: faster than the graph", NIN, (long long)el);
	if (el > PW_BOUND_NS)
		fail_msg("%d periods took %lld ns", NIN, (long long)el);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_STOP, 1), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_RELEASE, 1), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	/* A reconnect: the streams start afresh (their PipeWire objects are
	 * gone with the connection). */
	s = open_snd(f);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_44100), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}

/* No daemon: PREPARE answers IO_ERR, the backend goes on. */
static int setup_pw_none(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "--backend", "pipewire", "--socket", NULL, NULL };

	if (!f || backend_init(&f->be) < 0) {
		free(f);
		return -1;
	}
	setenv("XDG_RUNTIME_DIR", f->be.dir, 1);
	setenv("PIPEWIRE_RUNTIME_DIR", f->be.dir, 1);
	unsetenv("PIPEWIRE_REMOTE");
	backend_file(&f->be, "snd.sock", f->sock, sizeof(f->sock));
	args[3] = f->sock;
	const char *wait_for[] = { f->sock, NULL };
	if (backend_spawn(&f->be, "vhost-device-sound", args, wait_for) < 0) {
		backend_stop(&f->be);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static void test_pw_no_daemon(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_snd(f);

	assert_int_equal(set_params(s, 0, VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_IO_ERR);
	assert_int_equal(pcm(s, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_BAD_MSG);
	vhu_session_close(s);
	assert_true(backend_alive(&f->be));
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_playback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_stop, setup, teardown),
#ifdef VHD_SOUND_ALSA
		cmocka_unit_test_setup_teardown(test_alsa_playback_capture, setup_alsa, teardown),
		cmocka_unit_test_setup_teardown(test_alsa_broken, setup_alsa_broken, teardown),
		cmocka_unit_test_setup_teardown(test_alsa_file_bytes, setup_alsa_file, teardown),
#endif
#ifdef VHD_SOUND_PIPEWIRE
		cmocka_unit_test_setup_teardown(test_pw_no_daemon, setup_pw_none, teardown),
		cmocka_unit_test_setup_teardown(test_pw_playback_capture, setup_pw, teardown_pw),
#endif
	};

#ifdef VHD_SOUND_ALSA
	if (getenv("VHD_SOUND_ALSA_REAL")) {
		const struct CMUnitTest real[] = {
			cmocka_unit_test_setup_teardown(test_alsa_real_rate, setup_alsa_real,
							teardown),
			cmocka_unit_test_setup_teardown(test_alsa_file_bytes, setup_alsa_file,
							teardown),
		};
		return cmocka_run_group_tests(real, NULL, NULL);
	}
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-sound's device model (sound-pcm.c): the
 * command-line lists, info queries with every bad field, the PCM state
 * machine (every command in every state), SET_PARAMS validation, and the
 * clock that completes held I/O messages (driven with explicit times: a
 * message completes exactly when its bytes have been consumed, never
 * earlier).
 */
#include "config.h"

#include <endian.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "devices/sound/sound-pcm.h"

#define MS 1000000ull

struct evlog;

struct done {
	unsigned n;
	void *cookie[256];
	uint32_t status[256];
	uint32_t latency[256];
	unsigned stream[256];
	struct evlog *ev;            /* test_xrun_events */
};

static void record(void *opaque, unsigned stream, uint8_t dir, void *cookie, uint32_t status,
		   uint32_t latency, uint32_t filled)
{
	struct done *d = opaque;

	(void)dir;
	assert_int_equal(filled, 0);      /* the null clock writes no payload */
	assert_true(d->n < 256);
	d->cookie[d->n] = cookie;
	d->status[d->n] = status;
	d->latency[d->n] = latency;
	d->stream[d->n] = stream;
	d->n++;
}

struct fx {
	struct vsnd_model m;
	struct done d;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vsnd_caps c = { 1, 1, SND_DEFAULT_FORMATS, SND_DEFAULT_RATES, 0 };

	if (!f)
		return -1;
	vsnd_model_init(&f->m, &c, record, &f->d);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static uint32_t ctl(struct fx *f, const void *req, size_t len, uint64_t now)
{
	size_t n = vsnd_ctl(&f->m, req, len, 4096, now);

	assert_true(n >= 4);
	return vsnd_resp_status(&f->m);
}

static uint32_t pcm(struct fx *f, uint32_t code, uint32_t stream, uint64_t now)
{
	struct virtio_snd_pcm_hdr h = { { htole32(code) }, htole32(stream) };

	return ctl(f, &h, sizeof(h), now);
}

static uint32_t set_params(struct fx *f, uint32_t stream, uint32_t buffer, uint32_t period,
			   uint8_t ch, uint8_t fmt, uint8_t rate)
{
	struct virtio_snd_pcm_set_params p;

	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.hdr.stream_id = htole32(stream);
	p.buffer_bytes = htole32(buffer);
	p.period_bytes = htole32(period);
	p.channels = ch;
	p.format = fmt;
	p.rate = rate;
	return ctl(f, &p, sizeof(p), 0);
}

static size_t query(struct fx *f, uint32_t code, uint32_t start, uint32_t count, uint32_t size,
		    size_t wr_cap)
{
	struct virtio_snd_query_info q = { { htole32(code) }, htole32(start), htole32(count),
					   htole32(size) };

	return vsnd_ctl(&f->m, (const uint8_t *)&q, sizeof(q), wr_cap, 0);
}

static void test_lists(void **state)
{
	uint64_t map;
	const char *bad;

	(void)state;
	assert_int_equal(vsnd_parse_list("44100,48000", true, &map, &bad), 0);
	assert_int_equal(map, (1ull << VIRTIO_SND_PCM_RATE_44100) | (1ull << VIRTIO_SND_PCM_RATE_48000));
	assert_int_equal(vsnd_parse_list("s16,u8", false, &map, &bad), 0);
	assert_int_equal(map, (1ull << VIRTIO_SND_PCM_FMT_S16) | (1ull << VIRTIO_SND_PCM_FMT_U8));
	assert_int_equal(vsnd_parse_list("44100,7", true, &map, &bad), -1);
	assert_string_equal(bad, "7");
	assert_int_equal(vsnd_parse_list("", true, &map, &bad), -1);
	assert_int_equal(vsnd_parse_list("s16,", false, &map, &bad), -1);
	assert_int_equal(vsnd_parse_list(",s16", false, &map, &bad), -1);
	assert_int_equal(vsnd_parse_list("+8000", true, &map, &bad), -1);
	assert_int_equal(vsnd_parse_list("u16", false, &map, &bad), -1);
	assert_int_equal(vsnd_rate_hz(VIRTIO_SND_PCM_RATE_384000), 384000);
	assert_int_equal(vsnd_rate_hz(99), 0);
}

static void test_config_and_info(void **state)
{
	struct fx *f = *state;
	struct vsnd_config c;
	struct virtio_snd_pcm_info pi[2];
	struct virtio_snd_chmap_info ci;
	size_t n;

	vsnd_config(&f->m, &c);
	assert_int_equal(le32toh(c.jacks), 0);
	assert_int_equal(le32toh(c.streams), 2);
	assert_int_equal(le32toh(c.chmaps), 2);

	n = query(f, VIRTIO_SND_R_PCM_INFO, 0, 2, sizeof(pi[0]), 4096);
	assert_int_equal(n, 4 + 2 * sizeof(pi[0]));
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_OK);
	memcpy(pi, f->m.resp + 4, sizeof(pi));
	assert_int_equal(pi[0].direction, VIRTIO_SND_D_OUTPUT);
	assert_int_equal(pi[1].direction, VIRTIO_SND_D_INPUT);
	assert_int_equal(le64toh(pi[0].formats), SND_DEFAULT_FORMATS);
	assert_int_equal(le64toh(pi[1].rates), SND_DEFAULT_RATES);
	assert_int_equal(pi[0].channels_min, 1);
	assert_int_equal(pi[0].channels_max, 6);

	/* A larger item size: each item padded with zeros. */
	n = query(f, VIRTIO_SND_R_PCM_INFO, 1, 1, 64, 4096);
	assert_int_equal(n, 4 + 64);
	assert_int_equal(f->m.resp[4 + 32 + 5], 0);
	memcpy(pi, f->m.resp + 4, sizeof(pi[0]));
	assert_int_equal(pi[0].direction, VIRTIO_SND_D_INPUT);

	n = query(f, VIRTIO_SND_R_CHMAP_INFO, 0, 2, sizeof(ci), 4096);
	assert_int_equal(n, 4 + 2 * sizeof(ci));
	memcpy(&ci, f->m.resp + 4 + sizeof(ci), sizeof(ci));
	assert_int_equal(ci.direction, VIRTIO_SND_D_INPUT);
	assert_int_equal(ci.channels, 2);
	assert_int_equal(ci.positions[0], VIRTIO_SND_CHMAP_FL);
	assert_int_equal(ci.positions[1], VIRTIO_SND_CHMAP_FR);

	/* No jacks: an empty query is fine, any item is out of range. */
	assert_int_equal(query(f, VIRTIO_SND_R_JACK_INFO, 0, 0, 24, 4096), 4);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_OK);
	query(f, VIRTIO_SND_R_JACK_INFO, 0, 1, 24, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
}

static void test_info_bad(void **state)
{
	struct fx *f = *state;
	struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_PCM_INFO) }, 0, htole32(1),
					   htole32(32) };

	/* Out of range, overflowing start + count, too small or too large
	 * an item, a response that does not fit, a short request. */
	query(f, VIRTIO_SND_R_PCM_INFO, 0, 3, 32, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	query(f, VIRTIO_SND_R_PCM_INFO, 2, 1, 32, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	query(f, VIRTIO_SND_R_PCM_INFO, 1, 0xffffffffu, 32, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	query(f, VIRTIO_SND_R_PCM_INFO, 0xffffffffu, 2, 32, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	query(f, VIRTIO_SND_R_PCM_INFO, 0, 1, 31, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	query(f, VIRTIO_SND_R_PCM_INFO, 0, 1, 0xfffffff0u, 4096);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(query(f, VIRTIO_SND_R_PCM_INFO, 0, 2, 32, 67), 4);
	assert_int_equal(vsnd_resp_status(&f->m), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(query(f, VIRTIO_SND_R_PCM_INFO, 0, 1, 32, 3), 0);
	assert_int_equal(ctl(f, &q, sizeof(q) - 1, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(ctl(f, &q, 3, 0), VIRTIO_SND_S_BAD_MSG);
	/* Unknown code, JACK_REMAP without jacks. */
	q.hdr.code = htole32(0x300);
	assert_int_equal(ctl(f, &q, sizeof(q), 0), VIRTIO_SND_S_NOT_SUPP);
	q.hdr.code = htole32(VIRTIO_SND_R_JACK_REMAP);
	assert_int_equal(ctl(f, &q, sizeof(q), 0), VIRTIO_SND_S_BAD_MSG);
}

static void test_set_params(void **state)
{
	struct fx *f = *state;
	struct virtio_snd_pcm_set_params p;

	assert_int_equal(set_params(f, 0, 8192, 4096, 2, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_OK);
	assert_int_equal(f->m.s[0].byte_rate, 48000 * 2 * 2);
	assert_int_equal(set_params(f, 2, 8192, 4096, 2, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(f, 0, 8192, 4096, 0, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 4096, 7, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 4096, 2, VIRTIO_SND_PCM_FMT_FLOAT,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 4096, 2, 200, VIRTIO_SND_PCM_RATE_48000),
			 VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 4096, 2, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_96000), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 4096, 2, VIRTIO_SND_PCM_FMT_S16, 255),
			 VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params(f, 0, 8192, 0, 2, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(set_params(f, 0, 4096, 8192, 2, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_48000), VIRTIO_SND_S_BAD_MSG);
	/* Features are not offered; a short request. */
	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.buffer_bytes = htole32(8192);
	p.period_bytes = htole32(4096);
	p.channels = 1;
	p.format = VIRTIO_SND_PCM_FMT_U8;
	p.rate = VIRTIO_SND_PCM_RATE_8000;
	assert_int_equal(ctl(f, &p, sizeof(p), 0), VIRTIO_SND_S_OK);
	p.features = htole32(1u << VIRTIO_SND_PCM_F_MSG_POLLING);
	assert_int_equal(ctl(f, &p, sizeof(p), 0), VIRTIO_SND_S_NOT_SUPP);
	p.features = 0;
	assert_int_equal(ctl(f, &p, sizeof(p) - 1, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(ctl(f, &p, 7, 0), VIRTIO_SND_S_BAD_MSG);
}

/* EVT_XRUNS: offered in PCM_INFO only when the caps say so, selectable
 * only then, and an xrun becomes an event only for a stream that selected
 * it (5.14.6.6.2, 5.14.6.2). */
struct evlog {
	unsigned n;
	uint32_t code, data;
};

static void on_event(void *opaque, uint32_t code, uint32_t data)
{
	struct evlog *l = ((struct done *)opaque)->ev;

	l->n++;
	l->code = code;
	l->data = data;
}

static uint32_t set_params_features(struct fx *f, uint32_t stream, uint32_t features)
{
	struct virtio_snd_pcm_set_params p;

	memset(&p, 0, sizeof(p));
	p.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS);
	p.hdr.stream_id = htole32(stream);
	p.buffer_bytes = htole32(8192);
	p.period_bytes = htole32(4096);
	p.channels = 1;
	p.format = VIRTIO_SND_PCM_FMT_S16;
	p.rate = VIRTIO_SND_PCM_RATE_48000;
	p.features = htole32(features);
	return ctl(f, &p, sizeof(p), 0);
}

static uint32_t info_features(struct fx *f, uint32_t stream)
{
	struct virtio_snd_pcm_info pi;

	assert_int_equal(query(f, VIRTIO_SND_R_PCM_INFO, stream, 1, sizeof(pi), 4096),
			 sizeof(struct virtio_snd_hdr) + sizeof(pi));
	memcpy(&pi, f->m.resp + sizeof(struct virtio_snd_hdr), sizeof(pi));
	return le32toh(pi.features);
}

static void test_xrun_events(void **state)
{
	struct fx *f = *state;
	struct vsnd_caps c = { 1, 1, SND_DEFAULT_FORMATS, SND_DEFAULT_RATES, 0 };
	struct evlog l = { 0, 0, 0 };
	const uint32_t x = 1u << VIRTIO_SND_PCM_F_EVT_XRUNS;

	f->d.ev = &l;
	/* Not offered (the null backend): not selectable, never sent. */
	vsnd_model_set_event(&f->m, on_event);
	assert_int_equal(info_features(f, 0), 0);
	assert_int_equal(set_params_features(f, 0, x), VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params_features(f, 0, 0), VIRTIO_SND_S_OK);
	assert_false(vsnd_xrun(&f->m, 0));
	/* Offered (a host backend). */
	c.pcm_features = x;
	vsnd_model_init(&f->m, &c, record, &f->d);
	assert_false(vsnd_xrun(&f->m, 0));              /* no event function yet */
	vsnd_model_set_event(&f->m, on_event);
	assert_int_equal(info_features(f, 0), x);
	assert_int_equal(info_features(f, 1), x);
	assert_int_equal(set_params_features(f, 0, x | (1u << VIRTIO_SND_PCM_F_MSG_POLLING)),
			 VIRTIO_SND_S_NOT_SUPP);
	assert_int_equal(set_params_features(f, 1, 0), VIRTIO_SND_S_OK);
	assert_false(vsnd_xrun(&f->m, 1));              /* stream 1 did not select it */
	assert_int_equal(set_params_features(f, 0, x), VIRTIO_SND_S_OK);
	assert_true(vsnd_xrun(&f->m, 0));
	assert_int_equal(l.n, 1);
	assert_int_equal(l.code, VIRTIO_SND_EVT_PCM_XRUN);
	assert_int_equal(l.data, 0);
	assert_false(vsnd_xrun(&f->m, 2));              /* no such stream */
	assert_false(vsnd_xrun(&f->m, UINT32_MAX));
	/* A reset forgets the selection. */
	vsnd_model_reset(&f->m);
	assert_false(vsnd_xrun(&f->m, 0));
	assert_int_equal(l.n, 1);
}

/* Bring stream 0 to state st by an allowed path. */
static void reach(struct fx *f, enum vsnd_state st)
{
	vsnd_model_reset(&f->m);
	if (st == SND_ST_NONE)
		return;
	assert_int_equal(set_params(f, 0, 8192, 4096, 1, VIRTIO_SND_PCM_FMT_S16,
				    VIRTIO_SND_PCM_RATE_44100), VIRTIO_SND_S_OK);
	if (st == SND_ST_PARAMS)
		return;
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_PREPARE, 0, 0), VIRTIO_SND_S_OK);
	if (st == SND_ST_PREPARED)
		return;
	if (st == SND_ST_RELEASED) {
		assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_RELEASE, 0, 0), VIRTIO_SND_S_OK);
		return;
	}
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_START, 0, 0), VIRTIO_SND_S_OK);
	if (st == SND_ST_RUNNING)
		return;
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_STOP, 0, 0), VIRTIO_SND_S_OK);
}

/* 5.14.6.6.1: every command in every state, against the table. */
static void test_state_machine(void **state)
{
	struct fx *f = *state;
	static const uint32_t cmds[] = {
		VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE, VIRTIO_SND_R_PCM_START,
		VIRTIO_SND_R_PCM_STOP, VIRTIO_SND_R_PCM_RELEASE,
	};
	/* allowed[state][cmd] */
	static const bool allowed[6][5] = {
		[SND_ST_NONE] = { true, false, false, false, false },
		[SND_ST_PARAMS] = { true, true, false, false, false },
		[SND_ST_PREPARED] = { true, true, true, false, true },
		[SND_ST_RUNNING] = { false, false, false, true, false },
		[SND_ST_STOPPED] = { false, false, true, false, true },
		[SND_ST_RELEASED] = { true, true, false, false, false },
	};
	static const enum vsnd_state after[5] = {
		SND_ST_PARAMS, SND_ST_PREPARED, SND_ST_RUNNING, SND_ST_STOPPED, SND_ST_RELEASED,
	};

	for (unsigned st = SND_ST_NONE; st <= SND_ST_RELEASED; st++)
		for (unsigned c = 0; c < 5; c++) {
			uint32_t status;

			reach(f, st);
			assert_int_equal(f->m.s[0].state, st);
			if (cmds[c] == VIRTIO_SND_R_PCM_SET_PARAMS)
				status = set_params(f, 0, 8192, 4096, 1, VIRTIO_SND_PCM_FMT_S16,
						    VIRTIO_SND_PCM_RATE_44100);
			else
				status = pcm(f, cmds[c], 0, 0);
			if (allowed[st][c]) {
				assert_int_equal(status, VIRTIO_SND_S_OK);
				assert_int_equal(f->m.s[0].state, after[c]);
			} else {
				if (status != VIRTIO_SND_S_BAD_MSG)
					fail_msg("command 0x%x in state %u: 0x%x", cmds[c], st, status);
				assert_int_equal(f->m.s[0].state, st);
			}
		}
	/* A bad stream id, a short header. */
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_PREPARE, 2, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_PREPARE, 0xffffffffu, 0), VIRTIO_SND_S_BAD_MSG);
	{
		uint32_t code = htole32(VIRTIO_SND_R_PCM_START);
		assert_int_equal(ctl(f, &code, sizeof(code), 0), VIRTIO_SND_S_BAD_MSG);
	}
}

static void test_io_rules(void **state)
{
	struct fx *f = *state;
	int a, b;

	/* Not prepared, wrong direction, bad stream. */
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 100, &a, 0), VIRTIO_SND_S_BAD_MSG);
	reach(f, SND_ST_PREPARED);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_INPUT, 0, 100, &a, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 1, 100, &a, 0), VIRTIO_SND_S_BAD_MSG);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 9, 100, &a, 0), VIRTIO_SND_S_BAD_MSG);
	/* Held before START, nothing due until START. */
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 100, &a, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 100, &b, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), UINT64_MAX);
	assert_int_equal(vsnd_io_collect(&f->m, 1000 * MS), 0);
	/* RELEASE completes both, in order, OK. */
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_RELEASE, 0, 0), VIRTIO_SND_S_OK);
	assert_int_equal(f->d.n, 2);
	assert_ptr_equal(f->d.cookie[0], &a);
	assert_ptr_equal(f->d.cookie[1], &b);
	assert_int_equal(f->d.status[1], VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_io_held(&f->m, 0), 0);
	/* Released: I/O refused. */
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 100, &a, 0), VIRTIO_SND_S_BAD_MSG);
	/* Forget (the core releases a held message): the others keep order. */
	reach(f, SND_ST_PREPARED);
	f->d.n = 0;
	int c[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 100, &c[i], 0),
				 VIRTIO_SND_S_OK);
	unsigned st = 9;
	assert_true(vsnd_io_forget(&f->m, &c[1], &st));
	assert_int_equal(st, 0);
	assert_false(vsnd_io_forget(&f->m, &c[1], &st));
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_RELEASE, 0, 0), VIRTIO_SND_S_OK);
	assert_int_equal(f->d.n, 2);
	assert_ptr_equal(f->d.cookie[0], &c[0]);
	assert_ptr_equal(f->d.cookie[1], &c[2]);
}

/* 44100 Hz mono S16: 88200 bytes/s; a period of 2205 bytes = 25 ms. */
static void test_clock(void **state)
{
	struct fx *f = *state;
	const uint64_t t0 = 5000 * MS;
	int p[4];

	reach(f, SND_ST_PREPARED);
	f->d.n = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 2205, &p[i], 0),
				 VIRTIO_SND_S_OK);
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_START, 0, t0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), t0 + 25 * MS);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 25 * MS - 1), 0);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 25 * MS), 1);
	assert_ptr_equal(f->d.cookie[0], &p[0]);
	assert_int_equal(f->d.latency[0], 3 * 2205);     /* still queued behind it */
	/* Late timer: everything consumed by then completes at once, in order. */
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 75 * MS), 2);
	assert_ptr_equal(f->d.cookie[2], &p[2]);
	assert_int_equal(vsnd_next_due(&f->m), t0 + 100 * MS);
	/* STOP freezes the clock: nothing due however late. */
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_STOP, 0, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), UINT64_MAX);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 1000 * MS), 0);
	/* START again: the held message plays in full from then. */
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_START, 0, t0 + 2000 * MS), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), t0 + 2025 * MS);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 2025 * MS), 1);
	assert_int_equal(f->d.n, 4);
	assert_int_equal(f->d.latency[3], 0);
	/* Ran dry: a message arriving later plays from its arrival. */
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 8820, &p[0], t0 + 3000 * MS),
			 VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), t0 + 3100 * MS);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 3100 * MS - 1), 0);
	assert_int_equal(vsnd_io_collect(&f->m, t0 + 3100 * MS), 1);
}

/* Rounding is up: 1 byte at 8000 Hz U8 mono takes 125000 ns; 3 bytes at
 * 44100 Hz U8 mono take 68027.2 ns -> due at 68028. */
static void test_clock_rounding(void **state)
{
	struct fx *f = *state;
	int a;

	vsnd_model_reset(&f->m);
	assert_int_equal(set_params(f, 0, 2, 1, 1, VIRTIO_SND_PCM_FMT_U8, VIRTIO_SND_PCM_RATE_44100),
			 VIRTIO_SND_S_OK);
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_PREPARE, 0, 0), VIRTIO_SND_S_OK);
	assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_START, 0, 1000), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 3, &a, 1000), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), 1000 + 68028);
	assert_int_equal(vsnd_silence_byte(VIRTIO_SND_PCM_FMT_U8), 0x80);
	assert_int_equal(vsnd_silence_byte(VIRTIO_SND_PCM_FMT_S16), 0);
}

/* Capture and playback streams run on their own clocks. */
static void test_two_streams(void **state)
{
	struct fx *f = *state;
	int out, in;

	vsnd_model_reset(&f->m);
	f->d.n = 0;
	for (unsigned s = 0; s < 2; s++) {
		assert_int_equal(set_params(f, s, 8000, 4000, 1, VIRTIO_SND_PCM_FMT_U8,
					    s ? VIRTIO_SND_PCM_RATE_16000 : VIRTIO_SND_PCM_RATE_8000),
				 VIRTIO_SND_S_OK);
		assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_PREPARE, s, 0), VIRTIO_SND_S_OK);
		assert_int_equal(pcm(f, VIRTIO_SND_R_PCM_START, s, 0), VIRTIO_SND_S_OK);
	}
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_OUTPUT, 0, 4000, &out, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_io_add(&f->m, VIRTIO_SND_D_INPUT, 1, 4000, &in, 0), VIRTIO_SND_S_OK);
	assert_int_equal(vsnd_next_due(&f->m), 250 * MS);
	assert_int_equal(vsnd_io_collect(&f->m, 250 * MS), 1);
	assert_ptr_equal(f->d.cookie[0], &in);
	assert_int_equal(f->d.stream[0], 1);
	assert_int_equal(vsnd_io_collect(&f->m, 500 * MS), 1);
	assert_ptr_equal(f->d.cookie[1], &out);
}

static void test_caps(void **state)
{
	struct vsnd_model *m = calloc(1, sizeof(*m));
	struct vsnd_caps c = { 0, 3, 1ull << VIRTIO_SND_PCM_FMT_S16, 1ull << VIRTIO_SND_PCM_RATE_48000, 0 };
	struct vsnd_config cfg;
	struct virtio_snd_chmap_info ci;

	(void)state;
	assert_non_null(m);
	vsnd_model_init(m, &c, record, NULL);
	vsnd_config(m, &cfg);
	assert_int_equal(le32toh(cfg.streams), 3);
	assert_int_equal(le32toh(cfg.chmaps), 1);
	{
		struct virtio_snd_query_info q = { { htole32(VIRTIO_SND_R_CHMAP_INFO) }, 0,
						   htole32(1), htole32(sizeof(ci)) };
		assert_int_equal(vsnd_ctl(m, (const uint8_t *)&q, sizeof(q), 4096, 0), 4 + sizeof(ci));
		memcpy(&ci, m->resp + 4, sizeof(ci));
		assert_int_equal(ci.direction, VIRTIO_SND_D_INPUT);
	}
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test_setup_teardown(test_config_and_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_bad, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xrun_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_io_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_rounding, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_streams, setup, teardown),
		cmocka_unit_test(test_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

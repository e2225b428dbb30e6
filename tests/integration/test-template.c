/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-template (src/devices/template/template.c):
 * each request's readable bytes are copied into its writable buffers,
 * XOR-ed with --xor-byte, and the used length is min(readable, writable).
 * Its 8-byte config space is the le64 count of completed requests.
 * Exercises the frontend's chains (direct, indirect, many segments, two
 * memory regions) with data that must come back exactly, on split and on
 * packed rings (VIRTIO_F_RING_PACKED, the same tests with packed set).
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

#include "backend.h"
#include "it-util.h"

struct fixture {
	struct backend be;
	char sock[160];
	uint8_t xor;
	bool packed;            /* negotiate packed rings */
};

static int start_template_poll(void **state, uint8_t xor, bool threads, bool packed,
			       bool poll)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char arg[8];
	const char *args[6] = { "-x", arg };
	unsigned n = 2;

	if (threads)
		args[n++] = "--queue-threads";
	if (poll) {             /* adaptive polling (event-loop.h) */
		args[n++] = "--poll";
		args[n++] = "adaptive";
	}

	if (!f)
		return -1;
	snprintf(arg, sizeof(arg), "%u", xor);
	if (backend_start(&f->be, "vhost-device-template", false, 1, args) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, false, 0, f->sock, sizeof(f->sock));
	f->xor = xor;
	f->packed = packed;
	*state = f;
	return 0;
}

static int start_template_args(void **state, uint8_t xor, bool threads, bool packed)
{
	return start_template_poll(state, xor, threads, packed, false);
}

static int start_template(void **state, uint8_t xor)
{
	return start_template_args(state, xor, false, false);
}

static int setup_xor_ff(void **state) { return start_template(state, 0xff); }
/* Each queue on its own thread (vhost-device.h, "Threads"). */
static int setup_threads(void **state) { return start_template_args(state, 0x3c, true, false); }
static int setup_packed(void **state) { return start_template_args(state, 0xa5, false, true); }
static int setup_packed_threads(void **state) { return start_template_args(state, 0x5a, true, true); }
static int setup_poll(void **state) { return start_template_poll(state, 0x11, false, false, true); }
static int setup_poll_packed_threads(void **state) { return start_template_poll(state, 0x22, true, true, true); }
static int setup_plain(void **state) { return start_template(state, 0); }

static int teardown(void **state)
{
	struct fixture *f = *state;
	int st = 0;

	if (f) {
		st = backend_stop(&f->be);
		free(f);
		*state = NULL;
	}
	return st == 0 ? 0 : -1;
}

/* Open with the fixture's ring format, and check it was negotiated. */
static struct vhu_session *open_fmt(struct fixture *f, struct vhu_session_opts *o)
{
	struct vhu_session *s;

	if (f->packed)
		o->features |= VHD_BIT(VIRTIO_F_RING_PACKED);
	s = it_open(o);
	for (unsigned i = 0; i < s->nvq; i++)
		assert_int_equal(vhu_vq_packed(s->vq[i]), f->packed);
	return s;
}

static struct vhu_session *open_template(struct fixture *f, bool two_regions,
					 bool event_idx)
{
	struct vhu_session_opts o;

	it_opts(&o, f->sock);
	o.vq.num = 64;
	o.vq.max_indirect = 16;
	o.mem_size = 8u << 20;
	if (two_regions) {
		o.mem_split = 4u << 20;
		o.mem_hole = 1ull << 32;
	}
	if (!event_idx)
		o.features &= ~VHD_BIT(VIRTIO_RING_F_EVENT_IDX);
	return open_fmt(f, &o);
}

static uint64_t completed(struct vhu_session *s)
{
	uint64_t le = 0;

	assert_int_equal(vhu_get_config(s->c, 0, sizeof(le), &le), 0);
	return le64toh(le);
}

/* One request: rd_len bytes (as rd_segs segments) to wr_len bytes (as
 * wr_segs segments).  Checks the used length and every byte, including
 * that writable bytes past the used length are untouched. */
static void echo(struct vhu_session *s, uint8_t xor, uint32_t rd_len, unsigned rd_segs,
		 uint32_t wr_len, unsigned wr_segs, bool indirect, unsigned seed)
{
	struct vhu_sg out[16], in[16];
	uint8_t *rd = vhu_mem_alloc(s->m, rd_len + 1, 64);
	uint8_t *wr = vhu_mem_alloc(s->m, wr_len + 1, 64);
	uint32_t used = 0, expect = rd_len < wr_len ? rd_len : wr_len;
	void *tok = NULL;

	assert_non_null(rd);
	assert_non_null(wr);
	assert_true(rd_segs <= 16 && wr_segs <= 16);
	for (uint32_t i = 0; i < rd_len; i++)
		rd[i] = (uint8_t)(i * 7 + seed);
	memset(wr, 0x5a, wr_len);
	/* Split into segments of uneven sizes (the last takes the rest). */
	for (unsigned k = 0, off = 0; k < rd_segs; k++) {
		uint32_t len = k + 1 < rd_segs ? (rd_len / rd_segs) + k : rd_len - off;
		out[k] = (struct vhu_sg){ vhu_mem_gpa(s->m, rd + off), len };
		off += len;
	}
	for (unsigned k = 0, off = 0; k < wr_segs; k++) {
		uint32_t len = k + 1 < wr_segs ? (wr_len / wr_segs) - k : wr_len - off;
		in[k] = (struct vhu_sg){ vhu_mem_gpa(s->m, wr + off), len };
		off += len;
	}
	assert_true(vhu_vq_add(s->vq[0], out, rd_segs, in, wr_segs, wr, indirect) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
	assert_int_equal(vhu_vq_wait(s->vq[0], 30000, 0), 1);
	assert_int_equal(vhu_vq_get_used(s->vq[0], &used, &tok), 1);
	assert_ptr_equal(tok, wr);
	assert_int_equal(used, expect);
	for (uint32_t i = 0; i < expect; i++)
		if (wr[i] != (uint8_t)(rd[i] ^ xor))
			fail_msg("byte %u: 0x%02x, expected 0x%02x", i, wr[i],
				 (uint8_t)(rd[i] ^ xor));
	for (uint32_t i = expect; i < wr_len; i++)
		if (wr[i] != 0x5a)
			fail_msg("byte %u past the used length %u was written", i, expect);
}

static void test_echo_shapes(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_template(f, false, true);
	uint64_t before = completed(s);

	echo(s, f->xor, 1000, 1, 1000, 1, false, 1);
	echo(s, f->xor, 100, 1, 50, 1, false, 2);          /* short writable */
	echo(s, f->xor, 50, 1, 100, 1, false, 3);          /* short readable */
	echo(s, f->xor, 4097, 3, 4097, 4, false, 4);       /* segments */
	echo(s, f->xor, 10000, 7, 9000, 5, true, 5);       /* indirect */
	echo(s, f->xor, 1, 1, 1, 1, true, 6);
	echo(s, f->xor, 65536, 16, 65536, 16, false, 7);   /* 32 descriptors */
	assert_int_equal(completed(s) - before, 7);
	vhu_session_close(s);
}

/* Buffers in the second region (gpa above a 4 GiB hole, mmap_offset
 * 4 MiB), interrupt suppression by flags instead of EVENT_IDX. */
static void test_echo_two_regions_no_event_idx(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_template(f, true, false);

	assert_non_null(vhu_mem_alloc(s->m, (4u << 20) - vhu_mem_mark(s->m), 1));
	echo(s, f->xor, 3000, 2, 3000, 3, false, 9);
	echo(s, f->xor, 3000, 2, 3000, 3, true, 10);
	vhu_session_close(s);
}

/* A chain without writable buffers completes with length 0. */
static void test_no_writable(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_template(f, false, true);
	uint8_t *rd = vhu_mem_alloc(s->m, 64, 64);
	struct vhu_sg sg = { vhu_mem_gpa(s->m, rd), 64 };
	uint32_t used = 99;

	assert_true(vhu_vq_add(s->vq[0], &sg, 1, NULL, 0, rd, false) >= 0);
	assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
	assert_int_equal(vhu_vq_wait(s->vq[0], 3000, 0), 1);
	assert_int_equal(vhu_vq_get_used(s->vq[0], &used, NULL), 1);
	assert_int_equal(used, 0);
	vhu_session_close(s);
}

/* 2000 requests through a 64-entry ring, many in flight at once,
 * completions matched to requests by token, every byte checked. */
static void test_many_in_flight(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_template(f, true, true);
	enum { N = 2000, SLOTS = 48, LEN = 333 };
	uint8_t *rd[SLOTS], *wr[SLOTS];
	unsigned req_of[SLOTS], free_slots[SLOTS], nfree = SLOTS, sent = 0, done = 0;
	uint64_t before = completed(s);

	for (unsigned i = 0; i < SLOTS; i++) {
		rd[i] = vhu_mem_alloc(s->m, LEN, 64);
		wr[i] = vhu_mem_alloc(s->m, LEN, 64);
		assert_non_null(rd[i]);
		assert_non_null(wr[i]);
		free_slots[i] = i;
	}
	while (done < N) {
		uint32_t used;
		void *tok;
		int r;

		/* A direct chain takes 2 descriptors, an indirect one 1. */
		while (nfree && sent < N && vhu_vq_num_free(s->vq[0]) >= 2) {
			unsigned k = free_slots[--nfree];
			struct vhu_sg o = { vhu_mem_gpa(s->m, rd[k]), LEN };
			struct vhu_sg in = { vhu_mem_gpa(s->m, wr[k]), LEN };

			for (unsigned b = 0; b < LEN; b++)
				rd[k][b] = (uint8_t)(sent * 31 + b);
			memset(wr[k], 0, LEN);
			req_of[k] = sent;
			/* Odd requests as indirect tables. */
			assert_true(vhu_vq_add(s->vq[0], &o, 1, &in, 1,
					       (void *)(uintptr_t)(k + 1), sent & 1) >= 0);
			sent++;
		}
		assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
		while ((r = vhu_vq_get_used(s->vq[0], &used, &tok)) == 1) {
			unsigned k = (unsigned)(uintptr_t)tok - 1;

			assert_true(k < SLOTS);
			assert_int_equal(used, LEN);
			for (unsigned b = 0; b < LEN; b++)
				if (wr[k][b] != (uint8_t)((uint8_t)(req_of[k] * 31 + b) ^ f->xor))
					fail_msg("request %u byte %u wrong", req_of[k], b);
			free_slots[nfree++] = k;
			done++;
		}
		assert_int_equal(r, 0);
		if (done < N && (nfree == 0 || sent == N || vhu_vq_num_free(s->vq[0]) < 2))
			assert_int_equal(vhu_vq_wait(s->vq[0], 3000, 0), 1);
	}
	assert_int_equal(completed(s) - before, N);
	/* Kicks were suppressed while the device was busy, or at least not
	 * more than one per publish. */
	assert_true(vhu_vq_stats(s->vq[0])->kicks <= vhu_vq_stats(s->vq[0])->used);
	vhu_session_close(s);
}

/* The config space: 8 bytes, le64 requests completed (per socket, kept
 * across connections); partial reads; out-of-range reads refused;
 * read-only. */
static void test_config(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_template(f, false, true);
	struct { struct vhu_config_hdr h; uint8_t d[4]; } __attribute__((packed)) set = {
		{ 0, 4, VHU_CONFIG_FLAG_WRITABLE }, { 1, 2, 3, 4 },
	};
	uint64_t c0, c1;
	uint32_t hi = 0xdead;
	uint8_t b[16];

	assert_true(vhu_has_protocol(s->c, VHU_PF_CONFIG));
	c0 = completed(s);
	echo(s, f->xor, 10, 1, 10, 1, false, 0);
	echo(s, f->xor, 10, 1, 10, 1, false, 0);
	c1 = completed(s);
	assert_int_equal(c1, c0 + 2);
	assert_int_equal(vhu_get_config(s->c, 4, 4, &hi), 0);
	assert_int_equal(hi, 0);
	assert_int_equal(vhu_get_config(s->c, 0, 9, b), -EIO);
	assert_int_equal(vhu_get_config(s->c, 8, 1, b), -EIO);
	assert_int_equal(vhu_get_config(s->c, 7, 2, b), -EIO);
	assert_int_equal(vhu_request(s->c, VHU_SET_CONFIG, VHU_FLAG_NEED_REPLY, &set,
				     sizeof(set), NULL, 0, NULL, 0), -EIO);
	assert_int_equal(completed(s), c1);
	vhu_session_close(s);
	/* Kept by the socket's instance across connections. */
	s = open_template(f, false, true);
	assert_int_equal(completed(s), c1);
	vhu_session_close(s);
}

/* ---- queue 1: held requests ----------------------------------------------- */

#define HOLD_FOREVER 0xffffffffu

struct held_buf {
	uint8_t *rd, *wr;
	uint32_t len;             /* readable bytes (hold header included) */
};

static struct vhu_session *open_held(struct fixture *f)
{
	struct vhu_session_opts o;

	it_opts(&o, f->sock);
	o.nqueues = 2;
	o.vq.num = 16;
	return open_fmt(f, &o);
}

/* Add (not publish) request k on queue 1: le32 hold_ms, then a pattern. */
static void held_add(struct vhu_session *s, struct held_buf *b, unsigned k, uint32_t hold_ms)
{
	uint32_t le = htole32(hold_ms);
	struct vhu_sg o, in;

	b->len = 64;
	b->rd = vhu_mem_alloc(s->m, b->len, 64);
	b->wr = vhu_mem_alloc(s->m, b->len, 64);
	assert_non_null(b->rd);
	assert_non_null(b->wr);
	memcpy(b->rd, &le, sizeof(le));
	for (uint32_t i = sizeof(le); i < b->len; i++)
		b->rd[i] = (uint8_t)(k * 13 + i);
	memset(b->wr, 0x5a, b->len);
	o = (struct vhu_sg){ vhu_mem_gpa(s->m, b->rd), b->len };
	in = (struct vhu_sg){ vhu_mem_gpa(s->m, b->wr), b->len };
	assert_true(vhu_vq_add(s->vq[1], &o, 1, &in, 1, b, false) >= 0);
}

/* Wait for the next used entry of queue 1; returns its token. */
static struct held_buf *held_next(struct vhu_session *s, uint32_t *len)
{
	void *tok = NULL;

	if (!vhu_vq_has_used(s->vq[1]))
		assert_int_equal(vhu_vq_wait(s->vq[1], 5000, 0), 1);
	assert_int_equal(vhu_vq_get_used(s->vq[1], len, &tok), 1);
	assert_non_null(tok);
	return tok;
}

/* A packed ring state with both wrap counters 1 (first lap). */
static uint32_t packed_base(unsigned avail, unsigned used)
{
	return avail | 1u << 15 | used << 16 | 1u << 31;
}

static void assert_echoed(const struct held_buf *b, uint8_t xor, uint32_t len)
{
	assert_int_equal(len, b->len);
	for (uint32_t i = 0; i < b->len; i++)
		if (b->wr[i] != (uint8_t)(b->rd[i] ^ xor))
			fail_msg("byte %u: 0x%02x, expected 0x%02x", i, b->wr[i],
				 (uint8_t)(b->rd[i] ^ xor));
}

/* A batch that falls due together completes newest first, and queue 0
 * keeps answering at once meanwhile. */
static void test_held_reverse_order(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_held(f);
	enum { N = 6 };
	struct held_buf b[N];
	uint64_t before = completed(s);
	uint32_t len;

	for (unsigned k = 0; k < N; k++)
		held_add(s, &b[k], k, 0);
	/* One publish: the device pops the whole batch in one go. */
	assert_true(vhu_vq_publish_kick(s->vq[1], false) >= 0);
	echo(s, f->xor, 100, 1, 100, 1, false, 3);
	for (unsigned k = N; k-- > 0;) {
		struct held_buf *got = held_next(s, &len);

		if (got != &b[k])
			fail_msg("completion %u: request %d, expected %u (reverse arrival)",
				 N - 1 - k, (int)(got - b), k);
		assert_echoed(got, f->xor, len);
	}
	assert_int_equal(vhu_vq_in_flight(s->vq[1]), 0);
	assert_int_equal(completed(s) - before, N + 1);
	vhu_session_close(s);
}

/*
 * Stop and restart with held requests: A (held), B (completes at once),
 * C and D (held) are popped in that order.  GET_VRING_BASE: C and D,
 * popped after the completed B, are given back (base 2); A cannot be and
 * is completed empty (the template's "cancelled").  After the restart
 * with base 2 the device pops C and D again; every request is completed
 * exactly once.
 */
static void test_held_stop_restart(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_held(f);
	struct held_buf b[4];
	unsigned seen[4] = { 0 };
	uint16_t base = 0xffff;
	uint32_t len, zero = 0;
	struct held_buf *got;

	held_add(s, &b[0], 0, HOLD_FOREVER);
	held_add(s, &b[1], 1, 0);
	held_add(s, &b[2], 2, HOLD_FOREVER);
	held_add(s, &b[3], 3, HOLD_FOREVER);
	assert_true(vhu_vq_publish_kick(s->vq[1], false) >= 0);
	/* B's completion means all four were popped (one kick, one batch). */
	got = held_next(s, &len);
	assert_ptr_equal(got, &b[1]);
	assert_echoed(got, f->xor, len);
	seen[1]++;
	assert_false(vhu_vq_has_used(s->vq[1]));

	assert_int_equal(vhu_vq_stop(s->vq[1], &base), 0);
	if (f->packed)          /* each request takes 2 descriptors */
		assert_int_equal(vhu_vq_base(s->vq[1]), packed_base(4, 4));
	else
		assert_int_equal(base, 2);
	got = held_next(s, &len);
	assert_ptr_equal(got, &b[0]);
	assert_int_equal(len, 0);
	assert_int_equal(b[0].wr[0], 0x5a);     /* nothing written */
	seen[0]++;
	assert_false(vhu_vq_has_used(s->vq[1]));
	/* Queue 0 was not affected. */
	echo(s, f->xor, 10, 1, 10, 1, false, 4);

	/* Restart from the base; release C and D this time. */
	memcpy(b[2].rd, &zero, 4);
	memcpy(b[3].rd, &zero, 4);
	assert_int_equal(vhu_vq_start(s->vq[1]), 0);
	assert_true(vhu_vq_publish_kick(s->vq[1], true) >= 0);
	for (unsigned i = 0; i < 2; i++) {
		got = held_next(s, &len);
		assert_true(got == &b[2] || got == &b[3]);
		assert_echoed(got, f->xor, len);
		seen[got - b]++;
	}
	for (unsigned k = 0; k < 4; k++)
		assert_int_equal(seen[k], 1);
	assert_int_equal(vhu_vq_in_flight(s->vq[1]), 0);

	/* And once more with everything held: all of it is the suffix. */
	held_add(s, &b[0], 0, HOLD_FOREVER);
	held_add(s, &b[1], 1, HOLD_FOREVER);
	assert_true(vhu_vq_publish_kick(s->vq[1], false) >= 0);
	/* Nothing completes, so watch the device's pops: with EVENT_IDX it
	 * sets avail_event to its next avail index (6) once it popped both. */
	{
		int64_t end = it_now_ms() + 5000;
		uint16_t *ae = (uint16_t *)&vhu_vq_used(s->vq[1])->ring[16];
		uint16_t want = 6;

		if (f->packed) {        /* device event off_wrap: slot 12, wrap 1 */
			ae = &((struct vring_packed_event *)(void *)vhu_vq_used(s->vq[1]))->off_wrap;
			want = 12 | VRING_PACKED_EVENT_WRAP;
		}
		while (le16toh(__atomic_load_n(ae, __ATOMIC_ACQUIRE)) != want) {
			if (it_now_ms() > end)
				fail_msg("the device did not pop the two requests");
			it_sleep_ms(1);
		}
	}
	assert_int_equal(vhu_vq_stop(s->vq[1], &base), 0);
	if (f->packed)
		assert_int_equal(vhu_vq_base(s->vq[1]), packed_base(8, 8));
	else
		assert_int_equal(base, 4);
	assert_false(vhu_vq_has_used(s->vq[1]));
	vhu_session_close(s);
}

/*
 * Both queues driven at once: rounds of a batch on queue 1 (held, due at
 * once, completed newest first) and a batch on queue 0 (answered at
 * once), published together and collected in whatever order the device
 * answers.  With --queue-threads the two are served by two threads.
 */
static void test_both_queues(void **state)
{
	struct fixture *f = *state;
	struct vhu_session *s = open_held(f);
	enum { ROUNDS = 200, B = 4, LEN = 200 };
	uint64_t before = completed(s);
	size_t mark = vhu_mem_mark(s->m);

	for (unsigned r = 0; r < ROUNDS; r++) {
		struct held_buf h[B];
		uint8_t *rd[B], *wr[B];
		unsigned got0 = 0, got1 = 0;
		uint32_t len;
		void *tok;

		vhu_mem_release(s->m, mark);
		for (unsigned k = 0; k < B; k++) {
			struct vhu_sg o, in;

			held_add(s, &h[k], r * B + k, 0);
			rd[k] = vhu_mem_alloc(s->m, LEN, 64);
			wr[k] = vhu_mem_alloc(s->m, LEN, 64);
			assert_non_null(rd[k]);
			assert_non_null(wr[k]);
			for (unsigned i = 0; i < LEN; i++)
				rd[k][i] = (uint8_t)(r * 5 + k * 3 + i);
			o = (struct vhu_sg){ vhu_mem_gpa(s->m, rd[k]), LEN };
			in = (struct vhu_sg){ vhu_mem_gpa(s->m, wr[k]), LEN };
			assert_true(vhu_vq_add(s->vq[0], &o, 1, &in, 1,
					       (void *)(uintptr_t)(k + 1), false) >= 0);
		}
		assert_true(vhu_vq_publish_kick(s->vq[1], false) >= 0);
		assert_true(vhu_vq_publish_kick(s->vq[0], false) >= 0);
		while (got0 < B || got1 < B) {
			while (got0 < B && vhu_vq_get_used(s->vq[0], &len, &tok) == 1) {
				unsigned k = (unsigned)(uintptr_t)tok - 1;

				assert_true(k < B);
				assert_int_equal(len, LEN);
				for (unsigned i = 0; i < LEN; i++)
					if (wr[k][i] != (uint8_t)(rd[k][i] ^ f->xor))
						fail_msg("round %u queue 0 request %u byte %u", r, k, i);
				got0++;
			}
			while (got1 < B && vhu_vq_get_used(s->vq[1], &len, &tok) == 1) {
				/* Newest first. */
				assert_ptr_equal(tok, &h[B - 1 - got1]);
				assert_echoed(tok, f->xor, len);
				got1++;
			}
			if ((got0 < B || got1 < B) && !vhu_vq_has_used(s->vq[0]) &&
			    !vhu_vq_has_used(s->vq[1])) {
				unsigned wq = got0 < B ? 0 : 1;

				/* Wait for a call (5 s is only the failure bound). */
				if (vhu_vq_wait(s->vq[wq], 5000, 0) != 1 &&
				    !vhu_vq_has_used(s->vq[!wq]))
					fail_msg("round %u: no completion within 5 s", r);
			}
		}
	}
	assert_int_equal(completed(s) - before, 2 * ROUNDS * B);
	vhu_session_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_xor_ff, teardown),
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_echo_two_regions_no_event_idx, setup_xor_ff, teardown),
		cmocka_unit_test_setup_teardown(test_no_writable, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup_xor_ff, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_held_reverse_order, setup_xor_ff, teardown),
		cmocka_unit_test_setup_teardown(test_held_stop_restart, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(test_held_reverse_order, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(test_held_stop_restart, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(test_config, setup_threads, teardown),
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_echo_two_regions_no_event_idx, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_no_writable, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_held_reverse_order, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_held_stop_restart, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_packed, teardown),
		cmocka_unit_test_setup_teardown(test_held_reverse_order, setup_packed_threads, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_packed_threads, teardown),
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_poll, teardown),
		cmocka_unit_test_setup_teardown(test_many_in_flight, setup_poll, teardown),
		cmocka_unit_test_setup_teardown(test_held_reverse_order, setup_poll, teardown),
		cmocka_unit_test_setup_teardown(test_held_stop_restart, setup_poll, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_poll, teardown),
		cmocka_unit_test_setup_teardown(test_echo_shapes, setup_poll_packed_threads, teardown),
		cmocka_unit_test_setup_teardown(test_both_queues, setup_poll_packed_threads, teardown),
	};

	return cmocka_run_group_tests_name("integration: vhost-device-template", tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Integration: vhost-device-spi -l loopback (src/devices/spi/), driven by
 * libvhu-frontend's virtio-spi guest driver (tools/vhu-spi.h) over a real
 * socket: the config space, modes, speeds, word sizes and lengths, a
 * batch of requests with different modes in one kick (each carried out
 * in its own mode, each with its own result), parameter errors answered
 * per request, malformed chains.  (The spidev path is checked against a
 * fake in tests/unit/test-spi.c.)
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
#include "vhu-spi.h"

#define TMO 30000  /* a failure bound only (docs/testing.md, busy machines) */

struct fixture {
	struct backend be;
	char sock[160];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = { "-l", "loopback", NULL };

	if (!f)
		return -1;
	if (backend_start(&f->be, "vhost-device-spi", true, 1, args) < 0) {
		free(f);
		return -1;
	}
	backend_socket(&f->be, true, 0, f->sock, sizeof(f->sock));
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

static struct vhu_spi *open_spi(struct fixture *f)
{
	struct vhu_spi_opts o = { .path = f->sock, .connect_ms = TMO };
	struct vhu_spi *d = NULL;
	char err[256] = "";

	if (vhu_spi_open(&o, &d, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
	return d;
}

static void submit(struct vhu_spi *d, struct vhu_spi_xfer *x, unsigned n)
{
	int r = vhu_spi_submit(d, x, n, TMO);

	if (r < 0)
		fail_msg("submit: %s (%s)", strerror(-r), vhu_spi_error(d));
}

static uint32_t cfg32(const uint8_t *c, unsigned off)
{
	uint32_t v;

	memcpy(&v, c + off, 4);
	return le32toh(v);
}

static void test_config(void **state)
{
	struct vhu_spi *d = open_spi(*state);
	uint8_t c[VHU_SPI_CONFIG_SIZE];

	assert_int_equal(vhu_spi_config(d, c), 0);
	assert_int_equal(c[0], 1);                  /* one chip select */
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], 7);                  /* dual, quad, octal */
	assert_int_equal(c[3], 7);
	assert_int_equal(cfg32(c, 4), 0xffffffffu);
	assert_int_equal(cfg32(c, 8), 0x7f);
	assert_int_equal(cfg32(c, 12), 100000000);
	vhu_spi_close(d);
}

/* Modes, speeds, word sizes and lengths: rx comes back equal to tx. */
static void test_loopback_shapes(void **state)
{
	struct vhu_spi *d = open_spi(*state);
	static const uint32_t lens[] = { 1, 2, 4, 12, 64, 1000, 4096, 65536 };
	static const uint8_t bpws[] = { 8, 16, 32, 7, 12 };
	uint8_t *tx = malloc(65536), *rx = malloc(65536);

	assert_non_null(tx);
	assert_non_null(rx);
	for (unsigned i = 0; i < 65536; i++)
		tx[i] = (uint8_t)(i * 7 + 3);
	for (unsigned l = 0; l < sizeof(lens) / sizeof(lens[0]); l++)
		for (unsigned b = 0; b < sizeof(bpws) / sizeof(bpws[0]); b++) {
			unsigned wb = bpws[b] <= 8 ? 1 : bpws[b] <= 16 ? 2 : 4;
			struct vhu_spi_xfer x = {
				.bits_per_word = bpws[b], .mode = (l + b) & 0x1f,
				.freq = 1000000u * (l + 1), .tx = tx, .rx = rx, .len = lens[l],
				.tx_nbits = (uint8_t)(1u << (b % 4)), .rx_nbits = 1,
			};

			if (lens[l] % wb)
				continue;
			memset(rx, 0, lens[l]);
			submit(d, &x, 1);
			if (x.result != 0)
				fail_msg("len %u bpw %u: result %u", lens[l], bpws[b], x.result);
			assert_memory_equal(rx, tx, lens[l]);
		}
	/* rx only: zeros; tx only: completed with just the result. */
	struct vhu_spi_xfer r = { .bits_per_word = 8, .rx = rx, .len = 16 };
	struct vhu_spi_xfer t = { .bits_per_word = 8, .tx = tx, .len = 16 };
	memset(rx, 0xaa, 16);
	submit(d, &r, 1);
	submit(d, &t, 1);
	assert_int_equal(r.result, 0);
	assert_int_equal(t.result, 0);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(rx[i], 0);
	free(tx);
	free(rx);
	vhu_spi_close(d);
}

/* One kick, requests in different modes and with parameter errors mixed
 * in: each gets its own result, the good ones their data. */
static void test_batch_mixed(void **state)
{
	struct vhu_spi *d = open_spi(*state);
	enum { N = 12 };
	uint8_t tx[N][8], rx[N][8];
	struct vhu_spi_xfer x[N];

	for (unsigned i = 0; i < N; i++) {
		for (unsigned k = 0; k < 8; k++)
			tx[i][k] = (uint8_t)(i * 16 + k);
		memset(rx[i], 0, 8);
		x[i] = (struct vhu_spi_xfer){ .bits_per_word = 8, .mode = i & 0x1f, .tx = tx[i],
					      .rx = rx[i], .len = 8, .cs_change = i & 1,
					      .freq = 1000 * (i + 1) };
	}
	x[3].chip_select_id = 1;              /* no such chip select */
	x[5].mode = 1u << 7;                  /* unknown mode bit */
	x[7].cs_setup_ns = 100;               /* a delay spidev cannot give */
	x[9].freq = 100000001;                /* over max_freq_hz */
	x[11].bits_per_word = 16;
	x[11].len = 7;                        /* not whole words */
	submit(d, x, N);
	for (unsigned i = 0; i < N; i++) {
		bool bad = i == 3 || i == 5 || i == 7 || i == 9 || i == 11;

		if (x[i].result != (bad ? 1 : 0))
			fail_msg("request %u: result %u", i, x[i].result);
		if (!bad)
			assert_memory_equal(rx[i], tx[i], 8);
		else
			assert_memory_equal(rx[i], "\0\0\0\0\0\0\0", i == 11 ? 7 : 8);
	}
	vhu_spi_close(d);
}

/* Malformed chains get PARAM_ERR (or, with no writable byte, used length
 * 0); the queue keeps working. */
static void test_malformed(void **state)
{
	struct vhu_spi *d = open_spi(*state);
	struct vhu_session *s = vhu_spi_session(d);
	struct vhu_vq *q = s->vq[0];
	uint8_t *mem = vhu_mem_alloc(s->m, 128, 8);
	struct vhu_sg head20 = { vhu_mem_gpa(s->m, mem), 20 };
	struct vhu_sg head = { vhu_mem_gpa(s->m, mem), 32 };
	struct vhu_sg tx4 = { vhu_mem_gpa(s->m, mem + 32), 4 };
	struct vhu_sg rx3 = { vhu_mem_gpa(s->m, mem + 64), 3 };
	struct vhu_sg res = { vhu_mem_gpa(s->m, mem + 96), 1 };
	struct vhu_sg out2[2] = { head, tx4 }, in2[2] = { rx3, res };
	uint32_t len;
	void *tok;

	memset(mem, 0, 128);
	mem[1] = 8;
	assert_true(vhu_vq_add(q, &head20, 1, &res, 1, (void *)1, false) >= 0);
	assert_true(vhu_vq_add(q, out2, 2, in2, 2, (void *)2, false) >= 0);  /* 4 vs 3 */
	assert_true(vhu_vq_add(q, out2, 2, NULL, 0, (void *)3, false) >= 0);
	assert_true(vhu_vq_publish_kick(q, false) >= 0);
	for (unsigned got = 0; got < 3;) {
		if (vhu_vq_get_used(q, &len, &tok) == 1) {
			got++;
			if (tok == (void *)3)
				assert_int_equal(len, 0);
			else
				assert_int_equal(len, tok == (void *)1 ? 1 : 4);
			continue;
		}
		assert_int_equal(vhu_vq_wait(q, TMO, 0), 1);
	}
	assert_int_equal(mem[96], 1);
	assert_int_equal(mem[67], 0);   /* not written past rx */
	uint8_t t[2] = { 1, 2 }, r[2];
	struct vhu_spi_xfer ok = { .bits_per_word = 8, .tx = t, .rx = r, .len = 2 };
	submit(d, &ok, 1);
	assert_int_equal(ok.result, 0);
	assert_memory_equal(r, t, 2);
	vhu_spi_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_loopback_shapes),
		cmocka_unit_test(test_batch_mixed),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests_name("integration: vhost-device-spi", tests, setup, teardown);
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Unit tests of vhost-device-spi's modules: the spidev host probed and
 * driven through a fake that stands in for the kernel's ioctls only
 * (struct spi_sys_ops) and records them, so the exact mode changes and
 * transfers handed to spidev are checked; parameter checks (PARAM_ERR per
 * request); request layout checks with hand-built chains; the config
 * space; the loopback device.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <linux/spi/spi.h>

#include "devices/spi/spi-req.h"

/* ---- the fake spidev ------------------------------------------------- */

#define FAKE_FD 77
#define FAKE_MODES (SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_TX_DUAL | SPI_RX_DUAL)

struct call {
	unsigned long req;
	uint32_t mode;                  /* WR_MODE32 */
	struct spi_ioc_transfer x;      /* MESSAGE(1) */
	uint8_t tx[64];
};

static struct {
	uint32_t mode, base_mode;
	uint8_t bpw;
	uint32_t speed;
	bool fail_message;
	unsigned ncalls;                /* after the probe */
	bool recording;
	struct call calls[16];
	bool closed;
} fk;

static int fake_open(const char *path, int flags)
{
	(void)flags;
	if (strcmp(path, "/dev/spidev0.0")) {
		errno = ENOENT;
		return -1;
	}
	return FAKE_FD;
}

static int fake_close(int fd)
{
	assert_int_equal(fd, FAKE_FD);
	fk.closed = true;
	return 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	struct call *c = fk.recording && fk.ncalls < 16 ? &fk.calls[fk.ncalls] : NULL;

	assert_int_equal(fd, FAKE_FD);
	if (c) {
		memset(c, 0, sizeof(*c));
		c->req = req;
		fk.ncalls++;
	}
	if (req == SPI_IOC_RD_MODE32) {
		*(uint32_t *)arg = fk.mode;
	} else if (req == SPI_IOC_WR_MODE32) {
		uint32_t m = *(uint32_t *)arg;

		if (c)
			c->mode = m;
		if (m & ~(uint32_t)FAKE_MODES) {
			errno = EINVAL;
			return -1;
		}
		fk.mode = m;
	} else if (req == SPI_IOC_RD_BITS_PER_WORD) {
		*(uint8_t *)arg = fk.bpw;
	} else if (req == SPI_IOC_WR_BITS_PER_WORD) {
		uint8_t b = *(uint8_t *)arg;

		if (b != 8 && b != 16) {
			errno = EINVAL;
			return -1;
		}
		fk.bpw = b;
	} else if (req == SPI_IOC_RD_MAX_SPEED_HZ) {
		*(uint32_t *)arg = fk.speed;
	} else if (req == SPI_IOC_MESSAGE(1)) {
		struct spi_ioc_transfer *x = arg;
		const uint8_t *tx = (const uint8_t *)(uintptr_t)x->tx_buf;
		uint8_t *rx = (uint8_t *)(uintptr_t)x->rx_buf;
		uint8_t tmp[64] = { 0 };

		assert_true(x->len <= 64);
		if (c) {
			c->x = *x;
			if (tx)
				memcpy(c->tx, tx, x->len);
		}
		if (fk.fail_message) {
			errno = EIO;
			return -1;
		}
		/* The "device" answers the complement of what it was sent. */
		if (tx)
			memcpy(tmp, tx, x->len);
		for (unsigned i = 0; rx && i < x->len; i++)
			rx[i] = (uint8_t)~tmp[i];
		return (int)x->len;
	} else {
		errno = ENOTTY;
		return -1;
	}
	return 0;
}

static const struct spi_sys_ops fake_sys = { fake_open, fake_ioctl, fake_close };

static struct spi_host *open_fake(void)
{
	struct spi_host *h = NULL;
	char err[256];

	memset(&fk, 0, sizeof(fk));
	fk.mode = fk.base_mode = SPI_CS_HIGH;   /* set by the board, clearable */
	fk.bpw = 8;
	fk.speed = 10000000;
	assert_int_equal(spi_host_open("/dev/spidev0.0", &fake_sys, &h, err, sizeof(err)), 0);
	fk.recording = true;
	return h;
}

static uint32_t cfg32(const uint8_t *c, unsigned off)
{
	uint32_t v;

	memcpy(&v, c + off, 4);
	return le32toh(v);
}

/* ---- tests ------------------------------------------------------------ */

static void test_probe_config(void **state)
{
	struct spi_host *h = open_fake();
	uint8_t c[VIRTIO_SPI_CONFIG_SIZE];

	(void)state;
	/* Probing left the device as it found it. */
	assert_int_equal(fk.mode, SPI_CS_HIGH);
	assert_int_equal(fk.bpw, 8);
	spi_config(h, c);
	assert_int_equal(c[0], 1);
	assert_int_equal(c[1], 1);
	assert_int_equal(c[2], VIRTIO_SPI_RX_TX_SUPPORT_DUAL);
	assert_int_equal(c[3], VIRTIO_SPI_RX_TX_SUPPORT_DUAL);
	assert_int_equal(cfg32(c, 4), (1u << 7) | (1u << 15));
	assert_int_equal(cfg32(c, 8), VIRTIO_SPI_MF_SUPPORT_CPHA_0 | VIRTIO_SPI_MF_SUPPORT_CPHA_1 |
				      VIRTIO_SPI_MF_SUPPORT_CPOL_0 | VIRTIO_SPI_MF_SUPPORT_CPOL_1 |
				      VIRTIO_SPI_MF_SUPPORT_CS_HIGH);
	assert_int_equal(cfg32(c, 12), 10000000);
	assert_int_equal(cfg32(c, 16), SPI_MAX_WORD_DELAY_NS);
	assert_int_equal(cfg32(c, 20), 0);
	assert_int_equal(cfg32(c, 24), SPI_MAX_CS_HOLD_NS);
	assert_int_equal(cfg32(c, 28), 0);
	spi_host_close(h);
	assert_true(fk.closed);
	assert_int_equal(spi_host_open("/dev/spidev9.9", &fake_sys, &h, (char[64]){ 0 }, 64), -ENOENT);
}

static void test_param_checks(void **state)
{
	struct spi_host *h = open_fake();
	struct spi_head ok = { .bits_per_word = 8, .freq = 1000000 }, hd;
	struct spi_ioc_transfer x;
	uint32_t mode;

	(void)state;
	assert_int_equal(spi_head_to_transfer(h, &ok, 4, true, true, &x, &mode), VIRTIO_SPI_TRANS_OK);
	assert_int_equal(mode, 0);
#define BAD(expr, len, tx, rx) do { hd = ok; expr; \
	if (spi_head_to_transfer(h, &hd, len, tx, rx, &x, &mode) != VIRTIO_SPI_PARAM_ERR) \
		fail_msg("accepted: %s", #expr); } while (0)
	BAD(hd.mode = 1u << 5, 4, true, true);
	BAD(hd.mode = VIRTIO_SPI_MODE_LSB_FIRST, 4, true, true);
	BAD(hd.mode = VIRTIO_SPI_MODE_LOOP, 4, true, true);
	BAD(hd.bits_per_word = 12, 4, true, true);
	BAD(hd.bits_per_word = 33, 4, true, true);
	BAD(hd.freq = 10000001, 4, true, true);
	BAD(hd.chip_select_id = 1, 4, true, true);
	BAD(hd.cs_setup_ns = 1, 4, true, true);
	BAD(hd.cs_change_delay_inactive_ns = 1, 4, true, true);
	BAD(hd.word_delay_ns = SPI_MAX_WORD_DELAY_NS + 1, 4, true, true);
	BAD(hd.cs_delay_hold_ns = SPI_MAX_CS_HOLD_NS + 1, 4, true, true);
	BAD(hd.cs_change = 2, 4, true, true);
	BAD(hd.tx_nbits = 4, 4, true, false);
	BAD(hd.rx_nbits = 3, 4, false, true);
	BAD(hd.bits_per_word = 16, 3, true, true);
	BAD((void)0, 0, true, true);
#undef BAD
	/* Unsupported rx width on a tx-only transfer does not matter. */
	hd = ok;
	hd.rx_nbits = 4;
	assert_int_equal(spi_head_to_transfer(h, &hd, 4, true, false, &x, &mode), VIRTIO_SPI_TRANS_OK);
	/* Everything carried over: delays rounded up to microseconds. */
	hd = (struct spi_head){ .bits_per_word = 16, .cs_change = 1, .tx_nbits = 2, .rx_nbits = 1,
				.mode = VIRTIO_SPI_CPHA | VIRTIO_SPI_CPOL | VIRTIO_SPI_CS_HIGH,
				.freq = 5000000, .word_delay_ns = 1500, .cs_delay_hold_ns = 2000 };
	assert_int_equal(spi_head_to_transfer(h, &hd, 8, true, true, &x, &mode), VIRTIO_SPI_TRANS_OK);
	assert_int_equal(mode, SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_TX_DUAL);
	assert_int_equal(x.len, 8);
	assert_int_equal(x.speed_hz, 5000000);
	assert_int_equal(x.bits_per_word, 16);
	assert_int_equal(x.cs_change, 1);
	assert_int_equal(x.tx_nbits, 2);
	assert_int_equal(x.rx_nbits, 1);
	assert_int_equal(x.word_delay_usecs, 2);
	assert_int_equal(x.delay_usecs, 2);
	spi_host_close(h);
}

/* ---- requests from hand-built chains ------------------------------------ */

struct chain {
	uint8_t mem[256];
	struct iovec rd[2], wr[2];
	struct vq_elem e;
};

static void head_bytes(uint8_t *b, const struct spi_head *hd)
{
	uint32_t v[6] = { hd->mode, hd->freq, hd->word_delay_ns, hd->cs_setup_ns,
			  hd->cs_delay_hold_ns, hd->cs_change_delay_inactive_ns };

	memset(b, 0, VIRTIO_SPI_HEAD_SIZE);
	b[0] = hd->chip_select_id;
	b[1] = hd->bits_per_word;
	b[2] = hd->cs_change;
	b[3] = hd->tx_nbits;
	b[4] = hd->rx_nbits;
	for (unsigned i = 0; i < 6; i++) {
		uint32_t le = htole32(v[i]);
		memcpy(b + 8 + 4 * i, &le, 4);
	}
}

/* head + tx_len bytes (0x10, 0x11, ...) readable; rx_len + 1 writable. */
static void chain_make(struct chain *c, const struct spi_head *hd, uint32_t tx_len, uint32_t rx_len)
{
	memset(c, 0, sizeof(*c));
	head_bytes(c->mem, hd);
	for (uint32_t i = 0; i < tx_len; i++)
		c->mem[32 + i] = (uint8_t)(0x10 + i);
	memset(c->mem + 128, 0x77, 128);
	c->rd[0] = (struct iovec){ c->mem, 32 };
	c->rd[1] = (struct iovec){ c->mem + 32, tx_len };
	c->wr[0] = (struct iovec){ c->mem + 128, rx_len };
	c->wr[1] = (struct iovec){ c->mem + 128 + rx_len, 1 };
	c->e.rd = c->rd;
	c->e.n_rd = tx_len ? 2 : 1;
	c->e.wr = rx_len ? c->wr : c->wr + 1;
	c->e.n_wr = rx_len ? 2 : 1;
	c->e.rd_len = 32 + tx_len;
	c->e.wr_len = rx_len + 1;
}

/* Requests with different modes each get their mode, set before their own
 * SPI_IOC_MESSAGE(1); the same mode twice is set once. */
static void test_modes_per_request(void **state)
{
	struct spi_host *h = open_fake();
	struct spi_head a = { .bits_per_word = 8, .freq = 1000000, .mode = VIRTIO_SPI_CPHA };
	struct spi_head b = { .bits_per_word = 16, .freq = 2000000,
			      .mode = VIRTIO_SPI_CPOL | VIRTIO_SPI_CS_HIGH, .cs_change = 1 };
	struct chain c1, c2, c3;

	(void)state;
	chain_make(&c1, &a, 4, 4);
	chain_make(&c2, &b, 6, 6);
	chain_make(&c3, &b, 2, 0);
	assert_int_equal(spi_handle_request(h, &c1.e), 5);
	assert_int_equal(spi_handle_request(h, &c2.e), 7);
	assert_int_equal(spi_handle_request(h, &c3.e), 1);
	assert_int_equal(fk.ncalls, 5);
	assert_int_equal(fk.calls[0].req, SPI_IOC_WR_MODE32);
	assert_int_equal(fk.calls[0].mode, SPI_CPHA);
	assert_int_equal(fk.calls[1].req, SPI_IOC_MESSAGE(1));
	assert_int_equal(fk.calls[1].x.len, 4);
	assert_int_equal(fk.calls[1].x.speed_hz, 1000000);
	assert_int_equal(fk.calls[1].x.bits_per_word, 8);
	assert_memory_equal(fk.calls[1].tx, "\x10\x11\x12\x13", 4);
	assert_int_equal(fk.calls[2].req, SPI_IOC_WR_MODE32);
	assert_int_equal(fk.calls[2].mode, SPI_CPOL | SPI_CS_HIGH);
	assert_int_equal(fk.calls[3].x.len, 6);
	assert_int_equal(fk.calls[3].x.bits_per_word, 16);
	assert_int_equal(fk.calls[3].x.speed_hz, 2000000);
	assert_int_equal(fk.calls[3].x.cs_change, 1);
	assert_int_equal(fk.calls[4].req, SPI_IOC_MESSAGE(1));   /* same mode: not set again */
	assert_int_equal(fk.calls[4].x.rx_buf, 0);
	/* Results and rx data. */
	assert_memory_equal(c1.mem + 128, "\xef\xee\xed\xec\x00", 5);
	assert_int_equal(c2.mem[128 + 6], VIRTIO_SPI_TRANS_OK);
	assert_int_equal(c3.mem[128], VIRTIO_SPI_TRANS_OK);
	spi_host_close(h);
	/* The original mode is put back when the program ends. */
	assert_int_equal(fk.mode, SPI_CS_HIGH);
}

static void test_request_errors(void **state)
{
	struct spi_host *h = open_fake();
	struct spi_head ok = { .bits_per_word = 8 }, bad = { .bits_per_word = 12 };
	struct chain c;

	(void)state;
	/* Parameter error: no ioctl at all, rx untouched. */
	chain_make(&c, &bad, 4, 4);
	assert_int_equal(spi_handle_request(h, &c.e), 5);
	assert_int_equal(c.mem[132], VIRTIO_SPI_PARAM_ERR);
	assert_memory_equal(c.mem + 128, "\x77\x77\x77\x77", 4);
	/* tx and rx of different lengths. */
	chain_make(&c, &ok, 4, 3);
	spi_handle_request(h, &c.e);
	assert_int_equal(c.mem[131], VIRTIO_SPI_PARAM_ERR);
	/* Neither tx nor rx. */
	chain_make(&c, &ok, 0, 0);
	spi_handle_request(h, &c.e);
	assert_int_equal(c.mem[128], VIRTIO_SPI_PARAM_ERR);
	/* A short head. */
	chain_make(&c, &ok, 0, 4);
	c.rd[0].iov_len = 31;
	c.e.rd_len = 31;
	spi_handle_request(h, &c.e);
	assert_int_equal(c.mem[132], VIRTIO_SPI_PARAM_ERR);
	/* No writable byte: nothing written, used length 0. */
	chain_make(&c, &ok, 4, 0);
	c.e.n_wr = 0;
	c.e.wr_len = 0;
	assert_int_equal(spi_handle_request(h, &c.e), 0);
	assert_int_equal(fk.ncalls, 0);
	/* The transfer fails in the kernel: TRANS_ERR. */
	fk.fail_message = true;
	chain_make(&c, &ok, 4, 4);
	spi_handle_request(h, &c.e);
	assert_int_equal(c.mem[132], VIRTIO_SPI_TRANS_ERR);
	/* Mode 0 differs from the board's CS_HIGH: set, then the message. */
	assert_int_equal(fk.ncalls, 2);
	assert_int_equal(fk.calls[0].mode, 0);
	assert_int_equal(fk.calls[1].req, SPI_IOC_MESSAGE(1));
	spi_host_close(h);
}

static void test_loopback(void **state)
{
	struct spi_host *h = NULL;
	struct spi_head hd = { .bits_per_word = 32, .mode = VIRTIO_SPI_MODE_LSB_FIRST | VIRTIO_SPI_CPHA,
			       .freq = 100000000 };
	uint8_t c[VIRTIO_SPI_CONFIG_SIZE];
	struct chain ch;

	(void)state;
	assert_int_equal(spi_host_open("loopback", &fake_sys, &h, (char[64]){ 0 }, 64), 0);
	spi_config(h, c);
	assert_int_equal(cfg32(c, 4), 0xffffffffu);
	assert_int_equal(cfg32(c, 8), 0x7f);
	chain_make(&ch, &hd, 8, 8);
	assert_int_equal(spi_handle_request(h, &ch.e), 9);
	assert_memory_equal(ch.mem + 128, ch.mem + 32, 8);
	assert_int_equal(ch.mem[136], VIRTIO_SPI_TRANS_OK);
	/* rx only: zeros. */
	chain_make(&ch, &hd, 0, 4);
	spi_handle_request(h, &ch.e);
	assert_memory_equal(ch.mem + 128, "\0\0\0\0\0", 5);
	spi_host_close(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_config),
		cmocka_unit_test(test_param_checks),
		cmocka_unit_test(test_modes_per_request),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_loopback),
	};

	return cmocka_run_group_tests_name("unit: vhost-device-spi", tests, NULL, NULL);
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* virtio-spi requests (promises in spi-req.h). */
#include "config.h"
#include "vhost-device.h"
#include "spi-req.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/spi/spi.h>

static void put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint8_t nbits_support(uint32_t bits, uint32_t dual, uint32_t quad, uint32_t octal)
{
	return (uint8_t)(((bits & dual) ? VIRTIO_SPI_RX_TX_SUPPORT_DUAL : 0) |
			 ((bits & quad) ? VIRTIO_SPI_RX_TX_SUPPORT_QUAD : 0) |
			 ((bits & octal) ? VIRTIO_SPI_RX_TX_SUPPORT_OCTAL : 0));
}

/* Both values of a mode bit, one of them, as the spec's two-bit fields. */
static uint32_t both(const struct spi_caps *c, uint32_t bit, uint32_t sup0, uint32_t sup1)
{
	uint32_t v = 0;

	if (!(c->fixed_bits & bit))
		v |= sup0;
	if (c->mode_bits & bit)
		v |= sup1;
	return v;
}

void spi_config(const struct spi_host *h, uint8_t out[VIRTIO_SPI_CONFIG_SIZE])
{
	const struct spi_caps *c = &h->caps;
	uint32_t mf;

	memset(out, 0, VIRTIO_SPI_CONFIG_SIZE);
	out[0] = 1;                 /* cs_max_number: a spidev is one chip select */
	out[1] = 1;                 /* cs_change_supported */
	out[2] = nbits_support(c->mode_bits, SPI_TX_DUAL, SPI_TX_QUAD, SPI_TX_OCTAL);
	out[3] = nbits_support(c->mode_bits, SPI_RX_DUAL, SPI_RX_QUAD, SPI_RX_OCTAL);
	put32(out + 4, c->bpw_mask);
	mf = both(c, SPI_CPHA, VIRTIO_SPI_MF_SUPPORT_CPHA_0, VIRTIO_SPI_MF_SUPPORT_CPHA_1) |
	     both(c, SPI_CPOL, VIRTIO_SPI_MF_SUPPORT_CPOL_0, VIRTIO_SPI_MF_SUPPORT_CPOL_1) |
	     ((c->mode_bits & SPI_CS_HIGH) ? VIRTIO_SPI_MF_SUPPORT_CS_HIGH : 0) |
	     ((c->mode_bits & SPI_LSB_FIRST) ? VIRTIO_SPI_MF_SUPPORT_LSB_FIRST : 0) |
	     ((c->mode_bits & SPI_LOOP) ? VIRTIO_SPI_MF_SUPPORT_LOOPBACK : 0);
	put32(out + 8, mf);
	put32(out + 12, c->max_speed_hz);
	put32(out + 16, SPI_MAX_WORD_DELAY_NS);
	put32(out + 20, 0);         /* max_cs_setup_ns: spidev has no such delay */
	put32(out + 24, SPI_MAX_CS_HOLD_NS);
	put32(out + 28, 0);         /* max_cs_inactive_ns: likewise */
}

static bool nbits_ok(uint8_t n, uint32_t mode_bits, uint32_t dual, uint32_t quad,
		     uint32_t octal, uint32_t *mode)
{
	switch (n) {
	case 0:
	case 1:
		return true;
	case 2:
		*mode |= dual;
		return mode_bits & dual;
	case 4:
		*mode |= quad;
		return mode_bits & quad;
	case 8:
		*mode |= octal;
		return mode_bits & octal;
	}
	return false;
}

static uint32_t ns_to_us(uint32_t ns)
{
	return ns / 1000 + (ns % 1000 != 0);   /* a delay is never shortened */
}

uint8_t spi_head_to_transfer(const struct spi_host *h, const struct spi_head *hd,
			     uint32_t len, bool has_tx, bool has_rx,
			     struct spi_ioc_transfer *x, uint32_t *mode)
{
	const struct spi_caps *c = &h->caps;
	static const struct { uint32_t v, spi; } bits[] = {
		{ VIRTIO_SPI_CPHA, SPI_CPHA }, { VIRTIO_SPI_CPOL, SPI_CPOL },
		{ VIRTIO_SPI_CS_HIGH, SPI_CS_HIGH }, { VIRTIO_SPI_MODE_LSB_FIRST, SPI_LSB_FIRST },
		{ VIRTIO_SPI_MODE_LOOP, SPI_LOOP },
	};
	uint32_t m = 0, known = 0, bpw = hd->bits_per_word ? hd->bits_per_word : 8;
	uint32_t word_bytes = bpw <= 8 ? 1 : bpw <= 16 ? 2 : 4;

	for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		known |= bits[i].v;
		if (hd->mode & bits[i].v)
			m |= bits[i].spi;
	}
	if ((hd->mode & ~known) || (m & ~c->mode_bits) || (c->fixed_bits & ~m & (SPI_CPHA | SPI_CPOL)))
		return VIRTIO_SPI_PARAM_ERR;
	/* Fixed bits other than clock phase and polarity stay as they are. */
	m |= c->fixed_bits & ~(uint32_t)(SPI_CPHA | SPI_CPOL);
	if (hd->chip_select_id != 0 || bpw > 32 ||
	    (c->bpw_mask && !(c->bpw_mask & (1u << (bpw - 1)))))
		return VIRTIO_SPI_PARAM_ERR;
	if (c->max_speed_hz && hd->freq > c->max_speed_hz)
		return VIRTIO_SPI_PARAM_ERR;
	if (hd->word_delay_ns > SPI_MAX_WORD_DELAY_NS || hd->cs_delay_hold_ns > SPI_MAX_CS_HOLD_NS ||
	    hd->cs_setup_ns || hd->cs_change_delay_inactive_ns || hd->cs_change > 1)
		return VIRTIO_SPI_PARAM_ERR;
	if ((has_tx && !nbits_ok(hd->tx_nbits, c->mode_bits, SPI_TX_DUAL, SPI_TX_QUAD, SPI_TX_OCTAL, &m)) ||
	    (has_rx && !nbits_ok(hd->rx_nbits, c->mode_bits, SPI_RX_DUAL, SPI_RX_QUAD, SPI_RX_OCTAL, &m)))
		return VIRTIO_SPI_PARAM_ERR;
	if (len == 0 || len > SPI_MAX_LEN || len % word_bytes)
		return VIRTIO_SPI_PARAM_ERR;
	memset(x, 0, sizeof(*x));
	x->len = len;
	x->speed_hz = hd->freq;
	x->bits_per_word = (uint8_t)hd->bits_per_word;
	x->cs_change = hd->cs_change;
	x->tx_nbits = has_tx ? hd->tx_nbits : 0;
	x->rx_nbits = has_rx ? hd->rx_nbits : 0;
	x->delay_usecs = (uint16_t)ns_to_us(hd->cs_delay_hold_ns);
	x->word_delay_usecs = (uint8_t)ns_to_us(hd->word_delay_ns);
	*mode = m;
	return VIRTIO_SPI_TRANS_OK;
}

static void parse_head(const uint8_t *b, struct spi_head *hd)
{
	hd->chip_select_id = b[0];
	hd->bits_per_word = b[1];
	hd->cs_change = b[2];
	hd->tx_nbits = b[3];
	hd->rx_nbits = b[4];
	hd->mode = get32(b + 8);
	hd->freq = get32(b + 12);
	hd->word_delay_ns = get32(b + 16);
	hd->cs_setup_ns = get32(b + 20);
	hd->cs_delay_hold_ns = get32(b + 24);
	hd->cs_change_delay_inactive_ns = get32(b + 28);
}

uint32_t spi_handle_request(struct spi_host *h, struct vq_elem *e)
{
	uint8_t raw[VIRTIO_SPI_HEAD_SIZE], result = VIRTIO_SPI_PARAM_ERR;
	struct spi_head hd;
	struct spi_ioc_transfer x;
	uint32_t tx_len, rx_len, len, mode = 0;
	uint8_t *buf = NULL;

	if (e->wr_len < 1)
		return 0;                 /* nowhere to put a result */
	rx_len = e->wr_len - 1;
	if (e->rd_len < sizeof(raw))
		goto out;
	tx_len = e->rd_len - (uint32_t)sizeof(raw);
	if (tx_len && rx_len && tx_len != rx_len)
		goto out;
	len = tx_len ? tx_len : rx_len;
	iov_to_buf(e->rd, e->n_rd, 0, raw, sizeof(raw));
	parse_head(raw, &hd);
	result = spi_head_to_transfer(h, &hd, len, tx_len != 0, rx_len != 0, &x, &mode);
	if (result != VIRTIO_SPI_TRANS_OK)
		goto out;
	/* One bounce buffer for both directions: guest buffers may overlap
	 * (a hostile driver), and spidev copies through its own anyway. */
	buf = malloc(len);
	if (!buf) {
		result = VIRTIO_SPI_TRANS_ERR;
		goto out;
	}
	if (tx_len) {
		iov_to_buf(e->rd, e->n_rd, sizeof(raw), buf, len);
		x.tx_buf = (uintptr_t)buf;
	}
	if (rx_len)
		x.rx_buf = (uintptr_t)buf;
	result = spi_host_transfer(h, mode, &x) == 0 ? VIRTIO_SPI_TRANS_OK : VIRTIO_SPI_TRANS_ERR;
	if (result == VIRTIO_SPI_TRANS_OK && rx_len)
		iov_from_buf(e->wr, e->n_wr, 0, buf, rx_len);
out:
	free(buf);
	iov_from_buf(e->wr, e->n_wr, e->wr_len - 1, &result, 1);
	return e->wr_len;
}

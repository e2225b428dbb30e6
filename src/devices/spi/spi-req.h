/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * virtio-spi requests (virtio 1.4, "SPI Controller Device", device ID 45).
 *
 * A request is a chain: device-readable struct spi_transfer_head (32
 * bytes) and the tx buffer (optional), device-writable rx buffer
 * (optional) and the result byte.  tx and rx are the same length when both
 * are there (full duplex); at least one is.  Each request is carried out
 * as its own transfer with its own mode, speed, word size, delays and
 * chip-select change (the Rust backend merges every request of a kick into
 * one SPI_IOC_MESSAGE under the last request's mode).  A request the device
 * cannot carry out as asked is answered VIRTIO_SPI_PARAM_ERR, alone; a
 * failed transfer VIRTIO_SPI_TRANS_ERR.
 */
#ifndef VHD_SPI_REQ_H
#define VHD_SPI_REQ_H

#include "vhost-device.h"
#include "spi-host.h"

#define VIRTIO_ID_SPI 45
#define VIRTIO_SPI_HEAD_SIZE 32
#define VIRTIO_SPI_CONFIG_SIZE 32

/* transfer_head.mode */
#define VIRTIO_SPI_CPHA (1u << 0)
#define VIRTIO_SPI_CPOL (1u << 1)
#define VIRTIO_SPI_CS_HIGH (1u << 2)
#define VIRTIO_SPI_MODE_LSB_FIRST (1u << 3)
#define VIRTIO_SPI_MODE_LOOP (1u << 4)
/* config: tx/rx_nbits_supported */
#define VIRTIO_SPI_RX_TX_SUPPORT_DUAL (1u << 0)
#define VIRTIO_SPI_RX_TX_SUPPORT_QUAD (1u << 1)
#define VIRTIO_SPI_RX_TX_SUPPORT_OCTAL (1u << 2)
/* config: mode_func_supported */
#define VIRTIO_SPI_MF_SUPPORT_CPHA_0 (1u << 0)
#define VIRTIO_SPI_MF_SUPPORT_CPHA_1 (1u << 1)
#define VIRTIO_SPI_MF_SUPPORT_CPOL_0 (1u << 2)
#define VIRTIO_SPI_MF_SUPPORT_CPOL_1 (1u << 3)
#define VIRTIO_SPI_MF_SUPPORT_CS_HIGH (1u << 4)
#define VIRTIO_SPI_MF_SUPPORT_LSB_FIRST (1u << 5)
#define VIRTIO_SPI_MF_SUPPORT_LOOPBACK (1u << 6)

#define VIRTIO_SPI_TRANS_OK 0
#define VIRTIO_SPI_PARAM_ERR 1
#define VIRTIO_SPI_TRANS_ERR 2

/* Limits of spidev's struct spi_ioc_transfer: delay_usecs is 16 bits,
 * word_delay_usecs 8; no field for cs_setup or cs_change_delay. */
#define SPI_MAX_WORD_DELAY_NS (255u * 1000u)
#define SPI_MAX_CS_HOLD_NS (65535u * 1000u)
/* Largest transfer accepted (spidev's own limit is its bufsiz parameter,
 * 4096 by default: larger ones fail there with TRANS_ERR). */
#define SPI_MAX_LEN (1u << 20)

struct spi_head {
	uint8_t chip_select_id, bits_per_word, cs_change, tx_nbits, rx_nbits;
	uint32_t mode, freq, word_delay_ns, cs_setup_ns, cs_delay_hold_ns,
		 cs_change_delay_inactive_ns;
};

/* The config space (virtio layout, little-endian) of a host. */
void spi_config(const struct spi_host *h, uint8_t out[VIRTIO_SPI_CONFIG_SIZE]);

/* Check a head against the host's capabilities and build the transfer
 * (tx/rx buffers and length set by the caller) and the SPI_* mode.
 * VIRTIO_SPI_TRANS_OK or VIRTIO_SPI_PARAM_ERR. */
uint8_t spi_head_to_transfer(const struct spi_host *h, const struct spi_head *hd,
			     uint32_t len, bool has_tx, bool has_rx,
			     struct spi_ioc_transfer *x, uint32_t *mode);

/* Handle one request from the ring completely: parse, check, transfer,
 * write rx and result.  Returns the used length. */
uint32_t spi_handle_request(struct spi_host *h, struct vq_elem *e);

#endif

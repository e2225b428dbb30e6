/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * libvhu-frontend, spi part: a small virtio-spi *guest driver* on top of a
 * vhu_session, so a test or the vhost-user-frontend command can play the
 * guest of a vhost-user-spi backend (no QEMU release has that frontend).
 *
 * Written from the virtio spec ("SPI Controller Device"), independently of
 * the backend: each transfer is one chain (transfer head, tx buffer | rx
 * buffer, result byte, in separate descriptors), several transfers can be
 * published with one kick, and the answer is checked (used length = rx
 * length + 1, result 0..2).
 */
#ifndef VHD_VHU_SPI_H
#define VHD_VHU_SPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhu-frontend.h"

#define VHU_SPI_CONFIG_SIZE 32

struct vhu_spi;

struct vhu_spi_xfer {
	uint8_t chip_select_id, bits_per_word, cs_change, tx_nbits, rx_nbits;
	uint32_t mode, freq, word_delay_ns, cs_setup_ns, cs_delay_hold_ns,
		 cs_change_delay_inactive_ns;
	const uint8_t *tx;      /* NULL: no tx buffer */
	uint8_t *rx;            /* NULL: no rx buffer */
	uint32_t len;           /* of each buffer present */
	uint8_t result;         /* out: 0 OK, 1 PARAM_ERR, 2 TRANS_ERR */
};

struct vhu_spi_opts {
	const char *path;
	int connect_ms;         /* retry connecting this long */
	/* As vhu_session_opts.send_mem (Xen grant tables); NULL: memfd. */
	bool xen_mmap;
	int (*send_mem)(void *opaque, struct vhu_session *s);
	void *send_mem_opaque;
};

int vhu_spi_open(const struct vhu_spi_opts *o, struct vhu_spi **out, char *err, size_t errlen);
void vhu_spi_close(struct vhu_spi *d);
struct vhu_session *vhu_spi_session(struct vhu_spi *d);
/* GET_CONFIG of the whole 32-byte config space. */
int vhu_spi_config(struct vhu_spi *d, uint8_t cfg[VHU_SPI_CONFIG_SIZE]);
/* Publish x[0..n) with one kick and wait for all; fills result and rx.
 * 0, -ETIMEDOUT, -EPROTO (vhu_spi_error says what), -ENOSPC. */
int vhu_spi_submit(struct vhu_spi *d, struct vhu_spi_xfer *x, unsigned n, int timeout_ms);
const char *vhu_spi_error(const struct vhu_spi *d);

#endif

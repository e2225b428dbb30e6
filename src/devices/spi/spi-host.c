/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* spidev and loopback hosts (promises in spi-host.h). */
#include "config.h"
#include "vhost-device.h"
#include "spi-host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/spi/spi.h>

static int real_open(const char *path, int flags)
{
	return open(path, flags);
}

static int real_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

static int real_close(int fd)
{
	return close(fd);
}

const struct spi_sys_ops spi_sys_real = { real_open, real_ioctl, real_close };

/* The mode bits a guest may ask for (virtio's CPHA, CPOL, CS_HIGH,
 * LSB_FIRST, LOOP) and the wire widths. */
#define PROBE_BITS (SPI_CPHA | SPI_CPOL | SPI_CS_HIGH | SPI_LSB_FIRST | SPI_LOOP | \
		    SPI_TX_DUAL | SPI_TX_QUAD | SPI_TX_OCTAL | SPI_RX_DUAL | SPI_RX_QUAD | \
		    SPI_RX_OCTAL)

static int sys_ioctl(struct spi_host *h, unsigned long req, void *arg)
{
	return h->sys->ioctl(h->fd, req, arg) < 0 ? -errno : 0;
}

/* spidev reports only the current settings; what the controller accepts
 * is found by setting each mode bit and word size (spi_setup() refuses
 * what the controller cannot do) and restoring the original. */
static int probe(struct spi_host *h, char *err, size_t errlen)
{
	uint32_t mode, speed = 0;
	uint8_t bpw = 0;

	if (sys_ioctl(h, SPI_IOC_RD_MODE32, &mode) < 0 ||
	    sys_ioctl(h, SPI_IOC_RD_BITS_PER_WORD, &bpw) < 0 ||
	    sys_ioctl(h, SPI_IOC_RD_MAX_SPEED_HZ, &speed) < 0) {
		snprintf(err, errlen, "%s: reading mode, word size, speed: %s", h->name,
			 strerror(errno));
		return -errno;
	}
	h->base_mode = h->mode = mode;
	h->caps.max_speed_hz = speed;
	for (unsigned b = 0; b < 32; b++) {
		uint32_t bit = 1u << b, m;

		if (!(PROBE_BITS & bit))
			continue;
		m = mode ^ bit;
		if (sys_ioctl(h, SPI_IOC_WR_MODE32, &m) == 0) {
			h->caps.mode_bits |= bit;
			sys_ioctl(h, SPI_IOC_WR_MODE32, &mode);
		} else if (mode & bit) {
			h->caps.mode_bits |= bit;
			h->caps.fixed_bits |= bit;   /* set, and must stay set */
		}
	}
	for (unsigned n = 1; n <= 32; n++) {
		uint8_t v = (uint8_t)n;

		if (sys_ioctl(h, SPI_IOC_WR_BITS_PER_WORD, &v) == 0)
			h->caps.bpw_mask |= 1u << (n - 1);
	}
	if (bpw == 0)
		bpw = 8;
	sys_ioctl(h, SPI_IOC_WR_BITS_PER_WORD, &bpw);
	if (h->caps.bpw_mask == 0) {
		snprintf(err, errlen, "%s: no word size accepted", h->name);
		return -EINVAL;
	}
	return 0;
}

int spi_host_open(const char *path, const struct spi_sys_ops *sys, struct spi_host **out,
		  char *err, size_t errlen)
{
	struct spi_host *h = calloc(1, sizeof(*h));
	int r;

	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(h->name, sizeof(h->name), "%s", path);
	pthread_mutex_init(&h->lock, NULL);
	h->sys = sys;
	h->fd = -1;
	if (strcmp(path, "loopback") == 0) {
		h->loopback = true;
		h->caps.mode_bits = PROBE_BITS;
		h->caps.bpw_mask = 0xffffffffu;
		h->caps.max_speed_hz = 100000000;
		*out = h;
		return 0;
	}
	h->fd = sys->open(path, O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		spi_host_close(h);
		return r;
	}
	r = probe(h, err, errlen);
	if (r < 0) {
		spi_host_close(h);
		return r;
	}
	*out = h;
	return 0;
}

void spi_host_close(struct spi_host *h)
{
	if (!h)
		return;
	if (h->fd >= 0) {
		if (h->mode != h->base_mode)
			h->sys->ioctl(h->fd, SPI_IOC_WR_MODE32, &h->base_mode);
		h->sys->close(h->fd);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}

static void loopback(struct spi_ioc_transfer *x)
{
	uint8_t *rx = (uint8_t *)(uintptr_t)x->rx_buf;
	const uint8_t *tx = (const uint8_t *)(uintptr_t)x->tx_buf;

	if (!rx)
		return;
	if (tx)
		memmove(rx, tx, x->len);
	else
		memset(rx, 0, x->len);
}

int spi_host_transfer(struct spi_host *h, uint32_t mode, struct spi_ioc_transfer *x)
{
	int r = 0;

	pthread_mutex_lock(&h->lock);
	if (h->loopback) {
		h->mode = mode;
		loopback(x);
	} else {
		if (mode != h->mode) {
			r = sys_ioctl(h, SPI_IOC_WR_MODE32, &mode);
			if (r == 0)
				h->mode = mode;
		}
		if (r == 0 && h->sys->ioctl(h->fd, SPI_IOC_MESSAGE(1), x) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&h->lock);
	return r;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The host side of vhost-device-spi: one SPI device the guest's transfers
 * go to.  Two kinds:
 *  - a Linux spidev (/dev/spidevX.Y; Documentation/spi/spidev.rst): its
 *    capabilities are probed at open, each transfer is one
 *    SPI_IOC_MESSAGE(1), preceded by SPI_IOC_WR_MODE32 when the transfer
 *    needs another mode than the device has;
 *  - "loopback": a simulated device whose rx is its tx (zeros when the
 *    transfer has no tx).
 * The system calls of the spidev kind go through struct spi_sys_ops, so
 * the unit tests stand a fake in for the kernel and check the exact
 * ioctls.
 *
 * Promises: spi_host_transfer() is called with a transfer already checked
 * against caps; it returns 0 or -errno.  One host is shared by every
 * socket (spidev's mode belongs to the device, not to an fd): each call
 * holds the host's lock.
 */
#ifndef VHD_SPI_HOST_H
#define VHD_SPI_HOST_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/spi/spidev.h>

struct spi_sys_ops {
	int (*open)(const char *path, int flags);
	int (*ioctl)(int fd, unsigned long req, void *arg);
	int (*close)(int fd);
};
extern const struct spi_sys_ops spi_sys_real;

/* What the device can do, in spidev terms (SPI_* mode bits). */
struct spi_caps {
	uint32_t mode_bits;        /* SPI_* bits that can be set */
	uint32_t fixed_bits;       /* SPI_* bits set that cannot be cleared */
	uint32_t bpw_mask;         /* bit n-1: n bits per word (0: any) */
	uint32_t max_speed_hz;     /* 0: no limit known */
};

struct spi_host {
	bool loopback;
	const struct spi_sys_ops *sys;
	int fd;
	char name[128];
	uint32_t mode;             /* the device's current SPI_* mode */
	uint32_t base_mode;        /* mode at open, restored at close */
	struct spi_caps caps;
	pthread_mutex_t lock;
};

/* "loopback", or a spidev path opened through sys.  0, or -errno with err
 * filled. */
int spi_host_open(const char *path, const struct spi_sys_ops *sys, struct spi_host **out,
		  char *err, size_t errlen);
void spi_host_close(struct spi_host *h);
/* Carry out one transfer in SPI_* mode `mode`.  0 or -errno. */
int spi_host_transfer(struct spi_host *h, uint32_t mode, struct spi_ioc_transfer *x);

#endif

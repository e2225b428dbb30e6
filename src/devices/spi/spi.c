/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-spi: the virtio SPI controller (virtio 1.4, "SPI Controller
 * Device", device ID 45), command-line compatible with the Rust
 * vhost-device-spi (-s, -c, -l/--device; sockets PATH0..PATH<N-1>).
 *
 * Differences from the Rust backend, on purpose:
 *  - every request is its own transfer with its own mode (the Rust backend
 *    merges a kick's requests into one SPI_IOC_MESSAGE and lets the last
 *    request's mode win for all of them), so each also gets its own
 *    result;
 *  - delays it cannot honour (cs_setup, cs_change_delay_inactive) and
 *    unsupported modes, word sizes, widths and speeds are answered
 *    VIRTIO_SPI_PARAM_ERR instead of being ignored;
 *  - "-l loopback": a simulated device whose rx is its tx.
 *
 * No QEMU release has a vhost-user SPI frontend and Linux has a driver
 * only from 6.18: tests drive the device with tools/vhu-spi.c.
 */
#include "config.h"
#include "vhost-device.h"
#include "spi-host.h"
#include "spi-req.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPI_QUEUE_SIZE 1024

/* The command line and what it opened (vhd_main's ctx). */
struct spi_opts {
	const char *device;
	struct spi_host *host;          /* shared by every socket */
};

static bool handle_request(struct vu_dev *dev, struct virtqueue *q,
			   struct vq_elem *e, void *opaque)
{
	(void)dev;
	vq_push(q, e, spi_handle_request(opaque, e));
	return true;
}

static void spi_queue_kick(struct vu_dev *dev, unsigned q)
{
	vu_queue_process(dev, q, handle_request, vu_dev_priv(dev));
}

static int spi_get_config(struct vu_dev *dev, uint8_t *buf)
{
	spi_config(vu_dev_priv(dev), buf);
	return 0;
}

/* An instance is the shared host (the spidev mode belongs to the device,
 * so every socket drives one spi_host, under its lock). */
static int spi_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct spi_opts *o = ctx;

	(void)index;
	(void)count;
	*priv = o->host;
	return 0;
}

static void spi_instance_free(void *priv)
{
	(void)priv;         /* closed by main() */
}

static int spi_parse_option(void *ctx, int key, const char *arg)
{
	struct spi_opts *o = ctx;

	if (key == 'l') {
		o->device = arg;
		return 0;
	}
	return -1;
}

static int spi_check_options(void *ctx, unsigned socket_count)
{
	struct spi_opts *o = ctx;
	char err[512];

	(void)socket_count;
	if (!o->device) {
		fprintf(stderr, "vhost-device-spi: -l/--device is required\n");
		return -1;
	}
	if (spi_host_open(o->device, &spi_sys_real, &o->host, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhost-device-spi: --device: %s\n", err);
		return -1;
	}
	vhd_log(VHD_LOG_INFO, "%s: mode bits 0x%x (fixed 0x%x), word sizes 0x%08x, max %u Hz",
		o->host->name, o->host->caps.mode_bits, o->host->caps.fixed_bits,
		o->host->caps.bpw_mask, o->host->caps.max_speed_hz);
	return 0;
}

static const struct option spi_options[] = {
	{ "device", required_argument, NULL, 'l' },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): a transfer is SPI_IOC_MESSAGE(1), a mode
 * change SPI_IOC_WR_MODE32, on the spidev opened at start-up (type 'k',
 * <linux/spi/spidev.h>). */
static int spi_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	return vhd_sandbox_allow_ioctl(sb, 'k');
}

static const struct vu_device_ops spi_ops = {
	.name = "spi",
	.summary = "vhost-user SPI controller (virtio-spi): the guest's transfers go to a host\n"
		   "spidev device or to a simulated loopback device.",
	.virtio_id = VIRTIO_ID_SPI,
	.num_queues = 1,
	.max_queue_size = SPI_QUEUE_SIZE,
	.config_size = VIRTIO_SPI_CONFIG_SIZE,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = spi_options,
	.short_options = "l:",
	.options_help =
		"  -l, --device PATH        the spidev device (/dev/spidevX.Y), or 'loopback'\n"
		"                           (a simulated device whose rx is its tx)\n",
	.parse_option = spi_parse_option,
	.check_options = spi_check_options,
	.instance_new = spi_instance_new,
	.instance_free = spi_instance_free,
	.queue_kick = spi_queue_kick,
	.get_config = spi_get_config,
	.sandbox = spi_sandbox,
};

int main(int argc, char **argv)
{
	struct spi_opts o = { .device = NULL };
	int st = vhd_main(&spi_ops, &o, argc, argv);

	/* The workers are gone: nobody uses the host any more. */
	spi_host_close(o.host);
	return st;
}

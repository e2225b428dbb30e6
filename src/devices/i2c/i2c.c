/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-i2c: the virtio I2C adapter (virtio 1.2+, 5.19 "I2C
 * Adapter Device", device ID 34), command-line compatible with the Rust
 * vhost-device-i2c (-s, -c, -l/--device-list; sockets PATH0..PATH<N-1>).
 *
 * Differences from the Rust backend, on purpose:
 *  - a transaction is a FAIL_NEXT group, not everything of one kick: each
 *    group gets its own status, so a failing device cannot fail another
 *    device's requests (i2c-xfer.h);
 *  - zero-length requests are SMBus QUICK, and SMBus-only adapters also
 *    get block and I2C-block transfers;
 *  - the simulated adapter "sim" / "sim-smbus" (i2c-sim.c) for guests
 *    without hardware;
 *  - addresses are checked against 0x03..0x77 (Rust lets 128 through).
 *
 * All sockets share the adapters (the same I2C bus is seen by every guest),
 * as in the Rust backend; each adapter call is serialised by the adapter's
 * lock.  A group whose last request has not arrived yet (the driver
 * publishes each request as it adds it, then kicks once) is held until it
 * is complete; a queue stop gives it back to the ring.
 */
#include "config.h"
#include "vhost-device.h"
#include "i2c-map.h"
#include "i2c-xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define I2C_QUEUE_SIZE 1024

/* The command line and what it opened (vhd_main's ctx). */
struct i2c_opts {
	const char *device_list;
	struct i2c_map map;             /* shared by every socket */
};

struct i2c_dev {
	const struct i2c_map *map;
	struct i2c_group group;         /* the FAIL_NEXT group so far */
	unsigned log_budget;
};

static void finish_group(struct i2c_dev *d, struct virtqueue *q)
{
	for (unsigned i = 0; i < d->group.n; i++) {
		struct vq_elem *e = d->group.req[i].elem;

		vq_push(q, e, i2c_req_finish(&d->group.req[i]));
	}
	d->group.n = 0;
}

static bool handle_request(struct vu_dev *dev, struct virtqueue *q,
			   struct vq_elem *e, void *opaque)
{
	struct i2c_dev *d = opaque;
	struct i2c_req *r = i2c_group_slot(&d->group);
	bool zero_ok = vu_dev_features(dev) & (1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST);
	bool overlong;

	/* Out of memory for its buffer: answered with an error like a
	 * malformed request (giving it back would stall the queue). */
	if (i2c_req_parse(r, e, zero_ok) < 0)
		r->valid = false;
	if (!r->valid)
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: malformed request (readable %u, writable %u bytes): answered "
				    "with an error", vu_dev_name(dev), e->rd_len, e->wr_len);
	if (!i2c_group_add(&d->group, &overlong))
		return true;          /* the group goes on: wait for its end */
	if (overlong)
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: a transaction of more than %u messages: answered with an error",
				    vu_dev_name(dev), I2C_MAX_MSGS);
	i2c_exec_group(d->map, d->group.req, d->group.n);
	finish_group(d, q);
	return true;
}

static void i2c_queue_kick(struct vu_dev *dev, unsigned q)
{
	vu_queue_process(dev, q, handle_request, vu_dev_priv(dev));
}

/* Give a held, incomplete group back to the ring (newest first, as
 * vq_unpop wants): the driver's next start replays it. */
static void i2c_queue_stop(struct vu_dev *dev, unsigned qi)
{
	struct i2c_dev *d = vu_dev_priv(dev);
	struct virtqueue *q = vu_dev_queue(dev, qi);

	while (d->group.n) {
		struct i2c_req *r = &d->group.req[--d->group.n];

		free(r->buf);
		r->buf = NULL;
		vq_unpop(q, r->elem);
	}
	d->group.overlong = false;
}

static int i2c_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct i2c_opts *o = ctx;
	struct i2c_dev *d = calloc(1, sizeof(*d));

	(void)index;
	(void)count;
	if (!d)
		return -1;
	d->map = &o->map;
	*priv = d;
	return 0;
}

static void i2c_instance_free(void *priv)
{
	free(priv);
}

static int i2c_parse_option(void *ctx, int key, const char *arg)
{
	struct i2c_opts *o = ctx;

	if (key == 'l') {
		o->device_list = arg;
		return 0;
	}
	return -1;
}

static int i2c_check_options(void *ctx, unsigned socket_count)
{
	struct i2c_opts *o = ctx;
	struct i2c_adapter_spec specs[I2C_MAX_ADAPTERS];
	unsigned n;
	char err[512];

	(void)socket_count;
	if (!o->device_list) {
		fprintf(stderr, "vhost-device-i2c: -l/--device-list is required\n");
		return -1;
	}
	if (i2c_map_parse(o->device_list, specs, I2C_MAX_ADAPTERS, &n, err, sizeof(err)) < 0 ||
	    i2c_map_open(&o->map, specs, n, "/sys", &i2c_sys_real, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhost-device-i2c: --device-list '%s': %s\n", o->device_list, err);
		return -1;
	}
	for (unsigned i = 0; i < o->map.nadapters; i++)
		vhd_log(VHD_LOG_INFO, "adapter %s: %s", o->map.adapters[i]->name,
			(o->map.adapters[i]->funcs & I2C_FUNC_I2C) ? "I2C transfers"
								   : "SMBus operations only");
	return 0;
}

static const struct option i2c_options[] = {
	{ "device-list", required_argument, NULL, 'l' },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): transfers are I2C_RDWR, I2C_SMBUS and
 * I2C_SLAVE ioctls on the /dev/i2c-N opened at start-up (all of type
 * 0x07, <linux/i2c-dev.h>). */
static int i2c_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	return vhd_sandbox_allow_ioctl(sb, 0x07);
}

static const struct vu_device_ops i2c_ops = {
	.name = "i2c",
	.summary = "vhost-user I2C adapter (virtio-i2c): the guest reaches the configured\n"
		   "addresses of host I2C buses (/dev/i2c-N) or of a simulated bus.",
	.virtio_id = VIRTIO_ID_I2C_ADAPTER,
	.num_queues = 1,
	.max_queue_size = I2C_QUEUE_SIZE,
	.features = 1ull << VIRTIO_I2C_F_ZERO_LENGTH_REQUEST,
	/* No config space: QEMU 7.2's vhost-user-i2c must not be offered
	 * VHOST_USER_PROTOCOL_F_CONFIG (docs/architecture.md). */
	.config_size = 0,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = i2c_options,
	.short_options = "l:",
	.options_help =
		"  -l, --device-list LIST   adapters and addresses the guest may reach:\n"
		"                           BUS:ADDR[:ADDR...][,BUS:ADDR...]; BUS is a bus number\n"
		"                           (/dev/i2c-N), an adapter name, 'sim' (simulated bus of\n"
		"                           256-byte EEPROMs) or 'sim-smbus' (the same, SMBus only);\n"
		"                           ADDR is a decimal 7-bit address, 3..119\n",
	.parse_option = i2c_parse_option,
	.check_options = i2c_check_options,
	.instance_new = i2c_instance_new,
	.instance_free = i2c_instance_free,
	.queue_kick = i2c_queue_kick,
	.queue_stop = i2c_queue_stop,
	.sandbox = i2c_sandbox,
};

int main(int argc, char **argv)
{
	struct i2c_opts o = { .device_list = NULL };
	int st = vhd_main(&i2c_ops, &o, argc, argv);

	/* The workers are gone: nobody uses the adapters any more. */
	i2c_map_close(&o.map);
	return st;
}

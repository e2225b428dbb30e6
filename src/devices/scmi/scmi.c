/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-scmi: the virtio SCMI device (virtio 1.3, 5.17 "SCMI
 * Device", device ID 32) serving Arm's System Control and Management
 * Interface (DEN0056) to a guest: the base protocol (scmi-base.c) and the
 * sensor protocol (scmi-sensor.c) over sensors given with -d (scmi-fake.c,
 * scmi-iio.c), with continuous-update notifications on the event queue
 * (scmi-notify.c).  Command-line compatible with the Rust
 * vhost-device-scmi (-s, -d ID[,prop=value...], --help-devices).  QEMU's
 * frontends are vhost-user-scmi (virtio-mmio) and vhost-user-scmi-pci.
 *
 * Differences from the Rust backend, on purpose:
 *  - any number of devices of each kind (Rust panics with two fakes);
 *  - no file descriptor of its own in the event loop, so a standard
 *    output that is a regular file is fine (Rust registers fd 1);
 *  - Xen grant and foreign mappings (the core's --xen);
 *  - SENSOR_LIST_UPDATE_INTERVALS is answered (10 ms .. 10 s), so a
 *    guest's IIO device lists its sampling frequencies;
 *  - IIO continuous updates are sampled from _raw on a timer, not read
 *    from the IIO buffer.
 *
 * Requests on the cmdq are answered at once, in order; event buffers are
 * held (vhost-device.h, "Held requests").
 */
#include "config.h"
#include "vhost-device.h"
#include "scmi-dev.h"
#include "scmi-sensor-dev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_HELP_DEVICES 0x100

struct scmi_opts {
	struct scmi_sensor_set set;
};

static bool handle_command(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			   void *opaque)
{
	struct scmi_dev *d = opaque;
	/* One byte more than the largest request, so a longer one is seen
	 * as the wrong size. */
	uint8_t req[SCMI_MAX_REQUEST + 4], resp[SCMI_MAX_RESPONSE];
	size_t req_len = e->rd_len < sizeof(req) ? e->rd_len : sizeof(req);
	size_t cap = e->wr_len < sizeof(resp) ? e->wr_len : sizeof(resp);
	size_t len;

	iov_to_buf(e->rd, e->n_rd, 0, req, req_len);
	d->agent.p2a = vu_dev_features(dev) & (1ull << VIRTIO_SCMI_F_P2A_CHANNELS);
	len = scmi_handle(&d->agent, req, req_len, resp, cap);
	if (!len)
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: request of %u readable and %u writable bytes: "
				    "nothing to answer", vu_dev_name(dev), e->rd_len, e->wr_len);
	iov_from_buf(e->wr, e->n_wr, 0, resp, len);
	vq_push(q, e, (uint32_t)len);
	return true;
}

static void scmi_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct scmi_dev *d = vu_dev_priv(dev);

	if (q == SCMI_EVENTQ) {
		scmi_notify_kick(d);
		return;
	}
	if (!d->agent_ok)
		return;         /* connected() could not allocate */
	vu_queue_process(dev, q, handle_command, d);
	if (d->agent.notify_changed)
		scmi_notify_plan(d);
}

static uint32_t scmi_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				 bool give_back)
{
	(void)give_back;
	if (q != SCMI_EVENTQ)
		return 0;
	return scmi_notify_cancel(vu_dev_priv(dev), e);
}

static void scmi_connected(struct vu_dev *dev)
{
	struct scmi_dev *d = vu_dev_priv(dev);

	d->dev = dev;
	d->log_budget = 0;
	/* A new connection is a new agent: default configuration. */
	d->agent_ok = scmi_agent_init(&d->agent, d->set) == 0;
	if (!d->agent_ok || scmi_notify_connect(d, dev) < 0)
		LOG_ERR("%s: out of memory: %s", vu_dev_name(dev),
			d->agent_ok ? "no notifications will be sent" : "no request will be answered");
}

static void scmi_reset(struct vu_dev *dev)
{
	struct scmi_dev *d = vu_dev_priv(dev);

	scmi_notify_disconnect(d);
	if (d->agent_ok)
		scmi_agent_free(&d->agent);
	d->agent_ok = false;
	d->dev = NULL;
}

static int scmi_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct scmi_opts *opt = ctx;
	struct scmi_dev *d = calloc(1, sizeof(*d));

	(void)index;
	(void)count;
	if (!d)
		return -1;
	d->set = &opt->set;
	*priv = d;
	return 0;
}

static void scmi_instance_free(void *priv)
{
	struct scmi_dev *d = priv;

	scmi_notify_disconnect(d);
	if (d->agent_ok)
		scmi_agent_free(&d->agent);
	free(d);
}

static int scmi_parse_option(void *ctx, int key, const char *arg)
{
	struct scmi_opts *opt = ctx;
	char err[512];

	if (key == 'd') {
		if (scmi_sensor_add(&opt->set, arg, err, sizeof(err)) < 0) {
			fprintf(stderr, "vhost-device-scmi: --device '%s': %s\n", arg, err);
			return -1;
		}
		return 0;
	}
	if (key == OPT_HELP_DEVICES) {
		/* As the Rust binary: print the list and exit, whatever else
		 * the command line says. */
		fputs(scmi_devices_help, stdout);
		fflush(stdout);
		scmi_sensor_set_free(&opt->set);
		exit(0);
	}
	return -1;
}

/* The Rust binary's -d takes one or more values (clap num_args 1..):
 * "-d fake,name=a fake,name=b".  getopt gives the values after the first
 * as operands; each is one more device. */
static int scmi_parse_operand(void *ctx, const char *arg)
{
	return scmi_parse_option(ctx, 'd', arg);
}

static const struct option scmi_options[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "help-devices", no_argument, NULL, OPT_HELP_DEVICES },
	{ NULL, 0, NULL, 0 },
};

/* The iio kind reads its channel's _raw attribute at every reading by
 * opening it (sysfs files that exist: never created); the fake kind needs
 * nothing beyond the core's list (docs/security.md). */
static int scmi_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	return vhd_sandbox_allow_open(sb);
}

static const struct vu_device_ops scmi_ops = {
	.name = "scmi",
	.summary = "vhost-user SCMI device: Arm's System Control and Management Interface\n"
		   "(base and sensor protocols) over virtio, with fake and IIO sensors.",
	.virtio_id = 32,
	.num_queues = 2,
	.max_queue_size = SCMI_QUEUE_SIZE,
	.features = 1ull << VIRTIO_SCMI_F_P2A_CHANNELS,
	.socket_naming = VU_SOCKETS_EXACT,
	.options = scmi_options,
	.short_options = "d:",
	.options_help =
		"  -d, --device ID[,prop=value...]\n"
		"                           add a sensor (repeatable): fake or iio, see\n"
		"                           --help-devices; none: the guest sees no sensors\n"
		"      --help-devices       list the devices and their properties, and exit\n",
	.parse_option = scmi_parse_option,
	.operands_usage = "[ID[,prop=value...]...]",
	.parse_operand = scmi_parse_operand,
	.instance_new = scmi_instance_new,
	.instance_free = scmi_instance_free,
	.connected = scmi_connected,
	.reset = scmi_reset,
	.queue_kick = scmi_queue_kick,
	.elem_cancel = scmi_elem_cancel,
	.sandbox = scmi_sandbox,
};

int main(int argc, char **argv)
{
	struct scmi_opts opt = { .set = { NULL, 0 } };
	int rc = vhd_main(&scmi_ops, &opt, argc, argv);

	scmi_sensor_set_free(&opt.set);
	return rc;
}

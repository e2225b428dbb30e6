/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-template: the teaching example.  To start a new device,
 * copy this directory and its lines in src/devices/devices.am (binary,
 * sources, LDADD); include only vhost-device.h and your own headers
 * (tests/check-includes.sh enforces it).
 *
 * A complete small device: one queue; each request is a chain with a
 * device-readable part followed by a device-writable part.  The device
 * copies the readable bytes into the writable buffers (XOR-ed with
 * --xor-byte, default 0: a plain echo), and completes the request with the
 * number of bytes written: min(readable, writable).  (The Rust template
 * only logs chains and never completes them; a driver would hang.)
 *
 * It shows each part a device has:
 *  - options: --xor-byte (parse_option), kept in the context struct
 *    template_opts that main() gives vhd_main() and the core passes back
 *    to parse_option and instance_new (no file-scope variables);
 *  - a config space (8 bytes: le64 count of completed requests), which
 *    makes the core offer VHOST_USER_PROTOCOL_F_CONFIG;
 *  - per-socket state (instance_new/instance_free) that survives
 *    reconnects (the completed-request count); it keeps nothing per
 *    connection, so it needs no reset callback;
 *  - the queue loop (vu_queue_process) with a handler that checks the
 *    request's shape (a writable part) before touching its buffers.
 */
#include "config.h"
#include "vhost-device.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_QUEUE_SIZE 1024
#define TEMPLATE_CONFIG_SIZE 8
/* Bytes copied per step: the echo works through a small bounce buffer so
 * readable and writable buffers that overlap in guest memory (a hostile
 * driver can do that) are never passed to memcpy together. */
#define TEMPLATE_CHUNK 4096

/* The options (vhd_main's ctx): filled on the main thread, read-only once
 * the instances exist. */
struct template_opts {
	unsigned long long xor_byte;
};

struct template_dev {
	unsigned index;
	uint8_t xor_byte;         /* --xor-byte */
	uint64_t completed;       /* reported in the config space */
	unsigned log_budget;
};

static bool handle_request(struct vu_dev *dev, struct virtqueue *q,
			   struct vq_elem *e, void *opaque)
{
	struct template_dev *t = opaque;
	uint8_t chunk[TEMPLATE_CHUNK];
	size_t n = e->rd_len < e->wr_len ? e->rd_len : e->wr_len;
	size_t off = 0;

	if (e->n_wr == 0) {
		/* Nowhere to answer: complete it empty, tell the log once. */
		vhd_log_ratelimited(&t->log_budget, 5, VHD_LOG_WARN,
				    "%s: request without writable buffers", vu_dev_name(dev));
		vq_push(q, e, 0);
		t->completed++;
		return true;
	}
	while (off < n) {
		size_t step = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
		iov_to_buf(e->rd, e->n_rd, off, chunk, step);
		if (t->xor_byte)
			for (size_t i = 0; i < step; i++)
				chunk[i] ^= t->xor_byte;
		iov_from_buf(e->wr, e->n_wr, off, chunk, step);
		off += step;
	}
	vq_push(q, e, (uint32_t)n);
	t->completed++;
	return true;
}

static void template_queue_kick(struct vu_dev *dev, unsigned q)
{
	vu_queue_process(dev, q, handle_request, vu_dev_priv(dev));
}

static int template_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct template_dev *t = vu_dev_priv(dev);
	uint64_t le = htole64(t->completed);

	memcpy(buf, &le, sizeof(le));
	return 0;
}

static int template_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	const struct template_opts *opt = ctx;
	struct template_dev *t = calloc(1, sizeof(*t));

	if (!t)
		return -1;
	t->index = index;
	t->xor_byte = (uint8_t)opt->xor_byte;
	*priv = t;
	return 0;
}

static void template_instance_free(void *priv)
{
	free(priv);
}

static int template_parse_option(void *ctx, int key, const char *arg)
{
	struct template_opts *opt = ctx;

	if (key == 'x') {
		if (vhd_parse_u64(arg, 0, 255, &opt->xor_byte) < 0) {
			fprintf(stderr, "vhost-device-template: --xor-byte '%s': expected 0..255\n", arg);
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct option template_options[] = {
	{ "xor-byte", required_argument, NULL, 'x' },
	{ NULL, 0, NULL, 0 },
};

/* vhd_main() checks this table before anything else (vhd_ops_check): a
 * missing queue_kick, a config_size without get_config or an option that
 * clashes with a common one is a start-up error naming the fault. */
static const struct vu_device_ops template_ops = {
	/* identity */
	.name = "template",
	.summary = "vhost-user template device: echoes each request's readable bytes into its\n"
		   "writable buffers (the teaching example of vhost-device-c).",
	.virtio_id = 0,         /* no virtio ID of its own: set one when you copy it */
	.num_queues = 1,
	.max_queue_size = TEMPLATE_QUEUE_SIZE,
	.config_size = TEMPLATE_CONFIG_SIZE,
	/* command line */
	.socket_naming = VU_SOCKETS_EXACT,
	.options = template_options,
	.short_options = "x:",
	.options_help =
		"  -x, --xor-byte N         XOR every echoed byte with N, 0..255 (default 0)\n",
	.parse_option = template_parse_option,
	/* runtime */
	.instance_new = template_instance_new,
	.instance_free = template_instance_free,
	.queue_kick = template_queue_kick,
	.get_config = template_get_config,
};

int main(int argc, char **argv)
{
	struct template_opts opt = { .xor_byte = 0 };

	return vhd_main(&template_ops, &opt, argc, argv);
}

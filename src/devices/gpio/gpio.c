/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-device-gpio: the virtio GPIO device (virtio 1.2+, "GPIO Device",
 * device ID 41), command-line compatible with the Rust vhost-device-gpio
 * (-s, -c, -l/--device-list; sockets PATH0..PATH<N-1>, one chip each),
 * driven by QEMU's vhost-user-gpio(-pci).
 *
 * requestq (0): every message is answered at once (gpio-state.h has the
 * rules).  eventq (1, with VIRTIO_GPIO_F_IRQ): each buffer unmasks one
 * line's interrupt and is held (vhost-device.h, "Held requests") until the
 * interrupt fires (VALID) or is disabled (INVALID); a queue stop completes
 * the held ones INVALID through elem_cancel.  The chip's per-line event
 * fds are watched in the connection's event loop.
 *
 * Differences from the Rust backend, on purpose:
 *  - level interrupts (LEVEL_HIGH, LEVEL_LOW), and no thread per line;
 *  - a chip by path or by label as well as by number;
 *  - simulated chips (sN) in every build, with a control socket
 *    (--sim-socket) through which tests and users drive input levels;
 *  - the same interrupt type set twice is accepted (Rust: an error).
 */
#include "config.h"
#include "vhost-device.h"
#include "gpio-chip.h"
#include "gpio-list.h"
#include "gpio-proto.h"
#include "gpio-state.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define GPIO_QUEUE_SIZE 256
#define GPIO_MAX_DEVICES 64

/* The command line and what it opened (vhd_main's ctx). */
struct gpio_opts {
	const char *device_list;
	const char *sim_socket;
	struct gpio_chip *chips[GPIO_MAX_DEVICES];
	unsigned nchips;
};

struct gpio_dev;

struct gpio_watch {
	struct vhd_handler h;
	struct gpio_dev *d;
	unsigned line;
};

struct gpio_dev {
	struct gpio_chip *chip;
	struct gpio_state st;
	struct gpio_state_env env;
	struct gpio_watch *watch;       /* one per line */
	char *names;                    /* the GET_LINE_NAMES blob */
	size_t names_size;
	struct vu_dev *dev;             /* the connection, NULL between */
	bool event_pushed;              /* eventq completions to notify */
	unsigned log_budget;
};

/* ---- eventq ----------------------------------------------------------- */

static void write_irq_status(struct vq_elem *e, uint8_t status)
{
	iov_from_buf(e->wr, e->n_wr, 0, &status, 1);
}

static void env_complete(void *opaque, unsigned line, void *buf, uint8_t status)
{
	struct gpio_dev *d = opaque;
	struct vq_elem *e = buf;

	(void)line;
	write_irq_status(e, status);
	vq_push(vu_dev_queue(d->dev, GPIO_EVENTQ), e, GPIO_IRQ_RESPONSE_SIZE);
	d->event_pushed = true;
}

static void notify_events(struct gpio_dev *d)
{
	if (d->event_pushed) {
		d->event_pushed = false;
		vq_notify(vu_dev_queue(d->dev, GPIO_EVENTQ));
	}
}

static void line_event_cb(struct vhd_handler *h, uint32_t events)
{
	struct gpio_watch *w = h->opaque;

	gpio_irq_events(&w->d->st, w->line);
	notify_events(w->d);
}

static int env_watch(void *opaque, unsigned line, int fd)
{
	struct gpio_dev *d = opaque;
	struct gpio_watch *w = &d->watch[line];

	w->h.fd = fd;
	w->h.cb = line_event_cb;
	w->h.opaque = w;
	return vhd_loop_add(vu_dev_loop(d->dev), &w->h, EPOLLIN);
}

static void env_unwatch(void *opaque, unsigned line)
{
	struct gpio_dev *d = opaque;

	vhd_loop_del(&d->watch[line].h);
}

static bool handle_event(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			 void *opaque)
{
	struct gpio_dev *d = opaque;
	uint16_t le;

	if (e->rd_len == GPIO_IRQ_REQUEST_SIZE && e->wr_len >= GPIO_IRQ_RESPONSE_SIZE) {
		iov_to_buf(e->rd, e->n_rd, 0, &le, sizeof(le));
		if (gpio_irq_unmask(&d->st, le16toh(le), e) == 0)
			return true;    /* held, or completed VALID already */
	} else {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: malformed eventq buffer (readable %u, writable %u bytes)",
				    vu_dev_name(dev), e->rd_len, e->wr_len);
	}
	if (e->wr_len == 0) {
		vq_push(q, e, 0);
		return true;
	}
	write_irq_status(e, VIRTIO_GPIO_IRQ_STATUS_INVALID);
	vq_push(q, e, GPIO_IRQ_RESPONSE_SIZE);
	return true;
}

/* ---- requestq --------------------------------------------------------- */

static uint32_t answer(struct vq_elem *e, uint8_t status, uint8_t value)
{
	uint8_t resp[GPIO_RESPONSE_SIZE] = { status, value };

	return (uint32_t)iov_from_buf(e->wr, e->n_wr, 0, resp,
				      e->wr_len < sizeof(resp) ? e->wr_len : sizeof(resp));
}

static uint32_t line_names(struct gpio_dev *d, struct vq_elem *e)
{
	uint8_t ok = VIRTIO_GPIO_STATUS_OK;

	/* "The driver must allocate the value[N] buffer ... for N bytes,
	 * where N = gpio_names_size" (Get Line Names). */
	if (d->names_size == 0 || e->wr_len != 1 + d->names_size)
		return answer(e, VIRTIO_GPIO_STATUS_ERR, 0);
	iov_from_buf(e->wr, e->n_wr, 0, &ok, 1);
	iov_from_buf(e->wr, e->n_wr, 1, d->names, d->names_size);
	return (uint32_t)(1 + d->names_size);
}

static bool handle_request(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			   void *opaque)
{
	struct gpio_dev *d = opaque;
	uint8_t buf[GPIO_REQUEST_SIZE], value = 0, status;
	struct gpio_request r;

	if (e->rd_len != GPIO_REQUEST_SIZE || e->wr_len == 0) {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: malformed request (readable %u, writable %u bytes)",
				    vu_dev_name(dev), e->rd_len, e->wr_len);
		vq_push(q, e, answer(e, VIRTIO_GPIO_STATUS_ERR, 0));
		return true;
	}
	iov_to_buf(e->rd, e->n_rd, 0, buf, sizeof(buf));
	(void)gpio_request_parse(buf, sizeof(buf), &r);
	if (r.type == VIRTIO_GPIO_MSG_GET_LINE_NAMES) {
		vq_push(q, e, line_names(d, e));
		return true;
	}
	status = e->wr_len < GPIO_RESPONSE_SIZE ? VIRTIO_GPIO_STATUS_ERR
						: gpio_request_exec(&d->st, &r, &value);
	vq_push(q, e, answer(e, status, value));
	return true;
}

static void gpio_queue_kick(struct vu_dev *dev, unsigned q)
{
	struct gpio_dev *d = vu_dev_priv(dev);

	d->st.irq_feature = vu_dev_features(dev) & (1ull << VIRTIO_GPIO_F_IRQ);
	if (q == GPIO_REQUESTQ)
		vu_queue_process(dev, q, handle_request, d);
	else
		vu_queue_process(dev, q, handle_event, d);
	/* A request that disabled an interrupt completed its buffer. */
	notify_events(d);
}

static uint32_t gpio_elem_cancel(struct vu_dev *dev, unsigned q, struct vq_elem *e,
				 bool give_back)
{
	struct gpio_dev *d = vu_dev_priv(dev);

	if (q != GPIO_EVENTQ || !gpio_irq_forget(&d->st, e) || give_back || e->wr_len == 0)
		return 0;
	/* The interrupt did not happen: "INVALID to return the buffers"
	 * (eventq Operation). */
	write_irq_status(e, VIRTIO_GPIO_IRQ_STATUS_INVALID);
	return GPIO_IRQ_RESPONSE_SIZE;
}

static void gpio_connected(struct vu_dev *dev)
{
	struct gpio_dev *d = vu_dev_priv(dev);

	d->dev = dev;
	d->event_pushed = false;
}

static void gpio_reset(struct vu_dev *dev)
{
	struct gpio_dev *d = vu_dev_priv(dev);

	/* A new guest starts from released lines (the host's lines go back
	 * to their other users meanwhile). */
	gpio_state_reset(&d->st);
	d->dev = NULL;
}

static int gpio_get_config(struct vu_dev *dev, uint8_t *buf)
{
	struct gpio_dev *d = vu_dev_priv(dev);
	uint16_t ngpio = htole16((uint16_t)d->chip->nlines);
	uint32_t size = htole32((uint32_t)d->names_size);

	memset(buf, 0, GPIO_CONFIG_SIZE);
	memcpy(buf, &ngpio, 2);
	memcpy(buf + 4, &size, 4);
	return 0;
}

/* ---- instances and command line --------------------------------------- */

static void gpio_instance_free(void *priv)
{
	struct gpio_dev *d = priv;

	if (!d)
		return;
	gpio_state_free(&d->st);
	free(d->watch);
	free(d->names);
	free(d);
}

static int gpio_instance_new(void *ctx, unsigned index, unsigned count, void **priv)
{
	struct gpio_opts *o = ctx;
	struct gpio_dev *d = calloc(1, sizeof(*d));

	(void)count;
	if (!d)
		return -1;
	d->chip = o->chips[index];
	d->env = (struct gpio_state_env){ d, env_complete, env_watch, env_unwatch };
	d->names_size = gpio_chip_names_size(d->chip);
	d->names = malloc(d->names_size ? d->names_size : 1);
	d->watch = calloc(d->chip->nlines, sizeof(*d->watch));
	if (!d->names || !d->watch || gpio_state_init(&d->st, d->chip, &d->env) < 0) {
		fprintf(stderr, "vhost-device-gpio: out of memory\n");
		gpio_instance_free(d);
		return -1;
	}
	gpio_chip_names(d->chip, d->names);
	for (unsigned i = 0; i < d->chip->nlines; i++) {
		d->watch[i].d = d;
		d->watch[i].line = i;
	}
	vhd_log(VHD_LOG_INFO, "socket %u: %s", index, d->chip->desc);
	*priv = d;
	return 0;
}

#define OPT_SIM_SOCKET 0x100

static int gpio_parse_option(void *ctx, int key, const char *arg)
{
	struct gpio_opts *o = ctx;

	if (key == 'l') {
		o->device_list = arg;
		return 0;
	}
	if (key == OPT_SIM_SOCKET) {
		o->sim_socket = arg;
		return 0;
	}
	return -1;
}

static int gpio_check_options(void *ctx, unsigned socket_count)
{
	struct gpio_opts *o = ctx;
	struct gpio_entry entries[GPIO_MAX_DEVICES];
	unsigned n;
	char err[512];

	if (!o->device_list) {
		fprintf(stderr, "vhost-device-gpio: -l/--device-list is required\n");
		return -1;
	}
	if (gpio_list_parse(o->device_list, entries, GPIO_MAX_DEVICES, &n, err,
			    sizeof(err)) < 0) {
		fprintf(stderr, "vhost-device-gpio: --device-list '%s': %s\n", o->device_list, err);
		return -1;
	}
	if (n != socket_count) {
		fprintf(stderr, "vhost-device-gpio: --device-list '%s' names %u chip%s but "
			"--socket-count is %u: give one chip per socket\n",
			o->device_list, n, n == 1 ? "" : "s", socket_count);
		return -1;
	}
	if (gpio_list_open(entries, n, o->sim_socket, o->chips, err, sizeof(err)) < 0) {
		fprintf(stderr, "vhost-device-gpio: --device-list '%s': %s\n", o->device_list, err);
		return -1;
	}
	o->nchips = n;
	return 0;
}

static const struct option gpio_options[] = {
	{ "device-list", required_argument, NULL, 'l' },
	{ "sim-socket", required_argument, NULL, OPT_SIM_SOCKET },
	{ NULL, 0, NULL, 0 },
};

/* Sandbox (docs/security.md): libgpiod (1.x and 2.x) requests, reads,
 * sets and releases lines with GPIO ioctls (type 0xB4, <linux/gpio.h>) on
 * the chips opened at start-up; the simulated chips' control thread
 * accepts and answers on its Unix socket (core calls). */
static int gpio_sandbox(void *ctx, struct vhd_sandbox *sb)
{
	(void)ctx;
	return vhd_sandbox_allow_ioctl(sb, 0xB4);
}

static const struct vu_device_ops gpio_ops = {
	.name = "gpio",
	.summary = "vhost-user GPIO controller (virtio-gpio): each guest gets the lines of one\n"
		   "host GPIO chip (/dev/gpiochipN) or of a simulated chip, with interrupts.",
	.virtio_id = VIRTIO_ID_GPIO,
	.num_queues = 2,
	.max_queue_size = GPIO_QUEUE_SIZE,
	.features = 1ull << VIRTIO_GPIO_F_IRQ,
	.config_size = GPIO_CONFIG_SIZE,
	.socket_naming = VU_SOCKETS_SUFFIXED,
	.options = gpio_options,
	.short_options = "l:",
	.options_help =
		"  -l, --device-list LIST   one GPIO chip per socket, ':'-separated: N is\n"
		"                           /dev/gpiochipN, sN a simulated chip of N lines\n"
		"                           (1..1024); also a chip's path or label;\n"
		"                           e.g. -c 4 -l 3:s4:6:s1\n"
		"      --sim-socket PATH    control sockets of the simulated chips: PATH<i>\n"
		"                           for the chip of socket i (set LINE 0|1, get LINE,\n"
		"                           mode LINE, lines)\n",
	.parse_option = gpio_parse_option,
	.check_options = gpio_check_options,
	.instance_new = gpio_instance_new,
	.instance_free = gpio_instance_free,
	.connected = gpio_connected,
	.reset = gpio_reset,
	.queue_kick = gpio_queue_kick,
	.elem_cancel = gpio_elem_cancel,
	.get_config = gpio_get_config,
	.sandbox = gpio_sandbox,
};

int main(int argc, char **argv)
{
	struct gpio_opts o = { .device_list = NULL };
	int st = vhd_main(&gpio_ops, &o, argc, argv);

	/* The workers are gone: nobody uses the chips any more. */
	for (unsigned i = 0; i < o.nchips; i++)
		gpio_chip_close(o.chips[i]);
	return st;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Fuzz target: virtio-gpio requests and interrupts (virtio 1.2+, "GPIO
 * Device": "requestq Operation", "eventq Operation") through the device's
 * real rules (gpio-state.c) on its simulated chip of 8 lines (gpio-sim.c,
 * no control socket), as vhost-device-gpio runs them: requestq messages
 * parsed from their 8 bytes and carried out, eventq buffers that unmask a
 * line, external levels driven on lines and the edges they make
 * delivered.
 *
 * Input: a flag byte (bit 0: VIRTIO_GPIO_F_IRQ negotiated), then records
 * of one op byte and its operands:
 *   op % 4 == 0  a request: 8 bytes (struct virtio_gpio_request);
 *   1            an eventq buffer for the line in the next le16;
 *   2            the external level of line (byte % 8) set to (byte & 1),
 *                then the line's edges taken as the device's event loop
 *                would (when the state watches it);
 *   3            the connection ends (gpio_state_reset).
 * Checks: statuses are the spec's (OK/ERR, VALID/INVALID), a value answered
 * is 0 or 1 (a direction 0..2), a buffer completes only while held and
 * once, nothing stays held after a reset.
 */
#include "config.h"
#include "fuzz/fuzz.h"

#include <stdlib.h>

#include "log.h"
#include "devices/gpio/gpio-chip.h"
#include "devices/gpio/gpio-proto.h"
#include "devices/gpio/gpio-state.h"

#define NLINES 8u
#define NBUFS 16u

struct env {
	bool held[NBUFS];       /* eventq buffers the state holds */
	int fd[NLINES];         /* watched event fds, -1: none */
};

static uint8_t bufs[NBUFS];     /* the buffers' identities */

static void complete(void *opaque, unsigned line, void *buf, uint8_t status)
{
	struct env *v = opaque;
	unsigned i = (unsigned)((uint8_t *)buf - bufs);

	if (i >= NBUFS || !v->held[i] || line >= NLINES ||
	    (status != VIRTIO_GPIO_IRQ_STATUS_VALID && status != VIRTIO_GPIO_IRQ_STATUS_INVALID))
		abort();
	v->held[i] = false;
}

static int watch(void *opaque, unsigned line, int fd)
{
	struct env *v = opaque;

	if (line >= NLINES || fd < 0 || v->fd[line] >= 0)
		abort();
	v->fd[line] = fd;
	return 0;
}

static void unwatch(void *opaque, unsigned line)
{
	struct env *v = opaque;

	if (line >= NLINES || v->fd[line] < 0)
		abort();
	v->fd[line] = -1;
}

static struct gpio_chip *chip_get(void)
{
	static struct gpio_chip *c;
	char err[256];

	if (!c && gpio_sim_open(NLINES, NULL, &c, err, sizeof(err)) != 0)
		abort();
	return c;
}

static void request(struct gpio_state *s, struct fuzz_in *in)
{
	uint8_t raw[8], value = 0xee, status;
	struct gpio_request r;

	fuzz_take(in, raw, sizeof(raw));
	if (gpio_request_parse(raw, sizeof(raw), &r) != 0)
		abort();
	if (r.type == VIRTIO_GPIO_MSG_GET_LINE_NAMES)
		return;         /* answered by gpio.c from the chip's names */
	status = gpio_request_exec(s, &r, &value);
	if (status == VIRTIO_GPIO_STATUS_ERR ? value != 0
	    : status != VIRTIO_GPIO_STATUS_OK || value > 2)
		abort();
}

static void unmask(struct gpio_state *s, struct env *v, uint16_t line)
{
	unsigned i;

	for (i = 0; i < NBUFS && v->held[i]; i++)
		;
	if (i == NBUFS)
		return;         /* a real ring has no more buffers either */
	v->held[i] = true;
	/* -1: the device completes it INVALID itself; it is not held. */
	if (gpio_irq_unmask(s, line, &bufs[i]) < 0) {
		if (!v->held[i])
			abort();        /* refused, yet completed */
		v->held[i] = false;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct gpio_chip *c = chip_get();
	struct env v = { 0 };
	struct gpio_state_env env = { &v, complete, watch, unwatch };
	struct gpio_state s;

	vhd_log_set_level(VHD_LOG_ERROR);
	for (unsigned i = 0; i < NLINES; i++) {
		v.fd[i] = -1;
		gpio_sim_drive(c, i, 0);
	}
	if (gpio_state_init(&s, c, &env) != 0)
		abort();
	s.irq_feature = fuzz_u8(&in) & 1;
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % 4, b;

		switch (op) {
		case 0:
			request(&s, &in);
			break;
		case 1:
			unmask(&s, &v, fuzz_u16(&in));
			break;
		case 2:
			b = fuzz_u8(&in);
			gpio_sim_drive(c, b % NLINES, b >> 7);
			if (v.fd[b % NLINES] >= 0)
				gpio_irq_events(&s, b % NLINES);
			break;
		default:
			/* The core releases held buffers before the reset. */
			for (unsigned i = 0; i < NBUFS; i++)
				if (v.held[i] && gpio_irq_forget(&s, &bufs[i]))
					v.held[i] = false;
			gpio_state_reset(&s);
			break;
		}
	}
	for (unsigned i = 0; i < NBUFS; i++)
		if (v.held[i] && gpio_irq_forget(&s, &bufs[i]))
			v.held[i] = false;
	for (unsigned i = 0; i < NBUFS; i++)
		if (v.held[i])
			abort();        /* held by nobody, never completed */
	gpio_state_reset(&s);
	gpio_state_free(&s);
	for (unsigned i = 0; i < NLINES; i++)
		if (v.fd[i] >= 0)
			abort();        /* still watched after the reset */
	return 0;
}

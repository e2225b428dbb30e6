/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * The guest's view of one chip and the rules of the virtio-gpio requests
 * (virtio 1.2+, "GPIO Device", "requestq Operation" and "eventq
 * Operation"), apart from the rings so that unit tests drive it directly.
 *
 * Per line: the direction the guest set, the value it last set (used when
 * the line becomes an output), the interrupt type, an edge latched while
 * the interrupt is masked, and the eventq buffer that unmasks it ("held":
 * at most one per line; the device completes it when the interrupt fires,
 * or INVALID when the interrupt is disabled).
 *
 * Rules (ERR for any other use):
 *  - gpio < ngpio; SET_DIRECTION 0..2; SET_VALUE 0..1;
 *  - GET_VALUE of a line the guest has not activated (direction NONE);
 *  - SET_DIRECTION NONE discards the line's state: its interrupt is
 *    disabled (a held buffer completes INVALID), its value forgotten and
 *    the host line released;
 *  - SET_DIRECTION OUT on a line whose interrupt is enabled;
 *  - SET_IRQ_TYPE only with VIRTIO_GPIO_F_IRQ negotiated, only on an input,
 *    one of NONE, EDGE_RISING, EDGE_FALLING, EDGE_BOTH, LEVEL_HIGH,
 *    LEVEL_LOW; a change from one enabled type to another must go
 *    through NONE (the same type again is accepted and changes nothing);
 *  - edge interrupts are latched while masked and delivered when the
 *    buffer comes; a level interrupt is delivered when a buffer is held
 *    while the level holds, and never latched: after it fired, only the
 *    guest re-queuing the buffer re-arms it (checked at once).
 */
#ifndef VHD_GPIO_STATE_H
#define VHD_GPIO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpio-chip.h"

struct gpio_line {
	uint8_t dir;            /* VIRTIO_GPIO_DIRECTION_* */
	uint8_t value;          /* last SET_VALUE */
	uint8_t irq_type;       /* VIRTIO_GPIO_IRQ_TYPE_* */
	bool latched;           /* an edge came while masked */
	bool watched;
	void *held;             /* the eventq buffer, or NULL (masked) */
};

/* What the state needs from the device around it. */
struct gpio_state_env {
	void *opaque;
	/* Complete held buffer `buf` of `line` with an eventq status. */
	void (*complete)(void *opaque, unsigned line, void *buf, uint8_t status);
	/* Watch / stop watching fd (readable: call gpio_irq_events).  0 or -errno. */
	int (*watch)(void *opaque, unsigned line, int fd);
	void (*unwatch)(void *opaque, unsigned line);
};

struct gpio_state {
	struct gpio_chip *chip;
	struct gpio_line *lines;
	bool irq_feature;       /* VIRTIO_GPIO_F_IRQ negotiated */
	const struct gpio_state_env *env;
};

/* A requestq message (struct virtio_gpio_request). */
struct gpio_request {
	uint16_t type;
	uint16_t gpio;
	uint32_t value;
};

int gpio_state_init(struct gpio_state *s, struct gpio_chip *chip,
		    const struct gpio_state_env *env);
void gpio_state_free(struct gpio_state *s);

/* Decode the 8 readable bytes of a request: 0, or -1 when len is not 8
 * (struct virtio_gpio_request exactly). */
int gpio_request_parse(const uint8_t *buf, size_t len, struct gpio_request *out);

/* Carry out one message other than GET_LINE_NAMES; returns
 * VIRTIO_GPIO_STATUS_OK with *value (the response's value byte) or
 * VIRTIO_GPIO_STATUS_ERR with *value 0. */
uint8_t gpio_request_exec(struct gpio_state *s, const struct gpio_request *r, uint8_t *value);

/* An eventq buffer for `line` (the unmask).  0: held (and possibly
 * completed VALID already through env->complete); -1: not acceptable (no
 * such line, interrupt not enabled, a buffer already held for the line):
 * the caller completes it INVALID. */
int gpio_irq_unmask(struct gpio_state *s, uint32_t line, void *buf);
/* The line's event fd is readable: take its edges, deliver what is due. */
void gpio_irq_events(struct gpio_state *s, unsigned line);
/* The device lets go of held buffer buf (queue stop): forget it. */
bool gpio_irq_forget(struct gpio_state *s, void *buf);
/* The connection ended: every line back to NONE, host lines released.
 * No buffer is held any more (the core released them). */
void gpio_state_reset(struct gpio_state *s);

#endif

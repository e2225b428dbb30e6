/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * A GPIO chip as the device sees it: the one internal interface behind
 * which a host chip (libgpiod: gpio-gpiod1.c for the 1.x API, gpio-gpiod2.c
 * for 2.x, configure picks one) and the simulated chip (gpio-sim.c) live.
 *
 * Promises:
 *  - lines are numbered 0..nlines-1; names[i] is never NULL ("" when the
 *    line has no name);
 *  - configure() puts a line in one mode, releasing what the previous mode
 *    held; GPIO_MODE_NONE releases the line (a host line goes back to its
 *    other users);
 *  - in GPIO_MODE_IN_EDGES, event_fd() is an fd that becomes readable when
 *    edges happened and read_events() drains them (counts of rising and
 *    falling edges since the last call), so the device can put the fd in
 *    its event loop: no thread per line, no polling;
 *  - calls on one chip come from one thread at a time (the instance's
 *    connection); the simulated chip's control thread is the chip's own
 *    business.
 * Errors are -errno.
 */
#ifndef VHD_GPIO_CHIP_H
#define VHD_GPIO_CHIP_H

#include <stdbool.h>
#include <stddef.h>

enum gpio_mode {
	GPIO_MODE_NONE,
	GPIO_MODE_IN,
	GPIO_MODE_OUT,
	GPIO_MODE_IN_EDGES,     /* input, both edges reported */
};

struct gpio_chip;

struct gpio_chip_ops {
	int (*configure)(struct gpio_chip *c, unsigned line, enum gpio_mode mode, int value);
	int (*get_value)(struct gpio_chip *c, unsigned line);   /* 0, 1 or -errno */
	int (*set_value)(struct gpio_chip *c, unsigned line, int value);
	int (*event_fd)(struct gpio_chip *c, unsigned line);
	int (*read_events)(struct gpio_chip *c, unsigned line, unsigned *rising,
			   unsigned *falling);
	void (*close)(struct gpio_chip *c);
};

struct gpio_chip {
	const struct gpio_chip_ops *ops;
	unsigned nlines;
	char **names;
	char desc[128];         /* for logs: "/dev/gpiochip0 [label]", "sim 8" */
	char id[64];            /* identity for the duplicate check */
	void *impl;
};

/* Open a host chip: a number N (/dev/gpiochipN), a path, or a label. */
int gpio_host_open(const char *spec, struct gpio_chip **out, char *err, size_t errlen);
/* Whether host chips can be opened in this build (libgpiod found). */
extern const bool gpio_host_supported;
/* A simulated chip of n lines; control: a Unix socket path for the
 * control protocol (docs/gpio.md, "Simulated chips"), or NULL. */
int gpio_sim_open(unsigned n, const char *control, struct gpio_chip **out,
		  char *err, size_t errlen);

/* Drive the external level of a simulated chip's line, as the control
 * socket's "set" does (unit tests). */
void gpio_sim_drive(struct gpio_chip *c, unsigned line, int v);

void gpio_chip_close(struct gpio_chip *c);
/* Size of the names blob (every name with its NUL) or 0 if no line has a
 * name (virtio "Device configuration layout": 0 = no names). */
size_t gpio_chip_names_size(const struct gpio_chip *c);
/* Write the blob (gpio_chip_names_size bytes) to buf. */
void gpio_chip_names(const struct gpio_chip *c, char *buf);
/* Allocate names[] of c->nlines empty strings; 0 or -ENOMEM. */
int gpio_chip_alloc_names(struct gpio_chip *c);

#endif

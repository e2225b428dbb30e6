/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Host chips through libgpiod 1.x (Debian 12's libgpiod-dev 1.6): the
 * gpio-chip.h interface over /dev/gpiochipN.  Lines are requested with
 * the consumer "vhu-gpio" (as the Rust backend) when the guest activates
 * them and released when it sets them to NONE; an input with interrupts
 * enabled is requested for both edges, and its request fd is what the
 * device watches.
 */
#include "config.h"
#include "vhost-device.h"
#include "gpio-chip.h"
#include "gpio-proto.h"

#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONSUMER "vhu-gpio"

const bool gpio_host_supported = true;

static struct gpiod_line *line_of(struct gpio_chip *c, unsigned line)
{
	return gpiod_chip_get_line(c->impl, line);
}

static int g1_configure(struct gpio_chip *c, unsigned line, enum gpio_mode mode, int value)
{
	struct gpiod_line *l = line_of(c, line);
	int r = 0;

	if (!l)
		return -errno ? -errno : -EIO;
	if (gpiod_line_is_requested(l))
		gpiod_line_release(l);
	switch (mode) {
	case GPIO_MODE_NONE:
		return 0;
	case GPIO_MODE_IN:
		r = gpiod_line_request_input(l, CONSUMER);
		break;
	case GPIO_MODE_OUT:
		r = gpiod_line_request_output(l, CONSUMER, value);
		break;
	case GPIO_MODE_IN_EDGES:
		r = gpiod_line_request_both_edges_events(l, CONSUMER);
		break;
	}
	return r < 0 ? (errno ? -errno : -EIO) : 0;
}

static int g1_get_value(struct gpio_chip *c, unsigned line)
{
	struct gpiod_line *l = line_of(c, line);
	int v = l ? gpiod_line_get_value(l) : -1;

	return v < 0 ? (errno ? -errno : -EIO) : v;
}

static int g1_set_value(struct gpio_chip *c, unsigned line, int value)
{
	struct gpiod_line *l = line_of(c, line);

	return l && gpiod_line_set_value(l, value) == 0 ? 0 : (errno ? -errno : -EIO);
}

static int g1_event_fd(struct gpio_chip *c, unsigned line)
{
	struct gpiod_line *l = line_of(c, line);

	return l ? gpiod_line_event_get_fd(l) : -1;
}

static int g1_read_events(struct gpio_chip *c, unsigned line, unsigned *rising,
			  unsigned *falling)
{
	struct gpiod_line *l = line_of(c, line);
	const struct timespec now = { 0, 0 };
	struct gpiod_line_event ev[16];

	*rising = *falling = 0;
	if (!l)
		return -EIO;
	/* The request fd blocks on read: read only what is pending. */
	while (gpiod_line_event_wait(l, &now) == 1) {
		int n = gpiod_line_event_read_multiple(l, ev, 16);

		if (n <= 0)
			return errno ? -errno : -EIO;
		for (int i = 0; i < n; i++) {
			if (ev[i].event_type == GPIOD_LINE_EVENT_RISING_EDGE)
				(*rising)++;
			else
				(*falling)++;
		}
	}
	return 0;
}

static void g1_close(struct gpio_chip *c)
{
	if (c->impl)
		gpiod_chip_close(c->impl);
	c->impl = NULL;
}

static const struct gpio_chip_ops gpiod1_ops = {
	.configure = g1_configure,
	.get_value = g1_get_value,
	.set_value = g1_set_value,
	.event_fd = g1_event_fd,
	.read_events = g1_read_events,
	.close = g1_close,
};

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

static struct gpiod_chip *open_spec(const char *spec)
{
	unsigned long long n;
	char path[64];

	if (all_digits(spec)) {
		if (vhd_parse_u64(spec, 0, 1u << 20, &n) < 0) {
			errno = ENOENT;
			return NULL;
		}
		snprintf(path, sizeof(path), "/dev/gpiochip%llu", n);
		return gpiod_chip_open(path);
	}
	if (spec[0] == '/')
		return gpiod_chip_open(spec);
	return gpiod_chip_open_by_label(spec);
}

int gpio_host_open(const char *spec, struct gpio_chip **out, char *err, size_t errlen)
{
	struct gpio_chip *c = calloc(1, sizeof(*c));
	struct gpiod_chip *g;
	unsigned n;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	errno = 0;
	g = open_spec(spec);
	if (!g) {
		int e = errno ? errno : ENOENT;

		snprintf(err, errlen, "cannot open GPIO chip '%s': %s%s", spec, strerror(e),
			 all_digits(spec) || spec[0] == '/' ? "" : " (no chip with that label)");
		free(c);
		return -e;
	}
	c->ops = &gpiod1_ops;
	c->impl = g;
	n = gpiod_chip_num_lines(g);
	if (n == 0 || n > GPIO_MAX_LINES) {
		snprintf(err, errlen, "GPIO chip '%s' has %u lines: 1..%u can be offered",
			 spec, n, GPIO_MAX_LINES);
		gpio_chip_close(c);
		return -ERANGE;
	}
	c->nlines = n;
	snprintf(c->desc, sizeof(c->desc), "/dev/%s [%s], %u lines", gpiod_chip_name(g),
		 gpiod_chip_label(g), n);
	snprintf(c->id, sizeof(c->id), "%s", gpiod_chip_name(g));
	if (gpio_chip_alloc_names(c) < 0) {
		snprintf(err, errlen, "out of memory");
		gpio_chip_close(c);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++) {
		struct gpiod_line *l = gpiod_chip_get_line(g, i);
		const char *name = l ? gpiod_line_name(l) : NULL;

		if (name && *name) {
			char *dup = strdup(name);

			if (!dup) {
				snprintf(err, errlen, "out of memory");
				gpio_chip_close(c);
				return -ENOMEM;
			}
			free(c->names[i]);
			c->names[i] = dup;
		}
	}
	*out = c;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Host chips through libgpiod 2.x (Debian 13, bookworm-backports): the
 * gpio-chip.h interface over /dev/gpiochipN, as gpio-gpiod1.c is for 1.x.
 * Each line the guest activates is a line request of its own (consumer
 * "vhu-gpio"), remade when its mode changes; an input with interrupts
 * enabled is requested with both edges, and its request fd is what the
 * device watches.
 */
#include "config.h"
#include "vhost-device.h"
#include "gpio-chip.h"
#include "gpio-proto.h"

#include <dirent.h>
#include <errno.h>
#include <gpiod.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONSUMER "vhu-gpio"
#define EVENTS_PER_READ 16

const bool gpio_host_supported = true;

struct g2_chip {
	struct gpiod_chip *chip;
	struct gpiod_line_request **req;        /* per line, NULL when released */
	struct gpiod_edge_event_buffer *events;
};

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

static struct gpiod_line_request *request_line(struct gpiod_chip *chip, unsigned line,
					       enum gpio_mode mode, int value)
{
	struct gpiod_line_settings *ls = gpiod_line_settings_new();
	struct gpiod_line_config *lc = gpiod_line_config_new();
	struct gpiod_request_config *rc = gpiod_request_config_new();
	struct gpiod_line_request *req = NULL;
	unsigned int offset = line;

	if (!ls || !lc || !rc)
		goto out;
	if (mode == GPIO_MODE_OUT) {
		if (gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_OUTPUT) < 0 ||
		    gpiod_line_settings_set_output_value(ls, value ? GPIOD_LINE_VALUE_ACTIVE
								    : GPIOD_LINE_VALUE_INACTIVE) < 0)
			goto out;
	} else {
		if (gpiod_line_settings_set_direction(ls, GPIOD_LINE_DIRECTION_INPUT) < 0)
			goto out;
		if (mode == GPIO_MODE_IN_EDGES &&
		    gpiod_line_settings_set_edge_detection(ls, GPIOD_LINE_EDGE_BOTH) < 0)
			goto out;
	}
	if (gpiod_line_config_add_line_settings(lc, &offset, 1, ls) < 0)
		goto out;
	gpiod_request_config_set_consumer(rc, CONSUMER);
	req = gpiod_chip_request_lines(chip, rc, lc);
out:
	gpiod_line_settings_free(ls);
	gpiod_line_config_free(lc);
	gpiod_request_config_free(rc);
	return req;
}

static int g2_configure(struct gpio_chip *c, unsigned line, enum gpio_mode mode, int value)
{
	struct g2_chip *g = c->impl;

	if (g->req[line]) {
		gpiod_line_request_release(g->req[line]);
		g->req[line] = NULL;
	}
	if (mode == GPIO_MODE_NONE)
		return 0;
	errno = 0;
	g->req[line] = request_line(g->chip, line, mode, value);
	return g->req[line] ? 0 : neg_errno();
}

static int g2_get_value(struct gpio_chip *c, unsigned line)
{
	struct g2_chip *g = c->impl;
	enum gpiod_line_value v;

	if (!g->req[line])
		return -EPERM;
	v = gpiod_line_request_get_value(g->req[line], line);
	if (v == GPIOD_LINE_VALUE_ERROR)
		return neg_errno();
	return v == GPIOD_LINE_VALUE_ACTIVE;
}

static int g2_set_value(struct gpio_chip *c, unsigned line, int value)
{
	struct g2_chip *g = c->impl;

	if (!g->req[line])
		return -EPERM;
	return gpiod_line_request_set_value(g->req[line], line,
					    value ? GPIOD_LINE_VALUE_ACTIVE
						  : GPIOD_LINE_VALUE_INACTIVE) < 0 ? neg_errno() : 0;
}

static int g2_event_fd(struct gpio_chip *c, unsigned line)
{
	struct g2_chip *g = c->impl;

	return g->req[line] ? gpiod_line_request_get_fd(g->req[line]) : -1;
}

static int g2_read_events(struct gpio_chip *c, unsigned line, unsigned *rising,
			  unsigned *falling)
{
	struct g2_chip *g = c->impl;
	struct gpiod_line_request *req = g->req[line];

	*rising = *falling = 0;
	if (!req)
		return -EPERM;
	/* The request fd blocks on read: read only what is pending. */
	while (gpiod_line_request_wait_edge_events(req, 0) == 1) {
		int n = gpiod_line_request_read_edge_events(req, g->events, EVENTS_PER_READ);

		if (n <= 0)
			return neg_errno();
		for (int i = 0; i < n; i++) {
			struct gpiod_edge_event *ev = gpiod_edge_event_buffer_get_event(g->events,
										   (unsigned long)i);

			if (gpiod_edge_event_get_event_type(ev) == GPIOD_EDGE_EVENT_RISING_EDGE)
				(*rising)++;
			else
				(*falling)++;
		}
	}
	return 0;
}

static void g2_close(struct gpio_chip *c)
{
	struct g2_chip *g = c->impl;

	if (!g)
		return;
	for (unsigned i = 0; g->req && i < c->nlines; i++)
		if (g->req[i])
			gpiod_line_request_release(g->req[i]);
	free(g->req);
	if (g->events)
		gpiod_edge_event_buffer_free(g->events);
	if (g->chip)
		gpiod_chip_close(g->chip);
	free(g);
	c->impl = NULL;
}

static const struct gpio_chip_ops gpiod2_ops = {
	.configure = g2_configure,
	.get_value = g2_get_value,
	.set_value = g2_set_value,
	.event_fd = g2_event_fd,
	.read_events = g2_read_events,
	.close = g2_close,
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

/* The chip whose label is `label` among /dev/gpiochip*, or NULL. */
static struct gpiod_chip *open_by_label(const char *label)
{
	DIR *dir = opendir("/dev");
	struct dirent *de;
	struct gpiod_chip *found = NULL;

	if (!dir)
		return NULL;
	while (!found && (de = readdir(dir))) {
		char path[300];
		struct gpiod_chip *chip;
		struct gpiod_chip_info *info;

		if (strncmp(de->d_name, "gpiochip", 8))
			continue;
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		if (!gpiod_is_gpiochip_device(path) || !(chip = gpiod_chip_open(path)))
			continue;
		info = gpiod_chip_get_info(chip);
		if (info && !strcmp(gpiod_chip_info_get_label(info), label))
			found = chip;
		else
			gpiod_chip_close(chip);
		if (info)
			gpiod_chip_info_free(info);
	}
	closedir(dir);
	if (!found)
		errno = ENOENT;
	return found;
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
	return open_by_label(spec);
}

static int fill_names(struct gpio_chip *c, struct gpiod_chip *chip)
{
	if (gpio_chip_alloc_names(c) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nlines; i++) {
		struct gpiod_line_info *li = gpiod_chip_get_line_info(chip, i);
		const char *name = li ? gpiod_line_info_get_name(li) : NULL;
		int r = 0;

		if (name && *name) {
			char *dup = strdup(name);

			if (dup) {
				free(c->names[i]);
				c->names[i] = dup;
			} else {
				r = -ENOMEM;
			}
		}
		if (li)
			gpiod_line_info_free(li);
		if (r < 0)
			return r;
	}
	return 0;
}

int gpio_host_open(const char *spec, struct gpio_chip **out, char *err, size_t errlen)
{
	struct gpio_chip *c = calloc(1, sizeof(*c));
	struct g2_chip *g = calloc(1, sizeof(*g));
	struct gpiod_chip_info *info = NULL;
	unsigned n;
	int r = -ENOMEM;

	if (!c || !g) {
		free(c);
		free(g);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->ops = &gpiod2_ops;
	c->impl = g;
	errno = 0;
	g->chip = open_spec(spec);
	if (!g->chip) {
		r = neg_errno();
		snprintf(err, errlen, "cannot open GPIO chip '%s': %s%s", spec, strerror(-r),
			 all_digits(spec) || spec[0] == '/' ? "" : " (no chip with that label)");
		gpio_chip_close(c);
		return r;
	}
	info = gpiod_chip_get_info(g->chip);
	if (!info) {
		r = neg_errno();
		snprintf(err, errlen, "GPIO chip '%s': no chip information: %s", spec, strerror(-r));
		gpio_chip_close(c);
		return r;
	}
	n = (unsigned)gpiod_chip_info_get_num_lines(info);
	if (n == 0 || n > GPIO_MAX_LINES) {
		snprintf(err, errlen, "GPIO chip '%s' has %u lines: 1..%u can be offered",
			 spec, n, GPIO_MAX_LINES);
		gpiod_chip_info_free(info);
		gpio_chip_close(c);
		return -ERANGE;
	}
	snprintf(c->desc, sizeof(c->desc), "/dev/%s [%s], %u lines",
		 gpiod_chip_info_get_name(info), gpiod_chip_info_get_label(info), n);
	snprintf(c->id, sizeof(c->id), "%s", gpiod_chip_info_get_name(info));
	gpiod_chip_info_free(info);
	g->req = calloc(n, sizeof(*g->req));
	g->events = gpiod_edge_event_buffer_new(EVENTS_PER_READ);
	c->nlines = n;
	if (!g->req || !g->events || fill_names(c, g->chip) < 0) {
		snprintf(err, errlen, "out of memory");
		gpio_chip_close(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Guest view and request rules of one chip (gpio-state.h). */
#include "config.h"
#include "vhost-device.h"
#include "gpio-proto.h"
#include "gpio-state.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int gpio_state_init(struct gpio_state *s, struct gpio_chip *chip,
		    const struct gpio_state_env *env)
{
	memset(s, 0, sizeof(*s));
	s->chip = chip;
	s->env = env;
	s->lines = calloc(chip->nlines, sizeof(*s->lines));
	return s->lines ? 0 : -ENOMEM;
}

void gpio_state_free(struct gpio_state *s)
{
	free(s->lines);
	s->lines = NULL;
}

int gpio_request_parse(const uint8_t *buf, size_t len, struct gpio_request *out)
{
	uint16_t t, g;
	uint32_t v;

	if (len != GPIO_REQUEST_SIZE)
		return -1;
	memcpy(&t, buf, 2);
	memcpy(&g, buf + 2, 2);
	memcpy(&v, buf + 4, 4);
	out->type = le16toh(t);
	out->gpio = le16toh(g);
	out->value = le32toh(v);
	return 0;
}

static bool is_edge(uint8_t t)
{
	return t >= VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING && t <= VIRTIO_GPIO_IRQ_TYPE_EDGE_BOTH;
}

static void complete_held(struct gpio_state *s, unsigned line, uint8_t status)
{
	void *buf = s->lines[line].held;

	s->lines[line].held = NULL;
	s->env->complete(s->env->opaque, line, buf, status);
}

/* Deliver the line's interrupt if it is unmasked and due. */
static void deliver(struct gpio_state *s, unsigned line)
{
	struct gpio_line *l = &s->lines[line];
	int v;

	if (!l->held || l->irq_type == VIRTIO_GPIO_IRQ_TYPE_NONE)
		return;
	if (is_edge(l->irq_type)) {
		if (l->latched) {
			l->latched = false;
			complete_held(s, line, VIRTIO_GPIO_IRQ_STATUS_VALID);
		}
		return;
	}
	v = s->chip->ops->get_value(s->chip, line);
	if ((l->irq_type == VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH && v == 1) ||
	    (l->irq_type == VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW && v == 0))
		complete_held(s, line, VIRTIO_GPIO_IRQ_STATUS_VALID);
}

static void unwatch(struct gpio_state *s, unsigned line)
{
	if (s->lines[line].watched) {
		s->env->unwatch(s->env->opaque, line);
		s->lines[line].watched = false;
	}
}

/* Interrupt off: the spec's "discard any latched interrupt" and "return
 * the buffers ... INVALID". */
static void irq_disable(struct gpio_state *s, unsigned line)
{
	struct gpio_line *l = &s->lines[line];

	unwatch(s, line);
	l->irq_type = VIRTIO_GPIO_IRQ_TYPE_NONE;
	l->latched = false;
	if (l->held)
		complete_held(s, line, VIRTIO_GPIO_IRQ_STATUS_INVALID);
}

static uint8_t set_irq_type(struct gpio_state *s, unsigned line, uint32_t type)
{
	struct gpio_line *l = &s->lines[line];
	struct gpio_chip *c = s->chip;
	int fd;

	if (!s->irq_feature)
		return VIRTIO_GPIO_STATUS_ERR;
	if (type == VIRTIO_GPIO_IRQ_TYPE_NONE) {
		if (l->irq_type != VIRTIO_GPIO_IRQ_TYPE_NONE) {
			irq_disable(s, line);
			/* Back to a plain input; failing that the line
			 * still reads, only its edges go unwatched. */
			if (c->ops->configure(c, line, GPIO_MODE_IN, 0) < 0)
				LOG_WARN("gpio line %u: back to input: failed", line);
		}
		return VIRTIO_GPIO_STATUS_OK;
	}
	if (!is_edge((uint8_t)type) && type != VIRTIO_GPIO_IRQ_TYPE_LEVEL_HIGH &&
	    type != VIRTIO_GPIO_IRQ_TYPE_LEVEL_LOW)
		return VIRTIO_GPIO_STATUS_ERR;
	if (l->dir != VIRTIO_GPIO_DIRECTION_IN)
		return VIRTIO_GPIO_STATUS_ERR;
	if (l->irq_type == type)
		return VIRTIO_GPIO_STATUS_OK;
	if (l->irq_type != VIRTIO_GPIO_IRQ_TYPE_NONE)
		return VIRTIO_GPIO_STATUS_ERR;
	/* Both edges from the chip whatever the type: edge types filter
	 * them, level types re-read the level on each. */
	if (c->ops->configure(c, line, GPIO_MODE_IN_EDGES, 0) < 0)
		return VIRTIO_GPIO_STATUS_ERR;
	fd = c->ops->event_fd(c, line);
	if (fd < 0 || s->env->watch(s->env->opaque, line, fd) < 0) {
		(void)c->ops->configure(c, line, GPIO_MODE_IN, 0);
		return VIRTIO_GPIO_STATUS_ERR;
	}
	l->watched = true;
	l->irq_type = (uint8_t)type;
	l->latched = false;
	deliver(s, line);
	return VIRTIO_GPIO_STATUS_OK;
}

static uint8_t set_direction(struct gpio_state *s, unsigned line, uint32_t dir)
{
	struct gpio_line *l = &s->lines[line];
	struct gpio_chip *c = s->chip;
	enum gpio_mode mode;

	switch (dir) {
	case VIRTIO_GPIO_DIRECTION_NONE:
		irq_disable(s, line);
		if (l->dir != VIRTIO_GPIO_DIRECTION_NONE)
			(void)c->ops->configure(c, line, GPIO_MODE_NONE, 0);
		l->dir = VIRTIO_GPIO_DIRECTION_NONE;
		l->value = 0;
		return VIRTIO_GPIO_STATUS_OK;
	case VIRTIO_GPIO_DIRECTION_OUT:
		if (l->irq_type != VIRTIO_GPIO_IRQ_TYPE_NONE)
			return VIRTIO_GPIO_STATUS_ERR;
		mode = GPIO_MODE_OUT;
		break;
	case VIRTIO_GPIO_DIRECTION_IN:
		if (l->dir == VIRTIO_GPIO_DIRECTION_IN)
			return VIRTIO_GPIO_STATUS_OK;   /* already (maybe with edges) */
		mode = GPIO_MODE_IN;
		break;
	default:
		return VIRTIO_GPIO_STATUS_ERR;
	}
	if (c->ops->configure(c, line, mode, l->value) < 0)
		return VIRTIO_GPIO_STATUS_ERR;
	l->dir = (uint8_t)dir;
	return VIRTIO_GPIO_STATUS_OK;
}

uint8_t gpio_request_exec(struct gpio_state *s, const struct gpio_request *r, uint8_t *value)
{
	struct gpio_chip *c = s->chip;
	struct gpio_line *l;
	int v;

	*value = 0;
	if (r->gpio >= c->nlines)
		return VIRTIO_GPIO_STATUS_ERR;
	l = &s->lines[r->gpio];
	switch (r->type) {
	case VIRTIO_GPIO_MSG_GET_DIRECTION:
		*value = l->dir;
		return VIRTIO_GPIO_STATUS_OK;
	case VIRTIO_GPIO_MSG_SET_DIRECTION:
		return set_direction(s, r->gpio, r->value);
	case VIRTIO_GPIO_MSG_GET_VALUE:
		if (l->dir == VIRTIO_GPIO_DIRECTION_NONE)
			return VIRTIO_GPIO_STATUS_ERR;
		v = c->ops->get_value(c, r->gpio);
		if (v < 0)
			return VIRTIO_GPIO_STATUS_ERR;
		*value = (uint8_t)v;
		return VIRTIO_GPIO_STATUS_OK;
	case VIRTIO_GPIO_MSG_SET_VALUE:
		if (r->value > 1)
			return VIRTIO_GPIO_STATUS_ERR;
		/* Kept for a later SET_DIRECTION OUT ("Set Value"). */
		if (l->dir == VIRTIO_GPIO_DIRECTION_OUT &&
		    c->ops->set_value(c, r->gpio, (int)r->value) < 0)
			return VIRTIO_GPIO_STATUS_ERR;
		l->value = (uint8_t)r->value;
		return VIRTIO_GPIO_STATUS_OK;
	case VIRTIO_GPIO_MSG_SET_IRQ_TYPE:
		return set_irq_type(s, r->gpio, r->value);
	default:
		return VIRTIO_GPIO_STATUS_ERR;
	}
}

int gpio_irq_unmask(struct gpio_state *s, uint32_t line, void *buf)
{
	struct gpio_line *l;

	if (line >= s->chip->nlines)
		return -1;
	l = &s->lines[line];
	/* "The driver MUST NOT add multiple pairs of buffers for the same
	 * GPIO line": the first stays, the extra one goes back INVALID. */
	if (l->held || l->irq_type == VIRTIO_GPIO_IRQ_TYPE_NONE)
		return -1;
	l->held = buf;
	LOG_DEBUG("gpio line %u: unmasked (%s)", line, l->latched ? "an edge is latched" : "waiting");
	deliver(s, line);
	return 0;
}

void gpio_irq_events(struct gpio_state *s, unsigned line)
{
	struct gpio_line *l = &s->lines[line];
	unsigned rising = 0, falling = 0;

	if (s->chip->ops->read_events(s->chip, line, &rising, &falling) < 0) {
		/* A request fd that keeps failing would spin the loop. */
		LOG_ERR("gpio line %u: cannot read its events: interrupts stop", line);
		unwatch(s, line);
		return;
	}
	LOG_DEBUG("gpio line %u: %u rising, %u falling edges (interrupt type %u, %s)", line,
		  rising, falling, l->irq_type, l->held ? "unmasked" : "masked");
	if (((l->irq_type & VIRTIO_GPIO_IRQ_TYPE_EDGE_RISING) && rising) ||
	    ((l->irq_type & VIRTIO_GPIO_IRQ_TYPE_EDGE_FALLING) && falling))
		if (is_edge(l->irq_type))
			l->latched = true;
	deliver(s, line);
}

bool gpio_irq_forget(struct gpio_state *s, void *buf)
{
	for (unsigned i = 0; i < s->chip->nlines; i++)
		if (s->lines[i].held == buf) {
			s->lines[i].held = NULL;
			return true;
		}
	return false;
}

void gpio_state_reset(struct gpio_state *s)
{
	for (unsigned i = 0; i < s->chip->nlines; i++) {
		struct gpio_line *l = &s->lines[i];

		unwatch(s, i);
		if (l->dir != VIRTIO_GPIO_DIRECTION_NONE || l->irq_type)
			(void)s->chip->ops->configure(s->chip, i, GPIO_MODE_NONE, 0);
		memset(l, 0, sizeof(*l));
	}
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/* Reports waiting for the guest's buffers: input-batch.h. */
#include "config.h"
#include "input-batch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int input_batch_init(struct input_batch *b, unsigned max)
{
	memset(b, 0, sizeof(*b));
	if (max < 2 || max > (1u << 20))
		return -EINVAL;
	b->ring = calloc(max, sizeof(*b->ring));
	b->partial = calloc(max, sizeof(*b->partial));
	if (!b->ring || !b->partial) {
		input_batch_free(b);
		return -ENOMEM;
	}
	b->max = max;
	return 0;
}

void input_batch_free(struct input_batch *b)
{
	free(b->ring);
	free(b->partial);
	memset(b, 0, sizeof(*b));
}

void input_batch_clear(struct input_batch *b)
{
	b->head = b->count = 0;
	b->npartial = 0;
	b->partial_lost = false;
}

static bool is_end(const struct input_ev *e)
{
	return e->type == INPUT_EV_SYN &&
	       (e->code == INPUT_SYN_REPORT || e->code == INPUT_SYN_DROPPED);
}

static void ring_put(struct input_batch *b, const struct input_ev *e)
{
	b->ring[(b->head + b->count) % b->max] = *e;
	b->count++;
}

static unsigned count_reports(const struct input_batch *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->count; i++)
		if (is_end(&b->ring[(b->head + i) % b->max]))
			n++;
	return n;
}

/* Drop every waiting report and queue one SYN_DROPPED marker. */
static void drop_all(struct input_batch *b)
{
	static const struct input_ev marker = { INPUT_EV_SYN, INPUT_SYN_DROPPED, 0 };
	unsigned lost = count_reports(b);

	/* A marker already waiting stands for the earlier loss too. */
	for (unsigned i = 0; i < b->count; i++) {
		const struct input_ev *e = &b->ring[(b->head + i) % b->max];

		if (e->type == INPUT_EV_SYN && e->code == INPUT_SYN_DROPPED)
			lost--;
	}
	b->dropped_reports += lost;
	b->head = b->count = 0;
	ring_put(b, &marker);
	b->drops++;
}

/* A finished report (partial[0..npartial)) joins the waiting ones. */
static void commit(struct input_batch *b)
{
	if (b->partial_lost || b->npartial > b->max - 1) {
		/* Too long to ever wait here: lost like an overflow. */
		b->dropped_reports++;
		drop_all(b);
	} else {
		if (b->count + b->npartial > b->max)
			drop_all(b);
		for (unsigned i = 0; i < b->npartial; i++)
			ring_put(b, &b->partial[i]);
	}
	b->npartial = 0;
	b->partial_lost = false;
}

void input_batch_add(struct input_batch *b, uint16_t type, uint16_t code, uint32_t value)
{
	struct input_ev e = { type, code, value };

	if (type == INPUT_EV_SYN && code == INPUT_SYN_DROPPED) {
		/* The source lost events: its unfinished report is not whole. */
		if (b->npartial || b->partial_lost)
			b->dropped_reports++;
		b->npartial = 0;
		b->partial_lost = false;
		if (b->count + 1 > b->max)
			drop_all(b);
		else {
			ring_put(b, &e);
			b->drops++;
		}
		return;
	}
	if (b->npartial < b->max)
		b->partial[b->npartial++] = e;
	else
		b->partial_lost = true;
	if (type == INPUT_EV_SYN && code == INPUT_SYN_REPORT)
		commit(b);
}

unsigned input_batch_next_len(const struct input_batch *b)
{
	for (unsigned i = 0; i < b->count; i++)
		if (is_end(&b->ring[(b->head + i) % b->max]))
			return i + 1;
	return 0;       /* unreachable: only whole reports wait */
}

unsigned input_batch_pop(struct input_batch *b, struct input_ev *out, unsigned cap)
{
	unsigned n = input_batch_next_len(b);

	if (n > cap)
		return 0;
	for (unsigned i = 0; i < n; i++)
		out[i] = b->ring[(b->head + i) % b->max];
	b->head = (b->head + n) % b->max;
	b->count -= n;
	if (!b->count)
		b->head = 0;
	return n;
}

void input_batch_drop_next(struct input_batch *b)
{
	unsigned n = input_batch_next_len(b);

	if (!n)
		return;
	/* The marker replaces the report's last event (its SYN_REPORT). */
	b->head = (b->head + n - 1) % b->max;
	b->count -= n - 1;
	b->ring[b->head] = (struct input_ev){ INPUT_EV_SYN, INPUT_SYN_DROPPED, 0 };
	b->dropped_reports++;
	b->drops++;
}

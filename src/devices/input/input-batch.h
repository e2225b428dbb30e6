/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Reports waiting for the guest's event buffers.
 *
 * An input device speaks in reports: events ending with EV_SYN/SYN_REPORT
 * (virtio 1.2, 5.8.6.2 "Device Operation": the events are the evdev
 * events of the Linux input layer).  The device delivers only whole
 * reports -- a guest never sees the first half of a report whose second
 * half was lost -- so events collect here until their SYN_REPORT, then
 * wait as one report until enough buffers are there for all of it.
 *
 * The wait is bounded (max events).  When a finished report does not fit,
 * every waiting report is dropped and a lone EV_SYN/SYN_DROPPED takes
 * their place before the new report: what Linux's evdev does when a
 * reader falls behind (Documentation/input/event-codes.rst, SYN_DROPPED).
 * A SYN_DROPPED from the source itself (its own buffer overflowed)
 * discards the unfinished report and is passed on the same way.
 *
 * Pure logic, no I/O: unit-tested in tests/unit/test-input.c.
 */
#ifndef VHD_INPUT_BATCH_H
#define VHD_INPUT_BATCH_H

#include <stdbool.h>
#include <stdint.h>

/* The evdev constants this module needs (linux/input-event-codes.h). */
#define INPUT_EV_SYN 0x00
#define INPUT_SYN_REPORT 0
#define INPUT_SYN_DROPPED 3

/* One event as the guest reads it (struct virtio_input_event, host
 * order here; the device converts to little endian when it writes). */
struct input_ev {
	uint16_t type;
	uint16_t code;
	uint32_t value;
};

struct input_batch {
	unsigned max;                   /* events that may wait, >= 2 */
	/* Finished reports, oldest first: a ring of `max` events. */
	struct input_ev *ring;
	unsigned head, count;
	/* The report being collected. */
	struct input_ev *partial;
	unsigned npartial;
	bool partial_lost;              /* it outgrew max: drop it at its end */
	uint64_t dropped_reports;       /* reports never delivered */
	uint64_t drops;                 /* SYN_DROPPED markers queued */
};

/* max: events that may wait (2 .. 1 << 20).  0 or -ENOMEM/-EINVAL. */
int input_batch_init(struct input_batch *b, unsigned max);
void input_batch_free(struct input_batch *b);
/* Forget everything waiting (a new connection starts clean). */
void input_batch_clear(struct input_batch *b);

/* One event from the source.  A SYN_REPORT finishes the report; a
 * SYN_DROPPED discards the unfinished one and queues a marker. */
void input_batch_add(struct input_batch *b, uint16_t type, uint16_t code, uint32_t value);

/* Events in the oldest waiting report (0: none waits).  A marker
 * (SYN_DROPPED) is a report of one event. */
unsigned input_batch_next_len(const struct input_batch *b);
/* Take the oldest report into out[0..input_batch_next_len()); returns
 * its length. */
unsigned input_batch_pop(struct input_batch *b, struct input_ev *out, unsigned cap);
/* Drop the oldest report (it can never be delivered: longer than the
 * guest's ring) and put a SYN_DROPPED marker in its place. */
void input_batch_drop_next(struct input_batch *b);

static inline unsigned input_batch_waiting(const struct input_batch *b)
{
	return b->count;
}

#endif

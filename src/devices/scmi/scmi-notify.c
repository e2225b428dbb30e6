/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * SCMI notifications on the event queue (virtio 1.3, 5.17.6.2: the
 * driver gives the device writable buffers on the eventq, which the
 * device holds until it has a notification).  Continuous updates
 * (DEN0056 4.7.2.12) are sampled on a timer at each sensor's configured
 * update interval, for sensors that are enabled and whose notifications
 * the agent asked for.  With no buffer held the notification is dropped
 * (the agent is behind; an old reading is worth nothing) and counted.
 * Buffers complete in the order they were popped, so when the queue
 * stops every held buffer is given back to the ring (vhost-device.h,
 * "Held requests").
 */
#include "config.h"
#include "scmi-dev.h"

#include <stdlib.h>
#include <string.h>

/* Header, agent_id, sensor_id and 3 readings of 16 bytes. */
#define NOTIFICATION_MAX (12 + 16 * SCMI_MAX_AXES)

static bool due(const struct scmi_agent *a, unsigned i)
{
	return a->st[i].notify && (a->st[i].config & SCMI_CFG_ENABLED);
}

void scmi_notify_plan(struct scmi_dev *d)
{
	uint64_t first = UINT64_MAX, now;

	d->agent.notify_changed = false;
	if (!d->timer)
		return;
	for (unsigned i = 0; i < d->set->n; i++)
		if (due(&d->agent, i) && d->agent.st[i].next_due_ns < first)
			first = d->agent.st[i].next_due_ns;
	if (first == UINT64_MAX) {
		vhd_timer_disarm(d->timer);
		return;
	}
	now = scmi_now_ns();
	vhd_timer_arm(d->timer, first > now ? first - now : 0);
}

/* Send sensor i's update in the oldest held buffer.  True if one was
 * completed. */
static bool send_update(struct scmi_dev *d, unsigned i)
{
	uint8_t buf[NOTIFICATION_MAX];
	struct vq_elem *e;
	long len;

	if (!d->nheld) {
		d->dropped++;
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: no event buffer for sensor %u's update: dropped "
				    "(%llu so far)", vu_dev_name(d->dev), i,
				    (unsigned long long)d->dropped);
		return false;
	}
	len = scmi_sensor_update_notification(&d->agent, i, buf, sizeof(buf));
	if (len <= 0) {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: sensor %u (%s) could not be read: no update sent",
				    vu_dev_name(d->dev), i, d->set->sensors[i]->name);
		return false;
	}
	e = d->held[0];
	memmove(&d->held[0], &d->held[1], (d->nheld - 1) * sizeof(d->held[0]));
	d->nheld--;
	if (e->wr_len < (uint32_t)len) {
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: event buffer of %u bytes, an update needs %ld: completed empty",
				    vu_dev_name(d->dev), e->wr_len, len);
		len = 0;
	}
	iov_from_buf(e->wr, e->n_wr, 0, buf, (size_t)len);
	vq_push(vu_dev_queue(d->dev, SCMI_EVENTQ), e, (uint32_t)len);
	return true;
}

static void timer_cb(struct vhd_timer *t, void *opaque)
{
	struct scmi_dev *d = opaque;
	uint64_t now = scmi_now_ns();
	bool sent = false;

	(void)t;
	for (unsigned i = 0; i < d->set->n; i++) {
		struct scmi_sensor_state *st = &d->agent.st[i];
		uint64_t every = scmi_cfg_interval_ns(st->config);

		if (!due(&d->agent, i) || st->next_due_ns > now)
			continue;
		if (vu_queue_processable(d->dev, SCMI_EVENTQ))
			sent |= send_update(d, i);
		/* Keep the cadence, but never catch up on a backlog. */
		st->next_due_ns += every;
		if (st->next_due_ns <= now)
			st->next_due_ns = now + every;
	}
	if (sent)
		vq_notify(vu_dev_queue(d->dev, SCMI_EVENTQ));
	scmi_notify_plan(d);
}

static bool take_buffer(struct vu_dev *dev, struct virtqueue *q, struct vq_elem *e,
			void *opaque)
{
	struct scmi_dev *d = opaque;

	if (e->n_rd || !e->n_wr) {
		/* Not an event buffer (5.17.6.2: device-writable only). */
		vhd_log_ratelimited(&d->log_budget, 5, VHD_LOG_WARN,
				    "%s: event buffer with %u readable and %u writable bytes: "
				    "completed empty", vu_dev_name(dev), e->rd_len, e->wr_len);
		vq_push(q, e, 0);
		return true;
	}
	/* The core pops no more than the ring holds, so held[] fits. */
	d->held[d->nheld++] = e;
	return true;
}

void scmi_notify_kick(struct scmi_dev *d)
{
	if (!d->held)
		return;         /* connect could not allocate */
	vu_queue_process(d->dev, SCMI_EVENTQ, take_buffer, d);
}

uint32_t scmi_notify_cancel(struct scmi_dev *d, struct vq_elem *e)
{
	for (unsigned i = 0; i < d->nheld; i++)
		if (d->held[i] == e) {
			memmove(&d->held[i], &d->held[i + 1], (d->nheld - i - 1) * sizeof(d->held[0]));
			d->nheld--;
			break;
		}
	return 0;
}

int scmi_notify_connect(struct scmi_dev *d, struct vu_dev *dev)
{
	d->nheld = 0;
	d->dropped = 0;
	d->held = calloc(SCMI_QUEUE_SIZE, sizeof(*d->held));
	d->timer = vhd_timer_new(vu_dev_loop(dev), timer_cb, d);
	if (!d->held || !d->timer) {
		scmi_notify_disconnect(d);
		return -1;
	}
	return 0;
}

void scmi_notify_disconnect(struct scmi_dev *d)
{
	vhd_timer_free(d->timer);
	d->timer = NULL;
	free(d->held);
	d->held = NULL;
	d->nheld = 0;
}

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * One vhost-device-scmi instance (one socket) and what its modules share:
 * scmi.c serves the command queue, scmi-notify.c the event queue.
 */
#ifndef VHD_SCMI_DEV_H
#define VHD_SCMI_DEV_H

#include "vhost-device.h"
#include "scmi-msg.h"

#define SCMI_QUEUE_SIZE 1024
#define SCMI_CMDQ 0
#define SCMI_EVENTQ 1
/* virtio 1.3, 5.17.3: the device has an event queue (P2A channel). */
#define VIRTIO_SCMI_F_P2A_CHANNELS 0

struct scmi_dev {
	const struct scmi_sensor_set *set;  /* the options' sensors */
	/* Per connection: */
	struct vu_dev *dev;
	struct scmi_agent agent;
	bool agent_ok;
	struct vq_elem **held;              /* event buffers, in pop order */
	unsigned nheld;
	struct vhd_timer *timer;            /* next notification due */
	uint64_t dropped;                   /* notifications without a buffer */
	unsigned log_budget;
};

/* Event queue (scmi-notify.c). */
int scmi_notify_connect(struct scmi_dev *d, struct vu_dev *dev);
void scmi_notify_disconnect(struct scmi_dev *d);
void scmi_notify_kick(struct scmi_dev *d);
/* The agent changed what is due: re-plan the timer. */
void scmi_notify_plan(struct scmi_dev *d);
uint32_t scmi_notify_cancel(struct scmi_dev *d, struct vq_elem *e);

#endif

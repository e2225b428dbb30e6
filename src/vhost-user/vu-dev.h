/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * One frontend connection: protocol state, memory table, rings.
 * Internal to the core (devices see the opaque struct vu_dev through
 * vhost-device.h).
 *
 * Promises:
 *  - vu_dev_handle_message() validates a message centrally before any
 *    handler runs (known request, payload size, fd count, queue index),
 *    answers REPLY_ACK in one place (a reply iff NEED_REPLY was set, u64 0
 *    or 1, NEED_REPLY never echoed), closes every fd the handler did not
 *    keep, and returns < 0 only when the connection cannot continue.
 *  - Ring state: started (SET_VRING_KICK .. GET_VRING_BASE) and enabled
 *    (SET_VRING_ENABLE, or all rings when SET_FEATURES lacks bit 30) are
 *    independent; a queue is processed only when started, enabled, its
 *    rings translate inside guest memory and it is not broken.
 *  - GET_VRING_BASE stops the ring: the device's queue_stop runs, then the
 *    core releases what the device still holds (vhost-device.h, "Held
 *    requests"), before the reply reports the next avail index.
 *  - vu_dev_destroy() leaves no fd, mapping or allocation behind.
 */
#ifndef VHD_VU_DEV_H
#define VHD_VU_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "vhost-device.h"
#include "vhost-user/msg.h"
#include "mem/guest-mem.h"
#include "util/event-loop.h"

struct vu_queue_state {
	struct vu_dev *dev;
	unsigned index;
	struct vhd_handler kick;   /* kick.fd = -1 when none */
	struct vhd_poller poller;  /* registered with the kick handler */
	bool started;
	bool enabled;
	bool running;             /* queue_start called, queue_stop not yet */
	bool schedule_pending;
	/* What GET_VRING_BASE stopped: a ring that starts again elsewhere
	 * means a new driver (vu-handlers.c, driver_reset_check). */
	bool was_stopped;
	uint32_t stop_base;
	uint64_t stop_desc, stop_avail, stop_used;
	unsigned thread;          /* 0 = connection thread, else queue thread */
	char log_name[96];
};

struct vu_dev {
	const struct vu_device_ops *ops;
	void *priv;
	const char *name;         /* socket path (for logs) */
	int sock;
	struct vhd_loop *loop;

	uint64_t offered_features;
	uint64_t offered_protocol;
	uint64_t features;        /* acked by SET_FEATURES */
	uint64_t protocol;        /* acked by SET_PROTOCOL_FEATURES */
	bool features_set;
	bool owner;
	uint8_t status;
	bool xen_mmap;            /* XEN_MMAP negotiated: 40-byte regions */

	struct gm_table *mem;
	unsigned nvqs;
	struct virtqueue *vqs;
	struct vu_queue_state *qs;

	int backend_fd;           /* backend request channel, -1 if none */
	struct vhd_timer *sched_timer;  /* runs scheduled queue kicks */

	struct vu_qthreads *qt;   /* queue threads (vu-qthread.c), NULL if none */
	bool qt_paused;

	unsigned log_budget;      /* rate limit for frontend-caused errors */
	unsigned msg_count;
};

/* Create the state of a new connection on `sock` (not owned). */
struct vu_dev *vu_dev_new(const struct vu_device_ops *ops, void *priv,
			  const char *name, int sock, struct vhd_loop *loop,
			  uint64_t extra_protocol);
/* Stop every queue, reset the device, free everything. */
void vu_dev_destroy(struct vu_dev *dev);

/* Handle one received message (fds owned by msg, closed here).
 * 0 to go on; < 0: the connection must be closed. */
int vu_dev_handle_message(struct vu_dev *dev, struct vu_msg *msg);

/* Internal to the vhost-user layer (vu-dev.c, vu-handlers.c). */
void vu_queue_update(struct vu_dev *dev, unsigned i);
void vu_queue_set_kick(struct vu_dev *dev, unsigned i, int fd);
void vu_dev_reset_state(struct vu_dev *dev);
/* Give back or complete what the device still holds on queue i (the
 * stop rule of vhost-device.h, "Held requests"); no-op when nothing is. */
void vu_queue_release_held(struct vu_dev *dev, unsigned i);
/* Run the scheduled kicks of the queues served by thread `thread`. */
void vu_dev_run_scheduled(struct vu_dev *dev, unsigned thread);

/* Features the core offers for a device (GET_FEATURES). */
uint64_t vu_dev_offered_features(const struct vu_device_ops *ops);
uint64_t vu_dev_offered_protocol(const struct vu_device_ops *ops);

#endif

/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * Connection lifecycle and ring state (started/enabled/running), and the
 * calls a device makes on its connection.  The message handlers live in
 * vu-handlers.c.
 */
#include "config.h"
#include "vhost-user/vu-dev.h"
#include "vhost-user/vu-qthread.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

uint64_t vu_dev_offered_features(const struct vu_device_ops *ops)
{
	return ops->features |
	       VHD_BIT(VIRTIO_F_VERSION_1) |
	       VHD_BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	       VHD_BIT(VIRTIO_RING_F_EVENT_IDX) |
	       VHD_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) |
	       VHD_BIT(VIRTIO_F_RING_PACKED) |
	       VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
}

uint64_t vu_dev_offered_protocol(const struct vu_device_ops *ops)
{
	uint64_t p = VHD_BIT(VHU_PF_MQ) | VHD_BIT(VHU_PF_REPLY_ACK) |
		     VHD_BIT(VHU_PF_BACKEND_REQ) | VHD_BIT(VHU_PF_RESET_DEVICE) |
		     VHD_BIT(VHU_PF_CONFIGURE_MEM_SLOTS) | VHD_BIT(VHU_PF_STATUS);
	/* CONFIG only for devices whose QEMU frontend wants it: QEMU
	 * 7.2.0-7.2.2 crash when rng/i2c/scsi backends offer it. */
	if (ops->config_size)
		p |= VHD_BIT(VHU_PF_CONFIG);
	return p;
}

static void kick_cb(struct vhd_handler *h, uint32_t events)
{
	struct vu_queue_state *qs = h->opaque;
	uint64_t v;

	if (read(h->fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		/* A kick fd that errors would spin the loop: drop it. */
		LOG_WARN("%s: kick fd error: %s; queue waits for a new kick fd",
			 qs->log_name, strerror(errno));
		vhd_loop_del(h);
		return;
	}
	if (qs->running)
		qs->dev->ops->queue_kick(qs->dev, qs->index);
}

/*
 * Adaptive polling (event-loop.h): the ring is looked at instead of
 * waiting for the driver's kick.  Progress means the device popped a
 * request: a device that leaves the ring alone (paused by a quota, an rx
 * queue with no data to deliver) made none, so an idle or paused queue
 * never keeps the loop polling.
 */
static bool queue_poll(struct vhd_poller *p)
{
	struct vu_queue_state *qs = p->opaque;
	struct virtqueue *q = &qs->dev->vqs[qs->index];
	uint32_t before = q->pops;

	if (!qs->running || !vq_avail_pending(q))
		return false;
	/* The device turns kicks back on when it is done (vu_queue_process):
	 * left so, whatever the loop does next, no kick can be lost. */
	qs->dev->ops->queue_kick(qs->dev, qs->index);
	return q->pops != before;
}

static bool queue_poll_notify(struct vhd_poller *p, bool on)
{
	struct vu_queue_state *qs = p->opaque;
	struct virtqueue *q = &qs->dev->vqs[qs->index];

	if (!qs->running)
		return false;
	if (!on) {
		vq_disable_notify(q);
		return false;
	}
	return vq_enable_notify(q);
}

void vu_dev_run_scheduled(struct vu_dev *dev, unsigned thread)
{
	for (unsigned i = 0; i < dev->nvqs; i++) {
		struct vu_queue_state *qs = &dev->qs[i];
		if (qs->thread != thread || !qs->schedule_pending)
			continue;
		qs->schedule_pending = false;
		if (qs->running)
			dev->ops->queue_kick(dev, i);
	}
}

static void sched_cb(struct vhd_timer *t, void *opaque)
{
	vu_dev_run_scheduled(opaque, 0);
}

struct vu_dev *vu_dev_new(const struct vu_device_ops *ops, void *priv,
			  const char *name, int sock, struct vhd_loop *loop,
			  uint64_t extra_protocol)
{
	struct vu_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->ops = ops;
	dev->priv = priv;
	dev->name = name;
	dev->sock = sock;
	dev->loop = loop;
	dev->backend_fd = -1;
	dev->offered_features = vu_dev_offered_features(ops);
	dev->offered_protocol = vu_dev_offered_protocol(ops) | extra_protocol;
	dev->nvqs = ops->num_queues;
	dev->vqs = calloc(dev->nvqs, sizeof(*dev->vqs));
	dev->qs = calloc(dev->nvqs, sizeof(*dev->qs));
	dev->mem = gm_table_new_empty();
	dev->sched_timer = vhd_timer_new(loop, sched_cb, dev);
	if (!dev->vqs || !dev->qs || !dev->mem || !dev->sched_timer) {
		free(dev->vqs);
		free(dev->qs);
		gm_table_unref(dev->mem);
		vhd_timer_free(dev->sched_timer);
		free(dev);
		return NULL;
	}
	for (unsigned i = 0; i < dev->nvqs; i++) {
		struct vu_queue_state *qs = &dev->qs[i];
		qs->dev = dev;
		qs->index = i;
		qs->kick.fd = -1;
		qs->kick.cb = kick_cb;
		qs->kick.opaque = qs;
		qs->poller.poll = queue_poll;
		qs->poller.notify = queue_poll_notify;
		qs->poller.opaque = qs;
		snprintf(qs->log_name, sizeof(qs->log_name), "%s q%u", name, i);
		vq_init(&dev->vqs[i], i, qs->log_name);
	}
	if (vu_qthreads_create(dev) < 0) {
		vu_dev_destroy(dev);
		return NULL;
	}
	if (ops->connected)
		ops->connected(dev);
	if (vu_qthreads_start(dev) < 0) {
		vu_dev_destroy(dev);
		return NULL;
	}
	return dev;
}

static uint32_t cancel_cb(struct vq_elem *e, bool give_back, void *opaque)
{
	struct vu_queue_state *qs = opaque;

	return qs->dev->ops->elem_cancel(qs->dev, qs->index, e, give_back);
}

/*
 * The one rule for held elements when a queue stops (vhost-device.h,
 * "Held requests"): after the device's queue_stop, whatever it still
 * holds is given back (the suffix of the popped sequence) or completed
 * as cancelled, so the next avail index we report (GET_VRING_BASE) or
 * the used index a reconnecting frontend restarts from (QEMU syncs
 * last_avail_idx to used->idx when the backend is gone) loses and
 * repeats nothing.
 */
void vu_queue_release_held(struct vu_dev *dev, unsigned i)
{
	struct vu_queue_state *qs = &dev->qs[i];
	struct virtqueue *q = &dev->vqs[i];
	unsigned held = q->inflight, back = 0, done;

	if (!held)
		return;
	if (!dev->ops->elem_cancel)
		LOG_ERR("%s: device left %u requests held at stop and has no elem_cancel: released anyway",
			qs->log_name, held);
	done = vq_release_held(q, dev->ops->elem_cancel ? cancel_cb : NULL, qs, &back);
	LOG_DEBUG("%s: stop with %u held requests: %u given back, %u completed as cancelled",
		  qs->log_name, held, back, done);
	if (done)
		vq_notify(q);
}

/* Start or stop the device's use of queue i to match its state. */
void vu_queue_update(struct vu_dev *dev, unsigned i)
{
	struct vu_queue_state *qs = &dev->qs[i];
	bool should = qs->started && qs->enabled && vq_ready(&dev->vqs[i]);

	if (should == qs->running)
		return;
	qs->running = should;
	if (should) {
		LOG_DEBUG("%s: running", qs->log_name);
		if (dev->ops->queue_start)
			dev->ops->queue_start(dev, i);
		/* Buffers may already wait: the driver kicked before we ran. */
		vu_queue_schedule(dev, i);
	} else {
		LOG_DEBUG("%s: paused", qs->log_name);
		qs->schedule_pending = false;
		if (dev->ops->queue_stop)
			dev->ops->queue_stop(dev, i);
		vu_queue_release_held(dev, i);
	}
}

void vu_queue_set_kick(struct vu_dev *dev, unsigned i, int fd)
{
	struct vu_queue_state *qs = &dev->qs[i];

	if (qs->kick.fd >= 0) {
		vhd_loop_del(&qs->kick);
		close(qs->kick.fd);
	}
	vhd_loop_del_poller(&qs->poller);
	qs->kick.fd = fd;
	if (fd >= 0 && vhd_loop_add(vu_qthreads_loop(dev, i), &qs->kick, EPOLLIN) < 0) {
		LOG_ERR("%s: cannot watch kick fd: %s", qs->log_name, strerror(errno));
		close(fd);
		qs->kick.fd = -1;
	}
	if (qs->kick.fd >= 0)
		vhd_loop_add_poller(vu_qthreads_loop(dev, i), &qs->poller);
}

/* Stop every queue and forget the guest's state, keeping the connection. */
void vu_dev_reset_state(struct vu_dev *dev)
{
	for (unsigned i = 0; i < dev->nvqs; i++) {
		dev->qs[i].started = false;
		dev->qs[i].enabled = false;
		vu_queue_update(dev, i);
		vu_queue_set_kick(dev, i, -1);
		/* Also what a device popped from a ring that was not running. */
		vu_queue_release_held(dev, i);
		vq_reset(&dev->vqs[i]);
		dev->qs[i].was_stopped = false;
	}
	if (dev->ops->reset)
		dev->ops->reset(dev);
	dev->features = 0;
	dev->features_set = false;
	dev->status = 0;
}

void vu_dev_destroy(struct vu_dev *dev)
{
	if (!dev)
		return;
	vu_qthreads_pause(dev);
	vu_dev_reset_state(dev);
	vu_qthreads_destroy(dev);
	for (unsigned i = 0; i < dev->nvqs; i++)
		vq_destroy(&dev->vqs[i]);
	if (dev->backend_fd >= 0)
		close(dev->backend_fd);
	vhd_timer_free(dev->sched_timer);
	gm_table_unref(dev->mem);
	free(dev->vqs);
	free(dev->qs);
	free(dev);
}

/* ---- device-facing API ---------------------------------------------- */

void *vu_dev_priv(struct vu_dev *dev)
{
	return dev->priv;
}

struct virtqueue *vu_dev_queue(struct vu_dev *dev, unsigned q)
{
	return q < dev->nvqs ? &dev->vqs[q] : NULL;
}

struct vhd_loop *vu_dev_loop(struct vu_dev *dev)
{
	return dev->loop;
}

struct vhd_loop *vu_queue_loop(struct vu_dev *dev, unsigned q)
{
	return q < dev->nvqs ? vu_qthreads_loop(dev, q) : dev->loop;
}

const char *vu_dev_name(const struct vu_dev *dev)
{
	return dev->name;
}

uint64_t vu_dev_features(const struct vu_dev *dev)
{
	return dev->features;
}

bool vu_queue_processable(struct vu_dev *dev, unsigned q)
{
	return q < dev->nvqs && dev->qs[q].running && !vq_broken(&dev->vqs[q]);
}

void vu_queue_schedule(struct vu_dev *dev, unsigned q)
{
	if (q >= dev->nvqs)
		return;
	dev->qs[q].schedule_pending = true;
	if (dev->qs[q].thread && dev->qt) {
		vu_qthreads_schedule(dev, q);
		return;
	}
	if (!vhd_timer_armed(dev->sched_timer))
		vhd_timer_arm(dev->sched_timer, 0);
}

int vu_dev_config_changed(struct vu_dev *dev)
{
	struct vhu_hdr hdr = {
		.request = VHU_BACKEND_CONFIG_CHANGE_MSG,
		/* No NEED_REPLY: QEMU answers only after its GET_CONFIG on the
		 * main socket, which this thread serves (docs/architecture.md,
		 * "The connection state machine"). */
		.flags = VHU_VERSION,
		.size = 0,
	};

	if (dev->backend_fd < 0 || !(dev->protocol & VHD_BIT(VHU_PF_CONFIG)))
		return -ENOTCONN;
	return vu_msg_send(dev->backend_fd, &hdr, NULL, NULL, 0);
}

unsigned vu_queue_process(struct vu_dev *dev, unsigned qi,
			  vu_elem_handler handle, void *opaque)
{
	struct virtqueue *q;
	struct vq_elem *e;
	unsigned n = 0;
	bool stop = false;

	if (!vu_queue_processable(dev, qi))
		return 0;
	q = &dev->vqs[qi];
	for (;;) {
		int r;

		vq_disable_notify(q);
		while ((r = vq_pop(q, &e)) == 0) {
			n++;
			if (!handle(dev, q, e, opaque)) {
				stop = true;
				break;
			}
		}
		if (stop || r != -EAGAIN) {
			/* Keep the driver's kicks on: they are how a paused
			 * device (quota, back-pressure) learns about new work. */
			vq_enable_notify(q);
			break;
		}
		if (!vq_enable_notify(q))
			break;
	}
	vq_notify(q);
	return n;
}

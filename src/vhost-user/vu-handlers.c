/* SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause */
/*
 * vhost-user request handlers and their validation table (the DPDK idiom):
 * each request declares its payload size rule, its fd rule, whether it
 * names a queue and whether it owes a reply.  vu_dev_handle_message()
 * checks all of that before the handler runs, so a handler only does its
 * own job.
 */
#include "config.h"
#include "vhost-user/vu-dev.h"
#include "vhost-user/vu-qthread.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Handler result: < 0 error, VU_OK done, VU_REPLY send msg->payload with
 * msg->hdr.size bytes as the reply. */
#define VU_OK    0
#define VU_REPLY 1

enum size_rule { SZ_EXACT, SZ_MIN };
enum fd_rule {
	FD_NONE,        /* 0 fds */
	FD_ONE,         /* exactly 1 */
	FD_VRING,       /* 1, or 0 with the NOFD bit in the u64 */
	FD_TABLE,       /* checked by the handler (one per region) */
	FD_OPTIONAL,    /* 0 or 1, closed unused (REM_MEM_REG) */
};
enum idx_rule { IDX_NONE, IDX_STATE, IDX_U64 };

struct vu_handler {
	int (*fn)(struct vu_dev *dev, struct vu_msg *msg);
	uint32_t size;
	enum size_rule size_rule;
	enum fd_rule fds;
	enum idx_rule idx;
	bool reply;                  /* owes an explicit reply */
	int needs_pf;                /* protocol feature that must be offered, or -1 */
};

#define LOG_PEER(dev, ...) \
	vhd_log_ratelimited(&(dev)->log_budget, 20, VHD_LOG_WARN, __VA_ARGS__)

static unsigned region_size(const struct vu_dev *dev)
{
	return dev->xen_mmap ? sizeof(struct vhu_mem_region_xen)
			     : sizeof(struct vhu_mem_region);
}

static void parse_region(const struct vu_dev *dev, const uint8_t *p,
			 struct gm_region_desc *d)
{
	struct vhu_mem_region_xen r = { 0 };

	memcpy(&r, p, region_size(dev));
	d->gpa = r.guest_phys_addr;
	d->size = r.memory_size;
	d->uva = r.userspace_addr;
	d->mmap_offset = r.mmap_offset;
	d->xen_flags = dev->xen_mmap ? r.xen_mmap_flags : 0;
	d->domid = dev->xen_mmap ? r.domid : 0;
}

/* Re-translate queue i's rings after its addresses, size or the memory
 * table changed.  A ring outside memory leaves the queue not ready. */
static int queue_reattach(struct vu_dev *dev, unsigned i)
{
	struct virtqueue *q = &dev->vqs[i];
	int r = 0;

	if (q->addr_set && q->num) {
		r = vq_attach_mem(q, dev->mem);
		if (r < 0)
			LOG_PEER(dev, "%s: rings (desc 0x%llx avail 0x%llx used 0x%llx, size %u) are not inside guest memory",
				 dev->qs[i].log_name, (unsigned long long)q->desc_uva,
				 (unsigned long long)q->avail_uva,
				 (unsigned long long)q->used_uva, q->num);
	}
	vu_queue_update(dev, i);
	return r;
}

static void install_table(struct vu_dev *dev, struct gm_table *t)
{
	gm_table_unref(dev->mem);
	dev->mem = t;
	for (unsigned i = 0; i < dev->nvqs; i++)
		queue_reattach(dev, i);
}

/* ---- handlers --------------------------------------------------------- */

static int h_get_features(struct vu_dev *dev, struct vu_msg *msg)
{
	msg->payload.u64 = dev->offered_features;
	msg->hdr.size = sizeof(uint64_t);
	return VU_REPLY;
}

static int h_set_features(struct vu_dev *dev, struct vu_msg *msg)
{
	uint64_t f = msg->payload.u64;
	uint64_t unknown = f & ~dev->offered_features;

	/* QEMU 7.2's rng/i2c pass every guest-acked transport bit, offered
	 * or not: accept them, use only what we know. */
	if (unknown)
		LOG_DEBUG("%s: SET_FEATURES: ignoring bits 0x%llx we did not offer",
			  dev->name, (unsigned long long)unknown);
	if (!(f & VHD_BIT(VIRTIO_F_VERSION_1)))
		LOG_PEER(dev, "%s: SET_FEATURES 0x%llx without VERSION_1: legacy driver, rings assumed little-endian",
			 dev->name, (unsigned long long)f);
	dev->features = f & dev->offered_features;
	dev->features_set = true;
	for (unsigned i = 0; i < dev->nvqs; i++)
		vq_set_features(&dev->vqs[i], dev->features);
	/* Without bit 30 the rings start enabled (there will be no
	 * SET_VRING_ENABLE).  Note: the bit, not the number 30 as a mask. */
	if (!(f & VHD_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		for (unsigned i = 0; i < dev->nvqs; i++) {
			dev->qs[i].enabled = true;
			vu_queue_update(dev, i);
		}
	return VU_OK;
}

static int h_set_owner(struct vu_dev *dev, struct vu_msg *msg)
{
	dev->owner = true;
	return VU_OK;
}

static int h_reset(struct vu_dev *dev, struct vu_msg *msg)
{
	/* RESET_OWNER (deprecated) and RESET_DEVICE: stop and disable every
	 * ring, forget device state, keep the connection and memory.  The
	 * device sees exactly what a disconnect followed by a new connection
	 * shows it: reset, then connected (vhost-device.h, lifecycle). */
	LOG_INFO("%s: %s: device state reset", dev->name, vhu_request_name(msg->hdr.request));
	vu_dev_reset_state(dev);
	/* Rings as on a new connection: no size, base 0, no call/err fd
	 * (the frontend sets each ring up again before starting it). */
	for (unsigned i = 0; i < dev->nvqs; i++) {
		vq_destroy(&dev->vqs[i]);
		vq_init(&dev->vqs[i], i, dev->qs[i].log_name);
	}
	if (dev->ops->connected)
		dev->ops->connected(dev);
	return VU_OK;
}

static int h_set_mem_table(struct vu_dev *dev, struct vu_msg *msg)
{
	struct gm_region_desc descs[VHU_MAX_TABLE_REGIONS];
	const struct vhu_mem_table_hdr *th = (const void *)msg->payload.raw;
	unsigned rs = region_size(dev), n = th->nregions;
	struct gm_table *t;
	int r;

	if (n == 0 || n > VHU_MAX_TABLE_REGIONS) {
		LOG_PEER(dev, "%s: SET_MEM_TABLE: %u regions (1..%u allowed)",
			 dev->name, n, VHU_MAX_TABLE_REGIONS);
		return -EINVAL;
	}
	if (msg->hdr.size != sizeof(*th) + n * rs) {
		LOG_PEER(dev, "%s: SET_MEM_TABLE: size %u does not match %u regions of %u bytes",
			 dev->name, msg->hdr.size, n, rs);
		return -EINVAL;
	}
	if (msg->nfds != n) {
		LOG_PEER(dev, "%s: SET_MEM_TABLE: %u regions but %u fds", dev->name,
			 n, msg->nfds);
		return -EINVAL;
	}
	for (unsigned i = 0; i < n; i++)
		parse_region(dev, msg->payload.raw + sizeof(*th) + i * rs, &descs[i]);
	r = gm_table_set(dev->mem, descs, msg->fds, n, &t);
	for (unsigned i = 0; i < n; i++)
		msg->fds[i] = -1;       /* consumed by gm_table_set */
	if (r < 0) {
		LOG_PEER(dev, "%s: SET_MEM_TABLE rejected: %s", dev->name, strerror(-r));
		return r;
	}
	install_table(dev, t);
	return VU_OK;
}

static int h_get_max_mem_slots(struct vu_dev *dev, struct vu_msg *msg)
{
	msg->payload.u64 = VHU_MAX_MEM_SLOTS;
	msg->hdr.size = sizeof(uint64_t);
	return VU_REPLY;
}

static int h_add_mem_reg(struct vu_dev *dev, struct vu_msg *msg)
{
	struct gm_region_desc d;
	struct gm_table *t;
	int r;

	if (msg->hdr.size != sizeof(struct vhu_mem_single_hdr) + region_size(dev)) {
		LOG_PEER(dev, "%s: ADD_MEM_REG: size %u, expected %zu", dev->name,
			 msg->hdr.size, sizeof(struct vhu_mem_single_hdr) + region_size(dev));
		return -EINVAL;
	}
	parse_region(dev, msg->payload.raw + sizeof(struct vhu_mem_single_hdr), &d);
	if (gm_table_nregions(dev->mem) >= VHU_MAX_MEM_SLOTS) {
		LOG_PEER(dev, "%s: ADD_MEM_REG: all %u slots in use", dev->name,
			 VHU_MAX_MEM_SLOTS);
		return -ENOSPC;
	}
	r = gm_table_add(dev->mem, &d, msg->fds[0], &t);
	msg->fds[0] = -1;
	if (r < 0) {
		LOG_PEER(dev, "%s: ADD_MEM_REG gpa 0x%llx size 0x%llx rejected: %s",
			 dev->name, (unsigned long long)d.gpa,
			 (unsigned long long)d.size, strerror(-r));
		return r;
	}
	install_table(dev, t);
	return VU_OK;
}

static int h_rem_mem_reg(struct vu_dev *dev, struct vu_msg *msg)
{
	struct gm_region_desc d;
	struct gm_table *t;
	int r;

	if (msg->hdr.size != sizeof(struct vhu_mem_single_hdr) + region_size(dev)) {
		LOG_PEER(dev, "%s: REM_MEM_REG: size %u, expected %zu", dev->name,
			 msg->hdr.size, sizeof(struct vhu_mem_single_hdr) + region_size(dev));
		return -EINVAL;
	}
	parse_region(dev, msg->payload.raw + sizeof(struct vhu_mem_single_hdr), &d);
	r = gm_table_remove(dev->mem, &d, &t);
	if (r < 0) {
		LOG_PEER(dev, "%s: REM_MEM_REG gpa 0x%llx size 0x%llx: %s", dev->name,
			 (unsigned long long)d.gpa, (unsigned long long)d.size,
			 strerror(-r));
		return r;
	}
	install_table(dev, t);
	return VU_OK;
}

static int h_set_vring_num(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = msg->payload.state.index;
	unsigned max;
	int r;

	if (dev->qs[i].running) {
		LOG_PEER(dev, "%s: SET_VRING_NUM while the ring runs", dev->qs[i].log_name);
		return -EBUSY;
	}
	max = dev->ops->instance_max_queue_size
		? dev->ops->instance_max_queue_size(dev->priv) : dev->ops->max_queue_size;
	r = vq_set_num(&dev->vqs[i], msg->payload.state.num, max);
	if (r < 0) {
		LOG_PEER(dev, "%s: SET_VRING_NUM %u rejected (power of 2, 1..%u)",
			 dev->qs[i].log_name, msg->payload.state.num, max);
		return r;
	}
	queue_reattach(dev, i);
	return VU_OK;
}

static int h_set_vring_addr(struct vu_dev *dev, struct vu_msg *msg)
{
	const struct vhu_vring_addr *a = &msg->payload.addr;
	unsigned i = a->index;
	int r;

	/* VHU_VRING_F_LOG: dirty logging is not offered (no LOG_ALL), so a
	 * frontend has no log to point at; the flag is ignored. */
	r = vq_set_addr(&dev->vqs[i], a->desc_uaddr, a->avail_uaddr, a->used_uaddr);
	if (r < 0) {
		LOG_PEER(dev, "%s: SET_VRING_ADDR misaligned (desc 0x%llx avail 0x%llx used 0x%llx)",
			 dev->qs[i].log_name, (unsigned long long)a->desc_uaddr,
			 (unsigned long long)a->avail_uaddr,
			 (unsigned long long)a->used_uaddr);
		return r;
	}
	if (gm_table_nregions(dev->mem) == 0) {
		/* No memory yet: translated when the table arrives. */
		return VU_OK;
	}
	return queue_reattach(dev, i);
}

static int h_set_vring_base(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = msg->payload.state.index;
	uint32_t num = msg->payload.state.num;

	if (dev->qs[i].running) {
		LOG_PEER(dev, "%s: SET_VRING_BASE while the ring runs", dev->qs[i].log_name);
		return -EBUSY;
	}
	/* Split ring: bits 0-15 next avail index, bits 16-31 reserved.
	 * Packed ring: all 32 bits (vhost-user.rst, "Ring states"). */
	if (num > 0xffff && !(dev->features & VHD_BIT(VIRTIO_F_RING_PACKED))) {
		LOG_PEER(dev, "%s: SET_VRING_BASE 0x%x: reserved bits set (split ring)",
			 dev->qs[i].log_name, num);
		return -EINVAL;
	}
	vq_set_base(&dev->vqs[i], num);
	return VU_OK;
}

static int h_get_vring_base(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = msg->payload.state.index;
	struct virtqueue *q = &dev->vqs[i];

	/* Stop the ring: the device completes or returns in-flight requests
	 * in queue_stop, before we report the index. */
	if (dev->qs[i].started) {
		dev->qs[i].was_stopped = true;
		dev->qs[i].stop_desc = q->desc_uva;
		dev->qs[i].stop_avail = q->avail_uva;
		dev->qs[i].stop_used = q->used_uva;
	}
	dev->qs[i].started = false;
	vu_queue_update(dev, i);
	vu_queue_set_kick(dev, i, -1);
	vu_queue_release_held(dev, i);   /* popped while not running, if any */
	msg->payload.state.num = vq_get_base(q);
	dev->qs[i].stop_base = vq_get_base(q);
	msg->hdr.size = sizeof(struct vhu_vring_state);
	/* The ring is set up again (NUM/BASE/ADDR/KICK) before it restarts;
	 * a new setup also clears a broken state. */
	vq_reset(q);
	return VU_REPLY;
}

/*
 * A ring that was stopped (GET_VRING_BASE) and now starts again at another
 * index or address belongs to a new driver: the guest reset the device
 * (driver unbound and bound again, guest reboot), and its connections,
 * held requests and other device state are gone with the old driver.
 * QEMU sends nothing else that tells this apart from a paused VM (the
 * stop sequence is the same, docs/architecture.md), but a resumed VM
 * restarts each ring at the index we returned and at the same addresses
 * (vhost-user.rst, "Starting and stopping rings"), while after a reset
 * QEMU's indices start from 0 and the driver allocates new rings.  So
 * the device is reset here, before the new driver's first request, as
 * for RESET_DEVICE but keeping the vhost-user state just set up.
 */
static void driver_reset_check(struct vu_dev *dev, unsigned i)
{
	struct vu_queue_state *qs = &dev->qs[i];
	struct virtqueue *q = &dev->vqs[i];

	if (!qs->was_stopped)
		return;
	qs->was_stopped = false;
	if (vq_get_base(q) == qs->stop_base && q->desc_uva == qs->stop_desc &&
	    q->avail_uva == qs->stop_avail && q->used_uva == qs->stop_used)
		return;
	for (unsigned j = 0; j < dev->nvqs; j++)
		if (dev->qs[j].running)
			return;         /* only part of the device restarted */
	LOG_INFO("%s: ring restarted at index %u (stopped at %u) or new addresses: a new driver; device state reset",
		 qs->log_name, vq_get_base(q), qs->stop_base);
	for (unsigned j = 0; j < dev->nvqs; j++)
		dev->qs[j].was_stopped = false;
	if (dev->ops->reset)
		dev->ops->reset(dev);
	if (dev->ops->connected)
		dev->ops->connected(dev);
}

static int h_set_vring_kick(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = (unsigned)(msg->payload.u64 & VHU_VRING_IDX_MASK);
	bool nofd = msg->payload.u64 & VHU_VRING_NOFD_MASK;

	if (nofd) {
		/* Polling mode: no kick fd; we run on our own schedule
		 * (whenever we are kicked by VRING_KICK, which is not offered,
		 * or scheduled).  Process what is there now. */
		LOG_PEER(dev, "%s: SET_VRING_KICK without fd: queue processed only when scheduled",
			 dev->qs[i].log_name);
		vu_queue_set_kick(dev, i, -1);
	} else {
		vu_queue_set_kick(dev, i, msg->fds[0]);
		msg->fds[0] = -1;
	}
	driver_reset_check(dev, i);
	dev->qs[i].started = true;
	vu_queue_update(dev, i);
	if (dev->qs[i].running)
		vu_queue_schedule(dev, i);
	return VU_OK;
}

static int h_set_vring_call(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = (unsigned)(msg->payload.u64 & VHU_VRING_IDX_MASK);
	bool nofd = msg->payload.u64 & VHU_VRING_NOFD_MASK;

	vq_set_call_fd(&dev->vqs[i], nofd ? -1 : msg->fds[0]);
	if (!nofd) {
		msg->fds[0] = -1;
		/* Signal once: an interrupt may have been due while the old
		 * fd was masked (drivers tolerate spurious interrupts). */
		if (dev->qs[i].running)
			vq_call(&dev->vqs[i]);
	}
	return VU_OK;
}

static int h_set_vring_err(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = (unsigned)(msg->payload.u64 & VHU_VRING_IDX_MASK);
	bool nofd = msg->payload.u64 & VHU_VRING_NOFD_MASK;

	vq_set_err_fd(&dev->vqs[i], nofd ? -1 : msg->fds[0]);
	if (!nofd)
		msg->fds[0] = -1;
	return VU_OK;
}

static int h_get_protocol_features(struct vu_dev *dev, struct vu_msg *msg)
{
	msg->payload.u64 = dev->offered_protocol;
	msg->hdr.size = sizeof(uint64_t);
	return VU_REPLY;
}

static int h_set_protocol_features(struct vu_dev *dev, struct vu_msg *msg)
{
	uint64_t p = msg->payload.u64;

	if (p & ~dev->offered_protocol) {
		LOG_PEER(dev, "%s: SET_PROTOCOL_FEATURES 0x%llx has bits we did not offer (0x%llx)",
			 dev->name, (unsigned long long)p,
			 (unsigned long long)dev->offered_protocol);
		return -EINVAL;
	}
	dev->protocol = p;
	dev->xen_mmap = p & VHD_BIT(VHU_PF_XEN_MMAP);
	return VU_OK;
}

static int h_get_queue_num(struct vu_dev *dev, struct vu_msg *msg)
{
	msg->payload.u64 = dev->nvqs;
	msg->hdr.size = sizeof(uint64_t);
	return VU_REPLY;
}

static int h_set_vring_enable(struct vu_dev *dev, struct vu_msg *msg)
{
	unsigned i = msg->payload.state.index;
	uint32_t num = msg->payload.state.num;

	if (num > 1) {
		LOG_PEER(dev, "%s: SET_VRING_ENABLE %u (0 or 1)", dev->qs[i].log_name, num);
		return -EINVAL;
	}
	/* Enabling a ring that was never set up is legal (gpio's unused
	 * event queue); it just does not run until it is. */
	dev->qs[i].enabled = num;
	vu_queue_update(dev, i);
	return VU_OK;
}

static int h_set_backend_req_fd(struct vu_dev *dev, struct vu_msg *msg)
{
	int fl;

	if (dev->backend_fd >= 0)
		close(dev->backend_fd);
	dev->backend_fd = msg->fds[0];
	msg->fds[0] = -1;
	/* Our messages on this channel are sent without NEED_REPLY; a
	 * frontend that never reads it must not block the worker
	 * (vu_dev_config_changed then fails with -EAGAIN). */
	fl = fcntl(dev->backend_fd, F_GETFL);
	if (fl < 0 || fcntl(dev->backend_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		LOG_WARN("%s: backend channel: cannot make it non-blocking: %s",
			 vu_dev_name(dev), strerror(errno));
	return VU_OK;
}

/* GET/SET_CONFIG: the size field matches the message, and
 * [offset, offset+size) lies inside the device's config space. */
static bool config_range_ok(struct vu_dev *dev, const struct vu_msg *msg)
{
	const struct vhu_config_hdr *c = &msg->payload.config;
	uint32_t cfg = dev->ops->config_size;

	if (msg->hdr.size != sizeof(*c) + c->size || c->size == 0 ||
	    c->size > VHU_CONFIG_MAX_SIZE || c->offset > cfg ||
	    c->size > cfg - c->offset) {
		LOG_PEER(dev, "%s: %s offset %u size %u (message %u bytes, config %u bytes)",
			 dev->name, vhu_request_name(msg->hdr.request), c->offset,
			 c->size, msg->hdr.size, cfg);
		return false;
	}
	return true;
}

static int h_get_config(struct vu_dev *dev, struct vu_msg *msg)
{
	struct vhu_config_hdr *c = &msg->payload.config;
	uint8_t buf[VHU_CONFIG_MAX_SIZE];
	int r;

	if (!config_range_ok(dev, msg))
		return -EINVAL;
	memset(buf, 0, sizeof(buf));
	r = dev->ops->get_config(dev, buf);
	if (r < 0)
		return r;
	memcpy(msg->payload.raw + sizeof(*c), buf + c->offset, c->size);
	return VU_REPLY;    /* offset/size/flags echoed, size unchanged */
}

static int h_set_config(struct vu_dev *dev, struct vu_msg *msg)
{
	struct vhu_config_hdr *c = &msg->payload.config;

	if (!config_range_ok(dev, msg))
		return -EINVAL;
	if (!dev->ops->set_config) {
		LOG_PEER(dev, "%s: SET_CONFIG: config space is read-only", dev->name);
		return -EPERM;
	}
	return dev->ops->set_config(dev, msg->payload.raw + sizeof(*c), c->offset, c->size);
}

static int h_set_status(struct vu_dev *dev, struct vu_msg *msg)
{
	if (msg->payload.u64 > 0xff) {
		LOG_PEER(dev, "%s: SET_STATUS 0x%llx is not a status byte", dev->name,
			 (unsigned long long)msg->payload.u64);
		return -EINVAL;
	}
	dev->status = (uint8_t)msg->payload.u64;
	return VU_OK;
}

static int h_get_status(struct vu_dev *dev, struct vu_msg *msg)
{
	msg->payload.u64 = dev->status;
	msg->hdr.size = sizeof(uint64_t);
	return VU_REPLY;
}

/* The table.  Requests without an entry are "not supported": we never
 * offer the features that enable them (log, IOTLB, inflight, postcopy,
 * crypto, net, GPU, shared objects, device state). */
static const struct vu_handler handlers[VHU_REQUEST_MAX] = {
	[VHU_GET_FEATURES]          = { h_get_features, 0, SZ_EXACT, FD_NONE, IDX_NONE, true, -1 },
	[VHU_SET_FEATURES]          = { h_set_features, 8, SZ_EXACT, FD_NONE, IDX_NONE, false, -1 },
	[VHU_SET_OWNER]             = { h_set_owner, 0, SZ_EXACT, FD_NONE, IDX_NONE, false, -1 },
	[VHU_RESET_OWNER]           = { h_reset, 0, SZ_EXACT, FD_NONE, IDX_NONE, false, -1 },
	[VHU_SET_MEM_TABLE]         = { h_set_mem_table, sizeof(struct vhu_mem_table_hdr), SZ_MIN, FD_TABLE, IDX_NONE, false, -1 },
	[VHU_SET_VRING_NUM]         = { h_set_vring_num, 8, SZ_EXACT, FD_NONE, IDX_STATE, false, -1 },
	[VHU_SET_VRING_ADDR]        = { h_set_vring_addr, sizeof(struct vhu_vring_addr), SZ_EXACT, FD_NONE, IDX_STATE, false, -1 },
	[VHU_SET_VRING_BASE]        = { h_set_vring_base, 8, SZ_EXACT, FD_NONE, IDX_STATE, false, -1 },
	[VHU_GET_VRING_BASE]        = { h_get_vring_base, 8, SZ_EXACT, FD_NONE, IDX_STATE, true, -1 },
	[VHU_SET_VRING_KICK]        = { h_set_vring_kick, 8, SZ_EXACT, FD_VRING, IDX_U64, false, -1 },
	[VHU_SET_VRING_CALL]        = { h_set_vring_call, 8, SZ_EXACT, FD_VRING, IDX_U64, false, -1 },
	[VHU_SET_VRING_ERR]         = { h_set_vring_err, 8, SZ_EXACT, FD_VRING, IDX_U64, false, -1 },
	[VHU_GET_PROTOCOL_FEATURES] = { h_get_protocol_features, 0, SZ_EXACT, FD_NONE, IDX_NONE, true, -1 },
	[VHU_SET_PROTOCOL_FEATURES] = { h_set_protocol_features, 8, SZ_EXACT, FD_NONE, IDX_NONE, false, -1 },
	[VHU_GET_QUEUE_NUM]         = { h_get_queue_num, 0, SZ_EXACT, FD_NONE, IDX_NONE, true, VHU_PF_MQ },
	[VHU_SET_VRING_ENABLE]      = { h_set_vring_enable, 8, SZ_EXACT, FD_NONE, IDX_STATE, false, -1 },
	[VHU_SET_BACKEND_REQ_FD]    = { h_set_backend_req_fd, 0, SZ_EXACT, FD_ONE, IDX_NONE, false, VHU_PF_BACKEND_REQ },
	[VHU_GET_CONFIG]            = { h_get_config, sizeof(struct vhu_config_hdr), SZ_MIN, FD_NONE, IDX_NONE, true, VHU_PF_CONFIG },
	[VHU_SET_CONFIG]            = { h_set_config, sizeof(struct vhu_config_hdr), SZ_MIN, FD_NONE, IDX_NONE, false, VHU_PF_CONFIG },
	[VHU_RESET_DEVICE]          = { h_reset, 0, SZ_EXACT, FD_NONE, IDX_NONE, false, VHU_PF_RESET_DEVICE },
	[VHU_GET_MAX_MEM_SLOTS]     = { h_get_max_mem_slots, 0, SZ_EXACT, FD_NONE, IDX_NONE, true, VHU_PF_CONFIGURE_MEM_SLOTS },
	[VHU_ADD_MEM_REG]           = { h_add_mem_reg, sizeof(struct vhu_mem_single_hdr), SZ_MIN, FD_ONE, IDX_NONE, false, VHU_PF_CONFIGURE_MEM_SLOTS },
	[VHU_REM_MEM_REG]           = { h_rem_mem_reg, sizeof(struct vhu_mem_single_hdr), SZ_MIN, FD_OPTIONAL, IDX_NONE, false, VHU_PF_CONFIGURE_MEM_SLOTS },
	[VHU_SET_STATUS]            = { h_set_status, 8, SZ_EXACT, FD_NONE, IDX_NONE, false, VHU_PF_STATUS },
	[VHU_GET_STATUS]            = { h_get_status, 0, SZ_EXACT, FD_NONE, IDX_NONE, true, VHU_PF_STATUS },
};

/* Central checks; -EINVAL etc. with a log line, or 0. */
static int validate(struct vu_dev *dev, const struct vu_handler *h, struct vu_msg *msg)
{
	const char *name = vhu_request_name(msg->hdr.request);
	unsigned want_fds;

	if (h->needs_pf >= 0 && !(dev->offered_protocol & VHD_BIT(h->needs_pf))) {
		LOG_PEER(dev, "%s: %s: needs protocol feature %d, which this device does not offer",
			 dev->name, name, h->needs_pf);
		return -ENOTSUP;
	}
	if ((h->size_rule == SZ_EXACT && msg->hdr.size != h->size) ||
	    (h->size_rule == SZ_MIN && msg->hdr.size < h->size)) {
		LOG_PEER(dev, "%s: %s: payload %u bytes, expected %s%u", dev->name, name,
			 msg->hdr.size, h->size_rule == SZ_MIN ? "at least " : "", h->size);
		return -EINVAL;
	}
	if (h->idx != IDX_NONE) {
		uint64_t idx;
		if (h->idx == IDX_STATE) {
			idx = msg->payload.state.index;
		} else {
			uint64_t v = msg->payload.u64;
			if (v & ~(VHU_VRING_IDX_MASK | VHU_VRING_NOFD_MASK)) {
				LOG_PEER(dev, "%s: %s: reserved bits set in 0x%llx", dev->name,
					 name, (unsigned long long)v);
				return -EINVAL;
			}
			idx = v & VHU_VRING_IDX_MASK;
		}
		if (idx >= dev->nvqs) {
			LOG_PEER(dev, "%s: %s: queue index %llu out of range (device has %u)",
				 dev->name, name, (unsigned long long)idx, dev->nvqs);
			return -ERANGE;
		}
	}
	switch (h->fds) {
	case FD_NONE:
		want_fds = 0;
		break;
	case FD_ONE:
		want_fds = 1;
		break;
	case FD_VRING:
		want_fds = (msg->payload.u64 & VHU_VRING_NOFD_MASK) ? 0 : 1;
		break;
	case FD_OPTIONAL:
		if (msg->nfds > 1) {
			LOG_PEER(dev, "%s: %s: %u fds (0 or 1 allowed)", dev->name, name, msg->nfds);
			return -EINVAL;
		}
		return 0;
	case FD_TABLE:
	default:
		return 0;
	}
	if (msg->nfds != want_fds) {
		LOG_PEER(dev, "%s: %s: %u fds, expected %u", dev->name, name, msg->nfds, want_fds);
		return -EINVAL;
	}
	return 0;
}

int vu_dev_handle_message(struct vu_dev *dev, struct vu_msg *msg)
{
	uint32_t req = msg->hdr.request;
	bool need_reply = msg->hdr.flags & VHU_FLAG_NEED_REPLY;
	const struct vu_handler *h = req < VHU_REQUEST_MAX ? &handlers[req] : NULL;
	int r;

	dev->msg_count++;
	LOG_DEBUG("%s: <- %s flags 0x%x size %u fds %u", dev->name,
		  vhu_request_name(req), msg->hdr.flags, msg->hdr.size, msg->nfds);

	if (!h || !h->fn) {
		LOG_PEER(dev, "%s: request %u (%s) not supported%s", dev->name, req,
			 vhu_request_name(req), need_reply ? ", answering failure" : "");
		vu_msg_close_fds(msg);
		if (need_reply)
			return vu_msg_reply_u64(dev->sock, req, 1);
		return 0;
	}
	r = validate(dev, h, msg);
	if (r == 0) {
		/* Queue threads are parked while a handler runs: every ring,
		 * kick handler and the memory table have one user at a time
		 * (vu-qthread.h). */
		vu_qthreads_pause(dev);
		r = h->fn(dev, msg);
		vu_qthreads_resume(dev);
	}
	vu_msg_close_fds(msg);  /* whatever the handler did not keep */

	if (h->reply) {
		if (r == VU_REPLY)
			return vu_msg_reply(dev->sock, req, msg->payload.raw, msg->hdr.size);
		if (req == VHU_GET_CONFIG) {
			/* An empty config is the protocol's error answer. */
			struct vhu_config_hdr c = msg->payload.config;
			c.size = 0;
			return vu_msg_reply(dev->sock, req, &c, sizeof(c));
		}
		/* A reply is owed but we have none to give: the frontend
		 * would wait forever, so end the connection. */
		LOG_ERR("%s: %s failed (%s); closing the connection", dev->name,
			vhu_request_name(req), strerror(-r));
		return -EPROTO;
	}
	if (need_reply)
		return vu_msg_reply_u64(dev->sock, req, r < 0 ? 1 : 0);
	return 0;
}
